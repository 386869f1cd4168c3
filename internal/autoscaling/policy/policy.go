// Package policy holds the scaling decisions of EC2 Auto Scaling as pure
// functions: target tracking, step and simple scaling policies, the
// adjustment types they share, and how several policies of one group are
// combined. Nothing here reads a clock or sleeps: every decision takes the
// moment it is made for (Observation.Now) so that a controller can drive the
// functions from real or fake time.
//
// The rules follow the EC2 Auto Scaling documentation: the step adjustment
// rules of the StepAdjustment API reference, the rounding of
// PercentChangeInCapacity (user guide, scaling adjustment types) and
// MinAdjustmentMagnitude (PutScalingPolicy reference), warmup (warming instances are not current capacity, so a new
// breach only adds the difference, and scale-in waits), the 300 s default
// cooldown of simple scaling, and "the policy giving the largest capacity
// wins" for several policies. Where AWS leaves the target tracking
// arithmetic unsaid, the package uses Kubernetes HPA's: the proportional
// rule, a tolerance of 0.1, scale-out of at most 100 percent or 4
// instances per decision, and a 300 s scale-down stabilization window.
package policy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// AdjustmentType says how a scaling adjustment is read, as the
// AdjustmentType of PutScalingPolicy.
type AdjustmentType string

// The adjustment types of EC2 Auto Scaling.
const (
	// ChangeInCapacity adds the adjustment to the current capacity
	// (negative removes).
	ChangeInCapacity AdjustmentType = "ChangeInCapacity"
	// ExactCapacity sets the capacity to the adjustment.
	ExactCapacity AdjustmentType = "ExactCapacity"
	// PercentChangeInCapacity adds the adjustment, a percentage of the
	// current capacity, rounded as AWS rounds (see Adjust).
	PercentChangeInCapacity AdjustmentType = "PercentChangeInCapacity"
)

// valid reports whether t is one of the three adjustment types.
func (t AdjustmentType) valid() bool {
	switch t {
	case ChangeInCapacity, ExactCapacity, PercentChangeInCapacity:
		return true
	}
	return false
}

// PolicyType names the kind of policy a Decision came from, as the
// PolicyType of PutScalingPolicy.
type PolicyType string

// The policy types this package decides for.
const (
	// TypeTargetTracking is a target tracking policy.
	TypeTargetTracking PolicyType = "TargetTrackingScaling"
	// TypeStepScaling is a step scaling policy.
	TypeStepScaling PolicyType = "StepScaling"
	// TypeSimpleScaling is a simple scaling policy.
	TypeSimpleScaling PolicyType = "SimpleScaling"
)

// DefaultCooldown is the group's default cooldown (300 s), used by simple
// scaling policies that set none.
const DefaultCooldown = 300 * time.Second

// Bounds are the capacity bounds of a group: the desired capacity is kept
// within [Min, Max].
type Bounds struct{ Min, Max int }

// Clamp returns n kept within the bounds. When Max is below Min, Min wins,
// so the result is never below Min.
func (b Bounds) Clamp(n int) int {
	if n > b.Max {
		n = b.Max
	}
	if n < b.Min {
		n = b.Min
	}
	return n
}

// clampFloat converts a capacity computed in floating point to an int within
// the bounds without overflowing for huge or infinite values.
func (b Bounds) clampFloat(x float64) int {
	if math.IsNaN(x) || x <= float64(b.Min) {
		return b.Clamp(b.Min)
	}
	if x >= float64(b.Max) {
		return b.Clamp(b.Max)
	}
	return b.Clamp(int(x))
}

// Observation is what the controller measured for one decision.
type Observation struct {
	// Now is the moment the decision is made for.
	Now time.Time
	// Desired is the group's current desired capacity, within the group's
	// Bounds.
	Desired int
	// InService counts the instances whose metrics are counted: in service
	// and past their warmup. It is the "current capacity" of AWS.
	InService int
	// Warming counts the instances launched but not yet counted: pending or
	// still in warmup. They are not in the metric, but already part of
	// Desired, so a scale-out only adds what they do not cover, and scale-in
	// waits until they are warm.
	Warming int
	// Value is the metric's value for the group: for ASGAverage* the average
	// over the counted instances, for ALBRequestCountPerTarget the requests
	// per target; for a step policy, the alarm's aggregated metric.
	Value float64
	// ValueOK is false when there is no data: no decision is made, as AWS
	// does not scale on missing data.
	ValueOK bool
	// Alarm names the alarm that triggered the decision, for the activity
	// cause. Empty: a target tracking policy names its own alarm
	// ("TargetTracking-<policy>-AlarmHigh" or "-AlarmLow").
	Alarm string
}

