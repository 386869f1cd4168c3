package elb

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/fielderr"
)

// The validators of listener rules: their actions and conditions.

func validateActions(actions []ActionSpec) fielderr.List {
	var errs fielderr.List
	switch len(actions) {
	case 0:
		errs.Add("", nil, "needs an action", "give exactly one action: forward, redirect, fixed-response or static")
	case 1:
	default:
		errs.Add("", len(actions), "has more than one action", "give exactly one action: forward, redirect, fixed-response or static")
	}
	for i := range actions {
		errs.Extend(fielderr.Index("", i), actions[i].validate())
	}
	return errs
}

func (r *RuleSpec) validate() fielderr.List {
	var errs fielderr.List
	switch {
	case r.Priority == 0:
		errs.Add("priority", nil, "is required", "give a priority from 1 to 50000; lower numbers are evaluated first")
	case r.Priority < 1 || r.Priority > MaxRulePriority:
		errs.Add("priority", r.Priority, "is out of range", "use a priority from 1 to 50000")
	}
	if len(r.Conditions) == 0 {
		errs.Add("conditions", nil, "are required", "give at least one condition; requests that match no rule get the listener's defaultActions")
	}
	once := make(map[string]int)
	evaluations, wildcards := 0, 0
	for i := range r.Conditions {
		c := &r.Conditions[i]
		path := fielderr.Index("conditions", i)
		errs.Extend(path, c.validate())
		switch c.Field {
		case FieldHostHeader, FieldHTTPRequestMethod, FieldPathPattern, FieldSourceIP:
			if j, dup := once[c.Field]; dup {
				errs.Add(path+".field", c.Field, "appears twice in the rule (also "+fielderr.Index("conditions", j)+")",
					"put all values in one condition; a rule takes at most one "+c.Field+" condition")
			} else {
				once[c.Field] = i
			}
		}
		evaluations += len(c.Values) + len(c.QueryString)
		wildcards += c.wildcards()
	}
	if evaluations > MaxRuleEvaluations {
		errs.Add("conditions", evaluations, "have too many match values", "a rule takes at most 5 match values in all its conditions; split it into more rules")
	}
	if wildcards > MaxRuleWildcards {
		errs.Add("conditions", wildcards, "use too many wildcards", "a rule takes at most 5 wildcards (* and ?) in all its conditions; split it into more rules")
	}
	errs.Extend("actions", validateActions(r.Actions))
	return errs
}

func (c *ConditionSpec) wildcards() int {
	if c.Field == FieldSourceIP || c.Field == FieldHTTPRequestMethod {
		return 0
	}
	n := 0
	for _, v := range c.Values {
		n += strings.Count(v, "*") + strings.Count(v, "?")
	}
	for _, kv := range c.QueryString {
		n += strings.Count(kv.Key, "*") + strings.Count(kv.Key, "?") + strings.Count(kv.Value, "*") + strings.Count(kv.Value, "?")
	}
	return n
}

