package alarm

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// now is 30 s into the minute after the range 10:00–10:05 of a 1-minute,
// N = 3 rule, whose evaluation range (5 periods) is 10:00, 10:01, …, 10:04.
var now = time.Date(2026, 12, 1, 10, 5, 30, 0, time.UTC)

const (
	breachValue = 90.0
	okValue     = 70.0
)

// pattern turns AWS's notation for the evaluation range, oldest first ("0"
// not breaching, "X" breaching, "-" missing), into datapoints of rule r at
// now against a threshold of 80 with GreaterThanOrEqualToThreshold.
func pattern(t *testing.T, r Rule, at time.Time, p string) []Datapoint {
	t.Helper()
	fields := strings.Fields(p)
	periods := r.Periods(at)
	if len(fields) > len(periods) {
		t.Fatalf("pattern %q has %d periods, the range %d", p, len(fields), len(periods))
	}
	periods = periods[len(periods)-len(fields):]
	var out []Datapoint
	for i, f := range fields {
		switch f {
		case "0", "O":
			out = append(out, Datapoint{Timestamp: periods[i], Value: okValue, SampleCount: 10})
		case "X":
			out = append(out, Datapoint{Timestamp: periods[i], Value: breachValue, SampleCount: 10})
		case "-":
		default:
			t.Fatalf("pattern %q: unknown mark %q", p, f)
		}
	}
	return out
}

func rule(m, n int, treat Missing) Rule {
	return Rule{Period: time.Minute, EvaluationPeriods: n, DatapointsToAlarm: m, Threshold: 80,
		Operator: GreaterThanOrEqualToThreshold, TreatMissingData: treat}
}

// retain marks a table cell "Retain current state".
const retain State = "retain"

// TestAWSMissingDataTables is every row of the two tables of AWS's
// "Configuring how CloudWatch alarms treat missing data" (3 out of 3 and
// 2 out of 3, evaluation range 5), plus the rows of the page's older
// revision and the examples of "Avoiding premature transitions to alarm
// state". Columns: MISSING, IGNORE, BREACHING, NOT BREACHING.
func TestAWSMissingDataTables(t *testing.T) {
	tests := []struct {
		name   string
		m, n   int
		points string
		want   [4]State
	}{
		{"3of3 row1 0-X-X", 3, 3, "0 - X - X", [4]State{OK, OK, OK, OK}},
		{"3of3 row2 0----", 3, 3, "0 - - - -", [4]State{OK, OK, OK, OK}},
		{"3of3 row3 -----", 3, 3, "- - - - -", [4]State{InsufficientData, retain, Alarm, OK}},
		{"3of3 row4 0XX-X", 3, 3, "0 X X - X", [4]State{Alarm, Alarm, Alarm, Alarm}},
		{"3of3 row5 --X--", 3, 3, "- - X - -", [4]State{Alarm, retain, Alarm, OK}},
		{"2of3 row1 0-X-X", 2, 3, "0 - X - X", [4]State{Alarm, Alarm, Alarm, Alarm}},
		{"2of3 row2 00X0X", 2, 3, "0 0 X 0 X", [4]State{Alarm, Alarm, Alarm, Alarm}},
		{"2of3 row3 0-X--", 2, 3, "0 - X - -", [4]State{OK, OK, Alarm, OK}},
		{"2of3 row4 ----0", 2, 3, "- - - - 0", [4]State{OK, OK, Alarm, OK}},
		{"2of3 row5 ---X-", 2, 3, "- - - X -", [4]State{Alarm, retain, Alarm, OK}},
		// The page's older revision: its rows without a counterpart above.
		{"old 3of3 ----X", 3, 3, "- - - - X", [4]State{InsufficientData, retain, Alarm, OK}},
		{"old 3of3 X----", 3, 3, "X - - - -", [4]State{Alarm, retain, Alarm, OK}},
		// "Avoiding premature transitions": not yet ALARM at ---X- with
		// M = 3, and OK once a good datapoint follows.
		{"premature 3of3 ---X-", 3, 3, "- - - X -", [4]State{InsufficientData, retain, Alarm, OK}},
		{"premature 3of3 ---XO", 3, 3, "- - - X 0", [4]State{OK, OK, OK, OK}},
		{"premature 3of3 --X-O", 3, 3, "- - X - 0", [4]State{OK, OK, OK, OK}},
	}
	treats := [4]Missing{MissingMissing, MissingIgnore, MissingBreaching, MissingNotBreaching}
	for _, tt := range tests {
		for i, treat := range treats {
			for _, prev := range []State{OK, Alarm, InsufficientData} {
				t.Run(fmt.Sprintf("%s/%s/from %s", tt.name, treat, prev), func(t *testing.T) {
					r := rule(tt.m, tt.n, treat)
					want := tt.want[i]
					if want == retain {
						want = prev
					}
					got := Evaluate(r, pattern(t, r, now, tt.points), prev, now)
					if got.State != want {
						t.Fatalf("state %s, want %s (reason %q)", got.State, want, got.Reason)
					}
					if got.Changed != (want != prev) {
						t.Errorf("Changed %v from %s to %s", got.Changed, prev, got.State)
					}
				})
			}
		}
	}
}

