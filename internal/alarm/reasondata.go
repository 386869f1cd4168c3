package alarm

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// reasonVersion is the "version" of AWS's StateReasonData.
const reasonVersion = "1.0"

// awsTime is how AWS's StateReasonData and HistoryData write times:
// "2026-12-01T10:02:00.000+0000".
const awsTime = "2006-01-02T15:04:05.000-0700"

// ReasonData is AWS's StateReasonData. Its String (and MarshalJSON) is the
// JSON AWS shows: for a metric alarm {"version", "queryDate", "startDate",
// "statistic", "period", "recentDatapoints", "threshold",
// "evaluatedDatapoints"}; for a composite alarm {"triggeringAlarms"}.
type ReasonData struct {
	// Version is "1.0".
	Version string
	// QueryDate is when the evaluation ran.
	QueryDate time.Time
	// StartDate is the start of the oldest evaluated period.
	StartDate time.Time
	// Statistic is the rule's statistic, if it names one.
	Statistic string
	// Period is the rule's period.
	Period time.Duration
	// RecentDatapoints are the values of the evaluated datapoints, oldest
	// first.
	RecentDatapoints []float64
	// Threshold is the rule's threshold.
	Threshold float64
	// EvaluatedDatapoints are the evaluated periods, newest first; a
	// missing period has only a timestamp.
	EvaluatedDatapoints []EvaluatedDatapoint
	// TriggeringAlarms are, for a composite alarm, the referenced alarms
	// whose states decided the rule.
	TriggeringAlarms []TriggeringAlarm
}

// EvaluatedDatapoint is one evaluated period in ReasonData.
type EvaluatedDatapoint struct {
	// Timestamp is the period's start.
	Timestamp time.Time
	// Missing says the period had no datapoint (Value and SampleCount are
	// then left out of the JSON).
	Missing bool
	// Value is the datapoint's value.
	Value float64
	// SampleCount is the datapoint's sample count; 0 is left out.
	SampleCount float64
}

// TriggeringAlarm is a referenced alarm that decided a composite alarm's
// rule, with the state it was in.
type TriggeringAlarm struct {
	// Name is the referenced alarm's name as the rule spells it.
	Name string
	// State is its state at the evaluation.
	State State
}

// number is a JSON number written as AWS (Java) writes doubles.
type number float64

// MarshalJSON writes n with formatValue.
func (n number) MarshalJSON() ([]byte, error) { return []byte(formatValue(float64(n))), nil }

// MarshalJSON writes d as AWS's StateReasonData.
func (d ReasonData) MarshalJSON() ([]byte, error) {
	if d.TriggeringAlarms != nil {
		type state struct {
			Value State `json:"value"`
		}
		type trig struct {
			Name  string `json:"name"`
			State state  `json:"state"`
		}
		out := struct {
			TriggeringAlarms []trig `json:"triggeringAlarms"`
		}{TriggeringAlarms: []trig{}}
		for _, t := range d.TriggeringAlarms {
			out.TriggeringAlarms = append(out.TriggeringAlarms, trig{Name: t.Name, State: state{Value: t.State}})
		}
		return json.Marshal(out)
	}
	type point struct {
		Timestamp   string  `json:"timestamp"`
		SampleCount *number `json:"sampleCount,omitempty"`
		Value       *number `json:"value,omitempty"`
	}
	out := struct {
		Version             string   `json:"version"`
		QueryDate           string   `json:"queryDate"`
		StartDate           string   `json:"startDate,omitempty"`
		Statistic           string   `json:"statistic,omitempty"`
		Period              int64    `json:"period"`
		RecentDatapoints    []number `json:"recentDatapoints"`
		Threshold           number   `json:"threshold"`
		EvaluatedDatapoints []point  `json:"evaluatedDatapoints,omitempty"`
	}{
		Version:          d.Version,
		QueryDate:        formatTime(d.QueryDate),
		Statistic:        d.Statistic,
		Period:           int64(d.Period / time.Second),
		RecentDatapoints: []number{},
		Threshold:        number(d.Threshold),
	}
	if !d.StartDate.IsZero() {
		out.StartDate = formatTime(d.StartDate)
	}
	for _, v := range d.RecentDatapoints {
		out.RecentDatapoints = append(out.RecentDatapoints, number(v))
	}
	for _, p := range d.EvaluatedDatapoints {
		pt := point{Timestamp: formatTime(p.Timestamp)}
		if !p.Missing {
			v := number(p.Value)
			pt.Value = &v
			if p.SampleCount > 0 {
				c := number(p.SampleCount)
				pt.SampleCount = &c
			}
		}
		out.EvaluatedDatapoints = append(out.EvaluatedDatapoints, pt)
	}
	return json.Marshal(out)
}

// String returns d's JSON.
func (d ReasonData) String() string {
	b, err := json.Marshal(d)
	if err != nil {
		return "{}"
	}
	return string(b)
}

func formatTime(t time.Time) string { return t.UTC().Format(awsTime) }

// reasonData is the evaluation's StateReasonData.
func (e *evaluator) reasonData() ReasonData {
	d := ReasonData{
		Version:   reasonVersion,
		QueryDate: e.now,
		Statistic: e.r.Statistic,
		Period:    e.r.Period,
		Threshold: e.r.Threshold,
	}
	for i := len(e.evaluated) - 1; i >= 0; i-- {
		if s := e.evaluated[i]; s.present {
			d.RecentDatapoints = append(d.RecentDatapoints, s.value)
		}
	}
	for _, s := range e.evaluated {
		d.EvaluatedDatapoints = append(d.EvaluatedDatapoints, EvaluatedDatapoint{
			Timestamp: s.start, Missing: !s.present, Value: s.value, SampleCount: s.samples,
		})
	}
	if n := len(e.evaluated); n > 0 {
		d.StartDate = e.evaluated[n-1].start
	}
	return d
}

// formatValue writes v as Java's Double.toString does, as AWS's reasons
// show numbers: "80.0", "85.1", "1.0E7", "1.5E-4".
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(v); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(v, 'E', -1, 64) // "1E+07", "1.5E-04"
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
