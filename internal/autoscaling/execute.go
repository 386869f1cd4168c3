// ExecutePolicy: a user runs a simple or step scaling policy now, as if
// its alarm had fired.

package autoscaling

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling/policy"
	"github.com/madang-dev/madang/internal/autoscaling/policyref"
	"github.com/madang-dev/madang/internal/fault"
)

// ExecuteOptions are ExecutePolicy's optional parameters, as AWS's.
type ExecuteOptions struct {
	// HonorCooldown refuses to run a simple scaling policy while the
	// group's cooldown (the policy's own, else the group's default) runs;
	// without it the cooldown is ignored. Step scaling policies have no
	// cooldown.
	HonorCooldown bool
	// MetricValue and BreachThreshold pick a step scaling policy's step:
	// the step whose interval holds MetricValue - BreachThreshold. Both
	// are required for a step scaling policy and refused for a simple one.
	MetricValue, BreachThreshold *float64
}

// Execution is what ExecutePolicy did.
type Execution struct {
	// Group and Policy name the policy run; PolicyType is its type.
	Group, Policy, PolicyType string
	// From and To are the desired capacity before and after.
	From, To int
	// Cause is the scaling activity's cause when the desired capacity
	// changed ("At … a user request executed policy … changing the
	// desired capacity from 2 to 3."), else why it did not.
	Cause string
}

// ExecutePolicy runs a group's simple or step scaling policy now, as
// AWS's ExecutePolicy: through the decision its alarm would make, the
// capacity change recorded with a user request as its cause. ref is the
// policy's name, its ARN or autoscaling:GROUP/POLICY; group may be empty
// when ref names the group. Target tracking and disabled policies are
// refused, as is a call whose parameters do not fit the policy's type (see
// ExecuteOptions); a refused call changes nothing. A policy whose
// adjustment leaves the capacity as it is succeeds without an activity.
func (s *Service) ExecutePolicy(ctx context.Context, group, ref string, opts ExecuteOptions) (Execution, error) {
	group, name, err := policyTarget(group, ref)
	if err != nil {
		return Execution{}, err
	}
	var b batch
	s.mu.Lock()
	g := s.groups[group]
	if g == nil {
		s.mu.Unlock()
		return Execution{}, groupMissing(group)
	}
	i := slices.IndexFunc(g.Spec.ScalingPolicies, func(p PolicySpec) bool { return p.Name == name })
	if i < 0 {
		s.mu.Unlock()
		return Execution{}, fault.NotFoundf(KindGroup, group, "Policy %s not found in AutoScalingGroup %s", name, group).
			WithHint("madang asg describe " + group + " lists its policies")
	}
	p := &g.Spec.ScalingPolicies[i]
	br, err := executeTrigger(group, p, opts)
	if err != nil {
		s.mu.Unlock()
		return Execution{}, err
	}
	now := s.opts.Now()
	c := s.capacityLocked(&b, g, now)
	var last time.Time // no cooldown unless honoured
	if opts.HonorCooldown && policy.PolicyType(p.PolicyType) == policy.TypeSimpleScaling {
		last = c.LastScaling
		if end := p.simpleScaling(&g.Spec).CooldownEnd(last); now.Before(end) {
			s.mu.Unlock()
			return Execution{}, fault.Conflictf(KindGroup, group, "ScalingActivityInProgress: the group is in its cooldown until %s; policy %s was not executed", stamp(end), name).
				WithHint("wait, or leave out HonorCooldown (--honor-cooldown)")
		}
	}
	d := s.alarmDecisionLocked(g, c, p, br, last, policy.Bounds{Min: c.Min, Max: c.Max}, now)
	ex := Execution{Group: group, Policy: name, PolicyType: p.PolicyType, From: c.Desired, To: c.Desired, Cause: d.Reason}
	if d.Change {
		ex.To, ex.Cause = d.Desired, policy.ExecutedCause(now, name, c.Desired, d.Desired)
		s.setDesiredLocked(&b, g, c, d.Desired, ex.Cause, now)
	} else {
		s.opts.Events.Info(KindGroup, group, "policy %s executed by a user request: %s", name, d.Reason)
	}
	s.unlockCommit(ctx, &b)
	s.Kick()
	return ex, nil
}

