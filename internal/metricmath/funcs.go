package metricmath

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// manyArgs is the max of a function that takes any number of arguments.
const manyArgs = math.MaxInt

// funcSpec describes a function: how many arguments it takes, which of
// them are literals (strings, keywords), and how it evaluates.
type funcSpec struct {
	min, max int
	usage    string
	// lits, when set, says whether argument i may or must be a literal.
	lits func(i int, a node) (accepted bool, err error)
	eval func(ev *evaluator, c *call, args []value) (value, error)
}

func (s funcSpec) literalArg(c *call, i int, a node) (bool, error) {
	if s.lits == nil {
		return false, nil
	}
	return s.lits(i, a)
}

// functionNames lists the supported functions, for error messages.
func functionNames() []string {
	return []string{"ABS", "AVG", "CEIL", "CONCAT", "DATAPOINT_COUNT", "DATE", "DAY", "DIFF", "DIFF_TIME",
		"EPOCH", "FILL", "FIRST", "FLOOR", "HOUR", "IF", "LAST", "LOG", "LOG10", "MAX", "METRIC_COUNT",
		"METRICS", "MIN", "MINUTE", "MONTH", "PERIOD", "RATE", "REMOVE_EMPTY", "RUNNING_SUM", "SLICE",
		"SORT", "STDDEV", "SUM", "TIME_SERIES", "YEAR"}
}

// lookup returns the function of a capitalised name.
func lookup(name string) (funcSpec, bool) {
	one := func(usage string, f func(ev *evaluator, c *call, args []value) (value, error)) funcSpec {
		return funcSpec{min: 1, max: 1, usage: usage, eval: f}
	}
	switch name {
	case "ABS":
		return one("ABS(m1)", pointwise(math.Abs)), true
	case "CEIL":
		return one("CEIL(m1)", pointwise(math.Ceil)), true
	case "FLOOR":
		return one("FLOOR(m1)", pointwise(math.Floor)), true
	case "LOG":
		return one("LOG(m1)", pointwise(math.Log)), true
	case "LOG10":
		return one("LOG10(m1)", pointwise(math.Log10)), true
	case "SUM", "AVG", "MIN", "MAX", "STDDEV", "DATAPOINT_COUNT":
		return one(name+"(m1) or "+name+"(METRICS())", evalReduce), true
	case "METRIC_COUNT":
		return one("METRIC_COUNT(METRICS())", evalMetricCount), true
	case "DIFF", "DIFF_TIME", "RATE", "RUNNING_SUM":
		return one(name+"(m1)", evalSequential), true
	case "FIRST", "LAST":
		return one(name+"(METRICS())", evalFirstLast), true
	case "REMOVE_EMPTY":
		return one("REMOVE_EMPTY(METRICS())", evalRemoveEmpty), true
	case "PERIOD":
		return one("PERIOD(m1)", evalPeriod), true
	case "TIME_SERIES":
		return one("TIME_SERIES(10)", evalTimeSeries), true
	case "MINUTE", "HOUR", "DAY", "DATE", "MONTH", "YEAR", "EPOCH":
		return one(name+"(m1)", evalCalendar), true
	case "METRICS":
		return funcSpec{min: 0, max: 1, usage: `METRICS() or METRICS("errors")`, lits: litMetrics, eval: evalMetrics}, true
	case "FILL":
		return funcSpec{min: 2, max: 2, usage: "FILL(m1, 0), FILL(m1, REPEAT) or FILL(m1, LINEAR)", lits: litFill, eval: evalFill}, true
	case "IF":
		return funcSpec{min: 2, max: 3, usage: "IF(m1 > 10, m1) or IF(m1 > 10, 1, 0)", eval: evalIf}, true
	case "SORT":
		return funcSpec{min: 3, max: 4, usage: "SORT(METRICS(), AVG, DESC) or SORT(METRICS(), MAX, ASC, 5)", lits: litSort, eval: evalSort}, true
	case "SLICE":
		return funcSpec{min: 2, max: 3, usage: "SLICE(METRICS(), 0, 10)", eval: evalSlice}, true
	case "CONCAT":
		return funcSpec{min: 1, max: manyArgs, usage: "CONCAT([m1, m2], METRICS())", eval: evalConcat}, true
	}
	return funcSpec{}, false
}

