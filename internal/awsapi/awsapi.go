// Package awsapi is madang's AWS-compatible endpoint: an http.Handler that
// speaks the AWS wire protocols (query, ec2, AWS JSON, Smithy RPC v2 CBOR)
// so the aws CLI and the AWS SDKs can drive madang with --endpoint-url.
//
// It reads a request, finds its protocol, service and operation, has the
// Authenticator identify the caller, decodes the input against the service
// model, calls the operation's Handler and encodes the output or the error
// in the request's protocol. Services register handlers per operation; the
// codecs in package protocol do all the encoding.
package awsapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// DefaultMaxBodyBytes is the largest request body the endpoint reads.
const DefaultMaxBodyBytes = 2 << 20

// Caller is the identity a request is made as.
type Caller struct {
	// AccountID is the 12-digit account, e.g. "000000000000".
	AccountID string
	// ARN is the principal's ARN, e.g. "arn:aws:iam::000000000000:user/dev".
	ARN string
	// UserID is the principal's unique id (AIDA… for users).
	UserID string
	// AccessKeyID is the key the request was signed with; empty when
	// unsigned requests are let through.
	AccessKeyID string
	// UserName is the IAM user name, e.g. "dev".
	UserName string
}

// Authenticator identifies the caller of a request.
//
// Authenticate is called with the request and its whole body (already
// read; r.Body must not be read again) before the input is decoded. It
// returns the caller, or an error: a *protocol.Error is sent to the client
// as it is (e.g. InvalidClientTokenId, SignatureDoesNotMatch, 403); any
// other error becomes an InternalFailure. It must be safe for concurrent
// use.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (Caller, error)
}

// AllowAll is the Authenticator for a daemon with authentication off: every
// request, signed or not, is made as Caller.
type AllowAll struct {
	Caller Caller
}

// Authenticate implements Authenticator.
func (a AllowAll) Authenticate(*http.Request, []byte) (Caller, error) {
	return a.Caller, nil
}

// Call is one decoded request as a Handler sees it.
type Call struct {
	// Service and Operation are the model's.
	Service   *model.Service
	Operation *model.Operation
	// Protocol is the wire protocol the client used.
	Protocol protocol.Protocol
	// Input is the decoded input, keyed by member name.
	Input protocol.Struct
	// Caller is who made the request.
	Caller Caller
	// Region is the endpoint's region, e.g. "local-1".
	Region string
	// RequestID is the id sent back in the response, UUID-shaped.
	RequestID string
}

// Handler serves one operation. It returns the output as a map keyed by
// member name (see package protocol for the value types) or an error; a
// *protocol.Error is sent to the client in the service's terms, any other
// error becomes an InternalFailure (HTTP 500) with its message.
//
// An operation whose output streams events (its output has a member with
// the eventstream trait, e.g. CloudWatch Logs' StartLiveTail) answers
// with an EventStream as that member's value; the other members go in the
// stream's initial-response event.
type Handler func(ctx context.Context, call *Call) (map[string]any, error)

// EventStream writes an operation's event stream. The endpoint calls it
// once the handler has returned without error, after sending the status,
// the headers and the initial-response event, with w to write the events;
// it returns when the stream ends, and the response ends with it. ctx
// ends when the client goes away or the endpoint closes its streams
// (CloseStreams; context.Cause(ctx) is then ErrStreamsClosed), and the
// function should return soon after. An error it returns is logged; the
// client has the stream up to then, so exceptions meant for the client
// are written with w.Exception first.
type EventStream func(ctx context.Context, w *protocol.EventWriter) error

// ErrStreamsClosed is the cause of the contexts of event streams ended by
// CloseStreams.
var ErrStreamsClosed = errors.New("awsapi: the endpoint is closing its event streams")

// Service is a service the endpoint serves: its model and the handlers
// of the operations madang implements.
type Service struct {
	// Name is the model name (model.Load), e.g. "elasticloadbalancingv2".
	Name string
	// Model is the service model; when nil, New loads Name.
	Model *model.Service
	// Handlers maps operation names to their handlers.
	Handlers map[string]Handler
}

// Options configure an Endpoint.
type Options struct {
	Services []Service
	// Region is reported to handlers, e.g. "local-1".
	Region string
	// AccountID is the endpoint's account; callers the Authenticator
	// returns without an account are given it.
	AccountID     string
	Logger        *slog.Logger
	Authenticator Authenticator
	// MaxBodyBytes bounds request bodies; DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
	// NewRequestID makes request ids; random UUIDs (version 4) when nil.
	NewRequestID func() string
}

