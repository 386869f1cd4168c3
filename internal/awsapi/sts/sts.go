// Package sts serves AWS Security Token Service operations on madang's
// AWS endpoint: GetCallerIdentity, which tells a client which account and
// principal its credentials stand for (`aws sts get-caller-identity`).
package sts

import (
	"context"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/model"
)

// Service returns the STS service for the endpoint.
func Service() (awsapi.Service, error) {
	m, err := model.Load("sts")
	if err != nil {
		return awsapi.Service{}, err
	}
	return awsapi.Service{
		Name:  "sts",
		Model: m,
		Handlers: map[string]awsapi.Handler{
			"GetCallerIdentity": getCallerIdentity,
		},
	}, nil
}

// getCallerIdentity answers with the caller the authenticator identified.
func getCallerIdentity(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	return map[string]any{
		"Account": call.Caller.AccountID,
		"Arn":     call.Caller.ARN,
		"UserId":  call.Caller.UserID,
	}, nil
}
