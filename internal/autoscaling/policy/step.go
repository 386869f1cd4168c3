package policy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// StepAdjustment is one step of a step scaling policy: when the breach (the
// metric minus the alarm threshold) lies between the bounds, the capacity
// changes by ScalingAdjustment. The bounds are relative to the alarm
// threshold, as MetricIntervalLowerBound and MetricIntervalUpperBound; nil
// is negative infinity for LowerBound and infinity for UpperBound. Above the
// threshold a step includes its lower bound and excludes its upper bound
// (with threshold 50, [0, 10) is a metric from 50 up to 60); below it, the
// other way round ((-10, 0] is a metric above 40 up to 50).
type StepAdjustment struct {
	// LowerBound is MetricIntervalLowerBound; nil: negative infinity.
	LowerBound *float64
	// UpperBound is MetricIntervalUpperBound; nil: infinity.
	UpperBound *float64
	// ScalingAdjustment is the change, read as the policy's AdjustmentType;
	// positive scales out, negative scales in.
	ScalingAdjustment int
}

// lower returns the lower bound, negative infinity when open.
func (s StepAdjustment) lower() float64 {
	if s.LowerBound == nil {
		return math.Inf(-1)
	}
	return *s.LowerBound
}

// upper returns the upper bound, infinity when open.
func (s StepAdjustment) upper() float64 {
	if s.UpperBound == nil {
		return math.Inf(1)
	}
	return *s.UpperBound
}

// matches reports whether a breach of diff falls within the step.
func (s StepAdjustment) matches(diff float64) bool {
	lo, hi := s.lower(), s.upper()
	switch {
	case diff > lo && diff < hi:
		return true
	case diff == lo:
		return lo >= 0
	case diff == hi:
		return hi <= 0
	}
	return false
}

// The metric aggregation types of a step scaling policy.
const (
	// AggregationAverage is the default MetricAggregationType.
	AggregationAverage = "Average"
	// AggregationMinimum aggregates the alarm's metric by its minimum.
	AggregationMinimum = "Minimum"
	// AggregationMaximum aggregates the alarm's metric by its maximum.
	AggregationMaximum = "Maximum"
)

// StepScaling is a step scaling policy (PutScalingPolicy PolicyType
// StepScaling): an alarm's breach picks a step, and the step's adjustment is
// applied to the current capacity.
type StepScaling struct {
	// Name is the policy's name.
	Name string
	// AdjustmentType says how the steps' ScalingAdjustment is read.
	AdjustmentType AdjustmentType
	// Steps are the step adjustments: no overlap, no gap, at most one open
	// bound on each side.
	Steps []StepAdjustment
	// MinAdjustmentMagnitude is the least change of a
	// PercentChangeInCapacity step; 0 for none.
	MinAdjustmentMagnitude int
	// EstimatedInstanceWarmup is how long a new instance takes before it
	// counts; 0 means the group's default instance warmup. The controller
	// applies it when it splits instances into InService and Warming.
	EstimatedInstanceWarmup time.Duration
	// MetricAggregationType is Average (the default when empty), Minimum or
	// Maximum: how the controller aggregates the alarm's metric into
	// Observation.Value.
	MetricAggregationType string
}