// TestSecondRowNextEvaluation is the page's note on row 2 of the first
// table: breaching stays OK while the good datapoint is in the range and
// goes to ALARM once it has left.
func TestSecondRowNextEvaluation(t *testing.T) {
	r := rule(3, 3, MissingBreaching)
	points := pattern(t, r, now, "0 - - - -")
	tests := []struct {
		name string
		at   time.Time
		want State
	}{
		{"good datapoint in range", now, OK},
		{"good datapoint left the range", now.Add(time.Minute), Alarm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(r, points, OK, tt.at); got.State != tt.want {
				t.Fatalf("state %s, want %s (%s)", got.State, tt.want, got.Reason)
			}
		})
	}
}

// TestOperators compares a value below, at and above the threshold under
// every operator, with and without a fractional threshold.
func TestOperators(t *testing.T) {
	tests := []struct {
		op                  Operator
		below, equal, above bool
	}{
		{GreaterThanOrEqualToThreshold, false, true, true},
		{GreaterThanThreshold, false, false, true},
		{LessThanThreshold, true, false, false},
		{LessThanOrEqualToThreshold, true, true, false},
	}
	for _, threshold := range []float64{80, 0.1, -3.5, 0} {
		for _, tt := range tests {
			for _, c := range []struct {
				name  string
				value float64
				want  bool
			}{
				{"below", threshold - 0.25, tt.below},
				{"equal", threshold, tt.equal},
				{"above", threshold + 0.25, tt.above},
			} {
				t.Run(fmt.Sprintf("%s/%v/%s", tt.op, threshold, c.name), func(t *testing.T) {
					if got := tt.op.Breaches(c.value, threshold); got != c.want {
						t.Fatalf("Breaches(%v, %v) = %v", c.value, threshold, got)
					}
					r := Rule{Period: time.Minute, EvaluationPeriods: 1, Threshold: threshold, Operator: tt.op}
					p := []Datapoint{{Timestamp: now.Truncate(time.Minute).Add(-time.Minute), Value: c.value}}
					want := OK
					if c.want {
						want = Alarm
					}
					if got := Evaluate(r, p, InsufficientData, now); got.State != want {
						t.Fatalf("Evaluate: %s, want %s (%s)", got.State, want, got.Reason)
					}
				})
			}
		}
	}
}

