package autoscaling

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/metric"
)

func TestLaunchesToDesiredBalancedAcrossZones(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(basic("web", 3, 6))
		h.wait(time.Second)
		g := h.group("web")
		if g.InService != 3 || g.DesiredCapacity != 3 {
			t.Fatalf("in service %d, desired %d; want 3, 3: %+v", g.InService, g.DesiredCapacity, g.Instances)
		}
		zones := map[string]int{}
		for _, in := range g.Instances {
			zones[in.Zone]++
			if !slices.Equal(in.TargetGroups, []string{"tg"}) {
				t.Errorf("%s registered in %v, want [tg]", in.InstanceID, in.TargetGroups)
			}
		}
		if zones["local-1a"]+zones["local-1b"] != 3 || zones["local-1a"] < 1 || zones["local-1b"] < 1 {
			t.Errorf("zones %v, want 2+1 over local-1a and local-1b", zones)
		}
		as := h.activities("web")
		if len(as) != 3 {
			t.Fatalf("%d activities, want 3: %+v", len(as), as)
		}
		for _, a := range as {
			if a.StatusCode != StatusSuccessful || !strings.HasPrefix(a.Description, "Launching a new EC2 instance: i-") ||
				!strings.Contains(a.Cause, "a user request created an AutoScalingGroup changing the desired capacity from 0 to 3.") ||
				!strings.Contains(a.Cause, "an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 3.") {
				t.Errorf("activity %+v", a)
			}
		}
		for _, in := range h.compute.AllInstances() {
			if in.ManagedBy != ManagedBy || in.Tags["aws:autoscaling:groupName"] != "web" {
				t.Errorf("instance %s: managedBy %q, tags %v", in.ID, in.ManagedBy, in.Tags)
			}
		}
	})
}

func TestInServiceOnlyOnceHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.compute.hold = true
		h.apply(basic("web", 1, 2))
		h.wait(time.Second)
		if got := h.states("web"); !slices.Equal(got, []string{Pending}) {
			t.Fatalf("pending instance: states %v, want [Pending]", got)
		}
		id := h.group("web").Instances[0].InstanceID
		h.lb.setHealth(id, "initial")
		h.compute.set(id, func(in *compute.Instance) { in.State = compute.StateRunning })
		h.wait(time.Second)
		if got := h.states("web"); !slices.Equal(got, []string{PendingProceed}) {
			t.Fatalf("initial in the target group: states %v, want [Pending:Proceed]", got)
		}
		h.lb.setHealth(id, "healthy")
		h.wait(200 * time.Millisecond)
		if got := h.states("web"); !slices.Equal(got, []string{InService}) {
			t.Fatalf("healthy: states %v, want [InService]", got)
		}
	})
}

func TestUnhealthyReplacedAfterGracePeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 2)
		spec.HealthCheckType, spec.HealthCheckGracePeriod = HealthCheckELB, ip(30)
		h.apply(spec)
		h.wait(time.Second)
		old := h.group("web").Instances[0].InstanceID
		h.lb.setHealth(old, "unhealthy")
		h.wait(10 * time.Second)
		if g := h.group("web"); len(g.Instances) != 1 || g.Instances[0].InstanceID != old {
			t.Fatalf("within the grace period the instance must stay: %+v", g.Instances)
		}
		h.wait(25 * time.Second)
		g := h.group("web")
		if len(g.Instances) != 1 || g.Instances[0].InstanceID == old || g.InService != 1 {
			t.Fatalf("after the grace period: %+v, want one new InService instance", g.Instances)
		}
		calls := h.compute.callLog()
		if !slices.Contains(calls, "terminate "+old) {
			t.Errorf("compute calls %v: %s not terminated", calls, old)
		}
		var term *Activity
		for _, a := range h.activities("web") {
			if a.Description == "Terminating EC2 instance: "+old {
				term = &a
			}
		}
		if term == nil || !strings.Contains(term.Cause, "in response to a health check: ELB system health check failure in target group tg") {
			t.Fatalf("termination activity %+v", term)
		}
	})
}

