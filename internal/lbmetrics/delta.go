package lbmetrics

import "time"

// Value is one metric value of an interval, under its CloudWatch name.
type Value struct {
	Name  string
	Unit  string
	Value float64
}

// Interval is what happened between two snapshots (see Delta).
type Interval struct {
	// Start and End are when the two snapshots were taken; Start is zero
	// when the interval counts from the data plane's start.
	Start, End    time.Time
	LoadBalancers []LBInterval
	Groups        []GroupInterval
	// Zones are the groups per availability zone of their targets (see
	// Snapshot.Zones).
	Zones   []GroupInterval
	Targets []TargetInterval
}

// LBInterval is a load balancer's counts over an interval (dimension
// LoadBalancer).
type LBInterval struct {
	LoadBalancer string
	// Counters are the interval's counts.
	Counters LBCounters
	// ActiveConnectionCount is the gauge at the interval's end.
	ActiveConnectionCount int64
}

// Metrics returns the interval's values under AWS's names: every AWS
// counter of LBCounters and ActiveConnectionCount.
func (x LBInterval) Metrics() []Value {
	out := make([]Value, 0, NumLBCounters+1)
	for c := range NumLBCounters {
		if lbCounterInfo[c].aws {
			out = append(out, Value{Name: c.Name(), Unit: c.Unit(), Value: float64(x.Counters[c])})
		}
	}
	return append(out, Value{Name: "ActiveConnectionCount", Unit: "Count", Value: float64(x.ActiveConnectionCount)})
}

// GroupInterval is a target group's counts behind one load balancer over
// an interval (dimensions TargetGroup and LoadBalancer); in
// Interval.Zones, those of its targets in one availability zone
// (dimensions AvailabilityZone, TargetGroup and LoadBalancer).
type GroupInterval struct {
	LoadBalancer, TargetGroup string
	// AvailabilityZone is the zone of the targets counted; "" for the
	// whole group.
	AvailabilityZone string
	// Counters are the interval's counts.
	Counters GroupCounters
	// ResponseTimeCount and ResponseTimeSum (seconds) are the interval's
	// TargetResponseTime sample count and sum.
	ResponseTimeCount int64
	ResponseTimeSum   float64
	// ResponseTimeBuckets are the interval's non-empty TargetResponseTime
	// buckets, ascending by index.
	ResponseTimeBuckets Buckets
	// HealthyHostCount and UnHealthyHostCount are the gauges at the
	// interval's end.
	HealthyHostCount, UnHealthyHostCount int64
}

// Metrics returns the interval's values under AWS's names: the counters
// of GroupCounters, HealthyHostCount, UnHealthyHostCount and, for a whole
// group, RequestCountPerTarget (AWS publishes none per zone).
// TargetResponseTime is a distribution: see ResponseTimes.
func (x GroupInterval) Metrics() []Value {
	out := make([]Value, 0, NumGroupCounters+3)
	for c := range NumGroupCounters {
		out = append(out, Value{Name: c.Name(), Unit: "Count", Value: float64(x.Counters[c])})
	}
	out = append(out,
		Value{Name: "HealthyHostCount", Unit: "Count", Value: float64(x.HealthyHostCount)},
		Value{Name: "UnHealthyHostCount", Unit: "Count", Value: float64(x.UnHealthyHostCount)},
	)
	if x.AvailabilityZone == "" {
		out = append(out, Value{Name: "RequestCountPerTarget", Unit: "Count", Value: x.RequestCountPerTarget()})
	}
	return out
}

// RequestCountPerTarget is the group's requests divided by its healthy
// targets, as AWS computes it. With no healthy target the group serves
// every registered one (fail open), so it divides by those; with none it
// is 0.
func (x GroupInterval) RequestCountPerTarget() float64 {
	n := x.HealthyHostCount
	if n == 0 {
		n = x.UnHealthyHostCount
	}
	if n == 0 {
		return 0
	}
	return float64(x.Counters[GroupRequestCount]) / float64(n)
}

// ResponseTimes returns TargetResponseTime's distribution over the
// interval for a sketch: each non-empty bucket's representative value in
// seconds (BucketValue) and its count. Adding counts[i] at values[i] to a
// DDSketch of relative accuracy RelativeAccuracy loses nothing.
func (x GroupInterval) ResponseTimes() (values, counts []float64) {
	values = make([]float64, len(x.ResponseTimeBuckets))
	counts = make([]float64, len(x.ResponseTimeBuckets))
	for i, b := range x.ResponseTimeBuckets {
		values[i] = BucketValue(int(b.Index))
		counts[i] = float64(b.Count)
	}
	return values, counts
}

// Quantile estimates TargetResponseTime's q-quantile (0 ≤ q ≤ 1) over the
// interval in seconds, within RelativeAccuracy of the response at rank
// q·(n-1); 0 without responses.
func (x GroupInterval) Quantile(q float64) float64 {
	return quantileOf(x.ResponseTimeBuckets, q)
}

// TargetInterval is a target's counts in one target group over an
// interval.
type TargetInterval struct {
	TargetGroup, Target                           string
	Requests, BytesIn, BytesOut, ConnectionErrors int64
}

// Metrics returns the interval's values: RequestCount,
// TargetConnectionErrorCount, and madang's per-target BytesIn and BytesOut
// (AWS has no per-target byte counts).
func (x TargetInterval) Metrics() []Value {
	return []Value{
		{Name: "RequestCount", Unit: "Count", Value: float64(x.Requests)},
		{Name: "TargetConnectionErrorCount", Unit: "Count", Value: float64(x.ConnectionErrors)},
		{Name: "BytesIn", Unit: "Bytes", Value: float64(x.BytesIn)},
		{Name: "BytesOut", Unit: "Bytes", Value: float64(x.BytesOut)},
	}
}

