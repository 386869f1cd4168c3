package metricstore

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

// MaxDatapoints is the most datapoints one Statistics call returns.
const MaxDatapoints = 1440

// Query is a GetMetricStatistics request.
type Query struct {
	// ID is the metric.
	ID metric.ID
	// Start is the first instant asked for; it is rounded down to the
	// period boundary (periods are aligned to the epoch).
	Start time.Time
	// End is the end of the range (exclusive).
	End time.Time
	// Period is the length of each datapoint's period (whole seconds).
	Period time.Duration
	// Statistics are the statistics to compute (basic or extended).
	Statistics []metric.Statistic
	// Unit, when set, selects the data stored with that unit only.
	Unit string
}

// Datapoint is one period of a Statistics answer.
type Datapoint struct {
	// Timestamp is the period's start.
	Timestamp time.Time
	// Values are the statistics asked for, by Statistic.String(); an
	// extended statistic the period cannot give (see the package doc) is
	// absent.
	Values map[string]float64
	// SampleCount is the period's number of samples.
	SampleCount float64
	// Unit is the unit the data was stored with.
	Unit string
}

func badParam(code, field, format string, args ...any) error {
	return fmt.Errorf("metricstore: %w", &metric.Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)})
}

// plan checks a query's range and period as GetMetricStatistics does and
// returns the tier to read, the aligned start (unix second) and the
// period in seconds.
func (s *Store) plan(start, end time.Time, period time.Duration, maxPoints int) (k int, from, to, per int64, err error) {
	if !start.Before(end) {
		return 0, 0, 0, 0, badParam(metric.CodeInvalidValue, "StartTime", "start %s is not before end %s; give a start earlier than the end",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	if period <= 0 || period%time.Second != 0 {
		return 0, 0, 0, 0, badParam(metric.CodeInvalidValue, "Period", "period %s is not a positive whole number of seconds; use e.g. 60s", period)
	}
	per = int64(period / time.Second)
	now := unix(s.now())
	age := now - unix(start)
	switch {
	case age > 63*86400 && per%3600 != 0:
		return 0, 0, 0, 0, badParam(metric.CodeCombination, "Period", "start %s is more than 63 days ago, where data is kept per hour; period %ds must be a multiple of 3600",
			start.UTC().Format(time.RFC3339), per)
	case age > 15*86400 && per%300 != 0:
		return 0, 0, 0, 0, badParam(metric.CodeCombination, "Period", "start %s is more than 15 days ago, where data is kept per 5 minutes; period %ds must be a multiple of 300",
			start.UTC().Format(time.RFC3339), per)
	case per < 60 && per != 1 && per != 5 && per != 10 && per != 30:
		return 0, 0, 0, 0, badParam(metric.CodeInvalidValue, "Period", "period %ds is not valid; use 1, 5, 10 or 30 (high-resolution data) or a multiple of 60", per)
	case per < 60 && age > tiers[0].retention:
		return 0, 0, 0, 0, badParam(metric.CodeCombination, "Period", "start %s is more than 3 hours ago, where data is kept per minute; period %ds must be a multiple of 60",
			start.UTC().Format(time.RFC3339), per)
	case per >= 60 && per%60 != 0:
		return 0, 0, 0, 0, badParam(metric.CodeInvalidValue, "Period", "period %ds is not a multiple of 60; periods of a minute or more must be", per)
	}
	from = floorDiv(unix(start), per) * per
	to = unix(end)
	if end.After(time.Unix(to, 0)) {
		to++
	}
	if n := (to - from + per - 1) / per; maxPoints > 0 && n > int64(maxPoints) {
		return 0, 0, 0, 0, badParam(metric.CodeInvalidValue, "Period", "%s to %s in periods of %ds is %d datapoints, more than the %d allowed; use a longer period (at least %ds) or a shorter range",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), per, n, maxPoints, ((to-from+int64(maxPoints)-1)/int64(maxPoints)+59)/60*60)
	}
	if per < 60 {
		return 0, from, to, per, nil
	}
	// The finest tier whose period divides per and that still keeps the
	// start; the coarsest dividing one if none keeps it.
	for c := 1; c < numTiers; c++ {
		if per%tiers[c].period != 0 {
			continue
		}
		k = c
		if from >= now-tiers[c].retention {
			break
		}
	}
	return k, from, to, per, nil
}

// buckets aggregates series se of tier k into periods of per seconds
// from from to to.
func (s *Store) buckets(se *series, k int, from, to, per int64, dist bool) (map[int64]*agg, error) {
	out := map[int64]*agg{}
	lo := max(from, unix(s.now())-tiers[k].retention)
	err := s.eachPeriod(se, k, lo, to, dist, func(start int64, a *agg) error {
		b := from + floorDiv(start-from, per)*per
		x := out[b]
		if x == nil {
			x = &agg{}
			out[b] = x
		}
		x.merge(s.m, a)
		return nil
	})
	return out, err
}

// Statistics answers a GetMetricStatistics query: one datapoint per
// period with data, ascending; data stored with several units gives one
// datapoint per unit and period (ordered by unit) unless q.Unit picks one.
func (s *Store) Statistics(q Query) ([]Datapoint, error) {
	if len(q.Statistics) == 0 {
		return nil, badParam(metric.CodeMissing, "Statistics", "no statistics asked for; give at least one, e.g. Average or p99")
	}
	if !metric.KnownUnit(q.Unit) {
		return nil, badParam(metric.CodeInvalidValue, "Unit", "unit %q is not a CloudWatch unit", q.Unit)
	}
	dist := slices.ContainsFunc(q.Statistics, metric.Statistic.Extended)
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, from, to, per, err := s.plan(q.Start, q.End, q.Period, MaxDatapoints)
	if err != nil {
		return nil, err
	}
	var out []Datapoint
	for _, se := range s.byID[q.ID.Key()] {
		if q.Unit != "" && se.unit != q.Unit {
			continue
		}
		bs, err := s.buckets(se, k, from, to, per, dist)
		if err != nil {
			return nil, fmt.Errorf("metricstore: read %s: %w", se.id, err)
		}
		for t, a := range bs {
			dp := Datapoint{Timestamp: time.Unix(t, 0).UTC(), SampleCount: a.set.SampleCount, Unit: se.unit,
				Values: make(map[string]float64, len(q.Statistics))}
			for _, st := range q.Statistics {
				if v, ok := a.value(st); ok {
					dp.Values[st.String()] = v
				}
			}
			out = append(out, dp)
		}
	}
	slices.SortFunc(out, func(a, b Datapoint) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(a.Unit, b.Unit)
	})
	return out, nil
}

