package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/madang-dev/madang/internal/dataplane"
	"github.com/madang-dev/madang/internal/health"
)

// healthCache is the controller's copy of every target group's health, so
// that Health answers without a round trip to the data plane.
//
// It is kept current three ways:
//   - Transitions: every health change the data plane reports (the
//     callback of NewDataPlane, which also writes the event log) replaces
//     its target's entry.
//   - Configuration: after every Apply that changed the health
//     configuration (targets registered or deregistered, draining,
//     instances stopped or started, groups added, changed or removed) the
//     cache is rebuilt from the data plane in one pass, so a new target is
//     initial and a deregistered one draining as soon as Reload returns.
//   - Refresh: the fields that change without a transition (last check
//     time and latency, consecutive counts, the description of a check
//     below its threshold, such as "recovering: 1 of 3 checks passed")
//     are refreshed in one pass over all groups at most every
//     Options.HealthRefresh (a second), and only when the cache was read
//     since.
//
// The cache belongs to one data plane, named by its epoch: when the data
// plane is replaced (a restart, a takeover) the epoch changes and the next
// read rebuilds the cache from the new process. A failed rebuild or
// refresh invalidates the cache, so reads ask the data plane again and
// return its error, as when there was no cache.
type healthCache struct {
	// read is set by reads the cache answered and cleared by a refresh.
	read atomic.Bool

	// mu guards the fields that follow.
	mu sync.RWMutex
	// valid is set when groups were built from the data plane of epoch.
	valid bool
	epoch string
	// groups maps a group to its targets' health as the data plane
	// answered (sorted by ID). Slices are replaced, never changed in
	// place, so a reader may clone one after releasing mu.
	groups map[string][]health.TargetHealth
	// refreshing is set while a rebuild reads the data plane; pending
	// keeps the transitions that arrive meanwhile, applied again on top.
	refreshing bool
	pending    []transition
}

// transition is one health change of a target.
type transition struct {
	group string
	th    health.TargetHealth
}

// get returns a copy of a group's cached health, if the cache is valid
// for the data plane of epoch and knows the group.
func (h *healthCache) get(group, epoch string) ([]health.TargetHealth, bool) {
	h.mu.RLock()
	ths, ok := h.groups[group]
	ok = ok && h.valid && h.epoch == epoch
	h.mu.RUnlock()
	if !ok {
		return nil, false
	}
	h.read.Store(true)
	return slices.Clone(ths), true
}

// validFor reports whether the cache was built from the data plane of
// epoch and is still valid.
func (h *healthCache) validFor(epoch string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.valid && h.epoch == epoch
}

// apply records a transition.
func (h *healthCache) apply(group string, th health.TargetHealth) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refreshing {
		h.pending = append(h.pending, transition{group, th})
	}
	h.applyLocked(group, th)
}

// applyLocked replaces th's entry unless the entry is newer (a
// transition delivered after a rebuild that already saw it, or saw
// later ones). A transition of a target the cache does not know means
// the cache missed a change: the next read rebuilds it.
func (h *healthCache) applyLocked(group string, th health.TargetHealth) {
	ths, ok := h.groups[group]
	i := slices.IndexFunc(ths, func(e health.TargetHealth) bool { return e.ID == th.ID })
	if !ok || i < 0 || ths[i].Addr != th.Addr {
		h.valid = false
		return
	}
	if e := ths[i]; th.Since.Before(e.Since) || th.LastCheck.Before(e.LastCheck) {
		return
	}
	next := slices.Clone(ths)
	next[i] = th
	h.groups[group] = next
}

// begin marks a rebuild as started.
func (h *healthCache) begin() {
	h.mu.Lock()
	h.refreshing = true
	h.pending = nil
	h.mu.Unlock()
}

// end installs a rebuild's result (or invalidates the cache when it
// failed) and applies the transitions that arrived during it.
func (h *healthCache) end(epoch string, groups map[string][]health.TargetHealth, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pending := h.pending
	h.refreshing, h.pending = false, nil
	if err != nil {
		h.valid = false
		return
	}
	h.groups, h.epoch, h.valid = groups, epoch, true
	for _, t := range pending {
		h.applyLocked(t.group, t.th)
	}
}

// dataPlaneEpoch names the data plane the controller drives now: it
// changes when a data-plane process is replaced. Asking costs no round
// trip.
func (c *Controller) dataPlaneEpoch() string {
	switch dp := c.dp.(type) {
	case *dataplane.Client:
		return dp.Status().Epoch
	case interface{ Epoch() string }:
		return dp.Epoch()
	}
	return ""
}

// rebuildHealth reads the health of the named groups from the data plane
// into the cache, in one call when the data plane can (see healthOf).
// Rebuilds are serialised; one that finds the cache already valid for the
// current data plane, with force unset, does nothing.
func (c *Controller) rebuildHealth(ctx context.Context, names []string, force bool) error {
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	epoch := c.dataPlaneEpoch()
	if !force && c.hc.validFor(epoch) {
		return nil
	}
	c.hc.begin()
	c.hc.read.Store(false)
	groups, err := c.healthOf(ctx, names)
	c.hc.end(epoch, groups, err)
	return err
}

// healthBatcher is a data plane that reads several groups' health in one
// call (dataplane.Engine, dataplane.Client).
type healthBatcher interface {
	HealthOf(ctx context.Context, groups []string) (map[string][]health.TargetHealth, error)
}

// healthOf reads the named groups' health: in one call when the data
// plane can (an older data-plane process answers 404), else group by
// group.
func (c *Controller) healthOf(ctx context.Context, names []string) (map[string][]health.TargetHealth, error) {
	if b, ok := c.dp.(healthBatcher); ok {
		groups, err := b.HealthOf(ctx, names)
		var re *dataplane.RemoteError
		if err == nil || !errors.As(err, &re) || re.Status != http.StatusNotFound {
			if err != nil {
				return nil, fmt.Errorf("read target health: %w", err)
			}
			return groups, nil
		}
	}
	groups := make(map[string][]health.TargetHealth, len(names))
	for _, name := range names {
		th, err := c.dp.Health(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("read target health of %s: %w", name, err)
		}
		groups[name] = th
	}
	return groups, nil
}

// groupNames returns the names of the stored target groups.
func (c *Controller) groupNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sortedKeys(c.tgs)
}

// refreshHealth is the periodic refresh (Options.HealthRefresh): when the cache was read
// since the last one, it reads every group's health again.
func (c *Controller) refreshHealth() {
	if !c.hc.read.Load() && c.hc.validFor(c.dataPlaneEpoch()) {
		return
	}
	if err := c.rebuildHealth(context.Background(), c.groupNames(), true); err != nil {
		c.log.Warn("refresh target health", "err", err)
	}
}

// healthAppliedLocked is Reload's hook after a successful Apply of groups (the
// names are those of every stored group, c.mu held): when the health
// configuration changed, the cache is rebuilt at once.
func (c *Controller) healthAppliedLocked(names []string, groups []health.Group) {
	if reflect.DeepEqual(groups, c.appliedHealth) && c.hc.validFor(c.dataPlaneEpoch()) {
		return
	}
	if err := c.rebuildHealth(context.Background(), names, true); err != nil {
		c.log.Warn("read target health after a configuration change", "err", err)
		return
	}
	c.appliedHealth = groups
}