func TestEC2HealthCheckReplacesErroredAndStoppedInstances(t *testing.T) {
	for _, tc := range []struct {
		name   string
		breaks func(*compute.Instance)
		want   string
	}{
		{"errored", func(in *compute.Instance) { in.Detail, in.StateReason = "errored", "exited 15 times" }, "its process errored: exited 15 times"},
		{"stopped by hand", func(in *compute.Instance) { in.Desired, in.State = compute.StateStopped, compute.StateStopped }, "it was stopped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.apply(basic("web", 2, 2))
				h.wait(time.Second)
				victim := h.group("web").Instances[0].InstanceID
				h.compute.set(victim, tc.breaks)
				h.wait(time.Second)
				g := h.group("web")
				if g.InService != 2 || slices.ContainsFunc(g.Instances, func(i InstanceView) bool { return i.InstanceID == victim }) {
					t.Fatalf("%+v: want 2 InService without %s", g.Instances, victim)
				}
				found := false
				for _, a := range h.activities("web") {
					found = found || strings.Contains(a.Cause, tc.want)
				}
				if !found {
					t.Errorf("no activity names %q", tc.want)
				}
			})
		})
	}
}

func TestTerminatedOutsideTheGroupIsReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(basic("web", 1, 1))
		h.wait(time.Second)
		victim := h.group("web").Instances[0].InstanceID
		_ = h.compute.Terminate(context.Background(), victim)
		h.wait(time.Second)
		g := h.group("web")
		if g.InService != 1 || g.Instances[0].InstanceID == victim {
			t.Fatalf("%+v", g.Instances)
		}
		as := h.activities("web")
		if !slices.ContainsFunc(as, func(a Activity) bool {
			return strings.Contains(a.Cause, "an EC2 health check indicating it has been terminated or stopped")
		}) {
			t.Errorf("activities %+v", as)
		}
	})
}

func TestScaleInDeregistersDrainsThenTerminates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.lb.instantDrain = false
		h.apply(basic("web", 1, 3))
		if err := h.svc.SetDesired(context.Background(), "web", 3, false); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		if g := h.group("web"); g.InService != 3 {
			t.Fatalf("%d in service, want 3", g.InService)
		}
		if err := h.svc.SetDesired(context.Background(), "web", 2, false); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		var victim string
		for _, in := range h.group("web").Instances {
			if in.Lifecycle == Terminating {
				victim = in.InstanceID
			}
		}
		if victim == "" {
			t.Fatalf("no instance terminating: %v", h.states("web"))
		}
		if !slices.Contains(h.lb.callLog(), "deregister "+victim+" tg") {
			t.Fatalf("not deregistered: %v", h.lb.callLog())
		}
		h.wait(5 * time.Second)
		if slices.Contains(h.compute.callLog(), "terminate "+victim) {
			t.Fatal("terminated while still draining")
		}
		h.lb.drained("tg", victim)
		h.wait(time.Second)
		if !slices.Contains(h.compute.callLog(), "terminate "+victim) {
			t.Fatal("not terminated after draining")
		}
		if got := h.states("web"); !slices.Equal(got, []string{InService, InService}) {
			t.Fatalf("states %v", got)
		}
		a := h.activities("web")[0]
		if a.Description != "Terminating EC2 instance: "+victim || a.StatusCode != StatusSuccessful ||
			!strings.Contains(a.Cause, "a user request explicitly set group desired capacity changing the desired capacity from 3 to 2.") ||
			!strings.Contains(a.Cause, "shrinking the capacity from 3 to 2.") {
			t.Errorf("newest activity %+v", a)
		}
	})
}

func TestTerminationPolicyChoosesVictim(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   int // index by launch order
	}{
		{"OldestInstance", 0},
		{"NewestInstance", 2},
		{"OldestLaunchTemplate", 0},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				spec := basic("web", 1, 3)
				spec.AvailabilityZones = []string{"local-1a"}
				spec.TerminationPolicies = []string{tc.policy}
				spec.Version = "1"
				h.apply(spec)
				h.wait(time.Second)
				for n := 2; n <= 3; n++ {
					if n == 3 {
						spec.Version = "2" // the newest runs the current version
						h.apply(spec)
					}
					if err := h.svc.SetDesired(context.Background(), "web", n, false); err != nil {
						t.Fatal(err)
					}
					h.wait(time.Second)
				}
				var order []string
				for _, in := range h.group("web").Instances {
					order = append(order, in.InstanceID)
				}
				if len(order) != 3 {
					t.Fatalf("instances %v", order)
				}
				if err := h.svc.SetDesired(context.Background(), "web", 2, false); err != nil {
					t.Fatal(err)
				}
				h.wait(time.Second)
				if !slices.Contains(h.compute.callLog(), "terminate "+order[tc.want]) {
					t.Fatalf("calls %v, want %s terminated", h.compute.callLog(), order[tc.want])
				}
			})
		})
	}
}

