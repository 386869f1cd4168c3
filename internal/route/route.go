// Package route matches requests against a listener's rules: AWS's
// host-header, path-pattern, http-header, http-request-method, query-string
// and source-ip conditions. Rules are compiled once (wildcards, CIDRs,
// header names) and evaluated without allocating.
//
// Semantics follow AWS. Within a condition the values are ORed; all the
// conditions of a rule are ANDed; rules are tried from the lowest priority
// up and the default rule answers when none matches. In patterns '*'
// matches zero or more characters and '?' exactly one. Host and header
// values and query strings compare case-insensitively, paths and methods
// case-sensitively.
package route

import (
	"errors"
	"fmt"
	"net/netip"
	"net/textproto"
	"slices"
	"strings"
)

// Request is what rule conditions look at. The proxy implements it over its
// request type; methods must not allocate.
type Request interface {
	// Host is the Host header as sent; it may include ":port". Matching
	// ignores the port and case.
	Host() string
	// Path is the URL path, not decoded beyond what the proxy gives.
	Path() string
	// Method is the request method.
	Method() string
	// Header returns all values of a header (name case-insensitive); it
	// may return nil. Names are passed in canonical form
	// (textproto.CanonicalMIMEHeaderKey), so an http.Header lookup does
	// not allocate.
	Header(name string) []string
	// Query returns the decoded values of a query key.
	Query(key string) ([]string, bool)
	// RawQuery is the raw query string without the '?'. Query-string
	// conditions scan it, because AWS compares keys case-insensitively
	// and with wildcards.
	RawQuery() string
	// SourceIP is the client address.
	SourceIP() netip.Addr
}

// Condition field names, as in AWS's rule conditions.
const (
	FieldHostHeader        = "host-header"
	FieldPathPattern       = "path-pattern"
	FieldHTTPHeader        = "http-header"
	FieldHTTPRequestMethod = "http-request-method"
	FieldQueryString       = "query-string"
	FieldSourceIP          = "source-ip"
)

// Priority limits of non-default rules, as in AWS.
const (
	MinPriority = 1
	MaxPriority = 50000
)

// Rule is a compiled listener rule.
type Rule struct {
	// Priority is the rule's priority; 0 is the default rule.
	Priority int
	// Actions run when the rule matches.
	Actions []Action

	conds []condition // cheapest first
}

// Table is a listener's compiled rules. It is immutable and safe for
// concurrent use.
type Table struct {
	rules    []*Rule // ascending priority, default rule last
	hasQuery bool    // some rule has a query-string condition
}

// Compile checks and compiles rules and sorts them by priority; the default
// actions become the default rule. Errors name the rule, the condition and
// the offending value.
func Compile(rules []RuleConfig, defaultActions []Action) (*Table, error) {
	if len(defaultActions) == 0 {
		return nil, errors.New("route: default actions are empty: a listener needs default actions, e.g. a forward to a target group")
	}
	t := &Table{rules: make([]*Rule, 0, len(rules)+1)}
	seen := make(map[int]bool, len(rules))
	for i, spec := range rules {
		r, err := compileRule(spec)
		if err != nil {
			return nil, fmt.Errorf("route: rule %d (priority %d): %w", i+1, spec.Priority, err)
		}
		if seen[r.Priority] {
			return nil, fmt.Errorf("route: rule %d: priority %d is used by another rule: priorities must be unique within a listener", i+1, spec.Priority)
		}
		seen[r.Priority] = true
		t.rules = append(t.rules, r)
		for _, c := range r.conds {
			t.hasQuery = t.hasQuery || c.kind == kindQuery
		}
	}
	slices.SortFunc(t.rules, func(a, b *Rule) int { return a.Priority - b.Priority })
	t.rules = append(t.rules, &Rule{Priority: 0, Actions: defaultActions})
	return t, nil
}

// Match returns the first rule, by ascending priority, whose conditions all
// match r, else the default rule; it never returns nil.
func (t *Table) Match(r Request) *Rule {
	if !t.hasQuery {
		return t.match(r, nil)
	}
	var q queryParams // parsed on first use
	return t.match(r, &q)
}

func (t *Table) match(r Request, q *queryParams) *Rule {
	last := len(t.rules) - 1
	for _, rule := range t.rules[:last] {
		if rule.matches(r, q) {
			return rule
		}
	}
	return t.rules[last]
}

// Rules returns the compiled rules by ascending priority, the default rule
// last. The caller must not modify them.
func (t *Table) Rules() []*Rule { return t.rules }

