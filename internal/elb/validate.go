package elb

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/health"
)

// Limits from AWS's ELB API and quotas, checked by the validators.
const (
	MaxNameLength            = 32
	MaxTargetGroupsPerAction = 5
	MaxGroupWeight           = 999
	MaxTargetWeight          = 1000
	MaxRulePriority          = 50000
	MaxConditionValues       = 3
	MaxRuleEvaluations       = 5
	MaxRuleWildcards         = 5
	MaxConditionValueLength  = 128
	MaxHTTPHeaderNameLength  = 40
	MaxMethodLength          = 40
	MaxHealthCheckPathLength = 1024
	MaxMessageBodyBytes      = 1024
	MaxStickinessSeconds     = 604800
)

// ValidName reports whether name is a valid target group or load balancer
// name: 1–32 letters, digits and hyphens, not starting or ending with a
// hyphen.
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLength || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

const nameFix = "use 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen, such as \"web\""

func checkName(errs *fielderr.List, name string) {
	switch {
	case name == "":
		errs.Add("name", nil, "is required", nameFix)
	case !ValidName(name):
		errs.Add("name", name, "is not a valid name", nameFix)
	}
}

// checkPort reports port unless it is 0 (unset) or 1–65535.
func checkPort(errs *fielderr.List, path string, port int) {
	if port < 0 || port > 65535 {
		errs.Add(path, port, "is out of range", "use a port from 1 to 65535")
	}
}

// ---- target groups -------------------------------------------------------

// Validate checks a target group on its own: names of instance groups in
// its targets are checked where instance groups are known. Zero values
// that ApplyDefaults fills are accepted.
func (s *TargetGroupSpec) Validate() fielderr.List {
	var errs fielderr.List
	checkName(&errs, s.Name)
	checkTags(&errs, s.Tags)
	switch s.Protocol {
	case "", "HTTP":
	case "HTTPS":
		errs.Add("protocol", s.Protocol, "is not supported yet", "HTTPS needs certificates, which madang does not support yet; use HTTP")
	default:
		errs.Add("protocol", s.Protocol, "is not a target group protocol", "use HTTP")
	}
	checkPort(&errs, "port", s.Port)
	switch s.TargetType {
	case "", TargetTypeInstance, TargetTypeIP:
	case "lambda", "alb":
		errs.Add("targetType", s.TargetType, "is not supported", "use instance or ip")
	default:
		errs.Add("targetType", s.TargetType, "is not a target type", "use instance or ip")
	}
	errs.Extend("healthCheck", s.HealthCheck.validate())
	_, attrErrs := ParseTargetGroupAttributes(s.Attributes)
	errs.Extend("attributes", attrErrs)
	targetType := s.TargetType
	if targetType == "" {
		targetType = DefaultTargetType
	}
	seen := make(map[string]int)
	for i := range s.Targets {
		t := &s.Targets[i]
		path := fielderr.Index("targets", i)
		errs.Extend(path, t.validate(targetType, s.Port))
		key := t.Instances + "|" + t.ID + "|" + t.IP + "|" + strconv.Itoa(t.Port)
		if j, dup := seen[key]; dup {
			errs.Add(path, t.describe(), "registers the same target twice", "remove it; it is already registered by "+fielderr.Index("targets", j))
		} else {
			seen[key] = i
		}
	}
	return errs
}

func (t *TargetSpec) describe() string {
	switch {
	case t.Instances != "":
		return "instances " + t.Instances
	case t.ID != "":
		return t.ID
	default:
		return t.IP
	}
}

