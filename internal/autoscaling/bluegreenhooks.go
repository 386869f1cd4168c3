package autoscaling

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/appspec"
)

// The AppSpec hooks of blue/green deployments, in CodeDeploy's order for
// an EC2 blue/green deployment behind a load balancer.
//
// A replacement instance goes through ApplicationStop (Skipped: a new
// instance has no previous revision), DownloadBundle, BeforeInstall,
// Install, AfterInstall, ApplicationStart and ValidateService once it is
// InService at weight 0; the fleet is ready when every replacement is
// through ValidateService and healthy in every target group. Then
// BeforeAllowTraffic runs on every replacement before the first traffic
// step; AllowTraffic lasts from that step to 100 %, and AfterAllowTraffic
// runs on every replacement once all the traffic is on them. Only then do
// the originals go through BeforeBlockTraffic, BlockTraffic (the traffic
// has already moved off them: it ends at once) and AfterBlockTraffic, and
// the fleets swap. DownloadBundle, Install, AllowTraffic and BlockTraffic
// are the deployment's own; the others run the scripts of the revision the
// instance runs: the new one on a replacement (launched from it), the old
// one on an original.
//
// A script that fails or times out fails its instance and the deployment,
// which moves the traffic back to the originals (they are registered and
// running until the swap) and takes the replacements out of the group:
// terminated, or detached and left running when rollback is disabled. Hook
// runs still under way are cancelled then. As in place, an event that was
// running when the controller stopped is run again by the next one: its
// record says InProgress and the next event to run is that one.

// fleetEvents returns a blue/green deployment's lifecycle events for an
// original instance or a replacement.
func fleetEvents(original bool) []string {
	if original {
		return []string{appspec.BeforeBlockTraffic, appspec.BlockTraffic, appspec.AfterBlockTraffic}
	}
	return []string{appspec.ApplicationStop, appspec.DownloadBundle, appspec.BeforeInstall, appspec.Install, appspec.AfterInstall,
		appspec.ApplicationStart, appspec.ValidateService, appspec.BeforeAllowTraffic, appspec.AllowTraffic, appspec.AfterAllowTraffic}
}

// newFleetTarget returns a blue/green deployment's target: an original's
// waits (Pending) for the traffic to move, a replacement's is under way
// from its launch.
func newFleetTarget(id string, original bool, now time.Time) *DeploymentTarget {
	t := &DeploymentTarget{InstanceID: id, Status: TargetPending}
	if !original {
		t.Status, t.StartTime = TargetInProgress, now
	}
	for _, e := range fleetEvents(original) {
		t.Events = append(t.Events, &LifecycleEvent{Name: e, Status: TargetPending})
	}
	return t
}

// originalTarget reports whether a blue/green deployment's target is an
// original instance's (its events block traffic).
func originalTarget(t *DeploymentTarget) bool {
	return len(t.Events) > 0 && (t.Events[0].Name == appspec.BeforeBlockTraffic || t.Events[0].Name == appspec.BlockTraffic)
}

// eventIndex returns the index of event ev in the target's events, or -1.
func (t *DeploymentTarget) eventIndex(ev string) int {
	return slices.IndexFunc(t.Events, func(e *LifecycleEvent) bool { return e.Name == ev })
}

// pastEvent reports whether the target is done with event ev; a target
// without it (a record made before blue/green deployments ran hooks) is.
func (t *DeploymentTarget) pastEvent(ev string) bool {
	i := t.eventIndex(ev)
	return i < 0 || t.Next > i
}

// provisionHooksLocked runs the replacements' install events (through
// ValidateService) as each one is InService and, once the fleet is ready,
// BeforeAllowTraffic on all of them. It reports whether the traffic may
// move, and whether the record changed.
func (s *Service) provisionHooksLocked(ctx context.Context, g *Group, d *Deployment, green []*Member, now time.Time) (ready, changed bool) {
	_, changed = s.fleetHooksLocked(ctx, g, d, green, appspec.ValidateService, now)
	if s.inflightFleet[g.Spec.Name] > 0 || !s.fleetReadyLocked(g, d, green, d.BlueGreen.Size) {
		return false, changed
	}
	ready, ch := s.fleetHooksLocked(ctx, g, d, green, appspec.BeforeAllowTraffic, now)
	return ready, changed || ch
}