func litMetrics(_ int, a node) (bool, error) {
	if _, ok := a.(*str); !ok {
		return false, &SyntaxError{a.offset(), `METRICS takes a string to match in the metric ids: write METRICS("errors")`}
	}
	return true, nil
}

func litFill(i int, a node) (bool, error) {
	k, ok := a.(*keyword)
	if i == 1 && ok && (k.name == "REPEAT" || k.name == "LINEAR") {
		return true, nil
	}
	return false, nil
}

func litSort(i int, a node) (bool, error) {
	k, _ := a.(*keyword)
	switch i {
	case 1:
		if k == nil || k.name != "AVG" && k.name != "MIN" && k.name != "MAX" && k.name != "SUM" {
			return false, &SyntaxError{a.offset(), "SORT's second argument is the statistic to sort by: write AVG, MIN, MAX or SUM"}
		}
		return true, nil
	case 2:
		if k == nil || k.name != "ASC" && k.name != "DESC" {
			return false, &SyntaxError{a.offset(), "SORT's third argument is the order: write ASC or DESC"}
		}
		return true, nil
	}
	return false, nil
}

// needSeries returns v as an array of series (one for a single series), or
// an error naming the function when v is not a series or an array.
func needSeries(c *call, i int, v value) ([]Series, error) {
	switch v.k {
	case kSeries:
		return []Series{v.ser}, nil
	case kArray:
		return v.arr, nil
	}
	return nil, typeErr(c.args[i].offset(), "%s takes a time series or an array of them here, not %s", c.name, v.k)
}

// needScalar returns v's number, or an error naming the function.
func needScalar(c *call, i int, v value) (float64, error) {
	if v.k != kScalar {
		return 0, typeErr(c.args[i].offset(), "%s takes a number here, not %s: reduce it with MAX(...) or AVG(...)", c.name, v.k)
	}
	return v.num, nil
}

// sameShape returns the series as the argument came: one series for a
// series, an array for an array.
func sameShape(in value, out []Series) value {
	if in.k == kSeries {
		return value{k: kSeries, ser: out[0]}
	}
	return value{k: kArray, arr: out}
}

// pointwise is a function applied to every point: ABS, CEIL, FLOOR, LOG,
// LOG10. Beyond the User Guide, it also applies to a number. A point whose
// result is not finite (LOG of 0 or less) is dropped.
func pointwise(f func(float64) float64) func(ev *evaluator, c *call, args []value) (value, error) {
	return func(_ *evaluator, c *call, args []value) (value, error) {
		return mapValue(args[0], c.args[0].offset(), c.name, f)
	}
}

// stat computes one of SUM, AVG, MIN, MAX, STDDEV or DATAPOINT_COUNT of
// values; NaN when there are none (and the statistic needs some).
//
// STDDEV is the population standard deviation (dividing by the count);
// the User Guide does not say which it is.
func stat(name string, vs []float64) float64 {
	if name == "DATAPOINT_COUNT" {
		return float64(len(vs))
	}
	if len(vs) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	switch name {
	case "SUM":
		return sum
	case "AVG":
		return sum / float64(len(vs))
	case "MIN":
		return slices.Min(vs)
	case "MAX":
		return slices.Max(vs)
	}
	mean, sq := sum/float64(len(vs)), 0.0
	for _, v := range vs {
		sq += (v - mean) * (v - mean)
	}
	return math.Sqrt(sq / float64(len(vs)))
}

