package compute

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/state"
)

// watchRevision lists s's instances until stop is closed and reports a
// revision seen with two different sets of records: a listing between
// two reads of the same revision must show the records of that revision
// (but for the live facts a view adds, the restart count among them).
func watchRevision(t *testing.T, s *Service, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seen := map[uint64]string{}
		var views []View
		for {
			select {
			case <-stop:
				return
			default:
			}
			before := s.Revision()
			views = s.AppendListing(views[:0])
			if s.Revision() != before {
				continue
			}
			records := make([]Instance, len(views))
			for i, v := range views {
				records[i] = v.Instance
				records[i].Restarts = 0 // a live fact: the supervisor's count
			}
			b, err := json.Marshal(records)
			if err != nil {
				t.Error(err)
				return
			}
			if prev, ok := seen[before]; ok && prev != string(b) {
				t.Errorf("revision %d lists two sets of records:\n%s\n%s", before, prev, b)
				return
			}
			seen[before] = string(b)
			time.Sleep(time.Millisecond)
		}
	}()
	return &wg
}

// TestRevisionCountsEveryChange: every change to an instance record, an
// image or a launch template moves Revision, and a revision always lists
// the same records.
func TestRevisionCountsEveryChange(t *testing.T) {
	t.Parallel()
	tc := newTestCompute(t)
	ctx := context.Background()
	stop := make(chan struct{})
	wg := watchRevision(t, tc.svc, stop)
	defer func() { close(stop); wg.Wait() }()

	var id string
	steps := []struct {
		name string
		do   func() error
	}{
		{"RunInstances", func() error { id = tc.run().ID; return nil }},
		{"the instance runs", func() error { tc.waitRunning(id); return nil }},
		{"a tag is set", func() error {
			_, err := tc.svc.SetTags(ctx, id, map[string]string{"team": "web"}, nil)
			return err
		}},
		{"a tag is removed", func() error { _, err := tc.svc.SetTags(ctx, id, nil, []string{"team"}); return err }},
		{"Stop", func() error { return tc.svc.Stop(ctx, id) }},
		{"Start", func() error { return tc.svc.Start(ctx, id) }},
		{"Terminate", func() error { return tc.svc.Terminate(ctx, id) }},
		{"a new launch template", func() error {
			tc.commit(LaunchTemplateKind(), &LaunchTemplateSpec{Name: "other", LaunchTemplateData: LaunchTemplateData{Image: "app"}}, "")
			return nil
		}},
		{"Purge", func() error { _, err := tc.svc.Purge(ctx); return err }},
	}
	for _, st := range steps {
		before := tc.svc.Revision()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if after := tc.svc.Revision(); after <= before {
			t.Errorf("%s: revision %d → %d, want it to grow", st.name, before, after)
		}
	}
}

// TestRevisionHoldsWhileNothingChanges: a running instance whose record
// does not change leaves the revision as it is, so answers kept for it
// stay good.
func TestRevisionHoldsWhileNothingChanges(t *testing.T) {
	t.Parallel()
	tc := newTestCompute(t)
	id := tc.run().ID
	tc.waitRunning(id)
	tc.wait(id, "the record running", func(View) bool { in, _ := tc.svc.Instance(id); return in.State == StateRunning })
	before := tc.svc.Revision()
	for range 5 {
		time.Sleep(40 * time.Millisecond)
		_ = tc.svc.Listing()
		_, _ = tc.svc.Describe(id)
	}
	if after := tc.svc.Revision(); after != before {
		in, _ := tc.svc.Instance(id)
		t.Fatalf("revision %d → %d with nothing changed (record %+v)", before, after, in)
	}
}

// heldStore holds the first store of a record that arrives while armed
// until another store of the same key ends, or at most hold: the
// interleaving in which two writers' stores finish in the wrong order.
type heldStore struct {
	state.Store
	hold  time.Duration
	mu    sync.Mutex
	armed string        // the key whose next store is held
	held  chan struct{} // closed when a later store of the key ended
}

func (h *heldStore) arm(key string) {
	h.mu.Lock()
	h.armed, h.held = key, make(chan struct{})
	h.mu.Unlock()
}

func (h *heldStore) Put(ctx context.Context, key string, value []byte) (int64, error) {
	h.mu.Lock()
	first := h.armed == key
	held := h.held
	if first {
		h.armed = ""
	}
	h.mu.Unlock()
	if first {
		select {
		case <-held:
		case <-time.After(h.hold):
		}
		return h.Store.Put(ctx, key, value)
	}
	rev, err := h.Store.Put(ctx, key, value)
	if held != nil {
		h.mu.Lock()
		if h.held == held {
			close(held)
			h.held = nil
		}
		h.mu.Unlock()
	}
	return rev, err
}

// TestConcurrentWritersStoreTheNewestRecord: when two writers change one
// instance at once and the first one's store is slow, the store still
// ends with the newest record, not with whichever copy was stored last.
func TestConcurrentWritersStoreTheNewestRecord(t *testing.T) {
	t.Parallel()
	hs := &heldStore{Store: state.NewMemory(), hold: 300 * time.Millisecond}
	tc := newTestComputeOn(t, nil, hs)
	ctx := context.Background()
	id := tc.run().ID
	hs.arm(InstancePrefix + id)
	first := make(chan error, 1)
	go func() {
		_, err := tc.svc.SetTags(ctx, id, map[string]string{"v": "1"}, nil)
		first <- err
	}()
	// The second change is made once the first is in memory (its store
	// is held).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if in, _ := tc.svc.get(id); in.Tags["v"] == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first change did not reach the record")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := tc.svc.SetTags(ctx, id, map[string]string{"v": "2"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	kv, err := hs.Get(ctx, InstancePrefix+id)
	if err != nil {
		t.Fatalf("stored record: %v", err)
	}
	var stored Instance
	if err := json.Unmarshal(kv.Value, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Tags["v"] != "2" {
		t.Fatalf("stored tag v=%q, want the newest change's 2", stored.Tags["v"])
	}
}