// shiftedHooksLocked runs what follows the last traffic step: AllowTraffic
// ends and AfterAllowTraffic runs on every replacement, then the
// originals' block events. It reports whether the fleets may swap, and
// whether the record changed.
func (s *Service) shiftedHooksLocked(ctx context.Context, g *Group, d *Deployment, blue, green []*Member, now time.Time) (done, changed bool) {
	changed = s.allowTrafficLocked(d, green, false, now)
	allowed, ch := s.fleetHooksLocked(ctx, g, d, green, appspec.AfterAllowTraffic, now)
	changed = changed || ch
	if !allowed {
		return false, changed
	}
	for _, m := range blue {
		if d.target(m.InstanceID) == nil {
			// It joined the serving fleet during the deployment (a
			// launch of the group's): its traffic is blocked too.
			d.Instances = append(d.Instances, newFleetTarget(m.InstanceID, true, now))
			changed = true
		}
	}
	blocked, ch := s.fleetHooksLocked(ctx, g, d, blue, appspec.AfterBlockTraffic, now)
	return blocked, changed || ch
}

// allowTrafficLocked begins the replacements' AllowTraffic (the first
// traffic step) or ends it (all the traffic moved). It reports whether a
// target changed.
func (s *Service) allowTrafficLocked(d *Deployment, green []*Member, begin bool, now time.Time) bool {
	bg := d.BlueGreen
	changed := false
	for _, m := range green {
		t := d.target(m.InstanceID)
		if t == nil || t.Status != TargetInProgress || t.Next >= len(t.Events) || t.Events[t.Next].Name != appspec.AllowTraffic {
			continue
		}
		e := t.Events[t.Next]
		switch {
		case begin && e.Status == TargetPending:
			e.Status, e.StartTime = TargetInProgress, now
		case !begin:
			if e.StartTime.IsZero() {
				e.StartTime = now
			}
			steps := make([]string, 0, len(bg.Steps))
			for _, st := range bg.Steps {
				steps = append(steps, fmt.Sprintf("%d%%", st.Percent))
			}
			e.Status, e.EndTime = TargetSucceeded, now
			e.Diagnostics = &Diagnostics{ErrorCode: "Success", Message: fmt.Sprintf("the replacement fleet took the traffic in %s: %s (%s)",
				strings.Join(m.Registered, ", "), strings.Join(steps, " → "), bg.Routing)}
			t.Next++
			if t.Next == len(t.Events) {
				t.Status, t.EndTime = TargetSucceeded, now
			}
		default:
			continue
		}
		changed = true
	}
	return changed
}

// fleetHooksLocked moves each of a fleet's instances through its events up
// to and including last, starting a run for each one that is InService,
// not busy and not there yet. It reports whether every one is past last,
// and whether a target changed.
func (s *Service) fleetHooksLocked(ctx context.Context, g *Group, d *Deployment, fleet []*Member, last string, now time.Time) (done, changed bool) {
	done = true
	for _, m := range fleet {
		t := d.target(m.InstanceID)
		if t == nil || t.pastEvent(last) {
			continue
		}
		done = false
		if t.Status == TargetFailed || t.Status == TargetSucceeded || m.Lifecycle != InService || s.busy[m.InstanceID] {
			continue // a failure ends the deployment; the others wait their turn
		}
		if t.Status == TargetPending {
			t.Status, t.StartTime, changed = TargetInProgress, now, true
		}
		s.goFleetTargetLocked(ctx, g, d, t, last)
	}
	return done, changed
}

// goFleetTargetLocked runs a blue/green target's events from the next one
// through last in a goroutine, marking the instance busy meanwhile; a
// rollback cancels it (cancelFleetRunsLocked).
func (s *Service) goFleetTargetLocked(ctx context.Context, g *Group, d *Deployment, t *DeploymentTarget, last string) {
	r := s.newTargetRunLocked(g, d, t.InstanceID)
	rctx, cancel := context.WithCancel(ctx)
	s.fleetRuns[r.id] = cancel
	s.busy[r.id] = true
	s.goAsync(func() {
		defer cancel()
		r.runFleet(rctx, last)
	})
}

