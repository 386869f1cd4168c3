package alarm

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Datapoint is one period's aggregated value of the alarm's statistic.
type Datapoint struct {
	// Timestamp is the start of the datapoint's period.
	Timestamp time.Time
	// Value is the statistic's value for the period. NaN and ±Inf count as
	// no datapoint.
	Value float64
	// SampleCount is how many samples the value aggregates (0 if unknown);
	// percentile alarms that ignore low sample counts need it.
	SampleCount float64
}

// Result is an evaluation's outcome.
type Result struct {
	// State is the alarm's new state.
	State State
	// Reason is AWS's StateReason wording, e.g. "Threshold Crossed: 3 out
	// of the last 3 datapoints [...] were greater than or equal to the
	// threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition)."
	Reason string
	// ReasonData is AWS's StateReasonData (its String is the JSON).
	ReasonData ReasonData
	// Changed says State differs from the previous state.
	Changed bool
}

// Initial returns a new alarm's result: INSUFFICIENT_DATA with AWS's
// "Unchecked: Initial alarm creation".
func Initial(now time.Time) Result {
	return Result{
		State:      InsufficientData,
		Reason:     "Unchecked: Initial alarm creation",
		ReasonData: ReasonData{Version: reasonVersion, QueryDate: now},
	}
}

// slot is one period of the evaluation range.
type slot struct {
	start      time.Time
	present    bool // the period has a datapoint
	filled     bool // a missing period counted per TreatMissingData
	value      float64
	samples    float64
	breach     bool
	age        int // 1 for the newest period of the range
	lowSamples bool
}

