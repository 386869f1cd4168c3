// Package fault is madang's typed domain error: what went wrong (a [Code]),
// with which resource (its kind and id or name), in words for people (a
// message and an optional hint).
//
// Producers construct errors with [New] or the per-code constructors
// ([NotFoundf], [Invalidf], …). Consumers match them by code with
// [errors.Is] against the sentinels ([ErrNotFound], [ErrInvalid], …), read
// the fields with [As], and map them to their own vocabulary: the native
// API to an HTTP status and a machine-readable code, the CLI to words and
// exit codes, and an AWS-compatible endpoint to AWS error codes (kind
// "instance" with [NotFound] is InvalidInstanceID.NotFound, kind
// "target-group" with [NotFound] is TargetGroupNotFound, and so on).
//
// The package is a leaf: it imports only the standard library, so every
// other package may use it.
package fault

import (
	"errors"
	"strings"
)

// Code says what kind of failure an error is, independent of the resource.
type Code string

// Codes. Their string values are stable: they appear in logs and tests.
const (
	// NotFound: the resource does not exist.
	NotFound Code = "NotFound"
	// AlreadyExists: a resource with that name or id exists already.
	AlreadyExists Code = "AlreadyExists"
	// Conflict: the request clashes with the current state of the
	// resource (another stack owns it, a concurrent change won).
	Conflict Code = "Conflict"
	// InUse: the resource cannot change or go away while others use it.
	InUse Code = "InUse"
	// Invalid: the request itself is wrong (bad field, bad value, an
	// action the resource's state does not allow).
	Invalid Code = "Invalid"
	// Unavailable: the service cannot serve the request now; retrying
	// later may succeed.
	Unavailable Code = "Unavailable"
	// Unauthorized: the caller did not prove who it is.
	Unauthorized Code = "Unauthorized"
	// Internal: a failure that is not the caller's doing.
	Internal Code = "Internal"
)

// Codes returns every code, in declaration order.
func Codes() []Code {
	return []Code{NotFound, AlreadyExists, Conflict, InUse, Invalid, Unavailable, Unauthorized, Internal}
}

// Error is a domain error. The zero Kind and ID mean the error is about no
// resource in particular (a malformed request body, a missing token).
type Error struct {
	// Code says what kind of failure this is.
	Code Code
	// Kind is the resource kind in the event log's vocabulary:
	// "instance", "image", "launch-template", "instance-group",
	// "target-group", "load-balancer", "stack".
	Kind string
	// ID is the resource's id or name, as the caller gave it.
	ID string
	// Message says what went wrong, for people, without the hint.
	Message string
	// Hint, if set, says what to do about it ("see madang ps").
	Hint string
	// Err is the underlying cause, if any.
	Err error
}

// Error returns the message, followed by the hint after "; " if there is
// one. It falls back to the cause's text, then to the code.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		msg = e.describe()
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// describe is the text of an error without a message: "instance i-0abc:
// not found".
func (e *Error) describe() string {
	words := map[Code]string{
		NotFound: "not found", AlreadyExists: "already exists", Conflict: "conflict",
		InUse: "in use", Invalid: "invalid", Unavailable: "unavailable",
		Unauthorized: "unauthorized", Internal: "internal error",
	}[e.Code]
	if words == "" {
		words = strings.ToLower(string(e.Code))
	}
	subject := strings.TrimSpace(e.Kind + " " + e.ID)
	if subject == "" {
		return words
	}
	return subject + ": " + words
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code whose set
// fields (Kind, ID) match e's: [ErrNotFound] matches every not-found
// error, &Error{Code: NotFound, Kind: "instance"} only missing instances.
// A target's Message and Hint are ignored, so sentinels may carry text.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Code != e.Code {
		return false
	}
	return (t.Kind == "" || t.Kind == e.Kind) && (t.ID == "" || t.ID == e.ID)
}

// Sentinels for matching with [errors.Is], one per code. They are errors
// themselves, so fmt.Errorf("%w: …", fault.ErrInvalid) also yields an
// error of that code (without kind or id).
var (
	ErrNotFound      = &Error{Code: NotFound, Message: "not found"}
	ErrAlreadyExists = &Error{Code: AlreadyExists, Message: "already exists"}
	ErrConflict      = &Error{Code: Conflict, Message: "conflict"}
	ErrInUse         = &Error{Code: InUse, Message: "in use"}
	ErrInvalid       = &Error{Code: Invalid, Message: "invalid request"}
	ErrUnavailable   = &Error{Code: Unavailable, Message: "unavailable"}
	ErrUnauthorized  = &Error{Code: Unauthorized, Message: "unauthorized"}
	ErrInternal      = &Error{Code: Internal, Message: "internal error"}
)

// Sentinel returns a sentinel of code with its own text, for packages that
// keep a named sentinel of their own (compute.ErrNotFound): it matches
// every error of that code (and of that kind, unless kind is ""), and
// errors wrapping it have its code.
func Sentinel(code Code, kind, text string) *Error {
	return &Error{Code: code, Kind: kind, Message: text}
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	return errors.AsType[*Error](err)
}

// CodeOf returns the code of the first *Error in err's chain: "" for nil,
// [Internal] for an error that carries no code.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}

// HintOf returns the hint of the first *Error in err's chain that has one.
func HintOf(err error) string {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Hint != "" {
			return e.Hint
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				if h := HintOf(x); h != "" {
					return h
				}
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

// Resource kinds, as in events and the API's routes.
const (
	KindInstance       = "instance"
	KindImage          = "image"
	KindLaunchTemplate = "launch-template"
	KindInstanceGroup  = "instance-group"
	KindTargetGroup    = "target-group"
	KindLoadBalancer   = "load-balancer"
	KindStack          = "stack"
)