// Endpoint is the AWS-compatible endpoint, an http.Handler.
type Endpoint struct {
	opts     Options
	log      *slog.Logger
	services []*service
	// bySigningName, byTarget and byVersion place requests; all are
	// filled by New and read-only afterwards.
	bySigningName map[string]*service
	byTarget      map[string]*service
	byVersion     map[string]*service
	// streams is the parent of every event stream's context;
	// CloseStreams cancels it.
	streams      context.Context
	closeStreams context.CancelCauseFunc
}

type service struct {
	svc      *model.Service
	handlers map[string]Handler
	codecs   map[protocol.Protocol]protocol.Codec
}

// New returns an Endpoint serving the given services.
func New(opts Options) (*Endpoint, error) {
	if opts.Authenticator == nil {
		return nil, errors.New("awsapi: Options.Authenticator is nil; use AllowAll to serve without authentication")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.NewRequestID == nil {
		opts.NewRequestID = newUUID
	}
	e := &Endpoint{
		opts: opts, log: opts.Logger.With("component", "awsapi"),
		bySigningName: map[string]*service{}, byTarget: map[string]*service{}, byVersion: map[string]*service{},
	}
	e.streams, e.closeStreams = context.WithCancelCause(context.Background())
	for _, s := range opts.Services {
		m := s.Model
		if m == nil {
			var err error
			if m, err = model.Load(s.Name); err != nil {
				return nil, fmt.Errorf("awsapi: service %s: %w", s.Name, err)
			}
		}
		for op := range s.Handlers {
			if m.Operation(op) == nil {
				return nil, fmt.Errorf("awsapi: service %s: handler for %q, which is not an operation of the model", m.Name, op)
			}
		}
		sv := &service{svc: m, handlers: s.Handlers, codecs: map[protocol.Protocol]protocol.Codec{}}
		for _, p := range m.Metadata.Protocols {
			sv.codecs[protocol.Protocol(p)] = protocol.NewCodec(protocol.Protocol(p), m)
		}
		if _, dup := e.bySigningName[m.SigningName()]; dup {
			return nil, fmt.Errorf("awsapi: two services sign as %q", m.SigningName())
		}
		e.services = append(e.services, sv)
		e.bySigningName[m.SigningName()] = sv
		if m.Metadata.TargetPrefix != "" {
			e.byTarget[m.Metadata.TargetPrefix] = sv
		}
		if m.HasProtocol(string(protocol.Query)) || m.HasProtocol(string(protocol.EC2)) {
			e.byVersion[m.Metadata.APIVersion] = sv
		}
	}
	return e, nil
}

// CloseStreams ends every event stream being served and every one started
// later: their contexts end with cause ErrStreamsClosed. http.Server's
// Shutdown waits for responses in progress, which a stream would delay
// for as long as it lasts, so a server registers it with
// RegisterOnShutdown.
func (e *Endpoint) CloseStreams() {
	e.closeStreams(ErrStreamsClosed)
}

// Operations returns, per service model name, the operations that have
// handlers, sorted.
func (e *Endpoint) Operations() map[string][]string {
	out := make(map[string][]string, len(e.services))
	for _, s := range e.services {
		ops := make([]string, 0, len(s.handlers))
		for op := range s.handlers {
			ops = append(ops, op)
		}
		sort.Strings(ops)
		out[s.svc.Name] = ops
	}
	return out
}

// errorCodec encodes errors that happen before the service is known: in
// the request's protocol, with the terms of any service that speaks it.
func (e *Endpoint) errorCodec(p protocol.Protocol) (protocol.Codec, *model.Service) {
	for _, s := range e.services {
		if c, ok := s.codecs[p]; ok && (p != protocol.Query || !s.svc.HasProtocol(string(protocol.EC2))) {
			return c, s.svc
		}
	}
	return nil, nil
}

// ServeHTTP implements http.Handler.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := e.opts.NewRequestID()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.opts.MaxBodyBytes))
	payload := body
	if err == nil {
		payload, err = e.decompress(r, body)
	}
	req, derr := protocol.Detect(r, payload)
	var ps *protocol.Error
	switch {
	case err != nil:
		var tooBig *http.MaxBytesError
		var pe *protocol.Error
		switch {
		case errors.As(err, &pe):
			ps = pe
		case errors.As(err, &tooBig):
			ps = &protocol.Error{Code: "RequestEntityTooLarge", Message: fmt.Sprintf("the request body is larger than %d bytes", e.opts.MaxBodyBytes), Status: http.StatusRequestEntityTooLarge, Sender: true}
		default:
			ps = protocol.Errorf("IncompleteBody", "reading the request body: %v", err)
		}
	case derr != nil:
		errors.As(derr, &ps)
	}
	sv, serr := e.place(r, req)
	if ps == nil && serr != nil {
		ps = serr
	}
	if sv != nil && sv.svc.HasProtocol(string(protocol.EC2)) && req.Protocol == protocol.Query {
		req.Protocol = protocol.EC2
	}
	var codec protocol.Codec
	if sv != nil {
		if codec = sv.codecs[req.Protocol]; codec == nil && ps == nil {
			ps = protocol.Errorf(unknownOperation(req.Protocol), "%s does not speak the %s protocol (it speaks %s)",
				sv.svc.Metadata.ServiceID, req.Protocol, strings.Join(sv.svc.Metadata.Protocols, ", "))
		}
	}
	if codec == nil {
		codec, _ = e.errorCodec(req.Protocol)
	}
	if codec == nil {
		http.Error(w, "madang's AWS endpoint serves no service in this protocol", http.StatusBadRequest)
		return
	}
	if ps != nil {
		e.fail(w, codec, ps, req, requestID, r)
		return
	}
	resp, stream, err := e.serve(r, body, sv, codec, req, requestID)
	if err == nil && stream != nil {
		err = e.stream(w, r, req, stream)
	}
	if err != nil {
		var pe *protocol.Error
		if !errors.As(err, &pe) {
			e.log.Error("request failed", "service", sv.svc.Name, "operation", req.Operation, "request_id", requestID, "err", err)
			pe = protocol.InternalError("%v", err)
		}
		e.fail(w, codec, pe, req, requestID, r)
		return
	}
	if resp != nil {
		resp.Write(w)
	}
}

