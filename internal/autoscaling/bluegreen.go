package autoscaling

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/appspec"
	"github.com/madang-dev/madang/internal/fault"
)

// Blue/green deployments (CodeDeploy's BLUE_GREEN deployment type for an
// Auto Scaling group behind a load balancer).
//
// The group launches a replacement fleet — as many instances as it serves
// with, running the revision — registered in the group's target groups at
// weight 0: health-checked, given no request. Once every replacement is
// healthy in every target group, traffic moves to the replacement fleet by
// the targets' weights: all at once, or a canary share and then the rest,
// or equal steps (linear). At 100 % the fleets swap roles: the
// replacements become the group's capacity and the original instances stay
// registered at weight 0, running and health-checked, for the termination
// wait — a rollback in that time only moves the weights back, which is
// instant. After the wait the originals are deregistered (they drain) and
// terminated; with KeepAlive they leave the group instead, still running.
//
// The revision's AppSpec hooks run on both fleets in CodeDeploy's order
// (bluegreenhooks.go).
//
// A replacement that fails its health checks, a hook or leaves, an alarm
// of the deployment in ALARM, or a stop with rollback moves the traffic
// back to the originals and terminates the replacements; with rollback
// disabled, a failure still moves the traffic back, but the replacements
// leave the group running, to be inspected. The deployment record is
// stored after every step, so the next controller resumes it.
//
// The target groups' weights are madang's per-target weights: AWS shifts
// between two target groups of a listener's forward action instead, which
// here would rewrite the listeners a stack owns.

// Deployment types (CodeDeploy's deploymentStyle.deploymentType).
const (
	DeploymentInPlace   = "IN_PLACE"
	DeploymentBlueGreen = "BLUE_GREEN"
)

// Traffic routing types (CodeDeploy's TrafficRoutingConfig.type).
const (
	RoutingAllAtOnce = "AllAtOnce"
	RoutingCanary    = "TimeBasedCanary"
	RoutingLinear    = "TimeBasedLinear"
)

// Phases of a blue/green deployment.
const (
	// PhaseProvisioning launches the replacement fleet and waits until it
	// is healthy.
	PhaseProvisioning = "Provisioning"
	// PhaseShifting moves traffic to the replacements step by step.
	PhaseShifting = "Shifting"
	// PhaseRetaining keeps the originals at weight 0 for the wait.
	PhaseRetaining = "Retaining"
	// PhaseRollingBack moves traffic back to the originals.
	PhaseRollingBack = "RollingBack"
	// PhaseDone: the originals are gone (or the replacements, after a
	// rollback).
	PhaseDone = "Done"
)

// Fleets of a blue/green deployment (Member.Fleet).
const (
	// FleetReplacement marks the instances a blue/green deployment
	// launched, until they take over.
	FleetReplacement = "replacement"
	// FleetOriginal marks the instances they replaced, kept for the
	// termination wait.
	FleetOriginal = "original"
)

// fleetReadyWait bounds how long the replacement fleet may take to become
// healthy (beyond the group's health check grace period) before the
// deployment rolls back.
const fleetReadyWait = 10 * time.Minute

// DefaultTerminationWait is how long the original instances are kept
// after the traffic moved, when the request does not say (the AWS
// console's default, 1 hour; at most 2 days, 2880 minutes).
const (
	DefaultTerminationWait = time.Hour
	MaxTerminationWait     = 2880 * time.Minute
)

// TrafficRouting says how traffic moves to the replacement fleet
// (CodeDeploy's TrafficRoutingConfig: AllAtOnce, TimeBasedCanary with a
// percentage and an interval, TimeBasedLinear with a step and an interval).
type TrafficRouting struct {
	Type string `json:"type"`
	// Percentage is the canary's share, or each linear step (1–99).
	Percentage int `json:"percentage,omitempty"`
	// IntervalSeconds is the time between steps.
	IntervalSeconds int `json:"intervalSeconds,omitempty"`
}