// cancelFleetRunsLocked cancels the deployment's hook runs under way.
func (s *Service) cancelFleetRunsLocked(d *Deployment) {
	for _, t := range d.Instances {
		if cancel := s.fleetRuns[t.InstanceID]; cancel != nil {
			cancel()
		}
	}
}

// runFleet runs the target's events through last, until one fails, the
// run is cancelled or the controller stops.
func (r *targetRun) runFleet(ctx context.Context, last string) {
	s := r.s
	defer func() {
		s.mu.Lock()
		s.settleLocked(r.id)
		delete(s.fleetRuns, r.id)
		s.mu.Unlock()
	}()
	for {
		ev, ok := r.beginFleet(last)
		if !ok {
			return
		}
		status, diag, err := r.fleetEvent(ctx, ev)
		if !r.finishFleet(ctx, status, diag, err, last) {
			return
		}
	}
}

// beginFleet marks the next event InProgress and returns its name; ok is
// false when the run is through last, or the deployment no longer wants
// it.
func (r *targetRun) beginFleet(last string) (string, bool) {
	s := r.s
	s.mu.Lock()
	d, t := r.lookupLocked()
	if t == nil || s.closed || !d.Active() || d.BlueGreen == nil || d.BlueGreen.Phase == PhaseRollingBack || d.BlueGreen.Phase == PhaseDone ||
		t.Status != TargetInProgress || t.Next >= len(t.Events) || t.Next > t.eventIndex(last) {
		s.mu.Unlock()
		return "", false
	}
	return r.startNextLocked(d, t), true
}

// finishFleet records an event's outcome; it reports whether the next
// event runs.
func (r *targetRun) finishFleet(ctx context.Context, status string, diag *Diagnostics, err error, last string) bool {
	s := r.s
	var b batch
	s.mu.Lock()
	defer s.unlockCommit(ctx, &b)
	d, t := r.lookupLocked()
	if t == nil || s.closed {
		return false // the next controller runs the event again
	}
	now := s.opts.Now()
	e := t.Events[t.Next]
	if err != nil && ctx.Err() != nil {
		// Cancelled: the deployment ends, the script was stopped.
		if diag == nil {
			diag = &Diagnostics{}
		}
		diag.ErrorCode = "UnknownError"
		diag.Message = fmt.Sprintf("stopped: deployment %s ends, the traffic returns to the original instances", d.ID)
		if d.Stopping != nil {
			diag.Message += ": " + d.Stopping.Message
		}
		e.Status, e.EndTime, e.Diagnostics = TargetFailed, now, diag
		b.put(deploymentKey(d), d)
		return false
	}
	e.Status, e.EndTime, e.Diagnostics = status, now, diag
	if err != nil {
		if e.Diagnostics == nil {
			e.Diagnostics = &Diagnostics{ErrorCode: "UnknownError"}
		}
		e.Diagnostics.Message = err.Error()
		s.failTargetLocked(d, t, fmt.Sprintf("%s: %v", e.Name, err), now)
		b.put(deploymentKey(d), d)
		return false
	}
	t.Next++
	if t.Next == len(t.Events) {
		t.Status, t.EndTime = TargetSucceeded, now
		what := "replacement"
		if originalTarget(t) {
			what = "original"
		}
		s.opts.Events.Info(KindGroup, r.group, "deployment %s: %s instance %s Succeeded in %s", r.d, what, r.id, now.Sub(t.StartTime).Round(time.Millisecond))
	}
	b.put(deploymentKey(d), d)
	return t.Next < len(t.Events) && t.Next <= t.eventIndex(last) && ctx.Err() == nil
}