// validMethod reports whether v looks like an HTTP method: uppercase
// letters, "_" and "-", up to 40 characters.
func validMethod(v string) bool {
	if v == "" || len(v) > MaxMethodLength {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (c *ConditionSpec) validate() fielderr.List {
	var errs fielderr.List
	fields := []string{FieldHostHeader, FieldPathPattern, FieldHTTPHeader, FieldHTTPRequestMethod, FieldQueryString, FieldSourceIP}
	if !slices.Contains(fields, c.Field) {
		fix := "use " + orList(fields)
		if s := fielderr.Suggest(c.Field, fields); s != "" {
			fix = "did you mean " + strconv.Quote(s) + "? Use " + orList(fields)
		}
		if c.Field == "" {
			errs.Add("field", nil, "is required", fix)
		} else {
			errs.Add("field", c.Field, "is not a condition field", fix)
		}
		return errs
	}
	if c.Field == FieldHTTPHeader {
		switch h := c.HTTPHeaderName; {
		case h == "":
			errs.Add("httpHeaderName", nil, "is required for http-header", "name the header to match, such as X-Canary")
		case strings.ContainsAny(h, "*?"):
			errs.Add("httpHeaderName", h, "cannot use wildcards", "name one header exactly; wildcards are allowed in values only")
		case !isToken(h) || len(h) > MaxHTTPHeaderNameLength:
			errs.Add("httpHeaderName", h, "is not a valid header name", "use up to 40 letters, digits and hyphens, such as X-Canary")
		}
	} else if c.HTTPHeaderName != "" {
		errs.Add("httpHeaderName", c.HTTPHeaderName, "only applies to field http-header", "remove it, or set field to http-header")
	}
	if c.Field == FieldQueryString {
		if len(c.Values) > 0 {
			errs.Add("values", nil, "do not apply to query-string", "use queryString: with key/value pairs instead")
		}
		switch n := len(c.QueryString); {
		case n == 0:
			errs.Add("queryString", nil, "is required for query-string", "give key/value pairs such as {key: version, value: v2}")
		case n > MaxConditionValues:
			errs.Add("queryString", n, "has too many pairs", "a condition takes at most 3 match values; split it into more rules")
		}
		for i, kv := range c.QueryString {
			path := fielderr.Index("queryString", i)
			if kv.Value == "" {
				errs.Add(path+".value", nil, "is required", "give the value to match (* matches any value)")
			}
			for _, x := range []struct{ name, v string }{{"key", kv.Key}, {"value", kv.Value}} {
				if len(x.v) > MaxConditionValueLength {
					errs.Add(path+"."+x.name, x.v, "is longer than 128 characters", "shorten it")
				} else if !visibleASCII(x.v) {
					errs.Add(path+"."+x.name, x.v, "contains control or non-ASCII characters", "use visible ASCII only")
				}
			}
		}
		return errs
	}
	if len(c.QueryString) > 0 {
		errs.Add("queryString", nil, "only applies to field query-string", "remove it, or set field to query-string")
	}
	switch n := len(c.Values); {
	case n == 0:
		errs.Add("values", nil, "are required", "give 1 to 3 values to match")
	case n > MaxConditionValues:
		errs.Add("values", n, "has too many values", "a condition takes at most 3 match values; split it into more rules")
	}
	for i, v := range c.Values {
		path := fielderr.Index("values", i)
		if c.Field == FieldSourceIP {
			if p, err := netip.ParsePrefix(v); err != nil {
				errs.Add(path, v, "is not a CIDR block", "write an address with a prefix length, such as 10.0.0.0/8 or 203.0.113.5/32")
			} else if p.Masked() != p {
				errs.Add(path, v, "has host bits set", "use "+p.Masked().String())
			}
			continue
		}
		switch {
		case v == "":
			errs.Add(path, v, "is empty", "give a value to match")
			continue
		case len(v) > MaxConditionValueLength:
			errs.Add(path, v, "is longer than 128 characters", "shorten it")
			continue
		case !visibleASCII(v):
			errs.Add(path, v, "contains control or non-ASCII characters", "use visible ASCII only; write internationalized host names in punycode (xn--…)")
			continue
		}
		switch c.Field {
		case FieldHostHeader:
			if !strings.Contains(v, ".") {
				errs.Add(path, v, "must contain a \".\"", "use a host name such as example.com or *.example.com (as in AWS)")
			} else if !validHostPattern(v) {
				errs.Add(path, v, "is not a host name pattern", "use letters, digits, hyphens, dots and the wildcards * and ?")
			}
		case FieldHTTPRequestMethod:
			if !validMethod(v) {
				errs.Add(path, v, "is not an HTTP method", "use uppercase letters, such as GET or POST; wildcards are not allowed")
			}
		}
	}
	return errs
}

func validHostPattern(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-.*?", c) >= 0) {
			return false
		}
	}
	return true
}

