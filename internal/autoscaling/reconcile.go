package autoscaling

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling/placement"
	"github.com/madang-dev/madang/internal/compute"
)

// stamp formats a time as activity causes do.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// observeWait bounds the wait for another controller to see a group's
// revision before acting on it.
const observeWait = 5 * time.Second

// launchRetry is how long a group waits after a failed launch before it
// tries again.
const launchRetry = 10 * time.Second

// reconcile converges one group: members advance through their lifecycle,
// the group launches or terminates to its desired capacity, and its warm
// pool is kept at size. Slow work (launch, start, stop, terminate,
// register, deregister, hook commands) runs in goroutines that mark the
// instance busy and kick the controller when done.
func (s *Service) reconcile(ctx context.Context, name string, now time.Time, all map[string]compute.Instance) {
	var b batch
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	g := s.groups[name]
	ms := s.membersLocked(name)
	if g == nil {
		delete(s.published, name)
		for _, m := range ms {
			if !terminating(m.Lifecycle) && !s.busy[m.InstanceID] {
				s.beginTerminateLocked(&b, name, m, fmt.Sprintf("At %s an instance was taken out of service in response to a user request deleting the group %s.", stamp(now), name), now)
			}
			s.advanceLocked(ctx, &b, nil, m, all[m.InstanceID], now)
		}
		if len(s.membersLocked(name)) == 0 && s.capacity[name] != nil && s.inflight[name] == 0 && s.inflightWarm[name] == 0 && s.inflightFleet[name] == 0 {
			delete(s.capacity, name)
			b.del(CapacityPrefix + name)
		}
		s.unlockCommit(ctx, &b)
		return
	}
	c := s.capacityLocked(&b, g, now)
	if s.inflight[name] == 0 && s.inflightWarm[name] == 0 && s.inflightFleet[name] == 0 {
		// Launches in flight have instance records but no members yet.
		s.adoptLocked(&b, g, all, now)
		ms = s.membersLocked(name)
	}
	s.freshenLocked(ms, all)
	for _, m := range ms {
		s.advanceLocked(ctx, &b, g, m, all[m.InstanceID], now)
	}
	// Attached instances get the group's tags, detached ones lose its tag.
	s.tagsLocked(ctx, g, c, s.membersLocked(name), all)
	s.refreshLocked(ctx, &b, g, c, now) // instance refresh (refreshstep.go)
	s.deploymentLocked(ctx, &b, g, now) // in-place deployment (deploystep.go)
	s.convergeLocked(ctx, &b, g, c, all, now)
	data := s.publishLocked(g, c, now) // group metrics (groupmetrics.go)
	s.unlockCommit(ctx, &b)
	if len(data) > 0 {
		if err := s.opts.Metrics.Put(data); err != nil {
			s.log.Warn("publish Auto Scaling group metrics", "group", name, "err", err)
		}
	}
}

// freshenLocked adds to all the instances of members launched after the
// round listed compute's instances: without them such a member would look
// terminated outside the group.
func (s *Service) freshenLocked(ms []*Member, all map[string]compute.Instance) {
	for _, m := range ms {
		if _, ok := all[m.InstanceID]; !ok {
			for _, in := range s.opts.Compute.AllInstances() {
				if s.members[in.ID] != nil && all[in.ID].ID == "" {
					all[in.ID] = in
				}
			}
			return
		}
	}
}

// membersLocked returns a group's members, oldest first.
func (s *Service) membersLocked(group string) []*Member {
	var out []*Member
	for _, m := range s.members {
		if m.Group == group {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LaunchedAt.Equal(out[j].LaunchedAt) {
			return out[i].LaunchedAt.Before(out[j].LaunchedAt)
		}
		return out[i].InstanceID < out[j].InstanceID
	})
	return out
}

func terminating(lc string) bool {
	switch lc {
	case Terminating, TerminatingWait, TerminatingProceed, WarmedTerminating:
		return true
	}
	return false
}

func warm(lc string) bool {
	switch lc {
	case WarmedPending, WarmedPendingWait, WarmedPendingProc, WarmedStopped, WarmedRunning:
		return true
	}
	return false
}

