package protocol

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// treeDecoder checks a document decoded by encoding/json (with UseNumber)
// or by the CBOR decoder against the input shape and converts it to the
// package's value types. Unknown members are ignored, as AWS does.
type treeDecoder struct {
	cbor bool
	problems
}

func decodeTree(svc *model.Service, op *model.Operation, p Protocol, doc map[string]any) (Struct, error) {
	if op.Input == nil {
		return Struct{}, nil
	}
	d := &treeDecoder{cbor: p == CBOR}
	out := d.structure(op.Input, doc, "", "")
	if err := inputError(svc, p, &d.problems); err != nil {
		return nil, err
	}
	return out, nil
}

func (d *treeDecoder) structure(sh *model.Shape, doc map[string]any, param, path string) Struct {
	out := make(Struct, len(doc))
	for _, m := range sh.Members {
		mparam, mpath := joinParam(param, m.Name), memberPath(path, m.Name)
		raw, ok := doc[m.Name]
		if !ok || raw == nil {
			if m.Required {
				d.add(problem{kind: missing, param: mparam, path: mpath})
			}
			continue
		}
		if v, ok := d.value(&m.Ref, raw, mparam, mpath); ok {
			out[m.Name] = v
		}
	}
	return out
}

func (d *treeDecoder) bad(param, path string, v any, want string) (any, bool) {
	d.add(problem{kind: malformed, param: param, path: path, value: shortValue(v), want: want})
	return nil, false
}

func (d *treeDecoder) value(ref *model.Ref, raw any, param, path string) (any, bool) {
	sh := ref.Shape
	var v any
	switch sh.Type {
	case model.TypeStructure:
		doc, ok := raw.(map[string]any)
		if !ok {
			return d.bad(param, path, raw, "an object")
		}
		return map[string]any(d.structure(sh, doc, param, path)), true
	case model.TypeList:
		items, ok := raw.([]any)
		if !ok {
			return d.bad(param, path, raw, "an array")
		}
		list := make([]any, 0, len(items))
		for i, item := range items {
			if item == nil {
				continue
			}
			if x, ok := d.value(sh.Member, item, param+"."+strconv.Itoa(i+1), itemPath(path, i)); ok {
				list = append(list, x)
			}
		}
		v = list
	case model.TypeMap:
		doc, ok := raw.(map[string]any)
		if !ok {
			return d.bad(param, path, raw, "an object")
		}
		m := make(map[string]any, len(doc))
		for k, item := range doc {
			if item == nil {
				continue
			}
			if x, ok := d.value(sh.Value, item, param+"."+k, path+"."+k); ok {
				m[k] = x
			}
		}
		v = m
	case model.TypeString:
		s, ok := raw.(string)
		if !ok {
			return d.bad(param, path, raw, "a string")
		}
		v = s
	case model.TypeInteger, model.TypeLong:
		n, ok := treeInt(raw)
		if !ok || (sh.Type == model.TypeInteger && (n > math.MaxInt32 || n < math.MinInt32)) {
			return d.bad(param, path, raw, "an integer")
		}
		v = n
	case model.TypeFloat, model.TypeDouble:
		f, ok := treeFloat(raw)
		if !ok {
			return d.bad(param, path, raw, "a number")
		}
		v = f
	case model.TypeBoolean:
		b, ok := raw.(bool)
		if !ok {
			return d.bad(param, path, raw, "a boolean")
		}
		v = b
	case model.TypeTimestamp:
		t, ok := treeTime(raw)
		if !ok {
			return d.bad(param, path, raw, "a timestamp (epoch seconds)")
		}
		v = t
	case model.TypeBlob:
		switch b := raw.(type) {
		case []byte:
			if !d.cbor {
				return d.bad(param, path, raw, "base64-encoded data")
			}
			v = b
		case string:
			dec, err := base64.StdEncoding.DecodeString(b)
			if err != nil || d.cbor {
				return d.bad(param, path, raw, "base64-encoded data")
			}
			v = dec
		default:
			return d.bad(param, path, raw, "a blob")
		}
	default:
		return d.bad(param, path, raw, "a value of type "+sh.Type)
	}
	d.checkConstraints(sh, v, param, path)
	return v, true
}

