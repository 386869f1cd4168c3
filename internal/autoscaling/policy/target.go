package policy

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// The predefined metrics of a target tracking policy
// (PredefinedMetricSpecification.PredefinedMetricType).
const (
	// ASGAverageCPUUtilization is the group's average CPU utilization, in percent.
	ASGAverageCPUUtilization = "ASGAverageCPUUtilization"
	// ASGAverageNetworkIn is the average bytes received per instance.
	ASGAverageNetworkIn = "ASGAverageNetworkIn"
	// ASGAverageNetworkOut is the average bytes sent per instance.
	ASGAverageNetworkOut = "ASGAverageNetworkOut"
	// ALBRequestCountPerTarget is the requests per target of the group's
	// target group.
	ALBRequestCountPerTarget = "ALBRequestCountPerTarget"
)

// Tolerance is the band around the target within which a target tracking
// policy does not scale: the ratio value/target must leave [0.9, 1.1]
// (Kubernetes HPA's default tolerance, 0.1).
const Tolerance = 0.1

// Scale-out limits per decision, Kubernetes HPA's default scaleUp policies
// with selectPolicy Max: add up to 100 percent of the capacity or 4
// instances, whichever is more.
const (
	// ScaleUpPercent is how much one decision may grow the capacity, in percent.
	ScaleUpPercent = 100
	// ScaleUpInstances is how many instances one decision may always add.
	ScaleUpInstances = 4
)

// DefaultScaleInStabilization is Kubernetes HPA's default scale-down
// stabilization window (300 s), for Stabilize.
const DefaultScaleInStabilization = 300 * time.Second

// TargetTracking is a target tracking policy (PutScalingPolicy PolicyType
// TargetTrackingScaling): it keeps a metric near TargetValue by changing the
// capacity in proportion to the metric.
type TargetTracking struct {
	// Name is the policy's name.
	Name string
	// TargetValue is the value the metric is kept at; it must be positive.
	TargetValue float64
	// PredefinedMetric is ASGAverageCPUUtilization, ASGAverageNetworkIn,
	// ASGAverageNetworkOut or ALBRequestCountPerTarget; empty for a
	// customized metric, whose value the caller supplies.
	PredefinedMetric string
	// DisableScaleIn keeps the policy from removing instances.
	DisableScaleIn bool
	// EstimatedInstanceWarmup is how long a new instance takes before its
	// metrics count; 0 means the group's default instance warmup. The
	// controller applies it when it splits instances into InService and
	// Warming.
	EstimatedInstanceWarmup time.Duration
}

// Validate checks the policy as PutScalingPolicy would, naming every field
// in error.
func (t TargetTracking) Validate() error {
	var p problems
	validateName(&p, t.Name)
	if !(t.TargetValue > 0) || math.IsInf(t.TargetValue, 0) {
		p.add("TargetValue", t.TargetValue, "must be a positive number; give the metric value to keep the group at, e.g. 50 for 50 % CPU")
	}
	switch t.PredefinedMetric {
	case "", ASGAverageCPUUtilization, ASGAverageNetworkIn, ASGAverageNetworkOut, ALBRequestCountPerTarget:
	default:
		p.add("PredefinedMetricType", strconv.Quote(t.PredefinedMetric),
			"is not a predefined metric; use ASGAverageCPUUtilization, ASGAverageNetworkIn, ASGAverageNetworkOut, ALBRequestCountPerTarget, or leave it empty for a customized metric")
	}
	validateWarmup(&p, t.EstimatedInstanceWarmup)
	return p.err()
}

// metric names the policy's metric in reasons.
func (t TargetTracking) metric() string {
	if t.PredefinedMetric == "" {
		return "the customized metric"
	}
	return t.PredefinedMetric
}

// Decide makes the policy's decision for one observation.
//
// The capacity follows the proportional rule, desired = ceil(current ×
// value / target), where current is the InService instances the metric was
// measured over. Nothing changes while value/target is within Tolerance of 1.
// Scale-out is immediate on a breach, but instances in warmup count toward
// the capacity: the policy asks for more only when the rule wants more than
// the desired capacity already holds, so the group does not overshoot while
// new instances warm up; one decision grows the capacity by at most
// ScaleUpPercent or ScaleUpInstances, whichever is more. Scale-in is
// conservative: only below the band, rounding up, never while instances are
// warming up, never with DisableScaleIn, and never below b.Min; a
// controller that wants HPA's stabilization passes the wishes through
// Stabilize. Missing data, or no counted instance, means no decision (so an
// average metric cannot scale a group up from zero instances).
func (t TargetTracking) Decide(o Observation, b Bounds) Decision {
	d := t.decide(o, b)
	d.ScaleInDisabled = t.DisableScaleIn
	return d
}

