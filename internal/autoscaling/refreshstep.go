package autoscaling

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/autoscaling/placement"
)

// An instance refresh's step in the controller's round: starting the
// refresh a stack's instanceRefresh asks for, failing (or rolling back)
// on an unhealthy new instance or an alarm, pausing at checkpoints and
// for the bake time, and replacing old members within the healthy
// percentages. The refresh records and the API calls are in refresh.go.

// refreshLocked advances the group's active refresh one step, and starts
// one when the group's spec asks for it (GroupSpec.InstanceRefresh) and
// its launch template version changed.
func (s *Service) refreshLocked(ctx context.Context, b *batch, g *Group, c *Capacity, now time.Time) {
	name := g.Spec.Name
	r := s.refreshes[name]
	if (r == nil || !r.Active()) && g.Spec.InstanceRefresh != nil {
		r = s.autoRefreshLocked(g, r, now)
	}
	if r != nil && r.Active() && r.StartTime.Before(g.CreatedAt) {
		s.endRefreshLocked(r, RefreshCancelled, "the group was deleted", now)
		r.dirty = true
	}
	if r != nil && r.dirty {
		r.dirty = false
		b.put(refreshKey(r), r)
	}
	for _, n := range s.revisionsCleared {
		b.del(RevisionPrefix + n)
	}
	s.revisionsCleared = nil
	if r == nil || !r.Active() || g.suspended(ProcessInstanceRefresh) {
		return
	}
	before, _ := json.Marshal(r)
	s.stepRefreshLocked(ctx, b, g, c, r, now)
	if after, _ := json.Marshal(r); string(after) != string(before) {
		b.put(refreshKey(r), r)
	}
}

// autoRefreshLocked starts the refresh a stack's instanceRefresh asks for
// once members are on another version than the group's, unless the
// group's newest refresh already went to that version.
func (s *Service) autoRefreshLocked(g *Group, last *Refresh, now time.Time) *Refresh {
	name := g.Spec.Name
	ref, img := s.currentVersions(g)
	to := ref.Version
	if to == 0 || s.inflight[name] > 0 || (last != nil && last.ToVersion == to && last.ToImageVersion == img) || s.deploymentActiveLocked(name) {
		return last
	}
	old := slices.ContainsFunc(s.membersLocked(name), func(m *Member) bool {
		return counts(m) && !m.WarmPool && outdated(m, to, img)
	})
	if !old {
		return last
	}
	p := *g.Spec.InstanceRefresh
	if p.SkipMatching == nil {
		t := true
		p.SkipMatching = &t
	}
	if _, err := s.startRefreshLocked(g, p, now); err != nil {
		s.opts.Events.Error(KindGroup, name, "start instance refresh: %v", err)
		return last
	}
	return s.refreshes[name]
}

// stepRefreshLocked is one round of an active refresh.
func (s *Service) stepRefreshLocked(ctx context.Context, b *batch, g *Group, c *Capacity, r *Refresh, now time.Time) {
	name := g.Spec.Name
	if r.Status == RefreshPending {
		r.Status = RefreshInProgress
	}
	if r.Status == RefreshCancelling {
		s.endRefreshLocked(r, RefreshCancelled, "cancelled by a user request", now)
		return
	}
	target := r.target()
	// A new instance that failed its health checks, or an alarm in ALARM.
	for _, m := range s.membersLocked(name) {
		if m.Health == HealthUnhealthy && m.LaunchTemplateVersion == target && !m.LaunchedAt.Before(r.PhaseStart) {
			s.failRefreshLocked(r, fmt.Sprintf("new instance %s failed its health checks: %s", m.InstanceID, m.HealthReason), now)
			return
		}
	}
	if !r.Rollback {
		if a := s.alarmInAlarmLocked(r); a != "" {
			s.failRefreshLocked(r, fmt.Sprintf("alarm %s is in ALARM", a), now)
			return
		}
	}
	// Members of the list that went away, or are on their way out, are
	// replaced once their replacements serve.
	r.Remaining = slices.DeleteFunc(r.Remaining, func(id string) bool {
		m := s.members[id]
		return m == nil || terminating(m.Lifecycle) || !counts(m)
	})
	warmup := secondsOr(r.Preferences.InstanceWarmup, 0)
	// have counts the capacity (members and launches); ready the members
	// InService (the new ones warmed up); notReady the new ones on their
	// way.
	have, ready, notReady, old := s.inflight[name], 0, s.inflight[name], 0
	var cands []*Member
	settling := s.inflight[name] > 0
	for _, m := range s.membersLocked(name) {
		if terminating(m.Lifecycle) {
			settling = true
		}
		if !counts(m) || m.WarmPool {
			continue
		}
		have++
		isOld := slices.Contains(r.Remaining, m.InstanceID)
		ok := m.Lifecycle == InService && (isOld || !now.Before(m.InServiceAt.Add(warmup)))
		switch {
		case ok:
			ready++
		case !isOld:
			notReady++
		}
		if isOld {
			old++
			if !s.busy[m.InstanceID] && !(m.Protected && r.Preferences.ScaleInProtectedInstances == RefreshWait && !r.Rollback) {
				cands = append(cands, m)
			}
		}
	}
	if !r.Rollback {
		if _, failed := s.blockedLocked(b, g, r, cands, now); failed {
			return
		}
	}
	done := max(r.Total-len(r.Remaining)-notReady, 0)
	r.InstancesToUpdate = r.Total - done
	if done != r.Replaced {
		r.Replaced = done
		s.opts.Events.Info(KindGroup, name, "instance refresh %s: %d/%d replaced", r.ID, done, r.Total)
	}
	r.PercentageComplete = 100
	if r.Total > 0 {
		r.PercentageComplete = done * 100 / r.Total
	}
	// Pauses: a checkpoint, or the bake time.
	if now.Before(r.WaitUntil) {
		return
	}
	if !r.WaitUntil.IsZero() {
		r.WaitUntil = time.Time{}
		if r.Status == RefreshBaking {
			s.endRefreshLocked(r, RefreshSuccessful, "", now)
			return
		}
		r.StatusReason = ""
	}
	if cps := r.Preferences.CheckpointPercentages; !r.Rollback && r.Checkpoints < len(cps) && done >= r.checkpointCount(r.Checkpoints) && notReady == 0 {
		cp := cps[r.Checkpoints]
		r.Checkpoints++
		r.StatusReason = fmt.Sprintf("waiting at checkpoint %d%%", cp)
		r.WaitUntil = now.Add(secondsOr(r.Preferences.CheckpointDelay, time.Hour))
		s.opts.Events.Info(KindGroup, name, "instance refresh %s: %s for %s", r.ID, r.StatusReason, secondsOr(r.Preferences.CheckpointDelay, time.Hour))
		return
	}
	if len(r.Remaining) == 0 {
		if notReady > 0 || settling || (len(r.Standby) > 0 && !r.Rollback) {
			return
		}
		if s.lateMembersLocked(r) > 0 || s.refreshWarmPoolLocked(b, g, r, now) > 0 {
			return
		}
		if r.Rollback {
			s.endRefreshLocked(r, RefreshRollbackSuccessful, r.StatusReason, now)
			return
		}
		if bake := secondsOr(r.Preferences.BakeTime, 0); bake > 0 {
			r.Status, r.StatusReason, r.WaitUntil = RefreshBaking, fmt.Sprintf("baking for %s", bake), now.Add(bake)
			return
		}
		s.endRefreshLocked(r, RefreshSuccessful, "", now)
		return
	}
	s.replaceLocked(ctx, b, g, c, r, have, ready, old, cands, now)
}

