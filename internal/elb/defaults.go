package elb

import (
	"maps"
	"strconv"
	"time"

	"github.com/madang-dev/madang/internal/health"
)

// AWS defaults (CreateTargetGroup, CreateLoadBalancer, CreateListener,
// the attribute tables of the ELB API) and madang's own defaults. The
// health check defaults are the health checker's own (package health is
// their one source).
const (
	DefaultProtocol                   = "HTTP"
	DefaultTargetType                 = TargetTypeInstance
	DefaultHealthCheckProtocol        = health.DefaultProtocol
	DefaultHealthCheckPort            = TrafficPort
	DefaultHealthCheckPath            = health.DefaultPath
	DefaultHealthCheckIntervalSeconds = int(health.DefaultInterval / time.Second)
	DefaultHealthCheckTimeoutSeconds  = int(health.DefaultTimeout / time.Second)
	DefaultHealthyThresholdCount      = health.DefaultHealthyThreshold
	DefaultUnhealthyThresholdCount    = health.DefaultUnhealthyThreshold
	DefaultMatcher                    = "200"
	DefaultLoadBalancerType           = "application"
	DefaultAddress                    = "127.0.0.1"
	DefaultFixedResponseContentType   = "text/plain"
	DefaultStaticIndex                = "index.html"
	// DefaultTargetGroupWeight is a forward action's weight for a target
	// group when none is given.
	DefaultTargetGroupWeight = 1
)

// Target group attribute keys (AWS's, plus madang's load_balancing.hash.key;
// AttrCrossZone, shared with load balancers, is in crosszone.go, the
// target_group_health.* keys in tghealth.go).
const (
	AttrDeregistrationDelay = "deregistration_delay.timeout_seconds"
	AttrSlowStart           = "slow_start.duration_seconds"
	AttrAlgorithm           = "load_balancing.algorithm.type"
	AttrAnomalyMitigation   = "load_balancing.algorithm.anomaly_mitigation"
	AttrHashKey             = "load_balancing.hash.key"
	AttrStickinessEnabled   = "stickiness.enabled"
	AttrStickinessType      = "stickiness.type"
	AttrLBCookieDuration    = "stickiness.lb_cookie.duration_seconds"
	AttrAppCookieName       = "stickiness.app_cookie.cookie_name"
	AttrAppCookieDuration   = "stickiness.app_cookie.duration_seconds"
)

// Load balancer attribute keys: AWS's, plus madang's access_logs.enabled
// and the madang.* keys, which AWS does not have.
const (
	AttrIdleTimeout             = "idle_timeout.timeout_seconds"
	AttrClientKeepAlive         = "client_keep_alive.seconds"
	AttrHTTP2Enabled            = "routing.http2.enabled"
	AttrDesyncMitigationMode    = "routing.http.desync_mitigation_mode"
	AttrDropInvalidHeaderFields = "routing.http.drop_invalid_header_fields.enabled"
	AttrXFFHeaderProcessingMode = "routing.http.xff_header_processing.mode"
	AttrXFFClientPort           = "routing.http.xff_client_port.enabled"
	AttrPreserveHostHeader      = "routing.http.preserve_host_header.enabled"
	AttrDeletionProtection      = "deletion_protection.enabled"
	AttrAccessLogs              = "access_logs.enabled"
	// AttrClientHeaderTimeout is how long a client may take to send a
	// request head, from its first byte, before it gets a 408 (nginx's
	// client_header_timeout, HAProxy's timeout http-request). It stops
	// clients that trickle a head byte by byte (slowloris).
	AttrClientHeaderTimeout = "madang.client_header_timeout.timeout_seconds"
	// AttrClientHeaderMaxPerSourceIP caps the connections one client IP
	// may have open that have not yet sent a complete request head (new
	// connections, and kept-alive ones in the middle of a head); beyond it
	// that IP's further connections are closed, other IPs are unaffected.
	AttrClientHeaderMaxPerSourceIP = "madang.client_header.max_per_source_ip"
)

// Defaults of madang's slowloris defences. 64 connections per IP in the
// header phase at once is far above what real clients need (browsers open
// at most 6 connections per host, and a connection normally spends less
// than a round trip before its head is complete, so even a NAT gateway
// with dozens of busy users rarely has more than a few), while it keeps
// one address from holding more than 64 of the proxy's connections with
// unfinished heads.
const (
	DefaultClientHeaderTimeoutSeconds = 60
	DefaultClientHeaderMaxPerSourceIP = 64
)

