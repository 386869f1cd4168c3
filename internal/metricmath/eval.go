package metricmath

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Series is one time series: timestamps ascending (period starts), one
// value each.
type Series struct {
	// ID is the query id the series belongs to.
	ID string
	// Label names the series in a graph's legend.
	Label string
	// Timestamps are the data points' times, ascending.
	Timestamps []time.Time
	// Values are the data points' values, Values[i] at Timestamps[i].
	Values []float64
}

// Env is what evaluating an expression sees.
type Env struct {
	// Series holds the results by query id: the metric queries' and those
	// of the expressions evaluated earlier. An id may hold several series
	// (an expression that returned an array, such as METRICS()); an id
	// holding exactly one series is a time series, any other number an
	// array of them.
	Series map[string][]Series
	// Order is the request's ids in their declared order; METRICS() and
	// METRICS("substr") return the series of its metric queries in this
	// order.
	Order []string
	// Expressions marks the ids of Order that are math expressions, which
	// METRICS() leaves out, as CloudWatch does. Order may instead list only
	// the metric queries' ids and leave Expressions nil.
	Expressions map[string]bool
	// Period is the query's period, for PERIOD() and the grid of
	// TIME_SERIES, FILL and the date functions.
	Period time.Duration
	// Start and End are the query's range. The grid is Start, Start+Period,
	// ... before End; callers align Start to the period, as GetMetricData
	// does.
	Start, End time.Time
}

// EvalError is what Eval returns when an expression cannot be computed:
// where in the expression the problem is, and what it is.
type EvalError struct {
	// Offset is the byte offset in the expression of the operation or
	// function that failed.
	Offset int
	// Err says what is wrong; it may wrap ErrScalarResult or ErrType.
	Err error
}

// Error returns "offset N: what is wrong".
func (e *EvalError) Error() string { return fmt.Sprintf("offset %d: %v", e.Offset, e.Err) }

// Unwrap returns the underlying error.
func (e *EvalError) Unwrap() error { return e.Err }

var (
	// ErrScalarResult is wrapped by the error of an expression whose final
	// result is a scalar: CloudWatch requires a time series or an array.
	ErrScalarResult = errors.New("the expression's result is a single number, not a time series")
	// ErrType is wrapped by the errors of operations on the wrong kind of
	// value, such as SUM of a number or an array divided by an array.
	ErrType = errors.New("wrong kind of value")
	// ErrUnknownID is wrapped by the errors of references to an id that
	// has no series, in Eval, and to an id no query has, in Order.
	ErrUnknownID = errors.New("unknown id")
)

// Eval evaluates the expression and returns its result: one series, or
// the series of an array. A scalar result is an error wrapping
// ErrScalarResult, as in CloudWatch, whose fix is TIME_SERIES(...).
//
// A result series derived from one source series keeps that source's ID
// and Label; one combining several (m1+m2, SUM([m1, m2])) has neither.
// ApplyLabels names results the way CloudWatch's legend does.
func Eval(e *Expr, env Env) ([]Series, error) {
	if e == nil || e.root == nil {
		return nil, errors.New("metricmath: Eval of a nil expression: parse it with Parse first")
	}
	ev := &evaluator{env: env, cache: map[string][]Series{}}
	v, err := ev.eval(e.root)
	if err != nil {
		return nil, err
	}
	switch v.k {
	case kSeries:
		return []Series{v.ser}, nil
	case kArray:
		return v.arr, nil
	}
	return nil, &EvalError{e.root.offset(), fmt.Errorf("%w: wrap it in TIME_SERIES(...) or combine it with a series, as in m1 - AVG(m1)", ErrScalarResult)}
}

// ApplyLabels sets the ID of every result series of the expression with
// this id to id, and labels them as CloudWatch's legend does: a single
// series takes the expression's label, or the id when it has none; the
// series of an array are labelled "exprLabel seriesLabel", or only their
// own label when the expression has none (the User Guide's way to show
// only the metrics' labels). A label that would be empty is the id.
func ApplyLabels(out []Series, id, label string) []Series {
	res := make([]Series, len(out))
	for i, s := range out {
		s.ID = id
		switch {
		case len(out) == 1:
			s.Label = label
		case label != "" && s.Label != "":
			s.Label = label + " " + s.Label
		case label != "":
			s.Label = label
		}
		if s.Label == "" {
			s.Label = id
		}
		res[i] = s
	}
	return res
}

type kind int

const (
	kScalar kind = iota
	kSeries
	kArray
	kString
	kKeyword
)

func (k kind) String() string {
	return [...]string{"a number", "a time series", "an array of time series", "a string", "a keyword"}[k]
}

// value is an intermediate result. A scalar with no value (the AVG of an
// empty series) is NaN; a series never holds a non-finite value.
type value struct {
	k   kind
	num float64
	ser Series
	arr []Series
	str string
}

func scalar(v float64) value {
	if math.IsInf(v, 0) {
		v = math.NaN()
	}
	return value{k: kScalar, num: v}
}