// Evaluate decides the alarm's state at now from the datapoints in
// r.Window(now) (any order; those outside it, and NaN or infinite values,
// are ignored; of two datapoints for one period the later in points wins)
// and the previous state (anything but the three states, such as "" for a
// new alarm, is read as INSUFFICIENT_DATA).
//
// It follows AWS's "How alarm state is evaluated when data is missing",
// reading the evaluation range as r.EvaluationRange() periods:
//
//   - With at least N datapoints in the range, the N most recent are
//     evaluated, however old, and TreatMissingData does not matter: ALARM
//     when at least M breach, otherwise OK.
//   - With none, missing gives INSUFFICIENT_DATA, ignore keeps the state,
//     breaching ALARM and notBreaching OK.
//   - With fewer than N, all of them are evaluated and the most recent
//     missing periods fill up the N: breaching counts them as breaching,
//     notBreaching as not. missing and ignore count only the datapoints:
//     ALARM when M of them breach, OK when any does not, and otherwise
//     (all breach but fewer than M) the premature-alarm rule decides:
//     with missing, ALARM when the oldest breaching datapoint is at least M
//     periods old, else INSUFFICIENT_DATA; ignore keeps the state.
//
// A percentile rule with EvaluateLowSampleCountPercentile "ignore" keeps the
// state when an evaluated datapoint has fewer samples than MinSamples.
// An invalid rule keeps the state too, with the problem as the reason.
func Evaluate(r Rule, points []Datapoint, prev State, now time.Time) Result {
	prev = prev.orInitial()
	if err := r.Validate(); err != nil {
		return Result{State: prev, Reason: "Unchecked: invalid alarm rule: " + strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	e := evaluator{r: r, n: r.EvaluationPeriods, m: r.datapointsToAlarm(), prev: prev, now: now}
	e.fill(points)
	state, reason := e.decide()
	res := Result{State: state, Reason: reason, ReasonData: e.reasonData(), Changed: state != prev}
	return res
}

// evaluator holds one evaluation's inputs and its range.
type evaluator struct {
	r     Rule
	n, m  int
	prev  State
	now   time.Time
	slots []slot // oldest first
	// evaluated are the periods the decision used, newest first.
	evaluated []slot
}

func (e *evaluator) fill(points []Datapoint) {
	start, end := e.r.Window(e.now)
	rng := e.r.EvaluationRange()
	e.slots = make([]slot, rng)
	for i := range e.slots {
		e.slots[i] = slot{start: start.Add(time.Duration(i) * e.r.Period), age: rng - i}
	}
	minSamples := 0.0
	if e.r.Percentile && e.r.EvaluateLowSampleCountPercentile == LowSampleIgnore {
		p, _ := percentileOf(e.r.Statistic)
		minSamples = MinSamples(p)
	}
	for _, p := range points {
		if p.Timestamp.Before(start) || !p.Timestamp.Before(end) || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			continue
		}
		s := &e.slots[int(p.Timestamp.Sub(start)/e.r.Period)]
		s.present, s.value, s.samples = true, p.Value, p.SampleCount
		s.breach = e.r.Operator.Breaches(p.Value, e.r.Threshold)
		s.lowSamples = p.SampleCount < minSamples
	}
}

// datapoints returns the range's datapoints, newest first.
func (e *evaluator) datapoints() []slot {
	var out []slot
	for i := len(e.slots) - 1; i >= 0; i-- {
		if e.slots[i].present {
			out = append(out, e.slots[i])
		}
	}
	return out
}

// withMissing returns the datapoints plus the k most recent missing
// periods, newest first. Under breaching and notBreaching those periods are
// filled (breaching or not); under missing and ignore they stay unknown.
func (e *evaluator) withMissing(k int, treat Missing) []slot {
	var out []slot
	for i := len(e.slots) - 1; i >= 0; i-- {
		s := e.slots[i]
		if !s.present {
			if k == 0 {
				continue
			}
			k--
			s.filled = treat == MissingBreaching || treat == MissingNotBreaching
			s.breach = treat == MissingBreaching
		}
		out = append(out, s)
	}
	return out
}

func countBreach(ss []slot) (b int) {
	for _, s := range ss {
		if s.breach {
			b++
		}
	}
	return b
}

func (e *evaluator) decide() (State, string) {
	pts := e.datapoints()
	treat := e.r.TreatMissingData.orDefault()
	switch {
	case len(pts) >= e.n:
		e.evaluated = pts[:e.n]
	case len(pts) == 0:
		e.evaluated = e.withMissing(e.n, treat)
		switch treat {
		case MissingIgnore:
			return e.prev, fmt.Sprintf("Unchanged: %s unknown and TreatMissingData is ignore.", countNoun(e.n, "datapoint was", "datapoints were"))
		case MissingBreaching:
			return Alarm, e.allMissingReason(Alarm)
		case MissingNotBreaching:
			return OK, e.allMissingReason(OK)
		}
		return InsufficientData, fmt.Sprintf("Insufficient Data: %s unknown.", countNoun(e.n, "datapoint was", "datapoints were"))
	default:
		e.evaluated = e.withMissing(e.n-len(pts), treat)
	}
	if st, reason, low := e.lowSamples(); low {
		return st, reason
	}
	if len(pts) >= e.n || treat == MissingBreaching || treat == MissingNotBreaching {
		return e.threshold(countBreach(e.evaluated) >= e.m)
	}

	// missing or ignore with fewer datapoints than N: only the datapoints
	// count.
	unknown := e.n - len(pts)
	b := countBreach(pts)
	switch {
	case b >= e.m:
		return e.threshold(true)
	case b < len(pts):
		return e.threshold(false)
	case treat == MissingIgnore:
		return e.prev, fmt.Sprintf("Unchanged: %s unknown and TreatMissingData is ignore.", countNoun(unknown, "datapoint was", "datapoints were"))
	}
	oldest := pts[len(pts)-1]
	if oldest.age >= e.m {
		return Alarm, fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints %s %s %s the threshold (%s) and the more recent periods had no data (the oldest breaching datapoint is %d periods old, at least the minimum %s for %s -> ALARM transition).",
			b, e.n, formatList(pts), wasWere(b), e.r.Operator.phrase(), formatValue(e.r.Threshold), oldest.age, countNoun(e.m, "datapoint", "datapoints"), e.from(Alarm))
	}
	return InsufficientData, fmt.Sprintf("Insufficient Data: %s unknown.", countNoun(unknown, "datapoint was", "datapoints were"))
}

