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
