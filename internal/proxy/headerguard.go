package proxy

import (
	"net/netip"
	"sync"
	"time"
)

// Defaults of madang's slowloris defences (the load balancer attributes
// madang.client_header_timeout.timeout_seconds and
// madang.client_header.max_per_source_ip).
const (
	DefaultHeaderTimeout       = 60 * time.Second
	DefaultMaxHeaderConnsPerIP = 64
)

// headerGuard counts, per client IP, a load balancer's connections in the
// header phase: accepted or in the middle of a request head, and not yet
// done with it. It outlives configurations, so a reload neither forgets
// nor double-counts connections.
type headerGuard struct {
	// mu guards the fields that follow.
	mu sync.Mutex
	n  map[netip.Addr]int32
}

func newHeaderGuard() *headerGuard { return &headerGuard{n: map[netip.Addr]int32{}} }

// enter counts one more header-phase connection from ip, unless ip
// already has limit of them; it reports whether it did.
func (g *headerGuard) enter(ip netip.Addr, limit int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if int(g.n[ip]) >= limit {
		return false
	}
	g.n[ip]++
	return true
}

// leave ends one header-phase connection from ip.
func (g *headerGuard) leave(ip netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n[ip] <= 1 {
		delete(g.n, ip)
		return
	}
	g.n[ip]--
}

// enterHead puts c in the header phase of lb; false means the client IP
// is at its cap and c must close. A connection already in the header
// phase stays in it.
func (c *conn) enterHead(lb *lbRuntime, start time.Time) bool {
	if c.guard != nil || c.internal {
		return true
	}
	if !lb.guard.enter(c.remote.Addr(), lb.cfg.MaxHeaderConnsPerIP) {
		lb.stats.RejectedConns.Add(1)
		return false
	}
	c.guard = lb.guard
	c.headStart = start
	return true
}

// leaveHead ends c's header phase, if it is in one.
func (c *conn) leaveHead() {
	if c.guard != nil {
		c.guard.leave(c.remote.Addr())
		c.guard = nil
	}
}

// admit is called once per accepted connection, before it is served: it
// starts the first request's header phase (the header timeout runs from
// the accept, as HAProxy's timeout http-request does) and reports false
// when the client IP is at its cap.
func (c *conn) admit() bool {
	lc := c.l.cfg.Load()
	if lc == nil {
		return true
	}
	return c.enterHead(lc.lb, c.created)
}