func treeInt(raw any) (int64, bool) {
	switch n := raw.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float64:
		return int64(n), n == math.Trunc(n) && math.Abs(n) < 1<<63
	}
	return 0, false
}

func treeFloat(raw any) (float64, bool) {
	switch n := raw.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		return f, err == nil
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case string:
		switch n {
		case "NaN", "Infinity", "-Infinity":
			f, _ := parseFloat(n)
			return f, true
		}
	}
	return 0, false
}

func treeTime(raw any) (time.Time, bool) {
	switch t := raw.(type) {
	case time.Time:
		return t.UTC(), true
	case cbor.Tag:
		if t.Number != 1 {
			return time.Time{}, false
		}
		return treeTime(t.Content)
	case string:
		if strings.TrimSpace(t) == "" {
			return time.Time{}, false
		}
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return time.Time{}, false
		}
		return parseTimestamp(t)
	}
	f, ok := treeFloat(raw)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	return epochTime(f), true
}

// encodeTree converts an output value into a document for encoding/json
// or the CBOR encoder: timestamps become epoch seconds (JSON) or tag 1
// (CBOR), blobs base64 text (JSON) or byte strings (CBOR).
func encodeTree(ref *model.Ref, v any, forCBOR bool) (any, error) {
	sh := ref.Shape
	switch sh.Type {
	case model.TypeStructure:
		fields, ok := asFields(v)
		if !ok {
			return nil, typeError(sh, v)
		}
		return encodeStruct(sh, fields, forCBOR)
	case model.TypeList:
		var list []any
		isList, err := forEachItem(v, func(i int, item any) error {
			item, ok := deref(item)
			if !ok {
				return within(typeError(sh.Member.Shape, nil), strconv.Itoa(i+1))
			}
			x, err := encodeTree(sh.Member, item, forCBOR)
			list = append(list, x)
			return withinItem(err, i)
		})
		if !isList {
			return nil, typeError(sh, v)
		}
		if list == nil {
			list = []any{}
		}
		return list, err
	case model.TypeMap:
		fields, ok := asFields(v)
		if !ok {
			return nil, typeError(sh, v)
		}
		out := make(map[string]any, len(fields))
		for k, item := range fields {
			item, ok := deref(item)
			if !ok {
				continue
			}
			x, err := encodeTree(sh.Value, item, forCBOR)
			if err != nil {
				return nil, within(err, k)
			}
			out[k] = x
		}
		return out, nil
	case model.TypeString:
		if s, ok := asString(v); ok {
			return s, nil
		}
	case model.TypeInteger, model.TypeLong:
		if n, ok := asInt(v); ok {
			return n, nil
		}
	case model.TypeFloat, model.TypeDouble:
		if f, ok := asFloat(v); ok {
			if !forCBOR && (math.IsNaN(f) || math.IsInf(f, 0)) {
				return formatFloat(f), nil
			}
			return f, nil
		}
	case model.TypeBoolean:
		if b, ok := asBool(v); ok {
			return b, nil
		}
	case model.TypeTimestamp:
		if t, ok := asTime(v); ok {
			secs := epochSeconds(t)
			if forCBOR {
				if secs == math.Trunc(secs) {
					return cbor.Tag{Number: 1, Content: int64(secs)}, nil
				}
				return cbor.Tag{Number: 1, Content: secs}, nil
			}
			if timestampFormat(ref) == "iso8601" {
				return t.UTC().Format("2006-01-02T15:04:05.000Z"), nil
			}
			return json.Number(strconv.FormatFloat(secs, 'f', -1, 64)), nil
		}
	case model.TypeBlob:
		if b, ok := asBlob(v); ok {
			if forCBOR {
				return b, nil
			}
			return base64.StdEncoding.EncodeToString(b), nil
		}
	}
	return nil, typeError(sh, v)
}

func encodeStruct(sh *model.Shape, fields map[string]any, forCBOR bool) (map[string]any, error) {
	out := make(map[string]any, len(fields))
	err := inOrder(sh, fields, func(m *model.Member, v any) error {
		x, err := encodeTree(&m.Ref, v, forCBOR)
		out[m.Name] = x
		return within(err, m.Name)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