// ParseTrafficRouting reads "all-at-once", "canary:10%:5m" or
// "linear:25%:30s" ("" is all at once), and CodeDeploy's predefined names
// CodeDeployDefault.ECSAllAtOnce, …ECSCanary10Percent5Minutes,
// …ECSCanary10Percent15Minutes, …ECSLinear10PercentEvery1Minutes and
// …ECSLinear10PercentEvery3Minutes.
func ParseTrafficRouting(s string) (TrafficRouting, error) {
	switch s {
	case "", "all-at-once", RoutingAllAtOnce, "CodeDeployDefault.ECSAllAtOnce":
		return TrafficRouting{Type: RoutingAllAtOnce}, nil
	case "CodeDeployDefault.ECSCanary10Percent5Minutes":
		return TrafficRouting{Type: RoutingCanary, Percentage: 10, IntervalSeconds: 300}, nil
	case "CodeDeployDefault.ECSCanary10Percent15Minutes":
		return TrafficRouting{Type: RoutingCanary, Percentage: 10, IntervalSeconds: 900}, nil
	case "CodeDeployDefault.ECSLinear10PercentEvery1Minutes":
		return TrafficRouting{Type: RoutingLinear, Percentage: 10, IntervalSeconds: 60}, nil
	case "CodeDeployDefault.ECSLinear10PercentEvery3Minutes":
		return TrafficRouting{Type: RoutingLinear, Percentage: 10, IntervalSeconds: 180}, nil
	}
	bad := func(why string) (TrafficRouting, error) {
		return TrafficRouting{}, fault.Invalidf(KindGroup, "", "trafficRouting %q: %s", s, why).
			WithHint("use all-at-once, canary:PERCENT%:INTERVAL (canary:10%:5m) or linear:PERCENT%:INTERVAL (linear:25%:30s)")
	}
	kind, rest, _ := strings.Cut(s, ":")
	var r TrafficRouting
	switch kind {
	case "canary", RoutingCanary:
		r.Type = RoutingCanary
	case "linear", RoutingLinear:
		r.Type = RoutingLinear
	default:
		return bad("not a traffic routing")
	}
	pct, iv, ok := strings.Cut(rest, ":")
	if !ok {
		return bad("the percentage or the interval is missing")
	}
	p, err := strconv.Atoi(strings.TrimSuffix(pct, "%"))
	if err != nil || p < 1 || p > 99 {
		return bad("the percentage must be 1% to 99%")
	}
	d, err := time.ParseDuration(iv)
	if err != nil || d < time.Second || d%time.Second != 0 || d > MaxTerminationWait {
		return bad("the interval must be whole seconds, from 1s to 48h (30s, 5m)")
	}
	r.Percentage, r.IntervalSeconds = p, int(d/time.Second)
	return r, nil
}

// Validate checks a routing given field by field (the API's JSON form).
func (r TrafficRouting) Validate() error {
	switch r.Type {
	case RoutingAllAtOnce:
		return nil
	case RoutingCanary, RoutingLinear:
		if r.Percentage < 1 || r.Percentage > 99 {
			return fault.Invalidf(KindGroup, "", "trafficRouting.percentage %d is out of range", r.Percentage).WithHint("give 1 to 99")
		}
		if r.IntervalSeconds < 1 || r.IntervalSeconds > int(MaxTerminationWait/time.Second) {
			return fault.Invalidf(KindGroup, "", "trafficRouting.intervalSeconds %d is out of range", r.IntervalSeconds).WithHint("give 1 to 172800 seconds")
		}
		return nil
	}
	return fault.Invalidf(KindGroup, "", "trafficRouting.type %q is not a traffic routing", r.Type).
		WithHint("use " + RoutingAllAtOnce + ", " + RoutingCanary + " or " + RoutingLinear)
}

// String says what the routing does ("canary 10% for 5m0s, then the
// rest").
func (r TrafficRouting) String() string {
	iv := time.Duration(r.IntervalSeconds) * time.Second
	switch r.Type {
	case RoutingCanary:
		return fmt.Sprintf("canary %d%% for %s, then the rest", r.Percentage, iv)
	case RoutingLinear:
		return fmt.Sprintf("linear %d%% every %s", r.Percentage, iv)
	}
	return "all at once"
}

