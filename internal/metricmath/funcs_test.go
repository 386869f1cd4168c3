package metricmath

import (
	"slices"
	"testing"
	"time"
)

func TestEvalFill(t *testing.T) {
	env := testEnv(ser("m1", no, 2, no, 4, no), ser("m2", 9, 9, 9, 9, no), ser("m3"), ser("m4", 1, no, no, 4, no))
	runEval(t, []evalCase{
		{name: "with a number", expr: "FILL(m1, 0)", env: env, want: []string{"m1: 0 2 0 4 0"}},
		{name: "with a scalar expression", expr: "FILL(m1, MIN(m1))", env: env, want: []string{"m1: 2 2 2 4 2"}},
		{name: "with a series", expr: "FILL(m1, m2)", env: env, want: []string{"m1: 9 2 9 4 -"}},
		{name: "REPEAT leaves the leading gap", expr: "FILL(m1, REPEAT)", env: env, want: []string{"m1: - 2 2 4 4"}},
		{name: "LINEAR leaves both ends", expr: "FILL(m1, LINEAR)", env: env, want: []string{"m1: - 2 3 4 -"}},
		{name: "LINEAR over a long gap", expr: "FILL(m4, LINEAR)", env: env, want: []string{"m4: 1 2 3 4 -"}},
		{name: "REPEAT over a long gap", expr: "FILL(m4, REPEAT)", env: env, want: []string{"m4: 1 1 1 4 4"}},
		{name: "an empty series with a number", expr: "FILL(m3, 5)", env: env, want: []string{"m3: 5 5 5 5 5"}},
		{name: "an empty series with REPEAT", expr: "FILL(m3, REPEAT)", env: env, want: []string{"m3: - - - - -"}},
		{name: "an array", expr: "FILL(METRICS(), 0)", env: env, want: []string{
			"m1: 0 2 0 4 0", "m2: 9 9 9 9 0", "m3: 0 0 0 0 0", "m4: 1 0 0 4 0"}},
		{name: "an array with a series", expr: "FILL([m1, m3], m2)", env: env, want: []string{"m1: 9 2 9 4 -", "m3: 9 9 9 9 -"}},
		{name: "a number with no value fills nothing", expr: "FILL(m1, AVG(m3))", env: env, want: []string{"m1: - 2 - 4 -"}},
		{name: "then arithmetic", expr: "FILL(m1, 0) + 1", env: env, want: []string{"m1: 1 3 1 5 1"}},
		{name: "without a period", expr: "FILL(m1, 0)", env: Env{Series: env.Series}, msg: "offset 0: FILL needs the query's period"},
		{name: "with an array", expr: "FILL(m1, METRICS())", env: env, err: ErrType, msg: "offset 9: "},
		{name: "of a number", expr: "FILL(5, 0)", env: env, err: ErrType, msg: "offset 5: "},
	})
}

func TestEvalFillKeepsPointsOffTheGrid(t *testing.T) {
	off := t0.Add(90 * time.Second)
	env := testEnv(Series{ID: "m1", Timestamps: []time.Time{off}, Values: []float64{7}})
	e, err := Parse("FILL(m1, 0)")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Eval(e, env)
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{t0, t0.Add(period), off, t0.Add(2 * period), t0.Add(3 * period), t0.Add(4 * period)}
	if !slices.EqualFunc(out[0].Timestamps, want, time.Time.Equal) {
		t.Errorf("timestamps = %v, want %v", out[0].Timestamps, want)
	}
	if want := []float64{0, 0, 7, 0, 0, 0}; !slices.Equal(out[0].Values, want) {
		t.Errorf("values = %v, want %v", out[0].Values, want)
	}
}

