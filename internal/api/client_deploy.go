package api

import (
	"context"
	"net/url"

	"github.com/madang-dev/madang/internal/api/v1"
)

// StartDeployment starts an in-place deployment of a group
// (CreateDeployment).
func (c *Client) StartDeployment(ctx context.Context, group string, req v1.DeploymentRequest) (v1.Deployment, error) {
	var d v1.Deployment
	return d, c.do(ctx, "POST", asgPath(group)+"/deployments", req, &d)
}

// Deployments returns a group's deployments, newest first.
func (c *Client) Deployments(ctx context.Context, group string) ([]v1.Deployment, error) {
	var ds []v1.Deployment
	return ds, c.do(ctx, "GET", asgPath(group)+"/deployments", nil, &ds)
}

// Deployment returns one deployment of a group (GetDeployment).
func (c *Client) Deployment(ctx context.Context, group, id string) (v1.Deployment, error) {
	var d v1.Deployment
	return d, c.do(ctx, "GET", asgPath(group)+"/deployments/"+url.PathEscape(id), nil, &d)
}

// StopDeployment stops a group's active deployment; with rollback the
// instances it reached get the previous revision back.
func (c *Client) StopDeployment(ctx context.Context, group, id string, rollback bool) (v1.Deployment, error) {
	var d v1.Deployment
	in := struct {
		Rollback bool `json:"autoRollbackEnabled"`
	}{rollback}
	return d, c.do(ctx, "POST", asgPath(group)+"/deployments/"+url.PathEscape(id)+"/stop", in, &d)
}
