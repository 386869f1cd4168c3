// The goroutines that act for members: launches aside, each marks its
// instance busy so that no round acts on it meanwhile.

package autoscaling

import (
	"context"
	"fmt"
	"slices"
	"time"

	elbctl "github.com/madang-dev/madang/internal/elb/controller"
)

// goAsync runs f in a tracked goroutine and kicks the controller after.
func (s *Service) goAsync(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
		s.Kick()
	}()
}

// settleLocked ends an instance's busy spell; the round under way skips it,
// as its listing of instances may predate the work's end.
func (s *Service) settleLocked(id string) {
	delete(s.busy, id)
	s.settled[id] = true
}

// goBusy runs f for member id in a goroutine, marking it busy meanwhile;
// then, under s.mu, done runs with f's error and its writes are committed.
func (s *Service) goBusy(ctx context.Context, id string, f func(context.Context) error, done func(b *batch, err error, now time.Time)) {
	s.busy[id] = true
	s.goAsync(func() {
		err := f(context.WithoutCancel(ctx))
		var b batch
		s.mu.Lock()
		s.settleLocked(id)
		if _, ok := s.members[id]; ok && !s.closed {
			done(&b, err, s.opts.Now())
		}
		s.unlockCommit(ctx, &b)
	})
}

func (s *Service) goRegister(ctx context.Context, m *Member, tgs []string) {
	id := m.InstanceID
	regs := make([]elbctl.Registration, 0, len(tgs))
	var weight *int
	if m.Fleet == FleetReplacement {
		// A blue/green deployment's replacement is health-checked but
		// takes no traffic until the deployment moves it there.
		weight = new(int)
	}
	for _, tg := range tgs {
		regs = append(regs, elbctl.Registration{TargetGroup: tg, ID: id, RegisteredBy: "autoscaling:" + m.Group, RegisteredAt: s.opts.Now(), Weight: weight})
	}
	rev := int64(0)
	if g := s.groups[m.Group]; g != nil {
		rev = g.rev
	}
	s.goBusy(ctx, id, func(ctx context.Context) error {
		octx, cancel := context.WithTimeout(ctx, observeWait)
		_ = s.opts.LoadBalancing.Observed(octx, rev)
		cancel()
		return s.opts.LoadBalancing.Register(ctx, regs)
	},
		func(b *batch, err error, now time.Time) {
			m := s.members[id]
			if err != nil {
				s.opts.Events.Error(KindGroup, m.Group, "register instance %s in %v: %v", id, tgs, err)
				return
			}
			for _, tg := range tgs {
				if !slices.Contains(m.Registered, tg) {
					m.Registered = append(m.Registered, tg)
				}
			}
			b.put(MemberPrefix+id, m)
		})
}

func (s *Service) goDeregister(ctx context.Context, m *Member) {
	id, tgs := m.InstanceID, slices.Clone(m.Registered)
	s.goBusy(ctx, id, func(ctx context.Context) error {
		for _, tg := range tgs {
			if err := s.opts.LoadBalancing.Deregister(ctx, tg, []string{id}); err != nil {
				return fmt.Errorf("deregister from %s: %w", tg, err)
			}
		}
		return nil
	}, func(b *batch, err error, now time.Time) {
		m := s.members[id]
		if err != nil {
			s.opts.Events.Error(KindGroup, m.Group, "instance %s: %v", id, err)
		}
		m.Draining = append(m.Draining, tgs...)
		m.Registered = nil
		b.put(MemberPrefix+id, m)
	})
}

// goTerminate terminates a member's instance, or stops it into the warm
// pool when it is reused.
func (s *Service) goTerminate(ctx context.Context, m *Member) {
	id, reuse := m.InstanceID, m.Reuse
	s.goBusy(ctx, id, func(ctx context.Context) error {
		if reuse {
			return s.opts.Compute.Stop(ctx, id)
		}
		return s.opts.Compute.Terminate(ctx, id)
	}, func(b *batch, err error, now time.Time) {
		m := s.members[id]
		if err != nil {
			s.opts.Events.Error(KindGroup, m.Group, "terminate instance %s: %v", id, err)
			return // retried on the next round (TerminatingProceed)
		}
		if m.Activity != "" {
			s.finishActivityLocked(b, m.Activity, StatusSuccessful, "", now)
			m.Activity = ""
		}
		if reuse {
			m.Reuse, m.WarmPool, m.HooksDone, m.Health, m.HealthReason = false, true, false, HealthHealthy, ""
			s.setLifecycleLocked(b, m, WarmedStopped, now)
			s.opts.Events.Info(KindGroup, m.Group, "instance %s returned to the warm pool (stopped)", id)
			return
		}
		s.opts.Events.Info(KindGroup, m.Group, "instance %s terminated", id)
		delete(s.members, id)
		b.del(MemberPrefix + id)
	})
}