// Delta returns what happened from prev to cur, both snapshots of one
// data plane: counters as differences, gauges as cur's values, and
// response-time buckets as the interval's counts. It counts from zero
// what has no earlier value to subtract: everything when prev is nil or
// has another Epoch, and a load balancer, group or target that is new in
// cur or one of whose counters went down (its counters restarted).
// Entries only prev has are left out. Zones is nil when cur has none.
func Delta(prev, cur *Snapshot) Interval {
	out := Interval{End: cur.Taken}
	if prev != nil && prev.Epoch != cur.Epoch {
		prev = nil
	}
	if prev != nil {
		out.Start = prev.Taken
	}
	var (
		lbs     map[string]*LBSnapshot
		targets map[[2]string]*TargetSnapshot
	)
	if prev != nil {
		lbs = make(map[string]*LBSnapshot, len(prev.LoadBalancers))
		for i := range prev.LoadBalancers {
			lbs[prev.LoadBalancers[i].LoadBalancer] = &prev.LoadBalancers[i]
		}
		targets = make(map[[2]string]*TargetSnapshot, len(prev.Targets))
		for i := range prev.Targets {
			t := &prev.Targets[i]
			targets[[2]string{t.TargetGroup, t.Target}] = t
		}
	}

	out.LoadBalancers = make([]LBInterval, len(cur.LoadBalancers))
	for i, c := range cur.LoadBalancers {
		x := LBInterval(c)
		if p := lbs[c.LoadBalancer]; p != nil && !decreased(p.Counters[:], c.Counters[:]) {
			for k := range x.Counters {
				x.Counters[k] -= p.Counters[k]
			}
		}
		out.LoadBalancers[i] = x
	}

	var prevGroups, prevZones []GroupSnapshot
	if prev != nil {
		prevGroups, prevZones = prev.Groups, prev.Zones
	}
	out.Groups = deltaGroups(prevGroups, cur.Groups)
	if len(cur.Zones) > 0 {
		out.Zones = deltaGroups(prevZones, cur.Zones)
	}

	out.Targets = make([]TargetInterval, len(cur.Targets))
	for i, c := range cur.Targets {
		x := TargetInterval(c)
		if p := targets[[2]string{c.TargetGroup, c.Target}]; p != nil &&
			p.Requests <= c.Requests && p.BytesIn <= c.BytesIn && p.BytesOut <= c.BytesOut && p.ConnectionErrors <= c.ConnectionErrors {
			x.Requests -= p.Requests
			x.BytesIn -= p.BytesIn
			x.BytesOut -= p.BytesOut
			x.ConnectionErrors -= p.ConnectionErrors
		}
		out.Targets[i] = x
	}
	return out
}

// deltaGroups returns the intervals of cur's groups (or zones of groups)
// since prev's of the same load balancer, target group and zone.
func deltaGroups(prev, cur []GroupSnapshot) []GroupInterval {
	type key struct{ lb, tg, zone string }
	var before map[key]*GroupSnapshot
	if len(prev) > 0 {
		before = make(map[key]*GroupSnapshot, len(prev))
		for i := range prev {
			g := &prev[i]
			before[key{g.LoadBalancer, g.TargetGroup, g.AvailabilityZone}] = g
		}
	}
	out := make([]GroupInterval, len(cur))
	for i, c := range cur {
		x := GroupInterval{
			LoadBalancer: c.LoadBalancer, TargetGroup: c.TargetGroup, AvailabilityZone: c.AvailabilityZone,
			Counters:          c.Counters,
			ResponseTimeCount: c.ResponseTimeCount,
			HealthyHostCount:  c.HealthyHostCount, UnHealthyHostCount: c.UnHealthyHostCount,
		}
		sum := c.ResponseTimeSumMicros
		p := before[key{c.LoadBalancer, c.TargetGroup, c.AvailabilityZone}]
		if p != nil && (decreased(p.Counters[:], c.Counters[:]) || p.ResponseTimeCount > c.ResponseTimeCount || p.ResponseTimeSumMicros > sum) {
			p = nil
		}
		if p != nil {
			for k := range x.Counters {
				x.Counters[k] -= p.Counters[k]
			}
			x.ResponseTimeCount -= p.ResponseTimeCount
			sum -= p.ResponseTimeSumMicros
			x.ResponseTimeBuckets = diffBuckets(p.ResponseTimes, c.ResponseTimes)
		} else {
			x.ResponseTimeBuckets = diffBuckets(nil, c.ResponseTimes)
		}
		x.ResponseTimeSum = float64(sum) / 1e6
		out[i] = x
	}
	return out
}

// decreased reports whether any of cur's counters is below prev's.
func decreased(prev, cur []int64) bool {
	for i := range cur {
		if cur[i] < prev[i] {
			return true
		}
	}
	return false
}

// diffBuckets returns cur's bucket counts minus prev's, both ascending
// by index, leaving out the buckets that did not change. A bucket whose
// count went down counts from zero.
func diffBuckets(prev, cur Buckets) Buckets {
	var out Buckets
	j := 0
	for _, c := range cur {
		for j < len(prev) && prev[j].Index < c.Index {
			j++
		}
		n := c.Count
		if j < len(prev) && prev[j].Index == c.Index && prev[j].Count <= n {
			n -= prev[j].Count
		}
		if n != 0 {
			out = append(out, Bucket{Index: c.Index, Count: n})
		}
	}
	return out
}
