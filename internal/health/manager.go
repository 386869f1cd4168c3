package health

import (
	"cmp"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Manager. Every field is optional.
type Options struct {
	// Logger receives state changes and configuration problems; nil
	// discards them.
	Logger *slog.Logger
	// Sink learns every routability change; nil drops them.
	Sink Sink
	// Clock schedules checks and ejections; nil is the real clock.
	Clock Clock
	// Checker runs active checks; nil is NewHTTPChecker(nil).
	Checker Checker
	// OnChange, when set, is called after every change of a target's
	// state or reason code, for events and persistence. It is called from
	// one goroutine, in order, never with the Manager's locks held; a
	// slow OnChange delays later notifications only.
	OnChange func(group string, th TargetHealth)
}

// Manager runs the health checks of every target group and keeps each
// target's state. Its methods are safe for concurrent use.
type Manager struct {
	log     *slog.Logger
	sink    Sink
	clock   Clock
	checker Checker
	notify  *notifier

	// index maps group names to groups for the lock-free readers (Observe,
	// Health); Update replaces the whole map.
	index atomic.Pointer[map[string]*group]

	// mu guards the fields that follow; it serialises Update, Restore,
	// Snapshot and Close.
	mu     sync.Mutex
	groups map[string]*group
	// restored holds records from Restore that no target has claimed yet;
	// the next Update consumes them.
	restored map[recordKey]Record
	closed   bool
}

type recordKey struct{ group, id, addr string }

// New returns a Manager with no target groups; call Update to add them,
// and Close to stop it.
func New(opts Options) *Manager {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "health")
	m := &Manager{
		log:     log,
		sink:    opts.Sink,
		clock:   opts.Clock,
		checker: opts.Checker,
		groups:  map[string]*group{},
	}
	if m.sink == nil {
		m.sink = nopSink{}
	}
	if m.clock == nil {
		m.clock = SystemClock()
	}
	if m.checker == nil {
		m.checker = NewHTTPChecker(nil)
	}
	m.notify = newNotifier(log, opts.OnChange)
	empty := map[string]*group{}
	m.index.Store(&empty)
	return m
}

// Update reconciles the Manager with the complete set of target groups:
// it starts checking new targets (immediately, not after one interval),
// stops checking removed ones, and applies new settings. A target whose
// group, ID and Addr are unchanged keeps its state and counters, so a
// reload does not reset health. If a check-related setting (path, port,
// matcher, timeout, enabled) changed, the group's targets are checked at
// once. The Sink is told the current state of every target; removed
// targets are not reported (the proxy drops them with its own
// configuration). Update returns once the loops of removed targets have
// stopped.
//
// Update does not fail: settings are meant to be validated by the control
// plane with [Settings.Validate]; invalid ones that reach Update are
// logged and replaced by the group's previous settings, or by the
// defaults for a new group.
func (m *Manager) Update(groups []Group) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		m.log.Warn("update ignored: health manager is closed")
		return
	}
	now := m.clock.Now()
	next := make(map[string]*group, len(groups))
	var stopped []*target
	for _, spec := range groups {
		if spec.Name == "" {
			m.log.Error("target group without a name ignored; give every target group a name")
			continue
		}
		if _, dup := next[spec.Name]; dup {
			m.log.Error("duplicate target group ignored; target group names must be unique", "group", spec.Name)
			continue
		}
		g := m.groups[spec.Name]
		if g == nil {
			g = newGroup(m, spec.Name)
			m.groups[spec.Name] = g
		}
		stopped = append(stopped, g.update(spec, now, m.restored)...)
		next[spec.Name] = g
	}
	for name, g := range m.groups {
		if _, ok := next[name]; !ok {
			stopped = append(stopped, g.removeAll()...)
			delete(m.groups, name)
		}
	}
	m.index.Store(&next)
	m.restored = nil
	waitStopped(stopped)
}

// Health returns the health of a group's targets sorted by ID, or nil for
// an unknown group.
func (m *Manager) Health(group string) []TargetHealth {
	g := (*m.index.Load())[group]
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	targets := *g.targets.Load()
	out := make([]TargetHealth, 0, len(targets))
	for _, t := range targets {
		out = append(out, t.healthLocked())
	}
	slices.SortFunc(out, func(a, b TargetHealth) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Snapshot returns the state of every target, and of restored records no
// target has claimed yet, for persistence across daemon restarts. Records
// are sorted by group and ID.
func (m *Manager) Snapshot() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	live := map[recordKey]bool{}
	for name, g := range m.groups {
		g.mu.Lock()
		for _, t := range *g.targets.Load() {
			out = append(out, t.recordLocked())
			live[recordKey{name, t.id, t.addr}] = true
		}
		g.mu.Unlock()
	}
	for k, rec := range m.restored {
		if !live[k] {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b Record) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Addr, b.Addr))
	})
	return out
}

// Restore loads records saved by Snapshot. Call it after a daemon restart,
// before the first Update: targets that Update then registers with the
// same group, ID and Addr come back in their recorded state and counters
// (a healthy target stays healthy rather than starting initial) and are
// checked at once. Records of targets that already exist apply to them
// directly. The Sink is told each restored state. Records the next Update
// does not claim are dropped.
func (m *Manager) Restore(recs []Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	now := m.clock.Now()
	for _, rec := range recs {
		if rec.Group == "" || rec.ID == "" || rec.Addr == "" || !knownState(rec.State) {
			m.log.Warn("health record ignored: it needs a group, an id, an address and a known state",
				"group", rec.Group, "target", rec.ID, "addr", rec.Addr, "state", string(rec.State))
			continue
		}
		if g := m.groups[rec.Group]; g != nil && g.restoreTarget(rec, now) {
			continue
		}
		if m.restored == nil {
			m.restored = map[recordKey]Record{}
		}
		m.restored[recordKey{rec.Group, rec.ID, rec.Addr}] = rec
		m.sink.SetHealthy(rec.Group, rec.ID, routable(rec.State, rec.Reason), rec.Since)
	}
}

// Close stops every check loop and ejection timer, waits for them, and
// reports the last state changes to OnChange. Later calls do nothing.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	var stopped []*target
	for _, g := range m.groups {
		stopped = append(stopped, g.removeAll()...)
	}
	m.groups = nil
	m.restored = nil
	empty := map[string]*group{}
	m.index.Store(&empty)
	m.mu.Unlock()
	waitStopped(stopped)
	m.notify.close()
	return nil
}

// waitStopped stops the loops of removed targets and waits for them.
func waitStopped(ts []*target) {
	for _, t := range ts {
		t.cancel()
	}
	for _, t := range ts {
		<-t.done
	}
}

func knownState(s State) bool {
	switch s {
	case StateInitial, StateHealthy, StateUnhealthy, StateUnused, StateDraining, StateUnavailable:
		return true
	}
	return false
}

type nopSink struct{}

func (nopSink) SetHealthy(string, string, bool, time.Time) {}

var _ Sink = nopSink{}
