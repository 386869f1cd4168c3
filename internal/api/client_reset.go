package api

import (
	"context"

	"github.com/madang-dev/madang/internal/api/v1"
)

// ResetPlan returns what a reset would remove now (GET /v1/reset).
func (c *Client) ResetPlan(ctx context.Context) (v1.Reset, error) {
	var v v1.Reset
	return v, c.do(ctx, "GET", "/v1/reset", nil, &v)
}

// Reset removes every resource, instance, metric series and API-written
// log stream, keeping the access keys and the account, and returns what
// it removed (POST /v1/reset).
func (c *Client) Reset(ctx context.Context) (v1.Reset, error) {
	var v v1.Reset
	return v, c.do(ctx, "POST", "/v1/reset", nil, &v)
}
