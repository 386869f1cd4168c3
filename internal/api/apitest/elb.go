package apitest

import (
	"context"
	"slices"
	"time"

	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/health"
)

// Reason codes and descriptions the fake gives registered and
// deregistered targets (AWS's).
const (
	reasonRegistering = "Elb.RegistrationInProgress"
	descRegistering   = "Target registration is in progress"
)

func tgNotFound(group string) error {
	return fault.NotFoundf(fault.KindTargetGroup, group, "no target group %q", group).WithHint("see madang tg ls")
}

// hasTargetGroup reports whether a target group exists; f.mu is held.
func (f *Fake) hasTargetGroup(name string) bool {
	return slices.ContainsFunc(f.TargetGroups, func(tg elbctl.TargetGroup) bool { return tg.Spec.Name == name })
}

// Register implements api.LoadBalancing as the controller does: every
// entry is checked first (target group and instance exist, port in
// range), then the new targets join Health in state initial.
func (e fakeELB) Register(_ context.Context, regs []elbctl.Registration) error {
	f := e.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range regs {
		if !f.hasTargetGroup(r.TargetGroup) {
			return tgNotFound(r.TargetGroup)
		}
		if r.Port < 0 || r.Port > 65535 {
			return fault.Invalidf(fault.KindInstance, r.ID, "target %s in target group %s: port %d is not 0 (the instance's port) or 1..65535", r.ID, r.TargetGroup, r.Port)
		}
		if _, ok := f.instances[r.ID]; !ok {
			return fault.NotFoundf(fault.KindInstance, r.ID, "register target %s in target group %s: no instance %s", r.ID, r.TargetGroup, r.ID).WithHint("see madang ps")
		}
	}
	if f.Health == nil {
		f.Health = map[string][]health.TargetHealth{}
	}
	for _, r := range regs {
		hs := f.Health[r.TargetGroup]
		if slices.ContainsFunc(hs, func(h health.TargetHealth) bool { return h.ID == r.ID }) {
			continue
		}
		in := f.instances[r.ID]
		port := r.Port
		if port == 0 {
			port = in.Port
		}
		f.Health[r.TargetGroup] = append(hs, health.TargetHealth{
			ID: r.ID, Addr: hostPort(in.PrivateIP, port), State: health.StateInitial,
			Reason: reasonRegistering, Description: descRegistering, Since: time.Now(),
		})
	}
	f.Events.Info("target-group", regs[0].TargetGroup, "registered %d targets", len(regs))
	return nil
}

// Deregister implements api.LoadBalancing: the targets leave Health at
// once (the fake does not drain).
func (e fakeELB) Deregister(_ context.Context, tg string, ids []string) error {
	f := e.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.hasTargetGroup(tg) {
		return tgNotFound(tg)
	}
	f.Health[tg] = slices.DeleteFunc(f.Health[tg], func(h health.TargetHealth) bool { return slices.Contains(ids, h.ID) })
	f.Events.Info("target-group", tg, "deregistered %d targets", len(ids))
	return nil
}
