package health

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// healthyGroup starts a harness with n healthy targets i-0… on one backend.
func healthyGroup(t *testing.T, n int, edit func(*Settings)) (*harness, *backend, Settings) {
	t.Helper()
	h := newHarness(t)
	b := h.backend(t, 200)
	s := testSettings()
	if edit != nil {
		edit(&s)
	}
	h.m.Update(oneGroup(s, targetsOn(b.addr, n)...))
	for i := range n {
		h.waitChecks(t, "web", "i-"+strconv.Itoa(i), 1)
		if th := h.health(t, "web", "i-"+strconv.Itoa(i)); th.State != StateHealthy {
			t.Fatalf("i-%d is %s after its first check, want healthy", i, th.State)
		}
	}
	return h, b, s
}

func targetsOn(addr string, n int) []Target {
	ts := make([]Target, n)
	for i := range ts {
		ts[i] = Target{ID: "i-" + strconv.Itoa(i), Addr: addr}
	}
	return ts
}

var (
	refused  = Outcome{ConnectFailed: true}
	reset    = Outcome{Reset: true}
	timedOut = Outcome{Timeout: true}
	abandon  = Outcome{}
)

func status(code int) Outcome { return Outcome{Status: code, Latency: time.Millisecond} }

func repeat(o Outcome, n int) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}

func seq(parts ...[]Outcome) []Outcome {
	var out []Outcome
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestPassiveEjection(t *testing.T) {
	tests := []struct {
		name     string
		outcomes []Outcome
		eject    bool
		passive  string
	}{
		{name: "two refused connections", outcomes: repeat(refused, 2), eject: true, passive: "ejected for 1s after 2 refused connections (ejection #1)"},
		{name: "two resets", outcomes: repeat(reset, 2), eject: true, passive: "ejected for 1s after 2 connection failures (ejection #1)"},
		{name: "timeout then reset", outcomes: []Outcome{timedOut, reset}, eject: true, passive: "after 2 connection failures"},
		{name: "five 5xx", outcomes: []Outcome{status(500), status(502), status(503), status(504), status(500)}, eject: true, passive: "after 5 failed requests (5xx or connection errors)"},
		{name: "5xx mixed with a connection failure", outcomes: seq(repeat(status(500), 3), []Outcome{refused}, []Outcome{status(503)}), eject: true, passive: "after 5 failed requests"},
		{name: "abandoned request counts for nothing", outcomes: []Outcome{refused, abandon, refused}, eject: true, passive: "2 refused connections"},
		{name: "four 5xx stay", outcomes: repeat(status(500), 4)},
		{name: "a success resets the count", outcomes: seq(repeat(status(500), 4), []Outcome{status(200)}, repeat(status(500), 4))},
		{name: "a 4xx resets the count", outcomes: seq(repeat(status(500), 4), []Outcome{status(404)}, []Outcome{status(500)})},
		{name: "501 and 505 are not target failures", outcomes: seq(repeat(status(501), 3), repeat(status(505), 3))},
		{name: "a 501 resets the count", outcomes: seq(repeat(status(500), 4), []Outcome{status(501)}, []Outcome{status(500)})},
		{name: "a success between refusals", outcomes: []Outcome{refused, status(200), refused}},
		{name: "a 5xx between connection failures", outcomes: []Outcome{reset, status(502), reset}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h, _, _ := healthyGroup(t, 4, nil)
				last := len(tc.outcomes) - 1
				for i, o := range tc.outcomes {
					h.m.Observe("web", "i-0", o)
					if i < last && !h.routable(t, "web", "i-0") {
						t.Fatalf("ejected after outcome %d of %d, want only after the last", i+1, len(tc.outcomes))
					}
				}
				// The decision is made inside Observe: no waiting here.
				if got := !h.routable(t, "web", "i-0"); got != tc.eject {
					t.Fatalf("ejected = %v, want %v", got, tc.eject)
				}
				th := h.health(t, "web", "i-0")
				if !tc.eject {
					if th.State != StateHealthy || th.Passive != "" {
						t.Errorf("health = %s, passive %q; want healthy, not ejected", th.State, th.Passive)
					}
					return
				}
				if th.State != StateUnhealthy || th.Reason != ReasonFailedHealthChecks {
					t.Errorf("state %s (%s), want unhealthy (%s)", th.State, th.Reason, ReasonFailedHealthChecks)
				}
				if !strings.Contains(th.Description, "ejected by live traffic") {
					t.Errorf("description %q, want it to say live traffic ejected the target", th.Description)
				}
				if !strings.Contains(th.Passive, tc.passive) {
					t.Errorf("Passive = %q, want it to contain %q", th.Passive, tc.passive)
				}
				if want := h.clock.Now(); !th.Since.Equal(want) {
					t.Errorf("Since = %v, want %v", th.Since, want)
				}
				for _, other := range []string{"i-1", "i-2", "i-3"} {
					if !h.routable(t, "web", other) {
						t.Errorf("%s ejected too, want only i-0", other)
					}
				}
			})
		})
	}
}

func TestPassiveOnlyHealthyTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		b := h.backend(t, 500)
		s := testSettings()
		s.UnhealthyThreshold = 10
		h.m.Update(oneGroup(s, Target{ID: "i-1", Addr: b.addr}))
		h.waitChecks(t, "web", "i-1", 1)
		mark := h.sink.count()
		for range 10 {
			h.m.Observe("web", "i-1", refused)
			h.m.Observe("web", "nobody", refused)
			h.m.Observe("nogroup", "i-1", refused)
		}
		if th := h.health(t, "web", "i-1"); th.State != StateInitial || th.Passive != "" {
			t.Errorf("initial target after failures = %s, passive %q; want initial, not ejected", th.State, th.Passive)
		}
		if calls := h.sink.since(mark); len(calls) != 0 {
			t.Errorf("sink calls %+v, want none", calls)
		}
		if n := h.target(t, "web", "i-1").fails.Load(); n != 0 {
			t.Errorf("failure count of a target that is not healthy = %d, want 0", n)
		}
	})
}

func TestPassiveEjectionLimit(t *testing.T) {
	t.Run("at most half of the group", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h, _, _ := healthyGroup(t, 4, nil)
			for _, id := range []string{"i-0", "i-1", "i-2"} {
				for _, o := range repeat(status(503), 5) {
					h.m.Observe("web", id, o)
				}
			}
			want := map[string]bool{"i-0": false, "i-1": false, "i-2": true, "i-3": true}
			for id, w := range want {
				if got := h.routable(t, "web", id); got != w {
					t.Errorf("%s routable = %v, want %v", id, got, w)
				}
			}
			// A target that refuses connections goes out regardless.
			h.m.Observe("web", "i-2", refused)
			h.m.Observe("web", "i-2", refused)
			if h.routable(t, "web", "i-2") {
				t.Errorf("i-2 refusing connections is still routable, want it ejected past the limit")
			}
		})
	})
	t.Run("a single target is ejected only when refusing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h, _, _ := healthyGroup(t, 1, nil)
			for _, o := range seq(repeat(status(500), 5), repeat(reset, 2)) {
				h.m.Observe("web", "i-0", o)
			}
			if !h.routable(t, "web", "i-0") {
				t.Fatalf("the only target was ejected for 5xx and resets, want it kept")
			}
			h.m.Observe("web", "i-0", refused)
			h.m.Observe("web", "i-0", refused)
			if h.routable(t, "web", "i-0") {
				t.Errorf("the only target refuses connections and is still routable")
			}
		})
	})
}

func TestEjectionBackoffAndRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, b, s := healthyGroup(t, 1, func(s *Settings) { s.HealthyThreshold = 2 })
		const id = "i-0"
		g := h.group("web")
		eject := func() {
			t.Helper()
			h.m.Observe("web", id, refused)
			h.m.Observe("web", id, refused)
			if h.routable(t, "web", id) {
				t.Fatalf("target not ejected")
			}
		}
		checks := func() int { return g.checksOf(id) }

		// Ejection #1 lasts 1s, then an immediate check brings it back.
		eject()
		if got, want := h.health(t, "web", id).Passive, "ejected for 1s after 2 refused connections (ejection #1)"; got != want {
			t.Errorf("Passive = %q, want %q", got, want)
		}
		n := checks()
		h.clock.Advance(999 * time.Millisecond)
		if got := checks(); got != n {
			t.Fatalf("checked before the ejection ended")
		}
		h.clock.Advance(time.Millisecond)
		h.waitChecks(t, "web", id, n+1)
		th := h.health(t, "web", id)
		if th.State != StateHealthy || th.Passive != "" || !h.routable(t, "web", id) {
			t.Fatalf("after a passing probe: %s, passive %q, routable %v; want healthy and routable", th.State, th.Passive, h.routable(t, "web", id))
		}

		// Ejection #2 lasts 2s; a failing probe leaves the target to active
		// checks, which need HealthyThreshold passes.
		eject()
		if got := h.health(t, "web", id).Passive; !strings.Contains(got, "ejected for 2s") || !strings.Contains(got, "(ejection #2)") {
			t.Errorf("Passive = %q, want a 2s ejection #2", got)
		}
		b.set(500)
		n = checks()
		h.clock.Advance(2 * time.Second)
		h.waitChecks(t, "web", id, n+1)
		th = h.health(t, "web", id)
		if th.State != StateUnhealthy || th.Reason != ReasonResponseCodeMismatch || th.Passive != "" {
			t.Fatalf("after a failing probe: %s (%s), passive %q; want unhealthy (%s), no longer ejected", th.State, th.Reason, th.Passive, ReasonResponseCodeMismatch)
		}
		b.set(200)
		// The periodic schedule was not disturbed: next check 10s after the
		// first one, 3s of which have passed.
		n = checks()
		h.clock.Advance(s.Interval - 3*time.Second)
		h.waitChecks(t, "web", id, n+1)
		if th := h.health(t, "web", id); th.State != StateUnhealthy || !strings.Contains(th.Description, "recovering: 1 of 2") {
			t.Fatalf("after one pass: %s %q, want unhealthy, recovering 1 of 2", th.State, th.Description)
		}
		h.clock.Advance(s.Interval)
		h.waitChecks(t, "web", id, n+2)
		if th := h.health(t, "web", id); th.State != StateHealthy || !h.routable(t, "web", id) {
			t.Fatalf("after two passes: %s, want healthy", th.State)
		}

		// Without a stable period the count keeps growing …
		eject()
		if got := h.health(t, "web", id).Passive; !strings.Contains(got, "for 3s") || !strings.Contains(got, "#3") {
			t.Errorf("Passive = %q, want a 3s ejection #3", got)
		}
		n = checks()
		h.clock.Advance(3 * time.Second)
		h.waitChecks(t, "web", id, n+1)
		// … and after 30s healthy it starts over.
		h.clock.Advance(ejectionStable)
		eject()
		if got := h.health(t, "web", id).Passive; !strings.Contains(got, "for 1s") || !strings.Contains(got, "#1") {
			t.Errorf("Passive after a stable period = %q, want a 1s ejection #1", got)
		}
	})
}

func TestEjectionCapAndPeriodicChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _, s := healthyGroup(t, 1, nil)
		const id = "i-0"
		g := h.group("web")
		g.mu.Lock()
		h.target(t, "web", id).ejections = 40
		g.mu.Unlock()
		h.m.Observe("web", id, refused)
		h.m.Observe("web", id, refused)
		if got := h.health(t, "web", id).Passive; !strings.Contains(got, "ejected for 30s") {
			t.Fatalf("Passive = %q, want the 30s cap", got)
		}
		// Periodic checks during the ejection pass but do not end it.
		n := g.checksOf(id)
		h.clock.Advance(s.Interval)
		h.waitChecks(t, "web", id, n+1)
		if th := h.health(t, "web", id); th.State != StateUnhealthy || th.Passive == "" || h.routable(t, "web", id) {
			t.Fatalf("after a periodic pass during ejection: %s, passive %q; want still ejected", th.State, th.Passive)
		}
		h.clock.Advance(20 * time.Second) // 30s since the ejection
		h.settle(t, "the target routable once the ejection ended", func() bool { return h.routable(t, "web", id) })
		if th := h.health(t, "web", id); th.State != StateHealthy {
			t.Errorf("after the ejection: %s, want healthy", th.State)
		}
	})
}

func TestEjectionAcrossUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, b, s := healthyGroup(t, 2, nil)
		h.m.Observe("web", "i-0", refused)
		h.m.Observe("web", "i-0", refused)
		ejected := h.health(t, "web", "i-0")
		h.m.Update(oneGroup(s, targetsOn(b.addr, 2)...))
		if th := h.health(t, "web", "i-0"); th != ejected || h.routable(t, "web", "i-0") {
			t.Errorf("after a reload: %+v, routable %v\nwant still ejected: %+v", th, h.routable(t, "web", "i-0"), ejected)
		}
		ts := targetsOn(b.addr, 2)
		ts[0].Draining = true
		h.m.Update(oneGroup(s, ts...))
		g := h.group("web")
		g.mu.Lock()
		count := g.ejected
		g.mu.Unlock()
		if th := h.health(t, "web", "i-0"); th.State != StateDraining || th.Passive != "" || count != 0 {
			t.Errorf("draining ejected target: %s, passive %q, group ejected count %d; want draining, 0", th.State, th.Passive, count)
		}
	})
}

func TestObserveDoesNotAllocate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, _, _ := healthyGroup(t, 4, nil)
		tests := []struct {
			name string
			o    Outcome
		}{
			{"success", status(200)},
			{"abandoned", abandon},
			{"5xx below the threshold", status(500)},
			{"unknown target", status(200)},
		}
		for _, tc := range tests {
			id := "i-1"
			if tc.name == "unknown target" {
				id = "nobody"
			}
			allocs := testing.AllocsPerRun(1000, func() {
				h.m.Observe("web", id, tc.o)
				h.m.Observe("web", id, status(200)) // keep below the threshold
			})
			if allocs != 0 {
				t.Errorf("%s: Observe allocates %v times per call pair, want 0", tc.name, allocs)
			}
		}
	})
}

func BenchmarkObserve(b *testing.B) {
	m := New(Options{Clock: newFakeClock(), Checker: passChecker{}})
	defer m.Close()
	var ts []Target
	for i := range 16 {
		ts = append(ts, Target{ID: "i-" + strconv.Itoa(i), Addr: "127.0.0.1:" + strconv.Itoa(10000+i)})
	}
	m.Update(oneGroup(testSettings(), ts...))
	deadline := time.Now().Add(5 * time.Second)
	for !allHealthy(m.Health("web")) {
		if time.Now().After(deadline) {
			b.Fatalf("targets not healthy: %+v", m.Health("web"))
		}
		time.Sleep(time.Millisecond)
	}
	b.Run("success", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.Observe("web", ts[i&15].ID, Outcome{Status: 200})
		}
	})
	b.Run("success-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				m.Observe("web", ts[i&15].ID, Outcome{Status: 200})
				i++
			}
		})
	})
	b.Run("5xx-then-success", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			o := Outcome{Status: 200}
			if i%2 == 0 {
				o.Status = 503
			}
			m.Observe("web", ts[i&15].ID, o)
		}
	})
}

func allHealthy(hs []TargetHealth) bool {
	for _, th := range hs {
		if th.State != StateHealthy {
			return false
		}
	}
	return len(hs) > 0
}

// passChecker passes every check without touching the network.
type passChecker struct{}

func (passChecker) Check(context.Context, Settings, string) Result {
	return Result{OK: true, Status: 200, Description: "passed"}
}

var _ Checker = passChecker{}