// streamReply is an operation's answer with an event stream.
type streamReply struct {
	call   *Call
	output map[string]any
	write  EventStream
}

// stream sends an event stream reply. It fails (and nothing is written)
// only when the stream cannot start; errors of the stream are logged.
func (e *Endpoint) stream(w http.ResponseWriter, r *http.Request, req *protocol.Request, s *streamReply) error {
	call := s.call
	ew, err := protocol.NewEventWriter(w, req.Protocol, call.Operation, s.output, call.RequestID)
	if ew == nil {
		return err
	}
	if err != nil {
		e.log.Debug("event stream ended at its start", "service", call.Service.Name, "operation", call.Operation.Name, "request_id", call.RequestID, "err", err)
		return nil
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	stop := context.AfterFunc(e.streams, func() { cancel(context.Cause(e.streams)) })
	defer stop()
	e.log.Debug("event stream started", "service", call.Service.Name, "operation", call.Operation.Name, "request_id", call.RequestID, "remote", r.RemoteAddr)
	err = e.runStream(ctx, s.write, ew, call)
	e.log.Debug("event stream ended", "service", call.Service.Name, "operation", call.Operation.Name, "request_id", call.RequestID, "err", err)
	if err != nil && ctx.Err() == nil {
		e.log.Warn("event stream failed", "service", call.Service.Name, "operation", call.Operation.Name, "request_id", call.RequestID, "err", err)
	}
	return nil
}

// runStream runs an EventStream, turning a panic into an error.
func (e *Endpoint) runStream(ctx context.Context, fn EventStream, w *protocol.EventWriter, call *Call) (err error) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("event stream panicked", "service", call.Service.Name, "operation", call.Operation.Name,
				"request_id", call.RequestID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("event stream of %s panicked: %v", call.Operation.Name, p)
		}
	}()
	return fn(ctx, w)
}

