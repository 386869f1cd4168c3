// Instances moved by hand: Standby (EnterStandby, ExitStandby), scale-in
// protection (SetInstanceProtection), and instances attached to or
// detached from a group (AttachInstances, DetachInstances).

package autoscaling

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling/placement"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fault"
)

// AWS's limits on the instance ids of one call.
const (
	maxMoveIDs    = 20 // EnterStandby, ExitStandby, AttachInstances, DetachInstances
	maxProtectIDs = 50 // SetInstanceProtection
)

// checkIDs refuses an empty, too long or repeating list of instance ids.
func checkIDs(group string, ids []string, limit int) error {
	switch {
	case len(ids) == 0:
		return fault.Invalidf(KindGroup, group, "InstanceIds is empty").WithHint("name at least one instance id (madang asg describe " + group + " lists them)")
	case len(ids) > limit:
		return fault.Invalidf(KindGroup, group, "InstanceIds has %d instances; at most %d are allowed in one call", len(ids), limit).WithHint("split the call")
	}
	for i, id := range ids {
		if slices.Index(ids, id) != i {
			return fault.Invalidf(KindGroup, group, "InstanceIds lists %s twice", id).WithHint("list each instance once")
		}
	}
	return nil
}

// desiredAfter returns the desired capacity after n instances leave
// (delta < 0) or join (delta > 0) the group's capacity, or the error AWS
// gives when it would leave the group's bounds.
func desiredAfter(group string, c *Capacity, delta int, what string) (int, error) {
	d := c.Desired + delta
	switch {
	case d > c.Max:
		return 0, fault.Invalidf(KindGroup, group, "%s would raise the desired capacity from %d to %d, above the group's max size of %d", what, c.Desired, d, c.Max).
			WithHint(fmt.Sprintf("raise maxSize to %d or more, or move fewer instances", d))
	case d < c.Min:
		return 0, fault.Invalidf(KindGroup, group, "%s would lower the desired capacity from %d to %d, below the group's min size of %d", what, c.Desired, d, c.Min).
			WithHint(fmt.Sprintf("lower minSize to %d or less, or leave out ShouldDecrementDesiredCapacity (a replacement is launched)", d))
	}
	return d, nil
}

// memberInLocked returns group's member id, or AWS's error for an
// instance that is not part of the group.
func (s *Service) memberInLocked(group, id string) (*Member, error) {
	m := s.members[id]
	if m == nil || m.Group != group {
		return nil, fault.Invalidf(KindGroup, group, "The instance %s is not part of Auto Scaling group %s.", id, group).
			WithHint("madang asg describe " + group + " lists its instances")
	}
	return m, nil
}

// move runs f, the checks and changes of a move of instances, under s.mu
// (nothing is written when it fails), commits them, and returns the
// activities it started.
func (s *Service) move(ctx context.Context, group string, ids []string, limit int,
	f func(b *batch, g *Group, c *Capacity, now time.Time) ([]*Activity, error)) ([]Activity, error) {
	if err := checkIDs(group, ids, limit); err != nil {
		return nil, err
	}
	var b batch
	s.mu.Lock()
	g := s.groups[group]
	if g == nil {
		s.mu.Unlock()
		return nil, groupMissing(group)
	}
	now := s.opts.Now()
	c := s.capacityLocked(&b, g, now)
	as, err := f(&b, g, c, now)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	out := make([]Activity, 0, len(as))
	for _, a := range as {
		out = append(out, *a)
	}
	s.unlockCommit(ctx, &b)
	s.Kick()
	return out, nil
}

// EnterStandby moves InService instances to Standby: each is deregistered
// from the group's target groups (draining with their deregistration
// delay) and then stays running, outside the group's capacity and health
// checks. With decrement the desired capacity drops by one per instance;
// otherwise the group launches replacements.
func (s *Service) EnterStandby(ctx context.Context, group string, ids []string, decrement bool) ([]Activity, error) {
	return s.move(ctx, group, ids, maxMoveIDs, func(b *batch, g *Group, c *Capacity, now time.Time) ([]*Activity, error) {
		ms, err := s.membersInStateLocked(group, ids, InService, func(id, lc string) error {
			return fault.Invalidf(KindGroup, group, "The instance %s is not in InService (it is %s); only InService instances can be moved to Standby.", id, lc).
				WithHint("wait until it is InService")
		})
		if err != nil {
			return nil, err
		}
		from := c.Desired
		if decrement {
			d, err := desiredAfter(group, c, -len(ids), "moving "+fmt.Sprint(len(ids))+" instance(s) to Standby with ShouldDecrementDesiredCapacity")
			if err != nil {
				return nil, err
			}
			c.Desired = d
			b.put(CapacityPrefix+group, c)
		}
		var out []*Activity
		for i, m := range ms {
			cause := fmt.Sprintf("At %s instance %s was moved to standby in response to a user request.", stamp(now), m.InstanceID)
			if decrement {
				cause = fmt.Sprintf("At %s instance %s was moved to standby in response to a user request, shrinking the capacity from %d to %d.", stamp(now), m.InstanceID, from-i, from-i-1)
			}
			out = append(out, s.beginMoveLocked(b, m, EnteringStandby, "Moving EC2 instance to Standby: "+m.InstanceID, cause, now))
		}
		s.opts.Events.Info(KindGroup, group, "moving %d instance(s) to Standby (desired capacity %d → %d)", len(ms), from, c.Desired)
		return out, nil
	})
}

