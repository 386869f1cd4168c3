// Package v1 holds the wire types of madang's native API, version 1: the
// JSON bodies the daemon sends and accepts under /v1/. They are separate
// from the daemon's internal records so those can change without changing
// what clients (the CLI, scripts reading `-o json`) see.
//
// Conventions: field names are lowerCamelCase; a list is a JSON array
// (never null) and a describe is one object; times are RFC 3339; a
// duration is either a Go duration string ("5s") or a number whose field
// name says the unit (uptimeSeconds). Streams (events, logs) are JSON
// Lines, one object per line. Every error answer is an [ErrorBody].
//
// Routes name resources by a plural kind segment ([KindInstances],
// [KindTargetGroups], …): GET /v1/{kind} lists, GET /v1/{kind}/{name}
// describes, and sub-resources and actions hang below
// (/v1/instances/{id}/logs, POST /v1/instances/{id}/stop).
package v1

// Route segments of resource kinds.
const (
	KindInstances       = "instances"
	KindImages          = "images"
	KindLaunchTemplates = "launch-templates"
	KindInstanceGroups  = "groups"
	KindTargetGroups    = "target-groups"
	KindLoadBalancers   = "load-balancers"
)

// Info describes the daemon (GET /v1/info).
type Info struct {
	// Version is the daemon's madang version.
	Version string `json:"version"`
	// PID is the daemon's process id.
	PID int `json:"pid"`
	// Home is the data directory.
	Home string `json:"home"`
	// Socket is the API's unix socket.
	Socket string `json:"socket"`
	// AddressMode is how instances get addresses: loopback IPs or ports.
	AddressMode string `json:"addressMode"`
	// Cgroups is the cgroup version that enforces instance types.
	Cgroups string `json:"cgroups"`
	// DataPlanePID is the process serving the load balancers' listeners:
	// the data-plane process, or the daemon itself when it runs the data
	// plane in-process.
	DataPlanePID int `json:"dataPlanePid,omitempty"`
	// PrometheusListen is the loopback address serving /metrics in the
	// Prometheus text format ("" when only the API socket serves it).
	PrometheusListen string `json:"prometheusListen,omitempty"`
}

// Error codes of [ErrorDetail.Code], one per HTTP status class the API
// answers with.
const (
	// CodeValidation (400): the request is wrong; fix it and retry.
	CodeValidation = "ValidationError"
	// CodeUnauthorized (401): missing or wrong token.
	CodeUnauthorized = "Unauthorized"
	// CodeNotFound (404): the resource does not exist.
	CodeNotFound = "NotFound"
	// CodeAlreadyExists (409): a resource with that name exists.
	CodeAlreadyExists = "AlreadyExists"
	// CodeConflict (409): the request clashes with the resource's state
	// (another stack owns it).
	CodeConflict = "Conflict"
	// CodeInUse (409): the resource is used by others.
	CodeInUse = "InUse"
	// CodeUnavailable (503): the daemon cannot serve this now; retry.
	CodeUnavailable = "Unavailable"
	// CodeInternal (500): a failure that is not the caller's doing.
	CodeInternal = "Internal"
)

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is what went wrong.
type ErrorDetail struct {
	// Code is machine-readable: one of the Code constants.
	Code string `json:"code"`
	// Message says what went wrong, for people (without the hint).
	Message string `json:"message"`
	// Kind is the resource kind the error is about ("instance",
	// "target-group", …), if any.
	Kind string `json:"kind,omitempty"`
	// ID is that resource's id or name.
	ID string `json:"id,omitempty"`
	// Hint says what to do about it.
	Hint string `json:"hint,omitempty"`
}
