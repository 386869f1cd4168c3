package health

import "time"

// State is a target's health state, spelled as AWS's TargetHealth.State.
type State string

// Target health states.
const (
	// StateInitial: the target is registered and its first checks run.
	StateInitial State = "initial"
	// StateHealthy: the target passes its checks and receives traffic.
	StateHealthy State = "healthy"
	// StateUnhealthy: the target failed its checks, or live traffic
	// ejected it.
	StateUnhealthy State = "unhealthy"
	// StateUnused: the target group is not used by a listener rule, or the
	// instance is not running.
	StateUnused State = "unused"
	// StateDraining: the target is being deregistered.
	StateDraining State = "draining"
	// StateUnavailable: health checks are disabled for the target group.
	StateUnavailable State = "unavailable"
)

// String returns the state as AWS spells it.
func (s State) String() string { return string(s) }

// Reason codes, as in AWS's TargetHealth.Reason. Codes starting with
// "Elb." come from the load balancer side, codes starting with "Target."
// from the target side.
const (
	ReasonInitialHealthChecking    = "Elb.InitialHealthChecking"
	ReasonInternalError            = "Elb.InternalError"
	ReasonResponseCodeMismatch     = "Target.ResponseCodeMismatch"
	ReasonTimeout                  = "Target.Timeout"
	ReasonFailedHealthChecks       = "Target.FailedHealthChecks"
	ReasonNotInUse                 = "Target.NotInUse"
	ReasonInvalidState             = "Target.InvalidState"
	ReasonDeregistrationInProgress = "Target.DeregistrationInProgress"
	ReasonHealthCheckDisabled      = "Target.HealthCheckDisabled"
)

// Target is one registered target of a group.
type Target struct {
	// ID is the instance id or the IP address; unique within its group.
	ID string
	// Addr is the ip:port traffic address.
	Addr string
	// Draining is set while deregistration is in progress; the controller
	// keeps the target for the deregistration delay.
	Draining bool
	// Unavailable, when non-empty, says why the instance is not running,
	// e.g. "instance i-0abc is stopped". Such a target is unused with
	// reason Target.InvalidState.
	Unavailable string
}

// Group is a target group as the health checker sees it.
type Group struct {
	// Name identifies the group.
	Name string
	// InUse is true when a listener rule forwards to the group; the
	// targets of an unused group are unused with reason Target.NotInUse.
	InUse bool
	// Settings are the group's health-check settings.
	Settings Settings
	// Targets are the registered targets.
	Targets []Target
}

// TargetHealth is the health of one target, for display and events.
type TargetHealth struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
	// State is the AWS state.
	State State `json:"state"`
	// Reason is the AWS reason code, e.g. Target.ResponseCodeMismatch;
	// empty for healthy targets.
	Reason string `json:"reason,omitempty"`
	// Description explains the state for people, e.g.
	// "GET /health returned 404, expected 200".
	Description string `json:"description,omitempty"`
	// LastCheck is when the last active check finished; zero before the
	// first one.
	LastCheck time.Time `json:"lastCheck"`
	// LastLatency is how long the last active check took.
	LastLatency time.Duration `json:"lastLatency"`
	// ConsecutiveOK and ConsecutiveFail count the active checks that
	// passed or failed in a row.
	ConsecutiveOK   int `json:"consecutiveOK"`
	ConsecutiveFail int `json:"consecutiveFail"`
	// Since is when State last changed.
	Since time.Time `json:"since"`
	// Passive is non-empty while live traffic keeps the target ejected,
	// e.g. "ejected for 1s after 3 connection failures (ejection #2)".
	Passive string `json:"passive,omitempty"`
}

// Routable reports whether the load balancer may send new requests to the
// target: it is healthy, or its group's health checks are disabled.
func (th TargetHealth) Routable() bool {
	return routable(th.State, th.Reason)
}

func routable(s State, reason string) bool {
	return s == StateHealthy || (s == StateUnavailable && reason == ReasonHealthCheckDisabled)
}

// Record is the persisted health of one target (see [Manager.Snapshot]).
type Record struct {
	Group       string    `json:"group"`
	ID          string    `json:"id"`
	Addr        string    `json:"addr"`
	State       State     `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	Description string    `json:"description,omitempty"`
	Since       time.Time `json:"since"`
	// ConsecutiveOK and ConsecutiveFail are the active-check counters.
	ConsecutiveOK   int `json:"consecutiveOK,omitempty"`
	ConsecutiveFail int `json:"consecutiveFail,omitempty"`
}

// Sink receives routability changes; the proxy implements it.
//
// SetHealthy is called with healthy=true when a target becomes routable
// (healthy, or its group's checks are disabled), since being when that
// happened, and with healthy=false when it becomes unhealthy, ejected,
// initial, unused, draining or unavailable. Every change is reported, in
// order per group; [Manager.Update] and [Manager.Restore] also report the
// current state of every target they touch, so a freshly built proxy
// learns it.
//
// SetHealthy is called with the Manager's internal locks held, sometimes
// from inside [Manager.Observe] on the caller's goroutine. It must not
// block and must not call the Manager.
type Sink interface {
	SetHealthy(group, targetID string, healthy bool, since time.Time)
}

// Outcome is what the proxy saw of one request forwarded to a target.
type Outcome struct {
	// ConnectFailed: no connection could be made (refused, unreachable,
	// connect timeout).
	ConnectFailed bool
	// Reset: the target closed or reset the connection before a response.
	Reset bool
	// Timeout: the target did not answer in time.
	Timeout bool
	// Status is the target's response status, 0 when there was none.
	Status int
	// Latency is how long the target took.
	Latency time.Duration
}