// Validate checks the policy with AWS's rules for step adjustments, naming
// every field in error: at least one step; each step with a bound; the
// ranges without overlap or gap; at most one open lower and one open upper
// bound; a negative lower bound needs a step open below, a positive upper
// bound a step open above; MinAdjustmentMagnitude only with
// PercentChangeInCapacity.
func (s StepScaling) Validate() error {
	var p problems
	validateName(&p, s.Name)
	validateAdjustment(&p, s.AdjustmentType, s.MinAdjustmentMagnitude)
	validateWarmup(&p, s.EstimatedInstanceWarmup)
	switch s.MetricAggregationType {
	case "", AggregationAverage, AggregationMinimum, AggregationMaximum:
	default:
		p.add("MetricAggregationType", strconv.Quote(s.MetricAggregationType), "is not an aggregation; use Average, Minimum or Maximum")
	}
	if len(s.Steps) == 0 {
		p.add("StepAdjustments", "[]", "is empty; give at least one step adjustment")
		return p.err()
	}
	openLow, openHigh := 0, 0
	needLow, needHigh := false, false
	for i, st := range s.Steps {
		f := fmt.Sprintf("StepAdjustments[%d]", i)
		validateScalingAdjustment(&p, f+".ScalingAdjustment", s.AdjustmentType, st.ScalingAdjustment)
		if st.LowerBound == nil && st.UpperBound == nil {
			p.add(f, "no bounds", "needs a lower or an upper bound; set MetricIntervalLowerBound or MetricIntervalUpperBound")
			continue
		}
		lo, hi := st.lower(), st.upper()
		if math.IsNaN(lo) || math.IsNaN(hi) {
			p.add(f, "NaN", "has a bound that is not a number; give numeric bounds")
			continue
		}
		if lo >= hi {
			p.add(f+".MetricIntervalUpperBound", hi, fmt.Sprintf("must be greater than the lower bound %v; swap or widen the bounds", lo))
		}
		if st.LowerBound == nil {
			openLow++
		} else if lo < 0 {
			needLow = true
		}
		if st.UpperBound == nil {
			openHigh++
		} else if hi > 0 {
			needHigh = true
		}
	}
	if openLow > 1 {
		p.add("StepAdjustments", openLow, "has more than one step without a lower bound; give all but one a MetricIntervalLowerBound")
	}
	if openHigh > 1 {
		p.add("StepAdjustments", openHigh, "has more than one step without an upper bound; give all but one a MetricIntervalUpperBound")
	}
	if needLow && openLow == 0 {
		p.add("StepAdjustments", "a negative lower bound", "needs a step without a lower bound below it; drop the lowest step's MetricIntervalLowerBound")
	}
	if needHigh && openHigh == 0 {
		p.add("StepAdjustments", "a positive upper bound", "needs a step without an upper bound above it; drop the highest step's MetricIntervalUpperBound")
	}
	if len(p) == 0 {
		steps := s.sorted()
		for i := 1; i < len(steps); i++ {
			prev, cur := steps[i-1], steps[i]
			switch {
			case cur.lower() < prev.upper():
				p.add("StepAdjustments", fmt.Sprintf("[%v, %v] and [%v, %v]", prev.lower(), prev.upper(), cur.lower(), cur.upper()),
					"overlap; make each step's lower bound the previous step's upper bound")
			case cur.lower() > prev.upper():
				p.add("StepAdjustments", fmt.Sprintf("[%v, %v] and [%v, %v]", prev.lower(), prev.upper(), cur.lower(), cur.upper()),
					"leave a gap; make each step's lower bound the previous step's upper bound")
			}
		}
	}
	return p.err()
}

// sorted returns the steps in order of their lower bounds.
func (s StepScaling) sorted() []StepAdjustment {
	steps := slices.Clone(s.Steps)
	slices.SortStableFunc(steps, func(a, b StepAdjustment) int {
		switch la, lb := a.lower(), b.lower(); {
		case la < lb:
			return -1
		case la > lb:
			return 1
		}
		return 0
	})
	return steps
}

// Step returns the step whose interval holds a breach of diff (the metric
// minus the alarm threshold), with the bounds read as the StepAdjustment
// doc says; ok is false when no step covers it.
func (s StepScaling) Step(diff float64) (StepAdjustment, bool) {
	steps := s.sorted()
	i := slices.IndexFunc(steps, func(st StepAdjustment) bool { return st.matches(diff) })
	if i < 0 {
		return StepAdjustment{}, false
	}
	return steps[i], true
}

// Decide applies the step that matches the breach, o.Value minus the alarm
// threshold, to the current capacity and keeps the result within b. The
// current capacity is the InService instances (warming ones do not count),
// so while instances warm up a new breach only adds the difference between
// the step's capacity and the desired capacity, which already includes the
// warming instances; scale-in waits until no instance is warming up. No
// matching step, or missing data, means no decision.
func (s StepScaling) Decide(o Observation, threshold float64, b Bounds) Decision {
	name := s.Name
	if !o.valueOK() {
		return hold(name, TypeStepScaling, o, b, fmt.Sprintf("no data for the alarm's metric: the desired capacity stays at %d (no scaling on missing data)", o.Desired))
	}
	diff := o.Value - threshold
	st, ok := s.Step(diff)
	if !ok {
		return hold(name, TypeStepScaling, o, b, fmt.Sprintf("metric %v is %v from threshold %v, which no step adjustment covers: the desired capacity stays at %d", o.Value, diff, threshold, o.Desired))
	}
	trigger := alarmTrigger(s.alarm(o))
	out := st.ScalingAdjustment > 0
	if s.AdjustmentType == ExactCapacity {
		out = b.Clamp(st.ScalingAdjustment) > o.Desired
	}
	if out {
		// Warming instances are not current capacity, but they are already
		// in the desired capacity: only the difference is added.
		to := Adjust(o.InService, s.AdjustmentType, st.ScalingAdjustment, s.MinAdjustmentMagnitude, b)
		if to <= o.Desired {
			return hold(name, TypeStepScaling, o, b,
				fmt.Sprintf("the step wants %d instances; the desired capacity %d already covers it (%d warming up)", to, o.Desired, o.Warming))
		}
		return change(name, TypeStepScaling, o, trigger, to)
	}
	to := Adjust(o.Desired, s.AdjustmentType, st.ScalingAdjustment, s.MinAdjustmentMagnitude, b)
	if to >= o.Desired {
		return hold(name, TypeStepScaling, o, b, fmt.Sprintf("the step leaves the desired capacity at %d (bounds %d to %d)", o.Desired, b.Min, b.Max))
	}
	if o.Warming > 0 {
		return hold(name, TypeStepScaling, o, b,
			fmt.Sprintf("the step wants %d instances, but scale-in waits for %d instances in warmup: the desired capacity stays at %d", to, o.Warming, o.Desired))
	}
	return change(name, TypeStepScaling, o, trigger, to)
}