// TestMOfN covers 1/1, 3/3, 2/3 and 3/5 alarms under every treatment of
// missing data, patterns oldest first over the N + 2 periods of the range.
func TestMOfN(t *testing.T) {
	treats := [4]Missing{MissingMissing, MissingIgnore, MissingBreaching, MissingNotBreaching}
	tests := []struct {
		name   string
		m, n   int
		points string
		want   [4]State // missing, ignore, breaching, notBreaching
	}{
		{"1of1 breaching", 1, 1, "- - X", [4]State{Alarm, Alarm, Alarm, Alarm}},
		{"1of1 good", 1, 1, "- - 0", [4]State{OK, OK, OK, OK}},
		{"1of1 newest missing, older breaching", 1, 1, "- X -", [4]State{Alarm, Alarm, Alarm, Alarm}},
		{"1of1 newest missing, older good", 1, 1, "0 - -", [4]State{OK, OK, OK, OK}},
		{"1of1 all missing", 1, 1, "- - -", [4]State{InsufficientData, retain, Alarm, OK}},
		{"0 means N", 0, 3, "0 0 X X X", [4]State{Alarm, Alarm, Alarm, Alarm}},
		{"3of3 two of three", 3, 3, "0 0 0 X X", [4]State{OK, OK, OK, OK}},
		{"2of3 one of three", 2, 3, "X X 0 0 X", [4]State{OK, OK, OK, OK}},
		{"2of3 not consecutive", 2, 3, "0 0 X 0 X", [4]State{Alarm, Alarm, Alarm, Alarm}},
		{"3of5 three of five", 3, 5, "0 0 X 0 X 0 X", [4]State{Alarm, Alarm, Alarm, Alarm}},
		{"3of5 two of five", 3, 5, "X X 0 0 X 0 X", [4]State{OK, OK, OK, OK}},
		{"3of5 older datapoints fill in", 3, 5, "X X - 0 X - 0", [4]State{Alarm, Alarm, Alarm, Alarm}},
		{"3of5 four datapoints", 3, 5, "- - - X X 0 X", [4]State{Alarm, Alarm, Alarm, Alarm}},
		{"3of5 two datapoints breaching", 3, 5, "- - - - - X X", [4]State{InsufficientData, retain, Alarm, OK}},
		{"3of5 two old datapoints breaching", 3, 5, "- - - X X - -", [4]State{Alarm, retain, Alarm, OK}},
		{"3of5 one good", 3, 5, "- - - - - - 0", [4]State{OK, OK, Alarm, OK}},
		{"3of5 all missing", 3, 5, "- - - - - - -", [4]State{InsufficientData, retain, Alarm, OK}},
	}
	for _, tt := range tests {
		for i, treat := range treats {
			t.Run(tt.name+"/"+string(treat), func(t *testing.T) {
				r := rule(tt.m, tt.n, treat)
				prev := OK
				want := tt.want[i]
				if want == retain {
					want = prev
				}
				got := Evaluate(r, pattern(t, r, now, tt.points), prev, now)
				if got.State != want {
					t.Fatalf("state %s, want %s (%s)", got.State, want, got.Reason)
				}
			})
		}
	}
}

