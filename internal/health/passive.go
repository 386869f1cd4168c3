package health

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Passive checks: live-traffic outlier detection in the manner of Envoy's,
// tuned for sub-second failover.
const (
	// ejectAfterNetFailures connection failures in a row eject a target.
	ejectAfterNetFailures = 2
	// ejectAfterFailures failures in a row, 5xx responses included, eject
	// a target.
	ejectAfterFailures = 5
	// ejectionBase times the number of ejections is how long an ejection
	// lasts, up to ejectionMax.
	ejectionBase = time.Second
	ejectionMax  = 30 * time.Second
	// ejectionStable is how long a target must stay healthy before its
	// ejection count starts over.
	ejectionStable = 30 * time.Second
	// maxEjectedPercent of a group's checked targets may be ejected at
	// once, except targets that refuse connections outright.
	maxEjectedPercent = 50
)

// Observe reports the outcome of one request the proxy forwarded to a
// target. Connection failures, resets, timeouts and 5xx responses (but
// 501 and 505, which speak of the request) count as failures; any other
// response resets the count; an outcome with neither a status nor a
// failure (a request the client abandoned) counts for nothing. Only
// healthy targets are counted.
//
// At 2 connection failures in a row, or 5 failures of any kind, the
// target is ejected at once: the Sink hears SetHealthy(false) before
// Observe returns. Ejection lasts 1s times the number of ejections (at
// most 30s; the count starts over after 30s healthy), then an immediate
// active check decides: a pass makes the target healthy again, a failure
// leaves it unhealthy for the active checks to bring back. At most half
// of a group's checked targets are ejected at once, unless a target
// refuses connections outright.
//
// Observe is cheap, does not allocate on its usual path and does not
// wait for checks.
func (m *Manager) Observe(group, targetID string, o Outcome) {
	g := (*m.index.Load())[group]
	if g == nil {
		return
	}
	t := (*g.targets.Load())[targetID]
	if t == nil || !t.eligible.Load() {
		return
	}
	switch {
	case o.ConnectFailed || o.Reset || o.Timeout:
		netFails := t.netFails.Add(1)
		all := t.fails.Add(1)
		var refused int32
		if o.ConnectFailed {
			refused = t.refused.Add(1)
		} else {
			clear32(&t.refused)
		}
		if netFails >= ejectAfterNetFailures || all >= ejectAfterFailures {
			g.eject(t, refused >= ejectAfterNetFailures)
		}
	case failedStatus(o.Status):
		clear32(&t.netFails)
		clear32(&t.refused)
		if t.fails.Add(1) >= ejectAfterFailures {
			g.eject(t, false)
		}
	case o.Status != 0:
		clear32(&t.netFails)
		clear32(&t.refused)
		clear32(&t.fails)
	}
}

// failedStatus reports whether a response status counts as a target
// failure: 5xx, except 501 Not Implemented and 505 HTTP Version Not
// Supported.
func failedStatus(code int) bool {
	return code >= 500 && code <= 599 && code != 501 && code != 505
}

// clear32 zeroes a counter, skipping the write (and the cache-line
// traffic) when it is zero already.
func clear32(c *atomic.Int32) {
	if c.Load() != 0 {
		c.Store(0)
	}
}

// eject takes t out of traffic after live failures; refusing says the
// target refuses connections outright, which ignores the group's ejection
// limit.
func (g *group) eject(t *target, refusing bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	netFails, refused, fails := t.netFails.Load(), t.refused.Load(), t.fails.Load()
	t.resetPassive()
	if t.removed || t.ejected || t.state != StateHealthy || !g.activeLocked(t) {
		return
	}
	if !refusing && !g.mayEjectLocked() {
		return
	}
	now := g.m.clock.Now()
	if now.Sub(t.healthySince) >= ejectionStable {
		t.ejections = 0
	}
	t.ejections++
	d := min(ejectionBase*time.Duration(t.ejections), ejectionMax)

	var cause string
	switch {
	case refusing:
		cause = fmt.Sprintf("%d refused connections", refused)
	case netFails >= ejectAfterNetFailures:
		cause = fmt.Sprintf("%d connection failures", netFails)
	default:
		cause = fmt.Sprintf("%d failed requests (5xx or connection errors)", fails)
	}
	t.ejected = true
	g.ejected++
	t.passive = fmt.Sprintf("ejected for %v after %s (ejection #%d)", d, cause, t.ejections)
	t.failDesc = fmt.Sprintf("ejected by live traffic after %s in a row; an active check follows in %v", cause, d)
	t.setActiveLocked(StateUnhealthy, ReasonFailedHealthChecks, t.failDesc)
	t.consecOK = 0

	t.ejectGen++
	gen := t.ejectGen
	t.ejectTimer = g.m.clock.AfterFunc(d, func() {
		g.mu.Lock()
		due := !t.removed && t.ejected && t.ejectGen == gen
		if due {
			t.probeDue = true
		}
		g.mu.Unlock()
		if due {
			t.poke()
		}
	})
	g.refreshLocked(t, now)
}

// mayEjectLocked reports whether one more target of the group may be
// ejected without passing maxEjectedPercent of its checked targets.
func (g *group) mayEjectLocked() bool {
	checked := 0
	for _, t := range *g.targets.Load() {
		if !t.removed && g.activeLocked(t) {
			checked++
		}
	}
	return (g.ejected+1)*100 <= checked*maxEjectedPercent
}
