package stack

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/kind"
)

// Change actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Change is one resource that applying a stack creates, updates or
// deletes.
type Change struct {
	// Action is create, update or delete.
	Action string `json:"action"`
	// Kind is the resource kind's name (image, launch-template,
	// instances, target-group, load-balancer, …).
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Details are one line per changed field for updates, such as
	// "count: 2 → 3" or "healthCheck.path: / → /health".
	Details []string `json:"details,omitempty"`
}

// String formats the change as a plan line: "+ image hello",
// "- load-balancer old", "~ target-group web: healthCheck.path: / → /health"
// (several details are joined with "; ").
func (c Change) String() string {
	sign := "~"
	switch c.Action {
	case ActionCreate:
		sign = "+"
	case ActionDelete:
		sign = "-"
	}
	s := sign + " " + c.Kind + " " + c.Name
	if len(c.Details) > 0 {
		s += ": " + strings.Join(c.Details, "; ")
	}
	return s
}

// Diff returns the changes that turn current into desired: resources only
// in desired are created, resources only in current are deleted, and
// resources in both whose specs differ are updated. Both stacks are
// compared after defaults (on copies; neither is modified), so spelling out
// a default is not a change. A nil stack counts as empty. Changes are
// ordered by kind (the registry's order), then by name.
func Diff(reg *kind.Registry, current, desired *Stack) []Change {
	var changes []Change
	for _, k := range reg.Kinds() {
		changes = append(changes, diffKind(k, normalized(k, current), normalized(k, desired))...)
	}
	return changes
}

// normalized returns deep copies of the specs of kind k in s, with
// defaults applied and attributes made effective, by name.
func normalized(k kind.Kind, s *Stack) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	for _, spec := range s.Resources(k) {
		// The specs are plain data with JSON encodings; a round trip is a
		// deep copy.
		cp := reflect.New(k.SpecType())
		b, err := json.Marshal(spec)
		if err == nil {
			err = json.Unmarshal(b, cp.Interface())
		}
		if err != nil {
			continue
		}
		k.Normalize(cp.Interface())
		out[k.Name(cp.Interface())] = cp.Elem()
	}
	return out
}

func diffKind(k kind.Kind, curBy, desBy map[string]reflect.Value) []Change {
	var names []string
	for n := range curBy {
		names = append(names, n)
	}
	for n := range desBy {
		names = append(names, n)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	name := k.Info().Name
	var changes []Change
	for _, n := range names {
		c, inCur := curBy[n]
		d, inDes := desBy[n]
		switch {
		case !inCur:
			changes = append(changes, Change{Action: ActionCreate, Kind: name, Name: n})
		case !inDes:
			changes = append(changes, Change{Action: ActionDelete, Kind: name, Name: n})
		default:
			var details []string
			diffValue("", c, d, false, &details)
			if len(details) > 0 {
				changes = append(changes, Change{Action: ActionUpdate, Kind: name, Name: n, Details: details})
			}
		}
	}
	return changes
}

// unset shows a missing value in details.
const unset = "(unset)"

// diffValue appends a detail line for every leaf that differs between a
// and b (values of the same type) under path. quote says whether strings
// are always quoted (environment and tag values).
func diffValue(path string, a, b reflect.Value, quote bool, out *[]string) {
	if a.Type() == reflect.TypeFor[compute.Duration]() {
		leaf(path, a.Interface().(compute.Duration).String(), b.Interface().(compute.Duration).String(), out)
		return
	}
	switch a.Kind() {
	case reflect.Pointer:
		switch {
		case a.IsNil() && b.IsNil():
		case a.Type().Elem().Kind() == reflect.Struct:
			diffValue(path, deref(a), deref(b), quote, out)
		case a.IsNil():
			leaf(path, unset, format(b.Elem(), quote), out)
		case b.IsNil():
			leaf(path, format(a.Elem(), quote), unset, out)
		default:
			diffValue(path, a.Elem(), b.Elem(), quote, out)
		}
	case reflect.Struct:
		for _, f := range structFields(a.Type()) {
			diffValue(fielderr.Join(path, f.name), a.FieldByIndex(f.index), b.FieldByIndex(f.index), quote, out)
		}
	case reflect.Slice:
		n := min(a.Len(), b.Len())
		for i := range n {
			diffValue(fielderr.Index(path, i), a.Index(i), b.Index(i), quote, out)
		}
		for i := n; i < b.Len(); i++ {
			*out = append(*out, fielderr.Index(path, i)+": added"+summary(b.Index(i)))
		}
		for i := n; i < a.Len(); i++ {
			*out = append(*out, fielderr.Index(path, i)+": removed"+summary(a.Index(i)))
		}
	case reflect.Map:
		q := !strings.HasSuffix(path, "attributes")
		var keys []string
		for _, k := range a.MapKeys() {
			keys = append(keys, k.String())
		}
		for _, k := range b.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			kv := reflect.ValueOf(k).Convert(a.Type().Key())
			av, bv := a.MapIndex(kv), b.MapIndex(kv)
			kpath := fielderr.Join(path, k)
			switch {
			case !av.IsValid():
				leaf(kpath, unset, format(bv, q), out)
			case !bv.IsValid():
				leaf(kpath, format(av, q), unset, out)
			default:
				diffValue(kpath, av, bv, q, out)
			}
		}
	case reflect.String:
		as, bs := a.String(), b.String()
		if as == bs {
			return
		}
		if long(as) || long(bs) {
			*out = append(*out, path+": changed ("+sizeOf(as)+" → "+sizeOf(bs)+")")
			return
		}
		leaf(path, format(a, quote), format(b, quote), out)
	default:
		leaf(path, format(a, quote), format(b, quote), out)
	}
}

func deref(v reflect.Value) reflect.Value {
	if v.IsNil() {
		return reflect.New(v.Type().Elem()).Elem()
	}
	return v.Elem()
}

func leaf(path, a, b string, out *[]string) {
	if a != b {
		*out = append(*out, path+": "+a+" → "+b)
	}
}

// long reports whether a string is too long or multi-line to show inline.
func long(s string) bool { return len(s) > 60 || strings.ContainsRune(s, '\n') }

func sizeOf(s string) string {
	if s == "" {
		return "empty"
	}
	return strconv.Itoa(len(s)) + " bytes"
}

// format shows a leaf value: strings bare unless quote is set or they are
// empty or hold spaces or special characters.
func format(v reflect.Value, quote bool) string {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if quote || s == "" || strings.ContainsFunc(s, func(r rune) bool {
			return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '"' || r == '→'
		}) {
			return strconv.Quote(s)
		}
		return s
	case reflect.Int, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Pointer:
		if v.IsNil() {
			return unset
		}
		return format(v.Elem(), quote)
	}
	return "…"
}

// summary names an added or removed list item by its identifying field,
// such as " (port 9090)" or ` "/api/*"`.
func summary(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return " " + strconv.Quote(v.String())
	case reflect.Struct:
		for _, f := range structFields(v.Type()) {
			switch f.name {
			case "name", "port", "priority", "field", "type", "instances", "id", "ip", "key":
				fv := v.FieldByIndex(f.index)
				if !fv.IsZero() {
					return " (" + f.name + " " + format(fv, false) + ")"
				}
			}
		}
	}
	return ""
}
