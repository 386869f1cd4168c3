package autoscaling

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The warm pool's part of an instance refresh.
//
// A refresh replaces the group's instances first. Then, as AWS does, it
// replaces the warm pool's: its instances on another version than the
// refresh's are terminated and the pool refills (warmPoolLocked launches
// the group's launch version, which during a rollback is the refresh's
// old one). The refresh ends only when the pool holds the new version, so
// a scale-out after a Successful refresh never serves the old one. While
// it runs, capacity is not taken from pool instances it will replace.

// refreshImage is the image version a refresh phase rolls out: the
// refresh's, or none during a rollback (a rollback returns to the launch
// template's old version, not to an older image).
func refreshImage(r *Refresh) int {
	if r.Rollback {
		return 0
	}
	return r.ToImageVersion
}

// refreshReplacesLocked reports whether the group's active refresh will
// replace warm pool instance m: capacity is then not taken from it (a new
// instance of the refresh's version is launched instead), so the refresh
// does not put old instances into service only to replace them again.
func (s *Service) refreshReplacesLocked(group string, m *Member) bool {
	r := s.refreshes[group]
	return r != nil && r.Active() && m.LaunchedAt.Before(r.PhaseStart) && outdated(m, r.target(), refreshImage(r))
}

// lateMembersLocked adds to the refresh the members that joined the
// group's capacity on another version while it ran — taken from the
// warm pool before the pool was replaced — and returns how many it added.
func (s *Service) lateMembersLocked(r *Refresh) int {
	target, img := r.target(), refreshImage(r)
	skip := r.Preferences.SkipMatching == nil || *r.Preferences.SkipMatching
	n := 0
	for _, m := range s.membersLocked(r.Group) {
		if !counts(m) || m.WarmPool || terminating(m.Lifecycle) || m.Fleet != "" || !m.LaunchedAt.Before(r.PhaseStart) ||
			slices.Contains(r.Remaining, m.InstanceID) {
			continue
		}
		if m.Protected && r.Preferences.ScaleInProtectedInstances == RefreshIgnore {
			continue
		}
		if outdated(m, target, img) || (!skip && !r.Rollback && m.LaunchTemplateVersion != target) {
			r.Remaining = append(r.Remaining, m.InstanceID)
			r.Total++
			n++
		}
	}
	if n > 0 {
		r.InstancesToUpdate += n
		s.opts.Events.Info(KindGroup, r.Group, "instance refresh %s: %d instance(s) taken from the warm pool on another version join the refresh", r.ID, n)
	}
	return n
}

// refreshWarmPoolLocked terminates the warm pool's instances on another
// version than the refresh's (all it held before the refresh, when
// SkipMatching is off) and returns how many of them the pool still holds,
// terminated now or before and still on their way out: the refresh waits
// until none are left and the pool refilled. Instances the pool gained
// during the refresh are of the refresh's launch version already.
func (s *Service) refreshWarmPoolLocked(b *batch, g *Group, r *Refresh, now time.Time) int {
	target, img := r.target(), refreshImage(r)
	skip := r.Preferences.SkipMatching == nil || *r.Preferences.SkipMatching
	var old []string
	left := 0
	for _, m := range s.membersLocked(r.Group) {
		if !m.WarmPool {
			continue
		}
		if terminating(m.Lifecycle) {
			left++
			continue
		}
		if !m.LaunchedAt.Before(r.PhaseStart) || !(outdated(m, target, img) || (!skip && !r.Rollback)) {
			continue
		}
		left++
		if g.suspended(ProcessTerminate) || s.busy[m.InstanceID] {
			continue
		}
		m.Reuse = false
		s.beginTerminateLocked(b, r.Group, m, fmt.Sprintf("At %s an instance was taken out of the warm pool in response to an instance refresh (the pool is replaced with launch template version %d).",
			stamp(now), target), now)
		old = append(old, m.InstanceID)
	}
	if len(old) > 0 {
		if !r.Rollback {
			// (A rollback's reason stays: it is the refresh's outcome.)
			r.StatusReason = fmt.Sprintf("replacing %d warm pool instance(s)", left)
		}
		s.opts.Events.Info(KindGroup, r.Group, "instance refresh %s: replacing %d warm pool instance(s) with launch template version %d", r.ID, len(old), target)
	} else if left == 0 && strings.HasPrefix(r.StatusReason, "replacing ") {
		r.StatusReason = ""
	}
	return left
}