func TestScaleInProtection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 0, 2)
		spec.DesiredCapacity = ip(2)
		spec.NewInstancesProtectedFromScaleIn = true
		h.apply(spec)
		h.wait(time.Second)
		if err := h.svc.SetDesired(context.Background(), "web", 0, false); err != nil {
			t.Fatal(err)
		}
		h.wait(2 * time.Second)
		if g := h.group("web"); g.InService != 2 {
			t.Fatalf("protected instances were scaled in: %+v", g.Instances)
		}
	})
}

func TestSetDesiredErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(basic("web", 1, 3))
		h.wait(time.Second)
		for _, tc := range []struct {
			name  string
			group string
			n     int
			code  fault.Code
			msg   string
		}{
			{"above max", "web", 4, fault.Invalid, "New SetDesiredCapacity value 4 is above max value 3 for the AutoScalingGroup."},
			{"below min", "web", 0, fault.Invalid, "New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup."},
			{"unknown group", "nope", 1, fault.NotFound, `Auto Scaling group "nope" does not exist`},
		} {
			err := h.svc.SetDesired(context.Background(), tc.group, tc.n, false)
			if fault.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s: err = %v (%s), want %s %q", tc.name, err, fault.CodeOf(err), tc.code, tc.msg)
			}
		}
		if g := h.group("web"); g.DesiredCapacity != 1 {
			t.Fatalf("desired %d after refused changes", g.DesiredCapacity)
		}
	})
}

func TestApplyChangingSizesSetsDesired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 4)
		h.apply(spec)
		h.wait(time.Second)
		if err := h.svc.SetDesired(context.Background(), "web", 3, false); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		// An apply that does not touch the sizes keeps the runtime desired.
		spec.Tags = map[string]string{"team": "web"}
		h.apply(spec)
		h.wait(time.Second)
		if g := h.group("web"); g.DesiredCapacity != 3 {
			t.Fatalf("desired %d after an unrelated apply, want 3", g.DesiredCapacity)
		}
		// Lowering max below it clamps it.
		spec.MaxSize = ip(2)
		h.apply(spec)
		h.wait(2 * time.Second)
		if g := h.group("web"); g.DesiredCapacity != 2 || g.InService != 2 {
			t.Fatalf("desired %d, in service %d after max 2", g.DesiredCapacity, g.InService)
		}
	})
}

func TestScheduledActionSetsSizes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 2)
		at := time.Now().Add(5 * time.Second).UTC().Truncate(time.Second)
		spec.ScheduledActions = []ScheduledActionSpec{{Name: "peak", StartTime: at.Format(time.RFC3339), MaxSize: ip(5), DesiredCapacity: ip(4)}}
		h.apply(spec)
		h.wait(3 * time.Second)
		if g := h.group("web"); g.DesiredCapacity != 1 {
			t.Fatalf("desired %d before the action", g.DesiredCapacity)
		}
		h.wait(4 * time.Second)
		g := h.group("web")
		if g.DesiredCapacity != 4 || g.MaxSize != 5 || g.InService != 4 {
			t.Fatalf("after the action: desired %d, max %d, in service %d", g.DesiredCapacity, g.MaxSize, g.InService)
		}
		if !strings.Contains(h.activities("web")[0].Cause, "a scheduled action update of AutoScalingGroup constraints to min: 1, max: 5, desired: 4 changing the desired capacity from 1 to 4.") {
			t.Errorf("cause %q", h.activities("web")[0].Cause)
		}
	})
}

func cpuOf(id string) metric.ID {
	return metric.ID{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: []metric.Dimension{{Name: "InstanceId", Value: id}}}
}

