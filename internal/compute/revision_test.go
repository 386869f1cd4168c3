package compute

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"
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
