package autoscaling

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

// requestsGroup is a group of 2 to 6 behind tg, tracking 600 requests per
// target per minute (10 a second per target: 20 a second on 2 targets;
// more than 22 leaves the tolerance).
func requestsGroup() GroupSpec {
	spec := basic("web", 2, 6)
	spec.ScalingPolicies = []PolicySpec{{Name: "requests", TargetTrackingConfiguration: &TargetTrackingSpec{
		PredefinedMetricSpecification: &PredefinedMetricSpec{PredefinedMetricType: "ALBRequestCountPerTarget"}, TargetValue: 600}}}
	return spec
}

// untilSecond sleeps until offset past the next second's boundary.
func untilSecond(offset time.Duration) {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second + offset).Sub(now))
}

// TestPartialSecondScalesOut: requests that breach the target before the
// second ends scale the group out at the next read of the counters (every
// 200 ms, the first at 200 ms into the second here), not after the
// collector's next second.
func TestPartialSecondScalesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(requestsGroup())
		h.wait(2 * time.Second)
		untilSecond(350 * time.Millisecond)
		start := time.Now()
		h.lb.addRequests("tg", 30) // 900 per target per minute: 3 instances
		h.wait(100 * time.Millisecond)
		g := h.group("web")
		if g.DesiredCapacity != 3 {
			t.Fatalf("desired %d %v after the breach, want 3", g.DesiredCapacity, time.Since(start))
		}
		h.wait(time.Second)
		if g := h.group("web"); g.InService != 3 {
			t.Errorf("%d InService, want 3", g.InService)
		}
		want := "a monitor alarm TargetTracking-requests-AlarmHigh in state ALARM triggered policy requests changing the desired capacity from 2 to 3."
		if as := h.activities("web"); !slices.ContainsFunc(as, func(a Activity) bool { return strings.Contains(a.Cause, want) }) {
			t.Errorf("no activity has the cause %q: %+v", want, as)
		}
	})
}

// TestPartialSecondHolds: the second so far decides only when its
// requests alone breach the target.
func TestPartialSecondHolds(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func(*GroupSpec)
		pre  func(h *harness) // before the group exists
		load func(h *harness) // from 350 ms into a second
	}{
		{name: "within the tolerance", load: func(h *harness) { h.lb.addRequests("tg", 22) }},
		{name: "breaching only when extrapolated", load: func(h *harness) {
			// 15 in 50 ms would be 300 a second, but 15 are 450 per
			// target per minute.
			h.lb.addRequests("tg", 15)
		}},
		{name: "split over two seconds", load: func(h *harness) {
			untilSecond(-100 * time.Millisecond)
			h.lb.addRequests("tg", 15)
			untilSecond(300 * time.Millisecond)
			h.lb.addRequests("tg", 15)
		}},
		{name: "the counters restart", pre: func(h *harness) { h.lb.addRequests("tg", 100) },
			load: func(h *harness) { h.lb.restart("2", "tg", 130) }}, // not 30 more
		{name: "policy disabled", spec: func(g *GroupSpec) { off := false; g.ScalingPolicies[0].Enabled = &off },
			load: func(h *harness) { h.lb.addRequests("tg", 100) }},
		{name: "another target group", load: func(h *harness) { h.lb.addRequests("other", 100) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				spec := requestsGroup()
				if tc.spec != nil {
					tc.spec(&spec)
				}
				if tc.pre != nil {
					tc.pre(h)
				}
				h.apply(spec)
				h.wait(2 * time.Second)
				untilSecond(350 * time.Millisecond)
				tc.load(h)
				// Up to the full-second round of the next second, which
				// reads the (fake, empty) collected metric.
				untilSecond(100 * time.Millisecond)
				if g := h.group("web"); g.DesiredCapacity != 2 {
					t.Fatalf("desired %d, want 2", g.DesiredCapacity)
				}
			})
		})
	}
}

// TestPartialSecondNeverScalesIn: a second with few requests so far does
// not scale in, though the same value over a full second would.
func TestPartialSecondNeverScalesIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := requestsGroup()
		spec.ScalingPolicies[0].TargetTrackingConfiguration.ScaleInStabilizationSeconds = ip(1)
		h.apply(spec)
		if err := h.svc.SetDesired(context.Background(), "web", 4, false); err != nil {
			t.Fatal(err)
		}
		// 40 requests a second over 4 targets: on target, for the full
		// seconds; every second so far holds fewer.
		h.metrics.set(metric.ID{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: []metric.Dimension{{Name: "TargetGroup", Value: "tg"}}}, 40)
		for range 50 {
			h.lb.addRequests("tg", 4)
			h.wait(100 * time.Millisecond)
		}
		if g := h.group("web"); g.DesiredCapacity != 4 || g.InService != 4 {
			t.Fatalf("desired %d, %d InService; want 4, 4", g.DesiredCapacity, g.InService)
		}
	})
}

// TestPartialSecondWarmup: an instance still warming up counts toward the
// capacity, so the same requests do not scale out twice; more requests in
// the same second add what the rule wants beyond it (target tracking has
// no cooldown).
func TestPartialSecondWarmup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(requestsGroup())
		h.wait(2 * time.Second)
		h.compute.mu.Lock()
		h.compute.hold = true // new instances stay pending
		h.compute.mu.Unlock()
		untilSecond(350 * time.Millisecond)
		h.lb.addRequests("tg", 30) // 900 per target per minute: 3 instances
		h.wait(100 * time.Millisecond)
		if g := h.group("web"); g.DesiredCapacity != 3 {
			t.Fatalf("desired %d after the breach, want 3", g.DesiredCapacity)
		}
		h.wait(300 * time.Millisecond)
		if g := h.group("web"); g.DesiredCapacity != 3 || g.InService != 2 {
			t.Fatalf("desired %d, %d InService with the same requests; want 3, 2: the warming instance counts", g.DesiredCapacity, g.InService)
		}
		h.lb.addRequests("tg", 15) // 45: 1350, 2 × 2.25 rounds up to 5
		h.wait(100 * time.Millisecond)
		if g := h.group("web"); g.DesiredCapacity != 5 {
			t.Fatalf("desired %d after more requests, want 5", g.DesiredCapacity)
		}
	})
}
