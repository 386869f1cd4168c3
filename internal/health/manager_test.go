package health

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
)

// step is one active check of a transition test: the backend's behaviour
// for the check, and the expected health after it.
type step struct {
	behave   int
	state    State
	reason   string
	desc     string // substring of Description; "" checks nothing
	routable bool
}

func TestActiveTransitions(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Settings)
		refused bool // the target's address refuses connections
		steps   []step
	}{
		{
			name:  "initial to healthy after one pass",
			edit:  func(s *Settings) { s.HealthyThreshold = 5 },
			steps: []step{{behave: 200, state: StateHealthy, routable: true}},
		},
		{
			name: "initial to unhealthy after UnhealthyThreshold failures",
			edit: func(s *Settings) { s.UnhealthyThreshold = 3 },
			steps: []step{
				{behave: 500, state: StateInitial, reason: ReasonInitialHealthChecking, desc: "last check failed (1 of 3 before unhealthy): GET /health returned 500, expected 200"},
				{behave: 500, state: StateInitial, reason: ReasonInitialHealthChecking, desc: "(2 of 3 before unhealthy)"},
				{behave: 500, state: StateUnhealthy, reason: ReasonResponseCodeMismatch, desc: "GET /health returned 500, expected 200"},
			},
		},
		{
			name: "healthy to unhealthy after UnhealthyThreshold failures",
			edit: func(s *Settings) { s.UnhealthyThreshold = 3 },
			steps: []step{
				{behave: 200, state: StateHealthy, routable: true},
				{behave: 503, state: StateHealthy, desc: "last check failed (1 of 3 before unhealthy)", routable: true},
				{behave: 503, state: StateHealthy, desc: "(2 of 3 before unhealthy)", routable: true},
				{behave: 503, state: StateUnhealthy, reason: ReasonResponseCodeMismatch, desc: "GET /health returned 503, expected 200"},
			},
		},
		{
			name: "a pass resets the failure count",
			steps: []step{
				{behave: 200, state: StateHealthy, routable: true},
				{behave: 500, state: StateHealthy, routable: true},
				{behave: 200, state: StateHealthy, routable: true},
				{behave: 500, state: StateHealthy, desc: "(1 of 2 before unhealthy)", routable: true},
			},
		},
		{
			name: "unhealthy to healthy after HealthyThreshold passes",
			edit: func(s *Settings) { s.HealthyThreshold = 3 },
			steps: []step{
				{behave: 404, state: StateInitial, reason: ReasonInitialHealthChecking},
				{behave: 404, state: StateUnhealthy, reason: ReasonResponseCodeMismatch, desc: "GET /health returned 404, expected 200"},
				{behave: 200, state: StateUnhealthy, reason: ReasonResponseCodeMismatch, desc: "GET /health returned 404, expected 200; recovering: 1 of 3 checks passed"},
				{behave: 200, state: StateUnhealthy, reason: ReasonResponseCodeMismatch, desc: "recovering: 2 of 3 checks passed"},
				{behave: 200, state: StateHealthy, routable: true},
			},
		},
		{
			name: "a failure restarts recovery and updates the reason",
			edit: func(s *Settings) { s.HealthyThreshold = 2 },
			steps: []step{
				{behave: 404, state: StateInitial, reason: ReasonInitialHealthChecking},
				{behave: 404, state: StateUnhealthy, reason: ReasonResponseCodeMismatch},
				{behave: 200, state: StateUnhealthy, reason: ReasonResponseCodeMismatch, desc: "1 of 2 checks passed"},
				{behave: behaveClose, state: StateUnhealthy, reason: ReasonFailedHealthChecks, desc: "closed the connection without a response"},
				{behave: 200, state: StateUnhealthy, reason: ReasonFailedHealthChecks, desc: "1 of 2 checks passed"},
				{behave: 200, state: StateHealthy, routable: true},
			},
		},
		{
			name: "timeout",
			edit: func(s *Settings) { s.Timeout = 150 * time.Millisecond },
			steps: []step{
				{behave: behaveHang, state: StateInitial, reason: ReasonInitialHealthChecking, desc: "GET /health timed out after 150ms"},
				{behave: behaveHang, state: StateUnhealthy, reason: ReasonTimeout, desc: "GET /health timed out after 150ms"},
			},
		},
		{
			name:    "connection refused",
			refused: true,
			steps: []step{
				{state: StateInitial, reason: ReasonInitialHealthChecking},
				{state: StateUnhealthy, reason: ReasonFailedHealthChecks, desc: ": connection refused — is the app listening?"},
			},
		},
		{
			name: "malformed response",
			steps: []step{
				{behave: behaveGarbage, state: StateInitial, reason: ReasonInitialHealthChecking},
				{behave: behaveGarbage, state: StateUnhealthy, reason: ReasonFailedHealthChecks, desc: "malformed response"},
			},
		},
		{
			name: "matcher list",
			edit: func(s *Settings) { s.Matcher = MustParseMatcher("200,202") },
			steps: []step{
				{behave: 202, state: StateHealthy, routable: true},
				{behave: 204, state: StateHealthy, routable: true},
				{behave: 204, state: StateUnhealthy, reason: ReasonResponseCodeMismatch, desc: "GET /health returned 204, expected 200,202"},
			},
		},
		{
			name: "matcher range",
			edit: func(s *Settings) { s.Matcher = MustParseMatcher("200-399") },
			steps: []step{
				{behave: 302, state: StateHealthy, routable: true},
				{behave: 404, state: StateHealthy, routable: true},
				{behave: 404, state: StateUnhealthy, reason: ReasonResponseCodeMismatch, desc: "GET /health returned 404, expected 200-399"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				b := h.backend(t, 200)
				addr := b.addr
				if tc.refused {
					addr = refusedAddr
				}
				s := testSettings()
				if tc.edit != nil {
					tc.edit(&s)
				}
				for i, st := range tc.steps {
					if st.behave != 0 {
						b.set(st.behave)
					}
					if i == 0 {
						// A new target is checked at once, not after one interval.
						h.m.Update(oneGroup(s, Target{ID: "i-1", Addr: addr}))
					} else {
						h.clock.Advance(s.Interval)
					}
					h.waitChecks(t, "web", "i-1", i+1)
					th := h.health(t, "web", "i-1")
					if th.State != st.state || th.Reason != st.reason {
						t.Fatalf("after check %d: state %s (%s), want %s (%s); description %q", i+1, th.State, th.Reason, st.state, st.reason, th.Description)
					}
					if !strings.Contains(th.Description, st.desc) {
						t.Errorf("after check %d: description %q, want it to contain %q", i+1, th.Description, st.desc)
					}
					if got := h.routable(t, "web", "i-1"); got != st.routable {
						t.Errorf("after check %d: sink routable = %v, want %v", i+1, got, st.routable)
					}
					if got := th.Routable(); got != st.routable {
						t.Errorf("after check %d: TargetHealth.Routable() = %v, want %v", i+1, got, st.routable)
					}
					if want := h.clock.Now(); !th.LastCheck.Equal(want) {
						t.Errorf("after check %d: LastCheck = %v, want %v", i+1, th.LastCheck, want)
					}
				}
				if got := h.group("web").checksOf("i-1"); got != len(tc.steps) {
					t.Errorf("checks applied = %d, want exactly %d (one per interval)", got, len(tc.steps))
				}
			})
		})
	}
}