// valueOK reports whether the observation carries a usable value.
func (o Observation) valueOK() bool {
	return o.ValueOK && !math.IsNaN(o.Value) && !math.IsInf(o.Value, 0)
}

// Decision is one policy's wish for the desired capacity.
type Decision struct {
	// Policy is the name of the policy.
	Policy string
	// Type is the kind of policy, which Combine needs: scale-in waits for
	// every target tracking policy.
	Type PolicyType
	// Desired is the capacity the policy wants, already within Bounds.
	Desired int
	// Reason is the cause in AWS's words: an activity cause (see Cause) when
	// the capacity changes, otherwise why it does not.
	Reason string
	// Change reports whether Desired differs from the observation's.
	Change bool
	// ScaleInDisabled marks a target tracking policy with DisableScaleIn:
	// it never holds back another policy's scale-in.
	ScaleInDisabled bool
}

// hold returns a decision that keeps the capacity, saying why.
func hold(name string, typ PolicyType, o Observation, b Bounds, why string) Decision {
	d := b.Clamp(o.Desired)
	return Decision{Policy: name, Type: typ, Desired: d, Change: d != o.Desired, Reason: why}
}

// change returns a decision for the capacity to, with an activity cause.
func change(name string, typ PolicyType, o Observation, trigger string, to int) Decision {
	return Decision{
		Policy:  name,
		Type:    typ,
		Desired: to,
		Change:  to != o.Desired,
		Reason:  Cause(o.Now, trigger, name, o.Desired, to),
	}
}

// Cause formats an activity cause as AWS words it, e.g. "At
// 2026-12-01T10:00:00Z a monitor alarm web-high in state ALARM triggered
// policy web-cpu changing the desired capacity from 2 to 4." trigger is what
// triggered the policy ("a monitor alarm web-high in state ALARM").
func Cause(at time.Time, trigger, policy string, from, to int) string {
	return fmt.Sprintf("At %s %s triggered policy %s changing the desired capacity from %d to %d.",
		at.UTC().Format(time.RFC3339), trigger, policy, from, to)
}

// ExecutedCause formats the cause of a capacity change by ExecutePolicy as
// AWS words it, e.g. "At 2026-12-01T10:00:00Z a user request executed
// policy web-out changing the desired capacity from 2 to 3."
func ExecutedCause(at time.Time, policy string, from, to int) string {
	return fmt.Sprintf("At %s a user request executed policy %s changing the desired capacity from %d to %d.",
		at.UTC().Format(time.RFC3339), policy, from, to)
}

// alarmTrigger words an alarm in state ALARM as the trigger of a cause.
func alarmTrigger(alarm string) string {
	return "a monitor alarm " + alarm + " in state ALARM"
}

// Adjust applies an adjustment to a capacity, as step and simple scaling do,
// and keeps the result within b.
//
// PercentChangeInCapacity takes adj percent of current and rounds as AWS
// documents for step and simple scaling: a change above 1 is rounded down
// (12.7 to 12), one between 0 and 1 becomes 1, one between -1 and 0 becomes
// -1, one below -1 is rounded up (-6.67 to -6); so 10 % of 3 adds 1 and
// -50 % of 3 removes 1. minMagnitude (MinAdjustmentMagnitude; only for
// PercentChangeInCapacity, 0 for none) then raises a non-zero change to at
// least that many instances: 25 % of 4 with a minimum of 2 adds 2.
func Adjust(current int, t AdjustmentType, adj int, minMagnitude int, b Bounds) int {
	switch t {
	case ExactCapacity:
		return b.Clamp(adj)
	case PercentChangeInCapacity:
		x := float64(current) * float64(adj) / 100
		var delta float64
		switch {
		case x >= 1, x <= -1:
			delta = math.Trunc(x)
		case x > 0:
			delta = 1
		case x < 0:
			delta = -1
		}
		if m := float64(minMagnitude); delta != 0 && math.Abs(delta) < m {
			delta = math.Copysign(m, delta)
		}
		return b.clampFloat(float64(current) + delta)
	default: // ChangeInCapacity
		return b.clampFloat(float64(current) + float64(adj))
	}
}

