package autoscaling

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling/placement"
	"github.com/madang-dev/madang/internal/compute"
)

// A group's capacity in the controller's round: launching toward the
// desired capacity (from the warm pool first), scaling in, and replacing
// one instance at a time past its maximum lifetime or for zone
// rebalancing. The members' own lifecycle steps are in reconcile.go.

// convergeLocked launches or terminates toward the desired capacity and
// keeps the warm pool at its size.
func (s *Service) convergeLocked(ctx context.Context, b *batch, g *Group, c *Capacity, all map[string]compute.Instance, now time.Time) {
	name := g.Spec.Name
	ms := s.membersLocked(name)
	var counted, pool []*Member
	returning := 0 // scaled in, on their way back to the warm pool
	for _, m := range ms {
		switch {
		case terminating(m.Lifecycle) && m.Reuse:
			returning++
		case counts(m):
			counted = append(counted, m)
		case warm(m.Lifecycle) && m.Lifecycle != WarmedTerminating:
			pool = append(pool, m)
		}
	}
	have := len(counted) + s.inflight[name]
	switch {
	case have < c.Desired && !g.suspended(ProcessLaunch):
		need := c.Desired - have
		cause := c.Cause
		add := func(from, to int) string {
			return joinCause(cause, fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.", stamp(now), from, to))
		}
		// The warm pool first: running ones serve at once, and one in
		// the zone a launch would pick keeps the zones balanced.
		placed := placementOf(counted)
		for need > 0 {
			zone := placement.ZoneForLaunch(g.Spec.AvailabilityZones, placed)
			var pick *Member
			for _, w := range pool {
				if s.busy[w.InstanceID] || (w.Lifecycle != WarmedRunning && w.Lifecycle != WarmedStopped) || w.Health != HealthHealthy ||
					s.refreshReplacesLocked(name, w) {
					continue
				}
				if pick == nil || poolRank(w)*2+btoi(w.Zone != zone) < poolRank(pick)*2+btoi(pick.Zone != zone) {
					pick = w
				}
			}
			if pick == nil {
				break
			}
			s.fromWarmPoolLocked(ctx, b, g, pick, add(have, have+1), now)
			placed = append(placed, placementOf([]*Member{pick})...)
			have++
			need--
		}
		pool = slices.DeleteFunc(pool, func(m *Member) bool { return !warm(m.Lifecycle) })
		if need > 0 && !now.Before(s.retryAt[name]) {
			s.launchLocked(ctx, b, g, s.launchVersionLocked(g), need, launchInto{}, add(have, c.Desired), ms, now)
		}
	// An active instance refresh owns scale-in (refresh.go).
	case have > c.Desired && s.inflight[name] == 0 && !g.suspended(ProcessTerminate) && !s.refreshActiveLocked(name):
		// Every counted instance counts for zone balance. When the
		// choice falls on an instance that is busy (registering,
		// starting), the scale-in waits for it rather than take another
		// zone's.
		victims := placement.ChooseForTermination(placementOf(counted), have-c.Desired, g.Spec.TerminationPolicies, s.currentTemplate(g), now)
		if slices.ContainsFunc(victims, func(v placement.Instance) bool { return s.busy[v.ID] }) {
			victims = nil
		}
		if len(victims) == 0 {
			s.scaleInBlockedLocked(b, g, c, counted, have, now)
		}
		reuse := g.Spec.WarmPool != nil && g.Spec.WarmPool.InstanceReusePolicy != nil && g.Spec.WarmPool.InstanceReusePolicy.ReuseOnScaleIn
		for i, v := range victims {
			m := s.members[v.ID]
			cause := joinCause(c.Cause, fmt.Sprintf("At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d.", stamp(now), have-i, have-i-1))
			m.Reuse = reuse
			if reuse {
				returning++
			}
			s.beginTerminateLocked(b, name, m, cause, now)
			s.opts.Events.Info(KindGroup, name, "scaling in: terminating %s (%s) to keep %d", m.InstanceID, m.Zone, c.Desired)
		}
	case have == c.Desired && s.inflight[name] == 0:
		if c.Cause != "" || c.ScaleInBlocked != nil {
			c.Cause, c.ScaleInBlocked = "", nil
			b.put(CapacityPrefix+name, c)
		}
		s.replaceOneLocked(b, g, counted, now)
	}
	s.warmPoolLocked(ctx, b, g, c, pool, returning, now)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// poolRank orders warm instances for scale-out: running before stopped.
func poolRank(m *Member) int {
	if m.Lifecycle == WarmedRunning {
		return 0
	}
	return 1
}

func joinCause(a, b string) string {
	if a == "" {
		return b
	}
	return a + "  " + b
}

// launchInto says where launched instances go: the group's capacity (the
// zero value), its warm pool, or a blue/green deployment's fleet.
type launchInto struct {
	pool  bool
	fleet string
}

// launchLocked launches n instances of the launch template's version
// (a number, $Latest or $Default), balanced over the group's zones.
func (s *Service) launchLocked(ctx context.Context, b *batch, g *Group, version string, n int, into launchInto, cause string, ms []*Member, now time.Time) {
	name := g.Spec.Name
	intoPool := into.pool
	// Zones balance over the instances that stay: terminating ones are
	// leaving, Standby and detaching ones are out of the capacity (as
	// rebalancing counts); the warm pool and a deployment's fleet balance
	// on their own.
	var staying []*Member
	for _, m := range ms {
		if !terminating(m.Lifecycle) && !outOfCapacity(m.Lifecycle) && warm(m.Lifecycle) == intoPool && m.Fleet == into.fleet {
			staying = append(staying, m)
		}
	}
	placed := placementOf(staying)
	perZone := map[string]int{}
	for i := 0; i < n; i++ {
		z := placement.ZoneForLaunch(g.Spec.AvailabilityZones, placed)
		perZone[z]++
		placed = append(placed, placement.Instance{ID: "pending-" + strconv.Itoa(i), Zone: z})
	}
	tags := g.Spec.instanceTags()
	for _, z := range slices.Sorted(maps.Keys(perZone)) {
		k := perZone[z]
		for k > 0 {
			batchN := min(k, 100) // compute launches at most 100 at once
			k -= batchN
			counter := s.inflight
			switch {
			case intoPool:
				counter = s.inflightWarm
			case into.fleet != "":
				counter = s.inflightFleet
			}
			counter[name] += batchN
			req := compute.RunRequest{LaunchTemplate: g.Spec.LaunchTemplate, Version: version, Count: batchN, Group: name,
				Tags: tags, Owner: g.Owner, ManagedBy: ManagedBy, Zone: z, ImageVersion: s.revisionLocked(g),
				Network: g.Spec.networkIn(z)}
			protected := g.Spec.NewInstancesProtectedFromScaleIn && !intoPool
			rev := g.rev
			s.goAsync(func() {
				// The launch template of the group's revision reaches
				// compute through its own informer.
				octx, cancel := context.WithTimeout(ctx, observeWait)
				_ = s.opts.Compute.Observed(octx, rev)
				cancel()
				ins, err := s.opts.Compute.Run(context.WithoutCancel(ctx), req)
				var b batch
				s.mu.Lock()
				counter[name] -= batchN
				now := s.opts.Now()
				if err != nil {
					s.retryAt[name] = now.Add(launchRetry)
					s.recordActivityLocked(&b, name, "Launching a new EC2 instance.  Status Reason: "+err.Error(), cause, StatusFailed, err.Error(), now)
					s.opts.Events.Error(KindGroup, name, "launch %d in %s: %v (retrying in %s)", batchN, z, err, launchRetry)
				}
				for _, in := range ins {
					m := &Member{InstanceID: in.ID, Group: name, Lifecycle: Pending, Health: HealthHealthy, Zone: z,
						LaunchTemplate: in.LaunchTemplate, LaunchTemplateVersion: in.Resolved, ImageVersion: in.ImageVersion, InstanceType: in.InstanceType,
						Protected: protected, LaunchedAt: in.LaunchTime, Since: now, WarmPool: intoPool, Fleet: into.fleet}
					desc := "Launching a new EC2 instance: " + in.ID
					if intoPool {
						m.Lifecycle = WarmedPending
						desc = "Launching a new EC2 instance into warm pool: " + in.ID
					}
					a := s.startActivityLocked(&b, name, in.ID, desc, cause, z, now)
					m.Activity = a.ID
					s.members[in.ID] = m
					b.put(MemberPrefix+in.ID, m)
				}
				s.unlockCommit(ctx, &b)
			})
		}
	}
	if !intoPool && into.fleet == "" {
		s.opts.Events.Info(KindGroup, name, "launching %d instance(s): %s", n, cause)
	}
}

// replaceOneLocked replaces, one at a time and only while every member is
// InService, an instance past the group's maximum instance lifetime
// (terminated first; the shortfall launches its replacement), and
// rebalances zones after the group's zones changed (AZRebalance: one
// instance is launched in the zone that lacks it, then the scale-in back to
// the desired capacity takes one from the fullest zone).
func (s *Service) replaceOneLocked(b *batch, g *Group, counted []*Member, now time.Time) {
	if r := s.refreshes[g.Spec.Name]; r != nil && r.Active() {
		return // the refresh replaces instances
	}
	for _, m := range counted {
		if m.Lifecycle != InService || s.busy[m.InstanceID] {
			return
		}
	}
	name := g.Spec.Name
	if lt := time.Duration(g.Spec.MaxInstanceLifetime) * time.Second; lt > 0 {
		if old := placement.MaxLifetimeExpired(placementOf(counted), lt, now); len(old) > 0 {
			m := s.members[old[0].ID]
			s.beginTerminateLocked(b, name, m, fmt.Sprintf("At %s an instance was taken out of service in response to the instance reaching its maximum instance lifetime of %d seconds.", stamp(now), g.Spec.MaxInstanceLifetime), now)
			return
		}
	}
	if g.suspended(ProcessAZRebalance) {
		return
	}
	launch, out := placement.Rebalance(g.Spec.AvailabilityZones, placementOf(counted), len(counted))
	switch {
	case len(launch) > 0:
		// Launch first: the scale-in that follows takes from the fullest
		// zone (termination policies balance zones first).
		cause := fmt.Sprintf("At %s an instance was started in response to availability zone rebalancing (zones %s).", stamp(now), strings.Join(g.Spec.AvailabilityZones, ", "))
		s.opts.Events.Info(KindGroup, name, "rebalancing zones: launching one in %s", launch[0])
		s.launchLocked(context.Background(), b, g, s.launchVersionLocked(g), 1, launchInto{}, cause, s.membersLocked(name), now)
	case len(out) > 0:
		m := s.members[out[0].ID]
		s.beginTerminateLocked(b, name, m, fmt.Sprintf("At %s an instance was taken out of service in response to availability zone rebalancing (zones %s): it runs in %s.",
			stamp(now), strings.Join(g.Spec.AvailabilityZones, ", "), m.Zone), now)
		s.opts.Events.Info(KindGroup, name, "rebalancing zones: replacing %s (%s)", m.InstanceID, m.Zone)
	}
}

// networkIn is what an instance launched in zone records of its subnet
// (nil: the zone's default subnet).
func (s *GroupSpec) networkIn(zone string) *compute.Placement {
	for _, sn := range s.Subnets {
		if sn.Zone == zone {
			return &compute.Placement{SubnetID: sn.ID, VpcID: sn.Vpc}
		}
	}
	return nil
}
