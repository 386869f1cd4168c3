package metricmath

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tests' grid: five one-minute periods from Monday 2024-01-01 00:00 UTC.
var (
	t0     = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	period = time.Minute
	points = 5
)

// no marks a missing point in ser.
var no = math.NaN()

// ser returns a series with the id as its label and values on the grid,
// no for a missing point.
func ser(id string, vs ...float64) Series {
	s := Series{ID: id, Label: id}
	for i, v := range vs {
		if !math.IsNaN(v) {
			s.Timestamps = append(s.Timestamps, t0.Add(time.Duration(i)*period))
			s.Values = append(s.Values, v)
		}
	}
	return s
}

// render writes a series as "label: v v - v v", one value per grid point.
func render(s Series) string {
	cells := make([]string, points)
	for i := range cells {
		cells[i] = "-"
	}
	for i, t := range s.Timestamps {
		k := int(t.Sub(t0) / period)
		if t.Sub(t0)%period != 0 || k < 0 || k >= points {
			return fmt.Sprintf("%s: point off the grid at %v", s.Label, t)
		}
		cells[k] = fmt.Sprintf("%.4g", s.Values[i])
	}
	return s.Label + ": " + strings.Join(cells, " ")
}

func testEnv(series ...Series) Env {
	env := Env{Series: map[string][]Series{}, Period: period, Start: t0, End: t0.Add(time.Duration(points) * period)}
	for _, s := range series {
		env.Series[s.ID] = append(env.Series[s.ID], s)
		if !slices.Contains(env.Order, s.ID) {
			env.Order = append(env.Order, s.ID)
		}
	}
	return env
}

type evalCase struct {
	name string
	expr string
	env  Env
	want []string // rendered result series
	err  error    // wanted error, checked with errors.Is
	msg  string   // a part of the wanted error's message
}

