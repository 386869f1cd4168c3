package route

import "time"

// The data-plane form of listener rules: plain data (it is marshalled to
// JSON to reach a separate data-plane process), built by the control
// plane from the stack file's specs and already validated there.
// Compile checks it again and compiles it for matching.

// RuleConfig is one listener rule.
type RuleConfig struct {
	// Priority is MinPriority–MaxPriority, unique within the listener.
	Priority   int
	Conditions []Condition
	// Actions run when the rule matches; the last one is terminal.
	Actions []Action
}

// Condition is one rule condition. Field is one of the Field constants.
type Condition struct {
	Field string
	// Values are the match values (hosts, path patterns, methods,
	// source-ip CIDRs, or header values for http-header); they are ORed.
	Values []string
	// HTTPHeaderName is the header for http-header.
	HTTPHeaderName string
	// QueryString holds the key/value pairs of query-string; an empty key
	// matches any key.
	QueryString []KeyValue
}

// KeyValue is a query-string match pair.
type KeyValue struct {
	Key, Value string
}

// Action types.
const (
	ActionForward       = "forward"
	ActionRedirect      = "redirect"
	ActionFixedResponse = "fixed-response"
	ActionStatic        = "static"
)

// Action is a rule action: Type is one of the Action constants and the
// matching field is set.
type Action struct {
	Type          string
	Forward       *Forward       `json:",omitempty"`
	Redirect      *Redirect      `json:",omitempty"`
	FixedResponse *FixedResponse `json:",omitempty"`
	Static        *Static        `json:",omitempty"`
}

// Forward forwards to one or more weighted target groups.
type Forward struct {
	TargetGroups []WeightedTargetGroup
	// Stickiness is how long a client sticks to the group it got (the
	// AWSALBTG cookie's lifetime); 0 turns group stickiness off.
	Stickiness time.Duration
}

// WeightedTargetGroup is a target group and its weight, 0–999.
type WeightedTargetGroup struct {
	Name   string
	Weight int
}

// ForwardTo is a forward action to one target group of weight 1.
func ForwardTo(group string) Action {
	return Action{Type: ActionForward, Forward: &Forward{TargetGroups: []WeightedTargetGroup{{Name: group, Weight: 1}}}}
}

// Redirect is a redirect action. Empty components keep the request's
// ("#{host}" and the other tokens may be used); StatusCode is 301 or 302.
type Redirect struct {
	Protocol, Host, Port, Path, Query string
	StatusCode                        int
}

// FixedResponse answers with a fixed status (2XX, 4XX or 5XX), content
// type (default text/plain) and body of at most 1024 bytes.
type FixedResponse struct {
	StatusCode  int
	ContentType string
	MessageBody string
}

// Static serves files from the absolute directory Root.
type Static struct {
	Root string
	// StripPrefix is removed from the request path before the lookup.
	StripPrefix string
	// Index is the file served for directories (default index.html).
	Index string
	// MaxAgeSeconds sets Cache-Control max-age; 0 means no-cache with
	// validators.
	MaxAgeSeconds int
}