// ExitStandby returns Standby instances to service: each goes Pending
// (launching hooks, registration in the target groups) and then InService,
// and the desired capacity rises by one per instance, up to the group's
// max size.
func (s *Service) ExitStandby(ctx context.Context, group string, ids []string) ([]Activity, error) {
	return s.move(ctx, group, ids, maxMoveIDs, func(b *batch, g *Group, c *Capacity, now time.Time) ([]*Activity, error) {
		ms, err := s.membersInStateLocked(group, ids, Standby, func(id, lc string) error {
			return fault.Invalidf(KindGroup, group, "The instance %s is not in Standby (it is %s); only Standby instances can be moved out of it.", id, lc).
				WithHint("madang asg standby " + group + " " + id + " moves it to Standby first")
		})
		if err != nil {
			return nil, err
		}
		from := c.Desired
		d, err := desiredAfter(group, c, len(ids), "moving "+fmt.Sprint(len(ids))+" instance(s) out of Standby")
		if err != nil {
			return nil, err
		}
		c.Desired = d
		b.put(CapacityPrefix+group, c)
		var out []*Activity
		for i, m := range ms {
			cause := fmt.Sprintf("At %s instance %s was moved out of standby in response to a user request, increasing the capacity from %d to %d.", stamp(now), m.InstanceID, from+i, from+i+1)
			m.Health, m.HealthReason, m.Hook, m.HooksDone = HealthHealthy, "", nil, false
			out = append(out, s.beginMoveLocked(b, m, Pending, "Moving EC2 instance out of Standby: "+m.InstanceID, cause, now))
		}
		s.opts.Events.Info(KindGroup, group, "moving %d instance(s) out of Standby (desired capacity %d → %d)", len(ms), from, c.Desired)
		return out, nil
	})
}

// beginMoveLocked opens an instance's activity and moves it to lc.
func (s *Service) beginMoveLocked(b *batch, m *Member, lc, description, cause string, now time.Time) *Activity {
	if m.Activity != "" {
		s.finishActivityLocked(b, m.Activity, StatusCancelled, "the instance was moved by a user request", now)
	}
	a := s.startActivityLocked(b, m.Group, m.InstanceID, description, cause, m.Zone, now)
	m.Activity = a.ID
	s.setLifecycleLocked(b, m, lc, now)
	b.put(MemberPrefix+m.InstanceID, m)
	return a
}

// SetInstanceProtection sets or clears the scale-in protection of a
// group's instances: scale-in never chooses a protected instance (health
// check replacement and termination by hand still take it).
func (s *Service) SetInstanceProtection(ctx context.Context, group string, ids []string, protected bool) error {
	_, err := s.move(ctx, group, ids, maxProtectIDs, func(b *batch, g *Group, c *Capacity, now time.Time) ([]*Activity, error) {
		var ms []*Member
		for _, id := range ids {
			m, err := s.memberInLocked(group, id)
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		}
		for _, m := range ms {
			if m.Protected != protected {
				m.Protected = protected
				b.put(MemberPrefix+m.InstanceID, m)
			}
		}
		if !protected && c.ScaleInBlocked != nil {
			c.ScaleInBlocked = nil
			b.put(CapacityPrefix+group, c)
		}
		s.opts.Events.Info(KindGroup, group, "scale-in protection %v on %v", protected, ids)
		return nil, nil
	})
	return err
}

