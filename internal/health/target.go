package health

import (
	"context"
	"sync/atomic"
	"time"
)

// target is the runtime of one registered target. Its loop goroutine runs
// the active checks; timers and Update only mark work as due and wake it.
type target struct {
	g    *group
	id   string
	addr string

	// sig wakes the loop; it holds at most one pending wake-up.
	sig chan struct{}
	// ctx ends the loop and aborts a check in flight; cancel stops it.
	ctx    context.Context
	cancel context.CancelFunc
	// done is closed when the loop has returned.
	done chan struct{}

	// Passive counters, updated by Observe without locks.
	// eligible is true while the target is healthy, the only state in
	// which live traffic can eject it.
	eligible atomic.Bool
	// netFails counts connection failures (refused, reset, timeout) in a
	// row, refused only refused connections, fails all failures including
	// 5xx responses.
	netFails, refused, fails atomic.Int32

	// The fields below are guarded by g.mu.

	draining    bool
	unavailable string
	removed     bool

	// Checked state: what active checks (and ejections) say, whatever
	// condition overrides it.
	active         State
	aReason, aDesc string
	failDesc       string // the failure that keeps the target unhealthy
	consecOK       int
	consecFail     int
	lastCheck      time.Time
	lastLatency    time.Duration
	checks         int // check results applied
	healthySince   time.Time

	// Scheduling: work marked due by timers and Update, done by run.
	checkDue   bool
	probeDue   bool
	checkTimer Timer
	checkGen   uint64 // invalidates callbacks of stopped check timers

	// Passive ejection.
	ejected    bool
	ejectTimer Timer
	ejectGen   uint64 // invalidates callbacks of stopped ejection timers
	ejections  int
	passive    string

	// Visible state, as Health reports it and the Sink last heard it.
	state        State
	reason, desc string
	since        time.Time
	routable     bool
}

// run is the target's check loop.
func (t *target) run() {
	defer close(t.done)
	g := t.g
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-t.sig:
		}
		g.mu.Lock()
		if t.removed {
			g.mu.Unlock()
			return
		}
		check, probe := t.checkDue, t.probeDue && t.ejected
		t.checkDue, t.probeDue = false, false
		active := g.activeLocked(t)
		s, gen := g.settings, g.probeGen
		g.mu.Unlock()
		if !active || (!check && !probe) {
			continue
		}

		start := g.m.clock.Now()
		res := t.check(s)
		if t.ctx.Err() != nil {
			return
		}
		now := g.m.clock.Now()

		g.mu.Lock()
		switch {
		case t.removed:
		case gen != g.probeGen || !g.activeLocked(t):
			// The check no longer describes the target; whoever changed
			// that asked for a new check. Keep a pending ejection probe.
			if probe && t.ejected {
				t.probeDue = true
				t.poke()
			}
		default:
			g.applyLocked(t, res, probe, now)
			if check {
				if d := g.settings.Interval - now.Sub(start); d > 0 {
					t.armCheckLocked(d)
				} else {
					t.requestCheckLocked()
				}
			}
		}
		g.mu.Unlock()
	}
}

// check runs one active check bounded by s.Timeout.
func (t *target) check(s Settings) Result {
	ctx, cancel := context.WithTimeout(t.ctx, s.Timeout)
	defer cancel()
	return t.g.m.checker.Check(ctx, s, t.addr)
}

// poke wakes the loop without blocking.
func (t *target) poke() {
	select {
	case t.sig <- struct{}{}:
	default:
	}
}

// requestCheckLocked asks for a check now; the periodic schedule restarts
// after it.
func (t *target) requestCheckLocked() {
	t.stopCheckTimerLocked()
	t.checkDue = true
	t.poke()
}

// armCheckLocked schedules the next periodic check after d.
func (t *target) armCheckLocked(d time.Duration) {
	t.stopCheckTimerLocked()
	gen := t.checkGen
	g := t.g
	t.checkTimer = g.m.clock.AfterFunc(d, func() {
		g.mu.Lock()
		due := !t.removed && t.checkGen == gen
		if due {
			t.checkDue = true
		}
		g.mu.Unlock()
		if due {
			t.poke()
		}
	})
}

// stopCheckTimerLocked cancels the pending periodic check.
func (t *target) stopCheckTimerLocked() {
	if t.checkTimer != nil {
		t.checkTimer.Stop()
		t.checkTimer = nil
	}
	t.checkGen++
}

// setActiveLocked sets the checked state.
func (t *target) setActiveLocked(st State, reason, desc string) {
	t.active, t.aReason, t.aDesc = st, reason, desc
}

// resetActiveLocked starts the checked state over as initial.
func (t *target) resetActiveLocked() {
	t.setActiveLocked(StateInitial, ReasonInitialHealthChecking, "initial health checks in progress")
	t.failDesc = ""
	t.consecOK, t.consecFail = 0, 0
}

// restoreActiveLocked sets the checked state from a persisted record;
// records of other states start initial.
func (t *target) restoreActiveLocked(rec Record) {
	t.resetActiveLocked()
	switch rec.State {
	case StateHealthy:
		t.setActiveLocked(StateHealthy, "", rec.Description)
		t.healthySince = rec.Since
	case StateUnhealthy:
		t.setActiveLocked(StateUnhealthy, rec.Reason, rec.Description)
		t.failDesc = rec.Description
	case StateInitial:
		t.setActiveLocked(StateInitial, ReasonInitialHealthChecking, rec.Description)
	default:
		return
	}
	t.consecOK, t.consecFail = max(rec.ConsecutiveOK, 0), max(rec.ConsecutiveFail, 0)
}

// resetPassive clears the live-traffic failure counters.
func (t *target) resetPassive() {
	t.netFails.Store(0)
	t.refused.Store(0)
	t.fails.Store(0)
}

func (t *target) healthLocked() TargetHealth {
	return TargetHealth{
		ID:              t.id,
		Addr:            t.addr,
		State:           t.state,
		Reason:          t.reason,
		Description:     t.desc,
		LastCheck:       t.lastCheck,
		LastLatency:     t.lastLatency,
		ConsecutiveOK:   t.consecOK,
		ConsecutiveFail: t.consecFail,
		Since:           t.since,
		Passive:         t.passive,
	}
}

func (t *target) recordLocked() Record {
	return Record{
		Group:           t.g.name,
		ID:              t.id,
		Addr:            t.addr,
		State:           t.state,
		Reason:          t.reason,
		Description:     t.desc,
		Since:           t.since,
		ConsecutiveOK:   t.consecOK,
		ConsecutiveFail: t.consecFail,
	}
}
