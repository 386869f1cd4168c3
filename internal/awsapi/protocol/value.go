package protocol

import (
	"reflect"
	"time"
)

// Struct is a decoded structure: member name to value, in the types the
// package doc lists. Its accessors return the zero value for absent members
// and for members of another type, so handlers read optional members
// without checks; use Has to tell absence from a zero value.
type Struct map[string]any

// Has reports whether the member is present.
func (s Struct) Has(name string) bool {
	_, ok := s[name]
	return ok
}

// String returns a string or enum member.
func (s Struct) String(name string) string {
	v, _ := s[name].(string)
	return v
}

// Int returns an integer or long member.
func (s Struct) Int(name string) int64 {
	v, _ := s[name].(int64)
	return v
}

// IntOr returns an integer member, or def when it is absent.
func (s Struct) IntOr(name string, def int64) int64 {
	if v, ok := s[name].(int64); ok {
		return v
	}
	return def
}

// Float returns a float or double member.
func (s Struct) Float(name string) float64 {
	v, _ := s[name].(float64)
	return v
}

// Bool returns a boolean member.
func (s Struct) Bool(name string) bool {
	v, _ := s[name].(bool)
	return v
}

// Time returns a timestamp member.
func (s Struct) Time(name string) time.Time {
	v, _ := s[name].(time.Time)
	return v
}

// Blob returns a blob member.
func (s Struct) Blob(name string) []byte {
	v, _ := s[name].([]byte)
	return v
}

// List returns a list member.
func (s Struct) List(name string) []any {
	v, _ := s[name].([]any)
	return v
}

// Strings returns a list of strings.
func (s Struct) Strings(name string) []string {
	l := s.List(name)
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, v := range l {
		if str, ok := v.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

// Floats returns a list of floats or doubles.
func (s Struct) Floats(name string) []float64 {
	l := s.List(name)
	if l == nil {
		return nil
	}
	out := make([]float64, 0, len(l))
	for _, v := range l {
		if f, ok := v.(float64); ok {
			out = append(out, f)
		}
	}
	return out
}

// Struct returns a structure member; it is nil when absent.
func (s Struct) Struct(name string) Struct {
	v, _ := s[name].(map[string]any)
	return v
}

// Structs returns a list of structures.
func (s Struct) Structs(name string) []Struct {
	l := s.List(name)
	if l == nil {
		return nil
	}
	out := make([]Struct, 0, len(l))
	for _, v := range l {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// Map returns a map member.
func (s Struct) Map(name string) map[string]any {
	v, _ := s[name].(map[string]any)
	return v
}

// StringMap returns a map of strings to strings.
func (s Struct) StringMap(name string) map[string]string {
	m := s.Map(name)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if str, ok := v.(string); ok {
			out[k] = str
		}
	}
	return out
}

// The helpers below read handler outputs, which may use other Go types
// than decoded inputs do.

// deref follows pointers; it reports false for nil.
func deref(v any) (any, bool) {
	if v == nil {
		return nil, false
	}
	switch v.(type) {
	case string, int64, int, float64, bool, time.Time, []byte, []any, map[string]any, *Frozen, *FrozenList:
		return v, true
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil, false
		}
		rv = rv.Elem()
	}
	return rv.Interface(), true
}

func asString(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.String {
		return rv.String(), true
	}
	return "", false
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if f == float64(int64(f)) {
			return int64(f), true
		}
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	}
	return 0, false
}

func asBool(v any) (bool, bool) {
	if b, ok := v.(bool); ok {
		return b, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Bool {
		return rv.Bool(), true
	}
	return false, false
}

func asTime(v any) (time.Time, bool) {
	t, ok := v.(time.Time)
	return t, ok
}

func asBlob(v any) ([]byte, bool) {
	switch b := v.(type) {
	case []byte:
		return b, true
	case string:
		return []byte(b), true
	}
	return nil, false
}

// forEachItem calls fn for each element of a list value ([]any, a
// *FrozenList or any other slice or array but []byte).
func forEachItem(v any, fn func(i int, item any) error) (bool, error) {
	if f, ok := v.(*FrozenList); ok {
		v = f.items
	}
	switch l := v.(type) {
	case []any:
		for i, item := range l {
			if err := fn(i, item); err != nil {
				return true, err
			}
		}
		return true, nil
	case []map[string]any:
		for i, item := range l {
			if err := fn(i, item); err != nil {
				return true, err
			}
		}
		return true, nil
	case []string:
		for i, item := range l {
			if err := fn(i, item); err != nil {
				return true, err
			}
		}
		return true, nil
	}
	rv := reflect.ValueOf(v)
	if (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Type().Elem().Kind() == reflect.Uint8 {
		return false, nil
	}
	for i := 0; i < rv.Len(); i++ {
		if err := fn(i, rv.Index(i).Interface()); err != nil {
			return true, err
		}
	}
	return true, nil
}

// asFields returns a structure or map value as a map keyed by string.
func asFields(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case Struct:
		return m, true
	case *Frozen:
		return m.fields, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		out[it.Key().String()] = it.Value().Interface()
	}
	return out, true
}
