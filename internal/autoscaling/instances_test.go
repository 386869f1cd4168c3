package autoscaling

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/metric"
)

func TestDesiredAfter(t *testing.T) {
	for _, tc := range []struct {
		name          string
		min, max, d   int
		delta         int
		want          int
		wantErrSubstr string
	}{
		{name: "standby with decrement", min: 1, max: 4, d: 3, delta: -1, want: 2},
		{name: "decrement below min", min: 2, max: 4, d: 2, delta: -1, wantErrSubstr: "below the group's min size of 2"},
		{name: "exit standby", min: 1, max: 4, d: 3, delta: 1, want: 4},
		{name: "exit standby above max", min: 1, max: 3, d: 3, delta: 1, wantErrSubstr: "above the group's max size of 3"},
		{name: "attach two", min: 0, max: 4, d: 1, delta: 2, want: 3},
		{name: "attach above max", min: 0, max: 2, d: 1, delta: 2, wantErrSubstr: "from 1 to 3, above the group's max size of 2"},
		{name: "detach to zero", min: 0, max: 2, d: 1, delta: -1, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := desiredAfter("web", &Capacity{Min: tc.min, Max: tc.max, Desired: tc.d}, tc.delta, "moving")
			if tc.wantErrSubstr != "" {
				if fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), tc.wantErrSubstr) {
					t.Fatalf("err = %v, want Invalid %q", err, tc.wantErrSubstr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("desiredAfter = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestStandbyIsNotCounted(t *testing.T) {
	for _, tc := range []struct {
		lifecycle string
		counted   bool
	}{
		{InService, true}, {Pending, true}, {EnteringStandby, false}, {Standby, false}, {Detaching, false}, {Terminating, false},
	} {
		t.Run(tc.lifecycle, func(t *testing.T) {
			if got := counts(&Member{Lifecycle: tc.lifecycle, Health: HealthHealthy}); got != tc.counted {
				t.Fatalf("counts(%s) = %v, want %v", tc.lifecycle, got, tc.counted)
			}
		})
	}
}

func TestEnterAndExitStandby(t *testing.T) {
	for _, tc := range []struct {
		name             string
		decrement        bool
		wantDesired      int
		wantReplacements int
	}{
		{"decrement", true, 1, 0},
		{"keep desired: a replacement launches", false, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.lb.instantDrain = false
				spec := basic("web", 0, 3)
				spec.DesiredCapacity = ip(2)
				h.apply(spec)
				h.wait(time.Second)
				id := h.group("web").Instances[0].InstanceID
				as, err := h.svc.EnterStandby(context.Background(), "web", []string{id}, tc.decrement)
				if err != nil {
					t.Fatal(err)
				}
				if len(as) != 1 || as[0].Description != "Moving EC2 instance to Standby: "+id || !strings.Contains(as[0].Cause, "was moved to standby in response to a user request") {
					t.Fatalf("activities %+v", as)
				}
				h.wait(time.Second)
				if lc := h.lifecycle("web", id); lc != EnteringStandby {
					t.Fatalf("while draining: %s, want EnteringStandby", lc)
				}
				if !slices.Contains(h.lb.callLog(), "deregister "+id+" tg") {
					t.Fatalf("not deregistered: %v", h.lb.callLog())
				}
				h.lb.drained("tg", id)
				h.wait(time.Second)
				g := h.group("web")
				if lc := h.lifecycle("web", id); lc != Standby {
					t.Fatalf("after draining: %s, want Standby", lc)
				}
				if g.DesiredCapacity != tc.wantDesired || g.InService != tc.wantDesired || g.Standby != 1 {
					t.Fatalf("desired %d, InService %d, Standby %d; want %d, %d, 1", g.DesiredCapacity, g.InService, g.Standby, tc.wantDesired, tc.wantDesired)
				}
				if n := len(g.Instances); n != 2+tc.wantReplacements {
					for _, a := range h.activities("web") {
						t.Logf("%s %s %s %s", a.Description, a.StatusCode, a.StatusMessage, a.Cause)
					}
					t.Logf("%v %v", h.compute.callLog(), h.lb.callLog())
					t.Fatalf("%d instances, want %d", n, 2+tc.wantReplacements)
				}
				if slices.Contains(h.compute.callLog(), "stop "+id) || slices.Contains(h.compute.callLog(), "terminate "+id) {
					t.Fatalf("a Standby instance must keep running: %v", h.compute.callLog())
				}
				// Not health-checked while in Standby.
				h.compute.set(id, func(in *compute.Instance) { in.Detail = "errored" })
				h.wait(time.Second)
				if lc := h.lifecycle("web", id); lc != Standby {
					t.Fatalf("health-checked in Standby: %s", lc)
				}
				h.compute.set(id, func(in *compute.Instance) { in.Detail = "" })
				// The controller sees the instance well again before it
				// leaves Standby (and is health-checked once more).
				h.wait(time.Second)

				if tc.decrement {
					if _, err := h.svc.ExitStandby(context.Background(), "web", []string{id}); err != nil {
						t.Fatal(err)
					}
					h.wait(time.Second)
					g = h.group("web")
					if lc := h.lifecycle("web", id); lc != InService || g.DesiredCapacity != 2 || g.InService != 2 {
						for _, a := range h.activities("web") {
							t.Logf("%s %s %s %s", a.Description, a.StatusCode, a.StatusMessage, a.Cause)
						}
						t.Fatalf("after ExitStandby: %s, desired %d, InService %d", lc, g.DesiredCapacity, g.InService)
					}
					if calls := h.lb.callLog(); calls[len(calls)-1] != "register "+id+" tg" {
						t.Fatalf("not registered again: %v", calls)
					}
					a := h.activities("web")[0]
					if a.Description != "Moving EC2 instance out of Standby: "+id || a.StatusCode != StatusSuccessful ||
						!strings.Contains(a.Cause, "was moved out of standby in response to a user request, increasing the capacity from 1 to 2.") {
						t.Fatalf("newest activity %+v", a)
					}
				} else {
					// desired 2 + 1 = 3 ≤ max 3: allowed; then 4 is not.
					if _, err := h.svc.ExitStandby(context.Background(), "web", []string{id}); err != nil {
						t.Fatal(err)
					}
					h.wait(time.Second)
					if g := h.group("web"); g.DesiredCapacity != 3 || g.InService != 3 {
						for _, a := range h.activities("web") {
							t.Logf("%s %s %s %s", a.Description, a.StatusCode, a.StatusMessage, a.Cause)
						}
						t.Logf("states %v; %v %v", h.states("web"), h.compute.callLog(), h.lb.callLog())
						t.Fatalf("after ExitStandby: desired %d, InService %d", g.DesiredCapacity, g.InService)
					}
				}
			})
		})
	}
}

func TestStandbyErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 2)
		h.apply(spec)
		h.wait(time.Second)
		id := h.group("web").Instances[0].InstanceID
		for _, tc := range []struct {
			name string
			call func() error
			msg  string
		}{
			{"decrement below min", func() error {
				_, err := h.svc.EnterStandby(context.Background(), "web", []string{id}, true)
				return err
			}, "below the group's min size of 1"},
			{"not a member", func() error {
				_, err := h.svc.EnterStandby(context.Background(), "web", []string{"i-nope"}, false)
				return err
			}, "The instance i-nope is not part of Auto Scaling group web."},
			{"exit when InService", func() error { _, err := h.svc.ExitStandby(context.Background(), "web", []string{id}); return err }, "is not in Standby (it is InService)"},
			{"no ids", func() error { _, err := h.svc.EnterStandby(context.Background(), "web", nil, false); return err }, "InstanceIds is empty"},
			{"twice", func() error {
				_, err := h.svc.EnterStandby(context.Background(), "web", []string{id, id}, false)
				return err
			}, "lists " + id + " twice"},
		} {
			if err := tc.call(); fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s: err = %v, want Invalid %q", tc.name, err, tc.msg)
			}
		}
		if g := h.group("web"); g.DesiredCapacity != 1 || g.Standby != 0 || g.InService != 1 {
			t.Fatalf("refused calls changed the group: %+v", g)
		}
	})
}

func TestSetInstanceProtectionBlocksScaleIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 0, 3)
		spec.DesiredCapacity = ip(3)
		h.apply(spec)
		h.wait(time.Second)
		var ids []string
		for _, in := range h.group("web").Instances {
			ids = append(ids, in.InstanceID)
		}
		if err := h.svc.SetInstanceProtection(context.Background(), "web", ids[:2], true); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.SetDesired(context.Background(), "web", 0, false); err != nil {
			t.Fatal(err)
		}
		h.wait(2 * time.Second)
		g := h.group("web")
		if len(g.Instances) != 2 || !slices.Contains(h.compute.callLog(), "terminate "+ids[2]) {
			t.Fatalf("want only the unprotected %s terminated: %+v", ids[2], g.Instances)
		}
		var blocked []Activity
		for _, a := range h.activities("web") {
			if a.StatusMessage == scaleInProtectedMessage {
				blocked = append(blocked, a)
			}
		}
		if len(blocked) != 1 || blocked[0].StatusCode != StatusFailed {
			t.Fatalf("want one failed activity saying why: %+v", blocked)
		}
		if err := h.svc.SetInstanceProtection(context.Background(), "web", ids[:1], false); err != nil {
			t.Fatal(err)
		}
		h.wait(2 * time.Second)
		if g := h.group("web"); len(g.Instances) != 1 || g.Instances[0].InstanceID != ids[1] || !g.Instances[0].Protected {
			t.Fatalf("after unprotecting %s: %+v", ids[0], g.Instances)
		}
		if err := h.svc.SetInstanceProtection(context.Background(), "web", []string{"i-nope"}, true); !strings.Contains(errString(err), "is not part of Auto Scaling group web") {
			t.Fatalf("err = %v", err)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestAttachAndDetachInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.lb.instantDrain = false
		h.apply(basic("web", 0, 2))
		h.wait(time.Second)
		// An instance launched on its own (RunInstances).
		ins, err := h.compute.Run(context.Background(), compute.RunRequest{LaunchTemplate: "lt", Count: 2, Zone: "local-1a"})
		if err != nil {
			t.Fatal(err)
		}
		free, other := ins[0].ID, ins[1].ID
		if _, err := h.svc.AttachInstances(context.Background(), "web", []string{free}); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		g := h.group("web")
		if g.DesiredCapacity != 1 || g.InService != 1 || h.lifecycle("web", free) != InService {
			t.Fatalf("after attach: %+v", g)
		}
		if !slices.Contains(h.lb.callLog(), "register "+free+" tg") {
			t.Fatalf("not registered: %v", h.lb.callLog())
		}
		// desired 1 + 2 > max 2.
		third, _ := h.compute.Run(context.Background(), compute.RunRequest{LaunchTemplate: "lt", Count: 1, Zone: "local-1a"})
		if _, err := h.svc.AttachInstances(context.Background(), "web", []string{other, third[0].ID}); fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), "above the group's max size of 2") {
			t.Fatalf("attach above max: %v", err)
		}
		if _, err := h.svc.AttachInstances(context.Background(), "web", []string{free}); err == nil || !strings.Contains(err.Error(), "already part of Auto Scaling group web") {
			t.Fatalf("attach twice: %v", err)
		}
		// Detach with decrement: deregistered, drained, left running.
		if _, err := h.svc.DetachInstances(context.Background(), "web", []string{free}, true); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		if lc := h.lifecycle("web", free); lc != Detaching {
			t.Fatalf("while draining: %q, want Detaching", lc)
		}
		h.lb.drained("tg", free)
		h.wait(time.Second)
		g = h.group("web")
		if g.DesiredCapacity != 0 || len(g.Instances) != 0 {
			t.Fatalf("after detach: %+v", g)
		}
		if slices.Contains(h.compute.callLog(), "terminate "+free) {
			t.Fatal("a detached instance must keep running")
		}
		a := h.activities("web")[0]
		if a.Description != "Detaching EC2 instance: "+free || !strings.Contains(a.Cause, "shrinking the capacity from 1 to 0.") {
			t.Fatalf("newest activity %+v", a)
		}
	})
}

func TestDetachedInstanceIsNotAdoptedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(basic("web", 1, 2))
		h.wait(time.Second)
		id := h.group("web").Instances[0].InstanceID
		if _, err := h.svc.DetachInstances(context.Background(), "web", []string{id}, false); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		// The controller restarts: the instance is still the group's by
		// its record, but detached.
		h.svc.Close()
		h.start()
		h.wait(time.Second)
		g := h.group("web")
		if len(g.Instances) != 1 || g.Instances[0].InstanceID == id || g.DesiredCapacity != 1 {
			t.Fatalf("want one replacement and %s left out: %+v", id, g.Instances)
		}
	})
}

func TestMetricValuesPerState(t *testing.T) {
	members := func(lcs ...string) []*Member {
		var out []*Member
		for _, lc := range lcs {
			out = append(out, &Member{Lifecycle: lc, Health: HealthHealthy})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		ms       []*Member
		inflight int
		pool     bool
		want     map[string]float64
		absent   []string
	}{
		{name: "in service and pending", ms: members(InService, InService, PendingProceed), inflight: 1,
			want: map[string]float64{MetricGroupInServiceInstances: 2, MetricGroupPendingInstances: 2, MetricGroupTotalInstances: 4,
				MetricGroupInServiceCapacity: 2, MetricGroupTotalCapacity: 4, MetricGroupDesiredCapacity: 3, MetricGroupMinSize: 1, MetricGroupMaxSize: 6},
			absent: []string{MetricWarmPoolDesiredCapacity}},
		{name: "standby is not in the total", ms: members(InService, Standby, EnteringStandby),
			want: map[string]float64{MetricGroupStandbyInstances: 2, MetricGroupStandbyCapacity: 2, MetricGroupTotalInstances: 1}},
		{name: "terminating and detaching", ms: members(InService, Terminating, TerminatingWait, Detaching),
			want: map[string]float64{MetricGroupTerminatingInstances: 3, MetricGroupTotalInstances: 4, MetricGroupTerminatingCapacity: 3}},
		{name: "warm pool", ms: members(InService, WarmedStopped, WarmedRunning, WarmedPending, WarmedTerminating), pool: true,
			want: map[string]float64{MetricWarmPoolWarmedCapacity: 2, MetricWarmPoolPendingCapacity: 1, MetricWarmPoolTerminatingCapacity: 1,
				MetricWarmPoolTotalCapacity: 4, MetricWarmPoolDesiredCapacity: 3, MetricWarmPoolMinSize: 1,
				MetricGroupAndWarmPoolDesiredCapacity: 6, MetricGroupAndWarmPoolTotalCapacity: 5, MetricGroupTotalInstances: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := metricValues(1, 6, 3, countMembers(tc.ms, tc.inflight, 0), tc.pool, 1, 3)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s present without a warm pool", k)
				}
			}
		})
	}
}

func TestMetricsCollectionSpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec MetricsCollectionSpec
		want string
	}{
		{"default granularity, all metrics", MetricsCollectionSpec{}, ""},
		{"bad granularity", MetricsCollectionSpec{Granularity: "5Minute"}, "metricsCollection.granularity"},
		{"unknown metric", MetricsCollectionSpec{Metrics: []string{"GroupDesiredCapacity", "GroupDesired"}}, "metricsCollection.metrics[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := basic("web", 1, 2)
			spec.MetricsCollection = &tc.spec
			spec.ApplyDefaults()
			errs := spec.Validate()
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatalf("errors %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs.Error(), tc.want) {
				t.Fatalf("errors %v, want one at %s", errs, tc.want)
			}
		})
	}
}

func TestMetricsCollectionPublishesEveryMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 4)
		spec.DesiredCapacity = ip(2)
		spec.MetricsCollection = &MetricsCollectionSpec{Metrics: []string{MetricGroupDesiredCapacity, MetricGroupInServiceInstances}}
		h.apply(spec)
		h.wait(90 * time.Second)
		byName := map[string][]float64{}
		for _, d := range h.metrics.published() {
			if d.Namespace != NamespaceAutoScaling || len(d.Dimensions) != 1 || d.Dimensions[0] != (metric.Dimension{Name: DimensionGroupName, Value: "web"}) {
				t.Fatalf("datum %+v", d)
			}
			byName[d.Name] = append(byName[d.Name], *d.Value)
		}
		if len(byName) != 2 || len(byName[MetricGroupDesiredCapacity]) != 2 {
			t.Fatalf("published %v: want 2 metrics, at once and a minute later", byName)
		}
		if v := byName[MetricGroupInServiceInstances]; v[len(v)-1] != 2 {
			t.Fatalf("GroupInServiceInstances %v, want 2 at last", v)
		}
		if g := h.group("web"); !slices.Equal(g.EnabledMetrics, []string{MetricGroupDesiredCapacity, MetricGroupInServiceInstances}) {
			t.Fatalf("enabled %v", g.EnabledMetrics)
		}
		// Disabled at run time: nothing more is published, and a restart
		// keeps it so.
		if err := h.svc.SetMetricsCollection(context.Background(), "web", false, "", nil); err != nil {
			t.Fatal(err)
		}
		n := len(h.metrics.published())
		h.svc.Close()
		h.start()
		h.wait(2 * time.Minute)
		if m := len(h.metrics.published()); m != n {
			t.Fatalf("%d data published after disabling", m-n)
		}
		if err := h.svc.SetMetricsCollection(context.Background(), "web", true, "5Minute", nil); fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), "1Minute") {
			t.Fatalf("5Minute: %v", err)
		}
		if err := h.svc.SetMetricsCollection(context.Background(), "web", true, Granularity1Minute, nil); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		if g := h.group("web"); len(g.EnabledMetrics) != len(GroupMetrics()) {
			t.Fatalf("enable with no metrics enables all: %v", g.EnabledMetrics)
		}
		var names []string
		for _, d := range h.metrics.published()[n:] {
			names = append(names, d.Name)
		}
		if slices.Contains(names, MetricWarmPoolDesiredCapacity) || !slices.Contains(names, MetricGroupTotalCapacity) {
			t.Fatalf("published %v: want group metrics without warm pool ones", names)
		}
	})
}