type evaluator struct {
	env   Env
	cache map[string][]Series
}

func typeErr(off int, format string, args ...any) error {
	return &EvalError{off, fmt.Errorf("%w: %s", ErrType, fmt.Sprintf(format, args...))}
}

func (ev *evaluator) eval(n node) (value, error) {
	switch n := n.(type) {
	case *num:
		return scalar(n.v), nil
	case *str:
		return value{k: kString, str: n.s}, nil
	case *keyword:
		return value{k: kKeyword, str: n.name}, nil
	case *ref:
		ss, err := ev.lookupID(n.id, n.off)
		if err != nil {
			return value{}, err
		}
		if len(ss) == 1 {
			return value{k: kSeries, ser: ss[0]}, nil
		}
		return value{k: kArray, arr: ss}, nil
	case *array:
		var arr []Series
		for _, e := range n.elems {
			v, err := ev.eval(e)
			if err != nil {
				return value{}, err
			}
			switch v.k {
			case kSeries:
				arr = append(arr, v.ser)
			case kArray:
				arr = append(arr, v.arr...)
			default:
				return value{}, typeErr(e.offset(), "an array holds time series, not %s: remove it or wrap it in TIME_SERIES(...)", v.k)
			}
		}
		return value{k: kArray, arr: arr}, nil
	case *unary:
		x, err := ev.eval(n.x)
		if err != nil {
			return value{}, err
		}
		f := func(v float64) float64 { return -v }
		if n.op == "NOT" {
			f = func(v float64) float64 { return b2f(v == 0) }
		}
		return mapValue(x, n.off, n.op, f)
	case *binary:
		l, err := ev.eval(n.l)
		if err != nil {
			return value{}, err
		}
		r, err := ev.eval(n.r)
		if err != nil {
			return value{}, err
		}
		return combineValues(l, r, n.off, n.op, opFunc(n.op))
	case *call:
		spec, _ := lookup(n.name)
		args := make([]value, len(n.args))
		for i, a := range n.args {
			v, err := ev.eval(a)
			if err != nil {
				return value{}, err
			}
			args[i] = v
		}
		return spec.eval(ev, n, args)
	}
	return value{}, fmt.Errorf("metricmath: unknown node %T", n)
}

// lookupID returns the series of id from the environment, checked and
// sorted once per evaluation.
func (ev *evaluator) lookupID(id string, off int) ([]Series, error) {
	if ss, ok := ev.cache[id]; ok {
		return ss, nil
	}
	raw, ok := ev.env.Series[id]
	if !ok {
		return nil, &EvalError{off, fmt.Errorf("%w %s: no query with this id has been evaluated; add it or evaluate the queries in Order's order", ErrUnknownID, id)}
	}
	ss := make([]Series, len(raw))
	for i, s := range raw {
		if len(s.Timestamps) != len(s.Values) {
			return nil, &EvalError{off, fmt.Errorf("series %d of id %s has %d timestamps but %d values: give one value per timestamp", i, id, len(s.Timestamps), len(s.Values))}
		}
		ss[i] = clean(s)
	}
	ev.cache[id] = ss
	return ss, nil
}

// clean returns a copy of s sorted by time, without non-finite values and
// with one point per timestamp (the last one given).
func clean(s Series) Series {
	out := Series{ID: s.ID, Label: s.Label}
	idx := make([]int, len(s.Timestamps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return s.Timestamps[a].Compare(s.Timestamps[b]) })
	for _, i := range idx {
		t, v := s.Timestamps[i], s.Values[i]
		if n := len(out.Timestamps); n > 0 && out.Timestamps[n-1].Equal(t) && !math.IsNaN(v) && !math.IsInf(v, 0) {
			out.Values[n-1] = v
			continue
		}
		out.add(t, v)
	}
	return out
}

// add appends a point unless its value is not finite.
func (s *Series) add(t time.Time, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	s.Timestamps = append(s.Timestamps, t)
	s.Values = append(s.Values, v)
}

// at returns the value at t, if s has one.
func (s Series) at(t time.Time) (float64, bool) {
	i, ok := slices.BinarySearchFunc(s.Timestamps, t, time.Time.Compare)
	if !ok {
		return 0, false
	}
	return s.Values[i], true
}

// derived returns an empty series that keeps s's ID and Label.
func derived(s Series) Series { return Series{ID: s.ID, Label: s.Label} }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func opFunc(op string) func(x, y float64) float64 {
	switch op {
	case "+":
		return func(x, y float64) float64 { return x + y }
	case "-":
		return func(x, y float64) float64 { return x - y }
	case "*":
		return func(x, y float64) float64 { return x * y }
	case "/":
		return func(x, y float64) float64 {
			if y == 0 {
				return math.NaN()
			}
			return x / y
		}
	case "^":
		return math.Pow
	case "==":
		return func(x, y float64) float64 { return b2f(x == y) }
	case "!=":
		return func(x, y float64) float64 { return b2f(x != y) }
	case "<":
		return func(x, y float64) float64 { return b2f(x < y) }
	case "<=":
		return func(x, y float64) float64 { return b2f(x <= y) }
	case ">":
		return func(x, y float64) float64 { return b2f(x > y) }
	case ">=":
		return func(x, y float64) float64 { return b2f(x >= y) }
	case "AND":
		return func(x, y float64) float64 { return b2f(x != 0 && y != 0) }
	}
	return func(x, y float64) float64 { return b2f(x != 0 || y != 0) }
}

