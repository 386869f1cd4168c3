package compute

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestPurge: Purge removes running, stopped and terminated instances at
// once — processes, records, directories and leases — and the image
// directories without a record; the service launches new instances
// afterwards.
func TestPurge(t *testing.T) {
	book := &AddressBook{Dir: t.TempDir()}
	tc := newTestComputeWith(t, book)
	ctx := context.Background()
	running, stopped, terminated := tc.run(), tc.run(), tc.run()
	pid := tc.waitRunning(running.ID).PID
	tc.waitRunning(stopped.ID)
	tc.waitRunning(terminated.ID)
	if err := tc.svc.Stop(ctx, stopped.ID); err != nil {
		t.Fatal(err)
	}
	if err := tc.svc.Terminate(ctx, terminated.ID); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(tc.home, "images", "gone")
	if err := os.MkdirAll(filepath.Join(orphan, "v1"), 0o755); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	n, err := tc.svc.Purge(ctx)
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	t.Logf("purged %d instances in %s", n, time.Since(start))
	if n != 3 {
		t.Errorf("Purge removed %d instances, want 3", n)
	}
	if got := tc.svc.AllInstances(); len(got) != 0 {
		t.Errorf("instances after Purge: %v", got)
	}
	for _, id := range []string{running.ID, stopped.ID, terminated.ID} {
		if _, err := tc.svc.Describe(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Describe(%s) after Purge = %v, want not found", id, err)
		}
	}
	if kvs, _, _ := tc.store.List(ctx, InstancePrefix); len(kvs) != 0 {
		t.Errorf("%d instance records left", len(kvs))
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d of %s still exists after Purge (kill 0: %v)", pid, running.ID, err)
	}
	for _, in := range []Instance{running, stopped, terminated} {
		if _, err := os.Stat(in.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("directory %s of %s left (%v)", in.Dir, in.ID, err)
		}
	}
	if leases, _ := os.ReadDir(book.Dir); len(leases) > 0 {
		var names []string
		for _, l := range leases {
			if l.Name() != ".lock" && l.Name() != "lock" {
				names = append(names, l.Name())
			}
		}
		if len(names) > 0 {
			t.Errorf("address leases left: %v", names)
		}
	}
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("image directory of a removed image left (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(tc.home, "images", "app")); err != nil {
		t.Errorf("image directory of a stored image removed: %v", err)
	}

	again := tc.run()
	tc.waitRunning(again.ID)
	if got := len(tc.svc.AllInstances()); got != 1 {
		t.Errorf("instances after a new Run = %d, want 1", got)
	}
}
