package v1

import "time"

// AccessKey is an access key (GET /v1/iam/access-keys), as
// ListAccessKeys shows it. SecretAccessKey is only in the answer to
// POST /v1/iam/access-keys, which creates the key: the secret is shown
// once.
type AccessKey struct {
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey,omitempty"`
	UserName        string    `json:"userName"`
	Status          string    `json:"status"`
	CreateDate      time.Time `json:"createDate"`
	// Default marks the key madang aws-env and madang aws-config print.
	Default bool `json:"default,omitempty"`
}

// CreateAccessKeyRequest creates an access key (POST
// /v1/iam/access-keys); an empty UserName is the default user, admin.
type CreateAccessKeyRequest struct {
	UserName string `json:"userName,omitempty"`
}

// AccessKeyStatusRequest makes a key Active or Inactive (POST
// /v1/iam/access-keys/{id}/status).
type AccessKeyStatusRequest struct {
	Status string `json:"status"`
}

// AWSSettings is what AWS clients need to reach madang (GET
// /v1/aws/settings): the endpoint, the region and account, and the
// default access key with its secret.
type AWSSettings struct {
	// Enabled is false when the daemon serves no AWS endpoint
	// (--aws-listen off); EndpointURL is then empty.
	Enabled     bool   `json:"enabled"`
	EndpointURL string `json:"endpointUrl,omitempty"`
	// Listen is the endpoint's host:port.
	Listen string `json:"listen,omitempty"`
	// Auth is "required" (requests must be signed) or "off" (unsigned
	// requests are accepted on loopback).
	Auth      string `json:"auth"`
	Region    string `json:"region"`
	AccountID string `json:"accountId"`
	// AccessKeyID and SecretAccessKey are the default key's ("" if it
	// was deleted); UserName and UserARN its user's.
	AccessKeyID     string `json:"accessKeyId,omitempty"`
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
	// AccessKeyStatus is the default key's status (Active or Inactive).
	AccessKeyStatus string `json:"accessKeyStatus,omitempty"`
	UserName        string `json:"userName,omitempty"`
	UserARN         string `json:"userArn,omitempty"`
}
