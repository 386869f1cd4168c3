package api

import (
	"context"
	"net/url"

	"github.com/madang-dev/madang/internal/api/v1"
)

// AccessKeys lists the access keys, without their secrets
// (ListAccessKeys).
func (c *Client) AccessKeys(ctx context.Context) ([]v1.AccessKey, error) {
	var v []v1.AccessKey
	return v, c.do(ctx, "GET", "/v1/iam/access-keys", nil, &v)
}

// CreateAccessKey creates an access key for user ("": the default user)
// and returns it with its secret, which is shown only this once
// (CreateAccessKey).
func (c *Client) CreateAccessKey(ctx context.Context, user string) (v1.AccessKey, error) {
	var v v1.AccessKey
	return v, c.do(ctx, "POST", "/v1/iam/access-keys", v1.CreateAccessKeyRequest{UserName: user}, &v)
}

// DeleteAccessKey deletes an access key (DeleteAccessKey).
func (c *Client) DeleteAccessKey(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", accessKeyPath(id), nil, nil)
}

// SetAccessKeyStatus makes an access key Active or Inactive
// (UpdateAccessKey).
func (c *Client) SetAccessKeyStatus(ctx context.Context, id, status string) (v1.AccessKey, error) {
	var v v1.AccessKey
	return v, c.do(ctx, "POST", accessKeyPath(id)+"/status", v1.AccessKeyStatusRequest{Status: status}, &v)
}

// AWSSettings returns what AWS clients need to reach madang, with the
// default access key's secret.
func (c *Client) AWSSettings(ctx context.Context) (v1.AWSSettings, error) {
	var v v1.AWSSettings
	return v, c.do(ctx, "GET", "/v1/aws/settings", nil, &v)
}

func accessKeyPath(id string) string { return "/v1/iam/access-keys/" + url.PathEscape(id) }
