package supervisor

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestBackoffSchedule runs an app's crash history in fake time through
// the loop's restart logic (decide and the backoff wait): the first
// restart is immediate, then the delay doubles from BackoffInitial up to
// BackoffMax, and a run of ResetAfter starts the schedule over.
func TestBackoffSchedule(t *testing.T) {
	spec, err := Spec{
		ID: "i-1", Dir: "/w", StateDir: "/s", LogPath: "/l", Command: "app",
		BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second, ResetAfter: 30 * time.Second,
		MaxRestarts: 50,
	}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	const short = 10 * time.Millisecond
	runs := []struct {
		uptime  time.Duration
		wantGap time.Duration // from the exit to the restart
	}{
		{short, 0},
		{short, 100 * time.Millisecond},
		{short, 200 * time.Millisecond},
		{short, 400 * time.Millisecond},
		{short, 800 * time.Millisecond},
		{short, time.Second}, // capped
		{short, time.Second},
		{29 * time.Second, time.Second}, // stable but shorter than ResetAfter: still capped
		{30 * time.Second, 0},           // ResetAfter of uptime: the schedule starts over
		{short, 100 * time.Millisecond},
		{short, 200 * time.Millisecond},
	}
	synctest.Test(t, func(t *testing.T) {
		var sk streak
		for i, r := range runs {
			time.Sleep(r.uptime) // the run
			exited := time.Now()
			d := decide(spec, sk, r.uptime, true, Exit{Code: 1})
			sk = d.next
			if !d.restart {
				t.Fatalf("run %d: no restart: %s", i, d.reason)
			}
			w := startBackoff(d.delay)
			if end := w.wait(t.Context(), nil); end != backoffDue {
				t.Fatalf("run %d: wait ended %v, want due", i, end)
			}
			if gap := time.Since(exited); gap != r.wantGap {
				t.Errorf("run %d (uptime %s): restarted %s after the exit, want %s", i, r.uptime, gap, r.wantGap)
			}
			if !w.due.Equal(exited.Add(r.wantGap)) {
				t.Errorf("run %d: NextRestartAt %v, want %v", i, w.due, exited.Add(r.wantGap))
			}
		}
	})
}

// TestBackoffWaitEnds: a stop or a close ends a pending restart at once.
func TestBackoffWaitEnds(t *testing.T) {
	tests := []struct {
		name string
		end  backoffEnd
	}{
		{name: "stop", end: backoffStopped},
		{name: "close", end: backoffClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				stopping := make(chan struct{})
				go func() {
					time.Sleep(3 * time.Second)
					if tc.end == backoffStopped {
						close(stopping)
					} else {
						cancel()
					}
				}()
				began := time.Now()
				if end := startBackoff(15*time.Second).wait(ctx, stopping); end != tc.end {
					t.Errorf("wait ended %v, want %v", end, tc.end)
				}
				if took := time.Since(began); took != 3*time.Second {
					t.Errorf("wait took %s, want 3s (when the %s came)", took, tc.name)
				}
			})
		})
	}
}