func (a *ActionSpec) validate() fielderr.List {
	var errs fielderr.List
	types := []string{ActionForward, ActionRedirect, ActionFixedResponse, ActionStatic}
	switch {
	case a.Type == "":
		errs.Add("type", nil, "is required", "use "+orList(types))
	case !slices.Contains(types, a.Type):
		fix := "use " + orList(types)
		if s := fielderr.Suggest(a.Type, types); s != "" {
			fix = "did you mean " + strconv.Quote(s) + "? Use " + orList(types)
		}
		errs.Add("type", a.Type, "is not an action type", fix)
	}
	extra := func(field string, set bool, forType string) {
		if set && a.Type != forType && a.Type != "" {
			errs.Add(field, nil, "does not apply to type "+a.Type, "remove it, or set type to "+forType)
		}
	}
	extra("targetGroup", a.TargetGroup != "", ActionForward)
	extra("forward", a.Forward != nil, ActionForward)
	extra("redirect", a.Redirect != nil, ActionRedirect)
	extra("fixedResponse", a.FixedResponse != nil, ActionFixedResponse)
	extra("static", a.Static != nil, ActionStatic)
	switch a.Type {
	case ActionForward:
		errs = append(errs, a.validateForward()...)
	case ActionRedirect:
		if a.Redirect == nil {
			errs.Add("redirect", nil, "is required for type redirect", "give redirect: with a statusCode and the parts to change, such as protocol: HTTPS")
		} else {
			errs.Extend("redirect", a.Redirect.validate())
		}
	case ActionFixedResponse:
		if a.FixedResponse == nil {
			errs.Add("fixedResponse", nil, "is required for type fixed-response", "give fixedResponse: with a statusCode such as \"404\"")
		} else {
			errs.Extend("fixedResponse", a.FixedResponse.validate())
		}
	case ActionStatic:
		if a.Static == nil {
			errs.Add("static", nil, "is required for type static", "give static: with the root directory to serve")
		} else {
			errs.Extend("static", a.Static.validate())
		}
	}
	return errs
}

func (a *ActionSpec) validateForward() fielderr.List {
	var errs fielderr.List
	switch {
	case a.TargetGroup != "" && a.Forward != nil:
		errs.Add("targetGroup", a.TargetGroup, "is set together with forward", "use targetGroup for one target group or forward.targetGroups for several, not both")
		return errs
	case a.TargetGroup == "" && a.Forward == nil:
		errs.Add("targetGroup", nil, "is required for type forward", "name the target group to forward to, or list several under forward.targetGroups")
		return errs
	case a.Forward == nil:
		return errs
	}
	f := a.Forward
	switch n := len(f.TargetGroups); {
	case n == 0:
		errs.Add("forward.targetGroups", nil, "are required", "list 1 to 5 target groups to forward to")
	case n > MaxTargetGroupsPerAction:
		errs.Add("forward.targetGroups", n, "has too many target groups", "forward to at most 5 target groups per action")
	}
	seen := make(map[string]int)
	for i, tg := range f.TargetGroups {
		path := fielderr.Index("forward.targetGroups", i)
		if tg.Name == "" {
			errs.Add(path+".name", nil, "is required", "name a target group of this stack")
		} else if j, dup := seen[tg.Name]; dup {
			errs.Add(path+".name", tg.Name, "is listed twice (also "+fielderr.Index("forward.targetGroups", j)+")", "list each target group once")
		} else {
			seen[tg.Name] = i
		}
		if tg.Weight != nil && (*tg.Weight < 0 || *tg.Weight > MaxGroupWeight) {
			errs.Add(path+".weight", *tg.Weight, "is out of range", "use a weight from 0 to 999")
		}
	}
	if st := f.Stickiness; st != nil {
		d := st.DurationSeconds
		switch {
		case st.Enabled && d == 0:
			errs.Add("forward.stickiness.durationSeconds", nil, "is required when stickiness is enabled", "give a duration from 1 to 604800 seconds (7 days)")
		case d < 0 || d > MaxStickinessSeconds:
			errs.Add("forward.stickiness.durationSeconds", d, "is out of range", "use a duration from 1 to 604800 seconds (7 days)")
		}
	}
	return errs
}