// Combine chooses among the decisions of several policies of one group made
// for the same moment, as AWS does: the policy that gives the largest
// capacity wins, for scale-out and for scale-in alike. Every target tracking
// policy takes part even when it wants no change (it holds the capacity), so
// scale-in happens only when every target tracking policy is ready to scale
// in, except those with DisableScaleIn. Step and simple decisions take part
// only when they change the capacity (their alarm fired). current is the
// group's desired capacity. The winning decision is returned with Change
// recomputed against current; with no candidate, the capacity is kept.
func Combine(current int, ds []Decision) Decision {
	var win *Decision
	for i := range ds {
		d := &ds[i]
		switch {
		case d.Change:
		case d.Type == TypeTargetTracking && !d.ScaleInDisabled:
			// A hold: it keeps the capacity from going below its wish.
		default:
			continue
		}
		if d.ScaleInDisabled && d.Desired < current {
			continue
		}
		if win == nil || d.Desired > win.Desired {
			win = d
		}
	}
	if win == nil {
		return Decision{Desired: current, Reason: "no policy wants to change the desired capacity from " + strconv.Itoa(current)}
	}
	out := *win
	out.Change = out.Desired != current
	if !out.Change {
		out.Reason = fmt.Sprintf("policy %s holds the desired capacity at %d (scale-in needs every target tracking policy to agree): %s",
			out.Policy, current, win.Reason)
	}
	return out
}

// FieldError is one problem with one field of a policy: which field, the
// value given, and what is wrong and how to fix it.
type FieldError struct {
	// Field locates the field, e.g. "StepAdjustments[1].MetricIntervalLowerBound".
	Field string
	// Value is the offending value as given.
	Value any
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error formats the problem as "<field>: <msg> (got <value>)".
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s (got %v)", e.Field, e.Msg, e.Value)
}

// problems collects field errors for a Validate method.
type problems []error

// add records a problem with field.
func (p *problems) add(field string, value any, msg string) {
	*p = append(*p, &FieldError{Field: field, Value: value, Msg: msg})
}

// err returns the problems as one error (errors.Join), or nil.
func (p problems) err() error { return errors.Join(p...) }

// validateName checks a policy name as PutScalingPolicy does (1 to 255
// characters).
func validateName(p *problems, name string) {
	if name == "" || len(name) > 255 {
		p.add("PolicyName", strconv.Quote(name), "must be 1 to 255 characters; name the policy")
	}
}

// validateAdjustment checks an adjustment type, its MinAdjustmentMagnitude
// and one scaling adjustment of it.
func validateAdjustment(p *problems, t AdjustmentType, minMagnitude int) {
	if !t.valid() {
		p.add("AdjustmentType", strconv.Quote(string(t)), "is not an adjustment type; use ChangeInCapacity, ExactCapacity or PercentChangeInCapacity")
	}
	if minMagnitude < 0 {
		p.add("MinAdjustmentMagnitude", minMagnitude, "must not be negative; use 0 for none or a positive number of instances")
	} else if minMagnitude > 0 && t != PercentChangeInCapacity {
		p.add("MinAdjustmentMagnitude", minMagnitude, "is valid only with AdjustmentType PercentChangeInCapacity; remove it or change the adjustment type")
	}
}

// validateScalingAdjustment checks one ScalingAdjustment against its type.
func validateScalingAdjustment(p *problems, field string, t AdjustmentType, adj int) {
	switch t {
	case ExactCapacity:
		if adj < 0 {
			p.add(field, adj, "must not be negative with ExactCapacity; give the capacity wanted")
		}
	case PercentChangeInCapacity:
		if adj < -100 {
			p.add(field, adj, "removes more than 100 percent; use a percentage from -100 up")
		}
	}
}

// validateWarmup checks an EstimatedInstanceWarmup.
func validateWarmup(p *problems, w time.Duration) {
	if w < 0 {
		p.add("EstimatedInstanceWarmup", w, "must not be negative; use 0 for the group's default instance warmup")
	}
}