// next returns the replacement fleet's share after the one at p.
func (r TrafficRouting) next(p int) int {
	switch {
	case r.Type == RoutingCanary && p == 0:
		return r.Percentage
	case r.Type == RoutingLinear:
		return min(p+r.Percentage, 100)
	}
	return 100
}

// BlueGreen is the state of a blue/green deployment.
type BlueGreen struct {
	Routing TrafficRouting `json:"trafficRouting"`
	// TerminationWaitSeconds is how long the originals are kept after
	// the traffic moved; KeepAlive keeps them running outside the group
	// instead (CodeDeploy's KEEP_ALIVE).
	TerminationWaitSeconds int    `json:"terminationWaitSeconds"`
	KeepAlive              bool   `json:"keepAlive,omitempty"`
	Phase                  string `json:"phase"`
	// Percent is the replacement fleet's share of the traffic the
	// deployment wants; Applied the one the target groups serve.
	Percent int `json:"percent"`
	Applied int `json:"appliedPercent"`
	// Launched is set once the replacement fleet was launched.
	Launched bool `json:"launched,omitempty"`
	// Size is the replacement fleet's size (the group's capacity when
	// the deployment started).
	Size int `json:"size"`
	// NextShiftAt is when the next traffic step is due; TerminateAt when
	// the originals' wait ends.
	NextShiftAt time.Time `json:"nextShiftAt,omitzero"`
	TerminateAt time.Time `json:"terminateAt,omitzero"`
	// Swapped is set once the replacements became the group's capacity.
	Swapped bool `json:"swapped,omitempty"`
	// From is the group's revision before the deployment (nil: none).
	From *Revision `json:"fromRevision,omitempty"`
	// Steps records each traffic shift.
	Steps []TrafficStep `json:"steps,omitempty"`
}

// TrafficStep is one traffic shift of a blue/green deployment.
type TrafficStep struct {
	At      time.Time `json:"at"`
	Percent int       `json:"percent"`
}

// startBlueGreenLocked fills a new deployment's blue/green state.
func (s *Service) startBlueGreenLocked(g *Group, d *Deployment, req DeploymentRequest) error {
	if s.opts.LoadBalancing == nil || len(g.Spec.TargetGroups) == 0 {
		return fault.Invalidf(KindGroup, g.Spec.Name, "group %s has no target group: a blue/green deployment moves its traffic between two fleets in its target groups", g.Spec.Name).
			WithHint("attach the group to a target group (targetGroups in the stack file), or deploy in place")
	}
	routing := TrafficRouting{Type: RoutingAllAtOnce}
	if req.TrafficRouting != nil {
		routing = *req.TrafficRouting
	}
	if err := routing.Validate(); err != nil {
		return err
	}
	wait := DefaultTerminationWait
	if req.TerminationWaitSeconds != nil {
		wait = time.Duration(*req.TerminationWaitSeconds) * time.Second
		if wait < 0 || wait > MaxTerminationWait {
			return fault.Invalidf(KindGroup, g.Spec.Name, "terminationWaitSeconds %d is out of range", *req.TerminationWaitSeconds).
				WithHint("give 0 to 172800 seconds (2 days)")
		}
	}
	bg := &BlueGreen{Routing: routing, TerminationWaitSeconds: int(wait / time.Second), KeepAlive: req.KeepOriginals,
		Phase: PhaseProvisioning, Size: len(d.Instances)}
	if r := s.revisions[g.Spec.Name]; r != nil {
		c := *r
		bg.From = &c
	}
	d.Type, d.BlueGreen = DeploymentBlueGreen, bg
	// The originals' targets block traffic; the replacements' are added
	// as they launch, install the revision and allow it.
	for i, t := range d.Instances {
		nt := newFleetTarget(t.InstanceID, true, time.Time{})
		nt.Zone = t.Zone
		d.Instances[i] = nt
	}
	return nil
}

