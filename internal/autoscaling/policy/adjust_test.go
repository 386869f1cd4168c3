package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// t0 is the moment the tests decide for.
var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// f returns a pointer to v, for step bounds.
func f(v float64) *float64 { return &v }

// fieldsOf lists the Field of every *FieldError joined in err.
func fieldsOf(err error) []string {
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []string
	for _, e := range errs {
		var fe *FieldError
		if errors.As(e, &fe) {
			out = append(out, fe.Field)
		}
	}
	return out
}

func TestAdjust(t *testing.T) {
	wide := Bounds{Min: 0, Max: 100}
	tests := []struct {
		name    string
		current int
		typ     AdjustmentType
		adj     int
		minMag  int
		b       Bounds
		want    int
	}{
		{"change adds", 2, ChangeInCapacity, 2, 0, wide, 4},
		{"change removes", 4, ChangeInCapacity, -1, 0, wide, 3},
		{"change clamped to max", 9, ChangeInCapacity, 5, 0, Bounds{1, 10}, 10},
		{"change clamped to min", 2, ChangeInCapacity, -5, 0, Bounds{1, 10}, 1},
		{"exact", 2, ExactCapacity, 7, 0, wide, 7},
		{"exact clamped", 2, ExactCapacity, 70, 0, Bounds{1, 10}, 10},
		{"exact zero within min", 2, ExactCapacity, 0, 0, Bounds{1, 10}, 1},
		{"percent 10 of 3 rounds 0.3 up to 1", 3, PercentChangeInCapacity, 10, 0, wide, 4},
		{"percent -50 of 3 rounds -1.5 toward zero", 3, PercentChangeInCapacity, -50, 0, wide, 2},
		{"percent 10 of 14 is 1.4, rounded down", 14, PercentChangeInCapacity, 10, 0, wide, 15},
		{"percent 127 of 10 is 12.7, rounded down", 10, PercentChangeInCapacity, 127, 0, wide, 22},
		{"percent -6 of 10 is -0.6, becomes -1", 10, PercentChangeInCapacity, -6, 0, wide, 9},
		{"percent -67 of 10 is -6.7, rounded up", 10, PercentChangeInCapacity, -67, 0, wide, 4},
		{"percent -100 empties", 5, PercentChangeInCapacity, -100, 0, wide, 0},
		{"percent of zero stays zero", 0, PercentChangeInCapacity, 50, 0, wide, 0},
		{"percent 0 is no change", 5, PercentChangeInCapacity, 0, 2, wide, 5},
		{"min magnitude raises 25 % of 4", 4, PercentChangeInCapacity, 25, 2, wide, 6},
		{"min magnitude on scale-in", 4, PercentChangeInCapacity, -25, 2, wide, 2},
		{"min magnitude below change unused", 20, PercentChangeInCapacity, 50, 2, wide, 30},
		{"percent clamped to max", 8, PercentChangeInCapacity, 100, 0, Bounds{1, 10}, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Adjust(tc.current, tc.typ, tc.adj, tc.minMag, tc.b); got != tc.want {
				t.Errorf("Adjust(%d, %s, %d, %d, %+v) = %d, want %d", tc.current, tc.typ, tc.adj, tc.minMag, tc.b, got, tc.want)
			}
		})
	}
}

func TestCause(t *testing.T) {
	tests := []struct {
		name     string
		at       time.Time
		trigger  string
		policy   string
		from, to int
		want     string
	}{
		{"AWS wording", t0, "a monitor alarm TargetTracking-web-AlarmHigh in state ALARM", "web-cpu", 2, 4,
			"At 2026-12-01T10:00:00Z a monitor alarm TargetTracking-web-AlarmHigh in state ALARM triggered policy web-cpu changing the desired capacity from 2 to 4."},
		{"time shown in UTC", t0.In(time.FixedZone("X", 3600)), "a monitor alarm low in state ALARM", "web-in", 4, 3,
			"At 2026-12-01T10:00:00Z a monitor alarm low in state ALARM triggered policy web-in changing the desired capacity from 4 to 3."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Cause(tc.at, tc.trigger, tc.policy, tc.from, tc.to); got != tc.want {
				t.Errorf("Cause() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExecutedCause(t *testing.T) {
	got := ExecutedCause(t0.In(time.FixedZone("X", 3600)), "web-out", 2, 3)
	want := "At 2026-12-01T10:00:00Z a user request executed policy web-out changing the desired capacity from 2 to 3."
	if got != want {
		t.Errorf("ExecutedCause() = %q, want %q", got, want)
	}
}

func TestFieldErrorNamesFieldValueAndFix(t *testing.T) {
	err := SimpleScaling{Name: "p", AdjustmentType: "Double", ScalingAdjustment: 1}.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Validate() = %v, want a *FieldError", err)
	}
	msg := fe.Error()
	for _, want := range []string{"AdjustmentType", `"Double"`, "use ChangeInCapacity"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}