// decompress undoes Content-Encoding: gzip, which SDKs use for large
// CloudWatch PutMetricData requests. The decompressed body is bounded like
// the body itself.
func (e *Endpoint) decompress(r *http.Request, body []byte) ([]byte, error) {
	enc := strings.TrimSpace(strings.ToLower(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		return body, nil
	case "gzip":
	default:
		return nil, &protocol.Error{Code: "UnsupportedMediaType", Message: fmt.Sprintf("Content-Encoding %q is not supported; send gzip or an uncompressed body", enc), Status: http.StatusUnsupportedMediaType, Sender: true}
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, protocol.Errorf("MalformedInput", "Content-Encoding is gzip but the body is not: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, e.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, protocol.Errorf("MalformedInput", "Content-Encoding is gzip but the body is not: %v", err)
	}
	if int64(len(out)) > e.opts.MaxBodyBytes {
		return nil, &http.MaxBytesError{Limit: e.opts.MaxBodyBytes}
	}
	return out, nil
}

func (e *Endpoint) fail(w http.ResponseWriter, codec protocol.Codec, pe *protocol.Error, req *protocol.Request, requestID string, r *http.Request) {
	e.log.Debug("request refused", "operation", req.Operation, "code", pe.Code, "message", pe.Message, "request_id", requestID, "remote", r.RemoteAddr)
	codec.EncodeError(pe, req, requestID).Write(w)
}

// place finds the service a request is for.
func (e *Endpoint) place(r *http.Request, req *protocol.Request) (*service, *protocol.Error) {
	scope := protocol.SigningService(r)
	var byScope *service
	if scope != "" {
		byScope = e.bySigningName[scope]
	}
	switch req.Protocol {
	case protocol.JSON, protocol.CBOR:
		sv := e.byTarget[req.TargetPrefix]
		if sv == nil {
			return byScope, protocol.Errorf("UnknownOperationException", "no service of madang's AWS endpoint has the target %q", req.TargetPrefix)
		}
		if scope != "" && byScope != sv {
			return sv, protocol.Errorf("InvalidSignatureException", "the request is signed for service %q but is for %s (%s); sign it for %q", scope, sv.svc.Metadata.ServiceID, req.TargetPrefix, sv.svc.SigningName())
		}
		return sv, nil
	}
	sv := byScope
	if scope == "" {
		sv = e.byVersion[req.Version]
		if sv == nil {
			if req.Version == "" {
				return nil, protocol.Errorf("MissingParameter", "the request has neither a SigV4 credential scope nor a Version parameter, so its service is unknown")
			}
			return nil, protocol.Errorf("NoSuchVersion", "no service of madang's AWS endpoint has API version %q", req.Version)
		}
	}
	if sv == nil {
		return nil, protocol.Errorf("InvalidAction", "madang's AWS endpoint does not serve the service %q (it serves %s)", scope, e.signingNames())
	}
	if req.Version != "" && req.Version != sv.svc.Metadata.APIVersion {
		return sv, protocol.Errorf("NoSuchVersion", "the requested version (%s) of service %s does not exist; madang serves %s", req.Version, sv.svc.Metadata.ServiceID, sv.svc.Metadata.APIVersion)
	}
	return sv, nil
}

func (e *Endpoint) signingNames() string {
	names := make([]string, 0, len(e.bySigningName))
	for n := range e.bySigningName {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// serve calls the request's handler and encodes its answer: a response,
// or for an event stream operation the stream to send.
func (e *Endpoint) serve(r *http.Request, body []byte, sv *service, codec protocol.Codec, req *protocol.Request, requestID string) (*protocol.Response, *streamReply, error) {
	unknown := unknownOperation(req.Protocol)
	caller, err := e.opts.Authenticator.Authenticate(r, body)
	if err != nil {
		return nil, nil, err
	}
	if caller.AccountID == "" {
		caller.AccountID = e.opts.AccountID
	}
	op := sv.svc.Operation(req.Operation)
	if op == nil {
		return nil, nil, protocol.Errorf(unknown, "The action %s is not valid for this web service.", req.Operation)
	}
	h := sv.handlers[op.Name]
	if h == nil {
		return nil, nil, protocol.Errorf(unknown, "madang does not implement %s %s yet", sv.svc.Metadata.ServiceID, op.Name)
	}
	input, err := codec.DecodeInput(op, req)
	if err != nil {
		return nil, nil, err
	}
	call := &Call{
		Service: sv.svc, Operation: op, Protocol: req.Protocol, Input: input,
		Caller: caller, Region: e.opts.Region, RequestID: requestID,
	}
	out, err := e.call(r.Context(), h, call)
	if err != nil {
		return nil, nil, err
	}
	if m := protocol.EventStreamMember(op); m != nil {
		write, ok := out[m.Name].(EventStream)
		if !ok {
			return nil, nil, fmt.Errorf("%s %s: output member %s is %T, want an awsapi.EventStream", sv.svc.Name, op.Name, m.Name, out[m.Name])
		}
		return nil, &streamReply{call: call, output: out, write: write}, nil
	}
	resp, err := codec.EncodeOutput(op, out, requestID)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", sv.svc.Name, op.Name, err)
	}
	return resp, nil, nil
}

// unknownOperation is the error code for operations a service lacks.
func unknownOperation(p protocol.Protocol) string {
	if p == protocol.JSON || p == protocol.CBOR {
		return "UnknownOperationException"
	}
	return "InvalidAction"
}

// call runs a handler, turning a panic into an InternalFailure.
func (e *Endpoint) call(ctx context.Context, h Handler, call *Call) (out map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("handler panicked", "service", call.Service.Name, "operation", call.Operation.Name,
				"request_id", call.RequestID, "panic", p, "stack", string(debug.Stack()))
			out, err = nil, protocol.InternalError("madang failed while serving %s; the daemon log has the details (request id %s)", call.Operation.Name, call.RequestID)
		}
	}()
	return h(ctx, call)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

var _ http.Handler = (*Endpoint)(nil)
var _ Authenticator = AllowAll{}
