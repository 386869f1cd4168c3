// Package fielderr describes what is wrong with a field of a resource spec:
// where it is (a path such as "listeners[1].port"), what was given, what the
// problem is and how to fix it. Validators return a List; callers that know
// more context (the stack file, the API) prefix the paths and add positions.
package fielderr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Error is one problem with one field.
type Error struct {
	// Path locates the field, e.g. "healthCheck.intervalSeconds" or
	// "loadBalancers[0].listeners[1].port". Map keys are joined with a dot
	// ("env.GREETING"), list items with brackets.
	Path string
	// Value is the offending value as shown to the user (strings quoted);
	// empty when the problem is that something is missing.
	Value string
	// Problem says what is wrong, e.g. "is out of range".
	Problem string
	// Fix says how to make it right, e.g. "use a port from 1 to 65535".
	Fix string
}

// New returns an Error for the field at path. value is formatted with
// FormatValue; pass nil when there is no value to show.
func New(path string, value any, problem, fix string) *Error {
	return &Error{Path: path, Value: FormatValue(value), Problem: problem, Fix: fix}
}

// Error formats the problem as "<path>: <problem> (got <value>); <fix>",
// leaving out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	if e.Value != "" {
		b.WriteString(" (got ")
		b.WriteString(e.Value)
		b.WriteString(")")
	}
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Prefixed returns a copy of e whose path is Join(prefix, e.Path).
func (e *Error) Prefixed(prefix string) *Error {
	c := *e
	c.Path = Join(prefix, e.Path)
	return &c
}

// List is a list of field problems. A nil or empty List means no problems;
// use Err to turn a List into an error value without the typed-nil trap.
type List []*Error

// Add appends a new Error (see New).
func (l *List) Add(path string, value any, problem, fix string) {
	*l = append(*l, New(path, value, problem, fix))
}

// Extend appends the problems of other with their paths prefixed.
func (l *List) Extend(prefix string, other List) {
	for _, e := range other {
		*l = append(*l, e.Prefixed(prefix))
	}
}

// Error lists the problems, one per line.
func (l List) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns l as an error, or nil when l is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Unwrap returns the individual problems, so errors.As finds an *Error.
func (l List) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// Join joins a parent path and a child path: Join("a[0]", "b") is "a[0].b",
// Join("a", "[1].b") is "a[1].b", and an empty side yields the other.
func Join(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	default:
		return prefix + "." + path
	}
}

// Index returns the path of item i of the list at path: "listeners[2]".
func Index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// FormatValue renders a value the way Error shows it: strings quoted,
// durations as Go duration strings, pointers dereferenced, nil as "".
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strconv.Quote(x)
	case time.Duration:
		return x.String()
	case fmt.Stringer:
		return x.String()
	case *int:
		if x == nil {
			return ""
		}
		return strconv.Itoa(*x)
	case *bool:
		if x == nil {
			return ""
		}
		return strconv.FormatBool(*x)
	default:
		return fmt.Sprint(v)
	}
}
