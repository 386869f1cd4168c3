package proxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/madang-dev/madang/internal/accesslog"
	"github.com/madang-dev/madang/internal/lbmetrics"

	"github.com/madang-dev/madang/internal/balance"
	"github.com/madang-dev/madang/internal/route"
)

// liveTarget is a target's state that outlives configurations: its
// connection pool, health and counters. It is keyed by (group, ID, addr).
type liveTarget struct {
	group, id, addr string
	ap              netip.AddrPort // addr, parsed
	cookie          string         // opaque stickiness cookie value
	pool            pool
	healthy         atomic.Bool
	requests        atomic.Int64 // requests sent, retries included
	bytesIn         atomic.Int64 // request bytes of the requests it answered
	bytesOut        atomic.Int64 // response bytes of the requests it answered
	connErrors      atomic.Int64 // failed connection attempts
	conns           atomic.Int64 // open connections to the target
	bt              *balance.Target
	btWeight        int
}

// member is a target as one configuration sees it.
type member struct {
	lt       *liveTarget
	bt       *balance.Target
	draining bool
	weight   int
	// zone indexes the group's zones (groupRuntime.zones); -1: the
	// target has none.
	zone int
	// node indexes the group's zone nodes (zoneNodes.zones) when its
	// cross-zone load balancing is off; -1: no node is in its zone, or
	// cross-zone is on.
	node     int
	eligible atomic.Bool
}

// eligibleSet is the targets a group's selector chooses from.
type eligibleSet struct {
	bts      []*balance.Target
	failOpen bool
	// With cross-zone off (groupRuntime.nodes set) and the group not
	// failing open: nodes[i] is the eligible targets of zone node i, and
	// active[v] the nodes of view v that get requests (see
	// zoneNodes.publish).
	nodes  [][]*balance.Target
	active [][]int
}

// groupShared is a target group's state that outlives configurations.
type groupShared struct {
	active   atomic.Int64 // requests in flight, for the retry budget
	retrying atomic.Int64 // retries in flight
}

// allowRetry takes a slot in the retry budget (retries ≤ 20 % of active
// requests, at least 3 concurrent). The caller holds the slot while the
// retry runs and gives it back with doneRetries when the request ends, so
// concurrent retries count against the budget.
func (g *groupShared) allowRetry() bool {
	limit := g.active.Load() / 5
	if limit < 3 {
		limit = 3
	}
	if g.retrying.Add(1) > limit {
		g.retrying.Add(-1)
		return false
	}
	return true
}

// doneRetries gives back n slots taken with allowRetry.
func (g *groupShared) doneRetries(n int) {
	if n > 0 {
		g.retrying.Add(int64(-n))
	}
}

// groupRuntime is a target group in one configuration.
type groupRuntime struct {
	name, arn  string
	shared     *groupShared
	sel        balance.Selector
	hash       hashKind
	hashName   string
	sticky     Stickiness
	members    []*member
	zones      []string // the members' availability zones, sorted
	byBT       map[*balance.Target]*member
	byCookie   map[string]*member
	eligible   atomic.Pointer[eligibleSet]
	expires    expiryCache
	hasTargets bool
	// algorithm and selOpts make the zone nodes' selectors.
	algorithm string
	selOpts   balance.Options
	// crossZoneOff is TargetGroup.CrossZoneOff; nodes are its zone
	// nodes, nil while no load balancer with zones forwards to the
	// group or no target has a zone.
	crossZoneOff bool
	nodes        *zoneNodes
	// failOpenMin and dnsFailoverMin are the group's health thresholds
	// (TargetGroup.FailOpenMin*, DNSFailoverMin*).
	failOpenMin, dnsFailoverMin threshold
}

// recompute publishes the eligible targets: healthy, not draining, weight
// above 0; if fewer are healthy than the unhealthy state routing
// threshold (always when none is), every non-draining target with a
// weight (fail open).
func (g *groupRuntime) recompute() {
	set := &eligibleSet{}
	serving := 0
	for _, m := range g.members {
		if m.draining || m.weight <= 0 {
			continue
		}
		serving++
		if m.lt.healthy.Load() {
			set.bts = append(set.bts, m.bt)
		}
	}
	if len(set.bts) == 0 || g.failOpenMin.below(len(set.bts), serving) {
		set.failOpen = true
		set.bts = nil
		for _, m := range g.members {
			if !m.draining && m.weight > 0 {
				set.bts = append(set.bts, m.bt)
			}
		}
	}
	if g.nodes != nil && !set.failOpen {
		g.nodes.publish(g.members, set, g.dnsFailoverMin)
	}
	in := make(map[*balance.Target]bool, len(set.bts))
	for _, bt := range set.bts {
		in[bt] = true
	}
	for _, m := range g.members {
		m.eligible.Store(in[m.bt])
	}
	g.eligible.Store(set)
}