// Values of load_balancing.algorithm.type. LeastResponseTime and
// ConsistentHash are madang's own.
const (
	AlgorithmRoundRobin               = "round_robin"
	AlgorithmLeastOutstandingRequests = "least_outstanding_requests"
	AlgorithmWeightedRandom           = "weighted_random"
	AlgorithmLeastResponseTime        = "least_response_time"
	AlgorithmConsistentHash           = "consistent_hash"
)

// Values of stickiness.type, and the default of load_balancing.hash.key.
const (
	StickinessLBCookie  = "lb_cookie"
	StickinessAppCookie = "app_cookie"
	HashKeySourceIP     = "source_ip"
)

// attribute is one known attribute: its key, its default value and its
// value check. check returns the problem and the fix, or "" when v is fine.
type attribute struct {
	key   string
	def   string
	check func(v string) (problem, fix string)
}

// targetGroupAttributes lists the target group attributes madang knows, in
// the order error messages list them.
func targetGroupAttributes() []attribute {
	return []attribute{
		{AttrDeregistrationDelay, "300", intRange(0, 3600)},
		{AttrSlowStart, "0", slowStartCheck},
		{AttrAlgorithm, AlgorithmRoundRobin, oneOf(AlgorithmRoundRobin, AlgorithmLeastOutstandingRequests, AlgorithmWeightedRandom, AlgorithmLeastResponseTime, AlgorithmConsistentHash)},
		{AttrAnomalyMitigation, "off", oneOf("off", "on")},
		{AttrHashKey, HashKeySourceIP, hashKeyCheck},
		{AttrStickinessEnabled, "false", boolCheck},
		{AttrStickinessType, StickinessLBCookie, oneOf(StickinessLBCookie, StickinessAppCookie)},
		{AttrLBCookieDuration, "86400", intRange(1, 604800)},
		{AttrAppCookieName, "", cookieNameCheck},
		{AttrAppCookieDuration, "86400", intRange(1, 604800)},
		{AttrCrossZone, CrossZoneUseLoadBalancer, targetGroupCrossZoneCheck},
		{AttrDNSFailoverMinCount, "1", thresholdCountCheck},
		{AttrDNSFailoverMinPercent, ThresholdOff, thresholdPercentCheck},
		{AttrUnhealthyRoutingMinCount, "1", routingCountCheck},
		{AttrUnhealthyRoutingMinPercent, ThresholdOff, thresholdPercentCheck},
	}
}

// loadBalancerAttributes lists the load balancer attributes madang knows.
// madang preserves the Host header by default (AWS: false).
func loadBalancerAttributes() []attribute {
	return []attribute{
		{AttrIdleTimeout, "60", intRange(1, 4000)},
		{AttrClientKeepAlive, "3600", intRange(60, 604800)},
		{AttrHTTP2Enabled, "true", boolCheck},
		{AttrDesyncMitigationMode, "defensive", oneOf("monitor", "defensive", "strictest")},
		{AttrDropInvalidHeaderFields, "false", boolCheck},
		{AttrXFFHeaderProcessingMode, "append", oneOf("append", "preserve", "remove")},
		{AttrXFFClientPort, "false", boolCheck},
		{AttrPreserveHostHeader, "true", boolCheck},
		{AttrDeletionProtection, "false", boolCheck},
		{AttrAccessLogs, "true", boolCheck},
		{AttrClientHeaderTimeout, strconv.Itoa(DefaultClientHeaderTimeoutSeconds), intRange(1, 4000)},
		{AttrClientHeaderMaxPerSourceIP, strconv.Itoa(DefaultClientHeaderMaxPerSourceIP), numberRange(1, 1000000, "connections")},
		{AttrCrossZone, "true", loadBalancerCrossZoneCheck},
	}
}

// Target types.
const (
	TargetTypeInstance = "instance"
	TargetTypeIP       = "ip"
)

// TrafficPort is the health-check port meaning "the target's own port".
const TrafficPort = "traffic-port"

// Action types.
const (
	ActionForward       = "forward"
	ActionRedirect      = "redirect"
	ActionFixedResponse = "fixed-response"
	ActionStatic        = "static"
)

// Condition fields.
const (
	FieldHostHeader        = "host-header"
	FieldPathPattern       = "path-pattern"
	FieldHTTPHeader        = "http-header"
	FieldHTTPRequestMethod = "http-request-method"
	FieldQueryString       = "query-string"
	FieldSourceIP          = "source-ip"
)

