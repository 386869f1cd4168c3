package proxy

import (
	"cmp"
	"slices"

	"github.com/madang-dev/madang/internal/lbmetrics"
)

// Metric is one counter or gauge; see lbmetrics.Metric.
type Metric = lbmetrics.Metric

// Collect reports every metric of MetricsSnapshot (see
// lbmetrics.Snapshot.Emit) and, with no dimension, ActiveConnectionCount
// over the whole proxy: its client and target connections.
func (p *Proxy) Collect(fn func(Metric)) {
	p.MetricsSnapshot(nil).Emit(fn)
	fn(Metric{Name: "ActiveConnectionCount", Dimensions: map[string]string{}, Value: float64(p.activeConns.Load()), Unit: "Count", Kind: "gauge"})
}

// MetricsSnapshot reads the proxy's counters and gauges into dst, reusing
// its lists' memory, and returns it; with dst nil it returns a new
// Snapshot. A caller that alternates between two snapshots allocates
// nothing once their lists have grown. dst's previous contents, response
// time buckets included, are overwritten.
//
// The snapshot's Epoch is the proxy's: counters only ever grow within it.
// HealthyHostCount and UnHealthyHostCount count a group's registered
// targets that are not draining, by the health SetHealthy last reported;
// a zone's (Snapshot.Zones) count the group's targets in that zone. A
// group has a zone for each zone of its targets and of the load balancer
// (LoadBalancer.Zones), and for each it had before: its counters
// outlive configurations. A zone counts a request when its target
// responds or, without a response, once the request ends, in the zone
// of the last target it was sent to.
// A load balancer's ActiveConnectionCount is its client connections plus
// the connections to the targets of the groups it forwards to. A target
// registered under one ID at several addresses has their counts summed.
func (p *Proxy) MetricsSnapshot(dst *lbmetrics.Snapshot) *lbmetrics.Snapshot {
	p.mu.Lock()
	idx := p.metricsIndexLocked()
	p.mu.Unlock()
	if dst == nil {
		dst = idx.newSnapshot()
	}

	dst.Taken = p.now()
	dst.Epoch = p.epoch
	lbs, groups, zones, targets := dst.LoadBalancers[:0], dst.Groups[:0], dst.Zones[:0], dst.Targets[:0]
	for _, e := range idx.lbs {
		lbs = append(lbs, lbmetrics.LBSnapshot{LoadBalancer: e.name, Counters: e.stats.Counters(), ActiveConnectionCount: e.stats.ActiveConns.Load()})
	}
	for _, e := range idx.groups {
		g := groupSnapshot(&groups, e.lb, e.tg, "", e.stats)
		if e.g != nil {
			var conns int64
			for _, m := range e.g.members {
				conns += m.lt.conns.Load()
				switch {
				case m.draining:
				case m.lt.healthy.Load():
					g.HealthyHostCount++
				default:
					g.UnHealthyHostCount++
				}
			}
			if e.lbIndex >= 0 {
				lbs[e.lbIndex].ActiveConnectionCount += conns
			}
		}
		groups = append(groups, g)
	}
	for _, e := range idx.zones {
		z := groupSnapshot(&zones, e.lb, e.tg, e.zone, e.stats)
		if e.g != nil && e.index >= 0 {
			for _, m := range e.g.members {
				switch {
				case m.zone != e.index || m.draining:
				case m.lt.healthy.Load():
					z.HealthyHostCount++
				default:
					z.UnHealthyHostCount++
				}
			}
		}
		zones = append(zones, z)
	}
	for _, e := range idx.targets {
		t := lbmetrics.TargetSnapshot{TargetGroup: e.group, Target: e.id}
		for _, lt := range e.lts {
			t.Requests += lt.requests.Load()
			t.BytesIn += lt.bytesIn.Load()
			t.BytesOut += lt.bytesOut.Load()
			t.ConnectionErrors += lt.connErrors.Load()
		}
		targets = append(targets, t)
	}
	dst.LoadBalancers, dst.Groups, dst.Zones, dst.Targets = lbs, groups, zones, targets
	return dst
}

// groupSnapshot reads stats into a group snapshot (zone "") or a zone's,
// reusing the response-time buckets of the element of *list it is to
// become.
func groupSnapshot(list *[]lbmetrics.GroupSnapshot, lb, tg, zone string, stats *lbmetrics.GroupStats) lbmetrics.GroupSnapshot {
	var buckets lbmetrics.Buckets
	if l := *list; len(l) < cap(l) {
		buckets = l[:len(l)+1][len(l)].ResponseTimes[:0]
	}
	return lbmetrics.GroupSnapshot{
		LoadBalancer: lb, TargetGroup: tg, AvailabilityZone: zone,
		Counters:              stats.Counters(),
		ResponseTimeCount:     stats.RTCount.Load(),
		ResponseTimeSumMicros: stats.RTSumMicros.Load(),
		ResponseTimes:         stats.AppendResponseTimes(buckets),
	}
}

