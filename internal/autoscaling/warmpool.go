package autoscaling

import (
	"context"
	"fmt"
	"time"
)

// poolSize returns how many instances the group's warm pool keeps for a
// desired capacity: the prepared capacity (MaxGroupPreparedCapacity, by
// default the group's maximum) less the desired capacity, and at least the
// pool's MinSize.
func poolSize(g *Group, c *Capacity) int {
	w := g.Spec.WarmPool
	if w == nil {
		return 0
	}
	prepared := c.Max
	if w.MaxGroupPreparedCapacity != nil && *w.MaxGroupPreparedCapacity >= 0 {
		prepared = *w.MaxGroupPreparedCapacity
	}
	return max(w.MinSize, prepared-c.Desired)
}

// toWarmPoolLocked parks a launched, initialised warm instance: stopped or
// left running, unregistered.
func (s *Service) toWarmPoolLocked(ctx context.Context, b *batch, g *Group, m *Member, now time.Time) {
	finish := func(b *batch, lc string, now time.Time) {
		s.setLifecycleLocked(b, m, lc, now)
		if m.Activity != "" {
			s.finishActivityLocked(b, m.Activity, StatusSuccessful, "", now)
			m.Activity = ""
		}
		b.put(MemberPrefix+m.InstanceID, m)
	}
	if g != nil && g.Spec.WarmPool != nil && g.Spec.WarmPool.PoolState == PoolRunning {
		finish(b, WarmedRunning, now)
		return
	}
	id := m.InstanceID
	s.goBusy(ctx, id, func(ctx context.Context) error { return s.opts.Compute.Stop(ctx, id) },
		func(b *batch, err error, now time.Time) {
			if err != nil {
				s.opts.Events.Error(KindGroup, m.Group, "stop warm instance %s: %v", id, err)
				return
			}
			finish(b, WarmedStopped, now)
		})
}

// fromWarmPoolLocked moves a warm instance into the group: a running one
// goes straight to registration, a stopped one is started first.
func (s *Service) fromWarmPoolLocked(ctx context.Context, b *batch, g *Group, m *Member, cause string, now time.Time) {
	a := s.startActivityLocked(b, g.Spec.Name, m.InstanceID, "Launching a new EC2 instance from warm pool: "+m.InstanceID, cause, m.Zone, now)
	m.Activity, m.WarmPool, m.Protected = a.ID, false, g.Spec.NewInstancesProtectedFromScaleIn
	wasRunning := m.Lifecycle == WarmedRunning
	s.setLifecycleLocked(b, m, Pending, now)
	b.put(MemberPrefix+m.InstanceID, m)
	s.opts.Events.Info(KindGroup, g.Spec.Name, "taking %s from the warm pool (%s)", m.InstanceID, map[bool]string{true: "running", false: "stopped: starting it"}[wasRunning])
	if wasRunning {
		return
	}
	id := m.InstanceID
	s.goBusy(ctx, id, func(ctx context.Context) error { return s.opts.Compute.Start(ctx, id) },
		func(b *batch, err error, now time.Time) {
			if err != nil {
				s.opts.Events.Error(KindGroup, m.Group, "start warm instance %s: %v", id, err)
			}
		})
}

// warmPoolLocked launches warm instances up to the pool's size and
// terminates those beyond it (or all of them when the pool was removed).
// returning counts scaled-in instances on their way back to the pool.
func (s *Service) warmPoolLocked(ctx context.Context, b *batch, g *Group, c *Capacity, pool []*Member, returning int, now time.Time) {
	name := g.Spec.Name
	want := poolSize(g, c)
	have := len(pool) + s.inflightWarm[name] + returning
	switch {
	case have < want && !g.suspended(ProcessLaunch) && !now.Before(s.retryAt[name]):
		s.launchLocked(ctx, b, g, s.launchVersionLocked(g), want-have, launchInto{pool: true},
			fmt.Sprintf("At %s an instance was launched into the warm pool to keep it at %d instances.", stamp(now), want), s.membersLocked(name), now)
	case have > want && s.inflightWarm[name] == 0:
		for i := len(pool) - 1; i >= 0 && have > want; i-- {
			m := pool[i]
			if s.busy[m.InstanceID] {
				continue
			}
			s.beginTerminateLocked(b, name, m, fmt.Sprintf("At %s an instance was taken out of the warm pool to keep it at %d instances.", stamp(now), want), now)
			have--
		}
	}
}
