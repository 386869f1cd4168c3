package route

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// req is a Request over plain fields, as the proxy would wrap
// *http.Request.
type req struct {
	host, path, method, rawQuery string
	header                       http.Header
	src                          netip.Addr
}

func (r *req) Host() string                { return r.host }
func (r *req) Path() string                { return r.path }
func (r *req) Method() string              { return r.method }
func (r *req) Header(name string) []string { return r.header[name] }
func (r *req) RawQuery() string            { return r.rawQuery }
func (r *req) SourceIP() netip.Addr        { return r.src }
func (r *req) Query(key string) ([]string, bool) {
	v, err := url.ParseQuery(r.rawQuery)
	if err != nil {
		return nil, false
	}
	vs, ok := v[key]
	return vs, ok
}

// newReq builds a request from "METHOD host/path?query" and extra
// options.
func newReq(line string, opts ...func(*req)) *req {
	method, rest, _ := strings.Cut(line, " ")
	r := &req{method: method, header: http.Header{}, src: netip.MustParseAddr("192.0.2.10")}
	hostPath, q, _ := strings.Cut(rest, "?")
	i := strings.IndexByte(hostPath, '/')
	if i < 0 {
		r.host, r.path = hostPath, "/"
	} else {
		r.host, r.path = hostPath[:i], hostPath[i:]
	}
	r.rawQuery = q
	for _, o := range opts {
		o(r)
	}
	return r
}

func hdr(name string, values ...string) func(*req) {
	return func(r *req) {
		for _, v := range values {
			r.header.Add(name, v)
		}
	}
}

func from(ip string) func(*req) {
	return func(r *req) { r.src = netip.MustParseAddr(ip) }
}

func fwd(group string) []Action {
	return []Action{ForwardTo(group)}
}

func cond(field string, values ...string) Condition {
	return Condition{Field: field, Values: values}
}

func header(name string, values ...string) Condition {
	return Condition{Field: FieldHTTPHeader, HTTPHeaderName: name, Values: values}
}

func query(pairs ...string) Condition {
	c := Condition{Field: FieldQueryString}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		c.QueryString = append(c.QueryString, KeyValue{Key: k, Value: v})
	}
	return c
}

// matches compiles one rule with conds and reports whether r hits it.
func matches(t *testing.T, r Request, conds ...Condition) bool {
	t.Helper()
	tbl, err := Compile([]RuleConfig{{Priority: 1, Conditions: conds, Actions: fwd("rule")}}, fwd("default"))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return tbl.Match(r).Priority == 1
}

type condCase struct {
	name  string
	conds []Condition
	req   *req
	want  bool
}

