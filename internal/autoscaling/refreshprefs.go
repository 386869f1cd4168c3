package autoscaling

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
)

// What an instance refresh does with instances protected from scale-in
// (ScaleInProtectedInstances) and with Standby instances
// (StandbyInstances), as AWS's RefreshPreferences: Refresh replaces
// protected ones like the others, Terminate terminates Standby ones,
// Ignore leaves them on their version, and Wait (the default of both)
// waits up to an hour for the protection to be removed or the instance to
// leave Standby — then it is replaced — and fails the refresh after that.
const (
	RefreshRefresh   = "Refresh"
	RefreshIgnore    = "Ignore"
	RefreshWait      = "Wait"
	RefreshTerminate = "Terminate"
)

// refreshBlockWait is how long a refresh waits for protected or Standby
// instances.
const refreshBlockWait = time.Hour

func validateRefreshChoice(errs *fielderr.List, field, v string, allowed ...string) {
	if v != "" && !slices.Contains(allowed, v) {
		errs.Add(field, v, "is not one of "+strings.Join(allowed, ", "), "use one of "+strings.Join(allowed, ", ")+" (default "+RefreshWait+")")
	}
}

// blockedLocked handles the protected and Standby instances of a refresh
// step: Standby ones to terminate go, ones that came back in service join
// the instances to replace. It returns why the refresh cannot go on now
// ("" if it can), and fails it once the wait is over.
func (s *Service) blockedLocked(b *batch, g *Group, r *Refresh, cands []*Member, now time.Time) (why string, failed bool) {
	p := r.Preferences
	var standby []string
	for _, id := range r.Standby {
		m := s.members[id]
		switch {
		case m == nil || terminating(m.Lifecycle):
		case p.StandbyInstances == RefreshTerminate && m.Lifecycle == Standby && !s.busy[id]:
			s.beginTerminateLocked(b, g.Spec.Name, m, fmt.Sprintf("At %s an instance was taken out of service in response to an instance refresh (it was in Standby).", stamp(now)), now)
		case counts(m) && !m.WarmPool:
			if !slices.Contains(r.Remaining, id) {
				r.Remaining = append(r.Remaining, id)
				r.Total++
			}
		default:
			standby = append(standby, id)
		}
	}
	r.Standby = standby
	var protected []string
	if p.ScaleInProtectedInstances == RefreshWait && len(cands) == 0 {
		for _, id := range r.Remaining {
			if m := s.members[id]; m != nil && m.Protected {
				protected = append(protected, id)
			}
		}
		if len(protected) < len(r.Remaining) {
			protected = nil // others are on their way
		}
	}
	switch {
	case len(protected) > 0:
		why = fmt.Sprintf("waiting for instances protected from scale-in to lose their protection: %s", strings.Join(protected, ", "))
	case len(r.Remaining) == 0 && len(standby) > 0 && p.StandbyInstances == RefreshWait:
		why = fmt.Sprintf("waiting for instances in Standby to return to service: %s", strings.Join(standby, ", "))
	}
	if why == "" {
		if !r.BlockedSince.IsZero() {
			r.BlockedSince, r.StatusReason = time.Time{}, ""
		}
		return "", false
	}
	if r.BlockedSince.IsZero() {
		r.BlockedSince = now
		s.opts.Events.Info(KindGroup, g.Spec.Name, "instance refresh %s: %s (at most %s)", r.ID, why, refreshBlockWait)
	}
	r.StatusReason = why
	if now.Sub(r.BlockedSince) >= refreshBlockWait {
		s.failRefreshLocked(r, fmt.Sprintf("the refresh waited %s %s", refreshBlockWait, strings.TrimPrefix(why, "waiting ")), now)
		return why, true
	}
	return why, false
}
