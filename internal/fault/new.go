package fault

import "fmt"

// New returns an error of code about the resource kind/id with a message
// and a hint (either may be empty).
func New(code Code, kind, id, message, hint string) *Error {
	return &Error{Code: code, Kind: kind, ID: id, Message: message, Hint: hint}
}

// Wrap returns an error of code about kind/id whose cause is err; its
// message is err's text unless WithMessage changes it.
func Wrap(code Code, kind, id string, err error) *Error {
	return &Error{Code: code, Kind: kind, ID: id, Err: err}
}

// WithHint returns a copy of e with the hint set.
func (e *Error) WithHint(hint string) *Error {
	c := *e
	c.Hint = hint
	return &c
}

// NotFoundf returns a [NotFound] error about kind/id with a formatted
// message.
func NotFoundf(kind, id, format string, args ...any) *Error {
	return New(NotFound, kind, id, fmt.Sprintf(format, args...), "")
}

// AlreadyExistsf returns an [AlreadyExists] error about kind/id.
func AlreadyExistsf(kind, id, format string, args ...any) *Error {
	return New(AlreadyExists, kind, id, fmt.Sprintf(format, args...), "")
}

// Conflictf returns a [Conflict] error about kind/id.
func Conflictf(kind, id, format string, args ...any) *Error {
	return New(Conflict, kind, id, fmt.Sprintf(format, args...), "")
}

// InUsef returns an [InUse] error about kind/id.
func InUsef(kind, id, format string, args ...any) *Error {
	return New(InUse, kind, id, fmt.Sprintf(format, args...), "")
}

// Invalidf returns an [Invalid] error about kind/id (both may be empty for
// a request that is wrong as a whole).
func Invalidf(kind, id, format string, args ...any) *Error {
	return New(Invalid, kind, id, fmt.Sprintf(format, args...), "")
}

// Unavailablef returns an [Unavailable] error about kind/id.
func Unavailablef(kind, id, format string, args ...any) *Error {
	return New(Unavailable, kind, id, fmt.Sprintf(format, args...), "")
}