func runCondCases(t *testing.T, cases []condCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := matches(t, tc.req, tc.conds...); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHostHeader(t *testing.T) {
	h := func(v ...string) []Condition { return []Condition{cond(FieldHostHeader, v...)} }
	runCondCases(t, []condCase{
		{name: "exact", conds: h("example.com"), req: newReq("GET example.com/"), want: true},
		{name: "other host", conds: h("example.com"), req: newReq("GET example.org/"), want: false},
		{name: "case-insensitive request", conds: h("example.com"), req: newReq("GET EXAMPLE.Com/"), want: true},
		{name: "case-insensitive pattern", conds: h("API.Example.com"), req: newReq("GET api.example.com/"), want: true},
		{name: "port ignored", conds: h("example.com"), req: newReq("GET example.com:8080/"), want: true},
		{name: "port ignored with wildcard", conds: h("*.example.com"), req: newReq("GET a.example.com:80/"), want: true},
		{name: "subdomain wildcard", conds: h("*.example.com"), req: newReq("GET api.example.com/"), want: true},
		{name: "subdomain wildcard deep", conds: h("*.example.com"), req: newReq("GET a.b.example.com/"), want: true},
		{name: "subdomain wildcard needs a label", conds: h("*.example.com"), req: newReq("GET example.com/"), want: false},
		{name: "question mark", conds: h("api-v?.example.com"), req: newReq("GET api-v2.example.com/"), want: true},
		{name: "question mark one char", conds: h("api-v?.example.com"), req: newReq("GET api-v10.example.com/"), want: false},
		{name: "values are ORed", conds: h("a.example.com", "b.example.com"), req: newReq("GET b.example.com/"), want: true},
		{name: "no host", conds: h("example.com"), req: newReq("GET /"), want: false},
		{name: "star matches no host", conds: h("*"), req: newReq("GET /"), want: true},
		{name: "IPv6 literal with port", conds: h("*"), req: newReq("GET [::1]:8080/"), want: true},
		{name: "suffix does not leak past host", conds: h("*.com"), req: newReq("GET example.com.evil:443/"), want: false},
		{name: "localhost style", conds: h("app.localhost"), req: newReq("GET app.localhost:3000/"), want: true},
	})
}

func TestHostOnly(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: "example.com", want: "example.com"},
		{in: "example.com:8080", want: "example.com"},
		{in: "example.com:", want: "example.com"},
		{in: "example.com:http", want: "example.com:http"},
		{in: "127.0.0.1:80", want: "127.0.0.1"},
		{in: "[::1]:80", want: "[::1]"},
		{in: "[::1]", want: "[::1]"},
		{in: "::1", want: "::1"},
		{in: "fe80::1:80", want: "fe80::1:80"},
		{in: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := hostOnly(tc.in); got != tc.want {
				t.Errorf("hostOnly(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPathPattern(t *testing.T) {
	p := func(v ...string) []Condition { return []Condition{cond(FieldPathPattern, v...)} }
	runCondCases(t, []condCase{
		{name: "exact", conds: p("/health"), req: newReq("GET h.example/health"), want: true},
		{name: "exact no trailing slash", conds: p("/health"), req: newReq("GET h.example/health/"), want: false},
		{name: "prefix", conds: p("/api/*"), req: newReq("GET h.example/api/v1/users"), want: true},
		{name: "prefix needs the slash", conds: p("/api/*"), req: newReq("GET h.example/api"), want: false},
		{name: "prefix without slash", conds: p("/api*"), req: newReq("GET h.example/api"), want: true},
		{name: "case-sensitive", conds: p("/API/*"), req: newReq("GET h.example/api/x"), want: false},
		{name: "query is not part of the path", conds: p("/search"), req: newReq("GET h.example/search?q=1"), want: true},
		{name: "query cannot be matched by path", conds: p("*q=1*"), req: newReq("GET h.example/search?q=1"), want: false},
		{name: "extension", conds: p("*.jpg", "*.png"), req: newReq("GET h.example/img/a.png"), want: true},
		{name: "extension miss", conds: p("*.jpg", "*.png"), req: newReq("GET h.example/img/a.gif"), want: false},
		{name: "question", conds: p("/v?/*"), req: newReq("GET h.example/v2/x"), want: true},
		{name: "infix", conds: p("/users/*/avatar"), req: newReq("GET h.example/users/42/avatar"), want: true},
		{name: "root only", conds: p("/"), req: newReq("GET h.example/"), want: true},
		{name: "root only miss", conds: p("/"), req: newReq("GET h.example/x"), want: false},
		{name: "everything", conds: p("*"), req: newReq("GET h.example/any/thing"), want: true},
	})
}

func TestHTTPHeader(t *testing.T) {
	runCondCases(t, []condCase{
		{name: "exact", conds: []Condition{header("X-Version", "v2")}, req: newReq("GET h/", hdr("X-Version", "v2")), want: true},
		{name: "name case-insensitive", conds: []Condition{header("x-version", "v2")}, req: newReq("GET h/", hdr("X-Version", "v2")), want: true},
		{name: "value case-insensitive", conds: []Condition{header("X-Version", "V2")}, req: newReq("GET h/", hdr("X-Version", "v2")), want: true},
		{name: "value wildcard", conds: []Condition{header("User-Agent", "*Mobile*")}, req: newReq("GET h/", hdr("User-Agent", "Mozilla/5.0 (iPhone) mobile Safari")), want: true},
		{name: "value wildcard miss", conds: []Condition{header("User-Agent", "*Mobile*")}, req: newReq("GET h/", hdr("User-Agent", "curl/8.0")), want: false},
		{name: "missing header", conds: []Condition{header("X-Version", "*")}, req: newReq("GET h/"), want: false},
		{name: "empty value matches star", conds: []Condition{header("X-Version", "*")}, req: newReq("GET h/", hdr("X-Version", "")), want: true},
		{name: "any of several header values", conds: []Condition{header("X-Tag", "beta")}, req: newReq("GET h/", hdr("X-Tag", "alpha", "beta")), want: true},
		{name: "any of several patterns", conds: []Condition{header("X-Tag", "gamma", "al*")}, req: newReq("GET h/", hdr("X-Tag", "alpha")), want: true},
		{name: "value is not split on commas", conds: []Condition{header("X-Tag", "beta")}, req: newReq("GET h/", hdr("X-Tag", "alpha, beta")), want: false},
		{name: "host header", conds: []Condition{header("host", "*.example.com:*")}, req: newReq("GET a.example.com:8080/"), want: true},
		{name: "two header conditions ANDed", conds: []Condition{header("A", "1"), header("B", "2")}, req: newReq("GET h/", hdr("A", "1")), want: false},
		{name: "two header conditions both", conds: []Condition{header("A", "1"), header("B", "2")}, req: newReq("GET h/", hdr("A", "1"), hdr("B", "2")), want: true},
	})
}

func TestHTTPRequestMethod(t *testing.T) {
	m := func(v ...string) []Condition { return []Condition{cond(FieldHTTPRequestMethod, v...)} }
	runCondCases(t, []condCase{
		{name: "exact", conds: m("GET"), req: newReq("GET h/"), want: true},
		{name: "other", conds: m("GET"), req: newReq("POST h/"), want: false},
		{name: "case-sensitive", conds: m("GET"), req: newReq("get h/"), want: false},
		{name: "ORed", conds: m("PUT", "PATCH", "DELETE"), req: newReq("PATCH h/"), want: true},
		{name: "custom method", conds: m("PURGE"), req: newReq("PURGE h/"), want: true},
		{name: "no prefix match", conds: m("GET"), req: newReq("GETS h/"), want: false},
	})
}

func TestQueryString(t *testing.T) {
	q := func(pairs ...string) []Condition { return []Condition{query(pairs...)} }
	runCondCases(t, []condCase{
		{name: "key and value", conds: q("version=v2"), req: newReq("GET h/?version=v2"), want: true},
		{name: "among other pairs", conds: q("version=v2"), req: newReq("GET h/?a=1&version=v2&b=2"), want: true},
		{name: "value differs", conds: q("version=v2"), req: newReq("GET h/?version=v1"), want: false},
		{name: "key differs", conds: q("version=v2"), req: newReq("GET h/?v=v2"), want: false},
		{name: "value case-insensitive", conds: q("lang=EN"), req: newReq("GET h/?lang=en"), want: true},
		{name: "key case-insensitive", conds: q("Lang=en"), req: newReq("GET h/?LANG=en"), want: true},
		{name: "value wildcard", conds: q("id=12*"), req: newReq("GET h/?id=12345"), want: true},
		{name: "value question", conds: q("v=?"), req: newReq("GET h/?v=22"), want: false},
		{name: "key wildcard", conds: q("utm_*=*"), req: newReq("GET h/?utm_source=mail"), want: true},
		{name: "any key", conds: q("=debug"), req: newReq("GET h/?mode=debug"), want: true},
		{name: "any key miss", conds: q("=debug"), req: newReq("GET h/?mode=prod"), want: false},
		{name: "pairs are ORed", conds: q("a=1", "b=2"), req: newReq("GET h/?b=2"), want: true},
		{name: "pair must be one param", conds: q("a=2"), req: newReq("GET h/?a=1&b=2"), want: false},
		{name: "percent-decoded value", conds: q("name=john doe"), req: newReq("GET h/?name=john%20doe"), want: true},
		{name: "plus is a space", conds: q("name=john doe"), req: newReq("GET h/?name=john+doe"), want: true},
		{name: "percent-decoded key", conds: q("a b=1"), req: newReq("GET h/?a%20b=1"), want: true},
		{name: "decoded ampersand stays in the value", conds: q("q=a&b"), req: newReq("GET h/?q=a%26b"), want: true},
		{name: "invalid escape kept literally", conds: q("q=100%"), req: newReq("GET h/?q=100%"), want: true},
		{name: "key without value", conds: q("debug=*"), req: newReq("GET h/?debug"), want: true},
		{name: "escaped star is literal", conds: q(`q=\*`), req: newReq("GET h/?q=*"), want: true},
		{name: "escaped star does not wildcard", conds: q(`q=\*`), req: newReq("GET h/?q=abc"), want: false},
		{name: "no query", conds: q("=*"), req: newReq("GET h/"), want: false},
		{name: "empty params skipped", conds: q("a=1"), req: newReq("GET h/?&&a=1&"), want: true},
		{name: "long value decoded", conds: q("x=*end"), req: newReq("GET h/?x=" + strings.Repeat("%41", 400) + "end"), want: true},
		{name: "two conditions ANDed", conds: []Condition{query("a=1"), query("b=2")}, req: newReq("GET h/?a=1"), want: false},
		{name: "two conditions both", conds: []Condition{query("a=1"), query("b=%")}, req: newReq("GET h/?a=1&b=%25"), want: true},
		{name: "more params than cached", conds: q("last=yes"), req: newReq("GET h/?" + strings.Repeat("p=1&", 40) + "last=yes"), want: true},
		{name: "more params than cached miss", conds: q("last=yes"), req: newReq("GET h/?" + strings.Repeat("p=1&", 40) + "last=no"), want: false},
		{name: "more decoded bytes than cached", conds: q("z=a b"), req: newReq("GET h/?" + strings.Repeat("x=%41%42%43%44&", 60) + "z=a+b"), want: true},
	})
}

func TestSourceIP(t *testing.T) {
	s := func(v ...string) []Condition { return []Condition{cond(FieldSourceIP, v...)} }
	runCondCases(t, []condCase{
		{name: "inside v4", conds: s("10.0.0.0/8"), req: newReq("GET h/", from("10.1.2.3")), want: true},
		{name: "outside v4", conds: s("10.0.0.0/8"), req: newReq("GET h/", from("11.1.2.3")), want: false},
		{name: "single host", conds: s("192.0.2.7/32"), req: newReq("GET h/", from("192.0.2.7")), want: true},
		{name: "unmasked prefix", conds: s("192.0.2.7/24"), req: newReq("GET h/", from("192.0.2.99")), want: true},
		{name: "ORed", conds: s("10.0.0.0/8", "127.0.0.0/8"), req: newReq("GET h/", from("127.0.0.1")), want: true},
		{name: "inside v6", conds: s("2001:db8::/32"), req: newReq("GET h/", from("2001:db8:1::5")), want: true},
		{name: "outside v6", conds: s("2001:db8::/32"), req: newReq("GET h/", from("2001:db9::5")), want: false},
		{name: "v4-mapped v6 client", conds: s("127.0.0.0/8"), req: newReq("GET h/", from("::ffff:127.0.0.1")), want: true},
		{name: "v4 client v6 block", conds: s("::/0"), req: newReq("GET h/", from("127.0.0.1")), want: false},
		{name: "zone ignored", conds: s("fe80::/10"), req: newReq("GET h/", from("fe80::1%eth0")), want: true},
		{name: "everything v4", conds: s("0.0.0.0/0"), req: newReq("GET h/", from("203.0.113.9")), want: true},
		{name: "unknown source", conds: s("0.0.0.0/0"), req: newReq("GET h/", func(r *req) { r.src = netip.Addr{} }), want: false},
	})
}

func TestRuleConditionsAreANDed(t *testing.T) {
	conds := []Condition{
		cond(FieldHostHeader, "api.example.com"),
		cond(FieldPathPattern, "/v2/*"),
		cond(FieldHTTPRequestMethod, "GET", "HEAD"),
		cond(FieldSourceIP, "127.0.0.0/8"),
		header("X-Canary", "true"),
		query("debug=*"),
	}
	ok := func(r *req) {}
	tests := []struct {
		name string
		mut  func(*req)
		want bool
	}{
		{name: "all match", mut: ok, want: true},
		{name: "host differs", mut: func(r *req) { r.host = "www.example.com" }, want: false},
		{name: "path differs", mut: func(r *req) { r.path = "/v1/x" }, want: false},
		{name: "method differs", mut: func(r *req) { r.method = "POST" }, want: false},
		{name: "source differs", mut: func(r *req) { r.src = netip.MustParseAddr("10.0.0.1") }, want: false},
		{name: "header missing", mut: func(r *req) { r.header.Del("X-Canary") }, want: false},
		{name: "query missing", mut: func(r *req) { r.rawQuery = "" }, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReq("HEAD api.example.com/v2/items?debug=1", hdr("X-Canary", "TRUE"), from("127.0.0.1"))
			tc.mut(r)
			if got := matches(t, r, conds...); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPriorityOrder(t *testing.T) {
	rules := []RuleConfig{
		{Priority: 30, Conditions: []Condition{cond(FieldPathPattern, "/*")}, Actions: fwd("catch-all")},
		{Priority: 5, Conditions: []Condition{cond(FieldPathPattern, "/api/admin/*")}, Actions: fwd("admin")},
		{Priority: 10, Conditions: []Condition{cond(FieldPathPattern, "/api/*")}, Actions: fwd("api")},
		{Priority: 20, Conditions: []Condition{cond(FieldHostHeader, "static.example.com")}, Actions: fwd("static")},
	}
	tbl, err := Compile(rules, fwd("default"))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	var prios []int
	for _, r := range tbl.Rules() {
		prios = append(prios, r.Priority)
	}
	if got, want := fmt.Sprint(prios), "[5 10 20 30 0]"; got != want {
		t.Errorf("Rules priorities = %s, want %s", got, want)
	}
	tests := []struct {
		name string
		req  *req
		want string
	}{
		{name: "lowest priority wins", req: newReq("GET www.example.com/api/admin/users"), want: "admin"},
		{name: "next rule", req: newReq("GET www.example.com/api/items"), want: "api"},
		{name: "host rule before catch-all", req: newReq("GET static.example.com/logo.png"), want: "static"},
		{name: "api beats host rule", req: newReq("GET static.example.com/api/x"), want: "api"},
		{name: "catch-all", req: newReq("GET www.example.com/about"), want: "catch-all"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tbl.Match(tc.req).Actions[0].Forward.TargetGroups[0].Name; got != tc.want {
				t.Errorf("matched %s, want %s", got, tc.want)
			}
		})
	}
}

func TestDefaultRule(t *testing.T) {
	t.Run("no rules", func(t *testing.T) {
		tbl, err := Compile(nil, fwd("default"))
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		r := tbl.Match(newReq("GET h/"))
		if r == nil || r.Priority != 0 || r.Actions[0].Forward.TargetGroups[0].Name != "default" {
			t.Fatalf("Match = %+v, want the default rule", r)
		}
	})
	t.Run("no rule matches", func(t *testing.T) {
		tbl, err := Compile([]RuleConfig{{Priority: 1, Conditions: []Condition{cond(FieldPathPattern, "/x")}, Actions: fwd("x")}}, fwd("default"))
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		if got := tbl.Match(newReq("GET h/y")).Actions[0].Forward.TargetGroups[0].Name; got != "default" {
			t.Errorf("matched %s, want default", got)
		}
	})
}

func TestCompileErrors(t *testing.T) {
	rule := func(c ...Condition) []RuleConfig {
		return []RuleConfig{{Priority: 1, Conditions: c, Actions: fwd("a")}}
	}
	tests := []struct {
		name     string
		rules    []RuleConfig
		defaults []Action
		wantErr  string
	}{
		{name: "no default actions", defaults: []Action{}, wantErr: "default actions are empty"},
		{name: "priority zero", rules: []RuleConfig{{Priority: 0, Conditions: []Condition{cond(FieldPathPattern, "/")}, Actions: fwd("a")}},
			wantErr: "rule 1 (priority 0): priority 0 is out of range: use 1–50000"},
		{name: "priority too high", rules: []RuleConfig{{Priority: 50001, Conditions: []Condition{cond(FieldPathPattern, "/")}, Actions: fwd("a")}},
			wantErr: "priority 50001 is out of range"},
		{name: "duplicate priority", rules: []RuleConfig{
			{Priority: 7, Conditions: []Condition{cond(FieldPathPattern, "/a")}, Actions: fwd("a")},
			{Priority: 7, Conditions: []Condition{cond(FieldPathPattern, "/b")}, Actions: fwd("b")},
		}, wantErr: "rule 2: priority 7 is used by another rule"},
		{name: "no conditions", rules: rule(), wantErr: "conditions are empty"},
		{name: "no actions", rules: []RuleConfig{{Priority: 1, Conditions: []Condition{cond(FieldPathPattern, "/")}}}, wantErr: "actions are empty"},
		{name: "unknown field", rules: rule(cond("path", "/x")), wantErr: `condition 1 (path): field "path" is unknown: use one of host-header, path-pattern, http-header, http-request-method, query-string, source-ip`},
		{name: "empty field", rules: rule(cond("")), wantErr: "field is empty: use one of host-header"},
		{name: "no values", rules: rule(cond(FieldPathPattern)), wantErr: "condition 1 (path-pattern): values are empty"},
		{name: "two path conditions", rules: rule(cond(FieldPathPattern, "/a"), cond(FieldPathPattern, "/b")), wantErr: "condition 2: a rule takes at most one path-pattern condition"},
		{name: "two host conditions", rules: rule(cond(FieldHostHeader, "a.b"), cond(FieldHostHeader, "c.d")), wantErr: "at most one host-header condition"},
		{name: "empty path", rules: rule(cond(FieldPathPattern, "")), wantErr: `value "" is empty: give a path pattern`},
		{name: "path control character", rules: rule(cond(FieldPathPattern, "/a\nb")), wantErr: `value "/a\nb": byte 0x0a at offset 2 is not visible ASCII`},
		{name: "host with port", rules: rule(cond(FieldHostHeader, "example.com:8080")), wantErr: `value "example.com:8080": character ':' is not allowed in a host pattern`},
		{name: "empty host", rules: rule(cond(FieldHostHeader, "")), wantErr: `value "" is empty: give a host name`},
		{name: "header without name", rules: rule(cond(FieldHTTPHeader, "x")), wantErr: "httpHeaderName is empty: give a header name"},
		{name: "header name wildcard", rules: rule(header("X-*", "x")), wantErr: `httpHeaderName "X-*": character '*' is not allowed`},
		{name: "header name on other field", rules: rule(Condition{Field: FieldPathPattern, Values: []string{"/"}, HTTPHeaderName: "X-A"}), wantErr: `httpHeaderName "X-A" is only for http-header conditions`},
		{name: "method wildcard", rules: rule(cond(FieldHTTPRequestMethod, "GE*")), wantErr: `value "GE*": character '*' is not allowed (wildcards neither)`},
		{name: "empty method", rules: rule(cond(FieldHTTPRequestMethod, "")), wantErr: "value is empty: give a method"},
		{name: "query without pairs", rules: rule(cond(FieldQueryString)), wantErr: "queryString is empty"},
		{name: "query with values", rules: rule(cond(FieldQueryString, "a=b")), wantErr: "values are not used by query-string conditions: use queryString"},
		{name: "query empty value", rules: rule(query("a=")), wantErr: `query pair with key "a" has an empty value: give a value pattern, or "*"`},
		{name: "query bad escape", rules: rule(query(`a=b\`)), wantErr: `query value "b\\": it ends in a lone backslash`},
		{name: "queryString on other field", rules: rule(Condition{Field: FieldPathPattern, Values: []string{"/"}, QueryString: []KeyValue{{Value: "x"}}}), wantErr: "queryString is only for query-string conditions"},
		{name: "bare IP", rules: rule(cond(FieldSourceIP, "10.0.0.5")), wantErr: `value "10.0.0.5" is an address, not a CIDR block: write 10.0.0.5/32`},
		{name: "bare IPv6", rules: rule(cond(FieldSourceIP, "2001:db8::1")), wantErr: "write 2001:db8::1/128"},
		{name: "bad CIDR", rules: rule(cond(FieldSourceIP, "10.0.0.0/33")), wantErr: `value "10.0.0.0/33" is not a CIDR block`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defaults := tc.defaults
			if defaults == nil {
				defaults = fwd("default")
			}
			_, err := Compile(tc.rules, defaults)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Compile error = %v, want it to contain %q", err, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "route: ") {
				t.Errorf("error %q lacks the route: prefix", err)
			}
		})
	}
}

// typicalTable is a listener with n rules of every condition kind; the
// request matches none but the last.
func typicalTable(tb testing.TB, n int) (*Table, *req) {
	tb.Helper()
	var rules []RuleConfig
	for i := range n - 1 {
		var c []Condition
		switch i % 6 {
		case 0:
			c = []Condition{cond(FieldHostHeader, fmt.Sprintf("svc%d.example.com", i), "*.svc"+fmt.Sprint(i)+".example.com")}
		case 1:
			c = []Condition{cond(FieldPathPattern, fmt.Sprintf("/svc%d/*", i), "*.svc"+fmt.Sprint(i))}
		case 2:
			c = []Condition{header("X-Service", fmt.Sprintf("svc%d*", i))}
		case 3:
			c = []Condition{query(fmt.Sprintf("svc=%d", i), fmt.Sprintf("=svc%d", i))}
		case 4:
			c = []Condition{cond(FieldSourceIP, "10.0.0.0/8", "2001:db8::/32"), cond(FieldPathPattern, fmt.Sprintf("/internal%d/*", i))}
		case 5:
			c = []Condition{cond(FieldHTTPRequestMethod, "DELETE"), cond(FieldHostHeader, fmt.Sprintf("admin%d.example.com", i))}
		}
		rules = append(rules, RuleConfig{Priority: i + 1, Conditions: c, Actions: fwd(fmt.Sprint("tg", i))})
	}
	rules = append(rules, RuleConfig{Priority: n, Conditions: []Condition{
		cond(FieldHostHeader, "*.example.com"),
		cond(FieldPathPattern, "/api/*"),
		query("page=*"),
	}, Actions: fwd("last")})
	tbl, err := Compile(rules, fwd("default"))
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	r := newReq("GET www.example.com:8080/api/v1/items?page=2&sort=name%20asc&q=caf%C3%A9", hdr("X-Service", "web"), hdr("User-Agent", "bench"), from("192.0.2.1"))
	return tbl, r
}

func TestMatchDoesNotAllocate(t *testing.T) {
	for _, n := range []int{1, 10, 100} {
		t.Run(fmt.Sprint(n, " rules"), func(t *testing.T) {
			tbl, r := typicalTable(t, n)
			if got := tbl.Match(r).Actions[0].Forward.TargetGroups[0].Name; got != "last" {
				t.Fatalf("matched %s, want last", got)
			}
			var req Request = r
			if allocs := testing.AllocsPerRun(200, func() { tbl.Match(req) }); allocs != 0 {
				t.Errorf("allocs per Match = %v, want 0", allocs)
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprint(n, "rules"), func(b *testing.B) {
			tbl, r := typicalTable(b, n)
			var req Request = r
			b.ReportAllocs()
			for b.Loop() {
				tbl.Match(req)
			}
		})
	}
}

func BenchmarkGlob(b *testing.B) {
	g, _ := compileGlob("*/api/v?/*/items*", false, false)
	s := "/tenant/acme/api/v1/users/42/items/latest"
	b.ReportAllocs()
	for b.Loop() {
		g.match(s)
	}
}

func FuzzUnescape(f *testing.F) {
	for _, s := range []string{"", "a", "a+b", "caf%C3%A9", "100%", "%zz", "%4", strings.Repeat("%41", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf [maxInlineQuery]byte
		got := strings.Clone(unescape(s, buf[:]))
		want, err := url.QueryUnescape(s)
		if err != nil {
			return // invalid escapes are kept literally, unlike url.QueryUnescape
		}
		if got != want {
			t.Errorf("unescape(%q) = %q, want %q", s, got, want)
		}
	})
}
