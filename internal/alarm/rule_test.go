package alarm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validRule() Rule {
	return Rule{Period: time.Minute, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 80, Operator: GreaterThanThreshold}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Rule)
		field string // "" for a valid rule
		value string
		inMsg string
	}{
		{"valid", func(*Rule) {}, "", "", ""},
		{"1s period", func(r *Rule) { r.Period = time.Second }, "", "", ""},
		{"15s period divides a minute", func(r *Rule) { r.Period = 15 * time.Second }, "", "", ""},
		{"5 minute period", func(r *Rule) { r.Period = 5 * time.Minute }, "", "", ""},
		{"all defaults spelled out", func(r *Rule) {
			r.TreatMissingData, r.EvaluateLowSampleCountPercentile = MissingMissing, LowSampleEvaluate
		}, "", "", ""},
		{"percentile ignore", func(r *Rule) {
			r.Percentile, r.Statistic, r.EvaluateLowSampleCountPercentile = true, "p99.9", LowSampleIgnore
		}, "", "", ""},
		{"zero period", func(r *Rule) { r.Period = 0 }, "Period", "0s", "at least 1"},
		{"fractional period", func(r *Rule) { r.Period = 1500 * time.Millisecond }, "Period", "1.5s", "whole number of seconds"},
		{"7s period", func(r *Rule) { r.Period = 7 * time.Second }, "Period", "7s", "use 6s"},
		{"90s period", func(r *Rule) { r.Period = 90 * time.Second }, "Period", "1m30s", "use 1m0s or 2m0s"},
		{"no evaluation periods", func(r *Rule) { r.EvaluationPeriods, r.DatapointsToAlarm = 0, 0 }, "EvaluationPeriods", "0", "at least 1"},
		{"over a day under an hour's period", func(r *Rule) { r.EvaluationPeriods = 1441 }, "EvaluationPeriods", "1441", "at most 1440 periods"},
		{"a day of minutes", func(r *Rule) { r.EvaluationPeriods = 1440 }, "", "", ""},
		{"a week of hours", func(r *Rule) { r.Period, r.EvaluationPeriods = time.Hour, 168 }, "", "", ""},
		{"over a week", func(r *Rule) { r.Period, r.EvaluationPeriods = time.Hour, 169 }, "EvaluationPeriods", "169", "168h0m0s limit"},
		{"M over N", func(r *Rule) { r.DatapointsToAlarm = 4 }, "DatapointsToAlarm", "4", "from 1 to EvaluationPeriods (3)"},
		{"negative M", func(r *Rule) { r.DatapointsToAlarm = -1 }, "DatapointsToAlarm", "-1", "or 0 for all"},
		{"NaN threshold", func(r *Rule) { r.Threshold = nan() }, "Threshold", "NaN", "finite"},
		{"no operator", func(r *Rule) { r.Operator = "" }, "Operator", `""`, "GreaterThanOrEqualToThreshold"},
		{"anomaly band", func(r *Rule) { r.Operator = LessThanLowerOrGreaterThanUpperThreshold }, "Operator", `"LessThanLowerOrGreaterThanUpperThreshold"`, "anomaly detection bands are not supported"},
		{"upper band", func(r *Rule) { r.Operator = GreaterThanUpperThreshold }, "Operator", `"GreaterThanUpperThreshold"`, "not supported"},
		{"bad missing", func(r *Rule) { r.TreatMissingData = "Breaching" }, "TreatMissingData", `"Breaching"`, "notBreaching, breaching or ignore"},
		{"bad low sample", func(r *Rule) { r.EvaluateLowSampleCountPercentile = "skip" }, "EvaluateLowSampleCountPercentile", `"skip"`, "evaluate (the default) or ignore"},
		{"low sample without percentile", func(r *Rule) { r.EvaluateLowSampleCountPercentile = LowSampleIgnore }, "EvaluateLowSampleCountPercentile", `"ignore"`, "set Percentile"},
		{"percentile without its value", func(r *Rule) {
			r.Percentile, r.Statistic, r.EvaluateLowSampleCountPercentile = true, "Average", LowSampleIgnore
		}, "Statistic", `"Average"`, "e.g. p99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRule()
			tt.edit(&r)
			err := r.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a *FieldError", err)
			}
			if fe.Field != tt.field || fe.Value != tt.value || !strings.Contains(fe.Msg, tt.inMsg) {
				t.Fatalf("got %+v, want field %s value %s msg containing %q", fe, tt.field, tt.value, tt.inMsg)
			}
			if !strings.HasPrefix(err.Error(), tt.field+" (got "+tt.value+"): ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestValidateJoinsProblems(t *testing.T) {
	err := Rule{}.Validate()
	for _, field := range []string{"Period", "EvaluationPeriods", "Operator"} {
		if !strings.Contains(err.Error(), field+" (got") {
			t.Errorf("%q does not name %s", err, field)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		name string
		v    float64
		want string
	}{
		{"integer", 80, "80.0"},
		{"fraction", 85.1, "85.1"},
		{"zero", 0, "0.0"},
		{"negative", -3.5, "-3.5"},
		{"large", 1e7, "1.0E7"},
		{"large fraction", 1.25e8, "1.25E8"},
		{"small", 0.0001, "1.0E-4"},
		{"just small enough", 0.001, "0.001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatValue(tt.v); got != tt.want {
				t.Fatalf("formatValue(%v) = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
}
