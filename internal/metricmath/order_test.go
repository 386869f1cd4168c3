package metricmath

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestOrder(t *testing.T) {
	tests := []struct {
		name    string
		exprs   map[string]string
		metrics []string
		want    []string
		err     error  // wanted error, checked with errors.Is
		msg     string // a part of the wanted error's message
	}{
		{name: "metrics only, in their order", metrics: []string{"m2", "m1"}, want: []string{"m2", "m1"}},
		{name: "expression after its metrics", exprs: map[string]string{"e1": "m1 / m2"}, metrics: []string{"m1", "m2"},
			want: []string{"m1", "m2", "e1"}},
		{name: "chain in dependency order", exprs: map[string]string{"a": "b * 2", "b": "c + 1", "c": "m1"}, metrics: []string{"m1"},
			want: []string{"m1", "c", "b", "a"}},
		{name: "independent expressions by id", exprs: map[string]string{"e2": "m1", "e1": "m1", "e3": "e1 + e2"}, metrics: []string{"m1"},
			want: []string{"m1", "e1", "e2", "e3"}},
		{name: "METRICS adds no dependency on expressions", exprs: map[string]string{"e1": "SUM(METRICS())", "e0": "e1 * 2"}, metrics: []string{"m1"},
			want: []string{"m1", "e1", "e0"}},
		{name: "no metrics", exprs: map[string]string{"e1": "TIME_SERIES(1)"}, want: []string{"e1"}},
		{name: "unknown id", exprs: map[string]string{"e1": "m1 + m9"}, metrics: []string{"m1"}, err: ErrUnknownID,
			msg: "expression e1, offset 5: unknown id m9"},
		{name: "self reference", exprs: map[string]string{"e1": "e1 + 1"}, err: ErrCycle, msg: "e1 -> e1"},
		{name: "cycle of three", exprs: map[string]string{"e1": "e2", "e2": "e3 + m1", "e3": "e1 * 2", "e4": "m1"}, metrics: []string{"m1"},
			err: ErrCycle, msg: "e1 -> e2 -> e3 -> e1"},
		{name: "cycle below an expression", exprs: map[string]string{"a": "b", "b": "c", "c": "b"}, err: ErrCycle, msg: "b -> c -> b"},
		{name: "id both metric and expression", exprs: map[string]string{"m1": "m1 * 2"}, metrics: []string{"m1"}, msg: "both a metric query and an expression"},
		{name: "metric id twice", metrics: []string{"m1", "m1"}, msg: "given twice"},
		{name: "invalid metric id", metrics: []string{"M1"}, msg: "metric query: id \"M1\", offset 0: ids start with a lowercase letter"},
		{name: "invalid expression id", exprs: map[string]string{"e-1": "TIME_SERIES(1)"}, msg: "expression: id \"e-1\", offset 1: ids hold only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exprs := map[string]*Expr{}
			for id, src := range tc.exprs {
				e, err := Parse(src)
				if err != nil {
					t.Fatalf("Parse(%q): %v", src, err)
				}
				exprs[id] = e
			}
			got, err := Order(exprs, tc.metrics)
			if tc.err != nil || tc.msg != "" {
				if err == nil {
					t.Fatalf("Order = %q, want an error", got)
				}
				if tc.err != nil && !errors.Is(err, tc.err) {
					t.Errorf("error %v, want one wrapping %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q, want it to contain %q", err, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Order = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOrderNilExpr(t *testing.T) {
	if _, err := Order(map[string]*Expr{"e1": nil}, nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("Order with a nil expression: error %v, want one saying it is nil", err)
	}
}

// TestOrderThenEval evaluates a request in Order's order, each expression
// seeing the results of those before it, as a GetMetricData caller does.
func TestOrderThenEval(t *testing.T) {
	srcs := map[string]string{"rate": "errors / requests * 100", "high": "IF(rate > 10, 1, 0)", "all": "FILL(METRICS(), 0)"}
	exprs := map[string]*Expr{}
	for id, src := range srcs {
		e, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		exprs[id] = e
	}
	env := testEnv(ser("errors", 1, no, 5, 0, no), ser("requests", 20, 10, 25, 10, no))
	order, err := Order(exprs, []string{"errors", "requests"})
	if err != nil {
		t.Fatal(err)
	}
	env.Order = order
	env.Expressions = map[string]bool{"rate": true, "high": true, "all": true}
	got := map[string][]string{}
	for _, id := range order {
		e, ok := exprs[id]
		if !ok {
			continue
		}
		out, err := Eval(e, env)
		if err != nil {
			t.Fatalf("Eval(%s): %v", id, err)
		}
		out = ApplyLabels(out, id, "")
		env.Series[id] = out
		for _, s := range out {
			got[id] = append(got[id], render(s))
		}
	}
	want := map[string][]string{
		"rate": {"rate: 5 0 20 0 -"},
		"high": {"high: 0 0 1 0 -"},
		"all":  {"errors: 1 0 5 0 0", "requests: 20 10 25 10 0"},
	}
	for id, w := range want {
		if !slices.Equal(got[id], w) {
			t.Errorf("%s = %q, want %q", id, got[id], w)
		}
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		name, id string
		msg      string // a part of the wanted error; empty for a valid id
	}{
		{"short", "m1", ""},
		{"camel case with underscore", "error_Rate2", ""},
		{"empty", "", "empty"},
		{"uppercase first", "Errors", "offset 0: ids start with a lowercase letter"},
		{"digit first", "1m", "offset 0"},
		{"underscore first", "_m", "offset 0"},
		{"dash", "m-1", "offset 1: ids hold only letters"},
		{"space", "m 1", "offset 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidID(tc.id)
			switch {
			case tc.msg == "" && err != nil:
				t.Errorf("ValidID(%q) = %v, want nil", tc.id, err)
			case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
				t.Errorf("ValidID(%q) = %v, want an error containing %q", tc.id, err, tc.msg)
			}
		})
	}
}
