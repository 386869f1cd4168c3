package proxy

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/route"
)

// Config is the whole data-plane configuration: every load balancer and
// every target group. The control plane builds it from stored specs and
// hands it to Proxy.Update.
type Config struct {
	LoadBalancers []LoadBalancer
	TargetGroups  []TargetGroup
}

// LoadBalancer is one Application Load Balancer: its attributes and its
// listeners.
type LoadBalancer struct {
	// Name identifies the load balancer in metrics and access logs.
	Name string
	// Address is the IP the listeners bind to, e.g. 127.0.0.1.
	Address string
	// Zones are the availability zones the load balancer is enabled in.
	// Its target groups' host counts are reported for each of them
	// (zero in a zone without targets), besides the zones of their
	// targets (see Target.Zone).
	Zones []string
	// IdleTimeout is idle_timeout.timeout_seconds (default 60 s): client
	// connections idle that long are closed, and targets that send nothing
	// for that long get a 504.
	IdleTimeout time.Duration
	// ClientKeepAlive is client_keep_alive.seconds (default 3600 s): a
	// client connection older than this is closed after its current
	// request.
	ClientKeepAlive time.Duration
	// HTTP2 is routing.http2.enabled: HTTP listeners also accept h2c with
	// prior knowledge.
	HTTP2 bool
	// XFFMode is routing.http.xff_header_processing.mode: append (default),
	// preserve or remove.
	XFFMode string
	// XFFClientPort is routing.http.xff_client_port.enabled.
	XFFClientPort bool
	// DesyncMode is routing.http.desync_mitigation_mode: monitor,
	// defensive (default) or strictest.
	DesyncMode string
	// DropInvalidHeaders is
	// routing.http.drop_invalid_header_fields.enabled.
	DropInvalidHeaders bool
	// HeaderTimeout is madang.client_header_timeout.timeout_seconds
	// (default 60 s): a client that has not sent a complete request head
	// this long after the connection opened (first request) or after the
	// head's first byte (later requests) gets a 408 and is closed. Idle
	// keep-alive connections are governed by IdleTimeout alone.
	HeaderTimeout time.Duration
	// MaxHeaderConnsPerIP is madang.client_header.max_per_source_ip
	// (default 64): the most connections one client IP may have in the
	// header phase (accepted, or in the middle of a request head) at once;
	// beyond it that IP's further connections are closed.
	MaxHeaderConnsPerIP int
	// AccessLog receives one line per request in AWS's field order; nil
	// turns access logs off. Writes happen on a background goroutine.
	AccessLog io.Writer
	// Listeners are the load balancer's HTTP listeners.
	Listeners []Listener
}

// Listener is one HTTP listener. Static action roots must be absolute.
type Listener struct {
	Port           int
	Rules          []route.RuleConfig
	DefaultActions []route.Action
}

// TargetGroup is a target group's data-plane settings and registrations.
type TargetGroup struct {
	Name string
	// Algorithm is load_balancing.algorithm.type (default round_robin),
	// or one of madang's least_response_time and consistent_hash.
	Algorithm string
	// HashKey is consistent_hash's key: source_ip (default),
	// header:<Name> or cookie:<Name>.
	HashKey string
	// SlowStart is slow_start.duration_seconds.
	SlowStart time.Duration
	// DeregistrationDelay is deregistration_delay.timeout_seconds; the
	// control plane removes a draining target once it passes.
	DeregistrationDelay time.Duration
	// CrossZoneOff is load_balancing.cross_zone.enabled false, resolved
	// by the caller (use_load_balancer_configuration is the load
	// balancer's setting, always on for an Application Load Balancer).
	// Off, each load balancer that forwards to the group acts as one node
	// per zone of LoadBalancer.Zones: every request goes to a zone node,
	// round robin over the zones that have a healthy target of the group,
	// and the node picks among the targets of its zone only (targets
	// without a zone serve every node). A sticky target in another zone
	// is still honoured, and a request that failed on every target of
	// its zone node is retried in the other zones. Targets without a zone
	// and load balancers without zones behave as with cross-zone on; so
	// does the group when it fails open (FailOpenMinCount).
	CrossZoneOff bool
	// DNSFailoverMinCount and DNSFailoverMinPercent are
	// target_group_health.dns_failover.minimum_healthy_targets.count and
	// .percentage, 0 meaning off. With cross-zone off, a zone node whose
	// healthy targets are fewer than the count, or fewer than the
	// percentage (rounded up) of its targets that are not draining, gets
	// no requests for the group: the load balancer's other nodes share
	// them. When every node of a load balancer is below, all of them
	// serve. Both 0, no node is ever left out; a node left in without a
	// healthy target passes its requests to the group's healthy targets
	// in the other zones.
	DNSFailoverMinCount   int
	DNSFailoverMinPercent int
	// FailOpenMinCount and FailOpenMinPercent are
	// target_group_health.unhealthy_state_routing.minimum_healthy_targets.count
	// and .percentage, 0 meaning off: when the group's healthy targets
	// are fewer than the count, or fewer than the percentage (rounded
	// up) of its targets that are not draining, the group fails open and
	// requests go to every target that is not draining, healthy or not.
	// A group with no healthy target always fails open, whatever the
	// values (AWS's count is at least 1).
	FailOpenMinCount   int
	FailOpenMinPercent int
	Stickiness         Stickiness
	Targets            []Target
}

