package policy

import (
	"strings"
	"testing"
	"time"
)

func TestTargetTrackingDecide(t *testing.T) {
	cpu := TargetTracking{Name: "web-cpu", TargetValue: 50, PredefinedMetric: ASGAverageCPUUtilization}
	noIn := cpu
	noIn.DisableScaleIn = true
	b := Bounds{Min: 1, Max: 10}
	obs := func(desired, inService, warming int, value float64) Observation {
		return Observation{Now: t0, Desired: desired, InService: inService, Warming: warming, Value: value, ValueOK: true}
	}
	tests := []struct {
		name       string
		policy     TargetTracking
		o          Observation
		b          Bounds
		want       int
		wantChange bool
		reason     string // a part of the reason
	}{
		{"at target", cpu, obs(2, 2, 0, 50), b, 2, false, "within 0.1"},
		{"above target within tolerance", cpu, obs(2, 2, 0, 55), b, 2, false, "within 0.1"},
		{"below target within tolerance", cpu, obs(4, 4, 0, 45), b, 4, false, "within 0.1"},
		{"just above the band scales out", cpu, obs(4, 4, 0, 56), b, 5, true, "AlarmHigh"},
		{"CPU doubles: 2 to 4", cpu, obs(2, 2, 0, 100), b, 4, true,
			"At 2026-12-01T10:00:00Z a monitor alarm TargetTracking-web-cpu-AlarmHigh in state ALARM triggered policy web-cpu changing the desired capacity from 2 to 4."},
		{"scale-out clamped to max", cpu, obs(8, 8, 0, 100), b, 10, true, "from 8 to 10"},
		{"scale-out limited to +100 % or +4", cpu, obs(2, 2, 0, 500), Bounds{1, 100}, 6, true, "from 2 to 6"},
		{"scale-out limit is +100 % for large groups", cpu, obs(10, 10, 0, 500), Bounds{1, 100}, 20, true, "from 10 to 20"},
		{"below the band scales in, rounding up", cpu, obs(4, 4, 0, 30), b, 3, true, "AlarmLow"},
		{"scale-in never below min", cpu, obs(2, 2, 0, 5), Bounds{2, 10}, 2, false, "cannot go lower (minimum 2)"},
		{"scale-in to min", cpu, obs(4, 4, 0, 5), Bounds{2, 10}, 2, true, "from 4 to 2"},
		{"warming instances cover the scale-out", cpu, obs(4, 2, 2, 100), b, 4, false, "already 4 (2 warming up)"},
		{"warming instances: only the difference is added", cpu, obs(3, 2, 1, 150), b, 6, true, "from 3 to 6"},
		{"scale-in waits for warmup", cpu, obs(4, 3, 1, 10), b, 4, false, "waits for 1 instances in warmup"},
		{"DisableScaleIn keeps the capacity", noIn, obs(4, 4, 0, 10), b, 4, false, "scale-in is disabled"},
		{"DisableScaleIn still scales out", noIn, obs(2, 2, 0, 100), b, 4, true, "from 2 to 4"},
		{"missing data: no decision", cpu, Observation{Now: t0, Desired: 3, InService: 3, Value: 99}, b, 3, false, "no data"},
		{"no counted instance: no decision", cpu, obs(2, 0, 2, 100), b, 2, false, "no instance is counted"},
		{"requests per target, ceil(7.5) limited to +4", TargetTracking{Name: "web-req", TargetValue: 1000, PredefinedMetric: ALBRequestCountPerTarget},
			obs(3, 3, 0, 2500), b, 7, true, "from 3 to 7"},
		{"customized metric", TargetTracking{Name: "q", TargetValue: 10}, obs(2, 2, 0, 30), b, 6, true, "from 2 to 6"},
		{"named alarm in the cause", cpu, Observation{Now: t0, Desired: 2, InService: 2, Value: 100, ValueOK: true, Alarm: "TargetTracking-web-AlarmHigh-1a2b"}, b, 4, true,
			"a monitor alarm TargetTracking-web-AlarmHigh-1a2b in state ALARM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.policy.Decide(tc.o, tc.b)
			if d.Desired != tc.want || d.Change != tc.wantChange {
				t.Errorf("Decide() = %d (change %v), want %d (change %v); reason %q", d.Desired, d.Change, tc.want, tc.wantChange, d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tc.reason)
			}
			if d.Policy != tc.policy.Name || d.Type != TypeTargetTracking || d.ScaleInDisabled != tc.policy.DisableScaleIn {
				t.Errorf("Decide() = %+v, want policy %q, type %s, ScaleInDisabled %v", d, tc.policy.Name, TypeTargetTracking, tc.policy.DisableScaleIn)
			}
		})
	}
}

func TestStabilize(t *testing.T) {
	w := DefaultScaleInStabilization
	tests := []struct {
		name    string
		history []Recommendation
		want    int
		wantOK  bool
	}{
		{"none", nil, 0, false},
		{"highest within the window wins", []Recommendation{
			{t0.Add(-200 * time.Second), 5}, {t0.Add(-100 * time.Second), 3}, {t0, 2}}, 5, true},
		{"older than the window is forgotten", []Recommendation{
			{t0.Add(-301 * time.Second), 9}, {t0.Add(-10 * time.Second), 3}}, 3, true},
		{"window edge included", []Recommendation{{t0.Add(-300 * time.Second), 4}, {t0, 2}}, 4, true},
		{"future ignored", []Recommendation{{t0.Add(time.Second), 8}}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Stabilize(t0, w, tc.history)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Stabilize() = %d, %v, want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestTargetTrackingValidate(t *testing.T) {
	tests := []struct {
		name   string
		policy TargetTracking
		fields []string
	}{
		{"valid CPU", TargetTracking{Name: "web-cpu", TargetValue: 50, PredefinedMetric: ASGAverageCPUUtilization}, nil},
		{"valid customized", TargetTracking{Name: "q", TargetValue: 0.5}, nil},
		{"no name", TargetTracking{TargetValue: 50}, []string{"PolicyName"}},
		{"zero target", TargetTracking{Name: "p"}, []string{"TargetValue"}},
		{"unknown metric", TargetTracking{Name: "p", TargetValue: 1, PredefinedMetric: "CPU"}, []string{"PredefinedMetricType"}},
		{"negative warmup", TargetTracking{Name: "p", TargetValue: 1, EstimatedInstanceWarmup: -time.Second}, []string{"EstimatedInstanceWarmup"}},
		{"every problem", TargetTracking{TargetValue: -1, PredefinedMetric: "x", EstimatedInstanceWarmup: -1},
			[]string{"PolicyName", "TargetValue", "PredefinedMetricType", "EstimatedInstanceWarmup"}},
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