// evalReduce is SUM, AVG, MIN, MAX, STDDEV and DATAPOINT_COUNT.
//
// Of a single series they return a scalar over all its points (no value
// for an empty series, so m1 - AVG(m1) is empty then). Of an array they
// return one series with, at every timestamp any series has, the statistic
// across the series. AVG counts a series missing at that timestamp as 0,
// as the User Guide documents (so SUM and AVG agree: AVG = SUM / number of
// series); MIN, MAX and STDDEV use only the series that have a value there,
// a choice since the guide says nothing; DATAPOINT_COUNT counts them.
func evalReduce(_ *evaluator, c *call, args []value) (value, error) {
	v := args[0]
	switch v.k {
	case kSeries:
		return scalar(stat(c.name, v.ser.Values)), nil
	case kArray:
		out := Series{}
		if len(v.arr) == 1 {
			out = derived(v.arr[0])
		}
		for _, t := range unionTimes(v.arr) {
			var vs []float64
			for _, s := range v.arr {
				if x, ok := s.at(t); ok {
					vs = append(vs, x)
				}
			}
			r := stat(c.name, vs)
			if c.name == "AVG" {
				r = stat("SUM", vs) / float64(len(v.arr))
			}
			out.add(t, r)
		}
		return value{k: kSeries, ser: out}, nil
	}
	return value{}, typeErr(c.args[0].offset(), "%s takes a time series or an array of them, not %s", c.name, v.k)
}

// unionTimes returns every timestamp of the series, ascending, once.
func unionTimes(ss []Series) []time.Time {
	var ts []time.Time
	for _, s := range ss {
		ts = append(ts, s.Timestamps...)
	}
	slices.SortFunc(ts, time.Time.Compare)
	return slices.CompactFunc(ts, time.Time.Equal)
}

// evalMetricCount is METRIC_COUNT: the number of series in an array (1 for
// a single series).
func evalMetricCount(_ *evaluator, c *call, args []value) (value, error) {
	ss, err := needSeries(c, 0, args[0])
	if err != nil {
		return value{}, err
	}
	return scalar(float64(len(ss))), nil
}

// evalSequential is DIFF, DIFF_TIME, RATE and RUNNING_SUM, which look at
// each point and the one before it in the same series.
//
// DIFF, DIFF_TIME and RATE have no value at a series' first point (it has
// no predecessor): the point is dropped, a choice since the User Guide
// says nothing. Across a gap they use the previous point that exists, so
// RATE divides by the real time between the two points. RUNNING_SUM keeps
// the series' timestamps; missing points stay missing.
func evalSequential(_ *evaluator, c *call, args []value) (value, error) {
	ss, err := needSeries(c, 0, args[0])
	if err != nil {
		return value{}, err
	}
	out := make([]Series, len(ss))
	for k, s := range ss {
		o := derived(s)
		sum := 0.0
		for i, t := range s.Timestamps {
			v := s.Values[i]
			if c.name == "RUNNING_SUM" {
				sum += v
				o.add(t, sum)
				continue
			}
			if i == 0 {
				continue
			}
			dt := t.Sub(s.Timestamps[i-1]).Seconds()
			switch c.name {
			case "DIFF":
				o.add(t, v-s.Values[i-1])
			case "DIFF_TIME":
				o.add(t, dt)
			case "RATE":
				if dt > 0 {
					o.add(t, (v-s.Values[i-1])/dt)
				}
			}
		}
		out[k] = o
	}
	return sameShape(args[0], out), nil
}

// evalFirstLast is FIRST and LAST: the first or last series of an array.
// Of an empty array they return an empty series, a choice that keeps an
// alarm on FIRST(SORT(...)) evaluating when no metric has data. Of a
// single series they return it.
func evalFirstLast(_ *evaluator, c *call, args []value) (value, error) {
	ss, err := needSeries(c, 0, args[0])
	if err != nil {
		return value{}, err
	}
	if len(ss) == 0 {
		return value{k: kSeries}, nil
	}
	if c.name == "FIRST" {
		return value{k: kSeries, ser: ss[0]}, nil
	}
	return value{k: kSeries, ser: ss[len(ss)-1]}, nil
}

