package main

import (
	"fmt"
	"math"
	"slices"
)

// summary describes a sample of latencies in milliseconds.
type summary struct {
	N                     int
	Min, Median, P90, Max float64
}

// summarize returns the nearest-rank median, p90, min and max of ms.
func summarize(ms []float64) summary {
	if len(ms) == 0 {
		return summary{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	return summary{
		N:      len(s),
		Min:    s[0],
		Median: nearestRank(s, 0.5),
		P90:    nearestRank(s, 0.9),
		Max:    s[len(s)-1],
	}
}

// nearestRank returns the q-quantile of the sorted sample s: the smallest
// value with at least q of the sample at or below it.
func nearestRank(s []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// String formats s as key=value fields.
func (s summary) String() string {
	return fmt.Sprintf("n=%d min_ms=%.2f median_ms=%.2f p90_ms=%.2f max_ms=%.2f", s.N, s.Min, s.Median, s.P90, s.Max)
}