// Stickiness is a target group's stickiness.* attributes.
type Stickiness struct {
	Enabled bool
	// Type is lb_cookie (default) or app_cookie.
	Type string
	// Duration is the cookie lifetime (default 86400 s).
	Duration time.Duration
	// CookieName is the application's cookie for app_cookie.
	CookieName string
}

// Target is one registered target.
type Target struct {
	// ID is the instance id or IP the target was registered with.
	ID string
	// Addr is the target's "ip:port".
	Addr string
	// Weight is 0–1000; 0 gets no new requests.
	Weight int
	// Draining targets get no new requests; their in-flight requests and
	// WebSockets continue.
	Draining bool
	// Zone is the availability zone of the target (its instance's); the
	// metrics count the target's requests, responses and health in its
	// group's counters of that zone too. "" counts it in its group's
	// counters only.
	Zone string
}

// Default attribute values, as AWS sets them.
const (
	DefaultIdleTimeout         = 60 * time.Second
	DefaultClientKeepAlive     = 3600 * time.Second
	DefaultStickinessDuration  = 86400 * time.Second
	DefaultUpstreamIdleTimeout = 4 * time.Second
	// ConnectTimeout is how long the proxy waits for a target to accept a
	// connection before the attempt fails (AWS: 10 s, then 504).
	ConnectTimeout = 10 * time.Second
)

