package compute

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// ReconcileGroup converges a group to its spec: launches missing
// instances, terminates extra ones (newest first), and terminates every
// instance of a deleted group.
func (s *Service) ReconcileGroup(ctx context.Context, name string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	g, exists := s.groups[name]
	var members []*Instance
	for _, in := range s.instances {
		if in.Group == name && in.Desired != StateTerminated {
			members = append(members, in)
		}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].LaunchTime.Before(members[j].LaunchTime) })
	want := 0
	var spec InstanceGroupSpec
	if exists {
		spec = g.Spec
		want = 1
		if spec.Count != nil {
			want = *spec.Count
		}
	}
	var extra []string
	for i := want; i < len(members); i++ {
		extra = append(extra, members[i].ID)
	}
	missing := want - len(members)
	owner := ""
	if exists {
		owner = g.Owner
	}
	s.mu.Unlock()

	for _, id := range extra {
		if err := s.Terminate(ctx, id); err != nil {
			s.opts.Events.Error("instance", id, "terminate: %v", err)
		}
	}
	if missing > 0 {
		_, err := s.Run(ctx, RunRequest{LaunchTemplate: spec.LaunchTemplate, Version: spec.Version, Count: missing, Group: name, Tags: spec.Tags, Owner: owner})
		if err != nil {
			s.opts.Events.Error("instances", name, "launch %d: %v", missing, err)
		}
	}
}

// OutdatedMembers returns the running members of a group whose launch
// template version or image version is older than what the group now
// resolves to; a restart brings them up to date.
func (s *Service) OutdatedMembers(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[name]
	if !ok {
		return nil
	}
	lt, ok := s.templates[g.Spec.LaunchTemplate]
	if !ok {
		return nil
	}
	v, ok := lt.Version(g.Spec.Version)
	if !ok {
		return nil
	}
	im := s.images[v.Data.Image]
	var out []string
	for _, in := range s.instances {
		if in.Group != name || in.Desired != StateRunning {
			continue
		}
		if in.Resolved != v.Number || (im != nil && in.ImageVersion != im.Current().Number) {
			out = append(out, in.ID)
		}
	}
	sort.Strings(out)
	return out
}

// Members returns the non-terminated instances of a group.
func (s *Service) Members(name string) []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Instance
	for _, in := range s.instances {
		if in.Group == name && in.Desired != StateTerminated {
			out = append(out, *in)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AllInstances returns every stored instance (without live facts).
func (s *Service) AllInstances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedCopies(s.instances)
}

// Image returns one image.
func (s *Service) Image(name string) (Image, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	im, ok := s.images[name]
	if !ok {
		return Image{}, false
	}
	return *im, true
}

// WaitRunning waits until every listed instance is running, one of them
// fails (errored/stopped), or ctx ends.
func (s *Service) WaitRunning(ctx context.Context, ids []string) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		done := true
		for _, id := range ids {
			in, err := s.get(id)
			if err != nil {
				return err
			}
			switch {
			case in.State == StateRunning:
			case in.Detail == "errored" || in.Detail == "exited":
				return fmt.Errorf("instance %s %s: %s", id, in.Detail, in.StateReason)
			default:
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