func TestTargetTrackingOutFastInStable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 2, 8)
		spec.ScalingPolicies = []PolicySpec{{Name: "cpu", TargetTrackingConfiguration: &TargetTrackingSpec{
			PredefinedMetricSpecification: &PredefinedMetricSpec{PredefinedMetricType: "ASGAverageCPUUtilization"},
			TargetValue:                   50, ScaleInStabilizationSeconds: ip(60)}}}
		h.apply(spec)
		h.wait(time.Second)
		for _, in := range h.group("web").Instances {
			h.metrics.set(cpuOf(in.InstanceID), 100)
		}
		h.wait(2 * time.Second)
		g := h.group("web")
		if g.DesiredCapacity != 4 || g.InService != 4 {
			t.Fatalf("CPU 100 %% on 2 at target 50: desired %d, in service %d, want 4", g.DesiredCapacity, g.InService)
		}
		if c := h.activities("web")[0].Cause; !strings.Contains(c, "triggered policy cpu changing the desired capacity from 2 to 4.") {
			t.Errorf("cause %q", c)
		}
		for _, in := range g.Instances {
			h.metrics.set(cpuOf(in.InstanceID), 52) // at target: within the tolerance
		}
		h.wait(5 * time.Second)
		if g := h.group("web"); g.DesiredCapacity != 4 {
			t.Fatalf("at target: desired %d, want 4", g.DesiredCapacity)
		}
		for _, in := range g.Instances {
			h.metrics.set(cpuOf(in.InstanceID), 10)
		}
		h.wait(30 * time.Second)
		if g := h.group("web"); g.DesiredCapacity != 4 {
			t.Fatalf("scaled in to %d within the 60 s stabilization window", g.DesiredCapacity)
		}
		h.wait(40 * time.Second)
		if g := h.group("web"); g.DesiredCapacity != 2 || g.InService != 2 {
			t.Fatalf("after the window: desired %d, in service %d, want 2 (the minimum)", g.DesiredCapacity, g.InService)
		}
	})
}

func TestWarmupHoldsScaleOutAndIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 10)
		spec.DefaultInstanceWarmup = ip(30)
		spec.ScalingPolicies = []PolicySpec{{Name: "cpu", TargetTrackingConfiguration: &TargetTrackingSpec{
			PredefinedMetricSpecification: &PredefinedMetricSpec{PredefinedMetricType: "ASGAverageCPUUtilization"}, TargetValue: 50}}}
		h.apply(spec)
		h.wait(31 * time.Second) // the first instance is warm
		first := h.group("web").Instances[0].InstanceID
		h.metrics.set(cpuOf(first), 100)
		h.wait(1500 * time.Millisecond)
		if g := h.group("web"); g.DesiredCapacity != 2 {
			t.Fatalf("desired %d, want 2", g.DesiredCapacity)
		}
		// Still 100 % on the warm instance: the new one warms up and is
		// already in the desired capacity, so nothing more is added.
		h.wait(5 * time.Second)
		if g := h.group("web"); g.DesiredCapacity != 2 {
			t.Fatalf("desired %d during warmup, want 2", g.DesiredCapacity)
		}
	})
}

func alarmIn(name string, st alarm.State, evaluated time.Time, value, threshold float64, actions ...string) cloudwatch.AlarmView {
	rd, _ := json.Marshal(map[string]any{"recentDatapoints": []float64{value}, "threshold": threshold})
	return cloudwatch.AlarmView{Name: name, Type: "MetricAlarm", Metric: &cloudwatch.AlarmSpec{Name: name, AlarmActions: actions},
		State: cloudwatch.AlarmState{Name: name, State: st, EvaluatedAt: evaluated, ReasonData: rd}}
}

func TestStepPolicyFromAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 10)
		lo0, lo20 := 0.0, 20.0
		spec.ScalingPolicies = []PolicySpec{{Name: "cpu-high", PolicyType: "StepScaling", StepAdjustments: []StepSpec{
			{MetricIntervalLowerBound: &lo0, MetricIntervalUpperBound: &lo20, ScalingAdjustment: 1},
			{MetricIntervalLowerBound: &lo20, ScalingAdjustment: 3},
		}}}
		h.apply(spec)
		h.wait(time.Second)
		h.alarms.set(alarmIn("high", alarm.Alarm, time.Now(), 95, 70, "autoscaling:web/cpu-high"))
		h.wait(1500 * time.Millisecond)
		g := h.group("web")
		if g.DesiredCapacity != 4 {
			t.Fatalf("breach of 25 over 70: desired %d, want 1+3", g.DesiredCapacity)
		}
		if c := h.activities("web")[0].Cause; !strings.Contains(c, "a monitor alarm high in state ALARM triggered policy cpu-high changing the desired capacity from 1 to 4.") {
			t.Errorf("cause %q", c)
		}
		// The same evaluation does not run the policy twice; an alarm back
		// in OK runs nothing.
		h.wait(3 * time.Second)
		h.alarms.set(alarmIn("high", alarm.OK, time.Now(), 10, 70, "autoscaling:web/cpu-high"))
		h.wait(2 * time.Second)
		if g := h.group("web"); g.DesiredCapacity != 4 {
			t.Fatalf("desired %d, want 4", g.DesiredCapacity)
		}
	})
}

func TestSimplePolicyCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 10)
		spec.ScalingPolicies = []PolicySpec{{Name: "add", PolicyType: "SimpleScaling", ScalingAdjustment: 2, Cooldown: ip(60)}}
		h.apply(spec)
		h.wait(time.Second)
		arn := PolicyARN("x", "web", "add")
		for i := range 5 { // an alarm evaluated every 10 s, staying in ALARM
			h.alarms.set(alarmIn("busy", alarm.Alarm, time.Now(), 1, 0, arn))
			h.wait(10 * time.Second)
			if i == 0 && h.group("web").DesiredCapacity != 3 {
				t.Fatalf("desired %d after the first alarm, want 3", h.group("web").DesiredCapacity)
			}
		}
		if g := h.group("web"); g.DesiredCapacity != 3 {
			t.Fatalf("desired %d within the cooldown, want 3", g.DesiredCapacity)
		}
		h.wait(20 * time.Second)
		h.alarms.set(alarmIn("busy", alarm.Alarm, time.Now(), 1, 0, arn))
		h.wait(2 * time.Second)
		if g := h.group("web"); g.DesiredCapacity != 5 {
			t.Fatalf("desired %d after the cooldown, want 5", g.DesiredCapacity)
		}
	})
}

func TestSeveralPoliciesLargestWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 10)
		spec.ScalingPolicies = []PolicySpec{
			{Name: "cpu", TargetTrackingConfiguration: &TargetTrackingSpec{
				PredefinedMetricSpecification: &PredefinedMetricSpec{PredefinedMetricType: "ASGAverageCPUUtilization"}, TargetValue: 50}},
			{Name: "big", PolicyType: "StepScaling", AdjustmentType: "ExactCapacity", StepAdjustments: []StepSpec{{MetricIntervalLowerBound: new(float64), ScalingAdjustment: 5}}},
		}
		h.apply(spec)
		h.wait(time.Second)
		h.metrics.set(cpuOf(h.group("web").Instances[0].InstanceID), 100) // tracking wants 2
		h.alarms.set(alarmIn("a", alarm.Alarm, time.Now(), 1, 0, "autoscaling:web/big"))
		h.wait(1500 * time.Millisecond)
		g := h.group("web")
		if g.DesiredCapacity != 5 {
			t.Fatalf("desired %d, want 5 (the larger of 2 and 5)", g.DesiredCapacity)
		}
		if c := h.activities("web")[0].Cause; !strings.Contains(c, "triggered policy big") {
			t.Errorf("cause %q names the wrong policy", c)
		}
	})
}

