package compute

import (
	"strings"

	"github.com/madang-dev/madang/internal/instancetype"
	"github.com/madang-dev/madang/internal/supervisor"
)

// Defaults applied by ApplyDefaults. The supervision defaults are the
// supervisor's own (package supervisor is their one source): they follow
// pm2 (15 unstable restarts, 1 s minimum uptime) and systemd (SIGTERM,
// then SIGKILL after a timeout).
const (
	DefaultInstanceType     = instancetype.Default
	DefaultRestartPolicy    = RestartAlways
	DefaultMaxRestarts      = supervisor.DefaultMaxRestarts
	DefaultMinUptime        = Duration(supervisor.DefaultMinUptime)
	DefaultBackoffInitial   = Duration(supervisor.DefaultBackoffInitial)
	DefaultBackoffMax       = Duration(supervisor.DefaultBackoffMax)
	DefaultBackoffReset     = Duration(supervisor.DefaultResetAfter)
	DefaultStopSignal       = "SIGTERM"
	DefaultKillTimeout      = Duration(supervisor.DefaultKillTimeout)
	DefaultReadinessTimeout = Duration(supervisor.DefaultReadyTimeout)
	// DefaultVersion is the launch template version an instance group
	// uses when none is given.
	DefaultVersion = "$Default"
	// DefaultCount is an instance group's count when none is given.
	DefaultCount = 1
	// DefaultMaxUnavailable is how many instances of a group a rollout
	// reboots at once when none is given.
	DefaultMaxUnavailable = 1
)

// ApplyDefaults fills the zero fields of d with their defaults and
// normalizes the stop signal ("term" and "TERM" become "SIGTERM"). It is
// idempotent, and leaves invalid values for Validate to report.
func (d *LaunchTemplateData) ApplyDefaults() {
	if d.InstanceType == "" {
		d.InstanceType = DefaultInstanceType
	}
	s := &d.Supervision
	if s.Restart == "" {
		s.Restart = DefaultRestartPolicy
	}
	if s.MaxRestarts == 0 {
		s.MaxRestarts = DefaultMaxRestarts
	}
	if s.MinUptime == 0 {
		s.MinUptime = DefaultMinUptime
	}
	if s.BackoffInitial == 0 {
		s.BackoffInitial = DefaultBackoffInitial
	}
	if s.BackoffMax == 0 {
		s.BackoffMax = DefaultBackoffMax
	}
	if s.BackoffResetAfter == 0 {
		s.BackoffResetAfter = DefaultBackoffReset
	}
	if s.StopSignal == "" {
		s.StopSignal = DefaultStopSignal
	} else if n, ok := normalizeSignal(s.StopSignal); ok {
		s.StopSignal = n
	}
	if s.KillTimeout == 0 {
		s.KillTimeout = DefaultKillTimeout
	}
	if s.Readiness.Timeout == 0 {
		s.Readiness.Timeout = DefaultReadinessTimeout
	}
}

// ApplyDefaults fills the zero fields of s: version "$Default", count 1,
// maxUnavailable 1.
func (s *InstanceGroupSpec) ApplyDefaults() {
	if s.MaxUnavailable == nil {
		n := DefaultMaxUnavailable
		s.MaxUnavailable = &n
	}
	if s.Version == "" {
		s.Version = DefaultVersion
	}
	if s.Count == nil {
		n := DefaultCount
		s.Count = &n
	}
}

// stopSignalNames lists the signals a launch template may stop its
// processes with, for error messages.
const stopSignalNames = "SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2 or SIGKILL"

// normalizeSignal maps "term", "TERM", "sigterm" and "SIGTERM" to
// "SIGTERM"; ok is false for names that are not stop signals.
func normalizeSignal(name string) (string, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "SIG") {
		n = "SIG" + n
	}
	switch n {
	case "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGKILL":
		return n, true
	}
	return "", false
}