// actionKind is a rule's terminal action.
type actionKind uint8

const (
	actForward actionKind = iota
	actRedirect
	actFixed
	actStatic
)

// rule is a compiled listener rule.
type rule struct {
	priority int
	kind     actionKind
	forward  *forwardAction
	redirect *route.Redirect
	fixed    *fixedResponse
	static   *staticSite
	executed string // actions_executed
}

// forwardAction forwards to one or more weighted target groups.
type forwardAction struct {
	groups   []weightedGroup
	total    int
	sticky   bool
	duration time.Duration
	expires  expiryCache
}

type weightedGroup struct {
	g     *groupRuntime
	stats *lbmetrics.GroupStats
	// zones are the group's counters per zone behind this load
	// balancer, indexed like g.zones.
	zones []*lbmetrics.GroupStats
	// view is the load balancer's zone nodes for the group when its
	// cross-zone load balancing is off, else nil.
	view   *nodeView
	weight int
	cookie string // AWSALBTG value
}

// zoneStats returns the counters of m's zone behind the group's load
// balancer, nil when m has no zone. m is a member of wg.g.
func (wg *weightedGroup) zoneStats(m *member) *lbmetrics.GroupStats {
	if m.zone < 0 {
		return nil
	}
	return wg.zones[m.zone]
}

// lbRuntime is a load balancer in one configuration.
type lbRuntime struct {
	name      string
	cfg       LoadBalancer
	stats     *lbmetrics.LBStats
	guard     *headerGuard
	alog      *accesslog.Writer
	xffAppend bool
	xffRemove bool
	desync    int // 0 monitor, 1 defensive, 2 strictest
	idleSlack time.Duration
	dropNames bool
}

// listenerConfig is a listener's configuration; connections load it per
// request, so an Update takes effect on open keep-alive connections.
type listenerConfig struct {
	lb      *lbRuntime
	port    int
	portStr string
	table   *route.Table
	rules   map[*route.Rule]*rule
}

// snapshot is one applied Config.
type snapshot struct {
	groups    map[string]*groupRuntime
	listeners map[string]*listenerConfig // by bind address
	lbs       map[string]*lbRuntime
}

