package autoscaling

import (
	"context"
	"fmt"
	"maps"
	"time"
)

// Purge drops what the controller holds in memory for groups that have
// no record any more — capacities, members, activities in progress,
// instance refreshes, deployments, revisions, launch retry times — once
// their launches, terminations and hook commands in progress have ended
// (it waits for them until ctx ends). It returns how many groups' state
// it dropped. The store's runtime records (under CapacityPrefix,
// MemberPrefix, ActivityPrefix, RefreshPrefix, DeploymentPrefix,
// RevisionPrefix) are the caller's to delete: a clean slate deletes every
// record at once.
func (s *Service) Purge(ctx context.Context) (int, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		busy := s.busyGoneLocked()
		if busy == 0 {
			n := s.dropGoneLocked()
			s.mu.Unlock()
			return n, nil
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("autoscaling: %d launch(es) or instance operation(s) of deleted groups still running: %w", busy, ctx.Err())
		case <-t.C:
		}
	}
}

// busyGoneLocked counts the launches in flight into deleted groups and the
// instance operations (terminations, hook commands) not belonging to a
// live group.
func (s *Service) busyGoneLocked() int {
	n := 0
	for g, c := range s.inflight {
		if s.groups[g] == nil {
			n += c
		}
	}
	for g, c := range s.inflightWarm {
		if s.groups[g] == nil {
			n += c
		}
	}
	for id := range s.busy {
		if m := s.members[id]; m == nil || s.groups[m.Group] == nil {
			n++
		}
	}
	for id := range s.hookRuns {
		if m := s.members[id]; m == nil || s.groups[m.Group] == nil {
			n++
		}
	}
	return n
}

// dropGoneLocked removes the in-memory state of deleted groups and
// returns how many groups had some.
func (s *Service) dropGoneLocked() int {
	gone := map[string]bool{}
	note := func(g string) bool {
		if s.groups[g] != nil {
			return false
		}
		gone[g] = true
		return true
	}
	for g := range s.capacity {
		if note(g) {
			delete(s.capacity, g)
		}
	}
	for id, m := range s.members {
		if note(m.Group) {
			delete(s.members, id)
		}
	}
	for id, a := range s.open {
		if note(a.Group) {
			delete(s.open, id)
		}
	}
	dropGroups(s.refreshes, note)
	dropGroups(s.deployments, note)
	dropGroups(s.revisions, note)
	dropGroups(s.retryAt, note)
	dropGroups(s.inflight, note)
	dropGroups(s.inflightWarm, note)
	s.revisionsCleared = nil
	return len(gone)
}

// dropGroups deletes the entries of m, keyed by group name, that note
// reports gone.
func dropGroups[V any](m map[string]V, note func(group string) bool) {
	maps.DeleteFunc(m, func(g string, _ V) bool { return note(g) })
}
