package protocol

import (
	"encoding/base64"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// qnode is one level of dotted query parameter names: "Filter.1.Name=x"
// is the path Filter → 1 → Name holding "x".
type qnode struct {
	val  string
	has  bool
	kids map[string]*qnode
}

func (n *qnode) child(k string) *qnode {
	if n == nil || n.kids == nil {
		return nil
	}
	return n.kids[k]
}

// indexed returns the children with positive integer names in numeric
// order (AWS accepts any increasing indexes, not only 1..N).
func (n *qnode) indexed() []*qnode {
	if n == nil || len(n.kids) == 0 {
		return nil
	}
	type item struct {
		i int
		n *qnode
	}
	var items []item
	for k, c := range n.kids {
		if i, err := strconv.Atoi(k); err == nil && i > 0 {
			items = append(items, item{i, c})
		}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]*qnode, len(items))
	for i, it := range items {
		out[i] = it.n
	}
	return out
}

// paramTree arranges query parameters by their dotted names. Action,
// Version and the SigV4 query parameters are not input members.
func paramTree(params url.Values) *qnode {
	root := &qnode{}
	for key, vals := range params {
		if key == "Action" || key == "Version" || strings.HasPrefix(key, "X-Amz-") || len(vals) == 0 {
			continue
		}
		n := root
		for part := range strings.SplitSeq(key, ".") {
			if n.kids == nil {
				n.kids = map[string]*qnode{}
			}
			c, ok := n.kids[part]
			if !ok {
				c = &qnode{}
				n.kids[part] = c
			}
			n = c
		}
		n.val, n.has = vals[0], true
	}
	return root
}

// queryDecoder reads query and ec2 protocol parameters into values.
type queryDecoder struct {
	ec2 bool
	problems
}

func decodeQuery(svc *model.Service, op *model.Operation, params url.Values, ec2 bool) (Struct, error) {
	out := Struct{}
	if op.Input == nil {
		return out, nil
	}
	d := &queryDecoder{ec2: ec2}
	out = d.structure(op.Input, paramTree(params), "", "")
	p := Query
	if ec2 {
		p = EC2
	}
	if err := inputError(svc, p, &d.problems); err != nil {
		return nil, err
	}
	return out, nil
}

// memberKey is the parameter name segment of a structure member.
func (d *queryDecoder) memberKey(m *model.Member) string {
	if d.ec2 {
		switch {
		case m.QueryName != "":
			return m.QueryName
		case m.LocationName != "":
			return upperFirst(m.LocationName)
		default:
			return upperFirst(m.Name)
		}
	}
	if m.Shape.Type == model.TypeList && (m.Flattened || m.Shape.Flattened) && m.Shape.Member.LocationName != "" {
		return m.Shape.Member.LocationName
	}
	if m.LocationName != "" {
		return m.LocationName
	}
	return m.Name
}

func joinParam(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func (d *queryDecoder) structure(sh *model.Shape, n *qnode, param, path string) Struct {
	out := make(Struct, len(n.kids))
	for _, m := range sh.Members {
		key := d.memberKey(m)
		c := n.child(key)
		mparam, mpath := joinParam(param, key), memberPath(path, m.Name)
		if c == nil {
			if m.Required {
				d.add(problem{kind: missing, param: mparam, path: mpath})
			}
			continue
		}
		if v, ok := d.value(&m.Ref, c, mparam, mpath); ok {
			out[m.Name] = v
		}
	}
	return out
}

func (d *queryDecoder) value(ref *model.Ref, n *qnode, param, path string) (any, bool) {
	sh := ref.Shape
	switch sh.Type {
	case model.TypeStructure:
		if len(n.kids) == 0 && n.has && n.val != "" {
			d.add(problem{kind: malformed, param: param, path: path, value: n.val, want: "a structure"})
			return nil, false
		}
		return map[string]any(d.structure(sh, n, param, path)), true
	case model.TypeList:
		var items []*qnode
		itemParam := param
		switch {
		case d.ec2 || ref.Flattened || sh.Flattened:
			items = n.indexed()
		default:
			name := sh.Member.LocationName
			if name == "" {
				name = "member"
			}
			items = n.child(name).indexed()
			itemParam = param + "." + name
		}
		list := make([]any, 0, len(items))
		for i, c := range items {
			if v, ok := d.value(sh.Member, c, itemParam+"."+strconv.Itoa(i+1), itemPath(path, i)); ok {
				list = append(list, v)
			}
		}
		d.constrain(sh, list, param, path)
		return list, true
	case model.TypeMap:
		entries := n
		entryParam := param
		if !ref.Flattened && !sh.Flattened {
			entries = n.child("entry")
			entryParam = param + ".entry"
		}
		keyName, valName := orDefault(sh.Key.LocationName, "key"), orDefault(sh.Value.LocationName, "value")
		m := map[string]any{}
		for i, e := range entries.indexed() {
			ep := entryParam + "." + strconv.Itoa(i+1)
			k := e.child(keyName)
			if k == nil || !k.has {
				d.add(problem{kind: missing, param: ep + "." + keyName, path: itemPath(path, i) + ".key"})
				continue
			}
			vn := e.child(valName)
			if vn == nil {
				d.add(problem{kind: missing, param: ep + "." + valName, path: itemPath(path, i) + ".value"})
				continue
			}
			if v, ok := d.value(sh.Value, vn, ep+"."+valName, itemPath(path, i)+".value"); ok {
				m[k.val] = v
			}
		}
		d.constrain(sh, m, param, path)
		return m, true
	}
	if !n.has {
		d.add(problem{kind: malformed, param: param, path: path, value: "", want: "a single value"})
		return nil, false
	}
	v, want := parseScalar(sh, n.val)
	if want != "" {
		d.add(problem{kind: malformed, param: param, path: path, value: n.val, want: want})
		return nil, false
	}
	d.constrain(sh, v, param, path)
	return v, true
}

// constrain checks constraints except in EC2, which does not enforce the
// model's constraints in this form.
func (d *queryDecoder) constrain(sh *model.Shape, v any, param, path string) {
	if !d.ec2 {
		d.checkConstraints(sh, v, param, path)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// parseScalar reads a query parameter as the shape's type; want names the
// expected form when s does not parse.
func parseScalar(sh *model.Shape, s string) (v any, want string) {
	switch sh.Type {
	case model.TypeString:
		return s, ""
	case model.TypeInteger, model.TypeLong:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || (sh.Type == model.TypeInteger && (n > math.MaxInt32 || n < math.MinInt32)) {
			return nil, "an integer"
		}
		return n, ""
	case model.TypeFloat, model.TypeDouble:
		f, err := parseFloat(s)
		if err != nil {
			return nil, "a number"
		}
		return f, ""
	case model.TypeBoolean:
		switch strings.ToLower(s) {
		case "true":
			return true, ""
		case "false":
			return false, ""
		}
		return nil, "true or false"
	case model.TypeTimestamp:
		t, ok := parseTimestamp(s)
		if !ok {
			return nil, "a timestamp (ISO 8601, e.g. 2024-05-01T12:00:00Z)"
		}
		return t, ""
	case model.TypeBlob:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, "base64-encoded data"
		}
		return b, ""
	}
	return nil, "a value of type " + sh.Type
}

func parseFloat(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
	time.RFC1123,
	"2006-01-02",
}

// parseTimestamp reads ISO 8601 / RFC 3339 date-times, HTTP dates and
// epoch seconds.
func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return epochTime(f), true
	}
	return time.Time{}, false
}

func epochTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC()
}