// lifecycle returns an instance's lifecycle state in a group ("" if it
// is not a member).
func (h *harness) lifecycle(group, id string) string {
	for _, in := range h.group(group).Instances {
		if in.InstanceID == id {
			return in.Lifecycle
		}
	}
	return ""
}

func TestMetricsCollectionFollowsTheStackOnlyWhenItChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 2)
		spec.MetricsCollection = &MetricsCollectionSpec{Metrics: []string{MetricGroupDesiredCapacity}}
		h.apply(spec)
		h.wait(time.Second)
		// Disabled at run time; an apply that leaves metricsCollection
		// alone keeps it disabled.
		if err := h.svc.SetMetricsCollection(context.Background(), "web", false, "", nil); err != nil {
			t.Fatal(err)
		}
		spec.Tags = map[string]string{"team": "web"}
		h.apply(spec)
		h.wait(time.Second)
		if got := h.group("web").EnabledMetrics; len(got) != 0 {
			t.Fatalf("an unrelated apply re-enabled %v", got)
		}
		// An apply that changes it sets it.
		spec.MetricsCollection = &MetricsCollectionSpec{Metrics: []string{MetricGroupDesiredCapacity, MetricGroupTotalInstances}}
		h.apply(spec)
		h.wait(time.Second)
		if got := h.group("web").EnabledMetrics; !slices.Equal(got, []string{MetricGroupDesiredCapacity, MetricGroupTotalInstances}) {
			t.Fatalf("after changing the stack: %v", got)
		}
		// Enabling more adds to the set, in AWS's order.
		if err := h.svc.SetMetricsCollection(context.Background(), "web", true, Granularity1Minute, []string{MetricGroupMinSize}); err != nil {
			t.Fatal(err)
		}
		if got := h.group("web").EnabledMetrics; !slices.Equal(got, []string{MetricGroupMinSize, MetricGroupDesiredCapacity, MetricGroupTotalInstances}) {
			t.Fatalf("after enabling one more: %v", got)
		}
		// Removing the stack's field turns it off.
		spec.MetricsCollection = nil
		h.apply(spec)
		h.wait(time.Second)
		if got := h.group("web").EnabledMetrics; len(got) != 0 {
			t.Fatalf("after removing metricsCollection: %v", got)
		}
	})
}

func TestStandbySurvivesARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 0, 2)
		spec.DesiredCapacity = ip(2)
		h.apply(spec)
		h.wait(time.Second)
		id := h.group("web").Instances[0].InstanceID
		if _, err := h.svc.EnterStandby(context.Background(), "web", []string{id}, true); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		h.svc.Close()
		h.start()
		h.wait(time.Second)
		g := h.group("web")
		if h.lifecycle("web", id) != Standby || g.DesiredCapacity != 1 || g.InService != 1 || len(g.Instances) != 2 {
			t.Fatalf("after a restart: %+v", g)
		}
	})
}
