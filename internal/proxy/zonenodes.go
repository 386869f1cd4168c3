package proxy

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/madang-dev/madang/internal/balance"
)

// Cross-zone load balancing off (TargetGroup.CrossZoneOff).
//
// AWS runs one load balancer node per enabled availability zone and DNS
// spreads clients over the nodes; a node whose group has cross-zone off
// sends requests only to that group's targets in its own zone. madang's
// load balancer listens on one address, so it models the nodes per
// request: each request forwarded to such a group is assigned to a zone
// node, round robin over the load balancer's zones that meet the group's
// DNS failover threshold (TargetGroup.DNSFailoverMinCount and
// DNSFailoverMinPercent; AWS takes the other zones out of DNS, and with
// its default of one healthy target that is the zones without one), and
// the group's algorithm then picks among that zone's targets only. Choosing per request, not
// per client connection, keeps the spread even with a few long-lived
// keep-alive clients.
//
// Unlike an AWS node, madang retries a request that failed on every
// target of its zone node (a target that died before its health check
// noticed) in the other zones, as it retries across targets with
// cross-zone on, so that no request fails while others could serve it.
//
// Everything a request needs is precomputed when the group's membership
// or health changes (groupRuntime.recompute): each node's eligible
// targets and, per load balancer, the nodes that meet the threshold.

// zoneNodes are a target group's zone nodes: one per availability zone of
// the load balancers with zones that forward to it.
type zoneNodes struct {
	// zones are the node zones, sorted; the other slices are indexed
	// like them.
	zones []string
	// sels are each node's own selector, so that round robin and the
	// other algorithms' state stay per node.
	sels  []balance.Selector
	views []*nodeView
	byLB  map[string]*nodeView
}

// nodeView is one load balancer's zone nodes for a group.
type nodeView struct {
	// index is the view's position in zoneNodes.views and
	// eligibleSet.active.
	index   int
	lbZones []string
	// nodes index zoneNodes.zones: the load balancer's zones.
	nodes []int
	// next spreads requests over the active nodes.
	next atomic.Uint64
}

// nodeView returns the zone nodes of load balancer lb, enabled in zones,
// for g, made on first use; nil when requests of lb go to all of g's
// targets: cross-zone on, lb without zones, or no target in a zone.
// Called while the snapshot is built.
func (g *groupRuntime) nodeView(lb string, zones []string) *nodeView {
	if !g.crossZoneOff || len(zones) == 0 || len(g.zones) == 0 {
		return nil
	}
	if g.nodes == nil {
		g.nodes = &zoneNodes{byLB: map[string]*nodeView{}}
	}
	if v := g.nodes.byLB[lb]; v != nil {
		return v
	}
	v := &nodeView{index: len(g.nodes.views), lbZones: zones}
	g.nodes.views = append(g.nodes.views, v)
	g.nodes.byLB[lb] = v
	return v
}

// finishNodes settles g's zone nodes once every listener is compiled: the
// node zones, their selectors, each view's nodes and each member's node.
func (g *groupRuntime) finishNodes() error {
	zn := g.nodes
	if zn == nil {
		return nil
	}
	for _, v := range zn.views {
		for _, z := range v.lbZones {
			if z != "" && !slices.Contains(zn.zones, z) {
				zn.zones = append(zn.zones, z)
			}
		}
	}
	slices.Sort(zn.zones)
	for range zn.zones {
		sel, err := balance.New(g.algorithm, g.selOpts)
		if err != nil {
			return fmt.Errorf("zone node: %w", err)
		}
		zn.sels = append(zn.sels, sel)
	}
	for _, v := range zn.views {
		for _, z := range v.lbZones {
			if i, ok := slices.BinarySearch(zn.zones, z); ok && !slices.Contains(v.nodes, i) {
				v.nodes = append(v.nodes, i)
			}
		}
		slices.Sort(v.nodes)
	}
	for _, m := range g.members {
		if m.zone < 0 {
			continue
		}
		if i, ok := slices.BinarySearch(zn.zones, g.zones[m.zone]); ok {
			m.node = i
		}
	}
	return nil
}

// publish fills set's per-node targets from the members that are healthy,
// not draining and weighted (set.bts, not failing open): a node has the
// ones in its zone and the ones without a zone, in member order. A
// member in a zone that is no node's gets no requests.
//
// A view's active nodes are those whose healthy targets meet the group's
// DNS failover threshold, counted against the node's targets that are
// not draining and weighted (AWS takes the other zones out of DNS); when
// none of a view's nodes meets it, all of them are active, as AWS's DNS
// answers with every zone when all are unhealthy.
func (zn *zoneNodes) publish(members []*member, set *eligibleSet, min threshold) {
	set.nodes = make([][]*balance.Target, len(zn.zones))
	serving := make([]int, len(zn.zones))
	for _, m := range members {
		if m.draining || m.weight <= 0 {
			continue
		}
		healthy := m.lt.healthy.Load()
		switch {
		case m.zone < 0:
			for i := range set.nodes {
				serving[i]++
				if healthy {
					set.nodes[i] = append(set.nodes[i], m.bt)
				}
			}
		case m.node >= 0:
			serving[m.node]++
			if healthy {
				set.nodes[m.node] = append(set.nodes[m.node], m.bt)
			}
		}
	}
	set.active = make([][]int, len(zn.views))
	for _, v := range zn.views {
		var act []int
		for _, n := range v.nodes {
			if !min.below(len(set.nodes[n]), serving[n]) {
				act = append(act, n)
			}
		}
		if len(act) == 0 {
			act = v.nodes
		}
		set.active[v.index] = act
	}
}

// zoneNode assigns a request of wg to a zone node: round robin over its
// load balancer's active nodes in set (see publish). It returns the
// node's index in zoneNodes.zones, or -1 when the request goes to all of
// the group's targets: cross-zone on, failing open, or a load balancer
// without nodes.
func (wg *weightedGroup) zoneNode(set *eligibleSet) int {
	v := wg.view
	if v == nil || set.active == nil {
		return -1
	}
	act := set.active[v.index]
	if len(act) == 0 {
		return -1
	}
	return act[(v.next.Add(1)-1)%uint64(len(act))]
}

// pool returns the targets of set a request assigned to node (see
// zoneNode) chooses from, and the selector that chooses: the node's, or
// the whole group's when node is -1 or has no eligible target in set
// (health changed since the assignment).
func (g *groupRuntime) pool(set *eligibleSet, node int) ([]*balance.Target, balance.Selector) {
	if node >= 0 && set.nodes != nil && len(set.nodes[node]) > 0 {
		return set.nodes[node], g.nodes.sels[node]
	}
	return set.bts, g.sel
}
