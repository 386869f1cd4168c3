package supervisor

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/logfile"
)

// Policy says when an exited app is restarted.
type Policy string

// Restart policies.
const (
	// PolicyAlways restarts after every exit.
	PolicyAlways Policy = "always"
	// PolicyOnFailure restarts after a non-zero exit code or a signal.
	PolicyOnFailure Policy = "on-failure"
	// PolicyNever never restarts.
	PolicyNever Policy = "never"
)

// Defaults of Spec and Probe fields left zero.
const (
	DefaultMaxRestarts    = 15
	DefaultMinUptime      = time.Second
	DefaultBackoffInitial = 100 * time.Millisecond
	DefaultBackoffMax     = 15 * time.Second
	DefaultResetAfter     = 30 * time.Second
	DefaultStopSignal     = syscall.SIGTERM
	DefaultKillTimeout    = 5 * time.Second
	DefaultReadyTimeout   = 30 * time.Second
)

// Spec describes one supervised instance process.
type Spec struct {
	// ID is the instance id, used in logs and errors.
	ID string
	// Dir is the working directory of the app; it must exist.
	Dir string
	// StateDir is the per-instance directory given to the shim (shim.json,
	// exit.json, user-data.sh, user-data.done, shim.log); it is created if
	// needed.
	StateDir string
	// LogPath is the instance log (see package logfile).
	LogPath string
	// Log sets the log's rotation.
	Log logfile.Options
	// Command is run by /bin/sh -c. A simple command (one command: no
	// ; & | ( ) ` or newline outside quotes, not starting with a shell
	// keyword such as if, for, while, case or {) runs as
	// /bin/sh -c "exec Command", so the app replaces the shell and is the
	// shim's direct child: it gets the stop signal itself and its exit
	// status is its own.
	Command string
	// Env is the complete environment of the app (nil means empty).
	Env []string
	// UserData is a script run once, at first boot, before Command. The
	// supervisor writes it to StateDir/user-data.sh.
	UserData string
	// CgroupProcs lists cgroup.procs files the shim joins, so the app
	// runs in those cgroups.
	CgroupProcs []string

	// Restart is the restart policy (default always). on-failure restarts
	// after a non-zero exit code or a signal.
	Restart Policy
	// MaxRestarts is how many restarts in a row may follow unstable runs
	// (shorter than MinUptime, or never ready); the next unstable exit
	// makes the instance errored (default 15).
	MaxRestarts int
	// MinUptime is the run time below which a run is unstable (default 1s).
	MinUptime time.Duration
	// BackoffInitial is the delay before the second restart in a row; the
	// first restart is immediate (default 100ms). It doubles with every
	// further restart in a row.
	BackoffInitial time.Duration
	// BackoffMax caps the restart delay (default 15s).
	BackoffMax time.Duration
	// ResetAfter is the run time after which the restart delay and the
	// unstable count start over (default 30s).
	ResetAfter time.Duration
	// StopSignal is sent to the app's process group to stop it
	// (default SIGTERM).
	StopSignal syscall.Signal
	// KillTimeout is how long a stop waits after StopSignal before it
	// sends SIGKILL to the whole process group (default 5s).
	KillTimeout time.Duration
	// Ready says when a started app counts as running.
	Ready Probe
	// Restarts is the instance's restart count before this Start or
	// Adopt; Status.Restarts counts on from it. A caller that stores
	// Status.Restarts and passes it back here keeps the count across
	// stops, reboots, daemon restarts and machine reboots.
	Restarts int
}

// Probe is a readiness check.
type Probe struct {
	// Addr is the host:port the app must accept TCP connections on; empty
	// means ready as soon as the app has started.
	Addr string
	// HTTPPath, if set, must answer a GET with a status below 500.
	HTTPPath string
	// Timeout is how long the app may take to become ready (default 30s);
	// an app not ready by then is stopped and errored.
	Timeout time.Duration
}

