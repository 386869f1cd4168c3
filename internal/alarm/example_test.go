package alarm_test

import (
	"fmt"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
)

func ExampleEvaluate() {
	r := alarm.Rule{
		Period:            time.Minute,
		EvaluationPeriods: 3,
		DatapointsToAlarm: 2,
		Threshold:         80,
		Operator:          alarm.GreaterThanOrEqualToThreshold,
		Statistic:         "Average",
	}
	now := time.Date(2026, 12, 1, 10, 5, 30, 0, time.UTC)
	var points []alarm.Datapoint
	for i, v := range []float64{85.1, 40, 92} { // 10:02, 10:03, 10:04
		points = append(points, alarm.Datapoint{Timestamp: time.Date(2026, 12, 1, 10, 2+i, 0, 0, time.UTC), Value: v})
	}
	res := alarm.Evaluate(r, points, alarm.OK, now)
	fmt.Println(res.State, res.Changed)
	fmt.Println(res.Reason)
	// Output:
	// ALARM true
	// Threshold Crossed: 2 out of the last 3 datapoints [92.0 (01/12/26 10:04:00), 85.1 (01/12/26 10:02:00)] were greater than or equal to the threshold (80.0) (minimum 2 datapoints for OK -> ALARM transition).
}

func ExampleEvaluateComposite() {
	rule, err := alarm.ParseRule(`ALARM(cpu-high) AND NOT ALARM("deploy in progress")`)
	if err != nil {
		fmt.Println(err)
		return
	}
	states := map[string]alarm.State{"cpu-high": alarm.Alarm, "deploy in progress": alarm.OK}
	res := alarm.EvaluateComposite(rule, states, alarm.OK, time.Date(2026, 12, 1, 10, 5, 0, 0, time.UTC))
	fmt.Println(rule.Refs())
	fmt.Println(res.State, res.Reason)
	// Output:
	// [cpu-high deploy in progress]
	// ALARM The rule is TRUE: "cpu-high" is in ALARM, "deploy in progress" is in OK.
}
