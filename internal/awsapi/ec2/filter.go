package ec2

import (
	"slices"
	"strings"
)

// filter is one of EC2's Filter.N entries: a name and the values any of
// which may match (with * and ? wildcards, as EC2's).
type filter struct {
	Name   string
	Values []string
}

// field returns the values of a resource for a filter name; ok is false
// when the resource kind has no such filter.
type field func(name string) (values []string, ok bool)

// matchAll reports whether a resource passes every filter (filters are
// ANDed, a filter's values ORed). An unknown filter name is an error
// naming it and the names the call knows.
func matchAll(filters []filter, f field, known []string) (bool, error) {
	for _, fl := range filters {
		vals, ok := f(fl.Name)
		if !ok {
			return false, invalidParameter("The filter '%s' is invalid; filters of this call: %s", fl.Name, strings.Join(known, ", "))
		}
		if !anyMatches(fl.Values, vals) {
			return false, nil
		}
	}
	return true, nil
}

// anyMatches reports whether one of the patterns matches one of the
// values.
func anyMatches(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if wildcard(p, v) {
				return true
			}
		}
	}
	return false
}

// wildcard matches EC2 filter patterns: * any run of characters, ? one
// character, \ escapes the next one.
func wildcard(pattern, value string) bool {
	if !strings.ContainsAny(pattern, `*?\`) {
		return pattern == value
	}
	p, v := []rune(pattern), []rune(value)
	// match[j]: the pattern so far matches v[:j].
	match := make([]bool, len(v)+1)
	match[0] = true
	next := make([]bool, len(v)+1)
	for i := 0; i < len(p); i++ {
		c, escaped := p[i], false
		if c == '\\' && i+1 < len(p) {
			i++
			c, escaped = p[i], true
		}
		clear(next)
		if c == '*' && !escaped {
			seen := false
			for j := 0; j <= len(v); j++ {
				seen = seen || match[j]
				next[j] = seen
			}
		} else {
			for j := 1; j <= len(v); j++ {
				next[j] = match[j-1] && (c == v[j-1] || (c == '?' && !escaped))
			}
		}
		match, next = next, match
	}
	return match[len(v)]
}

// tagField answers the tag filters every EC2 resource with tags has:
// tag:KEY, tag-key, tag-value.
func tagField(tags map[string]string, name string) ([]string, bool) {
	switch {
	case strings.HasPrefix(name, "tag:"):
		v, ok := tags[strings.TrimPrefix(name, "tag:")]
		if !ok {
			return nil, true
		}
		return []string{v}, true
	case name == "tag-key":
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys, true
	case name == "tag-value":
		vals := make([]string, 0, len(tags))
		for _, v := range tags {
			vals = append(vals, v)
		}
		return vals, true
	}
	return nil, false
}
