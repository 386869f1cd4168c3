package v1

import "time"

// Image is an image and its built versions (GET /v1/images).
type Image struct {
	Spec ImageSpec `json:"spec"`
	// ID is an AMI-style id, ami-0….
	ID string `json:"id"`
	// Versions are oldest first; the last one is current.
	Versions  []ImageVersion `json:"versions"`
	Owner     string         `json:"owner,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
	// StackFile is the stack file the latest version was applied from.
	StackFile string `json:"stackFile,omitempty"`
}

// Current returns the newest version (zero when there is none).
func (im Image) Current() ImageVersion {
	if len(im.Versions) == 0 {
		return ImageVersion{}
	}
	return im.Versions[len(im.Versions)-1]
}

// ImageSpec is an image as written in a stack file.
type ImageSpec struct {
	Name        string `json:"name"`
	Source      string `json:"source"`
	Build       string `json:"build,omitempty"`
	Command     string `json:"command"`
	Port        int    `json:"port"`
	Description string `json:"description,omitempty"`
}

// ImageVersion is one built snapshot of an image.
type ImageVersion struct {
	Number     int       `json:"number"`
	Dir        string    `json:"dir"`
	SourceHash string    `json:"sourceHash"`
	BuiltAt    time.Time `json:"builtAt"`
	BuildLog   string    `json:"buildLog,omitempty"`
}

// LaunchTemplate is a launch template with its versions (GET
// /v1/launch-templates).
type LaunchTemplate struct {
	Name string `json:"name"`
	// ID is lt-0….
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	// DefaultVersion is what $Default resolves to.
	DefaultVersion int `json:"defaultVersion"`
	// Versions are numbered from 1; the last one is $Latest.
	Versions  []LaunchTemplateVersion `json:"versions"`
	Owner     string                  `json:"owner,omitempty"`
	CreatedAt time.Time               `json:"createdAt"`
}

// Latest returns the newest version number.
func (lt LaunchTemplate) Latest() int { return len(lt.Versions) }

// LaunchTemplateVersion is one immutable version of a launch template.
type LaunchTemplateVersion struct {
	Number    int                `json:"number"`
	Data      LaunchTemplateData `json:"data"`
	CreatedAt time.Time          `json:"createdAt"`
}

// LaunchTemplateData is the content of a launch template version.
type LaunchTemplateData struct {
	Image        string            `json:"image"`
	InstanceType string            `json:"instanceType,omitempty"`
	Env          map[string]string `json:"env,omitempty"`
	UserData     string            `json:"userData,omitempty"`
	Supervision  Supervision       `json:"supervision"`
	// SecurityGroups are the groups instances launched from the data get
	// when their launch names none.
	SecurityGroups []SecurityGroupRef `json:"securityGroups,omitempty"`
}

// Supervision is a launch template's restart, stop and readiness settings.
// Durations are Go duration strings ("100ms"); empty means the default.
type Supervision struct {
	// Restart is always, on-failure or never.
	Restart           string    `json:"restart,omitempty"`
	MaxRestarts       int       `json:"maxRestarts,omitempty"`
	MinUptime         string    `json:"minUptime,omitempty"`
	BackoffInitial    string    `json:"backoffInitial,omitempty"`
	BackoffMax        string    `json:"backoffMax,omitempty"`
	BackoffResetAfter string    `json:"backoffResetAfter,omitempty"`
	StopSignal        string    `json:"stopSignal,omitempty"`
	KillTimeout       string    `json:"killTimeout,omitempty"`
	Readiness         Readiness `json:"readiness"`
}

// Readiness says when a started process counts as running.
type Readiness struct {
	// HTTPPath, when set, is checked over HTTP; otherwise a TCP listener
	// on the instance's address is enough.
	HTTPPath string `json:"httpPath,omitempty"`
	Timeout  string `json:"timeout,omitempty"`
}

// InstanceGroup is a stack's "keep N of these" (GET /v1/groups).
type InstanceGroup struct {
	Spec  InstanceGroupSpec `json:"spec"`
	Owner string            `json:"owner,omitempty"`
	// Status is the group controller's progress; nil before its first
	// reconcile.
	Status *GroupStatus `json:"status,omitempty"`
}

// GroupStatus is the versions a group's members should run and how far
// the rollout to them got.
type GroupStatus struct {
	LaunchTemplateVersion int `json:"launchTemplateVersion"`
	ImageVersion          int `json:"imageVersion"`
	// Rollout is InProgress, Successful or Failed (AWS's instance refresh
	// states).
	Rollout        string    `json:"rollout,omitempty"`
	Updated        int       `json:"updated"`
	Total          int       `json:"total"`
	MaxUnavailable int       `json:"maxUnavailable"`
	StartedAt      time.Time `json:"startedAt,omitzero"`
	FinishedAt     time.Time `json:"finishedAt,omitzero"`
	// Reason says why a rollout Failed.
	Reason string `json:"reason,omitempty"`
}

// InstanceGroupSpec is an instance group as written in a stack file.
type InstanceGroupSpec struct {
	Name           string `json:"name"`
	LaunchTemplate string `json:"launchTemplate"`
	Version        string `json:"version,omitempty"`
	// Count is nil when the stack file leaves it out (1).
	Count *int              `json:"count,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
	// MaxUnavailable is how many members a rollout reboots at once.
	MaxUnavailable *int `json:"maxUnavailable,omitempty"`
}

// CreateImageRequest is POST /v1/images: EC2's CreateImage, a new image
// from an instance's working directory.
type CreateImageRequest struct {
	InstanceID  string `json:"instanceId"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// NoReboot snapshots while the app runs (default: stop it for the
	// snapshot, then start it again).
	NoReboot bool `json:"noReboot,omitempty"`
}
