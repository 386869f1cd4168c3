// Package alarm decides CloudWatch alarm states as pure functions: a metric
// alarm's state from its rule, the datapoints of its evaluation range and its
// previous state (Evaluate), a composite alarm's state from its rule
// expression and the states of the alarms it references (EvaluateComposite),
// and the history items AWS records for a state change (StateUpdate).
//
// Nothing here reads a clock, a store or a metric: callers pass now and the
// data, so the same inputs always give the same Result.
//
// The semantics follow AWS's "Configuring how CloudWatch alarms treat missing
// data" and "Avoiding premature transitions to alarm state" (CloudWatch User
// Guide, Using Amazon CloudWatch alarms), "Percentile-based alarms and low
// data samples", and the PutMetricAlarm and PutCompositeAlarm API references.
// Where those pages leave a choice open the choice is documented on the
// identifier that makes it.
package alarm

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// State is an alarm's state.
type State string

// The three alarm states.
const (
	OK               State = "OK"
	Alarm            State = "ALARM"
	InsufficientData State = "INSUFFICIENT_DATA"
)

// valid reports whether s is one of the three states.
func (s State) valid() bool { return s == OK || s == Alarm || s == InsufficientData }

// orInitial returns s, or InsufficientData when s is not a state (the zero
// value means a new alarm, which AWS starts in INSUFFICIENT_DATA).
func (s State) orInitial() State {
	if s.valid() {
		return s
	}
	return InsufficientData
}

// Operator is PutMetricAlarm's ComparisonOperator: how a datapoint is
// compared with the threshold. A datapoint for which the comparison holds is
// breaching.
type Operator string

// The static-threshold operators madang evaluates.
const (
	GreaterThanOrEqualToThreshold Operator = "GreaterThanOrEqualToThreshold"
	GreaterThanThreshold          Operator = "GreaterThanThreshold"
	LessThanThreshold             Operator = "LessThanThreshold"
	LessThanOrEqualToThreshold    Operator = "LessThanOrEqualToThreshold"
)

// The anomaly-detection band operators. They parse (Validate names them) but
// are rejected: madang has no anomaly detection models.
const (
	LessThanLowerOrGreaterThanUpperThreshold Operator = "LessThanLowerOrGreaterThanUpperThreshold"
	LessThanLowerThreshold                   Operator = "LessThanLowerThreshold"
	GreaterThanUpperThreshold                Operator = "GreaterThanUpperThreshold"
)

// Breaches reports whether value breaches threshold under o. Unknown
// operators never breach (Validate rejects them).
func (o Operator) Breaches(value, threshold float64) bool {
	switch o {
	case GreaterThanOrEqualToThreshold:
		return value >= threshold
	case GreaterThanThreshold:
		return value > threshold
	case LessThanThreshold:
		return value < threshold
	case LessThanOrEqualToThreshold:
		return value <= threshold
	}
	return false
}

// phrase is how AWS's state reasons word o ("greater than or equal to").
func (o Operator) phrase() string {
	switch o {
	case GreaterThanOrEqualToThreshold:
		return "greater than or equal to"
	case GreaterThanThreshold:
		return "greater than"
	case LessThanThreshold:
		return "less than"
	case LessThanOrEqualToThreshold:
		return "less than or equal to"
	}
	return string(o)
}

// Missing is PutMetricAlarm's TreatMissingData.
type Missing string

// The four ways to treat missing data. The zero value means MissingMissing,
// AWS's default.
const (
	MissingMissing      Missing = "missing"
	MissingNotBreaching Missing = "notBreaching"
	MissingBreaching    Missing = "breaching"
	MissingIgnore       Missing = "ignore"
)

// orDefault returns m, or MissingMissing for the zero value.
func (m Missing) orDefault() Missing {
	if m == "" {
		return MissingMissing
	}
	return m
}

// The values of Rule.EvaluateLowSampleCountPercentile.
const (
	LowSampleEvaluate = "evaluate"
	LowSampleIgnore   = "ignore"
)

// Limits from PutMetricAlarm: a rule's evaluation periods together may span
// at most seven days, and at most one day when the period is under an hour.
const (
	maxSpan      = 7 * 24 * time.Hour
	maxShortSpan = 24 * time.Hour
)