func TestCountersAndTimestamps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		b := h.backend(t, 200)
		const latency = 5 * time.Millisecond
		b.setLatency(latency)
		s := testSettings()
		start := h.clock.Now()
		h.m.Update(oneGroup(s, Target{ID: "i-1", Addr: b.addr}))
		h.waitChecks(t, "web", "i-1", 1)
		h.clock.Advance(s.Interval)
		h.waitChecks(t, "web", "i-1", 2)
		th := h.health(t, "web", "i-1")
		if th.ConsecutiveOK != 2 || th.ConsecutiveFail != 0 {
			t.Errorf("counters = %d ok / %d fail, want 2 / 0", th.ConsecutiveOK, th.ConsecutiveFail)
		}
		if want := start.Add(latency); !th.Since.Equal(want) {
			t.Errorf("Since = %v, want %v (the end of the first check; later passes do not move it)", th.Since, want)
		}
		if th.LastLatency != latency {
			t.Errorf("LastLatency = %v, want %v", th.LastLatency, latency)
		}
		want := []State{StateInitial, StateHealthy}
		h.settle(t, "OnChange reported initial, then healthy", func() bool { return slices.Equal(h.changes.states("i-1"), want) })
	})
}

func TestOverrides(t *testing.T) {
	tests := []struct {
		name     string
		group    func(*Group)
		state    State
		reason   string
		desc     string
		routable bool
	}{
		{
			name:     "checks disabled",
			group:    func(g *Group) { g.Settings.Enabled = false },
			state:    StateUnavailable,
			reason:   ReasonHealthCheckDisabled,
			desc:     "health checks are disabled for target group web; the target receives traffic",
			routable: true,
		},
		{
			name:   "group not in use",
			group:  func(g *Group) { g.InUse = false },
			state:  StateUnused,
			reason: ReasonNotInUse,
			desc:   "target group web is not used by any listener rule",
		},
		{
			name:   "instance stopped",
			group:  func(g *Group) { g.Targets[0].Unavailable = "instance i-1 is stopped" },
			state:  StateUnused,
			reason: ReasonInvalidState,
			desc:   "instance i-1 is stopped",
		},
		{
			name:   "draining",
			group:  func(g *Group) { g.Targets[0].Draining = true },
			state:  StateDraining,
			reason: ReasonDeregistrationInProgress,
			desc:   "deregistration in progress; the target gets no new requests",
		},
		{
			name: "stopped instance wins over draining and unused",
			group: func(g *Group) {
				g.InUse, g.Targets[0].Draining, g.Targets[0].Unavailable = false, true, "instance i-1 is terminated"
			},
			state:  StateUnused,
			reason: ReasonInvalidState,
			desc:   "instance i-1 is terminated",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				b := h.backend(t, 200)
				gs := oneGroup(testSettings(), Target{ID: "i-1", Addr: b.addr})
				tc.group(&gs[0])
				h.m.Update(gs)
				th := h.health(t, "web", "i-1")
				if th.State != tc.state || th.Reason != tc.reason || th.Description != tc.desc {
					t.Errorf("health = %s / %s / %q, want %s / %s / %q", th.State, th.Reason, th.Description, tc.state, tc.reason, tc.desc)
				}
				if got := h.routable(t, "web", "i-1"); got != tc.routable {
					t.Errorf("sink routable = %v, want %v", got, tc.routable)
				}
				// No check is due or scheduled, so none will ever run.
				g := h.group("web")
				tg := h.target(t, "web", "i-1")
				g.mu.Lock()
				due, timer := tg.checkDue, tg.checkTimer
				g.mu.Unlock()
				if due || timer != nil || h.clock.pending() != 0 {
					t.Errorf("check due=%v timer=%v pending timers=%d, want no check scheduled", due, timer, h.clock.pending())
				}
				h.clock.Advance(time.Hour)
				if n := b.reqs.Load(); n != 0 {
					t.Errorf("backend got %d requests, want none", n)
				}
			})
		})
	}
}

func TestOverrideTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		b := h.backend(t, 200)
		s := testSettings()
		base := func(edit func(*Group)) []Group {
			gs := oneGroup(s, Target{ID: "i-1", Addr: b.addr})
			edit(&gs[0])
			return gs
		}
		h.m.Update(base(func(*Group) {}))
		h.waitChecks(t, "web", "i-1", 1)

		steps := []struct {
			name     string
			edit     func(*Group)
			state    State
			reason   string
			routable bool
		}{
			{"draining", func(g *Group) { g.Targets[0].Draining = true }, StateDraining, ReasonDeregistrationInProgress, false},
			{"back from draining starts initial", func(*Group) {}, StateInitial, ReasonInitialHealthChecking, false},
			{"not in use", func(g *Group) { g.InUse = false }, StateUnused, ReasonNotInUse, false},
			{"disabled", func(g *Group) { g.Settings.Enabled = false }, StateUnavailable, ReasonHealthCheckDisabled, true},
			{"stopped", func(g *Group) { g.Targets[0].Unavailable = "instance i-1 is stopped" }, StateUnused, ReasonInvalidState, false},
		}
		for _, st := range steps {
			before := h.group("web").checksOf("i-1")
			h.m.Update(base(st.edit))
			th := h.health(t, "web", "i-1")
			if st.state == StateInitial && th.State == StateHealthy && h.group("web").checksOf("i-1") > before {
				// The check requested when checks resume ran on the loopback
				// network before the state was read: one pass makes a new
				// target healthy.
				continue
			}
			if th.State != st.state || th.Reason != st.reason {
				t.Fatalf("%s: state %s (%s), want %s (%s)", st.name, th.State, th.Reason, st.state, st.reason)
			}
			if got := h.routable(t, "web", "i-1"); got != st.routable {
				t.Errorf("%s: sink routable = %v, want %v", st.name, got, st.routable)
			}
			// Whenever checks resume the target is checked at once; wait for
			// that so the next step starts from a settled target.
			if st.state == StateInitial {
				n := h.group("web").checksOf("i-1")
				h.waitChecks(t, "web", "i-1", n+1)
			}
		}
		// Started again: checked at once, healthy after one pass.
		n := h.group("web").checksOf("i-1")
		h.m.Update(base(func(*Group) {}))
		h.waitChecks(t, "web", "i-1", n+1)
		if th := h.health(t, "web", "i-1"); th.State != StateHealthy {
			t.Errorf("after restart: state %s, want healthy", th.State)
		}
	})
}

