package metricstore

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

func TestPutStatistics(t *testing.T) {
	c := newClock(t0.Add(10 * time.Minute))
	s := openTest(t, t.TempDir(), c)
	defer s.Close()
	var data []metric.Datum
	for i := range 120 { // 12:00:00 … 12:01:59, values 0 … 119
		data = append(data, hiRes(cpu, t0.Add(time.Duration(i)*time.Second), float64(i)))
	}
	if err := s.Put(data); err != nil {
		t.Fatal(err)
	}
	basic := []metric.Statistic{metric.SampleCount, metric.Sum, metric.Average, metric.Minimum, metric.Maximum}
	tests := []struct {
		name    string
		period  time.Duration
		start   time.Time
		end     time.Time
		unit    string
		want    int
		first   map[string]float64
		firstTS time.Time
	}{
		{"1-minute periods", time.Minute, t0, t0.Add(5 * time.Minute), "", 2,
			map[string]float64{"SampleCount": 60, "Sum": 1770, "Average": 29.5, "Minimum": 0, "Maximum": 59}, t0},
		{"10-second periods", 10 * time.Second, t0, t0.Add(time.Minute), "", 6,
			map[string]float64{"SampleCount": 10, "Sum": 45, "Average": 4.5, "Minimum": 0, "Maximum": 9}, t0},
		{"1-second periods", time.Second, t0.Add(5 * time.Second), t0.Add(7 * time.Second), "", 2,
			map[string]float64{"SampleCount": 1, "Sum": 5, "Average": 5, "Minimum": 5, "Maximum": 5}, t0.Add(5 * time.Second)},
		{"unaligned start rounds down", time.Minute, t0.Add(30 * time.Second), t0.Add(2 * time.Minute), "", 2,
			map[string]float64{"SampleCount": 60}, t0},
		{"5-minute period", 5 * time.Minute, t0, t0.Add(5 * time.Minute), "", 1,
			map[string]float64{"SampleCount": 120, "Maximum": 119}, t0},
		{"unit filter matching", time.Minute, t0, t0.Add(5 * time.Minute), "Percent", 2, map[string]float64{"SampleCount": 60}, t0},
		{"unit filter not matching", time.Minute, t0, t0.Add(5 * time.Minute), "Bytes", 0, nil, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dps, err := s.Statistics(Query{ID: cpu, Start: tt.start, End: tt.end, Period: tt.period, Statistics: basic, Unit: tt.unit})
			if err != nil {
				t.Fatal(err)
			}
			if len(dps) != tt.want {
				t.Fatalf("%d datapoints, want %d: %+v", len(dps), tt.want, dps)
			}
			if tt.want == 0 {
				return
			}
			if !dps[0].Timestamp.Equal(tt.firstTS) || dps[0].Unit != "Percent" {
				t.Errorf("first datapoint at %s unit %q, want %s Percent", dps[0].Timestamp, dps[0].Unit, tt.firstTS)
			}
			for k, v := range tt.first {
				if got := dps[0].Values[k]; got != v {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	c := newClock(t0.Add(100 * 24 * time.Hour))
	s := openTest(t, t.TempDir(), c)
	defer s.Close()
	now := c.Now()
	tests := []struct {
		name      string
		q         Query
		wantCode  string
		wantField string
		wantText  string
	}{
		{"start after end", Query{Start: now, End: now.Add(-time.Hour), Period: time.Minute}, metric.CodeInvalidValue, "StartTime", "not before"},
		{"period 7s", Query{Start: now.Add(-time.Hour), End: now, Period: 7 * time.Second}, metric.CodeInvalidValue, "Period", "1, 5, 10 or 30"},
		{"period 90s", Query{Start: now.Add(-time.Hour), End: now, Period: 90 * time.Second}, metric.CodeInvalidValue, "Period", "multiple of 60"},
		{"sub-minute older than 3h", Query{Start: now.Add(-4 * time.Hour), End: now.Add(-4*time.Hour + time.Minute), Period: time.Second}, metric.CodeCombination, "Period", "3 hours"},
		{"older than 15 days", Query{Start: now.Add(-16 * 24 * time.Hour), End: now, Period: time.Hour + time.Minute}, metric.CodeCombination, "Period", "multiple of 300"},
		{"older than 63 days", Query{Start: now.Add(-64 * 24 * time.Hour), End: now, Period: 25 * time.Minute}, metric.CodeCombination, "Period", "multiple of 3600"},
		{"too many datapoints", Query{Start: now.Add(-2 * time.Hour), End: now, Period: time.Second}, metric.CodeInvalidValue, "Period", "7200 datapoints"},
		{"no statistics", Query{Start: now.Add(-time.Hour), End: now, Period: time.Minute, Statistics: []metric.Statistic{}}, metric.CodeMissing, "Statistics", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.q.Statistics == nil {
				tt.q.Statistics = []metric.Statistic{metric.Average}
			}
			tt.q.ID = cpu
			_, err := s.Statistics(tt.q)
			var e *metric.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *metric.Error", err)
			}
			if e.Code != tt.wantCode || e.Field != tt.wantField || !strings.Contains(e.Message, tt.wantText) {
				t.Errorf("err = %v, want %s %s containing %q", e, tt.wantCode, tt.wantField, tt.wantText)
			}
		})
	}
}

func TestPutAllOrNothing(t *testing.T) {
	c := newClock(t0)
	s := openTest(t, t.TempDir(), c)
	defer s.Close()
	bad := []metric.Datum{hiRes(cpu, t0, 1), {ID: cpu, Value: ptr(math.Inf(1))}}
	err := s.Put(bad)
	var e *metric.Error
	if !errors.As(err, &e) || e.Field != "MetricData.member.2.Value" {
		t.Fatalf("Put = %v, want an error about MetricData.member.2.Value", err)
	}
	if got := s.Stats().Series; got != 0 {
		t.Errorf("%d series after a refused Put, want 0", got)
	}
}

func TestMaxSeries(t *testing.T) {
	c := newClock(t0)
	s, err := Open(Options{Dir: t.TempDir(), Now: c.Now, Interval: -1, MaxSeries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mk := func(v string) metric.Datum {
		return metric.Datum{ID: metric.ID{Namespace: "N", Name: "M", Dimensions: []metric.Dimension{{Name: "D", Value: v}}}, Value: ptr(1)}
	}
	if err := s.Put([]metric.Datum{mk("a"), mk("b"), mk("a")}); err != nil {
		t.Fatal(err)
	}
	err = s.Put([]metric.Datum{mk("a"), mk("c")})
	if err == nil || !strings.Contains(err.Error(), "MaxSeries 2") {
		t.Fatalf("Put past MaxSeries = %v", err)
	}
	if err := s.Put([]metric.Datum{mk("b")}); err != nil {
		t.Errorf("Put to an existing series = %v", err)
	}
}

func TestOpenTwice(t *testing.T) {
	dir := t.TempDir()
	c := newClock(t0)
	s := openTest(t, dir, c)
	if _, err := Open(Options{Dir: dir, Now: c.Now, Interval: -1}); err == nil || !strings.Contains(err.Error(), "in use by another store") {
		t.Errorf("second Open = %v, want the directory in use", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, c) // free again after Close
	_ = s.Close()
}