// withDefaults validates s and fills in its defaults.
func (s Spec) withDefaults() (Spec, error) {
	var errs fielderr.List
	if s.ID == "" {
		errs.Add("ID", nil, "is empty", "set it to the instance id")
	}
	if s.Dir == "" {
		errs.Add("Dir", nil, "is empty", "set it to the app's working directory")
	}
	if s.StateDir == "" {
		errs.Add("StateDir", nil, "is empty", "set it to the instance's state directory")
	}
	if s.LogPath == "" {
		errs.Add("LogPath", nil, "is empty", "set it to the instance log file")
	}
	if strings.TrimSpace(s.Command) == "" {
		errs.Add("Command", s.Command, "is empty", "set the start command, e.g. \"node server.js\"")
	}
	switch s.Restart {
	case "":
		s.Restart = PolicyAlways
	case PolicyAlways, PolicyOnFailure, PolicyNever:
	default:
		errs.Add("Restart", string(s.Restart), "is not a restart policy", "use always, on-failure or never")
	}
	if s.Log.MaxBytes < 0 {
		errs.Add("Log.MaxBytes", s.Log.MaxBytes, "is negative", "use 0 for the default (10 MiB) or a size in bytes")
	}
	if s.Log.MaxFiles < 0 {
		errs.Add("Log.MaxFiles", s.Log.MaxFiles, "is negative", "use 0 for the default (5) or a count")
	}
	if s.Restarts < 0 {
		errs.Add("Restarts", s.Restarts, "is negative", "pass the count stored from Status.Restarts, or 0")
	}
	if s.MaxRestarts < 0 {
		errs.Add("MaxRestarts", s.MaxRestarts, "is negative", fmt.Sprintf("use 0 for the default (%d) or a positive count", DefaultMaxRestarts))
	}
	durations := []struct {
		path string
		d    *time.Duration
		def  time.Duration
	}{
		{"MinUptime", &s.MinUptime, DefaultMinUptime},
		{"BackoffInitial", &s.BackoffInitial, DefaultBackoffInitial},
		{"BackoffMax", &s.BackoffMax, DefaultBackoffMax},
		{"ResetAfter", &s.ResetAfter, DefaultResetAfter},
		{"KillTimeout", &s.KillTimeout, DefaultKillTimeout},
		{"Ready.Timeout", &s.Ready.Timeout, DefaultReadyTimeout},
	}
	for _, d := range durations {
		switch {
		case *d.d < 0:
			errs.Add(d.path, *d.d, "is negative", "use 0 for the default ("+d.def.String()+") or a positive duration")
		case *d.d == 0:
			*d.d = d.def
		}
	}
	if s.MaxRestarts == 0 {
		s.MaxRestarts = DefaultMaxRestarts
	}
	if s.BackoffMax < s.BackoffInitial {
		errs.Add("BackoffMax", s.BackoffMax, "is below BackoffInitial ("+s.BackoffInitial.String()+")", "raise BackoffMax or lower BackoffInitial")
	}
	switch {
	case s.StopSignal == 0:
		s.StopSignal = DefaultStopSignal
	case s.StopSignal < 0 || s.StopSignal > 64:
		errs.Add("StopSignal", int(s.StopSignal), "is not a signal number", "use a signal such as SIGTERM, SIGINT or SIGQUIT")
	}
	if s.Ready.HTTPPath != "" && s.Ready.Addr == "" {
		errs.Add("Ready.HTTPPath", s.Ready.HTTPPath, "is set without Ready.Addr", "set Ready.Addr to the app's host:port")
	}
	if s.Ready.HTTPPath != "" && !strings.HasPrefix(s.Ready.HTTPPath, "/") {
		errs.Add("Ready.HTTPPath", s.Ready.HTTPPath, "does not start with /", "use a path such as \"/health\"")
	}
	if err := errs.Err(); err != nil {
		id := s.ID
		if id == "" {
			id = "(no id)"
		}
		return s, fmt.Errorf("supervisor: instance %s: %w", id, err)
	}
	return s, nil
}