func runEval(t *testing.T, tests []evalCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			out, err := Eval(e, tc.env)
			if tc.err != nil || tc.msg != "" {
				if err == nil {
					t.Fatalf("Eval(%q) succeeded, want an error", tc.expr)
				}
				if tc.err != nil && !errors.Is(err, tc.err) {
					t.Errorf("Eval(%q) error %v, want one wrapping %v", tc.expr, err, tc.err)
				}
				if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "offset ") {
					t.Errorf("Eval(%q) error %q, want \"offset N: ...%s...\"", tc.expr, err, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Eval(%q): %v", tc.expr, err)
			}
			got := make([]string, len(out))
			for i, s := range out {
				got[i] = render(s)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Eval(%q) =\n  %s\nwant\n  %s", tc.expr, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestEvalOperators(t *testing.T) {
	// The User Guide's example for comparison and logical operators.
	guide := testEnv(ser("metric1", 30, 20, 0, 0, no), ser("metric2", 20, no, 20, no, no))
	gappy := testEnv(ser("m1", 1, 2, no, 4, no), ser("m2", 10, no, 30, 40, no))
	div := testEnv(ser("m1", 1, 2, 3, 4, no), ser("m2", 2, 0, no, 4, 5))
	runEval(t, []evalCase{
		{name: "series plus scalar", expr: "m1 + 1", env: gappy, want: []string{"m1: 2 3 - 5 -"}},
		{name: "scalar minus series", expr: "10 - m1", env: gappy, want: []string{"m1: 9 8 - 6 -"}},
		{name: "scalars then series", expr: "m1 * (2 + 3)", env: gappy, want: []string{"m1: 5 10 - 20 -"}},
		{name: "power", expr: "m1 ^ 2", env: gappy, want: []string{"m1: 1 4 - 16 -"}},
		{name: "unary minus", expr: "-m1", env: gappy, want: []string{"m1: -1 -2 - -4 -"}},
		{name: "two series on the union of timestamps, missing as 0", expr: "m1 + m2", env: gappy, want: []string{": 11 2 30 44 -"}},
		{name: "two series subtracted", expr: "m2 - m1", env: gappy, want: []string{": 9 -2 30 36 -"}},
		{name: "same series keeps its label", expr: "m1 * m1", env: gappy, want: []string{"m1: 1 4 - 16 -"}},
		{name: "division by zero drops the point", expr: "m1 / m2", env: div, want: []string{": 0.5 - - 1 0"}},
		{name: "missing numerator counts as 0, missing denominator drops the point", expr: "m2 / m1", env: div, want: []string{": 2 0 0 1 -"}},
		{name: "scalar division by zero drops every point", expr: "m1 / 0", env: div, want: []string{"m1: - - - - -"}},
		{name: "fractional power of a negative drops the point", expr: "(m1 - 2) ^ 0.5", env: div, want: []string{"m1: - 0 1 1.414 -"}},
		{name: "guide: series less than series", expr: "(metric1 < metric2)", env: guide, want: []string{": 0 0 1 0 -"}},
		{name: "guide: series compared with scalar", expr: "(metric1 >= 30)", env: guide, want: []string{"metric1: 1 0 0 0 -"}},
		{name: "guide: AND of comparisons", expr: "(metric1 > 15 AND metric2 > 15)", env: guide, want: []string{": 1 0 0 0 -"}},
		{name: "OR", expr: "metric1 OR metric2", env: guide, want: []string{": 1 1 1 0 -"}},
		{name: "NOT", expr: "NOT metric1", env: guide, want: []string{"metric1: 0 0 1 1 -"}},
		{name: "equal and not equal", expr: "(metric1 == 0) + (metric1 != 20) * 10", env: guide, want: []string{"metric1: 10 0 11 11 -"}},
		{name: "less or equal, greater", expr: "(metric1 <= 20) * 2 + (metric2 > 0)", env: guide, want: []string{": 1 2 3 2 -"}},
		{name: "scalar comparisons", expr: "metric1 * (2 > 1) * (1 == 1 AND 0 < 1 OR 0)", env: guide, want: []string{"metric1: 30 20 0 0 -"}},
		{name: "series minus its average", expr: "metric1 - AVG(metric1)", env: guide, want: []string{"metric1: 17.5 7.5 -12.5 -12.5 -"}},
		{name: "array times scalar", expr: "METRICS() * 2", env: gappy, want: []string{"m1: 2 4 - 8 -", "m2: 20 - 60 80 -"}},
		{name: "scalar minus array", expr: "1 - METRICS()", env: gappy, want: []string{"m1: 0 -1 - -3 -", "m2: -9 - -29 -39 -"}},
		{name: "array divided by series", expr: "[m1, m2] / m1", env: gappy, want: []string{"m1: 1 1 - 1 -", ": 10 0 - 10 -"}},
		{name: "unary minus of an array", expr: "-[m1, m2]", env: gappy, want: []string{"m1: -1 -2 - -4 -", "m2: -10 - -30 -40 -"}},
		{name: "array literal flattens arrays", expr: "[METRICS(), m1]", env: gappy, want: []string{"m1: 1 2 - 4 -", "m2: 10 - 30 40 -", "m1: 1 2 - 4 -"}},
		{name: "id holding several series is an array", expr: "e1 + 1", env: Env{Series: map[string][]Series{"e1": {ser("a", 1), ser("b", 2)}}},
			want: []string{"a: 2 - - - -", "b: 3 - - - -"}},
		{name: "unsorted input is sorted", expr: "m1", env: testEnv(Series{ID: "m1", Label: "m1", Timestamps: []time.Time{t0.Add(period), t0}, Values: []float64{2, 1}}),
			want: []string{"m1: 1 2 - - -"}},
		{name: "a repeated timestamp keeps the last value", expr: "m1", env: testEnv(Series{ID: "m1", Label: "m1", Timestamps: []time.Time{t0, t0.Add(period), t0}, Values: []float64{1, 2, 3}}),
			want: []string{"m1: 3 2 - - -"}},
		{name: "non-finite input points are dropped", expr: "m1", env: testEnv(ser("m1", math.Inf(1), 2)), want: []string{"m1: - 2 - - -"}},

		{name: "scalar result is an error", expr: "AVG(m1)", env: gappy, err: ErrScalarResult, msg: "TIME_SERIES"},
		{name: "constant result is an error", expr: "1 + 2", env: gappy, err: ErrScalarResult},
		{name: "array with array is an error", expr: "METRICS() + [m1]", env: gappy, err: ErrType, msg: "offset 10: "},
		{name: "number in an array is an error", expr: "SUM([m1, 2])", env: gappy, err: ErrType, msg: "offset 9: "},
		{name: "unknown id", expr: "m1 + m9", env: gappy, err: ErrUnknownID, msg: "offset 5: unknown id m9"},
		{name: "mismatched series", expr: "m1", env: Env{Series: map[string][]Series{"m1": {{Timestamps: []time.Time{t0}}}}}, msg: "1 timestamps but 0 values"},
	})
}

func TestEvalAggregates(t *testing.T) {
	env := testEnv(ser("m1", 1, 2, no, 4, no), ser("m2", 3, no, no, 4, no), ser("m3"))
	spread := testEnv(ser("m1", 1, 3, 1, 3, no), ser("m2", no, 1, no, 5, no))
	runEval(t, []evalCase{
		{name: "SUM of an array", expr: "SUM([m1, m2])", env: env, want: []string{": 4 2 - 8 -"}},
		{name: "AVG of an array counts missing as 0", expr: "AVG([m1, m2])", env: env, want: []string{": 2 1 - 4 -"}},
		{name: "MIN of an array ignores missing", expr: "MIN([m1, m2])", env: env, want: []string{": 1 2 - 4 -"}},
		{name: "MAX of an array", expr: "MAX(METRICS())", env: env, want: []string{": 3 2 - 4 -"}},
		{name: "STDDEV of an array", expr: "STDDEV([m1, m2])", env: env, want: []string{": 1 0 - 0 -"}},
		{name: "DATAPOINT_COUNT of an array", expr: "DATAPOINT_COUNT(METRICS())", env: env, want: []string{": 2 1 - 2 -"}},
		{name: "SUM of a one-series array keeps its label", expr: "SUM([m1])", env: env, want: []string{"m1: 1 2 - 4 -"}},
		{name: "SUM of a series is a scalar", expr: "m1 * 0 + SUM(m1)", env: env, want: []string{"m1: 7 7 - 7 -"}},
		{name: "AVG of a series", expr: "TIME_SERIES(AVG(m1))", env: spread, want: []string{": 2 2 2 2 2"}},
		{name: "MIN and MAX of a series", expr: "TIME_SERIES(MAX(m2) - MIN(m2))", env: spread, want: []string{": 4 4 4 4 4"}},
		{name: "STDDEV of a series is the population one", expr: "TIME_SERIES(STDDEV(m1))", env: spread, want: []string{": 1 1 1 1 1"}},
		{name: "DATAPOINT_COUNT of a series", expr: "TIME_SERIES(DATAPOINT_COUNT(m2))", env: spread, want: []string{": 2 2 2 2 2"}},
		{name: "AVG of an empty series has no value", expr: "TIME_SERIES(AVG(m3))", env: env, want: []string{": - - - - -"}},
		{name: "series minus AVG of an empty series", expr: "m1 - AVG(m3)", env: env, want: []string{"m1: - - - - -"}},
		{name: "DATAPOINT_COUNT of an empty series is 0", expr: "TIME_SERIES(DATAPOINT_COUNT(m3))", env: env, want: []string{": 0 0 0 0 0"}},
		{name: "METRIC_COUNT", expr: "m1 / METRIC_COUNT(METRICS())", env: env, want: []string{"m1: 0.3333 0.6667 - 1.333 -"}},
		{name: "SUM of a number is an error", expr: "TIME_SERIES(SUM(5))", env: env, err: ErrType, msg: "offset 16: wrong kind of value: SUM takes"},
	})
}

func TestEvalPointFunctions(t *testing.T) {
	env := testEnv(ser("m1", -1.5, 0, no, 100, 2.5))
	gaps := testEnv(ser("m1", 1, 4, no, 10, no), ser("m2", 5, 3, 1, no, no))
	runEval(t, []evalCase{
		{name: "ABS", expr: "ABS(m1)", env: env, want: []string{"m1: 1.5 0 - 100 2.5"}},
		{name: "CEIL", expr: "CEIL(m1)", env: env, want: []string{"m1: -1 0 - 100 3"}},
		{name: "FLOOR", expr: "FLOOR(m1)", env: env, want: []string{"m1: -2 0 - 100 2"}},
		{name: "LOG drops 0 and negatives", expr: "LOG(m1)", env: env, want: []string{"m1: - - - 4.605 0.9163"}},
		{name: "LOG10", expr: "LOG10(m1)", env: env, want: []string{"m1: - - - 2 0.3979"}},
		{name: "ABS of a number", expr: "m1 * 0 + ABS(-2)", env: env, want: []string{"m1: 2 2 - 2 2"}},
		{name: "ABS of an array", expr: "ABS(METRICS())", env: env, want: []string{"m1: 1.5 0 - 100 2.5"}},
		{name: "DIFF across a gap", expr: "DIFF(m1)", env: gaps, want: []string{"m1: - 3 - 6 -"}},
		{name: "DIFF_TIME across a gap", expr: "DIFF_TIME(m1)", env: gaps, want: []string{"m1: - 60 - 120 -"}},
		{name: "RATE per second across a gap", expr: "RATE(m1)", env: gaps, want: []string{"m1: - 0.05 - 0.05 -"}},
		{name: "RATE of a falling series", expr: "RATE(m2) * 60", env: gaps, want: []string{"m2: - -2 -2 - -"}},
		{name: "RATE of an array", expr: "RATE(METRICS())", env: gaps, want: []string{"m1: - 0.05 - 0.05 -", "m2: - -0.03333 -0.03333 - -"}},
		{name: "RUNNING_SUM", expr: "RUNNING_SUM(m1)", env: gaps, want: []string{"m1: 1 5 - 15 -"}},
		{name: "RUNNING_SUM of an array", expr: "RUNNING_SUM([m1, m2])", env: gaps, want: []string{"m1: 1 5 - 15 -", "m2: 5 8 9 - -"}},
		{name: "PERIOD", expr: "m1 / PERIOD(m1)", env: gaps, want: []string{"m1: 0.01667 0.06667 - 0.1667 -"}},
		{name: "PERIOD without a period", expr: "m1 / PERIOD(m1)", env: Env{Series: gaps.Series}, msg: "offset 5: PERIOD needs"},
		{name: "PERIOD of a number", expr: "TIME_SERIES(PERIOD(5))", env: gaps, err: ErrType},
		{name: "TIME_SERIES", expr: "TIME_SERIES(10)", env: gaps, want: []string{": 10 10 10 10 10"}},
		{name: "TIME_SERIES of a series is an error", expr: "TIME_SERIES(m1)", env: gaps, err: ErrType, msg: "offset 12: "},
		{name: "TIME_SERIES without a range", expr: "TIME_SERIES(1)", env: Env{Period: period}, msg: "offset 0: TIME_SERIES needs"},
		{name: "MINUTE", expr: "MINUTE(m1)", env: gaps, want: []string{"m1: 0 1 2 3 4"}},
		{name: "HOUR", expr: "HOUR(m1)", env: gaps, want: []string{"m1: 0 0 0 0 0"}},
		{name: "DAY of the week, Monday is 1", expr: "DAY(m1)", env: gaps, want: []string{"m1: 1 1 1 1 1"}},
		{name: "DATE", expr: "DATE(m1)", env: gaps, want: []string{"m1: 1 1 1 1 1"}},
		{name: "MONTH", expr: "MONTH(m1)", env: gaps, want: []string{"m1: 1 1 1 1 1"}},
		{name: "YEAR", expr: "YEAR(m1)", env: gaps, want: []string{"m1: 2024 2024 2024 2024 2024"}},
		{name: "EPOCH", expr: "EPOCH(m1) - 1704067200", env: gaps, want: []string{"m1: 0 60 120 180 240"}},
		{name: "IF on DAY keeps weekdays", expr: "IF(DAY(m1) < 6, m1)", env: gaps, want: []string{"m1: 1 4 0 10 0"}},
	})
}

func TestEvalDayOfWeek(t *testing.T) {
	// Saturday 2024-01-06 and Sunday 2024-01-07 are 6 and 7.
	env := Env{Series: map[string][]Series{"m1": {{}}}, Period: 24 * time.Hour,
		Start: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 1, 9, 0, 0, 0, 0, time.UTC)}
	e, err := Parse("DAY(m1)")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Eval(e, env)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{5, 6, 7, 1}; !slices.Equal(out[0].Values, want) {
		t.Errorf("DAY from Friday to Monday = %v, want %v", out[0].Values, want)
	}
}

func TestEvalNilExpr(t *testing.T) {
	for _, e := range []*Expr{nil, {}} {
		if _, err := Eval(e, Env{}); err == nil || !strings.Contains(err.Error(), "Parse") {
			t.Errorf("Eval(%#v): error %v, want one saying to parse first", e, err)
		}
	}
}
