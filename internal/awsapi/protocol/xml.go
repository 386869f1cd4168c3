package protocol

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// xmlCodec is the codec of the query protocol and of its EC2 variant.
type xmlCodec struct {
	svc *model.Service
	ec2 bool
	// sizeHint is the size of the largest response written so far (up to
	// maxSizeHint), so large responses grow their buffer once.
	sizeHint atomic.Int64
	// buffers holds written responses' buffers (*[]byte) for the next
	// ones: a DescribeInstances of a thousand instances is more than a
	// megabyte, which would otherwise be garbage after every call.
	buffers sync.Pool
}

const maxSizeHint = 8 << 20

// minPooled is the smallest buffer worth keeping for another response.
const minPooled = 16 << 10

// buffer returns an empty buffer of at least the size hint.
func (c *xmlCodec) buffer() []byte {
	hint := max(1024, int(c.sizeHint.Load()))
	if p, ok := c.buffers.Get().(*[]byte); ok && cap(*p) >= hint {
		return (*p)[:0]
	}
	return make([]byte, 0, hint)
}

// recycle keeps a written response's buffer for the next response.
func (c *xmlCodec) recycle(b []byte) {
	if cap(b) < minPooled || cap(b) > maxSizeHint {
		return
	}
	b = b[:0]
	c.buffers.Put(&b)
}

// namespace is the service's XML namespace. AWS's end in a slash
// ("http://ec2.amazonaws.com/doc/2016-11-15/") even where the model's
// does not.
func (c *xmlCodec) namespace() string {
	return strings.TrimSuffix(c.svc.Metadata.XMLNamespace, "/") + "/"
}

// DecodeInput implements Codec.
func (c *xmlCodec) DecodeInput(op *model.Operation, req *Request) (Struct, error) {
	return decodeQuery(c.svc, op, req.Params, c.ec2)
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// EncodeOutput implements Codec.
func (c *xmlCodec) EncodeOutput(op *model.Operation, out map[string]any, requestID string) (*Response, error) {
	w := &xmlWriter{ec2: c.ec2}
	w.buf = c.buffer()
	w.raw(xmlHeader)
	w.raw("<" + op.Name + `Response xmlns="` + c.namespace() + `">`)
	if c.ec2 {
		w.element("requestId", requestID)
	}
	switch {
	case op.Output == nil:
		if len(out) > 0 {
			return nil, fmt.Errorf("output of %s: the operation has no output, got members %s", op.Name, keysOf(out))
		}
	case c.ec2 || op.ResultWrapper == "":
		if err := w.members(op.Output, out); err != nil {
			return nil, within(err, op.Name)
		}
	default:
		w.raw("<" + op.ResultWrapper + ">")
		if err := w.members(op.Output, out); err != nil {
			return nil, within(err, op.Name)
		}
		w.raw("</" + op.ResultWrapper + ">")
	}
	if !c.ec2 {
		w.raw("<ResponseMetadata>")
		w.element("RequestId", requestID)
		w.raw("</ResponseMetadata>")
	}
	w.raw("</" + op.Name + "Response>")
	if n := int64(len(w.buf)); n > c.sizeHint.Load() && n <= maxSizeHint {
		c.sizeHint.Store(n)
	}
	return &Response{Status: http.StatusOK, Header: newHeader("text/xml", requestID), Body: w.buf, splices: w.splices, recycle: c.recycle}, nil
}

// EncodeError implements Codec.
func (c *xmlCodec) EncodeError(e *Error, _ *Request, requestID string) *Response {
	r := resolve(c.svc, e)
	w := &xmlWriter{ec2: c.ec2}
	w.raw(xmlHeader)
	if c.ec2 {
		w.raw("<Response><Errors><Error>")
		w.element("Code", r.code)
		w.element("Message", r.message)
		w.raw("</Error></Errors>")
		w.element("RequestID", requestID)
		w.raw("</Response>")
	} else {
		w.raw(`<ErrorResponse xmlns="` + c.namespace() + `"><Error>`)
		w.element("Type", r.fault())
		w.element("Code", r.code)
		w.element("Message", r.message)
		w.raw("</Error>")
		w.element("RequestId", requestID)
		w.raw("</ErrorResponse>")
	}
	return &Response{Status: r.status, Header: newHeader("text/xml", requestID), Body: w.buf}
}

// xmlWriter writes values as the query protocols' XML.
type xmlWriter struct {
	buf []byte
	ec2 bool
	// splices are the large kept encodings left out of buf (see
	// Response.Body).
	splices []splice
	// keeping counts the frozen values being encoded to be kept: their
	// bytes must all be in buf, so nothing is spliced meanwhile.
	keeping int
}

// minSpliced is the smallest kept encoding a response splices in rather
// than copies: a DescribeInstances answer of a thousand instances is
// more than a megabyte, a copy that would be made on every call.
const minSpliced = 64 << 10

// kept writes a kept encoding: spliced in if it is large, copied if not.
func (w *xmlWriter) kept(b []byte) {
	if len(b) >= minSpliced && w.keeping == 0 {
		w.splices = append(w.splices, splice{at: len(w.buf), bytes: b})
		return
	}
	w.buf = append(w.buf, b...)
}

func (w *xmlWriter) open(name string) {
	w.buf = append(w.buf, '<')
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '>')
}

func (w *xmlWriter) close(name string) {
	w.buf = append(w.buf, '<', '/')
	w.buf = append(w.buf, name...)
	w.buf = append(w.buf, '>')
}

func (w *xmlWriter) raw(s string) {
	w.buf = append(w.buf, s...)
}

