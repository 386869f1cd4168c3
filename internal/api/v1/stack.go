package v1

import (
	"fmt"
	"strings"
	"time"
)

// StackRequest carries a stack file to plan, apply or destroy (POST
// /v1/stack/plan, /v1/stack/apply). The daemon parses it itself, so its
// errors name file:line.
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

// StackResult is the outcome of a plan or an apply.
type StackResult struct {
	Stack string `json:"stack"`
	// Changes are what the apply changed (or would change); never null.
	Changes  []Change `json:"changes"`
	Warnings []string `json:"warnings,omitempty"`
}

// Change actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Change is one resource a stack apply creates, updates or deletes.
type Change struct {
	// Action is create, update or delete.
	Action string `json:"action"`
	// Kind is image, launch-template, instances, target-group or
	// load-balancer.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Details are one line per changed field of an update.
	Details []string `json:"details,omitempty"`
}

// String formats the change as a plan line: "+ image hello",
// "~ target-group web: healthCheck.path: / → /health".
func (c Change) String() string {
	sign := "~"
	switch c.Action {
	case ActionCreate:
		sign = "+"
	case ActionDelete:
		sign = "-"
	}
	s := sign + " " + c.Kind + " " + c.Name
	if len(c.Details) > 0 {
		s += ": " + strings.Join(c.Details, "; ")
	}
	return s
}

// Event levels.
const (
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Event is one thing the daemon did and why (GET /v1/events, JSON Lines).
type Event struct {
	// Seq increases by one per event, from 1; pass the last one seen as
	// ?after= to continue a stream.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Kind is the resource kind: instance, image, launch-template,
	// target-group, load-balancer, stack, daemon.
	Kind string `json:"kind"`
	// Resource is the resource's id or name.
	Resource string `json:"resource"`
	// Level is info, warn or error.
	Level   string `json:"level"`
	Message string `json:"message"`
}

// String formats the event as one log line, in local time.
func (e Event) String() string {
	return fmt.Sprintf("%s %-5s %s %s: %s", e.Time.Local().Format("15:04:05.000"), e.Level, e.Kind, e.Resource, e.Message)
}