// replaceLocked launches replacements first (up to MaxHealthyPercentage)
// and terminates old members while at least MinHealthyPercentage stay.
func (s *Service) replaceLocked(ctx context.Context, b *batch, g *Group, c *Capacity, r *Refresh, have, ready, old int, cands []*Member, now time.Time) {
	name, d := g.Spec.Name, c.Desired
	minHealthy := (*r.Preferences.MinHealthyPercentage*d + 99) / 100
	maxCap := max(*r.Preferences.MaxHealthyPercentage*d/100, d)
	if maxCap == d && minHealthy >= d {
		minHealthy = d - 1 // one at a time
	}
	// Replacements start up to the next checkpoint only.
	room := len(r.Remaining)
	if !r.Rollback && r.Checkpoints < len(r.Preferences.CheckpointPercentages) {
		room = r.checkpointCount(r.Checkpoints) - (r.Total - len(r.Remaining))
	}
	// New instances needed: the desired capacity less the members that
	// stay (neither old nor terminating).
	if extra := min(maxCap-have, d-(have-old), room); extra > 0 && !g.suspended(ProcessLaunch) && !now.Before(s.retryAt[name]) {
		cause := fmt.Sprintf("At %s an instance was started in response to an instance refresh, increasing the capacity from %d to %d.", stamp(now), have, have+extra)
		s.launchLocked(ctx, b, g, strconv.Itoa(r.target()), extra, launchInto{}, cause, s.membersLocked(name), now)
		return
	}
	k := min(ready-minHealthy, len(cands), room)
	if k <= 0 || g.suspended(ProcessTerminate) {
		return
	}
	pl := placementOf(cands)
	for i := range pl {
		// The candidates are the ones the refresh may replace: scale-in
		// protection was weighed already (ScaleInProtectedInstances).
		pl[i].Protected = false
	}
	victims := placement.ChooseForTermination(pl, k, g.Spec.TerminationPolicies,
		placement.LaunchTemplateRef{Name: g.Spec.LaunchTemplate, Version: r.target()}, now)
	cause := fmt.Sprintf("At %s an instance was taken out of service in response to an instance refresh.", stamp(now))
	for _, v := range victims {
		m := s.members[v.ID]
		m.Reuse = false
		s.beginTerminateLocked(b, name, m, cause, now)
		r.Remaining = slices.DeleteFunc(r.Remaining, func(id string) bool { return id == m.InstanceID })
	}
	c.Cause = cause
	b.put(CapacityPrefix+name, c)
	s.opts.Events.Info(KindGroup, name, "instance refresh %s: replacing %d instance(s) with launch template version %d, %d/%d replaced",
		r.ID, len(victims), r.target(), r.Replaced, r.Total)
}

// failRefreshLocked rolls the refresh back (AutoRollback) or fails it; a
// failing rollback fails for good.
func (s *Service) failRefreshLocked(r *Refresh, why string, now time.Time) {
	switch {
	case r.Rollback:
		s.endRefreshLocked(r, RefreshRollbackFailed, why, now)
	case r.Preferences.AutoRollback && r.FromVersion != r.ToVersion:
		s.beginRollbackLocked(r, why, now)
	default:
		s.endRefreshLocked(r, RefreshFailed, why, now)
	}
}

// alarmInAlarmLocked returns the first of the refresh's alarms in ALARM.
func (s *Service) alarmInAlarmLocked(r *Refresh) string {
	if len(r.Preferences.AlarmNames) == 0 || s.opts.Alarms == nil {
		return ""
	}
	for _, v := range s.opts.Alarms.Alarms() {
		if v.State.State == alarm.Alarm && slices.Contains(r.Preferences.AlarmNames, v.Name) {
			return v.Name
		}
	}
	return ""
}