// AttachInstances takes running instances into the group: the desired
// capacity rises by one per instance (up to max size), and each goes
// Pending → InService as a launched one does (registered in the group's
// target groups). An instance must run in one of the group's zones; one
// launched without a zone takes the zone that keeps the group balanced.
func (s *Service) AttachInstances(ctx context.Context, group string, ids []string) ([]Activity, error) {
	byID := map[string]compute.Instance{}
	for _, in := range s.opts.Compute.AllInstances() {
		byID[in.ID] = in
	}
	return s.move(ctx, group, ids, maxMoveIDs, func(b *batch, g *Group, c *Capacity, now time.Time) ([]*Activity, error) {
		for _, id := range ids {
			if err := s.attachableLocked(g, byID[id], id); err != nil {
				return nil, err
			}
		}
		from := c.Desired
		d, err := desiredAfter(group, c, len(ids), "attaching "+fmt.Sprint(len(ids))+" instance(s)")
		if err != nil {
			return nil, err
		}
		c.Desired = d
		c.Detached = slices.DeleteFunc(c.Detached, func(id string) bool { return slices.Contains(ids, id) })
		b.put(CapacityPrefix+group, c)
		var out []*Activity
		var staying []*Member
		for _, m := range s.membersLocked(group) {
			if counts(m) {
				staying = append(staying, m)
			}
		}
		placed := placementOf(staying)
		for i, id := range ids {
			in := byID[id]
			if in.Zone == "" {
				// Zones are labels: an instance launched without one
				// takes the zone a launch would.
				in.Zone = placement.ZoneForLaunch(g.Spec.AvailabilityZones, placed)
			}
			placed = append(placed, placement.Instance{ID: id, Zone: in.Zone})
			m := &Member{InstanceID: id, Group: group, Lifecycle: Pending, Health: HealthHealthy, Zone: in.Zone,
				LaunchTemplate: in.LaunchTemplate, LaunchTemplateVersion: in.Resolved, ImageVersion: in.ImageVersion, InstanceType: in.InstanceType,
				Protected: g.Spec.NewInstancesProtectedFromScaleIn, LaunchedAt: in.LaunchTime, Since: now}
			a := s.startActivityLocked(b, group, id, "Attaching an existing EC2 instance: "+id,
				fmt.Sprintf("At %s an instance was added in response to a user request, increasing the capacity from %d to %d.", stamp(now), from+i, from+i+1), in.Zone, now)
			m.Activity = a.ID
			s.members[id] = m
			b.put(MemberPrefix+id, m)
			out = append(out, a)
		}
		s.opts.Events.Info(KindGroup, group, "attached %v (desired capacity %d → %d)", ids, from, c.Desired)
		return out, nil
	})
}

// attachableLocked refuses an instance AttachInstances cannot take.
func (s *Service) attachableLocked(g *Group, in compute.Instance, id string) error {
	group := g.Spec.Name
	switch {
	case in.ID == "" || in.Desired == compute.StateTerminated:
		return fault.Invalidf(KindGroup, group, "Instance %s does not exist or is terminated", id).WithHint("madang ps lists the instances")
	case s.members[id] != nil:
		return fault.Invalidf(KindGroup, group, "The instance %s is already part of Auto Scaling group %s.", id, s.members[id].Group).
			WithHint("detach it from that group first")
	case in.Group != "" && in.ManagedBy == "":
		return fault.Invalidf(KindGroup, group, "The instance %s belongs to instance group %s, which keeps it", id, in.Group).
			WithHint("attach an instance launched on its own (RunInstances, madang run)")
	case in.State != compute.StateRunning || in.Desired != compute.StateRunning:
		return fault.Invalidf(KindGroup, group, "The instance %s is not in a running state (it is %s); only running instances can be attached.", id, in.State).
			WithHint("start it first")
	case in.Zone != "" && !slices.Contains(g.Spec.AvailabilityZones, in.Zone):
		return fault.Invalidf(KindGroup, group, "The instance %s is in availability zone %q, which is not one of the group's zones %v", id, in.Zone, g.Spec.AvailabilityZones).
			WithHint("add the zone to the group's availabilityZones, or attach an instance of one of them")
	}
	return nil
}

// DetachInstances takes instances out of the group: each is deregistered
// from the group's target groups (draining with their deregistration
// delay) and left running outside it. With decrement the desired capacity
// drops by one per instance; otherwise the group launches replacements.
func (s *Service) DetachInstances(ctx context.Context, group string, ids []string, decrement bool) ([]Activity, error) {
	return s.move(ctx, group, ids, maxMoveIDs, func(b *batch, g *Group, c *Capacity, now time.Time) ([]*Activity, error) {
		var ms []*Member
		leaving := 0 // members that count in the capacity
		for _, id := range ids {
			m, err := s.memberInLocked(group, id)
			if err != nil {
				return nil, err
			}
			switch m.Lifecycle {
			case InService, Standby:
			default:
				return nil, fault.Invalidf(KindGroup, group, "The instance %s is %s; only InService and Standby instances can be detached.", id, m.Lifecycle).
					WithHint("wait until it is InService")
			}
			if m.Lifecycle == InService {
				leaving++
			}
			ms = append(ms, m)
		}
		from := c.Desired
		if decrement && leaving > 0 {
			d, err := desiredAfter(group, c, -leaving, "detaching "+fmt.Sprint(leaving)+" instance(s) with ShouldDecrementDesiredCapacity")
			if err != nil {
				return nil, err
			}
			c.Desired = d
			b.put(CapacityPrefix+group, c)
		}
		var out []*Activity
		n := from
		for _, m := range ms {
			cause := fmt.Sprintf("At %s instance %s was detached in response to a user request.", stamp(now), m.InstanceID)
			if decrement && m.Lifecycle == InService {
				cause = fmt.Sprintf("At %s instance %s was detached in response to a user request, shrinking the capacity from %d to %d.", stamp(now), m.InstanceID, n, n-1)
				n--
			}
			out = append(out, s.beginMoveLocked(b, m, Detaching, "Detaching EC2 instance: "+m.InstanceID, cause, now))
		}
		s.opts.Events.Info(KindGroup, group, "detaching %v (desired capacity %d → %d)", ids, from, c.Desired)
		return out, nil
	})
}

