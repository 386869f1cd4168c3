package protocol

import (
	"fmt"
	"net/http"
	"reflect"

	"github.com/fxamacker/cbor/v2"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// cborCodec is the codec of Smithy RPC v2 CBOR.
type cborCodec struct {
	svc *model.Service
}

// cborDecoding decodes maps with string keys, keeps tags (timestamps
// arrive as tag 1) and reads unsigned integers as int64 where they fit.
var cborDecoding = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DefaultMapType:  reflect.TypeOf(map[string]any(nil)),
		IntDec:          cbor.IntDecConvertSignedOrFail,
		MaxNestedLevels: 64,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// DecodeInput implements Codec.
func (c *cborCodec) DecodeInput(op *model.Operation, req *Request) (Struct, error) {
	doc := map[string]any{}
	if len(req.Body) > 0 {
		var v any
		if err := cborDecoding.Unmarshal(req.Body, &v); err != nil {
			return nil, Errorf("SerializationException", "the request body is not valid CBOR: %v", err)
		}
		m, ok := v.(map[string]any)
		if !ok && v != nil {
			return nil, Errorf("SerializationException", "the request body must be a CBOR map, got %T", v)
		}
		if m != nil {
			doc = m
		}
	}
	return decodeTree(c.svc, op, CBOR, doc)
}

func (c *cborCodec) header(requestID string) http.Header {
	h := newHeader("application/cbor", requestID)
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	return h
}

// EncodeOutput implements Codec.
func (c *cborCodec) EncodeOutput(op *model.Operation, out map[string]any, requestID string) (*Response, error) {
	doc := map[string]any{}
	if op.Output != nil {
		var err error
		if doc, err = encodeStruct(op.Output, out, true); err != nil {
			return nil, within(err, op.Name)
		}
	} else if len(out) > 0 {
		return nil, fmt.Errorf("output of %s: the operation has no output, got members %s", op.Name, keysOf(out))
	}
	body, err := cbor.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("output of %s: %w", op.Name, err)
	}
	return &Response{Status: http.StatusOK, Header: c.header(requestID), Body: body}, nil
}

// EncodeError implements Codec.
func (c *cborCodec) EncodeError(e *Error, req *Request, requestID string) *Response {
	r := resolve(c.svc, e)
	body, _ := cbor.Marshal(map[string]string{"__type": r.typeName, "message": r.message})
	h := c.header(requestID)
	queryError(h, c.svc, r, req)
	return &Response{Status: r.status, Header: h, Body: body}
}
