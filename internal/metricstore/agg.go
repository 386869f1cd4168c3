package metricstore

import (
	"math"
	"slices"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/madang-dev/madang/internal/metric"
)

// RelativeAccuracy is the relative accuracy of the stored distributions:
// a percentile read from the store is within 1 % of a sample value of
// that rank.
const RelativeAccuracy = 0.01

// newMapping returns the index mapping every sketch of a store shares.
func newMapping() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(RelativeAccuracy)
	if err != nil { // only for an accuracy outside (0, 1)
		panic(err)
	}
	return m
}

// agg is the aggregate of one period: its statistic set and, for the
// extended statistics, the distribution of its samples. While every
// sample equals set.Minimum the distribution is implicit (sk nil); a
// sketch is made when a second distinct value arrives. noDist marks a
// period whose distribution is unknown: it received a statistic set of
// several distinct samples, or a negative value (CloudWatch has no
// percentiles for periods with negative values).
type agg struct {
	set    metric.StatSet
	sk     *ddsketch.DDSketch
	noDist bool
}

func (a *agg) empty() bool { return a.set.SampleCount <= 0 }

// hasDist reports whether the extended statistics can be computed.
func (a *agg) hasDist() bool { return !a.empty() && !a.noDist }

// addValue adds value v, count times.
func (a *agg) addValue(m mapping.IndexMapping, v, count float64) {
	if count <= 0 {
		return
	}
	prev := a.set
	a.set = a.set.Merge(metric.StatSet{SampleCount: count, Sum: v * count, Minimum: v, Maximum: v})
	a.feed(m, prev, v, count)
}

// addSet adds a statistic set. Its distribution is known only when all
// its samples are equal (SampleCount 1 or Minimum == Maximum).
func (a *agg) addSet(m mapping.IndexMapping, s metric.StatSet) {
	prev := a.set
	a.set = a.set.Merge(s)
	switch {
	case s.Minimum == s.Maximum:
		a.feed(m, prev, s.Minimum, s.SampleCount)
	case s.SampleCount == 1:
		a.feed(m, prev, math.Min(math.Max(s.Sum, s.Minimum), s.Maximum), 1)
	default:
		a.dropDist()
	}
}

func (a *agg) dropDist() {
	a.noDist = true
	a.sk = nil
}

// feed adds v (count times) to the distribution; prev is the statistic
// set before the samples were added.
func (a *agg) feed(m mapping.IndexMapping, prev metric.StatSet, v, count float64) {
	if a.noDist {
		return
	}
	if v < 0 {
		a.dropDist()
		return
	}
	if a.sk == nil {
		if prev.SampleCount <= 0 || (prev.Minimum == prev.Maximum && prev.Minimum == v) {
			return // still one distinct value
		}
		a.materialize(m, prev)
	}
	_ = a.sk.AddWithCount(v, count) // count > 0 and v >= 0: cannot fail
}

// materialize makes the implicit distribution of prev (all samples equal
// to prev.Minimum) an explicit sketch.
func (a *agg) materialize(m mapping.IndexMapping, prev metric.StatSet) {
	a.sk = ddsketch.NewDDSketchFromStoreProvider(m, store.BufferedPaginatedStoreConstructor)
	if prev.SampleCount > 0 {
		_ = a.sk.AddWithCount(prev.Minimum, prev.SampleCount)
	}
}

// merge adds the samples of o.
func (a *agg) merge(m mapping.IndexMapping, o *agg) {
	if o.empty() {
		return
	}
	prev := a.set
	a.set = a.set.Merge(o.set)
	if o.noDist {
		a.dropDist()
		return
	}
	if o.sk == nil {
		a.feed(m, prev, o.set.Minimum, o.set.SampleCount)
		return
	}
	if a.noDist {
		return
	}
	if a.sk == nil {
		a.materialize(m, prev)
	}
	_ = a.sk.MergeWith(o.sk) // same mapping: cannot fail
}

// bin is one value of a distribution and how many samples have it.
type bin struct{ v, c float64 }

