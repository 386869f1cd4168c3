// Package compute models the EC2 side of madang: images, launch templates
// and instances, and the controller that turns instance records into
// supervised processes.
//
// Instance addresses are leased host-wide, so that several madang homes on
// one machine never hand out the same loopback address; address.go
// describes the leases.
package compute

import (
	"time"
)

// Duration is a time.Duration that encodes as a Go duration string ("5s")
// in YAML and JSON, and also accepts a bare number of seconds.
type Duration time.Duration

// ImageSpec is the desired state of an image: an application directory plus
// its start command and port (the AMI of madang).
type ImageSpec struct {
	// Name identifies the image; unique among images.
	Name string `yaml:"name" json:"name"`
	// Source is the application directory. Relative paths are resolved
	// against the stack file's directory before the spec reaches the daemon.
	Source string `yaml:"source" json:"source"`
	// Build is an optional shell command run once, in the image's snapshot
	// directory, when the image (or a new version of it) is created.
	Build string `yaml:"build,omitempty" json:"build,omitempty"`
	// Command is the start command, run through /bin/sh -c in the
	// instance's working directory.
	Command string `yaml:"command" json:"command"`
	// Port is the TCP port the application listens on ($PORT).
	Port int `yaml:"port" json:"port"`
	// Description is free text.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// RestartPolicy says when the supervisor restarts an exited process.
type RestartPolicy string

// Restart policies.
const (
	RestartAlways    RestartPolicy = "always"
	RestartOnFailure RestartPolicy = "on-failure"
	RestartNever     RestartPolicy = "never"
)

// ReadinessSpec says when a started process counts as running.
type ReadinessSpec struct {
	// HTTPPath, when set, must answer with a status below 500; otherwise a
	// TCP listener of the instance's own processes on its address and port
	// is enough.
	HTTPPath string `yaml:"httpPath,omitempty" json:"httpPath,omitempty"`
	// Timeout is how long the process may take to become ready
	// (default 30s).
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// SupervisionSpec holds the process-supervision settings of a launch
// template (pm2 / systemd parity).
type SupervisionSpec struct {
	// Restart is the restart policy (default always).
	Restart RestartPolicy `yaml:"restart,omitempty" json:"restart,omitempty"`
	// MaxRestarts is how many unstable restarts (uptime below MinUptime)
	// in a row end in the errored state (default 15, as pm2).
	MaxRestarts int `yaml:"maxRestarts,omitempty" json:"maxRestarts,omitempty"`
	// MinUptime is the uptime below which a run counts as unstable
	// (default 1s).
	MinUptime Duration `yaml:"minUptime,omitempty" json:"minUptime,omitempty"`
	// BackoffInitial is the delay before the second restart in a row; the
	// first restart is immediate (default 100ms).
	BackoffInitial Duration `yaml:"backoffInitial,omitempty" json:"backoffInitial,omitempty"`
	// BackoffMax caps the exponential backoff (default 15s).
	BackoffMax Duration `yaml:"backoffMax,omitempty" json:"backoffMax,omitempty"`
	// BackoffResetAfter is the uptime after which a run counts as
	// healthy again: the backoff and the restart count start over
	// (default 30s, as pm2's exp_backoff_restart_delay).
	BackoffResetAfter Duration `yaml:"backoffResetAfter,omitempty" json:"backoffResetAfter,omitempty"`
	// StopSignal is sent to the process group on stop (default SIGTERM).
	StopSignal string `yaml:"stopSignal,omitempty" json:"stopSignal,omitempty"`
	// KillTimeout is how long to wait after StopSignal before SIGKILL
	// (default 5s).
	KillTimeout Duration `yaml:"killTimeout,omitempty" json:"killTimeout,omitempty"`
	// Readiness says when the process counts as running.
	Readiness ReadinessSpec `yaml:"readiness,omitempty" json:"readiness,omitempty"`
}

// LaunchTemplateData is the versioned content of a launch template.
type LaunchTemplateData struct {
	// Image names the image to run.
	Image string `yaml:"image" json:"image"`
	// InstanceType maps to CPU and memory limits (default t3.micro).
	InstanceType string `yaml:"instanceType,omitempty" json:"instanceType,omitempty"`
	// Env is added to the process environment after madang's own
	// variables (PORT, HOST, INSTANCE_ID, ...), which it may not override.
	Env map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// UserData is a shell script run once, at the instance's first boot,
	// before the start command; its output goes to the instance log.
	UserData string `yaml:"userData,omitempty" json:"userData,omitempty"`
	// Supervision holds the restart, stop and readiness settings.
	Supervision SupervisionSpec `yaml:"supervision,omitempty" json:"supervision,omitempty"`
	// SecurityGroups are the security groups instances launched from the
	// template get when their launch names none (EC2's SecurityGroupIds
	// of the launch template data); set through the AWS endpoint only.
	SecurityGroups []SecurityGroupRef `yaml:"-" json:"securityGroups,omitempty"`
}

// LaunchTemplateSpec is a launch template as written in a stack file: its
// name plus the data of its latest version.
type LaunchTemplateSpec struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// DefaultVersion is the version "$Default" resolves to; 0 (the
	// default) follows the newest version.
	DefaultVersion     int `yaml:"defaultVersion,omitempty" json:"defaultVersion,omitempty"`
	LaunchTemplateData `yaml:",inline" json:",inline"`
}

// InstanceGroupSpec asks for Count instances launched from one launch
// template, all tagged Name=<Name>. It is the stack file's way to say
// "run N of these"; the daemon keeps exactly Count instances of the group.
type InstanceGroupSpec struct {
	// Name is the group name; it becomes each instance's Name tag.
	Name string `yaml:"name" json:"name"`
	// LaunchTemplate names the launch template.
	LaunchTemplate string `yaml:"launchTemplate" json:"launchTemplate"`
	// Version is a version number, "$Latest" or "$Default" (default).
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
	// Count is how many instances to keep (default 1, 0 allowed).
	Count *int `yaml:"count,omitempty" json:"count,omitempty"`
	// Tags are added to every instance of the group.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// MaxUnavailable is how many instances a rollout of a new launch
	// template or image version reboots at once (default 1); the others
	// keep serving.
	MaxUnavailable *int `yaml:"maxUnavailable,omitempty" json:"maxUnavailable,omitempty"`
}

// InstanceState is an EC2 instance state name.
type InstanceState string

// EC2 instance states.
const (
	StatePending      InstanceState = "pending"
	StateRunning      InstanceState = "running"
	StateStopping     InstanceState = "stopping"
	StateStopped      InstanceState = "stopped"
	StateShuttingDown InstanceState = "shutting-down"
	StateTerminated   InstanceState = "terminated"
)
