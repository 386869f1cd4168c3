// Package api is madang's native HTTP/JSON API: the daemon serves it on a
// unix socket in the data directory (and optionally on TCP with a token),
// and the CLI is a thin client of it. The wire types are in package v1;
// this package holds the server, which converts the daemon's records into
// them, and the typed client.
package api

import (
	"context"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/stack"
)

// ErrValidation marks errors caused by bad input; the API answers them
// with 400 and code ValidationError. It is a [fault.Invalid] sentinel.
var ErrValidation = fault.Sentinel(fault.Invalid, "", "validation error")

// ErrConflict marks requests that clash with existing resources (another
// stack owns them); the API answers them with 409 and code Conflict. It is
// a [fault.Conflict] sentinel.
var ErrConflict = fault.Sentinel(fault.Conflict, "", "conflict")

// StackRequest carries a stack file to plan, apply or destroy.
type StackRequest = v1.StackRequest

// StackResult is the outcome of a plan or apply, as the daemon computes
// it; the server sends it as a [v1.StackResult].
type StackResult struct {
	Stack    string
	Changes  []stack.Change
	Warnings []string
}

// Stacks plans and applies stack files.
type Stacks interface {
	// Plan returns what Apply would change, changing nothing.
	Plan(ctx context.Context, req StackRequest) (StackResult, error)
	// Apply converges the daemon to the stack file (or removes the stack
	// when req.Destroy). It validates everything before changing anything.
	Apply(ctx context.Context, req StackRequest) (StackResult, error)
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody = v1.ErrorBody

// Info describes the daemon.
type Info = v1.Info
