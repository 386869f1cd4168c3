package policy

import (
	"strings"
	"testing"
	"time"
)

// scaleOutPercent is the step example of the EC2 Auto Scaling user guide's
// shape: with a threshold of 50, a breach from 0 to 10 keeps the capacity,
// 10 to 20 adds 10 percent, 20 and more adds 30 percent.
var scaleOutPercent = StepScaling{
	Name:           "web-out",
	AdjustmentType: PercentChangeInCapacity,
	Steps: []StepAdjustment{
		{LowerBound: f(0), UpperBound: f(10), ScalingAdjustment: 0},
		{LowerBound: f(10), UpperBound: f(20), ScalingAdjustment: 10},
		{LowerBound: f(20), ScalingAdjustment: 30},
	},
}

// scaleInSteps is a scale-in policy for an alarm below a threshold of 40:
// down to 30 removes 1, below 30 removes 2.
var scaleInSteps = StepScaling{
	Name:           "web-in",
	AdjustmentType: ChangeInCapacity,
	Steps: []StepAdjustment{
		{LowerBound: f(-10), UpperBound: f(0), ScalingAdjustment: -1},
		{UpperBound: f(-10), ScalingAdjustment: -2},
	},
}

// countSteps is the brief's example: 0–10 above adds 1, 10–20 adds 2, more adds 3.
var countSteps = StepScaling{
	Name:           "web-steps",
	AdjustmentType: ChangeInCapacity,
	Steps: []StepAdjustment{
		{LowerBound: f(10), UpperBound: f(20), ScalingAdjustment: 2},
		{LowerBound: f(20), ScalingAdjustment: 3},
		{LowerBound: f(0), UpperBound: f(10), ScalingAdjustment: 1},
	},
}

func TestStepScalingDecide(t *testing.T) {
	b := Bounds{Min: 1, Max: 20}
	obs := func(desired, inService, warming int, value float64) Observation {
		return Observation{Now: t0, Desired: desired, InService: inService, Warming: warming, Value: value, ValueOK: true, Alarm: "web-high"}
	}
	tests := []struct {
		name       string
		policy     StepScaling
		o          Observation
		threshold  float64
		want       int
		wantChange bool
		reason     string
	}{
		{"percent: breach 0–10 keeps", scaleOutPercent, obs(10, 10, 0, 55), 50, 10, false, "leaves the desired capacity at 10"},
		{"percent: breach at 10 adds 10 %", scaleOutPercent, obs(10, 10, 0, 60), 50, 11, true,
			"At 2026-12-01T10:00:00Z a monitor alarm web-high in state ALARM triggered policy web-out changing the desired capacity from 10 to 11."},
		{"percent: breach 20 and more adds 30 %", scaleOutPercent, obs(10, 10, 0, 95), 50, 13, true, "from 10 to 13"},
		{"percent: open upper bound clamped to max", scaleOutPercent, obs(18, 18, 0, 1e9), 50, 20, true, "from 18 to 20"},
		{"count: lower bound included", countSteps, obs(2, 2, 0, 50), 50, 3, true, "from 2 to 3"},
		{"count: second step", countSteps, obs(2, 2, 0, 65), 50, 4, true, "from 2 to 4"},
		{"count: upper bound excluded", countSteps, obs(2, 2, 0, 70), 50, 5, true, "from 2 to 5"},
		{"count: below threshold no step", countSteps, obs(2, 2, 0, 49), 50, 2, false, "which no step adjustment covers"},
		{"warmup: new breach adds only the difference", countSteps, obs(3, 2, 1, 75), 50, 5, true, "from 3 to 5"},
		{"warmup: warming instances cover the step", countSteps, obs(3, 2, 1, 55), 50, 3, false, "already covers it (1 warming up)"},
		{"scale-in: upper bound 0 included", scaleInSteps, obs(5, 5, 0, 40), 40, 4, true, "from 5 to 4"},
		{"scale-in: open lower bound", scaleInSteps, obs(5, 5, 0, 3), 40, 3, true, "from 5 to 3"},
		{"scale-in: the edge -10 belongs to the step below", scaleInSteps, obs(5, 5, 0, 30), 40, 3, true, "from 5 to 3"},
		{"scale-in: never below min", scaleInSteps, obs(1, 1, 0, 3), 40, 1, false, "leaves the desired capacity at 1"},
		{"scale-in: waits for warmup", scaleInSteps, obs(5, 4, 1, 3), 40, 5, false, "waits for 1 instances in warmup"},
		{"scale-in: above threshold no step", scaleInSteps, obs(5, 5, 0, 41), 40, 5, false, "no step adjustment covers"},
		{"missing data", countSteps, Observation{Now: t0, Desired: 2, InService: 2, Value: 90}, 50, 2, false, "no data"},
		{"exact capacity", StepScaling{Name: "x", AdjustmentType: ExactCapacity, Steps: []StepAdjustment{{LowerBound: f(0), ScalingAdjustment: 6}}},
			obs(2, 2, 0, 51), 50, 6, true, "from 2 to 6"},
		{"exact capacity covered by warming", StepScaling{Name: "x", AdjustmentType: ExactCapacity, Steps: []StepAdjustment{{LowerBound: f(0), ScalingAdjustment: 6}}},
			obs(6, 3, 3, 51), 50, 6, false, "leaves the desired capacity at 6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.policy.Decide(tc.o, tc.threshold, b)
			if d.Desired != tc.want || d.Change != tc.wantChange {
				t.Errorf("Decide() = %d (change %v), want %d (change %v); reason %q", d.Desired, d.Change, tc.want, tc.wantChange, d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tc.reason)
			}
			if d.Type != TypeStepScaling {
				t.Errorf("Type = %s, want %s", d.Type, TypeStepScaling)
			}
		})
	}
}

