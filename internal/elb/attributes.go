package elb

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
)

// Target group and load balancer attributes: their parsed forms and the
// checks of their values.

// Stickiness is the parsed stickiness configuration of a target group.
type Stickiness struct {
	Enabled bool
	// Type is lb_cookie or app_cookie.
	Type string
	// Duration is the cookie duration of the chosen type.
	Duration time.Duration
	// CookieName is the application's cookie, for app_cookie.
	CookieName string
}

// TargetGroupAttributes are a target group's attributes, parsed, with
// defaults filled; the data plane reads these instead of the string map.
type TargetGroupAttributes struct {
	DeregistrationDelay time.Duration
	// SlowStart is 0 (off) or 30 s–15 min.
	SlowStart time.Duration
	// Algorithm is one of the Algorithm constants.
	Algorithm string
	// HashKey is source_ip, header:<Name> or cookie:<Name>; it is used by
	// consistent_hash.
	HashKey           string
	Stickiness        Stickiness
	AnomalyMitigation bool
	// CrossZone is load_balancing.cross_zone.enabled: true, false or
	// use_load_balancer_configuration; CrossZoneEnabled resolves it.
	CrossZone string
	// DNSFailover is target_group_health.dns_failover.minimum_healthy_targets.*.
	DNSFailover HealthThreshold
	// UnhealthyStateRouting is
	// target_group_health.unhealthy_state_routing.minimum_healthy_targets.*;
	// its Count is at least 1.
	UnhealthyStateRouting HealthThreshold
}

// LoadBalancerAttributes are a load balancer's attributes, parsed, with
// defaults filled.
type LoadBalancerAttributes struct {
	IdleTimeout     time.Duration
	ClientKeepAlive time.Duration
	HTTP2           bool
	// DesyncMitigationMode is monitor, defensive or strictest.
	DesyncMitigationMode    string
	DropInvalidHeaderFields bool
	// XFFHeaderProcessingMode is append, preserve or remove.
	XFFHeaderProcessingMode string
	XFFClientPort           bool
	PreserveHostHeader      bool
	DeletionProtection      bool
	AccessLogs              bool
	// ClientHeaderTimeout is madang.client_header_timeout.timeout_seconds.
	ClientHeaderTimeout time.Duration
	// ClientHeaderMaxPerSourceIP is madang.client_header.max_per_source_ip.
	ClientHeaderMaxPerSourceIP int
	// CrossZone is load_balancing.cross_zone.enabled, always true.
	CrossZone bool
}

// ParseTargetGroupAttributes checks attrs (unknown keys, values, and
// combinations) and returns them parsed with defaults filled. Problem
// paths are the attribute keys. Invalid values parse as their defaults.
func ParseTargetGroupAttributes(attrs map[string]string) (TargetGroupAttributes, fielderr.List) {
	defs := targetGroupAttributes()
	errs := checkAttributes(attrs, defs, "target group")
	eff := valid(attrs, defs, errs)
	a := TargetGroupAttributes{
		DeregistrationDelay: seconds(eff[AttrDeregistrationDelay]),
		SlowStart:           seconds(eff[AttrSlowStart]),
		Algorithm:           eff[AttrAlgorithm],
		HashKey:             eff[AttrHashKey],
		AnomalyMitigation:   eff[AttrAnomalyMitigation] == "on",
		CrossZone:           eff[AttrCrossZone],
		DNSFailover:         threshold(eff[AttrDNSFailoverMinCount], eff[AttrDNSFailoverMinPercent]),
		UnhealthyStateRouting: threshold(eff[AttrUnhealthyRoutingMinCount],
			eff[AttrUnhealthyRoutingMinPercent]),
		Stickiness: Stickiness{
			Enabled: eff[AttrStickinessEnabled] == "true",
			Type:    eff[AttrStickinessType],
		},
	}
	if a.Stickiness.Type == StickinessAppCookie {
		a.Stickiness.Duration = seconds(eff[AttrAppCookieDuration])
		a.Stickiness.CookieName = eff[AttrAppCookieName]
	} else {
		a.Stickiness.Duration = seconds(eff[AttrLBCookieDuration])
	}
	if v, ok := attrs[AttrAnomalyMitigation]; ok && v == "on" && a.Algorithm != AlgorithmWeightedRandom {
		errs.Add(AttrAnomalyMitigation, v, "needs "+AttrAlgorithm+" weighted_random",
			"set "+AttrAlgorithm+" to weighted_random, or anomaly mitigation off")
	}
	if v, ok := attrs[AttrHashKey]; ok && a.Algorithm != AlgorithmConsistentHash {
		errs.Add(AttrHashKey, v, "only applies to "+AttrAlgorithm+" consistent_hash",
			"set "+AttrAlgorithm+" to consistent_hash, or remove "+AttrHashKey)
	}
	if a.Stickiness.Type == StickinessAppCookie && a.Stickiness.CookieName == "" && !hasKeyError(errs, AttrAppCookieName) {
		errs.Add(AttrAppCookieName, nil, "is required for stickiness.type app_cookie",
			"name the application's session cookie, such as SESSIONID")
	}
	checkThresholdOrder(&errs, attrs, a)
	return a, errs
}