// alarm names the alarm that triggered a step or simple policy.
func (s StepScaling) alarm(o Observation) string {
	if o.Alarm != "" {
		return o.Alarm
	}
	return s.Name + "-alarm"
}

// SimpleScaling is a simple scaling policy (PutScalingPolicy PolicyType
// SimpleScaling): one adjustment per alarm, then a cooldown during which
// further alarms are ignored.
type SimpleScaling struct {
	// Name is the policy's name.
	Name string
	// AdjustmentType says how ScalingAdjustment is read.
	AdjustmentType AdjustmentType
	// ScalingAdjustment is the change; positive scales out, negative in.
	ScalingAdjustment int
	// Cooldown is how long after the last scaling activity further alarms
	// are ignored; 0 means the group's DefaultCooldown (300 s).
	Cooldown time.Duration
	// MinAdjustmentMagnitude is the least change with
	// PercentChangeInCapacity; 0 for none.
	MinAdjustmentMagnitude int
}

// Validate checks the policy, naming every field in error.
func (s SimpleScaling) Validate() error {
	var p problems
	validateName(&p, s.Name)
	validateAdjustment(&p, s.AdjustmentType, s.MinAdjustmentMagnitude)
	validateScalingAdjustment(&p, "ScalingAdjustment", s.AdjustmentType, s.ScalingAdjustment)
	if s.Cooldown < 0 {
		p.add("Cooldown", s.Cooldown, "must not be negative; use 0 for the group's default cooldown of 300 s")
	}
	return p.err()
}

// cooldown returns the policy's cooldown, or the default.
func (s SimpleScaling) cooldown() time.Duration {
	if s.Cooldown == 0 {
		return DefaultCooldown
	}
	return s.Cooldown
}

// CooldownEnd returns when the cooldown that began at lastActivity (the
// end of the last scaling activity) ends; the zero time when there was
// none.
func (s SimpleScaling) CooldownEnd(lastActivity time.Time) time.Time {
	if lastActivity.IsZero() {
		return time.Time{}
	}
	return lastActivity.Add(s.cooldown())
}

// Decide applies the adjustment to the desired capacity, unless the group is
// still in the cooldown that began at lastActivity (the end of the last
// scaling activity; the zero time for none), in which case the alarm is
// ignored and Reason says until when. The result is kept within b. The
// alarm in state ALARM is the trigger: the observation's Value is not read.
func (s SimpleScaling) Decide(o Observation, lastActivity time.Time, b Bounds) Decision {
	if end := s.CooldownEnd(lastActivity); o.Now.Before(end) {
		return hold(s.Name, TypeSimpleScaling, o, b,
			fmt.Sprintf("the group is in cooldown until %s (%v after the last scaling activity): the alarm is ignored and the desired capacity stays at %d",
				end.UTC().Format(time.RFC3339), s.cooldown(), o.Desired))
	}
	to := Adjust(o.Desired, s.AdjustmentType, s.ScalingAdjustment, s.MinAdjustmentMagnitude, b)
	if to == o.Desired {
		return hold(s.Name, TypeSimpleScaling, o, b, fmt.Sprintf("the adjustment leaves the desired capacity at %d (bounds %d to %d)", to, b.Min, b.Max))
	}
	alarm := o.Alarm
	if alarm == "" {
		alarm = s.Name + "-alarm"
	}
	return change(s.Name, TypeSimpleScaling, o, alarmTrigger(alarm), to)
}