// leaveStepLocked moves a member entering Standby or detaching: it is
// deregistered and drained, then is Standby or leaves the group.
func (s *Service) leaveStepLocked(ctx context.Context, b *batch, m *Member, now time.Time) {
	lb := s.opts.LoadBalancing
	if len(m.Registered) > 0 && lb != nil {
		s.updateActivityLocked(b, m.Activity, StatusWaitingForELBDraining, 50)
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
	m.Draining, m.Registered = nil, nil
	if m.Activity != "" {
		s.finishActivityLocked(b, m.Activity, StatusSuccessful, "", now)
		m.Activity = ""
	}
	if m.Lifecycle == EnteringStandby {
		s.setLifecycleLocked(b, m, Standby, now)
		b.put(MemberPrefix+m.InstanceID, m)
		s.opts.Events.Info(KindGroup, m.Group, "instance %s is in Standby", m.InstanceID)
		return
	}
	if c := s.capacity[m.Group]; c != nil && !slices.Contains(c.Detached, m.InstanceID) {
		c.Detached = append(c.Detached, m.InstanceID)
		b.put(CapacityPrefix+m.Group, c)
	}
	delete(s.members, m.InstanceID)
	b.del(MemberPrefix + m.InstanceID)
	s.opts.Events.Info(KindGroup, m.Group, "instance %s detached; it keeps running outside the group", m.InstanceID)
}

// outOfCapacity reports whether a lifecycle state is one a user took out
// of the group's capacity (Standby, or on the way to it or out of the
// group).
func outOfCapacity(lc string) bool {
	return lc == EnteringStandby || lc == Standby || lc == Detaching
}

// scaleInBlockedLocked records, once per desired capacity, a scale-in that
// cannot happen because every instance is protected from scale-in.
func (s *Service) scaleInBlockedLocked(b *batch, g *Group, c *Capacity, counted []*Member, have int, now time.Time) {
	if !allProtected(counted) || (c.ScaleInBlocked != nil && *c.ScaleInBlocked == c.Desired) {
		return
	}
	d := c.Desired
	c.ScaleInBlocked = &d
	b.put(CapacityPrefix+g.Spec.Name, c)
	cause := joinCause(c.Cause, fmt.Sprintf("At %s an instance was to be taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d.", stamp(now), have, c.Desired))
	s.recordActivityLocked(b, g.Spec.Name, "Terminating EC2 instance", cause, StatusFailed, scaleInProtectedMessage, now)
	s.opts.Events.Warn(KindGroup, g.Spec.Name, "cannot scale in to %d: all %d instance(s) are protected from scale-in", c.Desired, len(counted))
}

// scaleInProtectedMessage is the status message of a scale-in that found
// every instance protected, as AWS words it.
const scaleInProtectedMessage = "Could not scale to desired capacity because all remaining instances are protected from scale-in."

// allProtected reports whether there are instances and every one is
// protected from scale-in (by the user: one being deployed to is only
// kept for the deployment).
func allProtected(ms []*Member) bool {
	for _, m := range ms {
		if !m.Protected {
			return false
		}
	}
	return len(ms) > 0
}

// membersInStateLocked returns the group's members ids, all in lifecycle
// state lc, or the first error: not a member, or refused(id, its state).
func (s *Service) membersInStateLocked(group string, ids []string, lc string, refused func(id, lc string) error) ([]*Member, error) {
	ms := make([]*Member, 0, len(ids))
	for _, id := range ids {
		m, err := s.memberInLocked(group, id)
		if err != nil {
			return nil, err
		}
		if m.Lifecycle != lc {
			return nil, refused(id, m.Lifecycle)
		}
		ms = append(ms, m)
	}
	return ms, nil
}