// blueGreenLocked advances a blue/green deployment one step.
func (s *Service) blueGreenLocked(ctx context.Context, b *batch, g *Group, d *Deployment, now time.Time) {
	bg := d.BlueGreen
	name := g.Spec.Name
	changed := false
	if d.Status == DeploymentCreated {
		d.Status, changed = DeploymentInProgress, true
	}
	blue, green := s.fleetsLocked(name, bg)
	if !bg.Swapped && bg.Phase != PhaseDone {
		for _, m := range green {
			if d.target(m.InstanceID) == nil {
				t := newFleetTarget(m.InstanceID, false, now)
				t.Zone = m.Zone
				d.Instances = append(d.Instances, t)
				changed = true
			}
		}
	}
	if bg.Phase == PhaseRetaining && d.Stopping != nil && d.Stopping.Code == "DEPLOYMENT_STOPPED" && !d.StopRollback && now.Before(bg.TerminateAt) {
		// A stop without rollback while the originals wait ends the
		// wait: they go now.
		bg.TerminateAt, changed = now, true
	}
	if bg.Phase != PhaseRollingBack && bg.Phase != PhaseDone {
		if why, code := s.blueGreenFailureLocked(g, d, green, now); why != "" {
			s.rollBackBlueGreenLocked(b, d, code, why, now)
			changed = true
		}
	}
	if bg.Applied != bg.Percent {
		// The weights are applied by a goroutine; the step waits for it.
		s.applyWeightsLocked(ctx, d, blue, green)
		if changed {
			b.put(deploymentKey(d), d)
		}
		return
	}
	switch bg.Phase {
	case PhaseProvisioning:
		switch {
		case !bg.Launched:
			bg.Launched, changed = true, true
			if bg.Size > 0 {
				cause := fmt.Sprintf("At %s an instance was started in response to blue/green deployment %s of image %s v%d (the replacement fleet).", stamp(now), d.ID, d.Image, d.ImageVersion)
				s.launchLocked(ctx, b, g, s.launchVersionLocked(g), bg.Size, launchInto{fleet: FleetReplacement}, cause, s.membersLocked(name), now)
			}
		default:
			ready, ch := s.provisionHooksLocked(ctx, g, d, green, now)
			changed = changed || ch
			if ready {
				bg.Phase = PhaseShifting
				s.shiftLocked(d, bg.Routing.next(0), now)
				s.allowTrafficLocked(d, green, true, now)
				changed = true
				s.opts.Events.Info(KindGroup, name, "deployment %s: the replacement fleet of %d is installed and healthy; moving traffic (%s)", d.ID, len(green), bg.Routing)
			}
		}
	case PhaseShifting:
		switch {
		case bg.Percent == 100:
			done, ch := s.shiftedHooksLocked(ctx, g, d, blue, green, now)
			changed = changed || ch
			if done {
				s.swapFleetsLocked(b, d, blue, green, now)
				changed = true
			}
		case !now.Before(bg.NextShiftAt):
			s.shiftLocked(d, bg.Routing.next(bg.Percent), now)
			changed = true
		}
	case PhaseRetaining:
		switch {
		case bg.KeepAlive:
			for _, m := range blue {
				s.beginMoveLocked(b, m, Detaching, "Detaching EC2 instance: "+m.InstanceID,
					fmt.Sprintf("At %s an instance was detached in response to blue/green deployment %s keeping the original instances running.", stamp(now), d.ID), now)
			}
			s.finishBlueGreenLocked(b, d, DeploymentSucceeded, nil, now)
			changed = false
		case !now.Before(bg.TerminateAt):
			for _, m := range blue {
				if !terminating(m.Lifecycle) {
					s.beginTerminateLocked(b, name, m, fmt.Sprintf("At %s an instance was taken out of service in response to blue/green deployment %s: the original instances' wait of %s ended.",
						stamp(now), d.ID, time.Duration(bg.TerminationWaitSeconds)*time.Second), now)
				}
			}
			if len(blue) == 0 {
				s.finishBlueGreenLocked(b, d, DeploymentSucceeded, nil, now)
				changed = false
			}
		}
	case PhaseRollingBack:
		// The originals serve again: the replacements leave.
		if s.keepReplacementsLocked(b, d, green, now) {
			changed = false
			break
		}
		for _, m := range green {
			if !terminating(m.Lifecycle) {
				s.beginTerminateLocked(b, name, m, fmt.Sprintf("At %s an instance was taken out of service in response to the rollback of blue/green deployment %s.", stamp(now), d.ID), now)
			}
		}
		if len(green) == 0 {
			status := DeploymentFailed
			if d.Stopping != nil && d.Stopping.Code == "DEPLOYMENT_STOPPED" {
				status = DeploymentStopped
			}
			s.setRevisionLocked(b, name, bg.From)
			s.finishBlueGreenLocked(b, d, status, d.Stopping, now)
			changed = false
		} else {
			changed = true
		}
	}
	if changed {
		b.put(deploymentKey(d), d)
	}
}