func (w *xmlWriter) element(name, text string) {
	w.open(name)
	w.text(text)
	w.close(name)
}

// text writes escaped character data; plain ASCII text, the common case,
// is copied as it is.
func (w *xmlWriter) text(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' || c == '"' || c == '\'' {
			var b bytes.Buffer
			_ = xml.EscapeText(&b, []byte(s))
			w.buf = append(w.buf, b.Bytes()...)
			return
		}
	}
	w.buf = append(w.buf, s...)
}

// members writes a structure's members in declaration order.
func (w *xmlWriter) members(sh *model.Shape, fields map[string]any) error {
	return inOrder(sh, fields, func(m *model.Member, v any) error {
		name := m.LocationName
		if name == "" {
			name = m.Name
		}
		return within(w.value(&m.Ref, name, v), m.Name)
	})
}

func (w *xmlWriter) value(ref *model.Ref, name string, v any) error {
	sh := ref.Shape
	switch sh.Type {
	case model.TypeStructure:
		if f, ok := v.(*Frozen); ok {
			if b := f.encoded(sh, name, w.ec2, false); b != nil {
				w.kept(b)
				return nil
			}
			start := len(w.buf)
			w.keeping++
			w.open(name)
			err := w.members(sh, f.fields)
			w.keeping--
			if err != nil {
				return err
			}
			w.close(name)
			f.keep(sh, name, w.ec2, false, append([]byte(nil), w.buf[start:]...))
			return nil
		}
		fields, ok := asFields(v)
		if !ok {
			return typeError(sh, v)
		}
		w.open(name)
		if err := w.members(sh, fields); err != nil {
			return err
		}
		w.close(name)
		return nil
	case model.TypeList:
		l, ok := v.(*FrozenList)
		if !ok {
			return w.list(ref, name, v)
		}
		flat := ref.Flattened || sh.Flattened
		if b := l.encoded(sh, name, w.ec2, flat); b != nil {
			w.kept(b)
			return nil
		}
		start := len(w.buf)
		w.keeping++
		err := w.list(ref, name, l.items)
		w.keeping--
		if err != nil {
			return err
		}
		l.keep(sh, name, w.ec2, flat, append([]byte(nil), w.buf[start:]...))
		return nil
	case model.TypeMap:
		fields, ok := asFields(v)
		if !ok {
			return typeError(sh, v)
		}
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		flat := ref.Flattened || sh.Flattened
		keyName, valName := orDefault(sh.Key.LocationName, "key"), orDefault(sh.Value.LocationName, "value")
		entry := "entry"
		if flat {
			entry = name
		} else {
			w.open(name)
		}
		for _, k := range keys {
			val, ok := deref(fields[k])
			if !ok {
				continue
			}
			w.open(entry)
			w.element(keyName, k)
			if err := w.value(sh.Value, valName, val); err != nil {
				return within(err, k)
			}
			w.close(entry)
		}
		if !flat {
			w.close(name)
		}
		return nil
	}
	w.open(name)
	if err := w.scalar(ref, v); err != nil {
		return err
	}
	w.close(name)
	return nil
}

// list writes a list value, wrapped in an element called name unless it
// is flattened.
func (w *xmlWriter) list(ref *model.Ref, name string, v any) error {
	sh := ref.Shape
	flat := ref.Flattened || sh.Flattened
	itemName := sh.Member.LocationName
	if flat {
		itemName = orDefault(itemName, name)
	} else {
		itemName = orDefault(itemName, "member")
		if w.ec2 && sh.Member.LocationName == "" {
			itemName = "item"
		}
		w.open(name)
	}
	isList, err := forEachItem(v, func(i int, item any) error {
		item, ok := deref(item)
		if !ok {
			return within(typeError(sh.Member.Shape, nil), strconv.Itoa(i+1))
		}
		return withinItem(w.value(sh.Member, itemName, item), i)
	})
	if !isList {
		return typeError(sh, v)
	}
	if err != nil {
		return err
	}
	if !flat {
		w.close(name)
	}
	return nil
}

// scalar writes a scalar as the query protocols' XML text.
func (w *xmlWriter) scalar(ref *model.Ref, v any) error {
	sh := ref.Shape
	switch sh.Type {
	case model.TypeString:
		if s, ok := asString(v); ok {
			w.text(s)
			return nil
		}
	case model.TypeInteger, model.TypeLong:
		if n, ok := asInt(v); ok {
			w.buf = strconv.AppendInt(w.buf, n, 10)
			return nil
		}
	case model.TypeFloat, model.TypeDouble:
		if f, ok := asFloat(v); ok {
			w.raw(formatFloat(f))
			return nil
		}
	case model.TypeBoolean:
		if b, ok := asBool(v); ok {
			w.raw(strconv.FormatBool(b))
			return nil
		}
	case model.TypeTimestamp:
		if t, ok := asTime(v); ok {
			switch timestampFormat(ref) {
			case "unixTimestamp":
				w.raw(formatFloat(epochSeconds(t)))
			case "rfc822":
				w.buf = t.UTC().AppendFormat(w.buf, http.TimeFormat)
			default:
				w.buf = t.UTC().AppendFormat(w.buf, "2006-01-02T15:04:05.000Z")
			}
			return nil
		}
	case model.TypeBlob:
		if b, ok := asBlob(v); ok {
			w.raw(base64.StdEncoding.EncodeToString(b))
			return nil
		}
	}
	return typeError(sh, v)
}

func timestampFormat(ref *model.Ref) string {
	if ref.TimestampFormat != "" {
		return ref.TimestampFormat
	}
	return ref.Shape.TimestampFormat
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func epochSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

func keysOf(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