func TestStepScalingValidate(t *testing.T) {
	tests := []struct {
		name   string
		policy StepScaling
		fields []string
	}{
		{"valid scale-out", scaleOutPercent, nil},
		{"valid scale-in", scaleInSteps, nil},
		{"valid unsorted", countSteps, nil},
		{"valid with min magnitude", StepScaling{Name: "p", AdjustmentType: PercentChangeInCapacity, MinAdjustmentMagnitude: 2,
			Steps: []StepAdjustment{{LowerBound: f(0), ScalingAdjustment: 25}}}, nil},
		{"no steps", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity}, []string{"StepAdjustments"}},
		{"both bounds open", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity,
			Steps: []StepAdjustment{{ScalingAdjustment: 1}}}, []string{"StepAdjustments[0]"}},
		{"upper not above lower", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity,
			Steps: []StepAdjustment{{LowerBound: f(10), UpperBound: f(10), ScalingAdjustment: 1}, {LowerBound: f(10), ScalingAdjustment: 2}}},
			[]string{"StepAdjustments[0].MetricIntervalUpperBound"}},
		{"two open upper bounds", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity,
			Steps: []StepAdjustment{{LowerBound: f(0), ScalingAdjustment: 1}, {LowerBound: f(10), ScalingAdjustment: 2}}},
			[]string{"StepAdjustments"}},
		{"two open lower bounds", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity,
			Steps: []StepAdjustment{{UpperBound: f(0), ScalingAdjustment: -1}, {UpperBound: f(-10), ScalingAdjustment: -2}}},
			[]string{"StepAdjustments"}},
		{"positive upper bound needs an open one", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity,
			Steps: []StepAdjustment{{LowerBound: f(0), UpperBound: f(10), ScalingAdjustment: 1}}},
			[]string{"StepAdjustments"}},
		{"negative lower bound needs an open one", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity,
			Steps: []StepAdjustment{{LowerBound: f(-10), UpperBound: f(0), ScalingAdjustment: -1}}},
			[]string{"StepAdjustments"}},
		{"overlap", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity,
			Steps: []StepAdjustment{{LowerBound: f(0), UpperBound: f(15), ScalingAdjustment: 1}, {LowerBound: f(10), ScalingAdjustment: 2}}},
			[]string{"StepAdjustments"}},
		{"gap", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity,
			Steps: []StepAdjustment{{LowerBound: f(0), UpperBound: f(5), ScalingAdjustment: 1}, {LowerBound: f(10), ScalingAdjustment: 2}}},
			[]string{"StepAdjustments"}},
		{"min magnitude without percent", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity, MinAdjustmentMagnitude: 2,
			Steps: []StepAdjustment{{LowerBound: f(0), ScalingAdjustment: 1}}}, []string{"MinAdjustmentMagnitude"}},
		{"bad adjustment type", StepScaling{Name: "p", AdjustmentType: "Double",
			Steps: []StepAdjustment{{LowerBound: f(0), ScalingAdjustment: 1}}}, []string{"AdjustmentType"}},
		{"negative exact capacity", StepScaling{Name: "p", AdjustmentType: ExactCapacity,
			Steps: []StepAdjustment{{LowerBound: f(0), ScalingAdjustment: -1}}}, []string{"StepAdjustments[0].ScalingAdjustment"}},
		{"percent below -100", StepScaling{Name: "p", AdjustmentType: PercentChangeInCapacity,
			Steps: []StepAdjustment{{UpperBound: f(0), ScalingAdjustment: -150}}}, []string{"StepAdjustments[0].ScalingAdjustment"}},
		{"bad aggregation and warmup", StepScaling{Name: "p", AdjustmentType: ChangeInCapacity, MetricAggregationType: "Sum", EstimatedInstanceWarmup: -time.Second,
			Steps: []StepAdjustment{{LowerBound: f(0), ScalingAdjustment: 1}}}, []string{"EstimatedInstanceWarmup", "MetricAggregationType"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fieldsOf(tc.policy.Validate())
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("Validate() fields = %v, want %v; error: %v", got, tc.fields, tc.policy.Validate())
			}
		})
	}
}