// decide is Decide without the DisableScaleIn mark.
func (t TargetTracking) decide(o Observation, b Bounds) Decision {
	name := t.Name
	if !o.valueOK() {
		return hold(name, TypeTargetTracking, o, b,
			fmt.Sprintf("no data for %s: the desired capacity stays at %d (no scaling on missing data)", t.metric(), o.Desired))
	}
	if !(t.TargetValue > 0) || math.IsInf(t.TargetValue, 0) {
		return hold(name, TypeTargetTracking, o, b,
			fmt.Sprintf("target value %v is not positive: the desired capacity stays at %d", t.TargetValue, o.Desired))
	}
	if o.InService <= 0 {
		return hold(name, TypeTargetTracking, o, b,
			fmt.Sprintf("no instance is counted for %s yet: the desired capacity stays at %d", t.metric(), o.Desired))
	}
	ratio := o.Value / t.TargetValue
	// The margin keeps 55/50 (1.1000000000000001) inside the band.
	if math.Abs(ratio-1) <= Tolerance+1e-9 {
		return hold(name, TypeTargetTracking, o, b,
			fmt.Sprintf("%s %v is within %v of target %v: the desired capacity stays at %d", t.metric(), o.Value, Tolerance, t.TargetValue, o.Desired))
	}
	// A tiny margin keeps 2 × 1.5000000001 from asking for a fourth instance.
	wanted := math.Ceil(float64(o.InService)*ratio - 1e-9)
	if ratio > 1 {
		cur := max(o.Desired, o.InService)
		limit := float64(max(cur+cur*ScaleUpPercent/100, cur+ScaleUpInstances))
		to := b.clampFloat(math.Min(wanted, limit))
		if to <= o.Desired {
			return hold(name, TypeTargetTracking, o, b,
				fmt.Sprintf("%s %v is above target %v, but %d instances are wanted and the desired capacity is already %d (%d warming up)",
					t.metric(), o.Value, t.TargetValue, to, o.Desired, o.Warming))
		}
		return change(name, TypeTargetTracking, o, alarmTrigger(t.alarm(o, "AlarmHigh")), to)
	}
	if t.DisableScaleIn {
		return hold(name, TypeTargetTracking, o, b,
			fmt.Sprintf("%s %v is below target %v, but scale-in is disabled: the desired capacity stays at %d", t.metric(), o.Value, t.TargetValue, o.Desired))
	}
	if o.Warming > 0 {
		return hold(name, TypeTargetTracking, o, b,
			fmt.Sprintf("%s %v is below target %v, but scale-in waits for %d instances in warmup: the desired capacity stays at %d",
				t.metric(), o.Value, t.TargetValue, o.Warming, o.Desired))
	}
	to := b.clampFloat(wanted)
	if to >= o.Desired {
		return hold(name, TypeTargetTracking, o, b,
			fmt.Sprintf("%s %v is below target %v, but the desired capacity %d cannot go lower (minimum %d)", t.metric(), o.Value, t.TargetValue, o.Desired, b.Min))
	}
	return change(name, TypeTargetTracking, o, alarmTrigger(t.alarm(o, "AlarmLow")), to)
}

// alarm names the alarm that triggers the policy: the observation's, or the
// policy's own high or low alarm.
func (t TargetTracking) alarm(o Observation, which string) string {
	if o.Alarm != "" {
		return o.Alarm
	}
	return "TargetTracking-" + t.Name + "-" + which
}

// Recommendation is one earlier scale-in wish of a target tracking policy,
// kept by the controller for Stabilize.
type Recommendation struct {
	// At is when the wish was made.
	At time.Time
	// Desired is the capacity wished for.
	Desired int
}

// Stabilize applies Kubernetes HPA's scale-down stabilization: the capacity
// to scale in to is the highest recommendation made within window before now
// (DefaultScaleInStabilization is 300 s), so a brief dip does not remove
// instances that a rebound would need again. ok is false when no
// recommendation falls within the window.
func Stabilize(now time.Time, window time.Duration, history []Recommendation) (desired int, ok bool) {
	for _, r := range history {
		if r.At.After(now) || r.At.Before(now.Add(-window)) {
			continue
		}
		if !ok || r.Desired > desired {
			desired, ok = r.Desired, true
		}
	}
	return desired, ok
}