// counts reports whether a member is part of the group's capacity.
func counts(m *Member) bool {
	if m.Fleet != "" {
		return false
	}
	switch m.Lifecycle {
	case Pending, PendingWait, PendingProceed, InService, Deploying:
		return m.Health == HealthHealthy
	}
	return false
}

// capacityLocked returns the group's runtime sizes, creating them from the
// spec or following an apply that changed the spec's sizes.
func (s *Service) capacityLocked(b *batch, g *Group, now time.Time) *Capacity {
	name, sp := g.Spec.Name, g.Spec
	lo, hi := deref(sp.MinSize), deref(sp.MaxSize)
	c := s.capacity[name]
	if c == nil {
		d := lo
		if sp.DesiredCapacity != nil {
			d = *sp.DesiredCapacity
		}
		c = &Capacity{Min: lo, Max: hi, Desired: d, SpecMin: lo, SpecMax: hi, SpecDesired: sp.DesiredCapacity}
		followMetricsSpec(c, sp.MetricsCollection)
		if d > 0 {
			c.Cause = fmt.Sprintf("At %s a user request created an AutoScalingGroup changing the desired capacity from 0 to %d.", stamp(now), d)
		}
		s.capacity[name] = c
		b.put(CapacityPrefix+name, c)
		return c
	}
	changed, from := false, c.Desired
	if followMetricsSpec(c, sp.MetricsCollection) {
		b.put(CapacityPrefix+name, c)
	}
	if c.SpecMin != lo {
		c.Min, c.SpecMin, changed = lo, lo, true
	}
	if c.SpecMax != hi {
		c.Max, c.SpecMax, changed = hi, hi, true
	}
	if !equalInt(c.SpecDesired, sp.DesiredCapacity) {
		c.SpecDesired, changed = sp.DesiredCapacity, true
		if sp.DesiredCapacity != nil {
			c.Desired = *sp.DesiredCapacity
		}
	}
	if !changed {
		return c
	}
	c.Desired = min(max(c.Desired, c.Min), c.Max)
	if c.Desired != from {
		c.Cause = fmt.Sprintf("At %s a user request update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d changing the desired capacity from %d to %d.",
			stamp(now), c.Min, c.Max, c.Desired, from, c.Desired)
		s.opts.Events.Info(KindGroup, name, "desired capacity %d → %d (the stack changed: min %d, max %d)", from, c.Desired, c.Min, c.Max)
	}
	b.put(CapacityPrefix+name, c)
	return c
}