func TestEvalIf(t *testing.T) {
	// The series of the User Guide's IF examples.
	env := testEnv(ser("metric1", 1, 1, 0, 0, no), ser("metric2", 30, no, 0, 0, 30), ser("metric3", 0, 0, 20, no, 20), ser("metric4"))
	runEval(t, []evalCase{
		{name: "guide: series, series, series", expr: "IF(metric1, metric2, metric3)", env: env, want: []string{"metric2: 30 0 20 - -"}},
		{name: "guide: series, scalar, series", expr: "IF(metric1, 5, metric3)", env: env, want: []string{"metric1: 5 5 20 - -"}},
		{name: "guide: series, series, scalar", expr: "IF(metric1, metric2, 5)", env: env, want: []string{"metric2: 30 0 5 5 -"}},
		{name: "no false branch drops false points", expr: "IF(metric1, metric2)", env: env, want: []string{"metric2: 30 0 - - -"}},
		{name: "comparison filters a series", expr: "IF(metric3 < 10, metric3)", env: env, want: []string{"metric3: 0 0 - - -"}},
		{name: "two scalars", expr: "IF(metric3 >= 10, 10, 2)", env: env, want: []string{"metric3: 2 2 10 - 10"}},
		{name: "true scalar condition", expr: "IF(1, metric2, metric3)", env: env, want: []string{"metric2: 30 - 0 0 30"}},
		{name: "false scalar condition", expr: "IF(0, metric2, metric3)", env: env, want: []string{"metric3: 0 0 20 - 20"}},
		{name: "false scalar condition without a false branch", expr: "IF(MAX(metric1) > 5, metric2)", env: env, want: []string{": - - - - -"}},
		{name: "scalar condition with no value is false", expr: "IF(MAX(metric4), metric2, metric3)", env: env, want: []string{"metric3: 0 0 20 - 20"}},
		{name: "negative condition is true", expr: "IF(metric1 - 2, 1, 0)", env: env, want: []string{"metric1: 1 1 1 1 -"}},
		{name: "array condition", expr: "IF(METRICS() > 10, 1, 0)", env: env, want: []string{
			"metric1: 0 0 0 0 -", "metric2: 1 - 0 0 1", "metric3: 0 0 1 - 1", "metric4: - - - - -"}},
		{name: "scalar result of scalars is an error", expr: "IF(1, 2, 3)", env: env, err: ErrScalarResult},
		{name: "array branch", expr: "IF(metric1, METRICS())", env: env, err: ErrType, msg: "offset 12: "},
		{name: "array false branch", expr: "IF(metric1, 1, [metric2])", env: env, err: ErrType, msg: "offset 15: "},
	})
}

func TestEvalMetrics(t *testing.T) {
	env := testEnv(ser("m2", 1), ser("errors_a", 2), ser("m1", 3), ser("em1", 4), ser("errors_b", 5))
	env.Expressions = map[string]bool{"em1": true}
	runEval(t, []evalCase{
		{name: "declared order, no expressions", expr: "METRICS()", env: env, want: []string{
			"m2: 1 - - - -", "errors_a: 2 - - - -", "m1: 3 - - - -", "errors_b: 5 - - - -"}},
		{name: "filtered by substring", expr: `METRICS("errors")`, env: env, want: []string{"errors_a: 2 - - - -", "errors_b: 5 - - - -"}},
		{name: "filter is case-sensitive and skips expressions", expr: `METRICS("m")`, env: env, want: []string{"m2: 1 - - - -", "m1: 3 - - - -"}},
		{name: "no match is an empty array", expr: `METRICS("nothing")`, env: env, want: []string{}},
		{name: "several filters in an array", expr: `SUM([METRICS("m"), METRICS("_b")])`, env: env, want: []string{": 9 - - - -"}},
		{name: "an id in Order without series", expr: "METRICS()", env: Env{Order: []string{"m1"}}, err: ErrUnknownID, msg: "offset 0: "},
	})
}

