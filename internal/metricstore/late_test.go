package metricstore

import (
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

// TestLateData puts data for periods long sealed (and windows already
// compacted to block files) and checks that queries see it, before and
// after a reopen, counted once.
func TestLateData(t *testing.T) {
	tests := []struct {
		name   string
		datum  func(now time.Time) metric.Datum
		period time.Duration
	}{
		{"high resolution, an hour late", func(now time.Time) metric.Datum {
			return hiRes(cpu, now.Add(-time.Hour), 42)
		}, time.Second},
		{"standard, ten days late", func(now time.Time) metric.Datum {
			return metric.Datum{ID: cpu, Timestamp: now.Add(-10 * 24 * time.Hour), Value: ptr(42), Unit: "Percent"}
		}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newClock(t0)
			s := openTest(t, dir, c)
			// Twelve days of one value a minute, then a late datum.
			for i := range 12 * 24 * 60 {
				if err := s.Put([]metric.Datum{{ID: cpu, Value: ptr(1), Unit: "Percent", StorageResolution: 1}}); err != nil {
					t.Fatal(err)
				}
				c.Add(time.Minute)
				if i%30 == 0 {
					if err := s.Maintain(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := s.Maintain(); err != nil {
				t.Fatal(err)
			}
			d := tt.datum(c.Now())
			if err := s.Put([]metric.Datum{d}); err != nil {
				t.Fatal(err)
			}
			check := func(s *Store, when string) {
				t.Helper()
				start := d.Timestamp.Truncate(tt.period)
				dps, err := s.Statistics(Query{ID: cpu, Start: start, End: start.Add(tt.period), Period: tt.period, Statistics: []metric.Statistic{metric.Maximum, metric.SampleCount}})
				if err != nil {
					t.Fatal(err)
				}
				if len(dps) != 1 || dps[0].Values["Maximum"] != 42 {
					t.Errorf("%s: %+v, want the late datum", when, dps)
				}
			}
			check(s, "before reopen")
			c.Add(10 * time.Minute)
			if err := s.Maintain(); err != nil {
				t.Fatal(err)
			}
			check(s, "after maintenance")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openTest(t, dir, c)
			defer s.Close()
			check(s, "after reopen")
			// The hour of the late datum counts it once: 60 samples of 1
			// and the 42.
			hour := d.Timestamp.Truncate(time.Hour)
			dps, err := s.Statistics(Query{ID: cpu, Start: hour, End: hour.Add(time.Hour), Period: time.Hour, Statistics: []metric.Statistic{metric.Sum}})
			if err != nil {
				t.Fatal(err)
			}
			if len(dps) != 1 || dps[0].Values["Sum"] != 60+42 {
				t.Errorf("hour of the late datum: %+v, want Sum %d", dps, 60+42)
			}
		})
	}
}