// metricsIndex lists, in a Snapshot's order, the counters that
// MetricsSnapshot reads for one configuration. It is immutable.
type metricsIndex struct {
	snap    *snapshot // the configuration it lists
	lbs     []lbMetrics
	groups  []groupMetrics
	zones   []zoneMetrics
	targets []targetMetrics
}

type lbMetrics struct {
	name  string
	stats *lbmetrics.LBStats
}

type groupMetrics struct {
	lb, tg  string
	stats   *lbmetrics.GroupStats
	g       *groupRuntime // nil: not in the configuration
	lbIndex int           // the load balancer's index in lbs; -1: none
}

// zoneMetrics is a group's counters of one zone behind one load balancer.
type zoneMetrics struct {
	lb, tg, zone string
	stats        *lbmetrics.GroupStats
	g            *groupRuntime // nil: not in the configuration
	index        int           // the zone's index in g.zones; -1: none of g's targets is in it
}

// targetMetrics is a target ID in a group: its live targets, one per
// address it is registered at.
type targetMetrics struct {
	group, id string
	lts       []*liveTarget
}

// newSnapshot returns a snapshot with room for the index's lists and the
// response-time buckets its groups and zones have now, in one array.
func (idx *metricsIndex) newSnapshot() *lbmetrics.Snapshot {
	s := &lbmetrics.Snapshot{
		LoadBalancers: make([]lbmetrics.LBSnapshot, 0, len(idx.lbs)),
		Groups:        make([]lbmetrics.GroupSnapshot, len(idx.groups)),
		Targets:       make([]lbmetrics.TargetSnapshot, 0, len(idx.targets)),
	}
	if len(idx.zones) > 0 {
		s.Zones = make([]lbmetrics.GroupSnapshot, len(idx.zones))
	}
	type slot struct {
		snap *lbmetrics.GroupSnapshot
		n    int
	}
	slots := make([]slot, 0, len(idx.groups)+len(idx.zones))
	total := 0
	add := func(g *lbmetrics.GroupSnapshot, st *lbmetrics.GroupStats) {
		n := st.NumResponseTimes() + 4 // a few buckets may fill meanwhile
		slots = append(slots, slot{g, n})
		total += n
	}
	for i, e := range idx.groups {
		add(&s.Groups[i], e.stats)
	}
	for i, e := range idx.zones {
		add(&s.Zones[i], e.stats)
	}
	all := make(lbmetrics.Buckets, total)
	for _, sl := range slots {
		sl.snap.ResponseTimes, all = all[:0:sl.n], all[sl.n:]
	}
	s.Groups = s.Groups[:0]
	s.Zones = s.Zones[:0]
	return s
}

// metricsIndexLocked returns the index of the current configuration,
// building it after a configuration change. p.mu must be held: Update
// changes the configuration and the maps the index lists together under
// it.
func (p *Proxy) metricsIndexLocked() *metricsIndex {
	snap := p.snap.Load()
	if idx := p.metricsIdx; idx != nil && idx.snap == snap {
		return idx
	}
	idx := &metricsIndex{snap: snap}
	for name, s := range p.lbStats {
		idx.lbs = append(idx.lbs, lbMetrics{name: name, stats: s})
	}
	slices.SortFunc(idx.lbs, func(a, b lbMetrics) int { return cmp.Compare(a.name, b.name) })
	for k, s := range p.tgStats {
		i, ok := slices.BinarySearchFunc(idx.lbs, k[0], func(l lbMetrics, name string) int { return cmp.Compare(l.name, name) })
		if !ok {
			i = -1
		}
		idx.groups = append(idx.groups, groupMetrics{lb: k[0], tg: k[1], stats: s, g: snap.groups[k[1]], lbIndex: i})
	}
	slices.SortFunc(idx.groups, func(a, b groupMetrics) int { return cmp.Or(cmp.Compare(a.lb, b.lb), cmp.Compare(a.tg, b.tg)) })
	for k, s := range p.zoneStats {
		z := zoneMetrics{lb: k.lb, tg: k.tg, zone: k.zone, stats: s, g: snap.groups[k.tg], index: -1}
		if z.g != nil {
			if i, ok := slices.BinarySearch(z.g.zones, k.zone); ok {
				z.index = i
			}
		}
		idx.zones = append(idx.zones, z)
	}
	slices.SortFunc(idx.zones, func(a, b zoneMetrics) int {
		return cmp.Or(cmp.Compare(a.lb, b.lb), cmp.Compare(a.tg, b.tg), cmp.Compare(a.zone, b.zone))
	})
	lts := make([]*liveTarget, 0, len(p.targets))
	for _, lt := range p.targets {
		lts = append(lts, lt)
	}
	slices.SortFunc(lts, func(a, b *liveTarget) int { return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.id, b.id)) })
	for _, lt := range lts {
		if n := len(idx.targets); n > 0 && idx.targets[n-1].group == lt.group && idx.targets[n-1].id == lt.id {
			idx.targets[n-1].lts = append(idx.targets[n-1].lts, lt)
			continue
		}
		idx.targets = append(idx.targets, targetMetrics{group: lt.group, id: lt.id, lts: []*liveTarget{lt}})
	}
	p.metricsIdx = idx
	return idx
}