// bins returns the distribution as ascending bins, their values clamped
// to [Minimum, Maximum].
func (a *agg) bins() []bin {
	if a.sk == nil {
		return []bin{{a.set.Minimum, a.set.SampleCount}}
	}
	var out []bin
	a.sk.ForEach(func(v, c float64) bool {
		out = append(out, bin{math.Min(math.Max(v, a.set.Minimum), a.set.Maximum), c})
		return false
	})
	slices.SortFunc(out, func(x, y bin) int {
		switch {
		case x.v < y.v:
			return -1
		case x.v > y.v:
			return 1
		}
		return 0
	})
	return out
}

// quantile returns the value at quantile q (0–1).
func (a *agg) quantile(q float64) float64 {
	switch {
	case q <= 0 || a.sk == nil:
		return a.set.Minimum
	case q >= 1:
		return a.set.Maximum
	}
	v, err := a.sk.GetValueAtQuantile(q)
	if err != nil {
		return a.set.Minimum
	}
	return math.Min(math.Max(v, a.set.Minimum), a.set.Maximum)
}

// value computes statistic st; ok is false when the period cannot give
// it (no distribution for an extended statistic, or nothing in a trimmed
// mean's range).
func (a *agg) value(st metric.Statistic) (float64, bool) {
	if a.empty() {
		return 0, false
	}
	switch st.Kind() {
	case metric.KindSampleCount:
		return a.set.SampleCount, true
	case metric.KindSum:
		return a.set.Sum, true
	case metric.KindAverage:
		return a.set.Average(), true
	case metric.KindMinimum:
		return a.set.Minimum, true
	case metric.KindMaximum:
		return a.set.Maximum, true
	}
	if !a.hasDist() {
		return 0, false
	}
	if st.Kind() == metric.KindPercentile {
		return a.quantile(st.Percentile() / 100), true
	}
	lo, hi, percent := st.Bounds()
	if percent {
		return a.rankRange(st.Kind(), lo/100, hi/100)
	}
	return a.valueRange(st.Kind(), lo, hi)
}

// rankRange computes a range statistic whose bounds are quantiles: the
// samples of rank in (lo·N, hi·N]; bins straddling a bound count
// partly.
func (a *agg) rankRange(kind metric.Kind, lo, hi float64) (float64, bool) {
	n := a.set.SampleCount
	loR, hiR := lo*n, hi*n
	var cnt, sum, cum float64
	for _, b := range a.bins() {
		c0, c1 := cum, cum+b.c
		cum = c1
		if o := math.Min(c1, hiR) - math.Max(c0, loR); o > 0 {
			cnt += o
			sum += o * b.v
		}
	}
	switch kind {
	case metric.KindTrimmedCount:
		return cnt, true
	case metric.KindTrimmedSum:
		return sum, true
	case metric.KindWinsorizedMean:
		return (sum + loR*a.quantile(lo) + (n-hiR)*a.quantile(hi)) / n, true
	}
	if cnt <= 0 {
		return 0, false
	}
	return sum / cnt, true
}

// valueRange computes a range statistic whose bounds are values: the
// samples v with lo < v <= hi.
func (a *agg) valueRange(kind metric.Kind, lo, hi float64) (float64, bool) {
	var cnt, sum, wsum float64
	for _, b := range a.bins() {
		switch {
		case b.v <= lo:
			wsum += b.c * lo
		case b.v > hi:
			wsum += b.c * hi
		default:
			cnt += b.c
			sum += b.c * b.v
			wsum += b.c * b.v
		}
	}
	switch kind {
	case metric.KindTrimmedCount:
		return cnt, true
	case metric.KindTrimmedSum:
		return sum, true
	case metric.KindPercentileRank:
		return 100 * cnt / a.set.SampleCount, true
	case metric.KindWinsorizedMean:
		return wsum / a.set.SampleCount, true
	}
	if cnt <= 0 {
		return 0, false
	}
	return sum / cnt, true
}
