package policy

import (
	"strings"
	"testing"
)

func TestCombine(t *testing.T) {
	b := Bounds{Min: 1, Max: 10}
	cpu := TargetTracking{Name: "web-cpu", TargetValue: 50, PredefinedMetric: ASGAverageCPUUtilization}
	req := TargetTracking{Name: "web-req", TargetValue: 1000, PredefinedMetric: ALBRequestCountPerTarget}
	reqNoIn := req
	reqNoIn.DisableScaleIn = true
	obs := func(desired int, value float64) Observation {
		return Observation{Now: t0, Desired: desired, InService: desired, Value: value, ValueOK: true}
	}
	tests := []struct {
		name       string
		current    int
		ds         []Decision
		want       int
		wantPolicy string
		wantChange bool
		reason     string
	}{
		{"step policy gives the largest capacity", 2, []Decision{
			cpu.Decide(obs(2, 100), b),           // 4
			req.Decide(obs(2, 1500), b),          // 3
			countSteps.Decide(obs(2, 75), 50, b), // 5
		}, 5, "web-steps", true, "from 2 to 5"},
		{"largest target tracking scale-out wins", 2, []Decision{
			cpu.Decide(obs(2, 100), b),  // 4
			req.Decide(obs(2, 1500), b), // 3
		}, 4, "web-cpu", true, "from 2 to 4"},
		{"scale-out beats another policy's scale-in", 4, []Decision{
			cpu.Decide(obs(4, 10), b),   // 1
			req.Decide(obs(4, 1500), b), // 6
		}, 6, "web-req", true, "from 4 to 6"},
		{"both target tracking agree to scale in: the smaller step", 5, []Decision{
			cpu.Decide(obs(5, 20), b),  // 2
			req.Decide(obs(5, 700), b), // 4
		}, 4, "web-req", true, "from 5 to 4"},
		{"one target tracking policy holds: no scale-in", 5, []Decision{
			cpu.Decide(obs(5, 20), b),   // 2
			req.Decide(obs(5, 1000), b), // hold
		}, 5, "web-req", false, "scale-in needs every target tracking policy to agree"},
		{"missing data holds scale-in", 5, []Decision{
			cpu.Decide(obs(5, 20), b),
			req.Decide(Observation{Now: t0, Desired: 5, InService: 5}, b),
		}, 5, "web-req", false, "no data"},
		{"DisableScaleIn does not hold others back", 5, []Decision{
			cpu.Decide(obs(5, 20), b),      // 2
			reqNoIn.Decide(obs(5, 100), b), // disabled
		}, 2, "web-cpu", true, "from 5 to 2"},
		{"step scale-in held by target tracking", 5, []Decision{
			scaleInSteps.Decide(obs(5, 3), 40, b), // 3
			cpu.Decide(obs(5, 50), b),             // hold
		}, 5, "web-cpu", false, "holds the desired capacity at 5"},
		{"untriggered step does not hold scale-in", 5, []Decision{
			countSteps.Decide(obs(5, 40), 50, b), // no step: hold
			cpu.Decide(obs(5, 20), b),            // 2
		}, 2, "web-cpu", true, "from 5 to 2"},
		{"no decisions", 3, nil, 3, "", false, "no policy wants to change the desired capacity from 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Combine(tc.current, tc.ds)
			if d.Desired != tc.want || d.Policy != tc.wantPolicy || d.Change != tc.wantChange {
				t.Errorf("Combine() = %d by %q (change %v), want %d by %q (change %v); reason %q",
					d.Desired, d.Policy, d.Change, tc.want, tc.wantPolicy, tc.wantChange, d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, tc.reason)
			}
		})
	}
}
