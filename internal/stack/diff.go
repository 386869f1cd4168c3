package stack

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/fielderr"
)

// Change actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Resource kinds, in the order Diff lists them.
const (
	KindImage          = "image"
	KindLaunchTemplate = "launch-template"
	KindInstances      = "instances"
	KindTargetGroup    = "target-group"
	KindLoadBalancer   = "load-balancer"
)

// Change is one resource that applying a stack creates, updates or
// deletes.
type Change struct {
	// Action is create, update or delete.
	Action string `json:"action"`
	// Kind is image, launch-template, instances, target-group or
	// load-balancer.
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
// ordered by kind (images, launch templates, instances, target groups,
// load balancers), then by name.
func Diff(current, desired *Stack) []Change {
	cur, des := normalized(current), normalized(desired)
	var changes []Change
	changes = append(changes, diffKind(KindImage, cur.Images, des.Images, func(x compute.ImageSpec) string { return x.Name })...)
	changes = append(changes, diffKind(KindLaunchTemplate, cur.LaunchTemplates, des.LaunchTemplates, func(x compute.LaunchTemplateSpec) string { return x.Name })...)
	changes = append(changes, diffKind(KindInstances, cur.Instances, des.Instances, func(x compute.InstanceGroupSpec) string { return x.Name })...)
	changes = append(changes, diffKind(KindTargetGroup, cur.TargetGroups, des.TargetGroups, func(x elb.TargetGroupSpec) string { return x.Name })...)
	changes = append(changes, diffKind(KindLoadBalancer, cur.LoadBalancers, des.LoadBalancers, func(x elb.LoadBalancerSpec) string { return x.Name })...)
	return changes
}

// normalized returns a deep copy of s with defaults applied and attributes
// made effective.
func normalized(s *Stack) *Stack {
	out := &Stack{}
	if s == nil {
		return out
	}
	// The specs are plain data with JSON encodings; a round trip is a
	// deep copy.
	b, err := json.Marshal(s)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		return &Stack{}
	}
	for i := range out.LaunchTemplates {
		out.LaunchTemplates[i].ApplyDefaults()
	}
	for i := range out.Instances {
		out.Instances[i].ApplyDefaults()
	}
	for i := range out.TargetGroups {
		tg := &out.TargetGroups[i]
		tg.ApplyDefaults()
		tg.Attributes = elb.EffectiveAttributes(tg.Attributes)
	}
	for i := range out.LoadBalancers {
		lb := &out.LoadBalancers[i]
		lb.ApplyDefaults()
		lb.Attributes = elb.EffectiveLoadBalancerAttributes(lb.Attributes)
	}
	return out
}

func diffKind[T any](kind string, cur, des []T, name func(T) string) []Change {
	curBy := make(map[string]T, len(cur))
	desBy := make(map[string]T, len(des))
	var names []string
	for _, x := range cur {
		curBy[name(x)] = x
		names = append(names, name(x))
	}
	for _, x := range des {
		desBy[name(x)] = x
		names = append(names, name(x))
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var changes []Change
	for _, n := range names {
		c, inCur := curBy[n]
		d, inDes := desBy[n]
		switch {
		case !inCur:
			changes = append(changes, Change{Action: ActionCreate, Kind: kind, Name: n})
		case !inDes:
			changes = append(changes, Change{Action: ActionDelete, Kind: kind, Name: n})
		default:
			var details []string
			diffValue("", reflect.ValueOf(&c).Elem(), reflect.ValueOf(&d).Elem(), false, &details)
			if len(details) > 0 {
				changes = append(changes, Change{Action: ActionUpdate, Kind: kind, Name: n, Details: details})
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
