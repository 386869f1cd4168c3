package metricstore

import (
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

// Filter selects metrics for List (ListMetrics).
type Filter struct {
	// Namespace, when set, must equal the metric's.
	Namespace string
	// MetricName, when set, must equal the metric's.
	MetricName string
	// Dimensions must all be present on the metric (with the value, when
	// given).
	Dimensions []DimensionFilter
	// RecentlyActive, when set, keeps the metrics that received data in
	// that last stretch of time (CloudWatch's PT3H is 3 hours).
	RecentlyActive time.Duration
}

// DimensionFilter matches a dimension by name and, optionally, value.
type DimensionFilter struct {
	// Name is the dimension's name (required).
	Name string
	// Value, when set, must equal the dimension's value.
	Value string
}

// List returns the metrics matching f (each once, whatever its units),
// sorted by namespace, name and dimensions.
func (s *Store) List(f Filter) []metric.ID {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := unix(s.now())
	var out []metric.ID
	for _, l := range s.byID {
		id := l[0].id
		if f.Namespace != "" && id.Namespace != f.Namespace || f.MetricName != "" && id.Name != f.MetricName {
			continue
		}
		if !matchDims(id, f.Dimensions) {
			continue
		}
		if f.RecentlyActive > 0 {
			recent := false
			for _, se := range l {
				recent = recent || se.lastPut >= now-int64(f.RecentlyActive/time.Second)
			}
			if !recent {
				continue
			}
		}
		out = append(out, id.Canonical())
	}
	// Sort keys are built once per series, not once per comparison.
	keys := make([]string, len(out))
	order := make([]int, len(out))
	for i, id := range out {
		keys[i] = id.String() + "\x00" + id.Key()
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	sorted := make([]metric.ID, len(out))
	for i, j := range order {
		sorted[i] = out[j]
	}
	return sorted
}

func matchDims(id metric.ID, fs []DimensionFilter) bool {
	for _, f := range fs {
		v, ok := id.Dim(f.Name)
		if !ok || (f.Value != "" && v != f.Value) {
			return false
		}
	}
	return true
}

// TierStats describes one tier of the store.
type TierStats struct {
	// Period is the tier's resolution.
	Period time.Duration
	// Retention is how long the tier keeps a period.
	Retention time.Duration
	// Points is the number of period records the tier holds, in memory
	// and in block files (late records counted apart, plus hot periods).
	Points int64
	// MemoryBytes estimates the tier's memory.
	MemoryBytes int64
	// DiskBytes is the size of the tier's segment files.
	DiskBytes int64
}

// StoreStats describes the store, for the docs and `describe`.
type StoreStats struct {
	// Series is the number of series (metric and unit).
	Series int
	// Tiers are the 1 s, 60 s, 300 s and 3600 s tiers.
	Tiers []TierStats
	// DiskBytes is the size of all the store's files.
	DiskBytes int64
	// MemoryBytes estimates the store's memory (data and index).
	MemoryBytes int64
}

// Estimated memory of the fixed parts, in bytes.
const (
	seriesOverhead = 400 // series struct, map entries, ID strings' headers
	blockOverhead  = 80
	hotOverhead    = 200 // hotPeriod and its map entry
	sketchBytes    = 600 // a sketch's stores, roughly
)

// Stats returns the store's size: series, points, memory and disk.
func (s *Store) Stats() StoreStats {
	return s.stats()
}

// SeriesCount returns how many series the store holds: Stats().Series
// without walking every series.
func (s *Store) SeriesCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.series)
}

func (s *Store) stats() StoreStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := StoreStats{Series: len(s.series), Tiers: make([]TierStats, numTiers)}
	for k, tr := range tiers {
		st.Tiers[k].Period = time.Duration(tr.period) * time.Second
		st.Tiers[k].Retention = time.Duration(tr.retention) * time.Second
	}
	for _, se := range s.series {
		st.MemoryBytes += seriesOverhead + int64(len(se.idKey))*2
		for k := range numTiers {
			td := &se.t[k]
			ts := &st.Tiers[k]
			for _, b := range td.blocks {
				ts.Points += int64(b.n)
				ts.MemoryBytes += blockOverhead + int64(cap(b.buf))
			}
			ts.Points += int64(len(td.hot))
			for _, hp := range td.hot {
				ts.MemoryBytes += hotOverhead
				for _, a := range []*agg{&hp.own, &hp.roll} {
					if a.sk != nil {
						ts.MemoryBytes += sketchBytes
					}
				}
			}
		}
	}
	for k, size := range s.disk.sizes {
		st.Tiers[k.tier].DiskBytes += size
	}
	for k, n := range s.disk.points {
		st.Tiers[k.tier].Points += n
	}
	for _, ts := range st.Tiers {
		st.MemoryBytes += ts.MemoryBytes
	}
	st.DiskBytes = s.disk.bytes()
	return st
}