// policyTarget reads the group and policy ExecutePolicy names.
func policyTarget(group, ref string) (string, string, error) {
	if ref == "" {
		return "", "", fault.Invalidf(KindGroup, group, "PolicyName is empty").WithHint("give the policy's name or ARN (madang asg describe GROUP lists them)")
	}
	if !policyref.IsPolicy(ref) {
		if group == "" {
			return "", "", fault.Invalidf(KindGroup, ref, "AutoScalingGroupName is needed unless PolicyName is the policy's ARN").
				WithHint("give the group, or the policy's ARN from madang asg describe GROUP")
		}
		return group, ref, nil
	}
	g, p, err := policyref.Parse(ref)
	if err != nil {
		return "", "", fault.Invalidf(KindGroup, group, "PolicyName %s %v", ref, err)
	}
	if group != "" && g != group {
		return "", "", fault.Invalidf(KindGroup, group, "PolicyName %s names a policy of AutoScalingGroup %s, not of %s", ref, g, group).
			WithHint("give the policy's own group, or leave AutoScalingGroupName out")
	}
	return g, p, nil
}

// executeTrigger checks that ExecutePolicy can run p with opts and returns
// the alarm breach it stands for: none for a simple policy, MetricValue
// and BreachThreshold for a step policy (which must pick a step).
func executeTrigger(group string, p *PolicySpec, opts ExecuteOptions) (alarmBreach, error) {
	typ := policy.PolicyType(p.PolicyType)
	switch typ {
	case policy.TypeSimpleScaling, policy.TypeStepScaling:
	default:
		return alarmBreach{}, fault.Invalidf(KindGroup, group, "ExecutePolicy is not supported for target tracking scaling policies; %s is a %s policy", p.Name, policy.TypeTargetTracking).
			WithHint("a target tracking policy follows its metric; set the capacity with SetDesiredCapacity (madang asg set-desired) instead")
	}
	if !p.enabled() {
		return alarmBreach{}, fault.Invalidf(KindGroup, group, "Policy %s of AutoScalingGroup %s is disabled", p.Name, group).
			WithHint("enable it (Enabled true) to execute it")
	}
	if typ == policy.TypeSimpleScaling {
		for _, f := range []struct {
			name string
			v    *float64
		}{{"MetricValue", opts.MetricValue}, {"BreachThreshold", opts.BreachThreshold}} {
			if f.v != nil {
				return alarmBreach{}, fault.Invalidf(KindGroup, group, "%s %v is only supported for policies of type StepScaling; %s is a SimpleScaling policy", f.name, *f.v, p.Name).
					WithHint("leave out MetricValue and BreachThreshold (--metric-value, --breach-threshold)")
			}
		}
		return alarmBreach{}, nil
	}
	for _, f := range []struct {
		name, flag string
		v          *float64
	}{{"MetricValue", "--metric-value", opts.MetricValue}, {"BreachThreshold", "--breach-threshold", opts.BreachThreshold}} {
		switch {
		case f.v == nil:
			return alarmBreach{}, fault.Invalidf(KindGroup, group, "%s is required for policies of type StepScaling; %s is a StepScaling policy", f.name, p.Name).
				WithHint("give MetricValue and BreachThreshold (--metric-value V --breach-threshold T): the step whose interval holds V - T runs")
		case math.IsNaN(*f.v) || math.IsInf(*f.v, 0):
			return alarmBreach{}, fault.Invalidf(KindGroup, group, "%s %v is not a number", f.name, *f.v).WithHint("give a finite number (" + f.flag + ")")
		}
	}
	v, t := *opts.MetricValue, *opts.BreachThreshold
	if _, ok := (&policy.StepScaling{Steps: p.steps()}).Step(v - t); !ok {
		return alarmBreach{}, fault.Invalidf(KindGroup, group, "MetricValue %v with BreachThreshold %v (a difference of %v) does not fall within any step adjustment of policy %s", v, t, v-t, p.Name).
			WithHint(fmt.Sprintf("give a metric value whose difference from the threshold lies in one of the policy's %s", stepIntervals(p)))
	}
	return alarmBreach{value: v, valueOK: true, threshold: t}, nil
}

// stepIntervals words a step policy's intervals, relative to the
// threshold, for a hint: "steps 0 to 10, 10 to +∞".
func stepIntervals(p *PolicySpec) string {
	var out []string
	for _, st := range p.StepAdjustments {
		lo, hi := "-∞", "+∞"
		if st.MetricIntervalLowerBound != nil {
			lo = fmt.Sprint(*st.MetricIntervalLowerBound)
		}
		if st.MetricIntervalUpperBound != nil {
			hi = fmt.Sprint(*st.MetricIntervalUpperBound)
		}
		out = append(out, lo+" to "+hi)
	}
	return "steps " + strings.Join(out, ", ")
}
