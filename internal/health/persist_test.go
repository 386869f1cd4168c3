package health

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// gateChecker holds every check until its gate opens.
type gateChecker struct {
	gate  chan struct{}
	inner Checker
}

func (c *gateChecker) Check(ctx context.Context, s Settings, addr string) Result {
	select {
	case <-c.gate:
	case <-ctx.Done():
		return Result{Reason: ReasonTimeout, Description: "gate closed"}
	}
	return c.inner.Check(ctx, s, addr)
}

var _ Checker = (*gateChecker)(nil)

func TestSnapshotRestore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h1 := newHarness(t)
		up := h1.backend(t, 200)
		down := h1.backend(t, 404)
		s := testSettings()
		groups := []Group{{Name: "web", InUse: true, Settings: s, Targets: []Target{
			{ID: "i-1", Addr: up.addr},
			{ID: "i-2", Addr: down.addr},
			{ID: "i-3", Addr: up.addr, Draining: true},
		}}}

		// The first daemon learns the targets' health.
		h1.m.Update(groups)
		h1.waitChecks(t, "web", "i-1", 1)
		h1.waitChecks(t, "web", "i-2", 1)
		h1.clock.Advance(s.Interval)
		h1.waitChecks(t, "web", "i-1", 2)
		h1.waitChecks(t, "web", "i-2", 2)
		want := h1.m.Health("web")
		if want[0].State != StateHealthy || want[1].State != StateUnhealthy || want[2].State != StateDraining {
			t.Fatalf("first daemon: %+v, want healthy, unhealthy, draining", want)
		}
		saved, err := json.Marshal(h1.m.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := h1.m.Close(); err != nil {
			t.Fatal(err)
		}

		// The second daemon restores them; its checks wait at a gate so the
		// restored state can be seen before any new check.
		gate := &gateChecker{gate: make(chan struct{}), inner: NewHTTPChecker(h1.net.dial)}
		h2 := newHarness(t, func(o *Options) { o.Checker = gate })
		h2.clock.Advance(time.Hour) // the restart took a while
		var recs []Record
		if err := json.Unmarshal(saved, &recs); err != nil {
			t.Fatal(err)
		}
		recs = append(recs,
			Record{Group: "web", ID: "i-9", Addr: up.addr, State: StateHealthy, Since: time.Unix(1, 0)}, // not registered any more
			Record{Group: "web", ID: "i-8", Addr: up.addr, State: "sideways"},                           // bad record
			Record{ID: "i-7", Addr: up.addr, State: StateHealthy},                                       // bad record
		)
		h2.m.Restore(recs)

		// The sink learns the restored state before the first Update.
		for _, w := range want {
			c, ok := h2.sink.last("web", w.ID)
			if !ok || c.healthy != w.Routable() || !c.since.Equal(w.Since) {
				t.Errorf("sink after Restore: %s = %+v (heard %v), want healthy=%v since %v", w.ID, c, ok, w.Routable(), w.Since)
			}
		}
		if _, ok := h2.sink.last("web", "i-8"); ok {
			t.Errorf("sink heard of a bad record")
		}
		// A snapshot taken now still holds the restored records.
		if got := h2.m.Snapshot(); len(got) != 4 {
			t.Errorf("Snapshot between Restore and Update has %d records, want 4 (3 saved + i-9)", len(got))
		}

		h2.m.Update(groups)
		got := h2.m.Health("web")
		if len(got) != len(want) {
			t.Fatalf("after Update: %d targets, want %d", len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.ID != w.ID || g.State != w.State || g.Reason != w.Reason || g.Description != w.Description ||
				!g.Since.Equal(w.Since) || g.ConsecutiveOK != w.ConsecutiveOK || g.ConsecutiveFail != w.ConsecutiveFail {
				t.Errorf("restored %s = %+v\nwant %+v", w.ID, g, w)
			}
		}
		if !h2.routable(t, "web", "i-1") || h2.routable(t, "web", "i-2") {
			t.Errorf("sink after Update: i-1 routable %v, i-2 routable %v; want true, false", h2.routable(t, "web", "i-1"), h2.routable(t, "web", "i-2"))
		}
		if recs := h2.m.Snapshot(); len(recs) != 3 || slices.ContainsFunc(recs, func(r Record) bool { return r.ID == "i-9" }) {
			t.Errorf("Snapshot after Update = %+v, want the 3 registered targets only", recs)
		}

		// Restored targets are checked at once and carry on from their counters.
		close(gate.gate)
		h2.waitChecks(t, "web", "i-1", 1)
		h2.waitChecks(t, "web", "i-2", 1)
		if th := h2.health(t, "web", "i-1"); th.State != StateHealthy || th.ConsecutiveOK != 3 || !th.Since.Equal(want[0].Since) {
			t.Errorf("i-1 after its first check: %s, %d ok, since %v; want healthy, 3 ok, since %v", th.State, th.ConsecutiveOK, th.Since, want[0].Since)
		}
		if th := h2.health(t, "web", "i-2"); th.State != StateUnhealthy || th.ConsecutiveFail != 3 {
			t.Errorf("i-2 after its first check: %s, %d failed; want unhealthy, 3 failed", th.State, th.ConsecutiveFail)
		}
		// Neither changed state in the second daemon; Close delivers every
		// pending notification.
		if err := h2.m.Close(); err != nil {
			t.Fatal(err)
		}
		if len(h2.changes.states("i-1")) != 0 || len(h2.changes.states("i-2")) != 0 {
			t.Errorf("OnChange reported restored i-1 as %v, want no change", h2.changes.states("i-1"))
		}
		if got := h2.changes.states("i-3"); len(got) != 0 {
			t.Errorf("OnChange reported restored draining i-3 as %v, want no change", got)
		}
	})
}

func TestRestoreDifferentAddressStartsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		b := h.backend(t, 500)
		h.m.Restore([]Record{{Group: "web", ID: "i-1", Addr: "127.0.0.1:1", State: StateHealthy, Since: time.Unix(1, 0)}})
		s := testSettings()
		s.UnhealthyThreshold = 10
		h.m.Update(oneGroup(s, Target{ID: "i-1", Addr: b.addr}))
		if th := h.health(t, "web", "i-1"); th.State != StateInitial {
			t.Errorf("target at a new address = %s, want initial", th.State)
		}
	})
}

func TestRestoreExistingTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		b := h.backend(t, 500)
		s := testSettings()
		s.UnhealthyThreshold = 10
		h.m.Update(oneGroup(s, Target{ID: "i-1", Addr: b.addr}))
		h.waitChecks(t, "web", "i-1", 1)
		since := time.Unix(1000, 0).UTC()
		h.m.Restore([]Record{{Group: "web", ID: "i-1", Addr: b.addr, State: StateHealthy, Since: since, ConsecutiveOK: 7}})
		th := h.health(t, "web", "i-1")
		if th.State != StateHealthy || !th.Since.Equal(since) || !h.routable(t, "web", "i-1") {
			t.Errorf("after Restore: %s since %v, routable %v; want healthy since %v, routable", th.State, th.Since, h.routable(t, "web", "i-1"), since)
		}
		// It is checked at once: one failure, below the threshold.
		h.waitChecks(t, "web", "i-1", 2)
		if th := h.health(t, "web", "i-1"); th.State != StateHealthy || th.ConsecutiveFail != 1 {
			t.Errorf("after the check: %s with %d failures, want healthy with 1", th.State, th.ConsecutiveFail)
		}
	})
}