func (t *TargetSpec) validate(targetType string, groupPort int) fielderr.List {
	var errs fielderr.List
	set := 0
	for _, v := range []string{t.Instances, t.ID, t.IP} {
		if v != "" {
			set++
		}
	}
	switch {
	case set == 0:
		errs.Add("", nil, "names no target", "set exactly one of instances (an instance group of this stack), id (an instance id) or ip")
	case set > 1:
		errs.Add("", nil, "sets more than one of instances, id and ip", "set exactly one of them per target")
	}
	if t.Instances != "" && targetType != TargetTypeInstance {
		errs.Add("instances", t.Instances, "needs target type instance", "set the target group's targetType to instance, or register ip targets")
	}
	if t.ID != "" {
		if !validInstanceID(t.ID) {
			errs.Add("id", t.ID, "is not an instance id", "use an id such as i-0123456789abcdef0")
		}
		if targetType != TargetTypeInstance {
			errs.Add("id", t.ID, "needs target type instance", "set the target group's targetType to instance, or register ip targets")
		}
	}
	if t.IP != "" {
		if _, err := netip.ParseAddr(t.IP); err != nil {
			errs.Add("ip", t.IP, "is not an IP address", "use an IPv4 or IPv6 address such as 127.0.0.1")
		}
		if targetType != TargetTypeIP {
			errs.Add("ip", t.IP, "needs target type ip", "set the target group's targetType to ip, or register instances")
		}
		if t.Port == 0 && groupPort == 0 && set == 1 {
			errs.Add("port", nil, "is required for ip targets", "set this target's port or the target group's port")
		}
	}
	checkPort(&errs, "port", t.Port)
	if t.Weight != nil && (*t.Weight < 0 || *t.Weight > MaxTargetWeight) {
		errs.Add("weight", *t.Weight, "is out of range", "use a weight from 0 to 1000 (0 sends no new requests)")
	}
	return errs
}

