package api

import (
	"context"
	"net/url"
	"strconv"

	"github.com/madang-dev/madang/internal/api/v1"
)

// AutoScalingGroups lists the Auto Scaling groups
// (DescribeAutoScalingGroups).
func (c *Client) AutoScalingGroups(ctx context.Context) ([]v1.AutoScalingGroup, error) {
	var v []v1.AutoScalingGroup
	return v, c.do(ctx, "GET", "/v1/autoscaling/groups", nil, &v)
}

// AutoScalingGroup describes one Auto Scaling group.
func (c *Client) AutoScalingGroup(ctx context.Context, name string) (v1.AutoScalingGroup, error) {
	var v v1.AutoScalingGroup
	return v, c.do(ctx, "GET", asgPath(name), nil, &v)
}

// ScalingActivities returns a group's scaling activities, newest first, at
// most max (0: the daemon's default, [v1.DefaultMaxActivities]).
func (c *Client) ScalingActivities(ctx context.Context, name string, max int) ([]v1.ScalingActivity, error) {
	path := asgPath(name) + "/activities"
	if max > 0 {
		path += "?max=" + strconv.Itoa(max)
	}
	var v []v1.ScalingActivity
	return v, c.do(ctx, "GET", path, nil, &v)
}

// SetDesiredCapacity sets a group's desired capacity (SetDesiredCapacity)
// and returns the group as it is then.
func (c *Client) SetDesiredCapacity(ctx context.Context, name string, n int, honorCooldown bool) (v1.AutoScalingGroup, error) {
	var v v1.AutoScalingGroup
	return v, c.do(ctx, "POST", asgPath(name)+"/desired-capacity", v1.SetDesiredCapacityRequest{DesiredCapacity: &n, HonorCooldown: honorCooldown}, &v)
}

// ExecutePolicy runs a group's simple or step scaling policy now
// (ExecutePolicy); policy is its name or ARN.
func (c *Client) ExecutePolicy(ctx context.Context, name, policy string, req v1.ExecutePolicyRequest) (v1.PolicyExecution, error) {
	var v v1.PolicyExecution
	return v, c.do(ctx, "POST", asgPath(name)+"/policies/"+url.PathEscape(policy)+"/execute", req, &v)
}

// CompleteLifecycleAction completes an instance's wait in a lifecycle hook
// (CompleteLifecycleAction).
func (c *Client) CompleteLifecycleAction(ctx context.Context, name string, req v1.CompleteLifecycleActionRequest) error {
	return c.do(ctx, "POST", asgPath(name)+"/lifecycle-actions", req, nil)
}

// RecordLifecycleActionHeartbeat extends an instance's wait in a lifecycle
// hook (RecordLifecycleActionHeartbeat).
func (c *Client) RecordLifecycleActionHeartbeat(ctx context.Context, name string, req v1.LifecycleHeartbeatRequest) error {
	return c.do(ctx, "POST", asgPath(name)+"/lifecycle-heartbeats", req, nil)
}

func asgPath(name string) string { return "/v1/autoscaling/groups/" + url.PathEscape(name) }

// InstanceRefreshes returns a group's instance refreshes, newest first
// (DescribeInstanceRefreshes).
func (c *Client) InstanceRefreshes(ctx context.Context, name string) ([]v1.InstanceRefresh, error) {
	var v []v1.InstanceRefresh
	return v, c.do(ctx, "GET", asgPath(name)+"/instance-refreshes", nil, &v)
}

// StartInstanceRefresh starts an instance refresh (StartInstanceRefresh).
func (c *Client) StartInstanceRefresh(ctx context.Context, name string, prefs v1.RefreshPreferences) (v1.InstanceRefresh, error) {
	var v v1.InstanceRefresh
	return v, c.do(ctx, "POST", asgPath(name)+"/instance-refreshes", prefs, &v)
}

// CancelInstanceRefresh cancels the active refresh (CancelInstanceRefresh).
func (c *Client) CancelInstanceRefresh(ctx context.Context, name string) (v1.InstanceRefresh, error) {
	var v v1.InstanceRefresh
	return v, c.do(ctx, "POST", asgPath(name)+"/instance-refreshes/cancel", nil, &v)
}

// RollbackInstanceRefresh rolls the active refresh back
// (RollbackInstanceRefresh).
func (c *Client) RollbackInstanceRefresh(ctx context.Context, name string) (v1.InstanceRefresh, error) {
	var v v1.InstanceRefresh
	return v, c.do(ctx, "POST", asgPath(name)+"/instance-refreshes/rollback", nil, &v)
}