func TestLifecycleHooks(t *testing.T) {
	t.Run("command CONTINUE", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			spec := basic("web", 1, 1)
			spec.LifecycleHooks = []HookSpec{{Name: "warm", LifecycleTransition: TransitionLaunching, Command: "test -n \"$INSTANCE_ID\""}}
			h.apply(spec)
			waitFor(t, func() bool { return h.group("web").InService == 1 })
		})
	})
	t.Run("command ABANDON replaces", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			spec := basic("web", 1, 1)
			spec.LifecycleHooks = []HookSpec{{Name: "warm", LifecycleTransition: TransitionLaunching, Command: "exit 3"}}
			h.apply(spec)
			waitFor(t, func() bool {
				return slices.ContainsFunc(h.activities("web"), func(a Activity) bool { return strings.Contains(a.Cause, "lifecycle hook warm ended with ABANDON") })
			})
		})
	})
	t.Run("wait, complete, timeout default", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHarness(t)
			spec := basic("web", 1, 2)
			spec.LifecycleHooks = []HookSpec{{Name: "gate", LifecycleTransition: TransitionLaunching, HeartbeatTimeout: ip(60), DefaultResult: ResultContinue}}
			h.apply(spec)
			h.wait(time.Second)
			g := h.group("web")
			if got := h.states("web"); !slices.Equal(got, []string{PendingWait}) {
				t.Fatalf("states %v, want [Pending:Wait]", got)
			}
			in := g.Instances[0]
			if err := h.svc.CompleteLifecycleAction(context.Background(), "web", "gate", "", "wrong-token", ResultContinue); fault.CodeOf(err) != fault.NotFound {
				t.Fatalf("wrong token: %v", err)
			}
			if err := h.svc.CompleteLifecycleAction(context.Background(), "web", "gate", "", in.HookToken, ResultContinue); err != nil {
				t.Fatal(err)
			}
			h.wait(time.Second)
			if got := h.states("web"); !slices.Equal(got, []string{InService}) {
				t.Fatalf("states %v after CONTINUE", got)
			}
			// A second instance waits; a heartbeat extends its wait, then
			// the timeout applies the default result (CONTINUE).
			if err := h.svc.SetDesired(context.Background(), "web", 2, false); err != nil {
				t.Fatal(err)
			}
			h.wait(50 * time.Second)
			var waiting string
			for _, in := range h.group("web").Instances {
				if in.Lifecycle == PendingWait {
					waiting = in.InstanceID
				}
			}
			if waiting == "" {
				t.Fatalf("states %v", h.states("web"))
			}
			if err := h.svc.RecordLifecycleActionHeartbeat(context.Background(), "web", "gate", waiting, ""); err != nil {
				t.Fatal(err)
			}
			h.wait(30 * time.Second) // 80 s since launch, 30 s since the heartbeat
			if got := h.states("web"); !slices.Contains(got, PendingWait) {
				t.Fatalf("states %v: the heartbeat did not extend the wait", got)
			}
			h.wait(35 * time.Second)
			if got := h.states("web"); !slices.Equal(got, []string{InService, InService}) {
				t.Fatalf("states %v after the timeout with default CONTINUE", got)
			}
		})
	})
}

// waitFor polls cond in fake time (hook commands run real processes).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 600 {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("condition not met within 60 s")
}

func TestWarmPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 3)
		spec.WarmPool = &WarmPoolSpec{MinSize: 1, InstanceReusePolicy: &ReusePolicySpec{ReuseOnScaleIn: true}}
		h.apply(spec)
		h.wait(2 * time.Second)
		g := h.group("web")
		// Prepared capacity = max 3: 1 InService + 2 warm (stopped).
		if g.InService != 1 || g.Warm != 2 {
			t.Fatalf("in service %d, warm %d: %v", g.InService, g.Warm, h.states("web"))
		}
		if got := h.states("web"); !slices.Equal(got, []string{InService, WarmedStopped, WarmedStopped}) {
			t.Fatalf("states %v", got)
		}
		launched := len(h.compute.AllInstances())
		if err := h.svc.SetDesired(context.Background(), "web", 2, false); err != nil {
			t.Fatal(err)
		}
		h.wait(500 * time.Millisecond)
		g = h.group("web")
		if g.InService != 2 {
			t.Fatalf("in service %d after scale-out from the warm pool: %v", g.InService, h.states("web"))
		}
		if a := h.activities("web")[0]; !strings.HasPrefix(a.Description, "Launching a new EC2 instance from warm pool: ") {
			t.Errorf("activity %q", a.Description)
		}
		h.wait(2 * time.Second)
		if n := len(h.compute.AllInstances()); n != launched {
			t.Fatalf("%d instances launched, want none beyond the %d (pool: max 3 - desired 2 = 1, and MinSize 1)", n, launched)
		}
		// Scale-in with ReuseOnScaleIn returns an instance to the pool.
		if err := h.svc.SetDesired(context.Background(), "web", 1, false); err != nil {
			t.Fatal(err)
		}
		h.wait(2 * time.Second)
		if got := h.states("web"); !slices.Equal(got, []string{InService, WarmedStopped, WarmedStopped}) {
			t.Fatalf("states %v after scale-in with reuse", got)
		}
		for _, c := range h.compute.callLog() {
			if strings.HasPrefix(c, "terminate") {
				evs, _ := h.events.Since(0)
				for _, e := range evs {
					t.Log(e.Message)
				}
				t.Fatalf("reuse terminated an instance: %v", h.compute.callLog())
			}
		}
	})
}

