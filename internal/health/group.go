package health

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// group is the runtime of one target group.
type group struct {
	m    *Manager
	name string
	// targets maps target ids to targets for the lock-free readers; it is
	// replaced whole under mu.
	targets atomic.Pointer[map[string]*target]

	// mu guards the fields that follow and the guarded fields of every
	// target of the group.
	mu          sync.Mutex
	settings    Settings
	hasSettings bool
	inUse       bool
	// probeGen changes whenever the check itself changes; results of
	// checks started under an older generation are dropped.
	probeGen uint64
	// ejected counts targets currently ejected by live traffic.
	ejected int
}

func newGroup(m *Manager, name string) *group {
	g := &group{m: m, name: name}
	empty := map[string]*target{}
	g.targets.Store(&empty)
	return g
}

// update applies a group spec and returns the targets to stop.
func (g *group) update(spec Group, now time.Time, restored map[recordKey]Record) []*target {
	settings := spec.Settings.withDefaults()
	if err := settings.Validate(); err != nil {
		g.mu.Lock()
		prev, had := g.settings, g.hasSettings
		g.mu.Unlock()
		if had {
			settings = prev
			g.m.log.Error("invalid health check settings; keeping the previous ones", "group", g.name, "err", err)
		} else {
			settings = DefaultSettings()
			settings.Enabled = spec.Settings.Enabled
			g.m.log.Error("invalid health check settings; using the AWS defaults", "group", g.name, "err", err)
		}
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	// Whether each target was being checked, decided by the group's
	// previous settings: the group becoming used by a listener (or checks
	// being enabled) is what starts checking its existing targets.
	wasActive := map[*target]bool{}
	for _, t := range *g.targets.Load() {
		wasActive[t] = g.hasSettings && g.activeLocked(t)
	}
	old, first := g.settings, !g.hasSettings
	g.settings, g.hasSettings, g.inUse = settings, true, spec.InUse
	probeChanged := !first && !old.sameProbe(settings)
	intervalChanged := !first && old.Interval != settings.Interval
	if probeChanged {
		g.probeGen++
	}

	cur := *g.targets.Load()
	next := make(map[string]*target, len(spec.Targets))
	var stopped []*target
	for _, ts := range spec.Targets {
		if ts.ID == "" || ts.Addr == "" {
			g.m.log.Error("target ignored: it needs an id and an ip:port address", "group", g.name, "target", ts.ID, "addr", ts.Addr)
			continue
		}
		if _, dup := next[ts.ID]; dup {
			g.m.log.Error("duplicate target ignored; register each target id once per group", "group", g.name, "target", ts.ID)
			continue
		}
		t := cur[ts.ID]
		if t != nil && t.addr != ts.Addr {
			stopped = append(stopped, g.removeLocked(t))
			t = nil
		}
		if t == nil {
			var rec *Record
			if r, ok := restored[recordKey{g.name, ts.ID, ts.Addr}]; ok {
				rec = &r
			}
			t = g.newTargetLocked(ts, rec)
			if g.activeLocked(t) {
				t.requestCheckLocked()
			}
		} else {
			wasActive := wasActive[t]
			t.draining, t.unavailable = ts.Draining, ts.Unavailable
			nowActive := g.activeLocked(t)
			switch {
			case wasActive && !nowActive:
				g.deactivateLocked(t)
			case !wasActive && nowActive, nowActive && probeChanged:
				t.requestCheckLocked()
			case nowActive && intervalChanged:
				t.armCheckLocked(settings.Interval)
			}
		}
		next[ts.ID] = t
		g.refreshLocked(t, now)
	}
	for id, t := range cur {
		if next[id] != t && !t.removed {
			stopped = append(stopped, g.removeLocked(t))
		}
	}
	g.targets.Store(&next)
	for id, t := range next {
		g.m.sink.SetHealthy(g.name, id, t.routable, t.since)
	}
	return stopped
}

// newTargetLocked creates a target, from rec when the daemon restored
// one, and starts its loop.
func (g *group) newTargetLocked(ts Target, rec *Record) *target {
	ctx, cancel := context.WithCancel(context.Background())
	t := &target{
		g:           g,
		id:          ts.ID,
		addr:        ts.Addr,
		sig:         make(chan struct{}, 1),
		ctx:         ctx,
		cancel:      cancel,
		done:        make(chan struct{}),
		draining:    ts.Draining,
		unavailable: ts.Unavailable,
	}
	t.resetActiveLocked()
	if rec != nil {
		t.state, t.reason, t.desc, t.since = rec.State, rec.Reason, rec.Description, rec.Since
		t.routable = routable(rec.State, rec.Reason)
		if g.activeLocked(t) {
			t.restoreActiveLocked(*rec)
		}
	}
	go t.run()
	return t
}

// restoreTarget applies a record to an existing target with the same
// address; it reports whether there was one.
func (g *group) restoreTarget(rec Record, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := (*g.targets.Load())[rec.ID]
	if t == nil || t.addr != rec.Addr {
		return false
	}
	if !g.activeLocked(t) {
		g.refreshLocked(t, now)
		g.m.sink.SetHealthy(g.name, t.id, t.routable, t.since)
		return true
	}
	g.endEjectionLocked(t)
	t.restoreActiveLocked(rec)
	g.refreshLocked(t, now)
	if t.state == rec.State {
		t.since = rec.Since
		if t.state == StateHealthy {
			t.healthySince = rec.Since
		}
	}
	g.m.sink.SetHealthy(g.name, t.id, t.routable, t.since)
	t.requestCheckLocked()
	return true
}

// removeAll removes every target and returns them to be stopped.
func (g *group) removeAll() []*target {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*target
	for _, t := range *g.targets.Load() {
		if !t.removed {
			out = append(out, g.removeLocked(t))
		}
	}
	empty := map[string]*target{}
	g.targets.Store(&empty)
	return out
}

// removeLocked marks t removed and stops its timers; the caller cancels
// and waits for its loop after releasing mu.
func (g *group) removeLocked(t *target) *target {
	t.removed = true
	t.stopCheckTimerLocked()
	g.endEjectionLocked(t)
	t.eligible.Store(false)
	return t
}

// activeLocked reports whether t is under active checking: no condition
// overrides its checked state.
func (g *group) activeLocked(t *target) bool {
	_, _, _, over := g.overrideLocked(t)
	return !over
}

// overrideLocked returns the state that conditions other than checks give
// t, if any.
func (g *group) overrideLocked(t *target) (st State, reason, desc string, ok bool) {
	switch {
	case t.unavailable != "":
		return StateUnused, ReasonInvalidState, t.unavailable, true
	case t.draining:
		return StateDraining, ReasonDeregistrationInProgress, "deregistration in progress; the target gets no new requests", true
	case !g.inUse:
		return StateUnused, ReasonNotInUse, fmt.Sprintf("target group %s is not used by any listener rule", g.name), true
	case !g.settings.Enabled:
		return StateUnavailable, ReasonHealthCheckDisabled, fmt.Sprintf("health checks are disabled for target group %s; the target receives traffic", g.name), true
	}
	return "", "", "", false
}

// deactivateLocked stops checking t after a condition started to override
// its checked state. When checks resume, t starts over as initial.
func (g *group) deactivateLocked(t *target) {
	t.stopCheckTimerLocked()
	t.checkDue, t.probeDue = false, false
	g.endEjectionLocked(t)
	t.resetActiveLocked()
	t.resetPassive()
}

// refreshLocked recomputes t's visible state after any change and reports
// changes to the Sink and the notifier.
func (g *group) refreshLocked(t *target, now time.Time) {
	st, reason, desc, over := g.overrideLocked(t)
	if !over {
		st, reason, desc = t.active, t.aReason, t.aDesc
	}
	t.desc = desc
	t.eligible.Store(st == StateHealthy && !t.removed)
	if st == t.state && reason == t.reason {
		return
	}
	prev := t.state
	t.state, t.reason = st, reason
	if st != prev {
		t.since = now
		if st == StateHealthy {
			t.healthySince = now
			t.resetPassive()
		}
	}
	if r := routable(st, reason); r != t.routable {
		t.routable = r
		g.m.sink.SetHealthy(g.name, t.id, r, t.since)
	}
	g.m.notify.push(change{group: g.name, th: t.healthLocked(), prev: prev})
}

// applyLocked runs t's state machine on the result of an active check;
// probe is true for the check that ends a passive ejection.
func (g *group) applyLocked(t *target, res Result, probe bool, now time.Time) {
	s := g.settings
	t.checks++
	t.lastCheck, t.lastLatency = now, res.Latency
	if res.OK {
		t.consecOK++
		t.consecFail = 0
	} else {
		t.consecFail++
		t.consecOK = 0
	}
	switch {
	case t.ejected && probe:
		g.endEjectionLocked(t)
		if res.OK {
			t.setActiveLocked(StateHealthy, "", "")
		} else {
			t.failDesc = res.Description
			t.setActiveLocked(StateUnhealthy, res.Reason, res.Description)
		}
	case t.ejected:
		// Live traffic ejected the target: until the ejection ends,
		// periodic checks only count.
	case res.OK && (t.active != StateUnhealthy || t.consecOK >= s.HealthyThreshold):
		// A new target needs one passing check, as AWS documents.
		t.setActiveLocked(StateHealthy, "", "")
	case res.OK:
		t.aDesc = fmt.Sprintf("%s; recovering: %d of %d checks passed", t.failDesc, t.consecOK, s.HealthyThreshold)
	case t.active == StateUnhealthy || t.consecFail >= s.UnhealthyThreshold:
		t.failDesc = res.Description
		t.setActiveLocked(StateUnhealthy, res.Reason, res.Description)
	case t.active == StateInitial:
		t.aDesc = fmt.Sprintf("initial health checks in progress; last check failed (%d of %d before unhealthy): %s",
			t.consecFail, s.UnhealthyThreshold, res.Description)
	default: // healthy, below the unhealthy threshold
		t.aDesc = fmt.Sprintf("last check failed (%d of %d before unhealthy): %s", t.consecFail, s.UnhealthyThreshold, res.Description)
	}
	g.refreshLocked(t, now)
}

// endEjectionLocked ends a passive ejection of t, if any.
func (g *group) endEjectionLocked(t *target) {
	if t.ejectTimer != nil {
		t.ejectTimer.Stop()
		t.ejectTimer = nil
	}
	t.ejectGen++
	t.probeDue = false
	if t.ejected {
		t.ejected = false
		g.ejected--
	}
	t.passive = ""
}

// checksOf returns how many check results a target has applied; tests
// wait on it.
func (g *group) checksOf(id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := (*g.targets.Load())[id]; t != nil {
		return t.checks
	}
	return -1
}