// Rule is what a metric alarm evaluates (its data source is the
// controller's business).
type Rule struct {
	// Period is the length of one datapoint's aggregation. AWS allows 10,
	// 20 and 30 s for high-resolution alarms and any multiple of 60 s;
	// madang allows any whole number of seconds of at least 1 that divides
	// 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30) or is a multiple of 60.
	Period time.Duration
	// EvaluationPeriods is N, the number of most recent periods evaluated.
	EvaluationPeriods int
	// DatapointsToAlarm is M, how many of the N must breach for ALARM:
	// 1 ≤ M ≤ N; 0 means N.
	DatapointsToAlarm int
	// Threshold is what each datapoint is compared with.
	Threshold float64
	// Operator is how each datapoint is compared with Threshold.
	Operator Operator
	// TreatMissingData is how periods without a datapoint count; "" means
	// MissingMissing.
	TreatMissingData Missing
	// Statistic names the datapoints' statistic ("Average", "Maximum",
	// "p99", ...). It is shown in ReasonData and, for a percentile alarm,
	// gives the percentile of the low-sample rule.
	Statistic string
	// Percentile says the statistic is a percentile (for
	// EvaluateLowSampleCountPercentile).
	Percentile bool
	// EvaluateLowSampleCountPercentile is LowSampleEvaluate (the default,
	// also "") or LowSampleIgnore: keep the state while a percentile
	// datapoint has too few samples to be significant.
	EvaluateLowSampleCountPercentile string
}

// FieldError is what is wrong with one field of a Rule.
type FieldError struct {
	// Field is the Rule field's name as in PutMetricAlarm, e.g.
	// "DatapointsToAlarm".
	Field string
	// Value is the offending value as given.
	Value string
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error formats the problem as "Field (got Value): Msg".
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s (got %s): %s", e.Field, e.Value, e.Msg)
}