// normalize checks cfg and returns a copy with defaults filled in; errors
// name the field, the value and the fix.
func (cfg Config) normalize() (Config, error) {
	out := Config{}
	groups := map[string]bool{}
	for i, tg := range cfg.TargetGroups {
		field := fmt.Sprintf("targetGroups[%d]", i)
		if tg.Name == "" {
			return out, fmt.Errorf("%s.name is empty: give every target group a name", field)
		}
		if groups[tg.Name] {
			return out, fmt.Errorf("%s.name %q is used twice: target group names must be unique", field, tg.Name)
		}
		groups[tg.Name] = true
		if tg.Algorithm == "" {
			tg.Algorithm = "round_robin"
		}
		if tg.HashKey == "" {
			tg.HashKey = "source_ip"
		}
		if _, _, err := parseHashKey(tg.HashKey); err != nil {
			return out, fmt.Errorf("%s (%s).hashKey: %w", field, tg.Name, err)
		}
		if err := checkThresholds(field, tg); err != nil {
			return out, err
		}
		st := tg.Stickiness
		if st.Type == "" {
			st.Type = "lb_cookie"
		}
		if st.Duration == 0 {
			st.Duration = DefaultStickinessDuration
		}
		switch st.Type {
		case "lb_cookie":
		case "app_cookie":
			if st.Enabled && st.CookieName == "" {
				return out, fmt.Errorf("%s (%s).stickiness.cookieName is empty: app_cookie stickiness needs the application's cookie name", field, tg.Name)
			}
			if strings.HasPrefix(st.CookieName, "AWSALB") {
				return out, fmt.Errorf("%s (%s).stickiness.cookieName %q uses the reserved prefix AWSALB: choose another name", field, tg.Name, st.CookieName)
			}
		default:
			return out, fmt.Errorf("%s (%s).stickiness.type %q is not valid: use lb_cookie or app_cookie", field, tg.Name, st.Type)
		}
		tg.Stickiness = st
		ids := map[string]bool{}
		targets := make([]Target, 0, len(tg.Targets))
		for j, t := range tg.Targets {
			tf := fmt.Sprintf("%s (%s).targets[%d]", field, tg.Name, j)
			if t.ID == "" {
				t.ID = t.Addr
			}
			if ids[t.ID] {
				return out, fmt.Errorf("%s.id %q is registered twice in the group: register each target once", tf, t.ID)
			}
			ids[t.ID] = true
			if _, err := netip.ParseAddrPort(t.Addr); err != nil {
				return out, fmt.Errorf("%s.addr %q is not an ip:port: use e.g. 127.0.0.1:8080", tf, t.Addr)
			}
			if t.Weight < 0 || t.Weight > 1000 {
				return out, fmt.Errorf("%s.weight %d is out of range: use 0–1000", tf, t.Weight)
			}
			targets = append(targets, t)
		}
		tg.Targets = targets
		out.TargetGroups = append(out.TargetGroups, tg)
	}
	names := map[string]bool{}
	binds := map[string]string{}
	for i, lb := range cfg.LoadBalancers {
		field := fmt.Sprintf("loadBalancers[%d]", i)
		if lb.Name == "" {
			return out, fmt.Errorf("%s.name is empty: give every load balancer a name", field)
		}
		if names[lb.Name] {
			return out, fmt.Errorf("%s.name %q is used twice: load balancer names must be unique", field, lb.Name)
		}
		names[lb.Name] = true
		field = fmt.Sprintf("%s (%s)", field, lb.Name)
		if lb.Address == "" {
			lb.Address = "127.0.0.1"
		}
		if _, err := netip.ParseAddr(lb.Address); err != nil {
			return out, fmt.Errorf("%s.address %q is not an IP address: use e.g. 127.0.0.1", field, lb.Address)
		}
		if lb.IdleTimeout == 0 {
			lb.IdleTimeout = DefaultIdleTimeout
		}
		if lb.IdleTimeout < 0 {
			return out, fmt.Errorf("%s.idleTimeout %s is negative: use 1–4000 s", field, lb.IdleTimeout)
		}
		if lb.ClientKeepAlive == 0 {
			lb.ClientKeepAlive = DefaultClientKeepAlive
		}
		if lb.HeaderTimeout == 0 {
			lb.HeaderTimeout = DefaultHeaderTimeout
		}
		if lb.HeaderTimeout < 0 {
			return out, fmt.Errorf("%s.headerTimeout %s is negative: use 1–4000 s", field, lb.HeaderTimeout)
		}
		if lb.MaxHeaderConnsPerIP == 0 {
			lb.MaxHeaderConnsPerIP = DefaultMaxHeaderConnsPerIP
		}
		if lb.MaxHeaderConnsPerIP < 0 {
			return out, fmt.Errorf("%s.maxHeaderConnsPerIP %d is negative: use 1–1000000", field, lb.MaxHeaderConnsPerIP)
		}
		switch lb.XFFMode {
		case "":
			lb.XFFMode = "append"
		case "append", "preserve", "remove":
		default:
			return out, fmt.Errorf("%s.xffMode %q is not valid: use append, preserve or remove", field, lb.XFFMode)
		}
		switch lb.DesyncMode {
		case "":
			lb.DesyncMode = "defensive"
		case "monitor", "defensive", "strictest":
		default:
			return out, fmt.Errorf("%s.desyncMode %q is not valid: use monitor, defensive or strictest", field, lb.DesyncMode)
		}
		for j, l := range lb.Listeners {
			lf := fmt.Sprintf("%s.listeners[%d]", field, j)
			if l.Port < 1 || l.Port > 65535 {
				return out, fmt.Errorf("%s.port %d is out of range: use 1–65535", lf, l.Port)
			}
			bind := net.JoinHostPort(lb.Address, strconv.Itoa(l.Port))
			if other, ok := binds[bind]; ok {
				return out, fmt.Errorf("%s: %s is already used by %s: give each listener its own port", lf, bind, other)
			}
			binds[bind] = lf
			if len(l.DefaultActions) == 0 {
				return out, fmt.Errorf("%s.defaultActions is empty: add a forward, redirect, fixed-response or static action", lf)
			}
		}
		out.LoadBalancers = append(out.LoadBalancers, lb)
	}
	return out, nil
}

// hashKind says what consistent hashing hashes.
type hashKind uint8

const (
	hashSourceIP hashKind = iota
	hashHeader
	hashCookie
)

// checkThresholds checks a group's health thresholds: counts 0 (off) or
// more, percentages 0 (off) to 100.
func checkThresholds(field string, tg TargetGroup) error {
	for _, c := range []struct {
		name   string
		v, max int
		unit   string
	}{
		{"dnsFailoverMinCount", tg.DNSFailoverMinCount, -1, "targets"},
		{"dnsFailoverMinPercent", tg.DNSFailoverMinPercent, 100, "percent"},
		{"failOpenMinCount", tg.FailOpenMinCount, -1, "targets"},
		{"failOpenMinPercent", tg.FailOpenMinPercent, 100, "percent"},
	} {
		if c.v < 0 || (c.max >= 0 && c.v > c.max) {
			limit := "or more"
			if c.max >= 0 {
				limit = "to " + strconv.Itoa(c.max)
			}
			return fmt.Errorf("%s (%s).%s %d is out of range: use 0 (off) %s %s", field, tg.Name, c.name, c.v, limit, c.unit)
		}
	}
	return nil
}

func parseHashKey(s string) (hashKind, string, error) {
	switch {
	case s == "source_ip":
		return hashSourceIP, "", nil
	case strings.HasPrefix(s, "header:") && len(s) > len("header:"):
		return hashHeader, s[len("header:"):], nil
	case strings.HasPrefix(s, "cookie:") && len(s) > len("cookie:"):
		return hashCookie, s[len("cookie:"):], nil
	}
	return 0, "", fmt.Errorf("%q is not valid: use source_ip, header:<Name> or cookie:<Name>", s)
}