// fleetsLocked returns the instances that serve the group before the swap
// (blue) and the ones that take over (green); after the swap, blue are the
// originals kept for the wait and green the group's instances.
func (s *Service) fleetsLocked(group string, bg *BlueGreen) (blue, green []*Member) {
	for _, m := range s.membersLocked(group) {
		if m.WarmPool || (m.Fleet == "" && outOfCapacity(m.Lifecycle)) {
			continue // Standby and detaching instances take no part
		}
		switch {
		case m.Fleet == FleetReplacement:
			green = append(green, m)
		case m.Fleet == FleetOriginal:
			blue = append(blue, m)
		case bg.Swapped && !terminating(m.Lifecycle):
			green = append(green, m)
		case !bg.Swapped && !terminating(m.Lifecycle):
			blue = append(blue, m)
		}
	}
	return blue, green
}

// blueGreenFailureLocked says why the deployment must roll back, or "".
func (s *Service) blueGreenFailureLocked(g *Group, d *Deployment, green []*Member, now time.Time) (why, code string) {
	bg := d.BlueGreen
	if d.Stopping != nil {
		if d.Stopping.Code == "DEPLOYMENT_STOPPED" && !d.StopRollback && bg.Phase == PhaseRetaining {
			return "", "" // it ends the wait instead (blueGreenLocked)
		}
		return d.Stopping.Message, d.Stopping.Code
	}
	if a := s.deploymentAlarmLocked(d); a != "" {
		return fmt.Sprintf("alarm %s is in ALARM", a), "ALARM_ACTIVE"
	}
	if why := fleetHookFailure(d); why != "" {
		return why, "HEALTH_CONSTRAINTS"
	}
	if bg.Swapped || !bg.Launched || s.inflightFleet[g.Spec.Name] > 0 {
		// After the swap the replacements are the group's: its own
		// health checks replace a failing one.
		return "", ""
	}
	if bg.Phase == PhaseProvisioning && len(green) < bg.Size {
		return fmt.Sprintf("%d of the %d replacement instances left (failed to launch or were terminated)", bg.Size-len(green), bg.Size), "HEALTH_CONSTRAINTS"
	}
	if limit := fleetReadyWait + secondsOr(g.Spec.HealthCheckGracePeriod, 0); bg.Phase == PhaseProvisioning {
		// The wait counts from the end of the last install hooks.
		if since, installing := installedSinceLocked(d); !installing && now.Sub(since) > limit {
			return fmt.Sprintf("the replacement fleet was not healthy within %s", limit), "HEALTH_CONSTRAINTS"
		}
	}
	for _, m := range green {
		switch {
		case terminating(m.Lifecycle) || m.Health == HealthUnhealthy:
			return fmt.Sprintf("replacement instance %s failed: %s", m.InstanceID, orDefault(m.HealthReason, "it was terminated")), "HEALTH_CONSTRAINTS"
		case m.Lifecycle != InService:
			continue
		}
		for _, tg := range m.Registered {
			if st, _ := s.opts.LoadBalancing.TargetState(tg, m.InstanceID); st == "unhealthy" && now.Sub(m.LaunchedAt) >= secondsOr(g.Spec.HealthCheckGracePeriod, 0) {
				return fmt.Sprintf("replacement instance %s is unhealthy in target group %s", m.InstanceID, tg), "HEALTH_CONSTRAINTS"
			}
		}
	}
	return "", ""
}

