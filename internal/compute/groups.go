package compute

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// GroupStatusPrefix is the store prefix of the group controller's progress
// records, one per group.
const GroupStatusPrefix = "/compute/group-status/"

// Rollout states, as AWS's instance refresh names them.
const (
	RolloutInProgress = "InProgress"
	RolloutSuccessful = "Successful"
	// RolloutFailed: a member errored on the new versions; the rollout
	// stops and the other members keep the versions they run, until the
	// group's versions change again.
	RolloutFailed = "Failed"
)

// GroupStatus is what the group controller last did for a group: the
// launch template and image versions it rolls out, and how far it got.
// It is stored, so a rollout resumes after a daemon restart.
type GroupStatus struct {
	// LaunchTemplateVersion and ImageVersion are the versions every
	// member should run.
	LaunchTemplateVersion int `json:"launchTemplateVersion"`
	ImageVersion          int `json:"imageVersion"`
	// Rollout is InProgress while members run older versions, then
	// Successful.
	Rollout string `json:"rollout,omitempty"`
	// Updated and Total count members on the target versions.
	Updated int `json:"updated"`
	Total   int `json:"total"`
	// MaxUnavailable is how many members may be out of service at once.
	MaxUnavailable int       `json:"maxUnavailable"`
	StartedAt      time.Time `json:"startedAt,omitzero"`
	FinishedAt     time.Time `json:"finishedAt,omitzero"`
	// Reason says why a rollout failed.
	Reason string `json:"reason,omitempty"`
}

// groupResync is how often the group controller reconciles every group
// even when nothing woke it.
const groupResync = 2 * time.Second

// Termination reasons recorded on instances, in AWS's words.
const (
	ReasonUser     = "Client.UserInitiatedShutdown: User initiated shutdown"
	ReasonScaleIn  = "Service.ScaleIn: the group's count was lowered"
	ReasonUnhealth = "Service.HealthCheck: the instance failed its health check"
)

func (s *Service) kickGroups() {
	select {
	case s.groupKick <- struct{}{}:
	default:
	}
}

// runGroups is the group controller: level-triggered, it reconciles every
// group whenever groups, templates, images or instances change, and every
// groupResync.
func (s *Service) runGroups(ctx context.Context) {
	t := time.NewTicker(groupResync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.groupKick:
		case <-t.C:
		}
		s.mu.Lock()
		rev := s.seenRev
		names := map[string]bool{}
		for n := range s.groups {
			names[n] = true
		}
		for _, in := range s.instances {
			if in.Group != "" && in.Owner != "" && in.ManagedBy == "" && in.Desired != StateTerminated {
				names[in.Group] = true // a deleted group's members
			}
		}
		s.mu.Unlock()
		for _, n := range slices.Sorted(maps.Keys(names)) {
			if ctx.Err() != nil {
				return
			}
			s.reconcileGroup(ctx, n)
		}
		s.reconciled.Advance(rev)
	}
}

// Observed waits until the service has seen every change up to store
// revision rev and the group controller has reconciled after it (records
// of new instances exist), or ctx ends.
func (s *Service) Observed(ctx context.Context, rev int64) error {
	if err := s.inf.Wait(ctx, rev); err != nil {
		return err
	}
	s.kickGroups()
	return s.reconciled.Wait(ctx, rev)
}

// groupPlan is one reconcile's view of a group.
type groupPlan struct {
	exists         bool
	spec           InstanceGroupSpec
	owner          string
	want           int
	members        []Instance // not terminated, oldest first
	replaced       []Instance // terminated members not yet replaced
	ltVersion      int
	imageVersion   int
	resolvable     bool
	maxUnavailable int
	// failedOn is a member that errored on the group's versions while
	// others still ran older ones: the rollout has failed.
	failedOn *Instance
}

func (s *Service) planGroup(name string) groupPlan {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p groupPlan
	g, ok := s.groups[name]
	p.exists = ok
	if ok {
		p.spec, p.owner = g.Spec, g.Owner
		p.want = 1
		if g.Spec.Count != nil {
			p.want = *g.Spec.Count
		}
		p.maxUnavailable = 1
		if g.Spec.MaxUnavailable != nil {
			p.maxUnavailable = *g.Spec.MaxUnavailable
		}
		if lt, ok := s.templates[g.Spec.LaunchTemplate]; ok {
			if v, ok := lt.Version(g.Spec.Version); ok {
				if im, ok := s.images[v.Data.Image]; ok {
					p.ltVersion, p.imageVersion, p.resolvable = v.Number, im.Current().Number, true
				}
			}
		}
	}
	for _, in := range s.instances {
		if in.Group != name || in.ManagedBy != "" {
			continue
		}
		switch {
		case in.Desired != StateTerminated:
			p.members = append(p.members, *in)
		case in.ReplacedBy == "" && in.TerminationReason != ReasonScaleIn && in.Owner != "" &&
			s.opts.Now().Sub(in.TerminatedAt) < time.Hour:
			p.replaced = append(p.replaced, *in)
		}
	}
	sort.Slice(p.members, func(i, j int) bool { return p.members[i].LaunchTime.Before(p.members[j].LaunchTime) })
	return p
}

