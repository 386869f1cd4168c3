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

// TestReopenAfterCompaction crashes right after a rollup tier's window
// was compacted (its segment, holding the newest marker, removed) and
// checks that the reopened store knows the watermark and counts every
// sample once in every tier.
func TestReopenAfterCompaction(t *testing.T) {
	for _, k := range []int{1, 2, 3} {
		t.Run(tiers[k].String(), func(t *testing.T) {
			dir := t.TempDir()
			c := newClock(t0)
			s := openTest(t, dir, c)
			tr := tiers[k]
			winSec := tr.window * tr.period
			end := (floorDiv(unix(t0), winSec) + 1) * winSec // the window's end
			n := 0
			for unix(c.Now()) < end {
				if err := s.Put([]metric.Datum{hiRes(cpu, c.Now(), 1)}); err != nil {
					t.Fatal(err)
				}
				n++
				c.Add(time.Minute)
				if n%20 == 0 {
					if err := s.Maintain(); err != nil {
						t.Fatal(err)
					}
				}
			}
			c.Add(time.Unix(end+tr.lag, 0).Sub(c.Now()))
			if err := s.Maintain(); err != nil {
				t.Fatal(err)
			}
			if !s.compacted[k][floorDiv(end, winSec)-1] {
				t.Fatalf("window not compacted; sealed %d, end period %d", s.sealed[k], end/tr.period)
			}
			sealed := s.sealed
			_ = s.disk.close() // crash
			s = openTest(t, dir, c)
			defer s.Close()
			if s.sealed[k] != sealed[k] {
				t.Errorf("watermark after reopen %d, want %d", s.sealed[k], sealed[k])
			}
			for j := range numTiers {
				var total float64
				err := s.eachPeriod(s.series[seriesKey(cpu.Key(), "Percent")], j, unix(t0), end, false, func(_ int64, a *agg) error {
					total += a.set.SampleCount
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if want := float64(n); j > 0 && total != want {
					t.Errorf("tier %d: %v samples after reopen, want %v", j, total, want)
				}
			}
		})
	}
}