// fleetReadyLocked reports whether the replacement fleet is complete,
// InService, through its install hooks (ValidateService) and healthy in
// every target group of the group.
func (s *Service) fleetReadyLocked(g *Group, d *Deployment, green []*Member, size int) bool {
	if len(green) < size {
		return false
	}
	for _, m := range green {
		if m.Lifecycle != InService || m.Health != HealthHealthy {
			return false
		}
		if t := d.target(m.InstanceID); t == nil || !t.pastEvent(appspec.ValidateService) {
			return false
		}
		for _, tg := range g.Spec.TargetGroups {
			if st, _ := s.opts.LoadBalancing.TargetState(tg, m.InstanceID); st != "healthy" {
				return false
			}
		}
	}
	return true
}

// shiftLocked asks for the replacement fleet's share p.
func (s *Service) shiftLocked(d *Deployment, p int, now time.Time) {
	bg := d.BlueGreen
	bg.Percent = p
	bg.NextShiftAt = now.Add(time.Duration(bg.Routing.IntervalSeconds) * time.Second)
	bg.Steps = append(bg.Steps, TrafficStep{At: now, Percent: p})
	s.opts.Events.Info(KindGroup, d.Group, "deployment %s: %d%% of the traffic to the replacement fleet", d.ID, p)
}

// swapFleetsLocked makes the replacements the group's capacity and keeps
// the originals at weight 0 for the termination wait.
func (s *Service) swapFleetsLocked(b *batch, d *Deployment, blue, green []*Member, now time.Time) {
	bg := d.BlueGreen
	for _, m := range green {
		m.Fleet = ""
		b.put(MemberPrefix+m.InstanceID, m)
	}
	for _, m := range blue {
		m.Fleet = FleetOriginal
		b.put(MemberPrefix+m.InstanceID, m)
	}
	for _, t := range d.Instances {
		// Every instance that served is through its events; the others
		// left before their turn.
		if t.Status == TargetPending || t.Status == TargetInProgress {
			t.Status, t.EndTime = TargetSkipped, now
			for _, e := range t.Events {
				if e.Status == TargetPending || e.Status == TargetInProgress {
					e.Status, e.EndTime = TargetSkipped, now
				}
			}
		}
	}
	bg.Swapped, bg.Phase = true, PhaseRetaining
	wait := time.Duration(bg.TerminationWaitSeconds) * time.Second
	bg.TerminateAt = now.Add(wait)
	if bg.KeepAlive {
		s.opts.Events.Info(KindGroup, d.Group, "deployment %s: all traffic on the replacement fleet; the %d original instance(s) leave the group running", d.ID, len(blue))
	} else {
		s.opts.Events.Info(KindGroup, d.Group, "deployment %s: all traffic on the replacement fleet; the %d original instance(s) are kept at weight 0 for %s (a rollback until then is instant)", d.ID, len(blue), wait)
	}
}

// rollBackBlueGreenLocked moves the traffic back to the originals.
func (s *Service) rollBackBlueGreenLocked(b *batch, d *Deployment, code, why string, now time.Time) {
	bg := d.BlueGreen
	if d.Stopping == nil {
		d.Stopping = &ErrorInfo{Code: code, Message: why}
	}
	if bg.Swapped {
		// Swap back at once, so the group's capacity never lacks a
		// fleet: the originals count again, the replacements go back to
		// being replacements (they keep the traffic until the weights
		// move it, and leave after).
		for _, m := range s.membersLocked(d.Group) {
			switch {
			case m.Fleet == "" && !terminating(m.Lifecycle) && !outOfCapacity(m.Lifecycle):
				m.Fleet = FleetReplacement
			case m.Fleet == FleetOriginal:
				m.Fleet, m.Since = "", now
			default:
				continue
			}
			b.put(MemberPrefix+m.InstanceID, m)
		}
		bg.Swapped = false
	}
	bg.Phase = PhaseRollingBack
	bg.Percent = 0
	bg.Steps = append(bg.Steps, TrafficStep{At: now, Percent: 0})
	s.cancelFleetRunsLocked(d)
	if !d.AutoRollback && code != "DEPLOYMENT_STOPPED" {
		s.opts.Events.Warn(KindGroup, d.Group, "deployment %s: failed: %s; the traffic returns to the original instances (rollback is disabled: the replacements are kept for inspection)", d.ID, why)
		return
	}
	s.opts.Events.Warn(KindGroup, d.Group, "deployment %s: rolling back: %s; the traffic returns to the original instances", d.ID, why)
}

