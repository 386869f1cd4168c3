package autoscaling

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/fault"
)

// executeGroup is a group of desired 2 (1 to 10) with a simple, a step, a
// target tracking and a disabled policy.
func executeGroup() GroupSpec {
	spec := basic("web", 1, 10)
	spec.DesiredCapacity = ip(2)
	lo0, lo10 := 0.0, 10.0
	off := false
	spec.ScalingPolicies = []PolicySpec{
		{Name: "add", PolicyType: "SimpleScaling", AdjustmentType: "ChangeInCapacity", ScalingAdjustment: 1, Cooldown: ip(60)},
		{Name: "steps", PolicyType: "StepScaling", AdjustmentType: "ChangeInCapacity", StepAdjustments: []StepSpec{
			{MetricIntervalLowerBound: &lo0, MetricIntervalUpperBound: &lo10, ScalingAdjustment: 1},
			{MetricIntervalLowerBound: &lo10, ScalingAdjustment: 3},
		}},
		{Name: "cpu", TargetTrackingConfiguration: &TargetTrackingSpec{TargetValue: 50,
			PredefinedMetricSpecification: &PredefinedMetricSpec{PredefinedMetricType: "ASGAverageCPUUtilization"}}},
		{Name: "off", PolicyType: "SimpleScaling", AdjustmentType: "ChangeInCapacity", ScalingAdjustment: 1, Enabled: &off},
	}
	return spec
}

func fp(v float64) *float64 { return &v }

func TestExecutePolicy(t *testing.T) {
	for _, tc := range []struct {
		name       string
		group, ref string
		opts       ExecuteOptions
		// cooldown sets the desired capacity to 3 first, which starts the
		// group's cooldown.
		cooldown bool
		code     fault.Code // empty: success
		msg      string     // in the error, or in the cause
		want     int        // the desired capacity after
	}{
		{name: "simple", group: "web", ref: "add", want: 3,
			msg: "a user request executed policy add changing the desired capacity from 2 to 3."},
		{name: "by ARN without the group", ref: PolicyARN("x", "web", "add"), want: 3, msg: "executed policy add"},
		{name: "by madang's short form", ref: "autoscaling:web/add", want: 3, msg: "executed policy add"},
		{name: "step: the metric value picks the first step", group: "web", ref: "steps",
			opts: ExecuteOptions{MetricValue: fp(75), BreachThreshold: fp(70)}, want: 3,
			msg: "a user request executed policy steps changing the desired capacity from 2 to 3."},
		{name: "step: the metric value picks the open step", group: "web", ref: "steps",
			opts: ExecuteOptions{MetricValue: fp(80), BreachThreshold: fp(70)}, want: 5, msg: "from 2 to 5."},
		{name: "cooldown ignored by default", group: "web", ref: "add", cooldown: true, want: 4, msg: "from 3 to 4."},
		{name: "cooldown honoured", group: "web", ref: "add", cooldown: true, opts: ExecuteOptions{HonorCooldown: true},
			code: fault.Conflict, msg: "ScalingActivityInProgress: the group is in its cooldown until", want: 3},
		{name: "a step policy has no cooldown", group: "web", ref: "steps", cooldown: true,
			opts: ExecuteOptions{HonorCooldown: true, MetricValue: fp(70), BreachThreshold: fp(70)}, want: 4, msg: "from 3 to 4."},
		{name: "target tracking refused", group: "web", ref: "cpu", code: fault.Invalid, want: 2,
			msg: "ExecutePolicy is not supported for target tracking scaling policies; cpu is a TargetTrackingScaling policy"},
		{name: "unknown policy", group: "web", ref: "nope", code: fault.NotFound, want: 2, msg: "Policy nope not found in AutoScalingGroup web"},
		{name: "unknown group", group: "api", ref: "add", code: fault.NotFound, want: 2, msg: `Auto Scaling group "api" does not exist`},
		{name: "a name needs the group", ref: "add", code: fault.Invalid, want: 2, msg: "AutoScalingGroupName is needed unless PolicyName is the policy's ARN"},
		{name: "an ARN of another group", group: "api", ref: PolicyARN("x", "web", "add"), code: fault.Invalid, want: 2,
			msg: "names a policy of AutoScalingGroup web, not of api"},
		{name: "disabled policy", group: "web", ref: "off", code: fault.Invalid, want: 2, msg: "Policy off of AutoScalingGroup web is disabled"},
		{name: "step without a metric value", group: "web", ref: "steps", opts: ExecuteOptions{BreachThreshold: fp(70)},
			code: fault.Invalid, want: 2, msg: "MetricValue is required for policies of type StepScaling"},
		{name: "step without a breach threshold", group: "web", ref: "steps", opts: ExecuteOptions{MetricValue: fp(70)},
			code: fault.Invalid, want: 2, msg: "BreachThreshold is required for policies of type StepScaling"},
		{name: "step: a metric value no step covers", group: "web", ref: "steps", opts: ExecuteOptions{MetricValue: fp(60), BreachThreshold: fp(70)},
			code: fault.Invalid, want: 2, msg: "MetricValue 60 with BreachThreshold 70 (a difference of -10) does not fall within any step adjustment of policy steps"},
		{name: "simple with a metric value", group: "web", ref: "add", opts: ExecuteOptions{MetricValue: fp(1)},
			code: fault.Invalid, want: 2, msg: "MetricValue 1 is only supported for policies of type StepScaling; add is a SimpleScaling policy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.apply(executeGroup())
				h.wait(time.Second)
				if tc.cooldown {
					if err := h.svc.SetDesired(context.Background(), "web", 3, false); err != nil {
						t.Fatal(err)
					}
					h.wait(10 * time.Second)
				}
				before := len(h.activities("web"))
				ex, err := h.svc.ExecutePolicy(context.Background(), tc.group, tc.ref, tc.opts)
				h.wait(time.Second)
				g := h.group("web")
				if g.DesiredCapacity != tc.want {
					t.Errorf("desired capacity %d, want %d", g.DesiredCapacity, tc.want)
				}
				if tc.code != "" {
					if fault.CodeOf(err) != tc.code || !strings.Contains(errString(err), tc.msg) {
						t.Fatalf("err = %v (code %v), want code %v with %q", err, fault.CodeOf(err), tc.code, tc.msg)
					}
					if n := len(h.activities("web")); n != before {
						t.Errorf("a refused call recorded %d activities", n-before)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(ex.Cause, tc.msg) || ex.To != tc.want || ex.Group != "web" {
					t.Errorf("execution %+v, want desired %d and cause with %q", ex, tc.want, tc.msg)
				}
				if ex.To != ex.From {
					// The launch's activity carries the cause, as AWS's.
					if a := h.activities("web")[0]; !strings.Contains(a.Cause, ex.Cause) || !strings.HasPrefix(a.Description, "Launching a new EC2 instance") {
						t.Errorf("newest activity %+v, want a launch caused by %q", a, ex.Cause)
					}
				}
			})
		})
	}
}
