// Package api is madang's native HTTP/JSON API: the daemon serves it on a
// unix socket in the data directory (and optionally on TCP with a token),
// and the CLI is a thin client of it.
package api

import (
	"context"
	"errors"

	"github.com/madang-dev/madang/internal/stack"
)

// ErrValidation marks errors caused by bad input; the API answers them
// with 400 and code ValidationError.
var ErrValidation = errors.New("validation error")

// ErrConflict marks requests that clash with existing resources (another
// stack owns them); the API answers them with 409 and code Conflict.
var ErrConflict = errors.New("conflict")

// StackRequest carries a stack file to plan, apply or destroy. The daemon
// parses it itself, so errors name file:line.
type StackRequest struct {
	// Path is the absolute path of the stack file; relative paths inside
	// it resolve against its directory.
	Path string `json:"path"`
	// DisplayPath is the path as the user typed it, for error messages.
	DisplayPath string `json:"displayPath,omitempty"`
	// YAML is the file's content.
	YAML string `json:"yaml"`
	// Destroy plans or applies the removal of everything the stack owns.
	Destroy bool `json:"destroy,omitempty"`
}

// StackResult is the outcome of a plan or apply.
type StackResult struct {
	Stack    string         `json:"stack"`
	Changes  []stack.Change `json:"changes"`
	Warnings []string       `json:"warnings,omitempty"`
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
type ErrorBody struct {
	Error struct {
		// Code is machine-readable: ValidationError, NotFound, Conflict,
		// Unauthorized, Internal.
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Info describes the daemon.
type Info struct {
	Version     string `json:"version"`
	PID         int    `json:"pid"`
	Home        string `json:"home"`
	Socket      string `json:"socket"`
	AddressMode string `json:"addressMode"`
	Cgroups     string `json:"cgroups"`
}

// TagRequest changes an instance's tags.
type TagRequest struct {
	Set    map[string]string `json:"set,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}