// ApplyDefaults fills the zero fields of a target group with AWS's
// defaults, and each target's weight with DefaultWeight. Attributes are
// left as written; EffectiveAttributes fills their defaults. It is
// idempotent.
func (s *TargetGroupSpec) ApplyDefaults() {
	if s.Protocol == "" {
		s.Protocol = DefaultProtocol
	}
	if s.TargetType == "" {
		s.TargetType = DefaultTargetType
	}
	hc := &s.HealthCheck
	if hc.Enabled == nil {
		on := true
		hc.Enabled = &on
	}
	if hc.Protocol == "" {
		hc.Protocol = DefaultHealthCheckProtocol
	}
	if hc.Port == "" {
		hc.Port = DefaultHealthCheckPort
	}
	if hc.Path == "" {
		hc.Path = DefaultHealthCheckPath
	}
	if hc.IntervalSeconds == 0 {
		hc.IntervalSeconds = DefaultHealthCheckIntervalSeconds
	}
	if hc.TimeoutSeconds == 0 {
		hc.TimeoutSeconds = DefaultHealthCheckTimeoutSeconds
	}
	if hc.HealthyThresholdCount == 0 {
		hc.HealthyThresholdCount = DefaultHealthyThresholdCount
	}
	if hc.UnhealthyThresholdCount == 0 {
		hc.UnhealthyThresholdCount = DefaultUnhealthyThresholdCount
	}
	if hc.Matcher == "" {
		hc.Matcher = DefaultMatcher
	}
	for i := range s.Targets {
		if s.Targets[i].Weight == nil {
			w := DefaultWeight
			s.Targets[i].Weight = &w
		}
	}
}

// ApplyDefaults fills the zero fields of a load balancer, its listeners and
// their actions: type application, address 127.0.0.1, protocol HTTP,
// forward weights 1, fixed-response content type text/plain, static index
// index.html. An action without a type gets the type of the one action
// block it has (targetGroup or forward, redirect, fixedResponse, static).
// Attributes are left as written; EffectiveLoadBalancerAttributes fills
// their defaults. It is idempotent.
func (s *LoadBalancerSpec) ApplyDefaults() {
	if s.Type == "" {
		s.Type = DefaultLoadBalancerType
	}
	if s.Address == "" {
		s.Address = DefaultAddress
	}
	for i := range s.Listeners {
		l := &s.Listeners[i]
		if l.Protocol == "" {
			l.Protocol = DefaultProtocol
		}
		for j := range l.DefaultActions {
			l.DefaultActions[j].applyDefaults()
		}
		for j := range l.Rules {
			for k := range l.Rules[j].Actions {
				l.Rules[j].Actions[k].applyDefaults()
			}
		}
	}
}

func (a *ActionSpec) applyDefaults() {
	if a.Type == "" {
		var types []string
		if a.TargetGroup != "" || a.Forward != nil {
			types = append(types, ActionForward)
		}
		if a.Redirect != nil {
			types = append(types, ActionRedirect)
		}
		if a.FixedResponse != nil {
			types = append(types, ActionFixedResponse)
		}
		if a.Static != nil {
			types = append(types, ActionStatic)
		}
		if len(types) == 1 {
			a.Type = types[0]
		}
	}
	if a.Forward != nil {
		for i := range a.Forward.TargetGroups {
			if a.Forward.TargetGroups[i].Weight == nil {
				w := DefaultTargetGroupWeight
				a.Forward.TargetGroups[i].Weight = &w
			}
		}
	}
	if a.FixedResponse != nil && a.FixedResponse.ContentType == "" {
		a.FixedResponse.ContentType = DefaultFixedResponseContentType
	}
	if a.Static != nil && a.Static.Index == "" {
		a.Static.Index = DefaultStaticIndex
	}
}

// EffectiveAttributes returns the target group attributes attrs with every
// attribute madang knows filled with its default where attrs does not set
// it. attrs itself is not modified; unknown keys are copied as they are.
func EffectiveAttributes(attrs map[string]string) map[string]string {
	return effective(attrs, targetGroupAttributes())
}

// EffectiveLoadBalancerAttributes is EffectiveAttributes for load balancer
// attributes.
func EffectiveLoadBalancerAttributes(attrs map[string]string) map[string]string {
	return effective(attrs, loadBalancerAttributes())
}

func effective(attrs map[string]string, defs []attribute) map[string]string {
	out := make(map[string]string, len(defs)+len(attrs))
	for _, d := range defs {
		out[d.key] = d.def
	}
	maps.Copy(out, attrs)
	return out
}