// TestPeriodBoundaries checks that a period is evaluated once it has
// ended and not before, for minute and sub-minute periods.
func TestPeriodBoundaries(t *testing.T) {
	minute := time.Date(2026, 12, 1, 10, 5, 0, 0, time.UTC)
	tests := []struct {
		name   string
		period time.Duration
		point  time.Time // one breaching datapoint
		at     time.Time
		want   State
	}{
		{"current minute not evaluated", time.Minute, minute, minute.Add(59 * time.Second), InsufficientData},
		{"minute evaluated at its end", time.Minute, minute, minute.Add(time.Minute), Alarm},
		{"minute evaluated a nanosecond before its end", time.Minute, minute, minute.Add(time.Minute - 1), InsufficientData},
		{"10s period evaluated at its end", 10 * time.Second, minute, minute.Add(10 * time.Second), Alarm},
		{"10s period not before", 10 * time.Second, minute, minute.Add(9 * time.Second), InsufficientData},
		{"outside the range", time.Minute, minute.Add(-5 * time.Minute), minute.Add(time.Minute), InsufficientData},
		{"oldest period of the range", time.Minute, minute.Add(-2 * time.Minute), minute.Add(time.Minute), Alarm},
		{"future datapoint ignored", time.Minute, minute.Add(time.Hour), minute.Add(time.Minute), InsufficientData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Rule{Period: tt.period, EvaluationPeriods: 1, Threshold: 80, Operator: GreaterThanThreshold}
			got := Evaluate(r, []Datapoint{{Timestamp: tt.point, Value: 99}}, InsufficientData, tt.at)
			if got.State != tt.want {
				t.Fatalf("state %s, want %s (%s)", got.State, tt.want, got.Reason)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name       string
		r          Rule
		at         time.Time
		start, end string
	}{
		{"1 minute N=3", Rule{Period: time.Minute, EvaluationPeriods: 3}, now, "10:00:00", "10:05:00"},
		{"on the minute", Rule{Period: time.Minute, EvaluationPeriods: 3}, now.Truncate(time.Minute), "10:00:00", "10:05:00"},
		{"5 minutes on the minute grid", Rule{Period: 5 * time.Minute, EvaluationPeriods: 3}, time.Date(2026, 12, 1, 12, 16, 20, 0, time.UTC), "11:51:00", "12:16:00"},
		{"10 s", Rule{Period: 10 * time.Second, EvaluationPeriods: 1}, time.Date(2026, 12, 1, 10, 0, 25, 0, time.UTC), "09:59:50", "10:00:20"},
		{"invalid rule is empty", Rule{}, now, "10:05:30", "10:05:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := tt.r.Window(tt.at)
			if got := start.Format("15:04:05"); got != tt.start {
				t.Errorf("start %s, want %s", got, tt.start)
			}
			if got := end.Format("15:04:05"); got != tt.end {
				t.Errorf("end %s, want %s", got, tt.end)
			}
		})
	}
}

func TestEvaluateInputs(t *testing.T) {
	r := rule(1, 1, MissingMissing)
	last := now.Truncate(time.Minute).Add(-time.Minute)
	tests := []struct {
		name   string
		points []Datapoint
		prev   State
		want   State
		change bool
	}{
		{"new alarm starts INSUFFICIENT_DATA", nil, "", InsufficientData, false},
		{"new alarm to ALARM", []Datapoint{{Timestamp: last, Value: 99}}, "", Alarm, true},
		{"later duplicate wins", []Datapoint{{Timestamp: last, Value: 99}, {Timestamp: last, Value: 1}}, Alarm, OK, true},
		{"NaN is missing", []Datapoint{{Timestamp: last, Value: nan()}}, OK, InsufficientData, true},
		{"unaligned timestamp counts in its period", []Datapoint{{Timestamp: last.Add(30 * time.Second), Value: 99}}, OK, Alarm, true},
		{"same state is not a change", []Datapoint{{Timestamp: last, Value: 99}}, Alarm, Alarm, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(r, tt.points, tt.prev, now)
			if got.State != tt.want || got.Changed != tt.change {
				t.Fatalf("got %s changed=%v, want %s changed=%v (%s)", got.State, got.Changed, tt.want, tt.change, got.Reason)
			}
		})
	}
	t.Run("invalid rule keeps the state", func(t *testing.T) {
		got := Evaluate(Rule{Period: time.Minute, EvaluationPeriods: 1, Operator: "Bigger"}, nil, OK, now)
		if got.State != OK || got.Changed || !strings.Contains(got.Reason, "Operator") {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestLowSampleCountPercentile(t *testing.T) {
	last := now.Truncate(time.Minute).Add(-time.Minute)
	tests := []struct {
		name    string
		mode    string
		stat    string
		samples float64
		want    State
	}{
		{"p99 ignore with 999 samples keeps the state", LowSampleIgnore, "p99", 999, OK},
		{"p99 ignore with 1000 samples evaluates", LowSampleIgnore, "p99", 1000, Alarm},
		{"p99 evaluate with 1 sample evaluates", LowSampleEvaluate, "p99", 1, Alarm},
		{"p99 default evaluates", "", "p99", 1, Alarm},
		{"p10 ignore needs 100", LowSampleIgnore, "p10", 99, OK},
		{"p10 ignore with 100", LowSampleIgnore, "p10", 100, Alarm},
		{"p50 ignore needs 20", LowSampleIgnore, "p50", 19, OK},
		{"p100 ignore is exact", LowSampleIgnore, "p100", 1, Alarm},
		{"p99.9 ignore with 9999 samples keeps the state", LowSampleIgnore, "p99.9", 9999, OK},
		{"p99.9 ignore with 10000 samples evaluates", LowSampleIgnore, "p99.9", 10000, Alarm},
		{"percentile named in upper case", LowSampleIgnore, "P90", 99, OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Rule{Period: time.Minute, EvaluationPeriods: 1, Threshold: 80, Operator: GreaterThanThreshold,
				Statistic: tt.stat, Percentile: true, EvaluateLowSampleCountPercentile: tt.mode}
			got := Evaluate(r, []Datapoint{{Timestamp: last, Value: 99, SampleCount: tt.samples}}, OK, now)
			if got.State != tt.want {
				t.Fatalf("state %s, want %s (%s)", got.State, tt.want, got.Reason)
			}
		})
	}
}

func TestMinSamples(t *testing.T) {
	tests := []struct {
		name string
		p    float64
		want float64
	}{
		{"p99", 0.99, 1000},
		{"p90", 0.9, 100},
		{"p50", 0.5, 20},
		{"p25", 0.25, 40},
		{"p99.9", 0.999, 10000},
		{"p33 rounds up", 0.33, 31},
		{"p0", 0, 0},
		{"p100", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MinSamples(tt.p); got != tt.want {
				t.Fatalf("MinSamples(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func nan() float64 { return math.NaN() }