func equalInt(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// adoptLocked takes in instances of the group that have no member record:
// launched just before a daemon crash.
func (s *Service) adoptLocked(b *batch, g *Group, all map[string]compute.Instance, now time.Time) {
	c := s.capacity[g.Spec.Name]
	if c != nil && len(c.Detached) > 0 {
		// Detached instances are not adopted again; forget those gone.
		kept := slices.DeleteFunc(slices.Clone(c.Detached), func(id string) bool {
			in, ok := all[id]
			return !ok || in.Desired == compute.StateTerminated
		})
		if len(kept) != len(c.Detached) {
			c.Detached = kept
			b.put(CapacityPrefix+g.Spec.Name, c)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(all)) {
		in := all[id]
		if in.ManagedBy != ManagedBy || in.Group != g.Spec.Name || in.Desired == compute.StateTerminated || s.members[id] != nil ||
			(c != nil && slices.Contains(c.Detached, id)) {
			continue
		}
		m := &Member{InstanceID: id, Group: g.Spec.Name, Lifecycle: Pending, Health: HealthHealthy, Zone: in.Zone,
			LaunchTemplate: in.LaunchTemplate, LaunchTemplateVersion: in.Resolved, ImageVersion: in.ImageVersion, InstanceType: in.InstanceType,
			Protected: g.Spec.NewInstancesProtectedFromScaleIn, LaunchedAt: in.LaunchTime, Since: now}
		a := s.startActivityLocked(b, g.Spec.Name, id, "Launching a new EC2 instance: "+id,
			fmt.Sprintf("At %s an instance launched before the controller stopped was taken into the group.", stamp(now)), in.Zone, now)
		m.Activity = a.ID
		s.members[id] = m
		b.put(MemberPrefix+id, m)
	}
}

// setLifecycleLocked moves a member to a lifecycle state.
func (s *Service) setLifecycleLocked(b *batch, m *Member, lc string, now time.Time) {
	if m.Lifecycle == lc {
		return
	}
	s.log.Debug("lifecycle", "instance", m.InstanceID, "from", m.Lifecycle, "to", lc)
	m.Lifecycle, m.Since = lc, now
	b.put(MemberPrefix+m.InstanceID, m)
}

// failed reports why an instance's EC2 status check fails ("" when it
// passes): its process errored beyond its restart policy, or it was
// stopped or terminated.
func failed(in compute.Instance) string {
	switch {
	case in.ID == "":
		return "the instance no longer exists"
	case in.Detail == "errored":
		return "its process errored: " + orDefault(in.StateReason, "exited too often")
	case in.State == compute.StateStopped || in.State == compute.StateStopping || in.Desired == compute.StateStopped:
		return "it was stopped"
	case in.State == compute.StateTerminated || in.State == compute.StateShuttingDown || in.Desired == compute.StateTerminated:
		return "it has been terminated"
	}
	return ""
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// advanceLocked moves one member along its lifecycle. g is nil for a
// member of a deleted group.
func (s *Service) advanceLocked(ctx context.Context, b *batch, g *Group, m *Member, in compute.Instance, now time.Time) {
	id := m.InstanceID
	if s.busy[id] || s.settled[id] {
		return
	}
	gone := in.ID == "" || in.Desired == compute.StateTerminated
	if gone && !terminating(m.Lifecycle) && m.Lifecycle != WarmedTerminating {
		// Terminated outside the group (by hand, or by an alarm action).
		if m.Activity != "" {
			s.finishActivityLocked(b, m.Activity, StatusCancelled, "the instance was terminated outside the group", now)
		}
		a := s.startActivityLocked(b, m.Group, id, "Terminating EC2 instance: "+id,
			fmt.Sprintf("At %s an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.", stamp(now)), m.Zone, now)
		s.finishActivityLocked(b, a.ID, StatusSuccessful, "", now)
		s.opts.Events.Warn(KindGroup, m.Group, "instance %s was terminated outside the group; it is replaced", id)
		s.forgetLocked(ctx, b, m)
		return
	}
	switch m.Lifecycle {
	case Pending, WarmedPending:
		if why := failed(in); why != "" && in.State != compute.StatePending {
			s.unhealthyLocked(b, g, m, "EC2 instance status checks: "+why, now)
			return
		}
		if in.State != compute.StateRunning {
			return
		}
		if g != nil {
			if hooks := hookNames(g, TransitionLaunching); len(hooks) > 0 {
				s.enterHookLocked(b, g, m, hooks, now)
				return
			}
		}
		if m.Lifecycle == WarmedPending {
			s.setLifecycleLocked(b, m, WarmedPendingProc, now)
		} else {
			s.setLifecycleLocked(b, m, PendingProceed, now)
		}
		s.advanceLocked(ctx, b, g, m, in, now)
	case PendingWait, WarmedPendingWait, TerminatingWait:
		s.hookLocked(ctx, b, g, m, in, now)
	case PendingProceed:
		s.proceedLocked(ctx, b, g, m, in, now)
	case WarmedPendingProc:
		s.toWarmPoolLocked(ctx, b, g, m, now)
	case InService:
		if g == nil || g.suspended(ProcessHealthCheck) || m.Fleet != "" {
			return // a blue/green deployment watches its fleets
		}
		if why := s.healthLocked(g, m, in, now); why != "" {
			s.unhealthyLocked(b, g, m, why, now)
		}
	case EnteringStandby, Detaching:
		s.leaveStepLocked(ctx, b, m, now) // instances.go
	case Terminating, WarmedTerminating:
		s.terminateStepLocked(ctx, b, g, m, now)
	case TerminatingProceed:
		s.goTerminate(ctx, m)
	}
}

// healthLocked returns why an InService member is unhealthy, or "".
func (s *Service) healthLocked(g *Group, m *Member, in compute.Instance, now time.Time) string {
	if why := failed(in); why != "" {
		return "EC2 instance status checks: " + why
	}
	if g.Spec.HealthCheckType != HealthCheckELB || s.opts.LoadBalancing == nil {
		return ""
	}
	if now.Sub(m.LaunchedAt) < secondsOr(g.Spec.HealthCheckGracePeriod, 0) {
		return ""
	}
	for _, tg := range m.Registered {
		if st, ok := s.opts.LoadBalancing.TargetState(tg, m.InstanceID); ok && st == "unhealthy" {
			return "ELB system health check failure in target group " + tg
		}
	}
	return ""
}

// unhealthyLocked marks a member Unhealthy and, unless ReplaceUnhealthy is
// suspended, starts its termination; the capacity shortfall launches its
// replacement.
func (s *Service) unhealthyLocked(b *batch, g *Group, m *Member, why string, now time.Time) {
	if m.Health != HealthUnhealthy {
		m.Health, m.HealthReason = HealthUnhealthy, why
		b.put(MemberPrefix+m.InstanceID, m)
		s.opts.Events.Warn(KindGroup, m.Group, "instance %s is unhealthy: %s", m.InstanceID, why)
	}
	if g != nil && g.suspended(ProcessReplaceUnhealthy) && m.Lifecycle == InService {
		return
	}
	if m.Lifecycle != InService && !warm(m.Lifecycle) {
		// A launch that failed: the next one waits, so a broken launch
		// template or hook does not launch in a loop.
		s.retryAt[m.Group] = now.Add(launchRetry)
	}
	cause := fmt.Sprintf("At %s an instance was taken out of service in response to a health check: %s.", stamp(now), why)
	if m.Activity != "" {
		s.finishActivityLocked(b, m.Activity, StatusFailed, why, now)
		m.Activity = ""
	}
	s.beginTerminateLocked(b, m.Group, m, cause, now)
}

// proceedLocked registers a launched member in the group's target groups
// and puts it InService once it is healthy in all of them.
func (s *Service) proceedLocked(ctx context.Context, b *batch, g *Group, m *Member, in compute.Instance, now time.Time) {
	if why := failed(in); why != "" {
		s.unhealthyLocked(b, g, m, "EC2 instance status checks: "+why, now)
		return
	}
	if g == nil {
		return
	}
	lb := s.opts.LoadBalancing
	if lb != nil && !g.suspended(ProcessAddToLoadBalancer) {
		var missing []string
		for _, tg := range g.Spec.TargetGroups {
			if !slices.Contains(m.Registered, tg) {
				missing = append(missing, tg)
			}
		}
		if len(missing) > 0 {
			s.updateActivityLocked(b, m.Activity, StatusPreInService, 50)
			s.goRegister(ctx, m, missing)
			return
		}
		for _, tg := range m.Registered {
			st, _ := lb.TargetState(tg, m.InstanceID)
			switch {
			case st == "healthy":
				continue
			case st == "unhealthy" && now.Sub(m.LaunchedAt) >= secondsOr(g.Spec.HealthCheckGracePeriod, 0):
				s.unhealthyLocked(b, g, m, "ELB system health check failure in target group "+tg, now)
				return
			}
			s.updateActivityLocked(b, m.Activity, StatusPreInService, 75)
			return
		}
	}
	m.InServiceAt = now
	s.setLifecycleLocked(b, m, InService, now)
	if m.Activity != "" {
		s.finishActivityLocked(b, m.Activity, StatusSuccessful, "", now)
		m.Activity = ""
	}
	s.opts.Events.Info(KindGroup, m.Group, "instance %s is InService (%s, launched %s ago)", m.InstanceID, m.Zone, now.Sub(m.LaunchedAt).Round(time.Millisecond))
}

// beginTerminateLocked starts taking a member out of the group.
func (s *Service) beginTerminateLocked(b *batch, group string, m *Member, cause string, now time.Time) {
	if m.Activity != "" {
		s.finishActivityLocked(b, m.Activity, StatusCancelled, "the instance is being terminated", now)
	}
	a := s.startActivityLocked(b, group, m.InstanceID, "Terminating EC2 instance: "+m.InstanceID, cause, m.Zone, now)
	m.Activity = a.ID
	if warm(m.Lifecycle) {
		s.setLifecycleLocked(b, m, WarmedTerminating, now)
	} else {
		s.setLifecycleLocked(b, m, Terminating, now)
	}
	b.put(MemberPrefix+m.InstanceID, m)
}

// terminateStepLocked deregisters a terminating member, waits for its
// draining to end and its terminating hooks, then stops or terminates it.
func (s *Service) terminateStepLocked(ctx context.Context, b *batch, g *Group, m *Member, now time.Time) {
	lb := s.opts.LoadBalancing
	if len(m.Registered) > 0 && lb != nil {
		s.updateActivityLocked(b, m.Activity, StatusWaitingForELBDraining, 25)
		s.goDeregister(ctx, m)
		return
	}
	if lb != nil {
		for _, tg := range m.Draining {
			if _, ok := lb.TargetState(tg, m.InstanceID); ok {
				return
			}
		}
	}
	if len(m.Draining) > 0 {
		m.Draining = nil
		b.put(MemberPrefix+m.InstanceID, m)
	}
	if g != nil && m.Lifecycle == Terminating && !m.HooksDone {
		if hooks := hookNames(g, TransitionTerminating); len(hooks) > 0 {
			s.enterHookLocked(b, g, m, hooks, now)
			return
		}
	}
	s.setLifecycleLocked(b, m, TerminatingProceed, now)
	s.updateActivityLocked(b, m.Activity, StatusInProgress, 75)
	s.goTerminate(ctx, m)
}

// forgetLocked drops a member whose instance is gone.
func (s *Service) forgetLocked(ctx context.Context, b *batch, m *Member) {
	delete(s.members, m.InstanceID)
	b.del(MemberPrefix + m.InstanceID)
	if len(m.Registered) > 0 && s.opts.LoadBalancing != nil {
		regs := slices.Clone(m.Registered)
		id := m.InstanceID
		s.goAsync(func() {
			for _, tg := range regs {
				_ = s.opts.LoadBalancing.Deregister(context.WithoutCancel(ctx), tg, []string{id})
			}
		})
	}
}

// suspended reports whether a process is suspended for the group.
func (g *Group) suspended(p string) bool { return slices.Contains(g.Spec.SuspendedProcesses, p) }

// placementOf describes members for package placement.
func placementOf(ms []*Member) []placement.Instance {
	out := make([]placement.Instance, 0, len(ms))
	for _, m := range ms {
		out = append(out, placement.Instance{ID: m.InstanceID, Zone: m.Zone, LaunchTime: m.LaunchedAt,
			LaunchTemplate: m.LaunchTemplate, LaunchTemplateVersion: m.LaunchTemplateVersion, InstanceType: m.InstanceType,
			Protected: m.Protected || m.Lifecycle == Deploying}) // scale-in never takes one being deployed to
	}
	return out
}

// currentTemplate resolves the group's launch template version.
func (s *Service) currentTemplate(g *Group) placement.LaunchTemplateRef {
	ref, _ := s.currentVersions(g)
	return ref
}

// currentVersions resolves, in one look at the launch templates, the
// group's launch template version and the version of the image it
// launches (0 when unresolved): new launches run it, so members on another
// one are outdated.
func (s *Service) currentVersions(g *Group) (ref placement.LaunchTemplateRef, image int) {
	ref.Name = g.Spec.LaunchTemplate
	for _, lt := range s.opts.Compute.LaunchTemplates() {
		if lt.Name != g.Spec.LaunchTemplate {
			continue
		}
		if v, ok := lt.Version(g.Spec.Version); ok {
			ref.Version = v.Number
			if im, ok := s.opts.Compute.Image(v.Data.Image); ok {
				image = im.Current().Number
				if r := s.revisions[g.Spec.Name]; r != nil && r.Image == v.Data.Image {
					image = r.ImageVersion // pinned by an in-place deployment
				}
			}
		}
	}
	return ref, image
}

// outdated reports whether a member runs another launch template version
// than lt or another image version than img (0: unknown, not compared).
func outdated(m *Member, lt, img int) bool {
	return m.LaunchTemplateVersion != lt || (img > 0 && m.ImageVersion > 0 && m.ImageVersion != img)
}