func (rule *Rule) matches(r Request, q *queryParams) bool {
	for i := range rule.conds {
		if !rule.conds[i].matches(r, q) {
			return false
		}
	}
	return true
}

func compileRule(spec RuleConfig) (*Rule, error) {
	if spec.Priority < MinPriority || spec.Priority > MaxPriority {
		return nil, fmt.Errorf("priority %d is out of range: use %d–%d (lower runs first; the default rule has no priority)", spec.Priority, MinPriority, MaxPriority)
	}
	if len(spec.Conditions) == 0 {
		return nil, errors.New("conditions are empty: give at least one condition, or use the listener's default actions for unconditional routing")
	}
	if len(spec.Actions) == 0 {
		return nil, errors.New("actions are empty: give at least one action, e.g. a forward to a target group")
	}
	r := &Rule{Priority: spec.Priority, Actions: spec.Actions}
	once := map[string]bool{}
	for j, cs := range spec.Conditions {
		c, err := compileCondition(cs)
		if err != nil {
			return nil, fmt.Errorf("condition %d (%s): %w", j+1, cs.Field, err)
		}
		switch cs.Field {
		case FieldHostHeader, FieldPathPattern, FieldHTTPRequestMethod, FieldSourceIP:
			if once[cs.Field] {
				return nil, fmt.Errorf("condition %d: a rule takes at most one %s condition: put all its values in one condition (they are ORed)", j+1, cs.Field)
			}
			once[cs.Field] = true
		}
		r.conds = append(r.conds, c)
	}
	slices.SortStableFunc(r.conds, func(a, b condition) int { return int(a.kind) - int(b.kind) })
	return r, nil
}

// kind orders conditions by evaluation cost, cheapest first.
type kind uint8

const (
	kindMethod kind = iota
	kindSourceIP
	kindHost
	kindPath
	kindHeader
	kindQuery
)

// condition is one compiled condition; which fields are set depends on
// kind.
type condition struct {
	kind     kind
	methods  []string
	prefixes []netip.Prefix
	globs    []glob // host, path and header values
	header   string // canonical header name
	pairs    []queryPair
}

// queryPair is a compiled query-string key/value pair; an empty key
// pattern matches any key.
type queryPair struct {
	anyKey bool
	key    glob
	value  glob
}

func compileCondition(cs Condition) (condition, error) {
	var c condition
	if cs.HTTPHeaderName != "" && cs.Field != FieldHTTPHeader {
		return c, fmt.Errorf("httpHeaderName %q is only for http-header conditions: remove it", cs.HTTPHeaderName)
	}
	if len(cs.QueryString) > 0 && cs.Field != FieldQueryString {
		return c, errors.New("queryString is only for query-string conditions: use values")
	}
	if cs.Field != FieldQueryString && len(cs.Values) == 0 {
		if cs.Field == "" {
			return c, fmt.Errorf("field is empty: use one of %s", strings.Join(fields, ", "))
		}
		if slices.Contains(fields, cs.Field) {
			return c, errors.New("values are empty: give at least one value (values are ORed)")
		}
	}
	switch cs.Field {
	case FieldHostHeader:
		c.kind = kindHost
		for _, v := range cs.Values {
			if err := checkHost(v); err != nil {
				return c, err
			}
			g, err := compileGlob(v, true, false)
			if err != nil {
				return c, fmt.Errorf("value %q: %w", v, err)
			}
			c.globs = append(c.globs, g)
		}
	case FieldPathPattern:
		c.kind = kindPath
		for _, v := range cs.Values {
			if v == "" {
				return c, errors.New(`value "" is empty: give a path pattern such as "/api/*"`)
			}
			g, err := compileGlob(v, false, false)
			if err != nil {
				return c, fmt.Errorf("value %q: %w", v, err)
			}
			c.globs = append(c.globs, g)
		}
	case FieldHTTPHeader:
		c.kind = kindHeader
		if err := checkToken("httpHeaderName", cs.HTTPHeaderName, "a header name such as X-Version"); err != nil {
			return c, err
		}
		c.header = textproto.CanonicalMIMEHeaderKey(cs.HTTPHeaderName)
		for _, v := range cs.Values {
			g, err := compileGlob(v, true, false)
			if err != nil {
				return c, fmt.Errorf("value %q: %w", v, err)
			}
			c.globs = append(c.globs, g)
		}
	case FieldHTTPRequestMethod:
		c.kind = kindMethod
		for _, v := range cs.Values {
			if err := checkToken("value", v, "a method such as GET (case-sensitive, no wildcards)"); err != nil {
				return c, err
			}
			c.methods = append(c.methods, v)
		}
	case FieldQueryString:
		c.kind = kindQuery
		if len(cs.Values) > 0 {
			return c, errors.New("values are not used by query-string conditions: use queryString with key/value pairs")
		}
		if len(cs.QueryString) == 0 {
			return c, errors.New("queryString is empty: give at least one key/value pair (an empty key matches any key)")
		}
		for _, kv := range cs.QueryString {
			var p queryPair
			if kv.Value == "" {
				return c, fmt.Errorf("query pair with key %q has an empty value: give a value pattern, or \"*\" to match any value", kv.Key)
			}
			var err error
			if p.value, err = compileGlob(kv.Value, true, true); err != nil {
				return c, fmt.Errorf("query value %q: %w", kv.Value, err)
			}
			p.anyKey = kv.Key == ""
			if p.key, err = compileGlob(kv.Key, true, true); err != nil {
				return c, fmt.Errorf("query key %q: %w", kv.Key, err)
			}
			c.pairs = append(c.pairs, p)
		}
	case FieldSourceIP:
		c.kind = kindSourceIP
		for _, v := range cs.Values {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				if a, aerr := netip.ParseAddr(v); aerr == nil {
					return c, fmt.Errorf("value %q is an address, not a CIDR block: write %s/%d", v, a, a.BitLen())
				}
				return c, fmt.Errorf("value %q is not a CIDR block: write one such as 10.0.0.0/8 or 2001:db8::/32", v)
			}
			c.prefixes = append(c.prefixes, p.Masked())
		}
	default:
		return c, fmt.Errorf("field %q is unknown: use one of %s", cs.Field, strings.Join(fields, ", "))
	}
	return c, nil
}

