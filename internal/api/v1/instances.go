package v1

import (
	"net"
	"strconv"
	"time"
)

// Instance states (EC2's names).
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
)

// Instance is an instance (GET /v1/instances, GET /v1/instances/{id}, and
// the answer of actions). The live process facts (Phase through
// NextRestartAt) are set by list and describe; Limits only by describe.
type Instance struct {
	// ID is an EC2-style id, i-0….
	ID string `json:"id"`
	// Group is the instance group, which is also the Name tag.
	Group string `json:"group,omitempty"`
	// ManagedBy names the controller that launched the instance and keeps
	// its count ("autoscaling" for Auto Scaling groups).
	ManagedBy string `json:"managedBy,omitempty"`
	// Zone is the availability zone the instance was placed in.
	Zone string `json:"availabilityZone,omitempty"`
	// Network is the subnet, VPC and security groups the instance was
	// launched with (absent: the zone's default subnet and the default
	// security group).
	Network *Placement `json:"network,omitempty"`
	// LaunchTemplate and LaunchTemplateVersion are as requested
	// ($Default, $Latest or a number).
	LaunchTemplate        string `json:"launchTemplate"`
	LaunchTemplateVersion string `json:"launchTemplateVersion,omitempty"`
	// ResolvedVersion is the launch template version the current run uses.
	ResolvedVersion int    `json:"resolvedVersion"`
	Image           string `json:"image"`
	ImageVersion    int    `json:"imageVersion"`
	// ImagePin, when set, is the image version every start runs (an
	// in-place deployment installed it) instead of the image's newest.
	ImagePin int `json:"imageVersionPinned,omitempty"`
	// Launch is the launch data the instance was run with instead of (or
	// over) its launch template's: RunInstances' ImageId, InstanceType,
	// UserData.
	Launch       *LaunchTemplateData `json:"launch,omitempty"`
	InstanceType string              `json:"instanceType"`
	// PrivateIP and Port are where the app listens.
	PrivateIP string            `json:"privateIp"`
	Port      int               `json:"port"`
	Tags      map[string]string `json:"tags,omitempty"`
	// Desired is running, stopped or terminated.
	Desired string `json:"desired"`
	// State is the EC2 state; Detail the supervisor's finer phase
	// (starting, backoff, errored, exited); StateReason why.
	State       string `json:"state"`
	Detail      string `json:"detail,omitempty"`
	StateReason string `json:"stateReason,omitempty"`
	// Dir is the instance's directory (working copy, state, logs).
	Dir          string    `json:"dir"`
	Owner        string    `json:"owner,omitempty"`
	LaunchTime   time.Time `json:"launchTime"`
	TerminatedAt time.Time `json:"terminatedAt,omitzero"`
	// TerminationReason says why it was terminated ("" when by hand
	// before reasons were recorded); ReplacedBy names the instance its
	// group launched in its place.
	TerminationReason string `json:"terminationReason,omitempty"`
	ReplacedBy        string `json:"replacedBy,omitempty"`
	// Warnings are notes about the current run, such as an image source
	// that changed but was not built.
	Warnings []string `json:"warnings,omitempty"`

	Phase         string    `json:"phase,omitempty"`
	PID           int       `json:"pid,omitempty"`
	Restarts      int       `json:"restarts"`
	UptimeSeconds float64   `json:"uptimeSeconds,omitempty"`
	CPUPercent    float64   `json:"cpuPercent"`
	MemoryBytes   uint64    `json:"memoryBytes"`
	LastExit      *Exit     `json:"lastExit,omitempty"`
	LastLines     []string  `json:"lastLines,omitempty"`
	Limits        *Limits   `json:"limits,omitempty"`
	NextRestartAt time.Time `json:"nextRestartAt,omitzero"`
}

// Addr returns the instance's ip:port, or "" before it has an address.
func (in Instance) Addr() string {
	if in.PrivateIP == "" {
		return ""
	}
	return net.JoinHostPort(in.PrivateIP, strconv.Itoa(in.Port))
}

// Exit is how an instance's last run ended.
type Exit struct {
	Code int `json:"code"`
	// Signal is set when a signal killed the process (SIGKILL).
	Signal string    `json:"signal,omitempty"`
	At     time.Time `json:"at"`
}

// Limits are an instance type's limits and whether they are enforced.
type Limits struct {
	VCPUs          float64 `json:"vcpus"`
	MemoryMiB      int64   `json:"memoryMiB"`
	CPUEnforced    bool    `json:"cpuEnforced"`
	MemoryEnforced bool    `json:"memoryEnforced"`
	// Note says why a limit is not enforced.
	Note string `json:"note,omitempty"`
}

// RunRequest launches instances (POST /v1/instances, RunInstances).
type RunRequest struct {
	LaunchTemplate string `json:"launchTemplate"`
	// Version is $Default (when empty), $Latest or a number.
	Version string `json:"version,omitempty"`
	// Count is 1–100.
	Count int `json:"count"`
	// Group is the Name tag and group of the new instances.
	Group string            `json:"group,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
	// Name, when set, is the new instances' Name tag without making them
	// a group (Group, when also set, names them instead).
	Name string `json:"name,omitempty"`
	// Launch is launch data given with the request (RunInstances' ImageId,
	// InstanceType, UserData): without a launch template it is all the
	// instances run from; with one, its set fields override the template
	// version's.
	Launch *LaunchTemplateData `json:"launch,omitempty"`
	// Zone is the availability zone the instances are placed in
	// (local-1a, …; GET /v1/availability-zones lists them).
	Zone string `json:"availabilityZone,omitempty"`
}

// InstanceType is one instance type madang knows (GET
// /v1/instance-types): its size, which madang turns into CPU and memory
// limits.
type InstanceType struct {
	Name      string  `json:"name"`
	VCPUs     float64 `json:"vcpus"`
	MemoryMiB int64   `json:"memoryMiB"`
	// Default marks the type used when a launch names none.
	Default bool `json:"default,omitempty"`
}

// TagRequest changes an instance's tags (PATCH /v1/instances/{id}/tags).
type TagRequest struct {
	Set    map[string]string `json:"set,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}

// Log streams of [LogLine.Stream].
const (
	StreamOut = "out"
	StreamErr = "err"
	// StreamSys is madang's own notes about the instance.
	StreamSys = "sys"
)

// LogLine is one line of an instance's log (GET
// /v1/instances/{id}/logs, JSON Lines).
type LogLine struct {
	Instance string    `json:"instance"`
	Time     time.Time `json:"time"`
	// Stream is out, err or sys.
	Stream string `json:"stream"`
	Text   string `json:"text"`
}

// Placement is where in the network an instance was launched: a subnet of
// a VPC (absent for the zone's default subnet) and its security groups.
// Security group rules are recorded, not enforced.
type Placement struct {
	SubnetID       string             `json:"subnetId,omitempty"`
	VpcID          string             `json:"vpcId,omitempty"`
	SecurityGroups []SecurityGroupRef `json:"securityGroups,omitempty"`
}

// SecurityGroupRef names a security group of an instance.
type SecurityGroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
