package protocol

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// EventStreamContentType is the content type of an event stream response.
const EventStreamContentType = "application/vnd.amazon.eventstream"

// EventStreamMember returns the member of op's output whose shape is an
// event stream (StartLiveTail's responseStream), or nil.
func EventStreamMember(op *model.Operation) *model.Member {
	if op.Output == nil {
		return nil
	}
	for _, m := range op.Output.Members {
		if m.Shape.EventStream {
			return m
		}
	}
	return nil
}

// EventWriter writes an operation's event stream response: messages in
// the AWS event stream framing (prelude, headers, payload, CRCs), each
// flushed to the client as soon as it is written. It is safe for
// concurrent use.
type EventWriter struct {
	mu     sync.Mutex
	w      io.Writer
	flush  func() error
	enc    *eventstream.Encoder
	stream *model.Shape
}

// NewEventWriter answers a request for op in protocol p with an event
// stream: it writes the status (200) and headers to w and the
// initial-response event, which carries initial, the output's members
// other than the stream (the RPC protocols' SDKs read it first). Only the
// AWS JSON protocols are served this way. When it fails before anything
// is written it returns a nil writer, and the request can still be
// answered with an error; once the status is sent it returns the writer
// with any error of the initial-response event.
func NewEventWriter(w http.ResponseWriter, p Protocol, op *model.Operation, initial map[string]any, requestID string) (*EventWriter, error) {
	m := EventStreamMember(op)
	if m == nil {
		return nil, fmt.Errorf("output of %s: the operation has no event stream member", op.Name)
	}
	if p != JSON {
		return nil, Errorf("UnsupportedProtocol", "%s streams its output only in the AWS JSON protocol, not %s", op.Name, p)
	}
	rest := map[string]any{}
	for k, v := range initial {
		if k != m.Name {
			rest[k] = v
		}
	}
	doc, err := encodeStruct(op.Output, rest, false)
	if err != nil {
		return nil, within(err, op.Name)
	}
	payload, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("output of %s: %w", op.Name, err)
	}
	rc := http.NewResponseController(w)
	ew := &EventWriter{w: w, flush: rc.Flush, enc: eventstream.NewEncoder(), stream: m.Shape}
	h := w.Header()
	h.Set("Content-Type", EventStreamContentType)
	h.Set(requestIDHeader, requestID)
	w.WriteHeader(http.StatusOK)
	return ew, ew.write("event", "initial-response", payload)
}

// Event writes one event: name is the stream member it is sent as (e.g.
// "sessionUpdate") and fields its structure, keyed by member name.
func (w *EventWriter) Event(name string, fields map[string]any) error {
	m := w.stream.MemberNamed(name)
	if m == nil || !m.Shape.Event {
		return fmt.Errorf("event stream %s has no event %q", w.stream.Name, name)
	}
	doc, err := encodeStruct(m.Shape, fields, false)
	if err != nil {
		return within(err, name)
	}
	payload, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("event %s: %w", name, err)
	}
	return w.write("event", name, payload)
}

// Exception writes an exception of the stream (e.g.
// "SessionTimeoutException") with its message; clients end the stream
// with it as their error, so it is the last message to write.
func (w *EventWriter) Exception(name, message string) error {
	m := w.stream.MemberNamed(name)
	if m == nil || !m.Shape.Exception {
		return fmt.Errorf("event stream %s has no exception %q", w.stream.Name, name)
	}
	payload, err := json.Marshal(map[string]string{"message": message})
	if err != nil {
		return fmt.Errorf("exception %s: %w", name, err)
	}
	return w.write("exception", name, payload)
}

// write frames and sends one message of type kind ("event" or
// "exception") and flushes it.
func (w *EventWriter) write(kind, name string, payload []byte) error {
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue(kind))
	if kind == "exception" {
		msg.Headers.Set(":exception-type", eventstream.StringValue(name))
	} else {
		msg.Headers.Set(":event-type", eventstream.StringValue(name))
	}
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = payload
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enc.Encode(w.w, msg); err != nil {
		return fmt.Errorf("event stream: write %s %s: %w", kind, name, err)
	}
	if err := w.flush(); err != nil {
		return fmt.Errorf("event stream: flush %s %s: %w", kind, name, err)
	}
	return nil
}