// evalRemoveEmpty is REMOVE_EMPTY: the series of the array that have at
// least one point.
func evalRemoveEmpty(_ *evaluator, c *call, args []value) (value, error) {
	ss, err := needSeries(c, 0, args[0])
	if err != nil {
		return value{}, err
	}
	out := []Series{}
	for _, s := range ss {
		if len(s.Timestamps) > 0 {
			out = append(out, s)
		}
	}
	return value{k: kArray, arr: out}, nil
}

// evalPeriod is PERIOD: the query's period in seconds. The User Guide
// accepts only metrics as its argument; here any time series is accepted,
// since all of a request's queries share Env.Period.
func evalPeriod(ev *evaluator, c *call, args []value) (value, error) {
	if args[0].k != kSeries {
		return value{}, typeErr(c.args[0].offset(), "PERIOD takes a metric's id, as in PERIOD(m1), not %s", args[0].k)
	}
	if ev.env.Period <= 0 {
		return value{}, &EvalError{c.off, fmt.Errorf("PERIOD needs the query's period: set Env.Period above zero")}
	}
	return scalar(ev.env.Period.Seconds()), nil
}

// evalTimeSeries is TIME_SERIES: a point with the scalar's value at every
// period start of the query. A scalar with no value (AVG of an empty
// series) gives an empty series.
func evalTimeSeries(ev *evaluator, c *call, args []value) (value, error) {
	x, err := needScalar(c, 0, args[0])
	if err != nil {
		return value{}, err
	}
	ts, err := ev.grid(c.off, c.name)
	if err != nil {
		return value{}, err
	}
	var out Series
	for _, t := range ts {
		out.add(t, x)
	}
	return value{k: kSeries, ser: out}, nil
}

// evalCalendar is MINUTE, HOUR, DAY, DATE, MONTH, YEAR and EPOCH: a point
// at every period start of the query, its value taken from the timestamp
// in UTC. DAY is the day of the week, 1 for Monday to 7 for Sunday (so
// IF(DAY(m1) < 6, m1) keeps weekdays, as in the User Guide); DATE is the
// day of the month; EPOCH is seconds since 1970-01-01.
func evalCalendar(ev *evaluator, c *call, args []value) (value, error) {
	ss, err := needSeries(c, 0, args[0])
	if err != nil {
		return value{}, err
	}
	ts, err := ev.grid(c.off, c.name)
	if err != nil {
		return value{}, err
	}
	var out Series
	if len(ss) == 1 {
		out = derived(ss[0])
	}
	for _, t := range ts {
		u := t.UTC()
		var v float64
		switch c.name {
		case "MINUTE":
			v = float64(u.Minute())
		case "HOUR":
			v = float64(u.Hour())
		case "DAY":
			v = float64((int(u.Weekday())+6)%7 + 1)
		case "DATE":
			v = float64(u.Day())
		case "MONTH":
			v = float64(u.Month())
		case "YEAR":
			v = float64(u.Year())
		default:
			v = float64(u.Unix())
		}
		out.add(t, v)
	}
	return value{k: kSeries, ser: out}, nil
}

// evalMetrics is METRICS: the series of the request's metric queries (not
// its expressions), in Env.Order's order; with a string, only the ids that
// contain it (case-sensitively, as ids are).
func evalMetrics(ev *evaluator, c *call, args []value) (value, error) {
	out := []Series{}
	for _, id := range ev.env.Order {
		if ev.env.Expressions[id] || len(args) == 1 && !strings.Contains(id, args[0].str) {
			continue
		}
		ss, err := ev.lookupID(id, c.off)
		if err != nil {
			return value{}, err
		}
		out = append(out, ss...)
	}
	return value{k: kArray, arr: out}, nil
}