// fleetEvent runs one lifecycle event of a blue/green deployment.
func (r *targetRun) fleetEvent(ctx context.Context, ev string) (string, *Diagnostics, error) {
	s := r.s
	switch ev {
	case appspec.ApplicationStop:
		return TargetSkipped, &Diagnostics{ErrorCode: "Success", Message: "a replacement instance has no previous revision to stop"}, nil
	case appspec.DownloadBundle:
		if _, err := appspec.Load(r.app, appspec.CurrentIdentity()); err != nil {
			return TargetFailed, &Diagnostics{ErrorCode: "UnknownError"}, err
		}
		return TargetSucceeded, &Diagnostics{ErrorCode: "Success", Message: fmt.Sprintf("revision image %s v%d: the instance was launched from it (%s)", r.image, r.version, r.app)}, nil
	case appspec.Install:
		runs := 0
		for _, in := range s.opts.Compute.AllInstances() {
			if in.ID == r.id {
				runs = in.ImageVersion
			}
		}
		if runs != r.version {
			return TargetFailed, nil, fmt.Errorf("the instance runs image %s v%d, not the revision v%d", r.image, runs, r.version)
		}
		return TargetSucceeded, &Diagnostics{ErrorCode: "Success", Message: fmt.Sprintf("%s is image %s v%d", r.app, r.image, r.version)}, nil
	case appspec.ApplicationStart:
		// The launch started the application; its scripts run now.
		status, diag, err := r.scripts(ctx, ev)
		if status == TargetSkipped {
			status = TargetSucceeded
		}
		return status, diag, err
	case appspec.BlockTraffic:
		return TargetSucceeded, &Diagnostics{ErrorCode: "Success", Message: fmt.Sprintf("the traffic moved to the replacement fleet: weight 0 in %s", strings.Join(r.tgs, ", "))}, nil
	}
	return r.scripts(ctx, ev)
}

// fleetHookFailure says which hook failed on which instance, or "".
func fleetHookFailure(d *Deployment) string {
	for _, t := range d.Instances {
		if t.Status != TargetFailed {
			continue
		}
		what := "replacement"
		if originalTarget(t) {
			what = "original"
		}
		for _, e := range t.Events {
			if e.Status == TargetFailed {
				msg := "it failed"
				if e.Diagnostics != nil && e.Diagnostics.Message != "" {
					msg = e.Diagnostics.Message
				}
				return fmt.Sprintf("%s failed on %s instance %s: %s", e.Name, what, t.InstanceID, msg)
			}
		}
		return fmt.Sprintf("%s instance %s failed", what, t.InstanceID)
	}
	return ""
}

// installedSinceLocked returns when the last replacement finished its
// install events (the deployment's start if none did), and whether some
// are still running them: the fleet's time to become healthy counts from
// then.
func installedSinceLocked(d *Deployment) (since time.Time, installing bool) {
	since = d.CreateTime
	for _, t := range d.Instances {
		i := t.eventIndex(appspec.ValidateService)
		if originalTarget(t) || i < 0 {
			continue
		}
		if t.pastEvent(appspec.ValidateService) {
			if end := t.Events[i].EndTime; end.After(since) {
				since = end
			}
			continue
		}
		for _, e := range t.Events[:i+1] {
			if e.Status == TargetInProgress {
				installing = true
			}
		}
	}
	return since, installing
}

// keepReplacementsLocked ends a failed blue/green deployment whose
// rollback is disabled, once the traffic is back on the originals: the
// replacements leave the group still running, for inspection. It reports
// whether it did (a user's stop, or rollback on, terminates them).
func (s *Service) keepReplacementsLocked(b *batch, d *Deployment, green []*Member, now time.Time) bool {
	if d.AutoRollback || (d.Stopping != nil && d.Stopping.Code == "DEPLOYMENT_STOPPED") {
		return false
	}
	for _, m := range green {
		if terminating(m.Lifecycle) || outOfCapacity(m.Lifecycle) {
			continue
		}
		s.beginMoveLocked(b, m, Detaching, "Detaching EC2 instance: "+m.InstanceID,
			fmt.Sprintf("At %s an instance was detached in response to failed blue/green deployment %s: rollback is disabled, the instance is kept for inspection.", stamp(now), d.ID), now)
	}
	s.setRevisionLocked(b, d.Group, d.BlueGreen.From)
	s.finishBlueGreenLocked(b, d, DeploymentFailed, d.Stopping, now)
	return true
}
