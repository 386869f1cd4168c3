package policy

import (
	"math"
	"testing"
	"time"
)

// FuzzDecideWithinBounds checks that no policy ever wishes for a capacity
// outside the group's bounds, whatever the observation.
func FuzzDecideWithinBounds(fz *testing.F) {
	fz.Add(1, 10, 2, 2, 0, 100.0, 50.0, 1, int64(0))
	fz.Add(0, 0, 0, 0, 0, 0.0, 1.0, -100, int64(-1))
	fz.Add(2, 5, 5, 3, 2, 1e300, 1e-300, 300, int64(400))
	fz.Add(1, 3, 3, 3, 0, math.Inf(1), 50.0, -1, int64(10))
	fz.Fuzz(func(t *testing.T, lo, span, desired, inService, warming int, value, target float64, adj int, ago int64) {
		lo, span = abs(lo)%1000, abs(span)%1000
		b := Bounds{Min: lo, Max: lo + span}
		o := Observation{
			Now:       t0,
			Desired:   b.Clamp(abs(desired) % 2000),
			InService: abs(inService) % 2000,
			Warming:   abs(warming) % 2000,
			Value:     value,
			ValueOK:   true,
		}
		adj %= 100000
		check := func(kind string, d Decision) {
			t.Helper()
			if d.Desired < b.Min || d.Desired > b.Max {
				t.Fatalf("%s: Desired %d outside %+v for %+v", kind, d.Desired, b, o)
			}
			if d.Change != (d.Desired != o.Desired) {
				t.Fatalf("%s: Change %v with Desired %d from %d", kind, d.Change, d.Desired, o.Desired)
			}
		}
		for _, disable := range []bool{false, true} {
			check("target tracking", TargetTracking{Name: "tt", TargetValue: target, DisableScaleIn: disable}.Decide(o, b))
		}
		for _, typ := range []AdjustmentType{ChangeInCapacity, ExactCapacity, PercentChangeInCapacity} {
			step := StepScaling{Name: "st", AdjustmentType: typ, MinAdjustmentMagnitude: 2, Steps: []StepAdjustment{
				{UpperBound: f(0), ScalingAdjustment: -adj},
				{LowerBound: f(0), ScalingAdjustment: adj},
			}}
			check("step "+string(typ), step.Decide(o, target, b))
			simple := SimpleScaling{Name: "si", AdjustmentType: typ, ScalingAdjustment: adj, MinAdjustmentMagnitude: 3}
			check("simple "+string(typ), simple.Decide(o, t0.Add(-time.Duration(ago)*time.Second), b))
			if got := Adjust(o.Desired, typ, adj, 1, b); got < b.Min || got > b.Max {
				t.Fatalf("Adjust(%d, %s, %d) = %d outside %+v", o.Desired, typ, adj, got, b)
			}
		}
	})
}

// abs returns |n|, with the most negative int mapped to 0.
func abs(n int) int {
	if n < 0 {
		n = -n
	}
	if n < 0 {
		return 0
	}
	return n
}