// evalFill is FILL: a point at every period start of the query where the
// series has none, with the filler's value. The filler is a number, a
// time series (its value at that timestamp; none there, no point), REPEAT
// (the series' latest value before the gap) or LINEAR (a straight line
// between the values at either end of the gap).
//
// A gap before the series' first point has no value to REPEAT, and a gap
// at either end has no line to follow: those points stay missing, a
// choice since the User Guide says nothing. A series with no points at all
// is filled entirely by a number or a series, and stays empty with REPEAT
// or LINEAR.
func evalFill(ev *evaluator, c *call, args []value) (value, error) {
	ss, err := needSeries(c, 0, args[0])
	if err != nil {
		return value{}, err
	}
	filler := args[1]
	switch filler.k {
	case kScalar, kSeries, kKeyword:
	default:
		return value{}, typeErr(c.args[1].offset(), "FILL fills with a number, a time series, REPEAT or LINEAR, not %s", filler.k)
	}
	grid, err := ev.grid(c.off, c.name)
	if err != nil {
		return value{}, err
	}
	out := make([]Series, len(ss))
	for k, s := range ss {
		o := derived(s)
		for _, t := range unionTimes([]Series{s, {Timestamps: grid}}) {
			if v, ok := s.at(t); ok {
				o.add(t, v)
				continue
			}
			if v, ok := fillValue(s, t, filler); ok {
				o.add(t, v)
			}
		}
		out[k] = o
	}
	return sameShape(args[0], out), nil
}

// fillValue returns the value FILL puts at t, missing from s.
func fillValue(s Series, t time.Time, filler value) (float64, bool) {
	switch filler.k {
	case kScalar:
		return filler.num, !math.IsNaN(filler.num)
	case kSeries:
		return filler.ser.at(t)
	}
	// The first point after t; the one before it is the gap's start.
	i, _ := slices.BinarySearchFunc(s.Timestamps, t, time.Time.Compare)
	if i == 0 {
		return 0, false
	}
	if filler.str == "REPEAT" {
		return s.Values[i-1], true
	}
	if i == len(s.Timestamps) {
		return 0, false
	}
	t0, t1 := s.Timestamps[i-1], s.Timestamps[i]
	v0, v1 := s.Values[i-1], s.Values[i]
	return v0 + (v1-v0)*float64(t.Sub(t0))/float64(t1.Sub(t0)), true
}

// evalIf is IF(condition, trueValue [, falseValue]), as the User Guide's
// "Using IF expressions" documents:
//
//   - A scalar condition picks a whole branch; with no falseValue a false
//     condition gives an empty series. A scalar with no value (MAX of an
//     empty series) counts as false, a choice since the guide says nothing.
//   - A series condition gives a point at each of its points: the true
//     branch's value where it is nonzero (a series branch missing there
//     gives 0), the false branch's value where it is zero (a series branch
//     missing there, or no false branch, drops the point). Timestamps
//     where the condition has no point are dropped.
//   - Beyond the guide, an array condition gives an array, each series
//     treated as above.
func evalIf(_ *evaluator, c *call, args []value) (value, error) {
	cond, tv := args[0], args[1]
	fv := value{k: -1}
	if len(args) == 3 {
		fv = args[2]
	}
	for i, v := range args[1:] {
		if v.k != kScalar && v.k != kSeries {
			return value{}, typeErr(c.args[i+1].offset(), "IF's branches are numbers or single time series, not %s: pick one series, as in FIRST(...), or reduce the array, as in SUM(...)", v.k)
		}
	}
	switch cond.k {
	case kScalar:
		switch {
		case !math.IsNaN(cond.num) && cond.num != 0:
			return tv, nil
		case fv.k == -1:
			return value{k: kSeries}, nil
		}
		return fv, nil
	case kSeries:
		return value{k: kSeries, ser: ifSeries(cond.ser, tv, fv)}, nil
	case kArray:
		out := make([]Series, len(cond.arr))
		for i, s := range cond.arr {
			out[i] = ifSeries(s, tv, fv)
		}
		return value{k: kArray, arr: out}, nil
	}
	return value{}, typeErr(c.args[0].offset(), "IF's condition is a number or a time series, not %s", cond.k)
}

