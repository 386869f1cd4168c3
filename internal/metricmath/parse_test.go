package metricmath

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseCanonical(t *testing.T) {
	tests := []struct {
		name, expr, want string
	}{
		{"number", "42", "42"},
		{"fraction and exponent", "0.5 + 1e3 + .25", "((0.5 + 1000) + 0.25)"},
		{"id", "errorRate", "errorRate"},
		{"id with underscore and digits", "m_1x", "m_1x"},
		{"mul before add", "m1 + m2 * 2", "(m1 + (m2 * 2))"},
		{"left associative minus", "m1 - m2 - m3", "((m1 - m2) - m3)"},
		{"left associative divide", "m1 / m2 / 2", "((m1 / m2) / 2)"},
		{"parentheses", "(m1 + m2) * 2", "((m1 + m2) * 2)"},
		{"power right associative", "2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"},
		{"power before unary minus", "-2 ^ 2", "-(2 ^ 2)"},
		{"negative exponent", "2 ^ -1", "(2 ^ -1)"},
		{"negative base", "(-2) ^ 2", "((-2) ^ 2)"},
		{"power before mul", "m1 * 2 ^ 2", "(m1 * (2 ^ 2))"},
		{"unary minus", "-m1 * 2", "(-m1 * 2)"},
		{"double unary minus", "--m1", "--m1"},
		{"comparison below arithmetic", "m1 + 1 > m2 * 2", "((m1 + 1) > (m2 * 2))"},
		{"AND below comparison", "m1 > 15 AND m2 > 15", "((m1 > 15) AND (m2 > 15))"},
		{"OR below AND", "m1 OR m2 AND m3", "(m1 OR (m2 AND m3))"},
		{"symbolic logic", "m1 && m2 || !m3", "((m1 AND m2) OR (NOT m3))"},
		{"NOT below comparison", "NOT m1 > 5", "(NOT (m1 > 5))"},
		{"NOT in parentheses inside arithmetic", "-(NOT m1) * (NOT NOT m2)", "(-(NOT m1) * (NOT (NOT m2)))"},
		{"all comparisons", "a == b != c < d <= e > f >= g", "((((((a == b) != c) < d) <= e) > f) >= g)"},
		{"function", "SUM(METRICS())", "SUM(METRICS())"},
		{"function lowercase", "sum(m1) + Avg(m2)", "(SUM(m1) + AVG(m2))"},
		{"METRICS with string", `SUM(METRICS("errors"))`, `SUM(METRICS("errors"))`},
		{"array", "SUM([m1, m2 * 2, METRICS()])", "SUM([m1, (m2 * 2), METRICS()])"},
		{"FILL keyword", "FILL(m1, REPEAT)", "FILL(m1, REPEAT)"},
		{"SORT keywords", "SORT(METRICS(), AVG, DESC, 3)", "SORT(METRICS(), AVG, DESC, 3)"},
		{"IF", "IF(m1 > 10, m1, 0)", "IF((m1 > 10), m1, 0)"},
		{"whitespace", " m1\t+\nm2 ", "(m1 + m2)"},
		{"id named like a keyword in lowercase", "and + repeat", "(and + repeat)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			if got := e.String(); got != tc.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tc.expr, got, tc.want)
			}
			again, err := Parse(e.String())
			if err != nil {
				t.Fatalf("Parse(%q) of the canonical form: %v", e.String(), err)
			}
			if again.String() != e.String() {
				t.Errorf("canonical form does not round-trip: %q became %q", e.String(), again.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, expr string
		offset     int
		msg        string // a part of the message
	}{
		{"empty", "", 0, "empty"},
		{"blank", "   ", 0, "empty"},
		{"trailing operator", "m1 +", 4, "found end of expression"},
		{"unclosed call", "SUM(", 4, "found end of expression"},
		{"unclosed call after argument", "SUM(m1", 6, "add )"},
		{"unknown function", "foo(m1)", 0, "unknown function foo"},
		{"unsupported CloudWatch function", "m1 + ANOMALY_DETECTION_BAND(m1)", 5, "not supported here"},
		{"SQRT", "SQRT(m1)", 0, "m1 ^ 0.5"},
		{"NOT inside arithmetic", "m1 * NOT(m2)", 5, "m1 * (NOT m2)"},
		{"EXP", "exp(m1)", 0, "CloudWatch has no EXP"},
		{"uppercase id", "M1", 0, "write m1"},
		{"uppercase id in sum", "m1 + M2", 5, "ids start with a lowercase letter"},
		{"id starting with underscore", "_m1", 0, "lowercase"},
		{"unclosed parenthesis", "(m1 + m2", 8, "close the ( at offset 0"},
		{"stray closing parenthesis", "m1)", 2, "unexpected"},
		{"two operands", "m1 m2", 3, "add an operator"},
		{"single equals", "m1 = 2", 3, "write =="},
		{"single ampersand", "m1 & m2", 3, "&&"},
		{"single bar", "m1 | m2", 3, "||"},
		{"unknown character", "m1 % 2", 3, "unexpected character"},
		{"unclosed string", `METRICS("err`, 8, "not closed"},
		{"string outside METRICS", `m1 + "x"`, 5, "only valid as the argument of METRICS"},
		{"METRICS of an id", "METRICS(m1)", 8, "takes a string"},
		{"keyword outside a function", "REPEAT + 1", 0, "FILL"},
		{"keyword in the wrong function", "ABS(REPEAT)", 4, "FILL"},
		{"SORT without a statistic", "SORT(METRICS(), m1, DESC)", 16, "AVG, MIN, MAX or SUM"},
		{"SORT without an order", "SORT(METRICS(), AVG, UP)", 21, "not an id"},
		{"SORT with a wrong order", "SORT(METRICS(), AVG, MAX)", 21, "ASC or DESC"},
		{"too many arguments", "ABS(m1, m2)", 0, "ABS takes 1 argument, got 2"},
		{"too few arguments", "FILL(m1)", 0, "FILL takes 2 arguments, got 1"},
		{"IF with one argument", "IF(m1)", 0, "2 to 3 arguments"},
		{"empty array", "SUM([])", 4, "array is empty"},
		{"unclosed array", "SUM([m1, m2)", 11, "add ]"},
		{"statistic not called", "m1 + SUM", 5, "call it: SUM(m1)"},
		{"function not called", "m1 + ABS", 5, "call it, as in ABS(m1)"},
		{"AND without left operand", "AND m1", 0, "operand"},
		{"number into a name", "2m1", 1, "put an operator"},
		{"number out of range", "1e999", 0, "out of range"},
		{"missing comma", "FILL(m1 0)", 8, "expected , or )"},
		{"operations nested too deep", strings.Repeat("-", maxDepth) + "m1", maxDepth, "more than 1000 deep"},
		{"calls nested too deep", strings.Repeat("ABS(", maxDepth) + "m1" + strings.Repeat(")", maxDepth), 4 * maxDepth, "more than 1000 deep"},
		{"parentheses nested too deep", strings.Repeat("(", maxNesting+1) + "m1" + strings.Repeat(")", maxNesting+1), maxNesting, "more than 4000 deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tc.expr, e)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is a %T, want *SyntaxError", tc.expr, err, err)
			}
			if se.Offset != tc.offset {
				t.Errorf("Parse(%q) error at offset %d, want %d (%v)", tc.expr, se.Offset, tc.offset, err)
			}
			if !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Parse(%q) error %q, want it to contain %q", tc.expr, se.Msg, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "offset ") {
				t.Errorf("Error() = %q, want it to start with \"offset N: \"", err.Error())
			}
		})
	}
}

