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
	"time"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// xmlCodec is the codec of the query protocol and of its EC2 variant.
type xmlCodec struct {
	svc *model.Service
	ec2 bool
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
	w.buf.Grow(1024)
	w.buf.WriteString(xmlHeader)
	w.buf.WriteString("<" + op.Name + `Response xmlns="` + c.namespace() + `">`)
	if c.ec2 {
		w.element("requestId", requestID)
	}
	switch {
	case op.Output == nil:
		if len(out) > 0 {
			return nil, fmt.Errorf("output of %s: the operation has no output, got members %s", op.Name, keysOf(out))
		}
	case c.ec2 || op.ResultWrapper == "":
		if err := w.members(op.Output, out, op.Name); err != nil {
			return nil, err
		}
	default:
		w.buf.WriteString("<" + op.ResultWrapper + ">")
		if err := w.members(op.Output, out, op.Name); err != nil {
			return nil, err
		}
		w.buf.WriteString("</" + op.ResultWrapper + ">")
	}
	if !c.ec2 {
		w.buf.WriteString("<ResponseMetadata>")
		w.element("RequestId", requestID)
		w.buf.WriteString("</ResponseMetadata>")
	}
	w.buf.WriteString("</" + op.Name + "Response>")
	return &Response{Status: http.StatusOK, Header: newHeader("text/xml", requestID), Body: w.buf.Bytes()}, nil
}

// EncodeError implements Codec.
func (c *xmlCodec) EncodeError(e *Error, _ *Request, requestID string) *Response {
	r := resolve(c.svc, e)
	w := &xmlWriter{ec2: c.ec2}
	w.buf.WriteString(xmlHeader)
	if c.ec2 {
		w.buf.WriteString("<Response><Errors><Error>")
		w.element("Code", r.code)
		w.element("Message", r.message)
		w.buf.WriteString("</Error></Errors>")
		w.element("RequestID", requestID)
		w.buf.WriteString("</Response>")
	} else {
		w.buf.WriteString(`<ErrorResponse xmlns="` + c.namespace() + `"><Error>`)
		w.element("Type", r.fault())
		w.element("Code", r.code)
		w.element("Message", r.message)
		w.buf.WriteString("</Error>")
		w.element("RequestId", requestID)
		w.buf.WriteString("</ErrorResponse>")
	}
	return &Response{Status: r.status, Header: newHeader("text/xml", requestID), Body: w.buf.Bytes()}
}

// xmlWriter writes values as the query protocols' XML.
type xmlWriter struct {
	buf bytes.Buffer
	ec2 bool
}

func (w *xmlWriter) element(name, text string) {
	w.buf.WriteString("<" + name + ">")
	_ = xml.EscapeText(&w.buf, []byte(text))
	w.buf.WriteString("</" + name + ">")
}

// members writes a structure's members in declaration order.
func (w *xmlWriter) members(sh *model.Shape, fields map[string]any, path string) error {
	seen := 0
	for _, m := range sh.Members {
		v, ok := fields[m.Name]
		if !ok {
			continue
		}
		seen++
		if v, ok = deref(v); !ok {
			continue
		}
		name := m.LocationName
		if name == "" {
			name = m.Name
		}
		if err := w.value(&m.Ref, name, v, path+"."+m.Name); err != nil {
			return err
		}
	}
	if seen != len(fields) {
		return unknownMembers(sh, fields, path)
	}
	return nil
}