// reconcileGroup converges one group: errored members are replaced, the
// count is kept (launching or terminating newest first), members are
// rolled to the group's launch template and image versions a few at a
// time, and every member of a deleted group is terminated. Only groups of
// stacks are managed; instances launched by hand (run --name) are not.
func (s *Service) reconcileGroup(ctx context.Context, name string) {
	p := s.planGroup(name)
	if !p.exists {
		for _, in := range p.members {
			if in.Owner == "" {
				continue
			}
			s.terminateFor(ctx, in.ID, ReasonScaleIn, "its instance group %s was deleted", name)
		}
		return
	}
	// Members whose process errored beyond its restart policy are taken
	// out of service and replaced, as an Auto Scaling group replaces an
	// instance that fails its EC2 health check.
	var healthy []Instance
	for _, in := range p.members {
		if in.Desired == StateRunning && in.Detail == "errored" {
			if p.resolvable && in.Resolved == p.ltVersion && in.ImageVersion == p.imageVersion && p.anyOutdated() {
				failed := in
				p.failedOn = &failed
			}
			s.opts.Events.Warn("instances", name, "instance %s was taken out of service in response to a health check: its process %s", in.ID, orDefault(in.StateReason, "errored"))
			s.terminateFor(ctx, in.ID, ReasonUnhealth, "%s", orDefault(in.StateReason, "errored"))
			in.TerminationReason = ReasonUnhealth
			p.replaced = append(p.replaced, in)
			continue
		}
		healthy = append(healthy, in)
	}
	p.members = healthy
	for i := p.want; i < len(p.members); i++ {
		in := p.members[len(p.members)-1-(i-p.want)]
		s.terminateFor(ctx, in.ID, ReasonScaleIn, "group %s keeps %d", name, p.want)
	}
	if len(p.members) > p.want {
		p.members = p.members[:p.want]
	}
	if missing := p.want - len(p.members); missing > 0 && p.resolvable {
		cause := "to keep the group at " + fmt.Sprint(p.want)
		if len(p.replaced) > 0 {
			in := p.replaced[0]
			why := "a user request (terminated by hand)"
			if in.TerminationReason == ReasonUnhealth {
				why = "a health check (" + orDefault(in.StateReason, "errored") + ")"
			}
			cause = fmt.Sprintf("in response to instance %s being taken out of service by %s", in.ID, why)
		}
		out, err := s.Run(ctx, RunRequest{LaunchTemplate: p.spec.LaunchTemplate, Version: p.spec.Version, Count: missing, Group: name, Tags: p.spec.Tags, Owner: p.owner})
		if err != nil {
			s.opts.Events.Error("instances", name, "launch %d: %v", missing, err)
		} else {
			for i, in := range out {
				s.opts.Events.Info("instances", name, "launching a new instance: %s %s", in.ID, cause)
				if i < len(p.replaced) {
					s.markReplaced(ctx, p.replaced[i].ID, in.ID)
				}
			}
			p.members = append(p.members, out...)
		}
	}
	if p.resolvable {
		s.rollout(ctx, name, p)
	}
}

// anyOutdated reports whether a member runs other versions than the
// group's.
func (p *groupPlan) anyOutdated() bool {
	for _, in := range p.members {
		if in.Desired == StateRunning && (in.Resolved != p.ltVersion || in.ImageVersion != p.imageVersion) {
			return true
		}
	}
	return false
}

// terminateFor terminates a member for a reason the group controller
// records on it.
func (s *Service) terminateFor(ctx context.Context, id, reason, format string, args ...any) {
	s.mu.Lock()
	if in, ok := s.instances[id]; ok {
		in.TerminationReason = reason
		s.changedLocked()
	}
	s.mu.Unlock()
	s.opts.Events.Info("instance", id, "terminating: "+format, args...)
	if err := s.Terminate(ctx, id); err != nil {
		s.opts.Events.Error("instance", id, "terminate: %v", err)
	}
}

func (s *Service) markReplaced(ctx context.Context, id, by string) {
	s.mu.Lock()
	in, ok := s.instances[id]
	if !ok {
		s.mu.Unlock()
		return
	}
	in.ReplacedBy = by
	s.changedLocked()
	s.mu.Unlock()
	_ = s.putInstance(ctx, id)
}

