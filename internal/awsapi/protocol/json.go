package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// jsonCodec is the codec of AWS JSON 1.0 and 1.1.
type jsonCodec struct {
	svc *model.Service
}

func (c *jsonCodec) contentType() string {
	v := c.svc.Metadata.JSONVersion
	if v == "" {
		v = "1.0"
	}
	return "application/x-amz-json-" + v
}

// DecodeInput implements Codec.
func (c *jsonCodec) DecodeInput(op *model.Operation, req *Request) (Struct, error) {
	doc := map[string]any{}
	if len(bytes.TrimSpace(req.Body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.Body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, Errorf("SerializationException", "the request body is not valid JSON: %v", err)
		}
		if dec.More() {
			return nil, Errorf("SerializationException", "the request body has data after its JSON object")
		}
		m, ok := v.(map[string]any)
		if !ok && v != nil {
			return nil, Errorf("SerializationException", "the request body must be a JSON object, got %s", jsonKind(v))
		}
		if m != nil {
			doc = m
		}
	}
	return decodeTree(c.svc, op, JSON, doc)
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// EncodeOutput implements Codec.
func (c *jsonCodec) EncodeOutput(op *model.Operation, out map[string]any, requestID string) (*Response, error) {
	doc := map[string]any{}
	if op.Output != nil {
		var err error
		if doc, err = encodeStruct(op.Output, out, false); err != nil {
			return nil, within(err, op.Name)
		}
	} else if len(out) > 0 {
		return nil, fmt.Errorf("output of %s: the operation has no output, got members %s", op.Name, keysOf(out))
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("output of %s: %w", op.Name, err)
	}
	return &Response{Status: http.StatusOK, Header: newHeader(c.contentType(), requestID), Body: body}, nil
}

// EncodeError implements Codec.
func (c *jsonCodec) EncodeError(e *Error, req *Request, requestID string) *Response {
	r := resolve(c.svc, e)
	body, _ := json.Marshal(map[string]string{"__type": r.typeName, "message": r.message})
	h := newHeader(c.contentType(), requestID)
	queryError(h, c.svc, r, req)
	return &Response{Status: r.status, Header: h, Body: body}
}

// queryError sets x-amzn-query-error, which awsQueryCompatible clients
// read to report the legacy query error code, when the client asked for it.
func queryError(h http.Header, svc *model.Service, r resolvedError, req *Request) {
	if svc.Metadata.AWSQueryCompatible && req != nil && req.QueryMode {
		h.Set("X-Amzn-Query-Error", r.code+";"+r.fault())
	}
}
