package alarm

import (
	"encoding/json"
	"testing"
	"time"
)

func TestReasons(t *testing.T) {
	tests := []struct {
		name   string
		r      Rule
		points string
		prev   State
		want   string
	}{
		{"3 of 3 to ALARM", rule(3, 3, MissingMissing), "0 X X - X", OK,
			"Threshold Crossed: 3 out of the last 3 datapoints [90.0 (01/12/26 10:04:00), 90.0 (01/12/26 10:02:00), 90.0 (01/12/26 10:01:00)] were greater than or equal to the threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition)."},
		{"from INSUFFICIENT_DATA", rule(3, 3, MissingMissing), "0 X X - X", InsufficientData,
			"Threshold Crossed: 3 out of the last 3 datapoints [90.0 (01/12/26 10:04:00), 90.0 (01/12/26 10:02:00), 90.0 (01/12/26 10:01:00)] were greater than or equal to the threshold (80.0) (minimum 3 datapoints for INSUFFICIENT_DATA -> ALARM transition)."},
		{"3 of 3 to OK", rule(3, 3, MissingMissing), "0 - X - X", Alarm,
			"Threshold Crossed: 1 out of the last 3 datapoints [70.0 (01/12/26 10:00:00)] was not greater than or equal to the threshold (80.0) (minimum 1 datapoint for ALARM -> OK transition)."},
		{"2 of 3 stays ALARM", rule(2, 3, MissingMissing), "0 0 X 0 X", Alarm,
			"Threshold Crossed: 2 out of the last 3 datapoints [90.0 (01/12/26 10:04:00), 90.0 (01/12/26 10:02:00)] were greater than or equal to the threshold (80.0) (minimum 2 datapoints for OK -> ALARM transition)."},
		{"1 of 1", rule(1, 1, MissingMissing), "- - X", OK,
			"Threshold Crossed: 1 datapoint [90.0 (01/12/26 10:04:00)] was greater than or equal to the threshold (80.0)."},
		{"all missing", rule(3, 3, MissingMissing), "- - - - -", OK,
			"Insufficient Data: 3 datapoints were unknown."},
		{"all missing 1 of 1", rule(1, 1, MissingMissing), "- - -", OK,
			"Insufficient Data: 1 datapoint was unknown."},
		{"all missing breaching", rule(3, 3, MissingBreaching), "- - - - -", OK,
			"Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [Breaching]."},
		{"all missing notBreaching", rule(1, 1, MissingNotBreaching), "- - -", Alarm,
			"Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching]."},
		{"filled breaching", rule(3, 3, MissingBreaching), "- - X - -", OK,
			"Threshold Crossed: 3 out of the last 3 datapoints [90.0 (01/12/26 10:02:00)] were greater than or equal to the threshold (80.0) with 2 missing datapoints treated as [Breaching] (minimum 3 datapoints for OK -> ALARM transition)."},
		{"missing with unknowns", rule(2, 3, MissingMissing), "0 - X - -", Alarm,
			"Threshold Crossed: 1 out of the last 3 datapoints [70.0 (01/12/26 10:00:00)] was not greater than or equal to the threshold (80.0) and 1 datapoint was unknown."},
		{"ignore keeps the state", rule(3, 3, MissingIgnore), "- - - - -", Alarm,
			"Unchanged: 3 datapoints were unknown and TreatMissingData is ignore."},
		{"low sample count keeps the state", Rule{Period: time.Minute, EvaluationPeriods: 1, Threshold: 80, Operator: GreaterThanThreshold,
			Statistic: "p99", Percentile: true, EvaluateLowSampleCountPercentile: LowSampleIgnore}, "- - X", OK,
			"Unchanged: the datapoint [90.0 (01/12/26 10:04:00)] has 10 samples, fewer than the 1000 a p99 statistic needs to be significant, and EvaluateLowSampleCountPercentile is ignore."},
		{"premature ALARM", rule(3, 3, MissingMissing), "- - X - -", OK,
			"Threshold Crossed: 1 out of the last 3 datapoints [90.0 (01/12/26 10:02:00)] was greater than or equal to the threshold (80.0) and the more recent periods had no data (the oldest breaching datapoint is 3 periods old, at least the minimum 3 datapoints for OK -> ALARM transition)."},
		{"less than, 2 of 3 to OK", Rule{Period: time.Minute, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 80, Operator: LessThanThreshold}, "0 0 X X X", Alarm,
			"Threshold Crossed: 3 out of the last 3 datapoints [90.0 (01/12/26 10:04:00), 90.0 (01/12/26 10:03:00), 90.0 (01/12/26 10:02:00)] were not less than the threshold (80.0) (minimum 2 datapoints for ALARM -> OK transition)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(tt.r, pattern(t, tt.r, now, tt.points), tt.prev, now)
			if got.Reason != tt.want {
				t.Fatalf("reason\n got %s\nwant %s", got.Reason, tt.want)
			}
		})
	}
}

func TestReasonData(t *testing.T) {
	tests := []struct {
		name   string
		r      Rule
		points string
		want   string
	}{
		{"evaluated datapoints with a gap",
			Rule{Period: time.Minute, EvaluationPeriods: 3, Threshold: 80, Operator: GreaterThanOrEqualToThreshold, Statistic: "Average"},
			"0 X X - X",
			`{"version":"1.0","queryDate":"2026-12-01T10:05:30.000+0000","startDate":"2026-12-01T10:01:00.000+0000","statistic":"Average","period":60,"recentDatapoints":[90.0,90.0,90.0],"threshold":80.0,"evaluatedDatapoints":[{"timestamp":"2026-12-01T10:04:00.000+0000","sampleCount":10.0,"value":90.0},{"timestamp":"2026-12-01T10:02:00.000+0000","sampleCount":10.0,"value":90.0},{"timestamp":"2026-12-01T10:01:00.000+0000","sampleCount":10.0,"value":90.0}]}`},
		{"missing periods have only a timestamp",
			rule(1, 1, MissingMissing),
			"- - -",
			`{"version":"1.0","queryDate":"2026-12-01T10:05:30.000+0000","startDate":"2026-12-01T10:04:00.000+0000","period":60,"recentDatapoints":[],"threshold":80.0,"evaluatedDatapoints":[{"timestamp":"2026-12-01T10:04:00.000+0000"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(tt.r, pattern(t, tt.r, now, tt.points), OK, now).ReasonData.String()
			if got != tt.want {
				t.Fatalf("ReasonData\n got %s\nwant %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatal("not JSON")
			}
		})
	}
}

func TestInitial(t *testing.T) {
	got := Initial(now)
	if got.State != InsufficientData || got.Reason != "Unchecked: Initial alarm creation" || got.Changed {
		t.Fatalf("Initial = %+v", got)
	}
}
