package policy_test

import (
	"fmt"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling/policy"
)

// A group of 2 at 100 % CPU with a 50 % target doubles; a second target
// tracking policy on requests per target wants less, so the larger wins.
func ExampleCombine() {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b := policy.Bounds{Min: 1, Max: 10}
	cpu := policy.TargetTracking{Name: "web-cpu", TargetValue: 50, PredefinedMetric: policy.ASGAverageCPUUtilization}
	req := policy.TargetTracking{Name: "web-req", TargetValue: 1000, PredefinedMetric: policy.ALBRequestCountPerTarget}
	o := policy.Observation{Now: now, Desired: 2, InService: 2, ValueOK: true}
	oCPU, oReq := o, o
	oCPU.Value, oReq.Value = 100, 1500
	d := policy.Combine(2, []policy.Decision{cpu.Decide(oCPU, b), req.Decide(oReq, b)})
	fmt.Println(d.Desired)
	fmt.Println(d.Reason)
	// Output:
	// 4
	// At 2026-12-01T10:00:00Z a monitor alarm TargetTracking-web-cpu-AlarmHigh in state ALARM triggered policy web-cpu changing the desired capacity from 2 to 4.
}
