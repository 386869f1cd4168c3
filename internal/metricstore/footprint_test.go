package metricstore

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

// TestFootprint simulates a day of three kinds of series and logs the
// bytes they cost on disk and in memory (the numbers in the package
// doc): go test -run TestFootprint -v ./internal/metricstore/
// Under the race detector (or -short) it simulates 1 hour only.
func TestFootprint(t *testing.T) {
	hours := 24
	if raceEnabled || testing.Short() {
		hours = 1
	}
	tests := []struct {
		name   string
		series int
		every  time.Duration // one Put per series this often
		datum  func(rng *rand.Rand, id metric.ID, ts time.Time) metric.Datum
	}{
		{"cpu: 1 value/s, resolution 1", 10, time.Second, func(rng *rand.Rand, id metric.ID, ts time.Time) metric.Datum {
			return metric.Datum{ID: id, Timestamp: ts, Value: ptr(math.Round(rng.Float64()*10000) / 100), StorageResolution: 1, Unit: "Percent"}
		}},
		{"latency: 100 values/s, resolution 1", 2, time.Second, func(rng *rand.Rand, id metric.ID, ts time.Time) metric.Datum {
			vals := make([]float64, 100)
			for i := range vals {
				vals[i] = math.Exp(rng.NormFloat64()*0.7 - 3) // seconds, median 50 ms
			}
			return metric.Datum{ID: id, Timestamp: ts, Values: vals, StorageResolution: 1, Unit: "Seconds"}
		}},
		{"standard: 1 value/min, resolution 60", 10, time.Minute, func(rng *rand.Rand, id metric.ID, ts time.Time) metric.Datum {
			return metric.Datum{ID: id, Timestamp: ts, Value: ptr(float64(rng.IntN(5000))), Unit: "Count"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock(t0)
			s := openTest(t, t.TempDir(), c)
			defer s.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			ids := make([]metric.ID, tt.series)
			for i := range ids {
				ids[i] = metric.ID{Namespace: "AWS/ApplicationELB", Name: "TargetResponseTime",
					Dimensions: []metric.Dimension{{Name: "LoadBalancer", Value: "app/web/" + strconv.Itoa(i)}}}
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			steps := int(time.Duration(hours) * time.Hour / tt.every)
			data := make([]metric.Datum, len(ids))
			var peak int64 // memory estimate, highest seen
			for i := range steps {
				if time.Duration(i)*tt.every%(5*time.Minute) == 0 {
					peak = max(peak, s.Stats().MemoryBytes)
				}
				for j, id := range ids {
					data[j] = tt.datum(rng, id, c.Now())
				}
				if err := s.Put(data); err != nil {
					t.Fatal(err)
				}
				c.Add(tt.every)
				if i%10 == 0 || tt.every >= time.Minute {
					if err := s.Maintain(); err != nil {
						t.Fatal(err)
					}
				}
			}
			c.Add(2 * time.Minute)
			if err := s.Maintain(); err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			st := s.Stats()
			n := int64(tt.series)
			t.Logf("after %d h, per series: disk %d B; memory %d B estimated at the peak (sampled every 5 min), %d B estimated and %d B heap measured at the end",
				hours, st.DiskBytes/n, peak/n, st.MemoryBytes/n, (int64(after.HeapAlloc)-int64(before.HeapAlloc))/n)
			for _, ts := range st.Tiers {
				t.Logf("  tier %5s: %6d points, disk %8d B, memory %8d B per series",
					ts.Period, ts.Points/n, ts.DiskBytes/n, ts.MemoryBytes/n)
			}
		})
	}
}
