// Package protocol holds one generic codec per AWS wire protocol (query,
// ec2, AWS JSON 1.0/1.1 and Smithy RPC v2 CBOR). The codecs read requests
// into plain Go values and write responses and errors from them, driven by
// the shapes of the service model, so no operation has its own encoder.
//
// Values: a structure is a map[string]any keyed by member name (not by its
// wire name), a list []any, a map map[string]any, a string or enum string,
// an integer or long int64, a float or double float64, a boolean bool, a
// timestamp time.Time and a blob []byte. Decoded inputs come in exactly these
// types (wrapped as Struct for typed access); encoders also accept other Go
// integer and float kinds, typed slices such as []string or
// []map[string]any, named string types and pointers to scalars.
package protocol

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// Protocol names a wire protocol, spelled as in the models' metadata.
type Protocol string

// The protocols madang speaks.
const (
	Query Protocol = "query"
	EC2   Protocol = "ec2"
	JSON  Protocol = "json"
	CBOR  Protocol = "smithy-rpc-v2-cbor"
)

// Request is a request as Detect read it: its protocol, the operation it
// names and what identifies the service.
type Request struct {
	Protocol Protocol
	// Operation is the operation's name: the Action parameter, the part
	// of X-Amz-Target after the dot, or the last path segment for CBOR.
	Operation string
	// TargetPrefix is the X-Amz-Target prefix (JSON) or the service shape
	// name in the path (CBOR), e.g. "GraniteServiceVersion20100801".
	TargetPrefix string
	// JSONVersion is "1.0" or "1.1" for JSON requests.
	JSONVersion string
	// Version is the query protocols' Version parameter.
	Version string
	// Params holds the query protocols' parameters (form body and URL
	// query together).
	Params url.Values
	// Body is the request body (JSON and CBOR).
	Body []byte
	// QueryMode is set when the client asked for legacy query error codes
	// (header x-amzn-query-mode: true).
	QueryMode bool
}

// Response is an encoded response, ready to be written.
type Response struct {
	Status int
	Header http.Header
	// Body is the body, less the large kept encodings of frozen values
	// (see FrozenList) that the codec splices in where they belong
	// instead of copying them: Bytes returns the whole body, and Write
	// sends it.
	Body []byte
	// splices are the kept encodings left out of Body, in order.
	splices []splice
	// recycle, when set, takes Body back once it has been written: the
	// codec's buffer for the next response.
	recycle func([]byte)
}

// splice is a kept encoding that belongs in a body at offset at.
type splice struct {
	at    int
	bytes []byte
}

// Len returns the length of the whole body.
func (r *Response) Len() int {
	n := len(r.Body)
	for _, s := range r.splices {
		n += len(s.bytes)
	}
	return n
}

// Bytes returns the whole body: Body with the kept encodings spliced in.
func (r *Response) Bytes() []byte {
	if len(r.splices) == 0 {
		return r.Body
	}
	out := make([]byte, 0, r.Len())
	r.pieces(func(b []byte) { out = append(out, b...) })
	return out
}

// pieces calls fn with the body's pieces in order.
func (r *Response) pieces(fn func([]byte)) {
	from := 0
	for _, s := range r.splices {
		fn(r.Body[from:s.at])
		fn(s.bytes)
		from = s.at
	}
	fn(r.Body[from:])
}

// Write sends the response. Body belongs to the codec again afterwards
// (large answers reuse their buffer), so Write is the last use of r.
func (r *Response) Write(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range r.Header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(r.Len()))
	w.WriteHeader(r.Status)
	r.pieces(func(b []byte) {
		if len(b) > 0 {
			_, _ = w.Write(b)
		}
	})
	if r.recycle != nil {
		r.recycle(r.Body)
		r.Body, r.splices, r.recycle = nil, nil, nil
	}
}

// Codec reads inputs and writes outputs and errors of one service in one
// protocol. Implementations are safe for concurrent use.
type Codec interface {
	// DecodeInput reads the operation's input from the request. Problems
	// with the input come back as *Error in the service's terms.
	DecodeInput(op *model.Operation, req *Request) (Struct, error)
	// EncodeOutput writes a successful response. An error means out does
	// not fit the operation's output shape (a handler bug).
	EncodeOutput(op *model.Operation, out map[string]any, requestID string) (*Response, error)
	// EncodeError writes an error response.
	EncodeError(e *Error, req *Request, requestID string) *Response
}

// NewCodec returns the codec for protocol p of service svc.
func NewCodec(p Protocol, svc *model.Service) Codec {
	switch p {
	case EC2:
		return &xmlCodec{svc: svc, ec2: true}
	case JSON:
		return &jsonCodec{svc: svc}
	case CBOR:
		return &cborCodec{svc: svc}
	default:
		return &xmlCodec{svc: svc}
	}
}

const requestIDHeader = "X-Amzn-Requestid"

func newHeader(contentType, requestID string) http.Header {
	h := make(http.Header, 3)
	h.Set("Content-Type", contentType)
	h.Set(requestIDHeader, requestID)
	return h
}