// finishBlueGreenLocked ends the deployment.
func (s *Service) finishBlueGreenLocked(b *batch, d *Deployment, status string, info *ErrorInfo, now time.Time) {
	d.Status, d.ErrorInfo, d.CompleteTime = status, info, now
	d.BlueGreen.Phase = PhaseDone
	ended := "rolled back"
	if !d.AutoRollback && status == DeploymentFailed {
		ended = "rollback disabled: the traffic is back on the original instances, the replacements were detached for inspection"
	}
	for _, t := range d.Instances {
		if t.Status != TargetPending && t.Status != TargetInProgress {
			continue
		}
		end := TargetFailed // a replacement that was rolled back
		if originalTarget(t) {
			end = TargetSkipped // an original's traffic was never blocked
		}
		t.Status, t.EndTime = end, now
		for _, e := range t.Events {
			switch {
			case e.Status == TargetInProgress && end == TargetFailed:
				e.Status, e.EndTime = TargetFailed, now
				if info != nil {
					e.Diagnostics = &Diagnostics{ErrorCode: "UnknownError", Message: ended + ": " + info.Message}
				}
			case e.Status == TargetPending || e.Status == TargetInProgress:
				e.Status, e.EndTime = TargetSkipped, now
			}
		}
	}
	if status == DeploymentSucceeded {
		d.ErrorInfo = nil
		s.opts.Events.Info(KindGroup, d.Group, "deployment %s: Succeeded", d.ID)
	} else {
		s.opts.Events.Error(KindGroup, d.Group, "deployment %s: %s: %s (%s)", d.ID, status, info.Message, ended)
	}
	b.put(deploymentKey(d), d)
}

// applyWeightsLocked sets the fleets' weights in the target groups for the
// deployment's share, in a goroutine; the next rounds wait for it.
func (s *Service) applyWeightsLocked(ctx context.Context, d *Deployment, blue, green []*Member) {
	name := d.Group
	if s.weighting[name] {
		return
	}
	p := d.BlueGreen.Percent
	wb, wg := fleetWeights(p, len(blue), len(green))
	perTG := map[string]map[string]*int{}
	set := func(ms []*Member, w *int) {
		for _, m := range ms {
			if terminating(m.Lifecycle) {
				continue
			}
			for _, tg := range m.Registered {
				if perTG[tg] == nil {
					perTG[tg] = map[string]*int{}
				}
				perTG[tg][m.InstanceID] = w
			}
		}
	}
	set(blue, wb)
	set(green, wg)
	s.weighting[name] = true
	lb := s.opts.LoadBalancing
	s.goAsync(func() {
		var err error
		for tg, ws := range perTG {
			if err = lb.SetWeights(context.WithoutCancel(ctx), tg, ws); err != nil {
				err = fmt.Errorf("target group %s: %w", tg, err)
				break
			}
		}
		var b batch
		s.mu.Lock()
		delete(s.weighting, name)
		switch {
		case err != nil:
			s.log.Warn("blue/green weights", "group", name, "deployment", d.ID, "percent", p, "err", err)
		case s.deployments[name] == d && d.BlueGreen.Percent == p:
			d.BlueGreen.Applied = p
			b.put(deploymentKey(d), d)
		}
		s.unlockCommit(ctx, &b)
	})
}

// fleetWeights returns the per-instance weights that give the green fleet
// the share p of the traffic (nil: the default weight).
func fleetWeights(p, nBlue, nGreen int) (blue, green *int) {
	zero := 0
	switch {
	case p <= 0:
		return nil, &zero
	case p >= 100 || nBlue == 0:
		return &zero, nil
	case nGreen == 0:
		return nil, &zero
	}
	wb, wg := (100-p)*nGreen, p*nBlue
	g := gcd(wb, wg)
	wb, wg = wb/g, wg/g
	if m := max(wb, wg); m > maxTargetWeight {
		wb, wg = max(wb*maxTargetWeight/m, 1), max(wg*maxTargetWeight/m, 1)
	}
	return &wb, &wg
}

// maxTargetWeight is the largest per-target weight the data plane takes.
const maxTargetWeight = 1000

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
