package metricmath

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that its errors are
// *SyntaxError within the expression, that the canonical form of what it
// accepts parses back to the same canonical form, and that evaluating an
// accepted expression returns series or an error, never a panic.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"m1 + m2 * 2", "-2 ^ -1", "(m1 / m2) * 100", `SUM(METRICS("errors"))`, "FILL(m1, REPEAT)",
		"FILL(METRICS(), LINEAR)", "IF(m1 > 10 AND NOT m2, m1, 0)", "SORT(METRICS(), AVG, DESC, 2)",
		"SLICE([m1, m2], 1)", "m1 && m2 || !m1", "RATE(m1) * PERIOD(m1)", "TIME_SERIES(1e3)",
		"CONCAT(m1, [m2])", "m1 +", "SUM(", "foo(m1)", "M1", "((((m1", `METRICS("x`, "1e999", "2m1",
		"DAY(m1) <= 5", "-(NOT m1)", "LOG10(ABS(DIFF(m1)))", "FIRST(SORT(METRICS(), MAX, ASC))",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	env := testEnv(ser("m1", 1, 0, no, -4, 5), ser("m2", no, 2, 3, 0, no))
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is a %T, want *SyntaxError", src, err, err)
			}
			if se.Offset < 0 || se.Offset > len(src) {
				t.Fatalf("Parse(%q) error offset %d outside the expression", src, se.Offset)
			}
			return
		}
		canon := e.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) accepted, but its canonical form %q does not parse: %v", src, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("canonical form of %q does not round-trip: %q became %q", src, canon, again.String())
		}
		out, err := Eval(e, env)
		if err == nil {
			for _, s := range out {
				if len(s.Timestamps) != len(s.Values) {
					t.Fatalf("Eval(%q) returned %d timestamps and %d values", src, len(s.Timestamps), len(s.Values))
				}
			}
		}
	})
}