var fields = []string{FieldHostHeader, FieldPathPattern, FieldHTTPHeader, FieldHTTPRequestMethod, FieldQueryString, FieldSourceIP}

// checkHost enforces AWS's host-header characters.
func checkHost(v string) error {
	if v == "" {
		return errors.New(`value "" is empty: give a host name such as "example.com" or "*.example.com"`)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-.*?", c) >= 0 {
			continue
		}
		return fmt.Errorf("value %q: character %q is not allowed in a host pattern: use letters, digits, '-', '.', '*' and '?' (the port is ignored when matching)", v, c)
	}
	return nil
}

// checkToken checks an HTTP token (a method or a header name), which takes
// no wildcards.
func checkToken(what, v, example string) error {
	if v == "" {
		return fmt.Errorf("%s is empty: give %s", what, example)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'+-.^_`|~", c) >= 0 {
			continue
		}
		return fmt.Errorf("%s %q: character %q is not allowed (wildcards neither): give %s", what, v, c, example)
	}
	return nil
}

// matches reports whether r meets c; q caches r's query and is nil when
// the table has no query-string conditions.
func (c *condition) matches(r Request, q *queryParams) bool {
	switch c.kind {
	case kindMethod:
		m := r.Method()
		for _, v := range c.methods {
			if m == v {
				return true
			}
		}
		return false
	case kindSourceIP:
		a := r.SourceIP()
		if !a.IsValid() {
			return false
		}
		a = a.Unmap().WithZone("")
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	case kindHost:
		return c.anyGlob(hostOnly(r.Host()))
	case kindPath:
		return c.anyGlob(r.Path())
	case kindHeader:
		if c.header == "Host" {
			// net/http moves Host out of the header map.
			return c.anyGlob(r.Host())
		}
		for _, v := range r.Header(c.header) {
			if c.anyGlob(v) {
				return true
			}
		}
		return false
	case kindQuery:
		return c.matchQuery(r, q)
	}
	return false
}

func (c *condition) anyGlob(s string) bool {
	for i := range c.globs {
		if c.globs[i].match(s) {
			return true
		}
	}
	return false
}

// hostOnly strips a port from a Host header value: "example.com:8080" and
// "[::1]:8080" become "example.com" and "[::1]".
func hostOnly(h string) string {
	i := strings.LastIndexByte(h, ':')
	if i < 0 {
		return h
	}
	for j := i + 1; j < len(h); j++ {
		if h[j] < '0' || h[j] > '9' {
			return h
		}
	}
	if h[0] == '[' {
		if h[i-1] == ']' {
			return h[:i]
		}
		return h
	}
	if strings.IndexByte(h[:i], ':') >= 0 {
		return h // a bare IPv6 address
	}
	return h[:i]
}
