package compute

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Store key prefixes of compute resources.
const (
	ImagePrefix          = "/compute/images/"
	LaunchTemplatePrefix = "/compute/launch-templates/"
	InstancePrefix       = "/compute/instances/"
)

// Image is a stored image: its spec and its built versions. Versions are
// immutable snapshots of the source directory (the AMIs of madang).
type Image struct {
	Spec ImageSpec `json:"spec"`
	// ID is an AMI-style id, ami-…
	ID string `json:"id"`
	// Versions are oldest first; the last one is current.
	Versions []ImageVersion `json:"versions"`
	// Owner is the stack that manages the image ("" when made by hand).
	Owner     string    `json:"owner,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// StackFile is the path of the stack file the image's latest version
	// was applied from, for messages that say how to build a new one.
	StackFile string `json:"stackFile,omitempty"`
}

// ImageVersion is one built snapshot of an image.
type ImageVersion struct {
	Number int `json:"number"`
	// Dir is the snapshot directory.
	Dir string `json:"dir"`
	// SourceHash fingerprints the source directory (paths, sizes, mtimes)
	// and the build command; a change makes a new version.
	SourceHash string    `json:"sourceHash"`
	BuiltAt    time.Time `json:"builtAt"`
	// BuildLog is the path of the build output.
	BuildLog string `json:"buildLog,omitempty"`
}

// Current returns the newest version.
func (im *Image) Current() ImageVersion {
	if len(im.Versions) == 0 {
		return ImageVersion{}
	}
	return im.Versions[len(im.Versions)-1]
}

// LaunchTemplate is a stored launch template with all its versions.
type LaunchTemplate struct {
	Name        string `json:"name"`
	ID          string `json:"id"` // lt-…
	Description string `json:"description,omitempty"`
	// DefaultVersion is the version "$Default" resolves to.
	DefaultVersion int `json:"defaultVersion"`
	// Versions are numbered from 1; the last one is "$Latest".
	Versions  []LaunchTemplateVersion `json:"versions"`
	Owner     string                  `json:"owner,omitempty"`
	CreatedAt time.Time               `json:"createdAt"`
}

// LaunchTemplateVersion is one immutable version of a launch template.
type LaunchTemplateVersion struct {
	Number    int                `json:"number"`
	Data      LaunchTemplateData `json:"data"`
	CreatedAt time.Time          `json:"createdAt"`
}

// Latest returns the newest version number.
func (lt *LaunchTemplate) Latest() int { return len(lt.Versions) }

// Version resolves a version spec ("", "$Default", "$Latest" or a number
// as a string) to a version.
func (lt *LaunchTemplate) Version(spec string) (LaunchTemplateVersion, bool) {
	n := lt.DefaultVersion
	switch spec {
	case "", "$Default":
	case "$Latest":
		n = lt.Latest()
	default:
		n = 0
		for _, c := range spec {
			if c < '0' || c > '9' {
				return LaunchTemplateVersion{}, false
			}
			n = n*10 + int(c-'0')
		}
	}
	if n < 1 || n > len(lt.Versions) {
		return LaunchTemplateVersion{}, false
	}
	return lt.Versions[n-1], true
}

// Instance is a stored instance: what was asked for and what was last
// seen. The supervisor holds the live process facts.
type Instance struct {
	ID string `json:"id"`
	// Group is the instance group (stack) or the --name given to run; it
	// is also the Name tag.
	Group string `json:"group,omitempty"`
	// LaunchTemplate and LaunchTemplateVersion are as requested
	// (version "$Default", "$Latest" or a number).
	LaunchTemplate        string `json:"launchTemplate"`
	LaunchTemplateVersion string `json:"launchTemplateVersion,omitempty"`
	// Resolved is the launch template version the current run uses.
	Resolved     int    `json:"resolvedVersion"`
	Image        string `json:"image"`
	ImageVersion int    `json:"imageVersion"`
	// ImagePin, when set, is the image version every start runs instead
	// of the image's current one: an in-place deployment installed it
	// (Reimage), or the launch asked for it (RunRequest.ImageVersion).
	ImagePin     int    `json:"imageVersionPinned,omitempty"`
	InstanceType string `json:"instanceType"`
	// PrivateIP and Port are where the instance's app listens.
	PrivateIP string            `json:"privateIp"`
	Port      int               `json:"port"`
	Tags      map[string]string `json:"tags,omitempty"`
	// Desired is what the instance should be: running, stopped or
	// terminated.
	Desired InstanceState `json:"desired"`
	// State is the last EC2 state seen; Detail the supervisor phase.
	State       InstanceState `json:"state"`
	Detail      string        `json:"detail,omitempty"`
	StateReason string        `json:"stateReason,omitempty"`
	// Dir is the instance's own directory (working copy, state, logs).
	Dir          string    `json:"dir"`
	Owner        string    `json:"owner,omitempty"`
	LaunchTime   time.Time `json:"launchTime"`
	TerminatedAt time.Time `json:"terminatedAt,omitzero"`
	// TerminationReason says why the instance was terminated, in AWS's
	// state-reason words ("" or ReasonUser: by hand).
	TerminationReason string `json:"terminationReason,omitempty"`
	// ReplacedBy is the instance its group launched in its place.
	ReplacedBy string `json:"replacedBy,omitempty"`
	// Warnings are notes about the instance's current run, made when it
	// last started: for example that its image's source directory changed
	// since the image version it runs was built.
	Warnings []string `json:"warnings,omitempty"`
	// ManagedBy names the controller that launched the instance and keeps
	// its count ("autoscaling" for Auto Scaling groups); the instance group
	// controller leaves such instances alone. "" for stack instance groups
	// and instances run by hand.
	ManagedBy string `json:"managedBy,omitempty"`
	// Zone is the availability zone the instance was placed in ("" when
	// none was asked for).
	Zone string `json:"availabilityZone,omitempty"`
	// Network is the subnet, VPC and security groups the instance was
	// launched with (nil: the zone's default subnet and the default
	// security group). The instance keeps it for its life.
	Network *Placement `json:"network,omitempty"`
	// Launch, when set, is the launch data the instance runs from instead
	// of its launch template's version: what RunInstances was given
	// (image, type, user data), merged over the template's when there was
	// one. Nil for instances that follow their template.
	Launch *LaunchTemplateData `json:"launch,omitempty"`
	// Restarts counts the times madang restarted the app after it exited
	// or crashed, over the instance's life (pm2's ↺). Stops, starts and
	// reboots asked for by the user do not count, nor does the restore
	// after a machine reboot; all of them, daemon restarts included, keep
	// the count.
	Restarts int `json:"restarts"`
}

// Addr returns the instance's ip:port.
func (in *Instance) Addr() string {
	if in.PrivateIP == "" {
		return ""
	}
	return joinHostPort(in.PrivateIP, in.Port)
}

// newID returns an AWS-style id such as i-0123456789abcdef0.
func newID(prefix string) string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return prefix + "-0" + hex.EncodeToString(b[:])[:16]
}

// Placement is where in the network an instance was launched: a subnet
// of a VPC ("" for the zone's default subnet) and its security groups.
type Placement struct {
	SubnetID       string             `json:"subnetId,omitempty"`
	VpcID          string             `json:"vpcId,omitempty"`
	SecurityGroups []SecurityGroupRef `json:"securityGroups,omitempty"`
}

// SecurityGroupRef names a security group of an instance: its id and
// name (names of groups never change).
type SecurityGroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
