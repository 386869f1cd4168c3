package apitest

import (
	"context"
	"fmt"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/fault"
)

// StartDeployment starts a deployment (one active per group, as the
// controller): it is InProgress until stopped.
func (a *AutoScaling) StartDeployment(_ context.Context, group string, req autoscaling.DeploymentRequest) (autoscaling.Deployment, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.find(group) == nil {
		return autoscaling.Deployment{}, asgNotFound(group)
	}
	cfg, err := autoscaling.ParseDeploymentConfig(req.DeploymentConfigName, req.MinimumHealthyHosts)
	if err != nil {
		return autoscaling.Deployment{}, err
	}
	if ds := a.deployments[group]; len(ds) > 0 && ds[0].Active() {
		return autoscaling.Deployment{}, fault.Conflictf(autoscaling.KindGroup, group, "DeploymentLimitExceeded: deployment %s of group %s is InProgress", ds[0].ID, group)
	}
	d := autoscaling.Deployment{ID: fmt.Sprintf("d-TEST%05d", len(a.deployments[group])+1), Group: group, Status: autoscaling.DeploymentInProgress,
		Config: cfg, Image: "hello", ImageVersion: 2, FromImageVersion: 1, AutoRollback: !req.DisableRollback, Alarms: req.Alarms,
		Creator: "user", CreateTime: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	d.AtOnce, d.MinHealthy = cfg.Plan(4)
	if req.DeploymentType == autoscaling.DeploymentBlueGreen {
		// A blue/green deployment midway through its canary.
		r := autoscaling.TrafficRouting{Type: autoscaling.RoutingAllAtOnce}
		if req.TrafficRouting != nil {
			r = *req.TrafficRouting
		}
		d.Type, d.AtOnce, d.MinHealthy = autoscaling.DeploymentBlueGreen, 0, 0
		d.BlueGreen = &autoscaling.BlueGreen{Routing: r, TerminationWaitSeconds: 3600, Phase: autoscaling.PhaseShifting,
			Percent: r.Percentage, Applied: r.Percentage, Launched: true, Size: 4}
	}
	if a.deployments == nil {
		a.deployments = map[string][]autoscaling.Deployment{}
	}
	a.deployments[group] = append([]autoscaling.Deployment{d}, a.deployments[group]...)
	return d, nil
}

// Deployments returns a group's deployments, newest first.
func (a *AutoScaling) Deployments(_ context.Context, group string) ([]autoscaling.Deployment, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.find(group) == nil {
		return nil, asgNotFound(group)
	}
	return append([]autoscaling.Deployment(nil), a.deployments[group]...), nil
}

// Deployment returns one deployment of a group.
func (a *AutoScaling) Deployment(ctx context.Context, group, id string) (autoscaling.Deployment, error) {
	ds, err := a.Deployments(ctx, group)
	if err != nil {
		return autoscaling.Deployment{}, err
	}
	for _, d := range ds {
		if d.ID == id {
			return d, nil
		}
	}
	return autoscaling.Deployment{}, fault.NotFoundf(autoscaling.KindGroup, group, "DeploymentDoesNotExistException: no deployment %s of group %s", id, group)
}

// StopDeployment stops the active deployment at once.
func (a *AutoScaling) StopDeployment(_ context.Context, group, id string, rollback bool) (autoscaling.Deployment, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ds := a.deployments[group]
	if len(ds) == 0 || ds[0].ID != id || !ds[0].Active() {
		return autoscaling.Deployment{}, fault.NotFoundf(autoscaling.KindGroup, group, "DeploymentAlreadyCompletedException: deployment %s of group %s is not in progress", id, group)
	}
	ds[0].Status, ds[0].StopRollback = autoscaling.DeploymentStopped, rollback
	ds[0].ErrorInfo = &autoscaling.ErrorInfo{Code: "DEPLOYMENT_STOPPED", Message: "the deployment was stopped by a user request"}
	return ds[0], nil
}
