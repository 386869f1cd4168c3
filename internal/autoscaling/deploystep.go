package autoscaling

import (
	"context"
	"fmt"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
)

// deploymentLocked advances the group's active deployment one step: it
// starts instances while the configuration's minimum of healthy hosts
// allows, fails the deployment once that minimum can no longer be met or
// an alarm is in ALARM, and ends it (rolling back a failed one) once no
// instance is under way.
func (s *Service) deploymentLocked(ctx context.Context, b *batch, g *Group, now time.Time) {
	d := s.deployments[g.Spec.Name]
	if d == nil || !d.Active() {
		return
	}
	if d.CreateTime.Before(g.CreatedAt) {
		s.endDeploymentLocked(b, g, d, DeploymentStopped, &ErrorInfo{Code: "DEPLOYMENT_GROUP_MISSING", Message: "the group was deleted"}, now)
		return
	}
	if d.BlueGreen != nil {
		s.blueGreenLocked(ctx, b, g, d, now)
		return
	}
	changed := false
	if d.Status == DeploymentCreated {
		d.Status, changed = DeploymentInProgress, true
	}
	n := len(d.Instances)
	pending, running, failed, succeeded := 0, 0, 0, 0
	for _, t := range d.Instances {
		switch t.Status {
		case TargetPending:
			pending++
		case TargetInProgress:
			running++
			if !s.busy[t.InstanceID] && s.members[t.InstanceID] != nil {
				// Under way when the last controller stopped: resume.
				s.goDeployTargetLocked(ctx, g, d, t)
			} else if s.members[t.InstanceID] == nil {
				s.failTargetLocked(d, t, "the instance left the group", now)
				running--
				failed++
				changed = true
			}
		case TargetFailed:
			failed++
		case TargetSucceeded:
			succeeded++
		}
	}
	if d.Stopping == nil && d.RollbackOf == "" {
		if a := s.deploymentAlarmLocked(d); a != "" {
			d.Stopping, changed = &ErrorInfo{Code: "ALARM_ACTIVE", Message: fmt.Sprintf("alarm %s is in ALARM", a)}, true
			s.opts.Events.Warn(KindGroup, d.Group, "deployment %s: stopping: alarm %s is in ALARM", d.ID, a)
		}
	}
	if d.Stopping == nil && failed > 0 {
		if why := d.healthFailure(pending, running, failed); why != "" {
			d.Stopping, changed = &ErrorInfo{Code: "HEALTH_CONSTRAINTS", Message: why}, true
			s.opts.Events.Warn(KindGroup, d.Group, "deployment %s: stopping: %s", d.ID, why)
		}
	}
	if d.Stopping == nil {
		healthy := n - failed - running
		batchNo := 0
		for _, t := range d.Instances {
			batchNo = max(batchNo, t.Batch)
		}
		started := 0
		for _, t := range d.Instances {
			if t.Status != TargetPending {
				continue
			}
			// Batches: the next starts once the last is done.
			if (running > 0 && started == 0) || running >= d.AtOnce || healthy-1 < d.MinHealthy {
				break
			}
			m := s.members[t.InstanceID]
			if m == nil || terminating(m.Lifecycle) || m.Group != d.Group {
				t.Status, t.EndTime, changed = TargetSkipped, now, true
				for _, e := range t.Events {
					e.Status = TargetSkipped
				}
				pending--
				n--
				continue
			}
			if (m.Lifecycle != InService && m.Lifecycle != Deploying) || m.Health != HealthHealthy || s.busy[m.InstanceID] {
				break // its turn waits until it serves
			}
			if d.Zonal != nil {
				ok, wait := d.zoneGate(t, now)
				if wait != d.ZoneWait {
					d.ZoneWait, changed = wait, true
					if wait != "" {
						s.opts.Events.Info(KindGroup, d.Group, "deployment %s: %s", d.ID, wait)
					}
				}
				if !ok {
					break
				}
			}
			if started == 0 {
				batchNo++
			}
			t.Status, t.Batch, t.StartTime, changed = TargetInProgress, batchNo, now, true
			s.setLifecycleLocked(b, m, Deploying, now)
			s.goDeployTargetLocked(ctx, g, d, t)
			started++
			running++
			healthy--
			pending--
		}
		if started > 0 {
			s.opts.Events.Info(KindGroup, d.Group, "deployment %s: batch %d: %d instance(s)", d.ID, batchNo, started)
		}
	}
	if running == 0 && (pending == 0 || d.Stopping != nil) {
		status, info := DeploymentSucceeded, (*ErrorInfo)(nil)
		switch {
		case d.Stopping != nil && d.Stopping.Code == "HEALTH_CONSTRAINTS":
			status, info = DeploymentFailed, d.Stopping
		case d.Stopping != nil:
			status, info = DeploymentStopped, d.Stopping
		default:
			if why := d.successFailure(); why != "" {
				status, info = DeploymentFailed, &ErrorInfo{Code: "HEALTH_CONSTRAINTS", Message: why}
			}
		}
		s.endDeploymentLocked(b, g, d, status, info, now)
		return
	}
	if changed {
		b.put(deploymentKey(d), d)
	}
}

