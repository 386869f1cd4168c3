package sigv4

import "net/http"

// Reason is why a request was refused, independent of any service's error
// code: the endpoint, or [Error.ForService], maps it onto a code.
type Reason int

// Reasons for refusing a request.
const (
	// ReasonMissing: the request carries no credentials at all.
	ReasonMissing Reason = iota + 1
	// ReasonIncomplete: the Authorization header or the presigned query
	// parameters are malformed or lack a part.
	ReasonIncomplete
	// ReasonUnknownKey: the access key id is not one of madang's active
	// keys, or a session token was given (madang issues none).
	ReasonUnknownKey
	// ReasonSignature: the signature does not match, or the credential
	// scope is wrong (date, region, terminator).
	ReasonSignature
	// ReasonSkew: the request's date is more than [MaxSkew] away from now.
	ReasonSkew
	// ReasonExpired: a presigned URL's X-Amz-Expires has passed.
	ReasonExpired
	// ReasonRegion: the credential scope names a region other than
	// madang's.
	ReasonRegion
)

// String returns the reason's name.
func (r Reason) String() string {
	switch r {
	case ReasonMissing:
		return "missing"
	case ReasonIncomplete:
		return "incomplete"
	case ReasonUnknownKey:
		return "unknown-key"
	case ReasonSignature:
		return "signature"
	case ReasonSkew:
		return "skew"
	case ReasonExpired:
		return "expired"
	case ReasonRegion:
		return "region"
	}
	return "unknown"
}

// Error is a refused request, in the words of AWS's query protocol
// services (STS, Auto Scaling, Elastic Load Balancing, CloudWatch): Code
// and Message go in the error body, Status is the HTTP status. Use
// [Error.ForService] for the codes of EC2 and CloudWatch Logs.
type Error struct {
	Code    string
	Message string
	Status  int
	// Reason is why, for mapping onto other protocols' codes.
	Reason Reason
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Messages AWS answers with (the same words as AWS's services).
const (
	msgMissing    = "Request is missing Authentication Token"
	msgUnknownKey = "The security token included in the request is invalid."
	msgSignature  = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgEC2Auth    = "AWS was not able to validate the provided access credentials"
	msgEC2Expired = "Request has expired."
)

func errMissing() *Error {
	return &Error{Code: "MissingAuthenticationToken", Message: msgMissing, Status: http.StatusForbidden, Reason: ReasonMissing}
}

func errIncomplete(msg string) *Error {
	return &Error{Code: "IncompleteSignature", Message: msg, Status: http.StatusBadRequest, Reason: ReasonIncomplete}
}

func errUnknownKey(msg string) *Error {
	return &Error{Code: "InvalidClientTokenId", Message: msg, Status: http.StatusForbidden, Reason: ReasonUnknownKey}
}

func errSignature(msg string) *Error {
	return &Error{Code: "SignatureDoesNotMatch", Message: msg, Status: http.StatusForbidden, Reason: ReasonSignature}
}

func errSkew(msg string) *Error {
	return &Error{Code: "SignatureDoesNotMatch", Message: msg, Status: http.StatusForbidden, Reason: ReasonSkew}
}

func errRegion(msg string) *Error {
	return &Error{Code: "SignatureDoesNotMatch", Message: msg, Status: http.StatusForbidden, Reason: ReasonRegion}
}

func errExpired(msg string) *Error {
	return &Error{Code: "SignatureDoesNotMatch", Message: msg, Status: http.StatusForbidden, Reason: ReasonExpired}
}

// ForService returns the error as the scope's service answers it. The
// query services (sts, autoscaling, elasticloadbalancing, monitoring —
// whose JSON and CBOR protocols are query-compatible) answer with e as it
// is. EC2 folds unknown keys and bad signatures into AuthFailure (401) and
// answers skewed or expired requests with RequestExpired; CloudWatch Logs
// (JSON 1.1) answers with UnrecognizedClientException,
// InvalidSignatureException, IncompleteSignatureException and
// MissingAuthenticationTokenException, all with status 400.
func (e *Error) ForService(service string) *Error {
	out := *e
	switch service {
	case "ec2":
		switch e.Reason {
		case ReasonUnknownKey:
			out.Code, out.Status, out.Message = "AuthFailure", http.StatusUnauthorized, msgEC2Auth
		case ReasonSignature, ReasonRegion:
			out.Code, out.Status = "AuthFailure", http.StatusUnauthorized
		case ReasonSkew, ReasonExpired:
			out.Code, out.Status = "RequestExpired", http.StatusBadRequest
			out.Message = msgEC2Expired + " " + e.Message
		}
	case "logs":
		out.Status = http.StatusBadRequest
		switch e.Reason {
		case ReasonMissing:
			out.Code = "MissingAuthenticationTokenException"
		case ReasonIncomplete:
			out.Code = "IncompleteSignatureException"
		case ReasonUnknownKey:
			out.Code = "UnrecognizedClientException"
		case ReasonSignature, ReasonSkew, ReasonExpired, ReasonRegion:
			out.Code = "InvalidSignatureException"
		}
	}
	return &out
}
