package protocol

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi/model"
)

// outputError is a handler output that does not fit the output shape. The
// path to the offending member is collected while the encoders unwind, so
// successful encodes build no paths.
type outputError struct {
	// segs holds the path innermost first.
	segs []string
	msg  string
}

func (e *outputError) Error() string {
	segs := slices.Clone(e.segs)
	slices.Reverse(segs)
	return "output member " + strings.Join(segs, ".") + ": " + e.msg
}

// within adds the path segment of the enclosing member to an outputError.
func within(err error, seg string) error {
	if oe, ok := err.(*outputError); ok {
		oe.segs = append(oe.segs, seg)
	}
	return err
}

// withinItem is within for the list item of index i (numbered from 1),
// formatting the number only for an error: a successful encode of a list
// of a thousand items makes no strings of their numbers.
func withinItem(err error, i int) error {
	if err == nil {
		return nil
	}
	return within(err, strconv.Itoa(i+1))
}

var goTypes = map[string]string{
	model.TypeStructure: "a map[string]any", model.TypeList: "a slice", model.TypeMap: "a map[string]any",
	model.TypeString: "a string", model.TypeInteger: "an integer", model.TypeLong: "an integer",
	model.TypeFloat: "a float", model.TypeDouble: "a float", model.TypeBoolean: "a bool",
	model.TypeTimestamp: "a time.Time", model.TypeBlob: "a []byte",
}

func typeError(sh *model.Shape, v any) error {
	return &outputError{msg: fmt.Sprintf("shape %s (%s) wants %s, got %T", sh.Name, sh.Type, goTypes[sh.Type], v)}
}

// inOrder calls fn for each present, non-nil member of fields in the
// shape's declaration order, and fails on members the shape lacks.
func inOrder(sh *model.Shape, fields map[string]any, fn func(m *model.Member, v any) error) error {
	if len(sh.Members) <= 3*len(fields) {
		// Most members are present: look each up.
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
			if err := fn(m, v); err != nil {
				return err
			}
		}
		if seen != len(fields) {
			return unknownMembers(sh, fields)
		}
		return nil
	}
	// Few members are present: take them from the map and sort them by
	// position (insertion sort; there are few).
	type field struct {
		m *model.Member
		v any
	}
	var stack [32]field
	present := stack[:0]
	for name, v := range fields {
		m := sh.MemberNamed(name)
		if m == nil {
			return unknownMembers(sh, fields)
		}
		present = append(present, field{m, v})
		for i := len(present) - 1; i > 0 && present[i].m.Index < present[i-1].m.Index; i-- {
			present[i], present[i-1] = present[i-1], present[i]
		}
	}
	for _, f := range present {
		v, ok := deref(f.v)
		if !ok {
			continue
		}
		if err := fn(f.m, v); err != nil {
			return err
		}
	}
	return nil
}

func unknownMembers(sh *model.Shape, fields map[string]any) error {
	var unknown []string
	for k := range fields {
		if sh.MemberNamed(k) == nil {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	known := make([]string, len(sh.Members))
	for i, m := range sh.Members {
		known[i] = m.Name
	}
	return &outputError{msg: fmt.Sprintf("shape %s has no member %s (members: %s)", sh.Name, strings.Join(unknown, ", "), strings.Join(known, ", "))}
}