func TestEvalArrayFunctions(t *testing.T) {
	env := testEnv(ser("m1", 1, 1, no, no, no), ser("m2", 5, 9, no, no, no), ser("m3"), ser("m4", 3, 2, no, no, no))
	runEval(t, []evalCase{
		{name: "FIRST", expr: "FIRST(METRICS())", env: env, want: []string{"m1: 1 1 - - -"}},
		{name: "LAST", expr: "LAST(METRICS())", env: env, want: []string{"m4: 3 2 - - -"}},
		{name: "FIRST of an empty array", expr: `FIRST(METRICS("none"))`, env: env, want: []string{": - - - - -"}},
		{name: "FIRST of a series", expr: "FIRST(m2)", env: env, want: []string{"m2: 5 9 - - -"}},
		{name: "REMOVE_EMPTY", expr: "REMOVE_EMPTY(METRICS())", env: env, want: []string{"m1: 1 1 - - -", "m2: 5 9 - - -", "m4: 3 2 - - -"}},
		{name: "SORT by AVG descending, empty last", expr: "SORT(METRICS(), AVG, DESC)", env: env, want: []string{
			"m2: 5 9 - - -", "m4: 3 2 - - -", "m1: 1 1 - - -", "m3: - - - - -"}},
		{name: "SORT by MIN ascending, empty last", expr: "SORT(METRICS(), MIN, ASC)", env: env, want: []string{
			"m1: 1 1 - - -", "m4: 3 2 - - -", "m2: 5 9 - - -", "m3: - - - - -"}},
		{name: "SORT with a limit", expr: "SORT(METRICS(), MAX, DESC, 2)", env: env, want: []string{"m2: 5 9 - - -", "m4: 3 2 - - -"}},
		{name: "SORT by SUM with a limit above the count", expr: "SORT([m4, m1], SUM, ASC, 10)", env: env, want: []string{"m1: 1 1 - - -", "m4: 3 2 - - -"}},
		{name: "FIRST of SORT", expr: "IF(FIRST(SORT(METRICS(), AVG, DESC)) > 6, 1, 0)", env: env, want: []string{"m2: 0 1 - - -"}},
		{name: "SLICE from a start", expr: "SLICE(METRICS(), 2)", env: env, want: []string{"m3: - - - - -", "m4: 3 2 - - -"}},
		{name: "SLICE from start to end", expr: "SLICE(METRICS(), 1, 2)", env: env, want: []string{"m2: 5 9 - - -"}},
		{name: "SLICE clamps its bounds", expr: "SLICE(METRICS(), -3, 99)", env: env, want: []string{
			"m1: 1 1 - - -", "m2: 5 9 - - -", "m3: - - - - -", "m4: 3 2 - - -"}},
		{name: "SLICE with end before start", expr: "SLICE(METRICS(), 3, 1)", env: env, want: []string{}},
		{name: "SLICE of SORT", expr: "SLICE(SORT(METRICS(), SUM, DESC), 0, 1)", env: env, want: []string{"m2: 5 9 - - -"}},
		{name: "CONCAT", expr: "CONCAT(m4, [m1, m2], METRICS(\"3\"))", env: env, want: []string{
			"m4: 3 2 - - -", "m1: 1 1 - - -", "m2: 5 9 - - -", "m3: - - - - -"}},
		{name: "CONCAT of a number", expr: "CONCAT(m1, 2)", env: env, err: ErrType, msg: "offset 11: "},
		{name: "SORT limit of a series", expr: "SORT(METRICS(), SUM, DESC, m1)", env: env, err: ErrType, msg: "offset 27: "},
		{name: "SLICE of a number", expr: "SLICE(3, 1)", env: env, err: ErrType, msg: "offset 6: "},
	})
}

func TestApplyLabels(t *testing.T) {
	tests := []struct {
		name, id, label string
		in              []Series
		want            []string // "ID/Label"
	}{
		{"single series takes the expression label", "e1", "Error rate", []Series{{ID: "m1", Label: "Errors"}}, []string{"e1/Error rate"}},
		{"single series without an expression label takes the id", "e1", "", []Series{{ID: "m1", Label: "Errors"}}, []string{"e1/e1"}},
		{"single series with no label takes the id", "e1", "", []Series{{}}, []string{"e1/e1"}},
		{"array prefixes the expression label", "e2", "Filled With 0:", []Series{{Label: "Errors"}, {Label: "Faults"}},
			[]string{"e2/Filled With 0: Errors", "e2/Filled With 0: Faults"}},
		{"array without an expression label", "e2", "", []Series{{Label: "Errors"}, {}}, []string{"e2/Errors", "e2/e2"}},
		{"array of unlabelled series", "e2", "Sum", []Series{{}, {}}, []string{"e2/Sum", "e2/Sum"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := ApplyLabels(tc.in, tc.id, tc.label)
			got := make([]string, len(out))
			for i, s := range out {
				got[i] = s.ID + "/" + s.Label
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ApplyLabels = %q, want %q", got, tc.want)
			}
		})
	}
}
