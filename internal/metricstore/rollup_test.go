package metricstore

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

// exactPeriod is a period's samples, for checking the store by hand.
type exactPeriod struct {
	set     metric.StatSet
	samples []float64
}

func (e *exactPeriod) add(v float64) {
	e.set = e.set.Merge(metric.StatSet{SampleCount: 1, Sum: v, Minimum: v, Maximum: v})
	e.samples = append(e.samples, v)
}

// quantile is the sample of rank floor(q·(n-1)), the rank ddsketch
// estimates.
func (e *exactPeriod) quantile(q float64) float64 {
	s := slices.Clone(e.samples)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func near(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))+1e-9
}

// TestRollupAgreesWithRaw puts two hours of random high-resolution data
// and checks every tier against the samples aggregated by hand: the
// statistic sets exactly (to rounding), the percentiles within the
// sketch's relative accuracy. One case crashes (abandons the store
// without Close) half-way and reopens.
func TestRollupAgreesWithRaw(t *testing.T) {
	tests := []struct {
		name         string
		restartAfter int // seconds; 0 = never
	}{
		{"one process", 0},
		{"crash and reopen half-way", 3600 + 1234},
		{"crash and reopen just after a minute", 1861},
	}
	const seconds = 2 * 3600
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newClock(t0)
			s := openTest(t, dir, c)
			rng := rand.New(rand.NewPCG(1, 2))
			exact := [numTiers]map[int64]*exactPeriod{}
			for k := range exact {
				exact[k] = map[int64]*exactPeriod{}
			}
			for i := range seconds {
				ts := t0.Add(time.Duration(i) * time.Second)
				n := 1 + rng.IntN(6)
				vals := make([]float64, n)
				for j := range vals {
					vals[j] = math.Round(math.Exp(rng.NormFloat64()+4)*1000) / 1000
					for k := range numTiers {
						p := periodOf(k, unix(ts)) * tiers[k].period
						if exact[k][p] == nil {
							exact[k][p] = &exactPeriod{}
						}
						exact[k][p].add(vals[j])
					}
				}
				d := metric.Datum{ID: cpu, Timestamp: ts, Values: vals, StorageResolution: 1, Unit: "Milliseconds"}
				if err := s.Put([]metric.Datum{d}); err != nil {
					t.Fatal(err)
				}
				c.Add(time.Second)
				if i%7 == 0 {
					if err := s.Maintain(); err != nil {
						t.Fatal(err)
					}
				}
				if i+1 == tt.restartAfter {
					_ = s.disk.close() // a crash: nothing more is written
					s = openTest(t, dir, c)
				}
			}
			c.Add(2 * time.Minute)
			if err := s.Maintain(); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			se := s.series[seriesKey(cpu.Key(), "Milliseconds")]
			for k := range numTiers {
				got := map[int64]*agg{}
				err := s.eachPeriod(se, k, math.MinInt64, math.MaxInt64, true, func(start int64, a *agg) error {
					if got[start] == nil {
						got[start] = &agg{}
					}
					got[start].merge(s.m, a)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(exact[k]) {
					t.Fatalf("tier %d: %d periods, want %d", k, len(got), len(exact[k]))
				}
				for p, e := range exact[k] {
					a := got[p]
					if a == nil {
						t.Fatalf("tier %d: period %d missing", k, p)
					}
					if a.set.SampleCount != e.set.SampleCount || a.set.Minimum != e.set.Minimum || a.set.Maximum != e.set.Maximum || !near(a.set.Sum, e.set.Sum, 1e-12) {
						t.Fatalf("tier %d period %d: %+v, want %+v", k, p, a.set, e.set)
					}
					for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
						if v, w := a.quantile(q), e.quantile(q); !near(v, w, RelativeAccuracy) {
							t.Errorf("tier %d period %d: quantile %v = %v, exact %v: more than %v apart", k, p, q, v, w, RelativeAccuracy)
						}
					}
				}
			}
			// Through the query API: the 1-minute periods, p90 and a
			// trimmed mean.
			dps, err := s.Statistics(Query{ID: cpu, Start: t0, End: t0.Add(seconds * time.Second), Period: time.Minute,
				Statistics: []metric.Statistic{metric.Average, mustStat(t, "p90"), mustStat(t, "TM(10%:90%)")}})
			if err != nil {
				t.Fatal(err)
			}
			if len(dps) != seconds/60 {
				t.Fatalf("%d datapoints, want %d", len(dps), seconds/60)
			}
			for _, dp := range dps {
				e := exact[1][dp.Timestamp.Unix()]
				if !near(dp.Values["Average"], e.set.Average(), 1e-12) || !near(dp.Values["p90"], e.quantile(0.9), RelativeAccuracy) {
					t.Errorf("%s: %v, want Average %v p90 %v", dp.Timestamp, dp.Values, e.set.Average(), e.quantile(0.9))
				}
				if !near(dp.Values["TM(10%:90%)"], trimmedMean(e.samples, 0.1, 0.9), 2*RelativeAccuracy) {
					t.Errorf("%s: TM(10%%:90%%) %v, exact %v", dp.Timestamp, dp.Values["TM(10%:90%)"], trimmedMean(e.samples, 0.1, 0.9))
				}
			}
		})
	}
}

// trimmedMean is the mean of the samples of rank in (lo·n, hi·n].
func trimmedMean(samples []float64, lo, hi float64) float64 {
	s := slices.Clone(samples)
	slices.Sort(s)
	n := float64(len(s))
	var sum, cnt float64
	for i, v := range s {
		o := math.Min(float64(i+1), hi*n) - math.Max(float64(i), lo*n)
		if o > 0 {
			sum += o * v
			cnt += o
		}
	}
	return sum / cnt
}