func TestRestartResumesAndAdoptsOrphans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(basic("web", 2, 4))
		h.wait(time.Second)
		before := h.group("web")
		h.svc.Close()
		// An instance launched just before a crash: its record exists, its
		// member does not.
		if _, err := h.compute.Run(context.Background(), compute.RunRequest{LaunchTemplate: "lt", Count: 1, Group: "web", ManagedBy: ManagedBy, Zone: "local-1a",
			Tags: map[string]string{GroupTag: "web"}}); err != nil {
			t.Fatal(err)
		}
		h.start()
		h.wait(time.Second)
		g := h.group("web")
		// Three members (the orphan adopted) for a desired 2: one is
		// scaled in.
		if len(g.Instances) != 2 || g.InService != 2 {
			t.Fatalf("after restart: %+v", g.Instances)
		}
		kept := 0
		for _, in := range before.Instances {
			if slices.ContainsFunc(g.Instances, func(v InstanceView) bool { return v.InstanceID == in.InstanceID }) {
				kept++
			}
		}
		if kept < 1 {
			evs, _ := h.events.Since(0)
			for _, e := range evs {
				t.Log(e.Message)
			}
			t.Errorf("both instances of before the restart are gone: %+v", g.Instances)
		}
		if n := len(h.compute.callLog()); n != 4 {
			t.Errorf("compute calls %v: want 3 launches and 1 termination", h.compute.callLog())
		}
		if !slices.ContainsFunc(h.activities("web"), func(a Activity) bool { return strings.Contains(a.Cause, "launched before the controller stopped") }) {
			t.Error("the orphan was not adopted")
		}
	})
}

func TestDeletedGroupTerminatesEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(basic("web", 2, 2))
		h.wait(time.Second)
		h.remove("web")
		h.wait(time.Second)
		for _, in := range h.compute.AllInstances() {
			if in.Desired != compute.StateTerminated {
				t.Errorf("%s still %s", in.ID, in.Desired)
			}
		}
		if kvs, _, _ := h.store.List(context.Background(), MemberPrefix); len(kvs) != 0 {
			t.Errorf("%d member records left", len(kvs))
		}
		if kvs, _, _ := h.store.List(context.Background(), CapacityPrefix); len(kvs) != 0 {
			t.Errorf("capacity record left")
		}
	})
}

func TestSuspendedLaunch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 2, 2)
		spec.SuspendedProcesses = []string{ProcessLaunch}
		h.apply(spec)
		h.wait(time.Second)
		if n := len(h.compute.AllInstances()); n != 0 {
			t.Fatalf("%d launched with Launch suspended", n)
		}
		spec.SuspendedProcesses = nil
		h.apply(spec)
		h.wait(time.Second)
		if g := h.group("web"); g.InService != 2 {
			t.Fatalf("in service %d after resume", g.InService)
		}
	})
}

// TestLaunchInFlightIsNotAdopted: instances whose launch has not returned
// yet have records but no members; they must not be adopted as pending
// members (which made a warm pool's launch look like excess capacity and
// scaled in serving instances).
func TestLaunchInFlightIsNotAdopted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 2, 4)
		h.apply(spec)
		h.wait(time.Second)
		h.compute.mu.Lock()
		h.compute.gate = make(chan struct{})
		h.compute.mu.Unlock()
		spec.WarmPool = &WarmPoolSpec{MinSize: 2}
		h.apply(spec)
		h.wait(2 * time.Second) // the warm launch is held
		if g := h.group("web"); g.InService != 2 || len(g.Instances) != 2 {
			t.Fatalf("during the warm launch: %+v", g.Instances)
		}
		close(h.compute.gate)
		h.wait(2 * time.Second)
		if got := h.states("web"); !slices.Equal(got, []string{InService, InService, WarmedStopped, WarmedStopped}) {
			t.Fatalf("states %v", got)
		}
		for _, c := range h.compute.callLog() {
			if strings.HasPrefix(c, "terminate") {
				t.Fatalf("terminated: %v", h.compute.callLog())
			}
		}
	})
}

func TestZoneRebalanceAfterZonesChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 4, 4)
		spec.AvailabilityZones = []string{"local-1a"}
		h.apply(spec)
		h.wait(time.Second)
		spec.AvailabilityZones = []string{"local-1a", "local-1b"}
		h.apply(spec)
		h.wait(5 * time.Second)
		zones := map[string]int{}
		g := h.group("web")
		for _, in := range g.Instances {
			zones[in.Zone]++
		}
		if g.InService != 4 || zones["local-1a"] != 2 || zones["local-1b"] != 2 {
			t.Fatalf("after adding local-1b: %d InService, zones %v", g.InService, zones)
		}
		if !slices.ContainsFunc(h.activities("web"), func(a Activity) bool { return strings.Contains(a.Cause, "availability zone rebalancing") }) {
			t.Error("no rebalancing activity")
		}
	})
}

func TestMaxInstanceLifetimeReplacesOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.svc.Close()
		h.interval = 10 * time.Second // a day of rounds at 100 ms takes seconds
		h.start()
		spec := basic("web", 2, 2)
		spec.MaxInstanceLifetime = 86400
		h.apply(spec)
		h.wait(time.Minute)
		first := h.group("web").Instances
		h.wait(24 * time.Hour)
		g := h.group("web")
		if g.InService != 2 {
			t.Fatalf("%d InService", g.InService)
		}
		for _, in := range g.Instances {
			for _, old := range first {
				if in.InstanceID == old.InstanceID {
					t.Fatalf("%s outlived its maximum lifetime", in.InstanceID)
				}
			}
		}
	})
}

// TestNewImageVersionRefreshes: a new image version (changed source) with
// the same launch template version still rolls out to running members
// when the group has instanceRefresh.
func TestNewImageVersionRefreshes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 3, 6)
		spec.InstanceRefresh = &RefreshPreferences{MinHealthyPercentage: ip(50)}
		h.apply(spec)
		h.wait(2 * time.Second)
		h.compute.mu.Lock()
		h.compute.imageVersion = 2
		h.compute.mu.Unlock()
		h.wait(200 * time.Millisecond)
		h.untilRefresh("web", RefreshSuccessful, time.Minute, func(st stats) {
			if st.inService < 2 {
				t.Fatalf("%d InService during the refresh, want at least 2 (50 %% of 3, rounded up)", st.inService)
			}
		})
		h.wait(time.Second)
		for _, in := range h.compute.AllInstances() {
			if in.Desired != compute.StateTerminated && in.ImageVersion != 2 {
				t.Errorf("%s still runs image version %d", in.ID, in.ImageVersion)
			}
		}
		if r := h.latestRefresh("web"); r.ToImageVersion != 2 || r.Total != 3 {
			t.Errorf("refresh %+v", r)
		}
	})
}

// TestRequestCountSettlesAfterStart: right after a (re)start the first
// second of requests holds those served while the daemon was away, so
// requests per target are not read for the first seconds.
func TestRequestCountSettlesAfterStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 2, 6)
		spec.ScalingPolicies = []PolicySpec{{Name: "requests", TargetTrackingConfiguration: &TargetTrackingSpec{
			PredefinedMetricSpecification: &PredefinedMetricSpec{PredefinedMetricType: "ALBRequestCountPerTarget"}, TargetValue: 600}}}
		h.metrics.set(metric.ID{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: []metric.Dimension{{Name: "TargetGroup", Value: "tg"}}}, 100)
		h.apply(spec)
		h.wait(2 * time.Second)
		if g := h.group("web"); g.DesiredCapacity != 2 {
			t.Fatalf("desired %d within the settling time, want 2", g.DesiredCapacity)
		}
		h.wait(2 * time.Second)
		// 100 requests a second over 2 targets = 3000 per target per minute.
		if g := h.group("web"); g.DesiredCapacity != 6 {
			t.Fatalf("desired %d after it, want 6", g.DesiredCapacity)
		}
	})
}