func TestSimpleScalingDecide(t *testing.T) {
	b := Bounds{Min: 1, Max: 10}
	add2 := SimpleScaling{Name: "add2", AdjustmentType: ChangeInCapacity, ScalingAdjustment: 2}
	short := add2
	short.Cooldown = 60 * time.Second
	o := Observation{Now: t0, Desired: 3, InService: 3, Alarm: "cpu-high"}
	tests := []struct {
		name       string
		policy     SimpleScaling
		last       time.Time
		want       int
		wantChange bool
		reason     string
	}{
		{"no earlier activity", add2, time.Time{}, 5, true,
			"At 2026-12-01T10:00:00Z a monitor alarm cpu-high in state ALARM triggered policy add2 changing the desired capacity from 3 to 5."},
		{"in the default 300 s cooldown", add2, t0.Add(-299 * time.Second), 3, false, "in cooldown until 2026-12-01T10:00:01Z"},
		{"default cooldown over", add2, t0.Add(-300 * time.Second), 5, true, "from 3 to 5"},
		{"own cooldown over", short, t0.Add(-61 * time.Second), 5, true, "from 3 to 5"},
		{"own cooldown running", short, t0.Add(-30 * time.Second), 3, false, "(1m0s after the last scaling activity)"},
		{"percent with min magnitude", SimpleScaling{Name: "p", AdjustmentType: PercentChangeInCapacity, ScalingAdjustment: 10, MinAdjustmentMagnitude: 2},
			time.Time{}, 5, true, "from 3 to 5"},
		{"at max", SimpleScaling{Name: "x", AdjustmentType: ExactCapacity, ScalingAdjustment: 3}, time.Time{}, 3, false, "leaves the desired capacity at 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.policy.Decide(o, tc.last, b)
			if d.Desired != tc.want || d.Change != tc.wantChange {
				t.Errorf("Decide() = %d (change %v), want %d (change %v); reason %q", d.Desired, d.Change, tc.want, tc.wantChange, d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tc.reason)
			}
		})
	}
}

func TestSimpleScalingValidate(t *testing.T) {
	tests := []struct {
		name   string
		policy SimpleScaling
		fields []string
	}{
		{"valid", SimpleScaling{Name: "p", AdjustmentType: ChangeInCapacity, ScalingAdjustment: -1}, nil},
		{"negative cooldown", SimpleScaling{Name: "p", AdjustmentType: ChangeInCapacity, Cooldown: -time.Second}, []string{"Cooldown"}},
		{"min magnitude with exact", SimpleScaling{Name: "p", AdjustmentType: ExactCapacity, MinAdjustmentMagnitude: 1}, []string{"MinAdjustmentMagnitude"}},
		{"negative min magnitude", SimpleScaling{Name: "p", AdjustmentType: PercentChangeInCapacity, MinAdjustmentMagnitude: -1}, []string{"MinAdjustmentMagnitude"}},
		{"no name, no type", SimpleScaling{}, []string{"PolicyName", "AdjustmentType"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fieldsOf(tc.policy.Validate())
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("Validate() fields = %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestStepScalingStep(t *testing.T) {
	tests := []struct {
		name   string
		policy StepScaling
		diff   float64
		want   int // the step's ScalingAdjustment
		ok     bool
	}{
		{"lowest step includes its lower bound", countSteps, 0, 1, true},
		{"upper bound belongs to the next step", countSteps, 10, 2, true},
		{"open upper step", countSteps, 1e6, 3, true},
		{"below every step", countSteps, -0.5, 0, false},
		{"below the threshold includes the upper bound", scaleInSteps, 0, -1, true},
		{"open lower step", scaleInSteps, -25, -2, true},
		{"above a scale-in policy", scaleInSteps, 0.1, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, ok := tc.policy.Step(tc.diff)
			if ok != tc.ok || st.ScalingAdjustment != tc.want {
				t.Errorf("Step(%v) = %+v, %v; want adjustment %d, %v", tc.diff, st, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestSimpleScalingCooldownEnd(t *testing.T) {
	own := SimpleScaling{Name: "x", Cooldown: time.Minute}
	tests := []struct {
		name   string
		policy SimpleScaling
		last   time.Time
		want   time.Time
	}{
		{"no activity yet", own, time.Time{}, time.Time{}},
		{"own cooldown", own, t0, t0.Add(time.Minute)},
		{"default cooldown", SimpleScaling{Name: "y"}, t0, t0.Add(DefaultCooldown)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.CooldownEnd(tc.last); !got.Equal(tc.want) {
				t.Errorf("CooldownEnd(%v) = %v, want %v", tc.last, got, tc.want)
			}
		})
	}
}