// healthFailure says why the deployment can no longer keep its minimum of
// healthy hosts ("" while it can).
func (d *Deployment) healthFailure(pending, running, failed int) string {
	n := len(d.Instances)
	if d.Config.MinimumHealthyHosts == nil {
		// OneAtATime: any instance but the last failing fails it.
		for i, t := range d.Instances {
			if t.Status == TargetFailed && i < n-1 {
				return fmt.Sprintf("the deployment failed on instance %s, which is not the last one (%s)", t.InstanceID, ConfigOneAtATime)
			}
		}
		return ""
	}
	healthy := n - failed - running
	switch {
	case n-failed < max(d.MinHealthy, 1):
		return fmt.Sprintf("the deployment failed on %d of %d instances: fewer than the %d healthy hosts needed are left", failed, n, max(d.MinHealthy, 1))
	case pending > 0 && running == 0 && healthy-1 < d.MinHealthy:
		return fmt.Sprintf("the deployment failed on %d of %d instances: deploying to another would leave fewer than %d healthy hosts", failed, n, d.MinHealthy)
	}
	return ""
}

// successFailure applies the configuration's success rule to a finished
// deployment: why it failed, or "".
func (d *Deployment) successFailure() string {
	succeeded, failed, n := 0, 0, 0
	for _, t := range d.Instances {
		switch t.Status {
		case TargetSucceeded:
			succeeded++
		case TargetFailed:
			failed++
		}
		if t.Status != TargetSkipped {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	if d.Config.MinimumHealthyHosts == nil {
		if failed > 1 || (failed == 1 && d.Instances[len(d.Instances)-1].Status != TargetFailed) {
			return fmt.Sprintf("the deployment failed on %d instance(s)", failed)
		}
		return ""
	}
	if need := max(d.MinHealthy, 1); succeeded < need {
		return fmt.Sprintf("the deployment succeeded on %d of %d instances; %d were needed", succeeded, n, need)
	}
	return ""
}

// endDeploymentLocked ends a deployment. Instances it failed on are
// rolled back with the others it reached (automatic rollback), or else
// handed back to the group as unhealthy, which replaces them.
func (s *Service) endDeploymentLocked(b *batch, g *Group, d *Deployment, status string, info *ErrorInfo, now time.Time) {
	d.Status, d.ErrorInfo, d.CompleteTime = status, info, now
	for _, t := range d.Instances {
		if t.Status == TargetPending {
			t.Status, t.EndTime = TargetSkipped, now
			for _, e := range t.Events {
				e.Status = TargetSkipped
			}
		}
	}
	rollback := d.RollbackOf == "" && d.FromImageVersion > 0 &&
		((status == DeploymentFailed && d.AutoRollback) || (status == DeploymentStopped && info != nil && info.Code == "ALARM_ACTIVE" && d.AutoRollback) ||
			(status == DeploymentStopped && d.StopRollback))
	if status == DeploymentSucceeded {
		s.opts.Events.Info(KindGroup, d.Group, "deployment %s: Succeeded", d.ID)
	} else {
		s.opts.Events.Error(KindGroup, d.Group, "deployment %s: %s: %s", d.ID, status, info.Message)
	}
	var rb *Deployment
	if rollback {
		rb = &Deployment{ID: newDeploymentID(), Group: d.Group, Application: d.Application, DeploymentGroupID: d.DeploymentGroupID,
			Status: DeploymentCreated, Config: d.Config, Image: d.Image, ImageVersion: d.FromImageVersion, FromImageVersion: d.ImageVersion,
			Creator: "autoRollback", RollbackOf: d.ID, CreateTime: now.Add(time.Nanosecond),
			Description: fmt.Sprintf("rollback of %s: %s", d.ID, info.Message)}
		for _, t := range d.Instances {
			if t.Status == TargetSucceeded || t.Status == TargetFailed {
				if m := s.members[t.InstanceID]; m != nil && !terminating(m.Lifecycle) {
					rb.Instances = append(rb.Instances, newTarget(t.InstanceID))
				}
			}
		}
		rb.AtOnce, rb.MinHealthy = 1, 0
		if rb.Config.MinimumHealthyHosts != nil {
			// The instances rolled back serve nothing (they failed)
			// or the revision that failed: none needs to stay, and
			// they go back in the deployment's batch size.
			rb.AtOnce = max(min(d.AtOnce, len(rb.Instances)), 1)
		}
		d.RolledBackBy = rb.ID
	}
	b.put(deploymentKey(d), d)
	inRollback := map[string]bool{}
	if rb != nil {
		for _, t := range rb.Instances {
			inRollback[t.InstanceID] = true
		}
	}
	for _, t := range d.Instances {
		m := s.members[t.InstanceID]
		if m == nil || m.Lifecycle != Deploying || inRollback[t.InstanceID] {
			continue
		}
		// Failed here and not rolled back: the group replaces it.
		s.setLifecycleLocked(b, m, InService, now)
		s.unhealthyLocked(b, g, m, fmt.Sprintf("deployment %s failed on it", d.ID), now)
	}
	switch {
	case rb != nil:
		s.beginDeploymentLocked(b, rb)
		s.opts.Events.Warn(KindGroup, d.Group, "deployment %s rolls back %s: image %s v%d on %d instance(s)", rb.ID, d.ID, rb.Image, rb.ImageVersion, len(rb.Instances))
	case status != DeploymentSucceeded && d.FromImageVersion > 0:
		// Launches return to the last revision that succeeded.
		s.setRevisionLocked(b, d.Group, &Revision{Image: d.Image, ImageVersion: d.FromImageVersion, Deployment: d.RollbackOf})
	}
}

// failTargetLocked ends an instance's deployment as failed.
func (s *Service) failTargetLocked(d *Deployment, t *DeploymentTarget, why string, now time.Time) {
	t.Status, t.EndTime = TargetFailed, now
	for _, e := range t.Events {
		if e.Status == TargetPending || e.Status == TargetInProgress {
			if e.Status == TargetInProgress {
				e.Status, e.EndTime = TargetFailed, now
				e.Diagnostics = &Diagnostics{ErrorCode: "UnknownError", Message: why}
				continue
			}
			e.Status = TargetSkipped
		}
	}
	s.opts.Events.Warn(KindGroup, d.Group, "deployment %s: instance %s failed: %s", d.ID, t.InstanceID, why)
}

// deploymentAlarmLocked returns the first of the deployment's alarms in
// ALARM.
func (s *Service) deploymentAlarmLocked(d *Deployment) string {
	if len(d.Alarms) == 0 || s.opts.Alarms == nil {
		return ""
	}
	for _, v := range s.opts.Alarms.Alarms() {
		if v.State.State == alarm.Alarm {
			for _, a := range d.Alarms {
				if a == v.Name {
					return a
				}
			}
		}
	}
	return ""
}