// validInstanceID matches i- followed by 8 or 17 lowercase hex digits.
func validInstanceID(id string) bool {
	hex, ok := strings.CutPrefix(id, "i-")
	if !ok || (len(hex) != 8 && len(hex) != 17) {
		return false
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (hc *HealthCheckSpec) validate() fielderr.List {
	var errs fielderr.List
	switch hc.Protocol {
	case "", "HTTP":
	case "HTTPS":
		errs.Add("protocol", hc.Protocol, "is not supported yet", "madang health checks use HTTP; use HTTP")
	default:
		errs.Add("protocol", hc.Protocol, "is not a health check protocol", "use HTTP")
	}
	if hc.Port != "" && hc.Port != TrafficPort {
		if n, err := strconv.Atoi(hc.Port); err != nil || n < 1 || n > 65535 {
			errs.Add("port", hc.Port, "is not a health check port", "use traffic-port (the target's own port) or a port from 1 to 65535")
		}
	}
	if p := hc.Path; p != "" {
		switch {
		case !strings.HasPrefix(p, "/"):
			errs.Add("path", p, "must start with \"/\"", "write a path such as /health")
		case len(p) > MaxHealthCheckPathLength:
			errs.Add("path", p, "is longer than 1024 characters", "shorten the path")
		case !visibleASCII(p) || strings.Contains(p, " "):
			errs.Add("path", p, "contains spaces, control or non-ASCII characters", "percent-encode them")
		}
	}
	interval := hc.IntervalSeconds
	if interval != 0 && (interval < 5 || interval > 300) {
		errs.Add("intervalSeconds", interval, "is out of range", "use an interval from 5 to 300 seconds (AWS default 30)")
	}
	timeout := hc.TimeoutSeconds
	if timeout != 0 && (timeout < 2 || timeout > 120) {
		errs.Add("timeoutSeconds", timeout, "is out of range", "use a timeout from 2 to 120 seconds (AWS default 5)")
	}
	if interval == 0 {
		interval = DefaultHealthCheckIntervalSeconds
	}
	if timeout == 0 {
		timeout = DefaultHealthCheckTimeoutSeconds
	}
	if timeout >= interval && timeout >= 2 && timeout <= 120 && interval >= 5 && interval <= 300 {
		errs.Add("timeoutSeconds", timeout, "must be less than intervalSeconds ("+strconv.Itoa(interval)+")",
			"set timeoutSeconds from 2 to "+strconv.Itoa(interval-1)+", or raise intervalSeconds (the timeout defaults to 5)")
	}
	if n := hc.HealthyThresholdCount; n != 0 && (n < 2 || n > 10) {
		errs.Add("healthyThresholdCount", n, "is out of range", "use a count from 2 to 10 (AWS default 5)")
	}
	if n := hc.UnhealthyThresholdCount; n != 0 && (n < 2 || n > 10) {
		errs.Add("unhealthyThresholdCount", n, "is out of range", "use a count from 2 to 10 (AWS default 2)")
	}
	if hc.Matcher != "" {
		if _, err := health.ParseMatcher(hc.Matcher); err != nil {
			errs.Add("matcher", hc.Matcher, "is not a valid matcher", "use HTTP codes from 200 to 499: one code, a comma list or a range, such as 200, 200,202 or 200-299")
		}
	}
	return errs
}

// ---- load balancers ------------------------------------------------------

// Validate checks a load balancer on its own: target group names in
// forward actions, static roots and port clashes with other load balancers
// are checked where those are known. Zero values that ApplyDefaults fills
// are accepted.
func (s *LoadBalancerSpec) Validate() fielderr.List {
	var errs fielderr.List
	checkName(&errs, s.Name)
	checkTags(&errs, s.Tags)
	if strings.HasPrefix(strings.ToLower(s.Name), "internal-") {
		errs.Add("name", s.Name, "must not start with \"internal-\"", "AWS reserves that prefix; choose another name")
	}
	switch s.Type {
	case "", "application":
	case "network", "gateway":
		errs.Add("type", s.Type, "is not supported yet", "use application")
	default:
		errs.Add("type", s.Type, "is not a load balancer type", "use application")
	}
	if s.Address != "" {
		if _, err := netip.ParseAddr(s.Address); err != nil {
			errs.Add("address", s.Address, "is not an IP address", "use an address of this machine such as 127.0.0.1, or 0.0.0.0 for all addresses")
		}
	}
	_, attrErrs := ParseLoadBalancerAttributes(s.Attributes)
	errs.Extend("attributes", attrErrs)
	ports := make(map[int]int)
	for i := range s.Listeners {
		l := &s.Listeners[i]
		path := fielderr.Index("listeners", i)
		errs.Extend(path, l.validate())
		if l.Port < 1 || l.Port > 65535 {
			continue
		}
		if j, dup := ports[l.Port]; dup {
			errs.Add(path+".port", l.Port, "is already used by "+fielderr.Index("listeners", j), "give each listener of a load balancer its own port")
		} else {
			ports[l.Port] = i
		}
	}
	return errs
}

func (l *ListenerSpec) validate() fielderr.List {
	var errs fielderr.List
	switch l.Protocol {
	case "", "HTTP":
	case "HTTPS":
		errs.Add("protocol", l.Protocol, "is not supported yet", "HTTPS listeners need certificates, which madang does not support yet; use HTTP")
	default:
		errs.Add("protocol", l.Protocol, "is not a listener protocol", "use HTTP")
	}
	switch {
	case l.Port == 0:
		errs.Add("port", nil, "is required", "give the port to listen on, from 1 to 65535")
	case l.Port < 1 || l.Port > 65535:
		errs.Add("port", l.Port, "is out of range", "use a port from 1 to 65535")
	}
	errs.Extend("defaultActions", validateActions(l.DefaultActions))
	priorities := make(map[int]int)
	for i := range l.Rules {
		r := &l.Rules[i]
		path := fielderr.Index("rules", i)
		errs.Extend(path, r.validate())
		if r.Priority < 1 || r.Priority > MaxRulePriority {
			continue
		}
		if j, dup := priorities[r.Priority]; dup {
			errs.Add(path+".priority", r.Priority, "is already used by "+fielderr.Index("rules", j), "give each rule of a listener its own priority")
		} else {
			priorities[r.Priority] = i
		}
	}
	return errs
}

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

// checkTags applies AWS's tag limits: at most 50, keys of 1 to 128
// characters not starting with "aws:", values of at most 256.
func checkTags(errs *fielderr.List, tags map[string]string) {
	if len(tags) > 50 {
		errs.Add("tags", len(tags), "has more than 50 tags", "keep at most 50")
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		switch {
		case k == "" || len(k) > 128:
			errs.Add("tags", k, "key must be 1 to 128 characters", "shorten the key")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			errs.Add("tags."+k, k, "uses the reserved prefix aws:", "choose a key without it")
		case len(tags[k]) > 256:
			errs.Add("tags."+k, tags[k], "is longer than 256 characters", "shorten the value")
		}
	}
}