func fieldErr(field string, value any, format string, args ...any) *FieldError {
	v := fmt.Sprint(value)
	if s, ok := value.(string); ok {
		v = strconv.Quote(s)
	}
	return &FieldError{Field: field, Value: v, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks the rule against PutMetricAlarm's constraints (with
// madang's wider choice of periods). The error joins one *FieldError per
// problem; use errors.As to get the first.
func (r Rule) Validate() error {
	var errs []error
	add := func(e *FieldError) { errs = append(errs, e) }

	secs := r.Period / time.Second
	switch {
	case r.Period < time.Second || r.Period%time.Second != 0:
		add(fieldErr("Period", r.Period, "must be a whole number of seconds of at least 1; use 60s, or 10s/30s for high resolution"))
	case secs < 60 && 60%secs != 0:
		add(fieldErr("Period", r.Period, "a period under a minute must divide 60 s (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 s); use %s", nearestDivisor(int(secs))))
	case secs > 60 && secs%60 != 0:
		add(fieldErr("Period", r.Period, "a period over a minute must be a multiple of 60 s; use %s or %s", time.Duration(secs/60*60)*time.Second, time.Duration((secs/60+1)*60)*time.Second))
	}

	n := r.EvaluationPeriods
	if n < 1 {
		add(fieldErr("EvaluationPeriods", n, "must be at least 1; set the number of most recent periods to evaluate, e.g. 3"))
	} else if r.Period >= time.Second {
		limit := maxSpan
		if r.Period < time.Hour {
			limit = maxShortSpan
		}
		if span := time.Duration(n) * r.Period; span > limit || span/time.Duration(n) != r.Period {
			add(fieldErr("EvaluationPeriods", n, "Period × EvaluationPeriods is %s, over the %s limit; use at most %d periods of %s, or a longer period", span, limit, limit/r.Period, r.Period))
		}
	}

	if m := r.DatapointsToAlarm; m < 0 || (n >= 1 && m > n) {
		add(fieldErr("DatapointsToAlarm", m, "must be from 1 to EvaluationPeriods (%d), or 0 for all of them", max(n, 1)))
	}

	if math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0) {
		add(fieldErr("Threshold", r.Threshold, "must be a finite number"))
	}

	switch r.Operator {
	case GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold:
	case LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, GreaterThanUpperThreshold:
		add(fieldErr("Operator", string(r.Operator), "anomaly detection bands are not supported; use a static threshold with %s", operatorList))
	default:
		add(fieldErr("Operator", string(r.Operator), "is not a comparison operator; use %s", operatorList))
	}

	switch r.TreatMissingData {
	case "", MissingMissing, MissingNotBreaching, MissingBreaching, MissingIgnore:
	default:
		add(fieldErr("TreatMissingData", string(r.TreatMissingData), "use missing (the default), notBreaching, breaching or ignore"))
	}

	switch r.EvaluateLowSampleCountPercentile {
	case "", LowSampleEvaluate:
	case LowSampleIgnore:
		if !r.Percentile {
			add(fieldErr("EvaluateLowSampleCountPercentile", r.EvaluateLowSampleCountPercentile, "applies only to percentile statistics; set Percentile, or leave it empty"))
		} else if _, ok := percentileOf(r.Statistic); !ok {
			add(fieldErr("Statistic", r.Statistic, "a percentile alarm that ignores low sample counts must name its percentile; use p0 to p100, e.g. p99"))
		}
	default:
		add(fieldErr("EvaluateLowSampleCountPercentile", r.EvaluateLowSampleCountPercentile, "use evaluate (the default) or ignore"))
	}

	return errors.Join(errs...)
}

const operatorList = "GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold"

// nearestDivisor names the divisor of 60 closest to secs.
func nearestDivisor(secs int) time.Duration {
	best := 1
	for _, d := range []int{1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30} {
		if abs(d-secs) <= abs(best-secs) {
			best = d
		}
	}
	return time.Duration(best) * time.Second
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// percentileOf parses a percentile statistic such as "p99" or "p99.9" into
// a fraction (0.99, 0.999).
func percentileOf(stat string) (float64, bool) {
	rest, ok := strings.CutPrefix(strings.ToLower(stat), "p")
	if !ok || rest == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(rest, 64)
	if err != nil || math.IsNaN(v) || v < 0 || v > 100 {
		return 0, false
	}
	return v / 100, true
}

// MinSamples is the sample count below which a datapoint of the percentile
// p (a fraction, 0.99 for p99) is not statistically significant: 10/(1-p)
// for 0.5 ≤ p < 1 and 10/p for 0 < p < 0.5, as AWS's "Percentile-based
// alarms and low data samples" gives, rounded up to a whole count (sample
// counts are whole, and 10/(1-0.99) is 999.9999999999999 in floating
// point). p0 and p100 are the minimum and the maximum, exact from one
// sample, so their minimum is 0 (madang's reading: the page's formulas are
// undefined there).
func MinSamples(p float64) float64 {
	var x float64
	switch {
	case p <= 0 || p >= 1:
		return 0
	case p >= 0.5:
		x = 10 / (1 - p)
	default:
		x = 10 / p
	}
	return math.Ceil(x - 1e-6)
}

// datapointsToAlarm is M with 0 meaning N.
func (r Rule) datapointsToAlarm() int {
	if r.DatapointsToAlarm == 0 {
		return r.EvaluationPeriods
	}
	return r.DatapointsToAlarm
}

// EvaluationRange is how many periods Evaluate looks at: the N evaluation
// periods plus two more. AWS retrieves "a higher number of data points than
// the number specified as Evaluation Periods" and says the number depends on
// the period and the metric's resolution without giving it; its only worked
// example (N = 3) retrieves 5. madang uses N + 2 for every period.
func (r Rule) EvaluationRange() int { return r.EvaluationPeriods + 2 }

// periodEnd is where the newest complete period ends at now. Periods of a
// minute or more are laid on the minute grid (AWS evaluates every minute and
// a 5-minute alarm at 12:16 wants datapoints at 12:01, 12:06 and 12:11);
// shorter periods divide a minute and are laid on their own grid.
func (r Rule) periodEnd(now time.Time) time.Time {
	if r.Period >= time.Minute {
		return now.Truncate(time.Minute)
	}
	return now.Truncate(r.Period)
}

// Window returns the time range [start, end) whose datapoints Evaluate
// needs at now: the EvaluationRange() most recent complete periods. A period
// counts once it has ended, so end is the start of the period now is in (for
// periods of a minute or more, the start of now's minute), and start is
// EvaluationRange() periods before it. An invalid rule's window is empty.
func (r Rule) Window(now time.Time) (start, end time.Time) {
	if r.Period < time.Second || r.EvaluationPeriods < 1 {
		return now, now
	}
	end = r.periodEnd(now)
	return end.Add(-time.Duration(r.EvaluationRange()) * r.Period), end
}

// Periods returns the starts of the periods in Window(now), oldest first:
// the timestamps the controller's datapoints should carry.
func (r Rule) Periods(now time.Time) []time.Time {
	start, end := r.Window(now)
	var out []time.Time
	for t := start; t.Before(end); t = t.Add(r.Period) {
		out = append(out, t)
	}
	return out
}
