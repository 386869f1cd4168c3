package shim

import (
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"
)

// TestSpawnWaitsForThePreviousShim: a spawn for a state directory whose
// shim is still finishing (its control connection already closed, as a
// reboot sees it) waits for that shim to leave the host, then decides
// afresh; one that does not leave within hostSpawnWait is refused.
func TestSpawnWaitsForThePreviousShim(t *testing.T) {
	tests := []struct {
		name     string
		leaveAt  time.Duration // 0: never
		wantErr  string
		wantWait time.Duration
	}{
		// The host is told to stop while the spawn waits, so the test
		// sees the second decision without starting a shim.
		{name: "previous leaves after 1s", leaveAt: time.Second, wantErr: "the host is stopping", wantWait: time.Second},
		{name: "previous never leaves", wantErr: "runs in this host already (for more than 5s)", wantWait: hostSpawnWait},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t, "exec sleep 60")
			synctest.Test(t, func(t *testing.T) {
				h := &host{shims: map[string]*hostShim{}, empty: make(chan struct{}, 1)}
				prev := &hostShim{sigs: make(chan os.Signal, 1), done: make(chan struct{})}
				h.shims[c.StateDir] = prev
				if tc.leaveAt > 0 {
					go func() {
						time.Sleep(tc.leaveAt)
						h.mu.Lock()
						delete(h.shims, c.StateDir)
						h.stopping = true
						h.mu.Unlock()
						close(prev.done)
					}()
				}
				fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fds[0])
				f := os.NewFile(uintptr(fds[1]), "control")
				defer f.Close()
				began := time.Now()
				err = h.spawn(c, nil, []*os.File{f})
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("spawn = %v, want an error with %q", err, tc.wantErr)
				}
				if took := time.Since(began); took != tc.wantWait {
					t.Errorf("spawn decided after %s, want %s", took, tc.wantWait)
				}
			})
		})
	}
}
