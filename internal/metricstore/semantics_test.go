package metricstore

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

// TestExtendedStatistics checks each extended statistic on one minute
// of samples 1 … 100 against its definition, and when a period has no
// distribution.
func TestExtendedStatistics(t *testing.T) {
	c := newClock(t0.Add(5 * time.Minute))
	s := openTest(t, t.TempDir(), c)
	defer s.Close()
	vals := make([]float64, 100)
	for i := range vals {
		vals[i] = float64(i + 1)
	}
	set := func(id metric.ID, st metric.StatSet) metric.Datum {
		return metric.Datum{ID: id, Timestamp: t0, StatisticValues: &st}
	}
	ids := map[string]metric.ID{}
	for _, n := range []string{"dist", "statset", "uniformset", "negative"} {
		ids[n] = metric.ID{Namespace: "T", Name: n}
	}
	err := s.Put([]metric.Datum{
		{ID: ids["dist"], Timestamp: t0, Values: vals},
		set(ids["statset"], metric.StatSet{SampleCount: 10, Sum: 55, Minimum: 1, Maximum: 10}),
		set(ids["uniformset"], metric.StatSet{SampleCount: 10, Sum: 70, Minimum: 7, Maximum: 7}),
		{ID: ids["negative"], Timestamp: t0, Values: []float64{-1, 5, 9}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		metric string
		stat   string
		want   float64
		absent bool
		rel    float64
	}{
		{"p50", "dist", "p50", 50, false, RelativeAccuracy},
		{"p99", "dist", "p99", 99, false, RelativeAccuracy},
		{"p100 is the maximum", "dist", "p100", 100, false, 0},
		{"p0 is the minimum", "dist", "p0", 1, false, 0},
		{"tm90: mean of the lowest 90", "dist", "tm90", 45.5, false, RelativeAccuracy},
		{"IQM: mean of 26…75", "dist", "IQM", 50.5, false, RelativeAccuracy},
		{"TM with values: 10.5 < v <= 20.5", "dist", "TM(10.5:20.5)", 15.5, false, RelativeAccuracy},
		{"tc90", "dist", "tc90", 90, false, 1e-9},
		{"TS(90%:100%)", "dist", "TS(90%:100%)", 955, false, RelativeAccuracy},
		{"WM(10%:90%)", "dist", "WM(10%:90%)", 50.5, false, 2 * RelativeAccuracy},
		{"PR(:50)", "dist", "PR(:50)", 50, false, 0.05},
		{"PR(90:)", "dist", "PR(90:)", 10, false, 0.1},
		{"stat set of distinct samples: no percentile", "statset", "p50", 0, true, 0},
		{"stat set keeps its average", "statset", "Average", 5.5, false, 0},
		{"uniform stat set has percentiles", "uniformset", "p90", 7, false, 0},
		{"negative values: no percentile", "negative", "p50", 0, true, 0},
		{"negative values keep the minimum", "negative", "Minimum", -1, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustStat(t, tt.stat)
			dps, err := s.Statistics(Query{ID: ids[tt.metric], Start: t0, End: t0.Add(time.Minute), Period: time.Minute, Statistics: []metric.Statistic{st}})
			if err != nil {
				t.Fatal(err)
			}
			if len(dps) != 1 {
				t.Fatalf("%d datapoints, want 1", len(dps))
			}
			v, ok := dps[0].Values[tt.stat]
			if tt.absent {
				if ok {
					t.Errorf("%s = %v, want no value", tt.stat, v)
				}
				return
			}
			if !ok || !near(v, tt.want, tt.rel) {
				t.Errorf("%s = %v (present %v), want %v within %v", tt.stat, v, ok, tt.want, tt.rel)
			}
		})
	}
}

// TestResolutionAndRetention checks where standard and high-resolution
// data go and that each tier forgets its data on time, files included.
func TestResolutionAndRetention(t *testing.T) {
	dir := t.TempDir()
	c := newClock(t0)
	s := openTest(t, dir, c)
	defer s.Close()
	std := metric.ID{Namespace: "T", Name: "std"}
	if err := s.Put([]metric.Datum{{ID: std, Timestamp: t0.Add(10 * time.Second), Value: ptr(3)}, hiRes(cpu, t0.Add(10*time.Second), 4)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Statistics(Query{ID: std, Start: t0, End: t0.Add(time.Minute), Period: time.Second, Statistics: []metric.Statistic{metric.Sum}}); err != nil {
		t.Fatal(err)
	}
	count := func(id metric.ID, period time.Duration, start time.Time) int {
		t.Helper()
		dps, err := s.Statistics(Query{ID: id, Start: start, End: start.Add(1440 * period), Period: period, Statistics: []metric.Statistic{metric.Sum}})
		if err != nil {
			t.Fatal(err)
		}
		return len(dps)
	}
	tests := []struct {
		name   string
		after  time.Duration // since t0
		id     metric.ID
		period time.Duration
		want   int
	}{
		{"standard data has no 1-second periods", time.Minute, std, time.Second, 0},
		{"standard data per minute", time.Minute, std, time.Minute, 1},
		{"high-resolution data per second", time.Minute, cpu, time.Second, 1},
		{"1-second data kept 3 hours", 3*time.Hour - time.Minute, cpu, time.Second, 1},
		{"minute data after 3 hours", 3*time.Hour + 2*time.Hour, cpu, time.Minute, 1},
		{"minute data kept 15 days", 15*24*time.Hour - time.Hour, cpu, time.Minute, 1},
		{"5-minute data after 15 days", 16 * 24 * time.Hour, cpu, 5 * time.Minute, 1},
		{"hour data after 63 days", 64 * 24 * time.Hour, std, time.Hour, 1},
		{"hour data kept 455 days", 454 * 24 * time.Hour, std, time.Hour, 1},
		{"gone after 455 days", 456 * 24 * time.Hour, std, time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Add(t0.Add(tt.after).Sub(c.Now()))
			if err := s.Maintain(); err != nil {
				t.Fatal(err)
			}
			start := t0.Add(-time.Duration(tt.period) * 10)
			if got := count(tt.id, tt.period, start); got != tt.want {
				t.Errorf("%d datapoints, want %d", got, tt.want)
			}
		})
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	now := unix(c.Now())
	for _, f := range segs {
		k, ok := parseSegName(filepath.Base(f))
		if !ok {
			t.Errorf("stray file %s", f)
			continue
		}
		tr := tiers[k.tier]
		if end := (k.window + 1) * tr.window * tr.period; end < now-tr.retention {
			t.Errorf("segment %s (ended %s) outlived its tier's retention", filepath.Base(f), time.Unix(end, 0).UTC())
		}
	}
	if len(segs) > 8 {
		t.Errorf("%d segment files left, want a few: %v", len(segs), segs)
	}
	if st := s.Stats(); st.Tiers[0].Points != 0 || st.Tiers[1].Points != 0 || st.Tiers[2].Points != 0 {
		t.Errorf("points left in expired tiers: %+v", st.Tiers)
	}
}

func TestListLatest(t *testing.T) {
	c := newClock(t0)
	s := openTest(t, t.TempDir(), c)
	defer s.Close()
	a := metric.ID{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: []metric.Dimension{{Name: "InstanceId", Value: "i-1"}}}
	b := metric.ID{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: []metric.Dimension{{Name: "InstanceId", Value: "i-2"}, {Name: "AutoScalingGroupName", Value: "web"}}}
	d := metric.ID{Namespace: "MyApp", Name: "Requests"}
	if err := s.Put([]metric.Datum{hiRes(a, t0, 1), hiRes(b, t0.Add(-time.Hour), 2), {ID: d, Value: ptr(3), Unit: "Count"}, {ID: d, Value: ptr(4), Unit: "None"}}); err != nil {
		t.Fatal(err)
	}
	c.Add(4 * time.Hour)
	if err := s.Put([]metric.Datum{hiRes(a, c.Now().Add(-2*time.Second), 5), hiRes(a, c.Now().Add(-2*time.Second), 7), hiRes(a, c.Now().Add(-3*time.Second), 9)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{"AWS/EC2 CPUUtilization{AutoScalingGroupName=web,InstanceId=i-2}", "AWS/EC2 CPUUtilization{InstanceId=i-1}", "MyApp Requests"}},
		{"namespace", Filter{Namespace: "MyApp"}, []string{"MyApp Requests"}},
		{"dimension name", Filter{Dimensions: []DimensionFilter{{Name: "AutoScalingGroupName"}}}, []string{"AWS/EC2 CPUUtilization{AutoScalingGroupName=web,InstanceId=i-2}"}},
		{"dimension value", Filter{MetricName: "CPUUtilization", Dimensions: []DimensionFilter{{Name: "InstanceId", Value: "i-1"}}}, []string{"AWS/EC2 CPUUtilization{InstanceId=i-1}"}},
		{"recently active", Filter{RecentlyActive: 3 * time.Hour}, []string{"AWS/EC2 CPUUtilization{InstanceId=i-1}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, id := range s.List(tt.f) {
				got = append(got, id.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("List = %q, want %q", got, tt.want)
			}
		})
	}
	ts, set, ok := s.Latest(a)
	if !ok || !ts.Equal(c.Now().Add(-2*time.Second)) || set.SampleCount != 2 || set.Maximum != 7 {
		t.Errorf("Latest = %s %+v %v, want 2 samples, max 7, 2 s ago", ts, set, ok)
	}
	if _, _, ok := s.Latest(metric.ID{Namespace: "X", Name: "Y"}); ok {
		t.Error("Latest found an unknown metric")
	}
	dps, err := s.Statistics(Query{ID: d, Start: t0.Add(-time.Hour), End: c.Now(), Period: time.Hour, Statistics: []metric.Statistic{metric.Sum}})
	if err != nil || len(dps) != 2 || dps[0].Unit != "Count" || dps[1].Unit != "None" {
		t.Errorf("two units = %+v, %v; want one datapoint per unit", dps, err)
	}
}