func ifSeries(cond Series, tv, fv value) Series {
	out := derived(cond)
	if tv.k == kSeries {
		out = derived(tv.ser)
	}
	for i, t := range cond.Timestamps {
		branch, missing := tv, 0.0
		ok := true
		if cond.Values[i] == 0 {
			branch, ok = fv, fv.k != -1
			missing = math.NaN()
		}
		if !ok {
			continue
		}
		if branch.k == kScalar {
			out.add(t, branch.num)
		} else if v, has := branch.ser.at(t); has {
			out.add(t, v)
		} else {
			out.add(t, missing)
		}
	}
	return out
}

// evalSort is SORT(array, AVG|MIN|MAX|SUM, ASC|DESC [, limit]). The sort
// is stable; series with no points (no statistic) go last in either
// order, a choice since the User Guide says nothing. A limit keeps the
// first that many (fractions round down; below 0 counts as 0).
func evalSort(_ *evaluator, c *call, args []value) (value, error) {
	ss, err := needSeries(c, 0, args[0])
	if err != nil {
		return value{}, err
	}
	limit := len(ss)
	if len(args) == 4 {
		l, err := needScalar(c, 3, args[3])
		if err != nil {
			return value{}, err
		}
		limit = clampIndex(l, len(ss))
	}
	by, desc := args[1].str, args[2].str == "DESC"
	type keyed struct {
		s Series
		k float64
	}
	ks := make([]keyed, len(ss))
	for i, s := range ss {
		ks[i] = keyed{s, stat(by, s.Values)}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		an, bn := math.IsNaN(a.k), math.IsNaN(b.k)
		switch {
		case an || bn:
			return int(b2f(an) - b2f(bn))
		case desc:
			return cmpFloat(b.k, a.k)
		}
		return cmpFloat(a.k, b.k)
	})
	out := make([]Series, 0, limit)
	for _, k := range ks[:limit] {
		out = append(out, k.s)
	}
	return value{k: kArray, arr: out}, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// clampIndex turns a scalar into an index from 0 to n.
func clampIndex(x float64, n int) int {
	switch {
	case math.IsNaN(x) || x < 0:
		return 0
	case x > float64(n):
		return n
	}
	return int(x)
}

// evalSlice is SLICE(array, start [, end]): the series from start
// (inclusive, counting from 0) to end (exclusive; the array's end when
// omitted). Out-of-range bounds are clamped to the array, a choice since
// the User Guide says nothing.
func evalSlice(_ *evaluator, c *call, args []value) (value, error) {
	ss, err := needSeries(c, 0, args[0])
	if err != nil {
		return value{}, err
	}
	from, err := needScalar(c, 1, args[1])
	if err != nil {
		return value{}, err
	}
	lo, hi := clampIndex(from, len(ss)), len(ss)
	if len(args) == 3 {
		to, err := needScalar(c, 2, args[2])
		if err != nil {
			return value{}, err
		}
		hi = clampIndex(to, len(ss))
	}
	if hi < lo {
		hi = lo
	}
	return value{k: kArray, arr: slices.Clone(ss[lo:hi])}, nil
}

// evalConcat is CONCAT: one array of the series of all its arguments, in
// order (each a time series or an array).
func evalConcat(_ *evaluator, c *call, args []value) (value, error) {
	out := []Series{}
	for i, a := range args {
		ss, err := needSeries(c, i, a)
		if err != nil {
			return value{}, err
		}
		out = append(out, ss...)
	}
	return value{k: kArray, arr: out}, nil
}