// Series returns one statistic of a metric (all units merged) per period
// with data, ascending, and each period's SampleCount. The range and
// period are checked as for Statistics, without the datapoint limit.
// Periods where stat has no value (an extended statistic without a
// distribution) are left out.
func (s *Store) Series(id metric.ID, stat metric.Statistic, start, end time.Time, period time.Duration) (times []time.Time, values []float64, counts []float64, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, from, to, per, err := s.plan(start, end, period, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	all := map[int64]*agg{}
	for _, se := range s.byID[id.Key()] {
		bs, err := s.buckets(se, k, from, to, per, stat.Extended())
		if err != nil {
			return nil, nil, nil, fmt.Errorf("metricstore: read %s: %w", se.id, err)
		}
		for t, a := range bs {
			if x := all[t]; x != nil {
				x.merge(s.m, a)
			} else {
				all[t] = a
			}
		}
	}
	ts := make([]int64, 0, len(all))
	for t := range all {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	for _, t := range ts {
		a := all[t]
		v, ok := a.value(stat)
		if !ok {
			continue
		}
		times = append(times, time.Unix(t, 0).UTC())
		values = append(values, v)
		counts = append(counts, a.set.SampleCount)
	}
	return times, values, counts, nil
}

// eachPeriod calls f for the data of tier k whose period starts in
// [from, to) (unix seconds): each block record and each hot period. A
// period may be reported more than once (late records); f merges.
func (s *Store) eachPeriod(se *series, k int, from, to int64, dist bool, f func(start int64, a *agg) error) error {
	tr := tiers[k]
	td := &se.t[k]
	winSec := tr.window * tr.period
	each := func(b *block) error {
		return b.each(func(p int64, r rec) error {
			st := p * tr.period
			if st < from || st >= to {
				return nil
			}
			var a agg
			if err := a.mergeRec(s.m, r, dist); err != nil {
				return err
			}
			return f(st, &a)
		})
	}
	var wins []int64
	for w := range s.compacted[k] {
		if ws := w * winSec; ws < to && ws+winSec > from {
			wins = append(wins, w)
		}
	}
	slices.Sort(wins)
	for _, w := range wins {
		b, err := s.readBlk(k, w, se.ref)
		if err != nil {
			return err
		}
		if b != nil {
			if err := each(b); err != nil {
				return err
			}
		}
	}
	for _, b := range td.blocks {
		if ws := b.window * winSec; ws >= to || ws+winSec <= from {
			continue
		}
		if err := each(b); err != nil {
			return err
		}
	}
	for p, hp := range td.hot {
		st := p * tr.period
		if st < from || st >= to {
			continue
		}
		var a agg
		a.merge(s.m, &hp.own)
		a.merge(s.m, &hp.roll)
		if !dist {
			a.dropDist()
		}
		if err := f(st, &a); err != nil {
			return err
		}
	}
	return nil
}

// Latest returns the newest period of a metric in the finest tier that
// has data (all units merged): its start and statistic set.
func (s *Store) Latest(id metric.ID) (t time.Time, stats metric.StatSet, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return latestLocked(s.byID[id.Key()])
}

// EachLatest calls fn with every metric that received data in the last
// recent (by arrival) and its Latest period, in no particular order: one
// pass for exporters that want every series' newest value. fn must not
// call the Store.
func (s *Store) EachLatest(recent time.Duration, fn func(id metric.ID, t time.Time, stats metric.StatSet)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	since := unix(s.now()) - int64(recent/time.Second)
	for _, l := range s.byID {
		fresh := false
		for _, se := range l {
			fresh = fresh || se.lastPut >= since
		}
		if !fresh {
			continue
		}
		if t, st, ok := latestLocked(l); ok {
			fn(l[0].id, t, st)
		}
	}
}

// latestLocked is Latest over one metric's series (one per unit); s.mu
// must be held.
func latestLocked(l []*series) (t time.Time, stats metric.StatSet, ok bool) {
	for k := range numTiers {
		best := int64(math.MinInt64)
		var set metric.StatSet
		for _, se := range l {
			td := &se.t[k]
			newest, cand := int64(math.MinInt64), metric.StatSet{}
			for p, hp := range td.hot {
				if p > newest {
					newest, cand = p, hp.own.set.Merge(hp.roll.set)
				} else if p == newest {
					cand = cand.Merge(hp.own.set.Merge(hp.roll.set))
				}
			}
			if newest == math.MinInt64 && len(td.blocks) > 0 {
				_ = td.blocks[len(td.blocks)-1].each(func(p int64, r rec) error {
					if p > newest {
						newest, cand = p, r.set
					} else if p == newest {
						cand = cand.Merge(r.set)
					}
					return nil
				})
			}
			switch {
			case newest > best:
				best, set = newest, cand
			case newest == best && newest != math.MinInt64:
				set = set.Merge(cand)
			}
		}
		if best != math.MinInt64 {
			return time.Unix(best*tiers[k].period, 0).UTC(), set, true
		}
	}
	return time.Time{}, metric.StatSet{}, false
}
