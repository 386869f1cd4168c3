package protocol

import (
	"fmt"
	"net/http"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// Error is an AWS error as handlers return it and the codecs encode it.
//
// Code is the error code the service uses, e.g. "InvalidInstanceID.NotFound"
// or "TargetGroupNotFound"; a modelled error may also be named by its shape
// name ("TargetGroupNotFoundException"). For modelled errors the HTTP status
// and fault come from the model. Otherwise Status is used (400 when zero)
// and the fault is the receiver's when Status is 5xx and Sender is false,
// else the sender's.
type Error struct {
	Code    string
	Message string
	Status  int
	Sender  bool
}

// Error implements error.
func (e *Error) Error() string {
	return e.Code + ": " + e.Message
}

// Errorf returns a client (sender) error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest, Sender: true}
}

// InternalError returns the InternalFailure error (HTTP 500) AWS reports
// for faults of the service itself.
func InternalError(format string, args ...any) *Error {
	return &Error{Code: "InternalFailure", Message: fmt.Sprintf(format, args...), Status: http.StatusInternalServerError}
}

// resolvedError is an Error in the terms of one service.
type resolvedError struct {
	// code is the query protocols' code (and the x-amzn-query-error code).
	code string
	// typeName is the JSON/CBOR __type: the exception shape's name for
	// modelled errors, else the code.
	typeName string
	status   int
	sender   bool
	message  string
}

func resolve(svc *model.Service, e *Error) resolvedError {
	r := resolvedError{code: e.Code, typeName: e.Code, status: e.Status, message: e.Message}
	if r.status == 0 {
		r.status = http.StatusBadRequest
	}
	r.sender = e.Sender || r.status < 500
	if sh := svc.ErrorShape(e.Code); sh != nil {
		r.code, r.typeName = sh.ErrorCode(), sh.Name
		r.sender = !sh.Fault
		if sh.Error != nil {
			r.sender = sh.Error.SenderFault && !sh.Fault
		}
		switch {
		case sh.Error != nil && sh.Error.HTTPStatusCode != 0:
			r.status = sh.Error.HTTPStatusCode
		case sh.Fault:
			r.status = http.StatusInternalServerError
		default:
			r.status = http.StatusBadRequest
		}
	}
	return r
}

func (r resolvedError) fault() string {
	if r.sender {
		return "Sender"
	}
	return "Receiver"
}