func (r *RedirectSpec) validate() fielderr.List {
	var errs fielderr.List
	switch r.StatusCode {
	case "HTTP_301", "HTTP_302":
	case "":
		errs.Add("statusCode", nil, "is required", "use HTTP_301 (permanent) or HTTP_302 (temporary)")
	default:
		errs.Add("statusCode", r.StatusCode, "is not a redirect status", "use HTTP_301 (permanent) or HTTP_302 (temporary)")
	}
	switch r.Protocol {
	case "", "HTTP", "HTTPS", "#{protocol}":
	default:
		errs.Add("protocol", r.Protocol, "is not a redirect protocol", "use HTTP, HTTPS or #{protocol}")
	}
	if r.Port != "" && r.Port != "#{port}" {
		if n, err := strconv.Atoi(r.Port); err != nil || n < 1 || n > 65535 {
			errs.Add("port", r.Port, "is not a redirect port", "use a port from 1 to 65535 or #{port}")
		}
	}
	if r.Host != "" {
		if len(r.Host) > MaxConditionValueLength || !visibleASCII(r.Host) || strings.ContainsAny(r.Host, " /?") {
			errs.Add("host", r.Host, "is not a host name", "use a host name such as www.example.com, optionally with #{host}")
		}
	}
	if r.Path != "" {
		if !strings.HasPrefix(r.Path, "/") {
			errs.Add("path", r.Path, "must start with \"/\"", "write a path such as /new/#{path}")
		} else if !visibleASCII(r.Path) {
			errs.Add("path", r.Path, "contains control or non-ASCII characters", "percent-encode them")
		}
	}
	if strings.HasPrefix(r.Query, "?") {
		errs.Add("query", r.Query, "must not start with \"?\"", "write the query without the leading ?, such as lang=en")
	} else if !visibleASCII(r.Query) {
		errs.Add("query", r.Query, "contains control or non-ASCII characters", "percent-encode them")
	}
	changes := r.Protocol != "" && r.Protocol != "#{protocol}" ||
		r.Host != "" && r.Host != "#{host}" ||
		r.Port != "" && r.Port != "#{port}" ||
		r.Path != "" && r.Path != "/#{path}" ||
		r.Query != "" && r.Query != "#{query}"
	if !changes {
		errs.Add("", nil, "changes no part of the URL, so it would redirect to itself", "set at least one of protocol, host, port, path or query to a new value")
	}
	return errs
}

// FixedResponseContentTypes are the content types a fixed-response action
// may use (AWS's list).
func FixedResponseContentTypes() []string {
	return []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}
}

func (f *FixedResponseSpec) validate() fielderr.List {
	var errs fielderr.List
	code := f.StatusCode
	switch {
	case code == "":
		errs.Add("statusCode", nil, "is required", "give an HTTP status code such as \"404\" or \"503\"")
	case len(code) != 3 || strings.IndexByte("245", code[0]) < 0 || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9':
		errs.Add("statusCode", code, "is not a 2XX, 4XX or 5XX status code", "use a code such as 200, 404 or 503")
	}
	if ct := f.ContentType; ct != "" && !slices.Contains(FixedResponseContentTypes(), ct) {
		errs.Add("contentType", ct, "is not a fixed-response content type", "use "+orList(FixedResponseContentTypes()))
	}
	if len(f.MessageBody) > MaxMessageBodyBytes {
		errs = append(errs, &fielderr.Error{Path: "messageBody", Value: strconv.Itoa(len(f.MessageBody)) + " bytes",
			Problem: "is longer than 1024 bytes", Fix: "shorten the body, or serve the file with a static action"})
	}
	return errs
}

func (s *StaticSpec) validate() fielderr.List {
	var errs fielderr.List
	if strings.TrimSpace(s.Root) == "" {
		errs.Add("root", nil, "is required", "give the directory to serve, absolute or relative to the stack file, such as ./public")
	}
	if s.StripPrefix != "" && !strings.HasPrefix(s.StripPrefix, "/") {
		errs.Add("stripPrefix", s.StripPrefix, "must start with \"/\"", "write a path prefix such as /static")
	}
	if s.Index != "" && (strings.ContainsAny(s.Index, "/\\") || s.Index == "." || s.Index == "..") {
		errs.Add("index", s.Index, "is not a file name", "give a file name such as index.html")
	}
	if s.MaxAgeSeconds < 0 {
		errs.Add("maxAgeSeconds", s.MaxAgeSeconds, "must not be negative", "use 0 (revalidate every time) or a number of seconds")
	}
	return errs
}
