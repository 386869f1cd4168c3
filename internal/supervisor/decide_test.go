package supervisor

import (
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	base, err := Spec{ID: "i-1", Dir: "/w", StateDir: "/s", LogPath: "/l", Command: "app"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	with := func(fn func(*Spec)) Spec {
		s := base
		fn(&s)
		return s
	}
	crash := Exit{Code: 1}
	killed := Exit{Code: -1, Signal: "SIGKILL"}
	clean := Exit{Code: 0}
	tests := []struct {
		name        string
		spec        Spec
		streak      streak
		uptime      time.Duration
		notReady    bool
		exit        Exit
		wantRestart bool
		wantErrored bool
		wantDelay   time.Duration
		wantNext    streak
		wantReason  string
	}{
		{name: "first restart is immediate", spec: base, uptime: 5 * time.Second, exit: crash, wantRestart: true, wantDelay: 0, wantNext: streak{restarts: 1}, wantReason: "exited with code 1 after 5s; restart 1 in a row, in 0s"},
		{name: "second restart waits BackoffInitial", spec: base, streak: streak{restarts: 1}, uptime: 5 * time.Second, exit: crash, wantRestart: true, wantDelay: 100 * time.Millisecond, wantNext: streak{restarts: 2}},
		{name: "third restart doubles", spec: base, streak: streak{restarts: 2}, uptime: 5 * time.Second, exit: crash, wantRestart: true, wantDelay: 200 * time.Millisecond, wantNext: streak{restarts: 3}},
		{name: "backoff is capped", spec: base, streak: streak{restarts: 40}, uptime: 5 * time.Second, exit: crash, wantRestart: true, wantDelay: 15 * time.Second, wantNext: streak{restarts: 41}},
		{name: "long run resets backoff and unstable count", spec: base, streak: streak{restarts: 7, unstable: 3}, uptime: 30 * time.Second, exit: crash, wantRestart: true, wantDelay: 0, wantNext: streak{restarts: 1}},
		{name: "stable run resets only the unstable count", spec: base, streak: streak{restarts: 3, unstable: 3}, uptime: 2 * time.Second, exit: crash, wantRestart: true, wantDelay: 400 * time.Millisecond, wantNext: streak{restarts: 4}},
		{name: "unstable run counts", spec: base, streak: streak{restarts: 1, unstable: 1}, uptime: 10 * time.Millisecond, exit: crash, wantRestart: true, wantDelay: 100 * time.Millisecond, wantNext: streak{restarts: 2, unstable: 2}},
		{name: "never ready counts as unstable", spec: base, uptime: 10 * time.Second, notReady: true, exit: crash, wantRestart: true, wantNext: streak{restarts: 1, unstable: 1}},
		{name: "MaxRestarts unstable restarts allowed", spec: base, streak: streak{restarts: 14, unstable: 14}, uptime: time.Millisecond, exit: crash, wantRestart: true, wantDelay: 15 * time.Second, wantNext: streak{restarts: 15, unstable: 15}},
		{
			name: "one more unstable exit errors", spec: base, streak: streak{restarts: 15, unstable: 15}, uptime: time.Millisecond, exit: crash,
			wantErrored: true, wantNext: streak{restarts: 15, unstable: 16},
			wantReason: "exited with code 1 16 times in a row within 1s of starting (maxRestarts 15)",
		},
		{
			name: "crash loop by signal names the signal", spec: with(func(s *Spec) { s.MaxRestarts = 2 }), streak: streak{restarts: 2, unstable: 2}, uptime: time.Millisecond, exit: killed,
			wantErrored: true, wantNext: streak{restarts: 2, unstable: 3},
			wantReason: "was killed by SIGKILL 3 times in a row within 1s of starting (maxRestarts 2)",
		},
		{
			name: "crash loop before ready", spec: with(func(s *Spec) { s.MaxRestarts = 1 }), streak: streak{restarts: 1, unstable: 1}, uptime: 3 * time.Second, notReady: true, exit: crash,
			wantErrored: true, wantNext: streak{restarts: 1, unstable: 2},
			wantReason: "exited with code 1 2 times in a row before it was ready (maxRestarts 1)",
		},
		{name: "never", spec: with(func(s *Spec) { s.Restart = PolicyNever }), uptime: 2 * time.Second, exit: crash, wantNext: streak{}, wantReason: "exited with code 1 after 2s; restart policy is never"},
		{name: "never even when crash looping", spec: with(func(s *Spec) { s.Restart = PolicyNever }), streak: streak{unstable: 99}, uptime: time.Millisecond, exit: crash, wantNext: streak{unstable: 100}, wantReason: "restart policy is never"},
		{name: "on-failure and clean exit", spec: with(func(s *Spec) { s.Restart = PolicyOnFailure }), uptime: 2 * time.Second, exit: clean, wantNext: streak{}, wantReason: "exited with code 0 after 2s; restart policy on-failure does not restart a clean exit"},
		{name: "on-failure and exit code", spec: with(func(s *Spec) { s.Restart = PolicyOnFailure }), uptime: 2 * time.Second, exit: crash, wantRestart: true, wantNext: streak{restarts: 1}},
		{name: "on-failure and signal", spec: with(func(s *Spec) { s.Restart = PolicyOnFailure }), uptime: 2 * time.Second, exit: killed, wantRestart: true, wantNext: streak{restarts: 1}},
		{name: "always and clean exit", spec: base, uptime: 2 * time.Second, exit: clean, wantRestart: true, wantNext: streak{restarts: 1}},
		{name: "unknown exit status", spec: base, uptime: 2 * time.Second, exit: Exit{Code: -1}, wantRestart: true, wantNext: streak{restarts: 1}, wantReason: "ended with an unknown exit status after 2s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(tc.spec, tc.streak, tc.uptime, !tc.notReady, tc.exit)
			if d.restart != tc.wantRestart || d.errored != tc.wantErrored || d.delay != tc.wantDelay || d.next != tc.wantNext {
				t.Errorf("decide = restart %v errored %v delay %s next %+v; want restart %v errored %v delay %s next %+v",
					d.restart, d.errored, d.delay, d.next, tc.wantRestart, tc.wantErrored, tc.wantDelay, tc.wantNext)
			}
			if !strings.Contains(d.reason, tc.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", d.reason, tc.wantReason)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want time.Duration
	}{
		{name: "first restart", n: 0, want: 0},
		{name: "second", n: 1, want: 100 * time.Millisecond},
		{name: "third", n: 2, want: 200 * time.Millisecond},
		{name: "eighth", n: 7, want: 6400 * time.Millisecond},
		{name: "capped", n: 9, want: 15 * time.Second},
		{name: "no overflow", n: 1000, want: 15 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoff(100*time.Millisecond, 15*time.Second, tc.n); got != tc.want {
				t.Errorf("backoff(n=%d) = %s, want %s", tc.n, got, tc.want)
			}
		})
	}
}

func TestSpecDefaults(t *testing.T) {
	s, err := Spec{ID: "i-1", Dir: "/w", StateDir: "/s", LogPath: "/l", Command: "app"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if s.Restart != PolicyAlways || s.MaxRestarts != 15 || s.MinUptime != time.Second || s.BackoffInitial != 100*time.Millisecond ||
		s.BackoffMax != 15*time.Second || s.ResetAfter != 30*time.Second || s.StopSignal != DefaultStopSignal ||
		s.KillTimeout != 5*time.Second || s.Ready.Timeout != 30*time.Second {
		t.Errorf("defaults = %+v", s)
	}
}

func TestSpecValidation(t *testing.T) {
	good := Spec{ID: "i-1", Dir: "/w", StateDir: "/s", LogPath: "/l", Command: "app"}
	tests := []struct {
		name string
		mod  func(*Spec)
		want string
	}{
		{name: "missing dirs", mod: func(s *Spec) { s.Dir, s.StateDir, s.LogPath = "", "", "" }, want: "Dir: is empty; set it to the app's working directory\nStateDir: is empty"},
		{name: "negative max restarts", mod: func(s *Spec) { s.MaxRestarts = -1 }, want: "MaxRestarts: is negative (got -1); use 0 for the default (15) or a positive count"},
		{name: "backoff max below initial", mod: func(s *Spec) { s.BackoffInitial, s.BackoffMax = time.Second, time.Millisecond }, want: "BackoffMax: is below BackoffInitial (1s) (got 1ms)"},
		{name: "bad signal", mod: func(s *Spec) { s.StopSignal = 99 }, want: "StopSignal: is not a signal number (got 99)"},
		{name: "http path without addr", mod: func(s *Spec) { s.Ready.HTTPPath = "/health" }, want: "Ready.HTTPPath: is set without Ready.Addr"},
		{name: "http path without slash", mod: func(s *Spec) { s.Ready = Probe{Addr: "127.0.0.1:1", HTTPPath: "health"} }, want: `Ready.HTTPPath: does not start with / (got "health")`},
		{name: "negative log size", mod: func(s *Spec) { s.Log.MaxBytes = -1 }, want: "Log.MaxBytes: is negative (got -1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.mod(&s)
			_, err := s.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "supervisor: instance i-1: ") {
				t.Errorf("error %q does not name the instance", err)
			}
		})
	}
}