// lowSamples keeps the state when an evaluated percentile datapoint has too
// few samples and the rule ignores those.
func (e *evaluator) lowSamples() (State, string, bool) {
	for _, s := range e.evaluated {
		if s.present && s.lowSamples {
			p, _ := percentileOf(e.r.Statistic)
			return e.prev, fmt.Sprintf("Unchanged: the datapoint %s has %v samples, fewer than the %v a %s statistic needs to be significant, and EvaluateLowSampleCountPercentile is ignore.",
				formatList([]slot{s}), s.samples, MinSamples(p), e.r.Statistic), true
		}
	}
	return "", "", false
}

// from is the state named in a reason's "X -> state transition": the
// previous state, or when the state holds, the one it would have left.
func (e *evaluator) from(to State) State {
	if e.prev != to {
		return e.prev
	}
	if to == Alarm {
		return OK
	}
	return Alarm
}

// threshold words an ALARM (alarm) or OK decision over e.evaluated.
func (e *evaluator) threshold(alarm bool) (State, string) {
	to, not, minimum := OK, "not ", e.n-e.m+1
	if alarm {
		to, not, minimum = Alarm, "", e.m
	}
	var shown []slot
	filled, unknown := 0, 0
	for _, s := range e.evaluated {
		switch {
		case s.filled && s.breach == alarm:
			filled++
		case s.filled:
		case !s.present:
			unknown++
		case s.breach == alarm:
			shown = append(shown, s)
		}
	}
	count := len(shown) + filled
	var b strings.Builder
	if e.n == 1 && filled == 0 {
		fmt.Fprintf(&b, "Threshold Crossed: 1 datapoint %s was %s%s the threshold (%s).", formatList(shown), not, e.r.Operator.phrase(), formatValue(e.r.Threshold))
		return to, b.String()
	}
	fmt.Fprintf(&b, "Threshold Crossed: %d out of the last %d datapoints %s %s %s%s the threshold (%s)",
		count, e.n, formatList(shown), wasWere(count), not, e.r.Operator.phrase(), formatValue(e.r.Threshold))
	if filled > 0 {
		treated := "[NonBreaching]"
		if alarm {
			treated = "[Breaching]"
		}
		fmt.Fprintf(&b, " with %s treated as %s", countNoun(filled, "missing datapoint", "missing datapoints"), treated)
	}
	if unknown > 0 {
		fmt.Fprintf(&b, " and %s unknown", countNoun(unknown, "datapoint was", "datapoints were"))
	} else {
		fmt.Fprintf(&b, " (minimum %s for %s -> %s transition)", countNoun(minimum, "datapoint", "datapoints"), e.from(to), to)
	}
	b.WriteString(".")
	return to, b.String()
}

// allMissingReason words breaching or notBreaching deciding a range with no
// datapoints.
func (e *evaluator) allMissingReason(to State) string {
	treated := "[NonBreaching]"
	if to == Alarm {
		treated = "[Breaching]"
	}
	return fmt.Sprintf("Threshold Crossed: no datapoints were received for %s and %s treated as %s.",
		countNoun(e.n, "period", "periods"), countNoun(e.n, "missing datapoint was", "missing datapoints were"), treated)
}

func countNoun(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// formatList words datapoints as AWS's reasons do, newest first:
// "[85.1 (01/12/26 10:02:00), 90.0 (01/12/26 10:01:00)]".
func formatList(ss []slot) string {
	parts := make([]string, 0, len(ss))
	for _, s := range ss {
		parts = append(parts, fmt.Sprintf("%s (%s)", formatValue(s.value), s.start.UTC().Format("02/01/06 15:04:05")))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