// ParseLoadBalancerAttributes is ParseTargetGroupAttributes for load
// balancer attributes.
func ParseLoadBalancerAttributes(attrs map[string]string) (LoadBalancerAttributes, fielderr.List) {
	defs := loadBalancerAttributes()
	errs := checkAttributes(attrs, defs, "load balancer")
	eff := valid(attrs, defs, errs)
	return LoadBalancerAttributes{
		IdleTimeout:                seconds(eff[AttrIdleTimeout]),
		ClientKeepAlive:            seconds(eff[AttrClientKeepAlive]),
		HTTP2:                      eff[AttrHTTP2Enabled] == "true",
		DesyncMitigationMode:       eff[AttrDesyncMitigationMode],
		DropInvalidHeaderFields:    eff[AttrDropInvalidHeaderFields] == "true",
		XFFHeaderProcessingMode:    eff[AttrXFFHeaderProcessingMode],
		XFFClientPort:              eff[AttrXFFClientPort] == "true",
		PreserveHostHeader:         eff[AttrPreserveHostHeader] == "true",
		DeletionProtection:         eff[AttrDeletionProtection] == "true",
		AccessLogs:                 eff[AttrAccessLogs] == "true",
		ClientHeaderTimeout:        seconds(eff[AttrClientHeaderTimeout]),
		ClientHeaderMaxPerSourceIP: integer(eff[AttrClientHeaderMaxPerSourceIP]),
		CrossZone:                  eff[AttrCrossZone] == "true",
	}, errs
}

func checkAttributes(attrs map[string]string, defs []attribute, kind string) fielderr.List {
	var errs fielderr.List
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	known := make([]string, len(defs))
	for i, d := range defs {
		known[i] = d.key
	}
	for _, k := range keys {
		i := slices.IndexFunc(defs, func(d attribute) bool { return d.key == k })
		if i < 0 {
			fix := "use one of " + strings.Join(known, ", ")
			if s := fielderr.Suggest(k, known); s != "" {
				fix = "did you mean " + strconv.Quote(s) + "? The known keys are " + strings.Join(known, ", ")
			}
			errs.Add(k, k, "is not a "+kind+" attribute", fix)
			continue
		}
		if problem, fix := defs[i].check(attrs[k]); problem != "" {
			errs.Add(k, attrs[k], problem, fix)
		}
	}
	return errs
}

// valid returns the effective attributes, with invalid values replaced by
// their defaults.
func valid(attrs map[string]string, defs []attribute, errs fielderr.List) map[string]string {
	eff := effective(attrs, defs)
	for _, d := range defs {
		if hasKeyError(errs, d.key) {
			eff[d.key] = d.def
		}
	}
	return eff
}

func hasKeyError(errs fielderr.List, key string) bool {
	return slices.ContainsFunc(errs, func(e *fielderr.Error) bool { return e.Path == key })
}

// seconds converts an already checked number of seconds.
// integer parses a checked whole number.
func integer(v string) int {
	n, _ := strconv.Atoi(v)
	return n
}

func seconds(v string) time.Duration {
	n, _ := strconv.Atoi(v)
	return time.Duration(n) * time.Second
}

// intRange checks a whole number of seconds from lo to hi.
func intRange(lo, hi int) func(string) (string, string) {
	return numberRange(lo, hi, "seconds")
}

// numberRange checks a whole number of unit from lo to hi.
func numberRange(lo, hi int, unit string) func(string) (string, string) {
	return func(v string) (string, string) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return "is not a whole number", "use a number of " + unit + " from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)
		}
		if n < lo || n > hi {
			return "is out of range", "use a number of " + unit + " from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)
		}
		return "", ""
	}
}

func slowStartCheck(v string) (string, string) {
	const fix = "use 0 (off) or a number of seconds from 30 to 900"
	n, err := strconv.Atoi(v)
	if err != nil {
		return "is not a whole number", fix
	}
	if n != 0 && (n < 30 || n > 900) {
		return "is out of range", fix
	}
	return "", ""
}

func oneOf(values ...string) func(string) (string, string) {
	return func(v string) (string, string) {
		if slices.Contains(values, v) {
			return "", ""
		}
		fix := "use " + orList(values)
		if s := fielderr.Suggest(v, values); s != "" {
			fix = "did you mean " + strconv.Quote(s) + "? Use " + orList(values)
		}
		return "is not a valid value", fix
	}
}

func orList(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

func boolCheck(v string) (string, string) {
	if v == "true" || v == "false" {
		return "", ""
	}
	return "is not a boolean", "use true or false"
}

func hashKeyCheck(v string) (string, string) {
	const fix = "use source_ip, header:<Name> (such as header:X-User) or cookie:<Name> (such as cookie:session)"
	if v == HashKeySourceIP {
		return "", ""
	}
	kind, name, ok := strings.Cut(v, ":")
	if !ok || (kind != "header" && kind != "cookie") {
		return "is not a hash key", fix
	}
	if !isToken(name) {
		return "names no valid " + kind, fix
	}
	return "", ""
}

func cookieNameCheck(v string) (string, string) {
	if v == "" {
		return "", ""
	}
	if !isToken(v) {
		return "is not a valid cookie name", "use letters, digits and - _ . only, such as SESSIONID"
	}
	if strings.HasPrefix(strings.ToUpper(v), "AWSALB") {
		return "uses a reserved prefix", "cookie names starting with AWSALB, AWSALBAPP or AWSALBTG are reserved for the load balancer's own cookies; use your application's cookie name"
	}
	return "", ""
}

// isToken reports whether s is a non-empty RFC 9110 token (valid header
// and cookie names).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// visibleASCII reports whether s has only the characters AWS allows in
// rule values: 0x20–0x7e.
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
