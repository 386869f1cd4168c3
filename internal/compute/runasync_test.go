package compute

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/shim"
)

// heldHost is a shim host whose spawns wait until release is closed, then
// fail.
type heldHost struct {
	entered chan string
	release chan struct{}
}

func (h *heldHost) Spawn(cfg shim.Config, _ []string, _ *os.File) (int, uint64, error) {
	h.entered <- cfg.StateDir
	<-h.release
	return 0, 0, errors.New("the test's host refuses to start shims")
}

// TestRunReturnsBeforeTheStartsAndCloseWaitsForThem: Run returns the
// stored, pending instances while their starts go on; Close waits for
// the starts in flight, and a Run after Close is refused.
func TestRunReturnsBeforeTheStartsAndCloseWaitsForThem(t *testing.T) {
	t.Parallel()
	tc := newTestCompute(t)
	if err := tc.svc.Close(); err != nil {
		t.Fatal(err)
	}
	host := &heldHost{entered: make(chan string, 2), release: make(chan struct{})}
	tc.host = host
	tc.open()

	ins, err := tc.svc.Run(context.Background(), RunRequest{LaunchTemplate: "app", Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if in.State != StatePending {
			t.Errorf("Run returned %s in state %s, want pending", in.ID, in.State)
		}
	}
	for range ins {
		select {
		case <-host.entered: // the start goes on after Run returned
		case <-time.After(10 * time.Second):
			t.Fatal("no spawn reached the host after Run returned")
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- tc.svc.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while two starts were in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(host.release)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the starts ended")
	}
	_, err = tc.svc.Run(context.Background(), RunRequest{LaunchTemplate: "app", Count: 1})
	if fault.CodeOf(err) != fault.Unavailable {
		t.Fatalf("Run after Close: %v (code %q), want %q", err, fault.CodeOf(err), fault.Unavailable)
	}
	tc.host = nil
	tc.open() // for the test's cleanup
}