// cookieFor derives an opaque, unforgeable cookie value.
func (p *Proxy) cookieFor(parts ...string) string {
	m := hmac.New(sha256.New, p.key[:])
	for _, s := range parts {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

type targetKey struct{ group, id, addr string }

// buildLocked compiles a normalized cfg into a snapshot, reusing the live
// state (targets, health, counters, header guards) that outlives
// configurations and creating what is new; it returns the snapshot and
// the live targets it uses. p.mu must be held. Nothing is published yet.
func (p *Proxy) buildLocked(cfg Config) (*snapshot, map[targetKey]*liveTarget, error) {
	s := &snapshot{
		groups:    map[string]*groupRuntime{},
		listeners: map[string]*listenerConfig{},
		lbs:       map[string]*lbRuntime{},
	}
	live := map[targetKey]*liveTarget{}
	for _, tg := range cfg.TargetGroups {
		selOpts := balance.Options{SlowStart: tg.SlowStart, Now: p.now}
		sel, err := balance.New(tg.Algorithm, selOpts)
		if err != nil {
			return nil, nil, fmt.Errorf("target group %s: %w", tg.Name, err)
		}
		hk, hn, _ := parseHashKey(tg.HashKey)
		shared := p.groupShared[tg.Name]
		if shared == nil {
			shared = &groupShared{}
		}
		g := &groupRuntime{
			name:     tg.Name,
			arn:      fmt.Sprintf("arn:aws:elasticloadbalancing:local:000000000000:targetgroup/%s/%s", tg.Name, shortID(p.cookieFor("tg", tg.Name))),
			shared:   shared,
			sel:      sel,
			hash:     hk,
			hashName: hn,
			sticky:   tg.Stickiness,
			byBT:     map[*balance.Target]*member{},
			byCookie: map[string]*member{},

			algorithm:      tg.Algorithm,
			selOpts:        selOpts,
			crossZoneOff:   tg.CrossZoneOff,
			failOpenMin:    threshold{count: tg.FailOpenMinCount, percent: tg.FailOpenMinPercent},
			dnsFailoverMin: threshold{count: tg.DNSFailoverMinCount, percent: tg.DNSFailoverMinPercent},
		}
		g.expires.d = tg.Stickiness.Duration
		for _, t := range tg.Targets {
			k := targetKey{tg.Name, t.ID, t.Addr}
			lt := p.targets[k]
			if lt == nil {
				lt = &liveTarget{group: tg.Name, id: t.ID, addr: t.Addr, cookie: p.cookieFor("t", tg.Name, t.ID, t.Addr)}
				lt.ap, _ = netip.ParseAddrPort(t.Addr) // checked by normalize
				lt.pool.init(p, lt)
				if h, ok := p.health[healthKey{tg.Name, t.ID}]; ok {
					lt.healthy.Store(h.healthy)
				}
			}
			live[k] = lt
			bt := lt.bt
			if bt == nil || lt.btWeight != t.Weight {
				bt = balance.NewTarget(t.ID, t.Addr, t.Weight)
				if h, ok := p.health[healthKey{tg.Name, t.ID}]; ok && h.healthy {
					bt.SetHealthySince(h.since)
				}
			}
			m := &member{lt: lt, bt: bt, draining: t.Draining, weight: t.Weight, zone: -1, node: -1}
			g.members = append(g.members, m)
			g.byBT[bt] = m
			g.byCookie[lt.cookie] = m
			if t.Zone != "" && !slices.Contains(g.zones, t.Zone) {
				g.zones = append(g.zones, t.Zone)
			}
		}
		slices.Sort(g.zones)
		for i, t := range tg.Targets {
			if t.Zone != "" {
				g.members[i].zone, _ = slices.BinarySearch(g.zones, t.Zone)
			}
		}
		g.hasTargets = len(g.members) > 0
		s.groups[tg.Name] = g
	}
	for _, lb := range cfg.LoadBalancers {
		stats := p.lbStats[lb.Name]
		if stats == nil {
			stats = lbmetrics.NewLBStats()
		}
		guard := p.headerGuards[lb.Name]
		if guard == nil {
			guard = newHeaderGuard()
		}
		r := &lbRuntime{
			name:      lb.Name,
			cfg:       lb,
			stats:     stats,
			guard:     guard,
			xffAppend: lb.XFFMode == "append",
			xffRemove: lb.XFFMode == "remove",
			dropNames: lb.DropInvalidHeaders,
		}
		r.cfg.Listeners = nil
		switch lb.DesyncMode {
		case "monitor":
			r.desync = 0
		case "defensive":
			r.desync = 1
		default:
			r.desync = 2
		}
		r.idleSlack = lb.IdleTimeout / 16
		if r.idleSlack > 500*time.Millisecond {
			r.idleSlack = 500 * time.Millisecond
		}
		s.lbs[lb.Name] = r
		for _, l := range lb.Listeners {
			bind := net.JoinHostPort(lb.Address, strconv.Itoa(l.Port))
			lc, err := p.compileListener(s, r, l)
			if err != nil {
				return nil, nil, fmt.Errorf("load balancer %s listener %s: %w", lb.Name, bind, err)
			}
			s.listeners[bind] = lc
		}
	}
	for _, g := range s.groups {
		if err := g.finishNodes(); err != nil {
			return nil, nil, fmt.Errorf("target group %s: %w", g.name, err)
		}
	}
	return s, live, nil
}

func shortID(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

func (p *Proxy) compileListener(s *snapshot, lb *lbRuntime, l Listener) (*listenerConfig, error) {
	table, err := route.Compile(l.Rules, l.DefaultActions)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	lc := &listenerConfig{lb: lb, port: l.Port, portStr: strconv.Itoa(l.Port), table: table, rules: map[*route.Rule]*rule{}}
	for _, rr := range table.Rules() {
		cr, err := p.compileRule(s, lb, rr)
		if err != nil {
			if rr.Priority == 0 {
				return nil, fmt.Errorf("default actions: %w", err)
			}
			return nil, fmt.Errorf("rule priority %d: %w", rr.Priority, err)
		}
		lc.rules[rr] = cr
	}
	return lc, nil
}

func (p *Proxy) compileRule(s *snapshot, lb *lbRuntime, rr *route.Rule) (*rule, error) {
	if len(rr.Actions) == 0 {
		return nil, fmt.Errorf("no actions: add a forward, redirect, fixed-response or static action")
	}
	a := rr.Actions[len(rr.Actions)-1]
	r := &rule{priority: rr.Priority}
	switch a.Type {
	case route.ActionForward:
		r.kind = actForward
		r.executed = "forward"
		fa := &forwardAction{}
		if a.Forward == nil || len(a.Forward.TargetGroups) == 0 {
			return nil, fmt.Errorf("forward action names no target group: set forward.targetGroups")
		}
		if d := a.Forward.Stickiness; d > 0 {
			fa.sticky = true
			fa.duration = d
			fa.expires.d = d
		}
		for _, w := range a.Forward.TargetGroups {
			g := s.groups[w.Name]
			if g == nil {
				return nil, fmt.Errorf("forward action: target group %q is not defined: define it or fix the name", w.Name)
			}
			weight := w.Weight
			if weight < 0 || weight > 999 {
				return nil, fmt.Errorf("forward action: target group %q weight %d is out of range: use 0–999", w.Name, weight)
			}
			key := [2]string{lb.name, g.name}
			st := p.tgStats[key]
			if st == nil {
				st = lbmetrics.NewGroupStats()
				p.tgStats[key] = st
			}
			zones := make([]*lbmetrics.GroupStats, len(g.zones))
			for i, z := range g.zones {
				zones[i] = p.zoneStatsLocked(lb.name, g.name, z)
			}
			for _, z := range lb.cfg.Zones {
				p.zoneStatsLocked(lb.name, g.name, z)
			}
			fa.groups = append(fa.groups, weightedGroup{g: g, stats: st, zones: zones, view: g.nodeView(lb.name, lb.cfg.Zones),
				weight: weight, cookie: p.cookieFor("g", g.name)})
			fa.total += weight
		}
		r.forward = fa
	case route.ActionRedirect:
		if a.Redirect == nil {
			return nil, fmt.Errorf("redirect action has no redirect settings: add redirect.statusCode")
		}
		switch a.Redirect.StatusCode {
		case 301, 302:
		default:
			return nil, fmt.Errorf("redirect.statusCode %d is not valid: use 301 or 302", a.Redirect.StatusCode)
		}
		r.kind = actRedirect
		r.redirect = a.Redirect
		r.executed = "redirect"
	case route.ActionFixedResponse:
		fr, err := compileFixed(a.FixedResponse)
		if err != nil {
			return nil, err
		}
		r.kind = actFixed
		r.fixed = fr
		r.executed = "fixed-response"
	case route.ActionStatic:
		st, err := newStaticSite(a.Static)
		if err != nil {
			return nil, err
		}
		r.kind = actStatic
		r.static = st
		r.executed = "static"
	default:
		return nil, fmt.Errorf("action type %q is not supported: use forward, redirect, fixed-response or static", a.Type)
	}
	return r, nil
}

// zoneKey identifies a target group's counters of one zone behind one
// load balancer.
type zoneKey struct{ lb, tg, zone string }

// zoneStatsLocked returns the counters of group tg's targets in zone
// behind load balancer lb, made on first use; they outlive
// configurations, as the group's do. p.mu must be held.
func (p *Proxy) zoneStatsLocked(lb, tg, zone string) *lbmetrics.GroupStats {
	k := zoneKey{lb, tg, zone}
	st := p.zoneStats[k]
	if st == nil {
		st = lbmetrics.NewGroupStats()
		p.zoneStats[k] = st
	}
	return st
}

// expiryCache formats "now + d" as an HTTP date once per second.
type expiryCache struct {
	d   time.Duration
	cur atomic.Pointer[expiryValue]
}

type expiryValue struct {
	sec int64
	s   string
}

func (e *expiryCache) get(now time.Time) string {
	sec := now.Unix()
	if v := e.cur.Load(); v != nil && v.sec == sec {
		return v.s
	}
	v := &expiryValue{sec: sec, s: now.Add(e.d).UTC().Format(httpTimeFormat)}
	e.cur.Store(v)
	return v.s
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// healthKey identifies a target for SetHealthy.
type healthKey struct{ group, id string }

type healthState struct {
	healthy bool
	since   time.Time
}
