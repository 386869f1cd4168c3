package api

import (
	"context"

	"github.com/madang-dev/madang/internal/api/v1"
)

// EnterStandby moves InService instances to Standby (EnterStandby) and
// returns the activities it started.
func (c *Client) EnterStandby(ctx context.Context, name string, ids []string, decrement bool) ([]v1.ScalingActivity, error) {
	return c.moveInstances(ctx, name, "/standby", v1.InstanceMoveRequest{InstanceIDs: ids, ShouldDecrementDesiredCapacity: decrement})
}

// ExitStandby returns Standby instances to service (ExitStandby).
func (c *Client) ExitStandby(ctx context.Context, name string, ids []string) ([]v1.ScalingActivity, error) {
	return c.moveInstances(ctx, name, "/exit-standby", v1.InstanceMoveRequest{InstanceIDs: ids})
}

// AttachInstances takes running instances into a group (AttachInstances).
func (c *Client) AttachInstances(ctx context.Context, name string, ids []string) ([]v1.ScalingActivity, error) {
	return c.moveInstances(ctx, name, "/attach", v1.InstanceMoveRequest{InstanceIDs: ids})
}

// DetachInstances takes instances out of a group, left running
// (DetachInstances).
func (c *Client) DetachInstances(ctx context.Context, name string, ids []string, decrement bool) ([]v1.ScalingActivity, error) {
	return c.moveInstances(ctx, name, "/detach", v1.InstanceMoveRequest{InstanceIDs: ids, ShouldDecrementDesiredCapacity: decrement})
}

func (c *Client) moveInstances(ctx context.Context, name, path string, req v1.InstanceMoveRequest) ([]v1.ScalingActivity, error) {
	var v []v1.ScalingActivity
	return v, c.do(ctx, "POST", asgPath(name)+path, req, &v)
}

// SetInstanceProtection sets or clears instances' scale-in protection
// (SetInstanceProtection) and returns the group.
func (c *Client) SetInstanceProtection(ctx context.Context, name string, ids []string, protected bool) (v1.AutoScalingGroup, error) {
	var v v1.AutoScalingGroup
	return v, c.do(ctx, "POST", asgPath(name)+"/protection", v1.InstanceProtectionRequest{InstanceIDs: ids, ProtectedFromScaleIn: protected}, &v)
}

// SetMetricsCollection enables or disables group metrics
// (EnableMetricsCollection, DisableMetricsCollection) and returns the
// group.
func (c *Client) SetMetricsCollection(ctx context.Context, name string, req v1.MetricsCollectionRequest) (v1.AutoScalingGroup, error) {
	var v v1.AutoScalingGroup
	return v, c.do(ctx, "POST", asgPath(name)+"/metrics-collection", req, &v)
}