func (w *xmlWriter) value(ref *model.Ref, name string, v any, path string) error {
	sh := ref.Shape
	switch sh.Type {
	case model.TypeStructure:
		fields, ok := asFields(v)
		if !ok {
			return typeError(path, sh, v)
		}
		w.buf.WriteString("<" + name + ">")
		if err := w.members(sh, fields, path); err != nil {
			return err
		}
		w.buf.WriteString("</" + name + ">")
		return nil
	case model.TypeList:
		flat := ref.Flattened || sh.Flattened
		itemName := sh.Member.LocationName
		if flat {
			itemName = orDefault(itemName, name)
		} else {
			itemName = orDefault(itemName, "member")
			if w.ec2 && sh.Member.LocationName == "" {
				itemName = "item"
			}
			w.buf.WriteString("<" + name + ">")
		}
		isList, err := forEachItem(v, func(i int, item any) error {
			item, ok := deref(item)
			if !ok {
				return fmt.Errorf("output member %s.%d: nil list item", path, i+1)
			}
			return w.value(sh.Member, itemName, item, path+"."+strconv.Itoa(i+1))
		})
		if !isList {
			return typeError(path, sh, v)
		}
		if err != nil {
			return err
		}
		if !flat {
			w.buf.WriteString("</" + name + ">")
		}
		return nil
	case model.TypeMap:
		fields, ok := asFields(v)
		if !ok {
			return typeError(path, sh, v)
		}
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		flat := ref.Flattened || sh.Flattened
		keyName, valName := orDefault(sh.Key.LocationName, "key"), orDefault(sh.Value.LocationName, "value")
		if !flat {
			w.buf.WriteString("<" + name + ">")
		}
		for _, k := range keys {
			val, ok := deref(fields[k])
			if !ok {
				continue
			}
			if flat {
				w.buf.WriteString("<" + name + ">")
			} else {
				w.buf.WriteString("<entry>")
			}
			w.element(keyName, k)
			if err := w.value(sh.Value, valName, val, path+"."+k); err != nil {
				return err
			}
			if flat {
				w.buf.WriteString("</" + name + ">")
			} else {
				w.buf.WriteString("</entry>")
			}
		}
		if !flat {
			w.buf.WriteString("</" + name + ">")
		}
		return nil
	}
	text, err := scalarText(ref, v, path)
	if err != nil {
		return err
	}
	w.element(name, text)
	return nil
}

// scalarText formats a scalar as the query protocols' XML text.
func scalarText(ref *model.Ref, v any, path string) (string, error) {
	sh := ref.Shape
	switch sh.Type {
	case model.TypeString:
		if s, ok := asString(v); ok {
			return s, nil
		}
	case model.TypeInteger, model.TypeLong:
		if n, ok := asInt(v); ok {
			return strconv.FormatInt(n, 10), nil
		}
	case model.TypeFloat, model.TypeDouble:
		if f, ok := asFloat(v); ok {
			return formatFloat(f), nil
		}
	case model.TypeBoolean:
		if b, ok := asBool(v); ok {
			return strconv.FormatBool(b), nil
		}
	case model.TypeTimestamp:
		if t, ok := asTime(v); ok {
			switch timestampFormat(ref) {
			case "unixTimestamp":
				return formatFloat(epochSeconds(t)), nil
			case "rfc822":
				return t.UTC().Format(http.TimeFormat), nil
			}
			return t.UTC().Format("2006-01-02T15:04:05.000Z"), nil
		}
	case model.TypeBlob:
		if b, ok := asBlob(v); ok {
			return base64.StdEncoding.EncodeToString(b), nil
		}
	}
	return "", typeError(path, sh, v)
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

var goTypes = map[string]string{
	model.TypeStructure: "a map[string]any", model.TypeList: "a slice", model.TypeMap: "a map[string]any",
	model.TypeString: "a string", model.TypeInteger: "an integer", model.TypeLong: "an integer",
	model.TypeFloat: "a float", model.TypeDouble: "a float", model.TypeBoolean: "a bool",
	model.TypeTimestamp: "a time.Time", model.TypeBlob: "a []byte",
}

func typeError(path string, sh *model.Shape, v any) error {
	return fmt.Errorf("output member %s: shape %s (%s) wants %s, got %T", path, sh.Name, sh.Type, goTypes[sh.Type], v)
}

func unknownMembers(sh *model.Shape, fields map[string]any, path string) error {
	var unknown []string
	for k := range fields {
		if sh.MemberNamed(k) == nil {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	known := make([]string, len(sh.Members))
	for i, m := range sh.Members {
		known[i] = m.Name
	}
	return fmt.Errorf("output %s: shape %s has no member %s (members: %s)", path, sh.Name, strings.Join(unknown, ", "), strings.Join(known, ", "))
}

func keysOf(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