func TestUpdateKeepsState(t *testing.T) {
	h := newRealHarness(t)
	b := newBackend(t, 200)
	s := testSettings()
	h.m.Update(oneGroup(s, Target{ID: "i-1", Addr: b.addr}, Target{ID: "i-2", Addr: b.addr}))
	h.waitChecks(t, "web", "i-1", 1)
	h.waitChecks(t, "web", "i-2", 1)
	h.clock.Advance(s.Interval)
	h.waitChecks(t, "web", "i-1", 2)
	h.waitChecks(t, "web", "i-2", 2)
	before := h.health(t, "web", "i-1")

	t.Run("reload with the same targets keeps state and counters", func(t *testing.T) {
		mark := h.sink.count()
		s2 := s
		s2.HealthyThreshold, s2.UnhealthyThreshold = 4, 4 // not a change of the check itself
		h.m.Update(oneGroup(s2, Target{ID: "i-1", Addr: b.addr}, Target{ID: "i-2", Addr: b.addr}, Target{ID: "i-3", Addr: b.addr}))
		after := h.health(t, "web", "i-1")
		if after != before {
			t.Errorf("after reload: %+v\nwant unchanged %+v", after, before)
		}
		if got := h.group("web").checksOf("i-1"); got != 2 {
			t.Errorf("checks of i-1 = %d, want 2: a reload that keeps the check does not check again", got)
		}
		// The sink heard every target's current state (i-3 may turn
		// healthy right after; its first call is the Update's).
		heard := map[string]bool{}
		for _, c := range h.sink.since(mark) {
			if _, ok := heard[c.id]; !ok {
				heard[c.id] = c.healthy
			}
		}
		want := map[string]bool{"i-1": true, "i-2": true, "i-3": false}
		for id, w := range want {
			if got, ok := heard[id]; !ok || got != w {
				t.Errorf("sink after reload: %s = %v (heard %v), want %v", id, got, ok, w)
			}
		}
		h.waitChecks(t, "web", "i-3", 1)
	})

	t.Run("new address starts over", func(t *testing.T) {
		other := closedAddr(t)
		old := h.target(t, "web", "i-2")
		h.m.Update(oneGroup(s, Target{ID: "i-1", Addr: b.addr}, Target{ID: "i-2", Addr: other}))
		if th := h.health(t, "web", "i-2"); th.State != StateInitial || th.Addr != other {
			t.Errorf("i-2 after address change = %s at %s, want initial at %s", th.State, th.Addr, other)
		}
		select {
		case <-old.done:
		default:
			t.Errorf("the loop of i-2's old address still runs after Update returned")
		}
		if th := h.health(t, "web", "i-1"); th.State != StateHealthy || th.Since != before.Since {
			t.Errorf("i-1 = %s since %v, want healthy since %v", th.State, th.Since, before.Since)
		}
	})

	t.Run("removed target is gone", func(t *testing.T) {
		gone := h.target(t, "web", "i-2")
		h.m.Update(oneGroup(s, Target{ID: "i-1", Addr: b.addr}))
		if hs := h.m.Health("web"); len(hs) != 1 || hs[0].ID != "i-1" {
			t.Errorf("Health = %+v, want only i-1", hs)
		}
		select {
		case <-gone.done:
		default:
			t.Errorf("the loop of removed i-2 still runs")
		}
	})

	t.Run("changed check runs at once", func(t *testing.T) {
		n := h.group("web").checksOf("i-1")
		s2 := s
		s2.Path = "/ready"
		h.m.Update(oneGroup(s2, Target{ID: "i-1", Addr: b.addr}))
		h.waitChecks(t, "web", "i-1", n+1)
		if got := b.lastRequest().URL.Path; got != "/ready" {
			t.Errorf("check path = %q, want /ready", got)
		}
		if th := h.health(t, "web", "i-1"); th.State != StateHealthy || th.Since != before.Since {
			t.Errorf("i-1 = %s since %v, want still healthy since %v", th.State, th.Since, before.Since)
		}
	})

	t.Run("removed group is gone", func(t *testing.T) {
		h.m.Update(nil)
		if hs := h.m.Health("web"); hs != nil {
			t.Errorf("Health of removed group = %+v, want nil", hs)
		}
	})
}

func TestUpdateBadInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		b := h.backend(t, 200)
		good := testSettings()
		h.m.Update(oneGroup(good, Target{ID: "i-1", Addr: b.addr}))
		h.waitChecks(t, "web", "i-1", 1)

		bad := good
		bad.Timeout = time.Minute // not below the interval
		h.m.Update([]Group{
			{Name: "web", InUse: true, Settings: bad, Targets: []Target{{ID: "i-1", Addr: b.addr}, {ID: "i-1", Addr: "127.0.0.1:1"}, {ID: "", Addr: b.addr}}},
			{Name: "web", InUse: true},
			{Name: ""},
		})
		g := h.group("web")
		g.mu.Lock()
		kept := g.settings.Timeout
		g.mu.Unlock()
		if kept != good.Timeout {
			t.Errorf("timeout after invalid settings = %v, want the previous %v", kept, good.Timeout)
		}
		if hs := h.m.Health("web"); len(hs) != 1 || hs[0].Addr != b.addr || hs[0].State != StateHealthy {
			t.Errorf("Health = %+v, want i-1 at %s, healthy: duplicates and nameless targets are ignored", hs, b.addr)
		}
	})
}

func TestOnChangeOutsideLocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var h *harness
		var mu sync.Mutex
		var seen []int
		h = newHarness(t, func(o *Options) {
			o.OnChange = func(group string, th TargetHealth) {
				// Calling back into the Manager must not deadlock.
				n := len(h.m.Health(group))
				mu.Lock()
				seen = append(seen, n)
				mu.Unlock()
			}
		})
		b := h.backend(t, 200)
		h.m.Update(oneGroup(testSettings(), Target{ID: "i-1", Addr: b.addr}))
		h.waitChecks(t, "web", "i-1", 1)
		h.settle(t, "OnChange called twice (initial, healthy)", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) >= 2
		})
	})
}

func TestCloseStopsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		b := h.backend(t, behaveHang)
		s := testSettings()
		var targets []Target
		for i := range 20 {
			targets = append(targets, Target{ID: "i-" + strconv.Itoa(i), Addr: b.addr})
		}
		h.m.Update(oneGroup(s, targets...))
		h.settle(t, "20 checks in flight", func() bool { return b.reqs.Load() == 20 })
		start := time.Now()
		if err := h.m.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Close took %v with checks in flight, want it to abort them", d)
		}
		if err := leakcheck.Check(3*time.Second, managerGoroutines()); err != nil {
			t.Fatalf("after Close: %v", err)
		}
		if err := h.m.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		h.m.Update(oneGroup(s, targets...))
		h.m.Observe("web", "i-1", Outcome{ConnectFailed: true})
		h.m.Restore([]Record{{Group: "web", ID: "i-1", Addr: b.addr, State: StateHealthy}})
		if hs := h.m.Health("web"); hs != nil {
			t.Errorf("Health after Close = %+v, want nil", hs)
		}
		if err := leakcheck.Check(0, managerGoroutines()); err != nil {
			t.Errorf("Update after Close started goroutines: %v", err)
		}
	})
}

func TestConcurrentObserveUpdate(t *testing.T) {
	h := newRealHarness(t)
	b := newBackend(t, 200)
	s := testSettings()
	ids := []string{"i-0", "i-1", "i-2", "i-3", "i-4", "i-5"}
	groups := func(n int, draining bool) []Group {
		var ts []Target
		for _, id := range ids[:n] {
			ts = append(ts, Target{ID: id, Addr: b.addr, Draining: draining && id == "i-0"})
		}
		s2 := s
		if n%2 == 0 {
			s2.Path = "/other"
		}
		return oneGroup(s2, ts...)
	}
	h.m.Update(groups(len(ids), false))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	outcomes := []Outcome{{ConnectFailed: true}, {Reset: true}, {Status: 500}, {Status: 200}, {Timeout: true}, {Status: 502}}
	for w := range 4 {
		wg.Go(func() {
			for i := 0; i < 5000 && ctx.Err() == nil; i++ {
				h.m.Observe("web", ids[(i+w)%len(ids)], outcomes[(i*7+w)%len(outcomes)])
			}
		})
	}
	wg.Go(func() {
		for i := 0; i < 200 && ctx.Err() == nil; i++ {
			h.m.Update(groups(2+i%(len(ids)-1), i%3 == 0))
		}
	})
	wg.Go(func() {
		for i := 0; i < 500 && ctx.Err() == nil; i++ {
			h.m.Health("web")
			h.m.Snapshot()
			h.clock.Advance(300 * time.Millisecond)
		}
	})
	wg.Wait()
	if ctx.Err() != nil {
		t.Errorf("the bounded load did not finish within 2s")
	}
}

// TestTargetCheckedWhenGroupComesIntoUse: a target registered while its
// group is used by no listener is checked as soon as a listener uses the
// group (it once stayed initial, never checked, when the group and the
// listener arrived in two updates).
func TestTargetCheckedWhenGroupComesIntoUse(t *testing.T) {
	h := newRealHarness(t)
	b := newBackend(t, 200)
	s := testSettings()
	unused := oneGroup(s, Target{ID: "i-1", Addr: b.addr})
	unused[0].InUse = false
	h.m.Update(unused)
	if th := h.health(t, "web", "i-1"); th.State != StateUnused {
		t.Fatalf("state %s, want unused", th.State)
	}
	h.m.Update(oneGroup(s, Target{ID: "i-1", Addr: b.addr}))
	h.waitChecks(t, "web", "i-1", 1)
	if th := h.health(t, "web", "i-1"); th.LastCheck.IsZero() {
		t.Fatalf("no check recorded: %+v", th)
	}
}