// mapSeries applies f to every point of s.
func mapSeries(s Series, f func(float64) float64) Series {
	out := derived(s)
	for i, t := range s.Timestamps {
		out.add(t, f(s.Values[i]))
	}
	return out
}

// mapValue applies f to a scalar, every point of a series, or every point
// of every series of an array.
func mapValue(x value, off int, what string, f func(float64) float64) (value, error) {
	switch x.k {
	case kScalar:
		if math.IsNaN(x.num) {
			return x, nil
		}
		return scalar(f(x.num)), nil
	case kSeries:
		return value{k: kSeries, ser: mapSeries(x.ser, f)}, nil
	case kArray:
		arr := make([]Series, len(x.arr))
		for i, s := range x.arr {
			arr[i] = mapSeries(s, f)
		}
		return value{k: kArray, arr: arr}, nil
	}
	return value{}, typeErr(off, "%s applies to numbers and time series, not %s", what, x.k)
}

// combineSeries applies f on the union of a's and b's timestamps, a value
// missing from one side counting as 0, as the User Guide documents for
// arithmetic and comparison operators. The result keeps a's ID and Label
// only when b has the same ones (the same source).
func combineSeries(a, b Series, f func(x, y float64) float64) Series {
	var out Series
	if a.ID == b.ID && a.Label == b.Label {
		out = derived(a)
	}
	i, j := 0, 0
	for i < len(a.Timestamps) || j < len(b.Timestamps) {
		switch {
		case j == len(b.Timestamps) || i < len(a.Timestamps) && a.Timestamps[i].Before(b.Timestamps[j]):
			out.add(a.Timestamps[i], f(a.Values[i], 0))
			i++
		case i == len(a.Timestamps) || b.Timestamps[j].Before(a.Timestamps[i]):
			out.add(b.Timestamps[j], f(0, b.Values[j]))
			j++
		default:
			out.add(a.Timestamps[i], f(a.Values[i], b.Values[j]))
			i++
			j++
		}
	}
	return out
}

// combineValues applies a binary operator to two values of any kinds
// except two arrays.
func combineValues(l, r value, off int, op string, f func(x, y float64) float64) (value, error) {
	for _, v := range []value{l, r} {
		if v.k != kScalar && v.k != kSeries && v.k != kArray {
			return value{}, typeErr(off, "%s applies to numbers and time series, not %s", op, v.k)
		}
	}
	switch {
	case l.k == kScalar && r.k == kScalar:
		return scalar(f(l.num, r.num)), nil
	case l.k == kArray && r.k == kArray:
		return value{}, typeErr(off, "%s between two arrays of time series is not defined: reduce one to a series first, as in SUM([m1, m2])", op)
	case l.k == kArray || r.k == kArray:
		arr, other, left := l.arr, r, true
		if r.k == kArray {
			arr, other, left = r.arr, l, false
		}
		out := make([]Series, len(arr))
		for i, s := range arr {
			sv := value{k: kSeries, ser: s}
			var res value
			if left {
				res, _ = combineValues(sv, other, off, op, f)
			} else {
				res, _ = combineValues(other, sv, off, op, f)
			}
			out[i] = res.ser
		}
		return value{k: kArray, arr: out}, nil
	case l.k == kScalar:
		return value{k: kSeries, ser: mapSeries(r.ser, func(y float64) float64 { return f(l.num, y) })}, nil
	case r.k == kScalar:
		return value{k: kSeries, ser: mapSeries(l.ser, func(x float64) float64 { return f(x, r.num) })}, nil
	}
	return value{k: kSeries, ser: combineSeries(l.ser, r.ser, f)}, nil
}

// grid returns the query's period starts, for the functions that create
// points where the data has none.
func (ev *evaluator) grid(off int, fn string) ([]time.Time, error) {
	const maxPoints = 1_000_000
	p, start, end := ev.env.Period, ev.env.Start, ev.env.End
	if p <= 0 || !end.After(start) {
		return nil, &EvalError{off, fmt.Errorf("%s needs the query's period and range: set Env.Period above zero and Env.End after Env.Start", fn)}
	}
	if end.Sub(start)/p > maxPoints {
		return nil, &EvalError{off, fmt.Errorf("%s would create more than %d points: use a longer period or a shorter range", fn, maxPoints)}
	}
	var ts []time.Time
	for t := start; t.Before(end); t = t.Add(p) {
		ts = append(ts, t)
	}
	return ts, nil
}