func TestRefsAndUsesMetrics(t *testing.T) {
	tests := []struct {
		name, expr  string
		refs        []string
		usesMetrics bool
	}{
		{"none", "TIME_SERIES(5)", nil, false},
		{"in order, once", "m2 + m1 * m2 - e1", []string{"m2", "m1", "e1"}, false},
		{"inside functions and arrays", "SUM([m1, ABS(m3)]) / PERIOD(m1)", []string{"m1", "m3"}, false},
		{"METRICS alone", "SUM(METRICS())", nil, true},
		{"METRICS and an id", `AVG(METRICS("lat")) / e2`, []string{"e2"}, true},
		{"keywords are not ids", "FILL(m1, REPEAT)", []string{"m1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Refs(); !slices.Equal(got, tc.refs) {
				t.Errorf("Refs() = %q, want %q", got, tc.refs)
			}
			if got := e.UsesMetrics(); got != tc.usesMetrics {
				t.Errorf("UsesMetrics() = %v, want %v", got, tc.usesMetrics)
			}
			if e.Source() != tc.expr {
				t.Errorf("Source() = %q, want %q", e.Source(), tc.expr)
			}
		})
	}
}

func TestParseLongExpressionRoundTrips(t *testing.T) {
	tests := []struct{ name, expr string }{
		{"long sum", strings.Repeat("m1 + ", maxDepth-1) + "m1"},
		{"deep NOT", strings.Repeat("NOT ", maxDepth-1) + "m1"},
		{"deep calls", strings.Repeat("ABS(", maxDepth-1) + "m1" + strings.Repeat(")", maxDepth-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			again, err := Parse(e.String())
			if err != nil {
				t.Fatalf("Parse of the canonical form: %v", err)
			}
			if again.String() != e.String() {
				t.Error("canonical form does not round-trip")
			}
		})
	}
}