// rollout brings members to the group's versions, rebooting at most
// maxUnavailable at a time and only while the rest are running, so the
// group keeps serving. It is level-triggered: which members are outdated is
// read from their records, so a rollout interrupted by a daemon restart
// continues where it stopped.
func (s *Service) rollout(ctx context.Context, name string, p groupPlan) {
	var outdated []Instance
	unavailable := 0
	s.mu.Lock()
	for _, in := range p.members {
		rebooting := s.rebooting[in.ID]
		// A member stopped by hand is not the rollout's to count.
		if rebooting || (in.Desired == StateRunning && in.State != StateRunning) {
			unavailable++
		}
		if !rebooting && in.Desired == StateRunning && (in.Resolved != p.ltVersion || in.ImageVersion != p.imageVersion) {
			outdated = append(outdated, in)
		}
	}
	s.mu.Unlock()
	st := s.groupStatus(name)
	target := st == nil || st.LaunchTemplateVersion != p.ltVersion || st.ImageVersion != p.imageVersion
	next := GroupStatus{LaunchTemplateVersion: p.ltVersion, ImageVersion: p.imageVersion, Total: len(p.members),
		Updated: len(p.members) - len(outdated), MaxUnavailable: p.maxUnavailable}
	if st != nil && !target {
		next.StartedAt, next.FinishedAt, next.Rollout, next.Reason = st.StartedAt, st.FinishedAt, st.Rollout, st.Reason
	}
	switch {
	case p.failedOn != nil && next.Rollout != RolloutFailed:
		in := p.failedOn
		next.Rollout, next.FinishedAt = RolloutFailed, s.opts.Now()
		next.Reason = fmt.Sprintf("instance %s errored on launch template %s v%d (image v%d): %s", in.ID, p.spec.LaunchTemplate, p.ltVersion, p.imageVersion, orDefault(in.StateReason, "errored"))
		s.opts.Events.Error("instances", name, "rollout failed: %s; %d instances keep running their previous versions; fix the launch template or image and apply again",
			next.Reason, len(outdated))
	case next.Rollout == RolloutFailed:
		// Stopped until the group's versions change.
	case len(outdated) > 0 && next.Rollout != RolloutInProgress:
		next.Rollout, next.StartedAt, next.FinishedAt = RolloutInProgress, s.opts.Now(), time.Time{}
		s.opts.Events.Info("instances", name, "rolling out launch template %s v%d (image v%d) to %d of %d instances, %d at a time",
			p.spec.LaunchTemplate, p.ltVersion, p.imageVersion, len(outdated), len(p.members), p.maxUnavailable)
	case len(outdated) == 0 && next.Rollout == RolloutInProgress && unavailable == 0:
		next.Rollout, next.FinishedAt = RolloutSuccessful, s.opts.Now()
		s.opts.Events.Info("instances", name, "rollout complete: %d instances run launch template %s v%d (image v%d)",
			len(p.members), p.spec.LaunchTemplate, p.ltVersion, p.imageVersion)
	case st == nil && len(outdated) == 0:
		next.Rollout = RolloutSuccessful
	}
	if st == nil || *st != next {
		s.putGroupStatus(ctx, name, next)
	}
	budget := p.maxUnavailable - unavailable
	if next.Rollout == RolloutFailed {
		budget = 0
	}
	for i := 0; i < len(outdated) && i < budget; i++ {
		in := outdated[i]
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.rebooting[in.ID] = true
		s.wg.Add(1)
		s.mu.Unlock()
		s.opts.Events.Info("instance", in.ID, "rebooting to launch template %s v%d (image v%d) for the rollout of %s (%d/%d)",
			p.spec.LaunchTemplate, p.ltVersion, p.imageVersion, name, next.Updated+i+1, next.Total)
		go func(id string) {
			defer s.wg.Done()
			if err := s.Reboot(context.WithoutCancel(ctx), id); err != nil {
				s.opts.Events.Error("instance", id, "reboot for rollout: %v", err)
			}
			s.mu.Lock()
			delete(s.rebooting, id)
			s.mu.Unlock()
			s.kickGroups()
		}(in.ID)
	}
}

func (s *Service) groupStatus(name string) *GroupStatus {
	kv, err := s.opts.Store.Get(context.Background(), GroupStatusPrefix+name)
	if err != nil {
		return nil
	}
	var st GroupStatus
	if json.Unmarshal(kv.Value, &st) != nil {
		return nil
	}
	return &st
}

func (s *Service) putGroupStatus(ctx context.Context, name string, st GroupStatus) {
	if err := s.put(ctx, GroupStatusPrefix+name, &st); err != nil {
		s.log.Warn("save group status", "group", name, "err", err)
	}
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
