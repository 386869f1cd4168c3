package elb

import (
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
)

func checkErrs(t *testing.T, errs fielderr.List, want []string) {
	t.Helper()
	var got []string
	for _, e := range errs {
		got = append(got, e.Path)
		if e.Problem == "" || e.Fix == "" {
			t.Errorf("problem without text or fix: %+v", *e)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("problem paths = %q, want %q\n%v", got, want, errs)
	}
}

func ptr[T any](v T) *T { return &v }

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"web", true},
		{"Web-1", true},
		{strings.Repeat("a", 32), true},
		{strings.Repeat("a", 33), false},
		{"-web", false},
		{"web-", false},
		{"web_1", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidName(tc.name); got != tc.want {
				t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

func TestTargetGroupValidate(t *testing.T) {
	good := func() TargetGroupSpec {
		return TargetGroupSpec{Name: "web", Targets: []TargetSpec{{Instances: "web"}, {ID: "i-0123456789abcdef0", Port: 81}, {ID: "i-01234567"}}}
	}
	tests := []struct {
		name   string
		modify func(*TargetGroupSpec)
		want   []string
	}{
		{"valid", func(*TargetGroupSpec) {}, nil},
		{"valid after defaults", func(s *TargetGroupSpec) { s.ApplyDefaults() }, nil},
		{"https", func(s *TargetGroupSpec) { s.Protocol = "HTTPS" }, []string{"protocol"}},
		{"tcp", func(s *TargetGroupSpec) { s.Protocol = "TCP" }, []string{"protocol"}},
		{"port", func(s *TargetGroupSpec) { s.Port = 65536 }, []string{"port"}},
		{"lambda", func(s *TargetGroupSpec) { s.TargetType = "lambda"; s.Targets = nil }, []string{"targetType"}},
		{"hc protocol", func(s *TargetGroupSpec) { s.HealthCheck.Protocol = "TCP" }, []string{"healthCheck.protocol"}},
		{"hc port number", func(s *TargetGroupSpec) { s.HealthCheck.Port = "8081" }, nil},
		{"hc port bad", func(s *TargetGroupSpec) { s.HealthCheck.Port = "0" }, []string{"healthCheck.port"}},
		{"hc path", func(s *TargetGroupSpec) { s.HealthCheck.Path = "health" }, []string{"healthCheck.path"}},
		{"hc path space", func(s *TargetGroupSpec) { s.HealthCheck.Path = "/a b" }, []string{"healthCheck.path"}},
		{"hc interval bounds ok", func(s *TargetGroupSpec) { s.HealthCheck.IntervalSeconds = 300; s.HealthCheck.TimeoutSeconds = 120 }, nil},
		{"hc interval 4", func(s *TargetGroupSpec) { s.HealthCheck.IntervalSeconds = 4 }, []string{"healthCheck.intervalSeconds"}},
		{"hc interval 301", func(s *TargetGroupSpec) { s.HealthCheck.IntervalSeconds = 301 }, []string{"healthCheck.intervalSeconds"}},
		{"hc timeout 1", func(s *TargetGroupSpec) { s.HealthCheck.TimeoutSeconds = 1 }, []string{"healthCheck.timeoutSeconds"}},
		{"hc timeout equals interval", func(s *TargetGroupSpec) { s.HealthCheck.IntervalSeconds = 5 }, []string{"healthCheck.timeoutSeconds"}},
		{"hc interval 5 timeout 4", func(s *TargetGroupSpec) { s.HealthCheck.IntervalSeconds = 5; s.HealthCheck.TimeoutSeconds = 4 }, nil},
		{"hc thresholds", func(s *TargetGroupSpec) {
			s.HealthCheck.HealthyThresholdCount = 1
			s.HealthCheck.UnhealthyThresholdCount = 11
		},
			[]string{"healthCheck.healthyThresholdCount", "healthCheck.unhealthyThresholdCount"}},
		{"matcher list and range", func(s *TargetGroupSpec) { s.HealthCheck.Matcher = "200,202,300-399" }, nil},
		{"matcher 500", func(s *TargetGroupSpec) { s.HealthCheck.Matcher = "500" }, []string{"healthCheck.matcher"}},
		{"matcher 199", func(s *TargetGroupSpec) { s.HealthCheck.Matcher = "199-200" }, []string{"healthCheck.matcher"}},
		{"matcher backwards", func(s *TargetGroupSpec) { s.HealthCheck.Matcher = "299-200" }, []string{"healthCheck.matcher"}},
		{"matcher words", func(s *TargetGroupSpec) { s.HealthCheck.Matcher = "ok" }, []string{"healthCheck.matcher"}},
		{"attribute", func(s *TargetGroupSpec) { s.Attributes = map[string]string{"nope": "1"} }, []string{"attributes.nope"}},
		{"no target named", func(s *TargetGroupSpec) { s.Targets = []TargetSpec{{Port: 80}} }, []string{"targets[0]"}},
		{"two target kinds", func(s *TargetGroupSpec) { s.Targets = []TargetSpec{{Instances: "a", ID: "i-01234567"}} }, []string{"targets[0]"}},
		{"bad ids", func(s *TargetGroupSpec) {
			s.Targets = []TargetSpec{{ID: "i-0123"}, {ID: "i-0123456789ABCDEF0"}, {ID: "x-01234567"}}
		}, []string{"targets[0].id", "targets[1].id", "targets[2].id"}},
		{"ip target on instance group", func(s *TargetGroupSpec) { s.Targets = []TargetSpec{{IP: "127.0.0.1", Port: 80}} }, []string{"targets[0].ip"}},
		{"weights", func(s *TargetGroupSpec) {
			s.Targets = []TargetSpec{{Instances: "a", Weight: ptr(0)}, {Instances: "b", Weight: ptr(1000)}, {Instances: "c", Weight: ptr(1001)}, {Instances: "d", Weight: ptr(-1)}}
		}, []string{"targets[2].weight", "targets[3].weight"}},
		{"duplicate target", func(s *TargetGroupSpec) { s.Targets = append(s.Targets, TargetSpec{Instances: "web"}) }, []string{"targets[3]"}},
		{"target port", func(s *TargetGroupSpec) { s.Targets[0].Port = 70000 }, []string{"targets[0].port"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.modify(&s)
			checkErrs(t, s.Validate(), tc.want)
		})
	}
}

func TestIPTargetGroupValidate(t *testing.T) {
	tests := []struct {
		name      string
		groupPort int
		targets   []TargetSpec
		want      []string
	}{
		{"ipv4 and ipv6 with group port", 80, []TargetSpec{{IP: "127.0.0.2"}, {IP: "::1"}}, nil},
		{"port per target", 0, []TargetSpec{{IP: "127.0.0.2", Port: 3000}}, nil},
		{"no port anywhere", 0, []TargetSpec{{IP: "127.0.0.2"}}, []string{"targets[0].port"}},
		{"host name", 80, []TargetSpec{{IP: "localhost"}}, []string{"targets[0].ip"}},
		{"instances on ip group", 80, []TargetSpec{{Instances: "web"}}, []string{"targets[0].instances"}},
		{"instance id on ip group", 80, []TargetSpec{{ID: "i-01234567"}}, []string{"targets[0].id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := TargetGroupSpec{Name: "ips", TargetType: TargetTypeIP, Port: tc.groupPort, Targets: tc.targets}
			checkErrs(t, s.Validate(), tc.want)
		})
	}
}

func TestTargetGroupAttributes(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]string
		want  []string // problem paths (attribute keys)
	}{
		{"none", nil, nil},
		{"all valid", map[string]string{
			AttrDeregistrationDelay: "0", AttrSlowStart: "900", AttrAlgorithm: AlgorithmLeastOutstandingRequests,
			AttrStickinessEnabled: "true", AttrStickinessType: "lb_cookie", AttrLBCookieDuration: "604800",
		}, nil},
		{"slow start with least outstanding requests is allowed", map[string]string{AttrSlowStart: "30", AttrAlgorithm: AlgorithmLeastOutstandingRequests}, nil},
		{"unknown key", map[string]string{"stickiness.enable": "true"}, []string{"stickiness.enable"}},
		{"deregistration range", map[string]string{AttrDeregistrationDelay: "3601"}, []string{AttrDeregistrationDelay}},
		{"deregistration not a number", map[string]string{AttrDeregistrationDelay: "5m"}, []string{AttrDeregistrationDelay}},
		{"slow start 29", map[string]string{AttrSlowStart: "29"}, []string{AttrSlowStart}},
		{"slow start 901", map[string]string{AttrSlowStart: "901"}, []string{AttrSlowStart}},
		{"algorithms", map[string]string{AttrAlgorithm: "random"}, []string{AttrAlgorithm}},
		{"madang algorithms", map[string]string{AttrAlgorithm: AlgorithmLeastResponseTime}, nil},
		{"hash keys", map[string]string{AttrAlgorithm: AlgorithmConsistentHash, AttrHashKey: "cookie:sid"}, nil},
		{"hash key header", map[string]string{AttrAlgorithm: AlgorithmConsistentHash, AttrHashKey: "header:X-User"}, nil},
		{"hash key bad", map[string]string{AttrAlgorithm: AlgorithmConsistentHash, AttrHashKey: "header:"}, []string{AttrHashKey}},
		{"hash key kind", map[string]string{AttrAlgorithm: AlgorithmConsistentHash, AttrHashKey: "url"}, []string{AttrHashKey}},
		{"hash key without consistent hash", map[string]string{AttrHashKey: "source_ip"}, []string{AttrHashKey}},
		{"anomaly mitigation on", map[string]string{AttrAlgorithm: AlgorithmWeightedRandom, AttrAnomalyMitigation: "on"}, nil},
		{"anomaly mitigation needs weighted random", map[string]string{AttrAnomalyMitigation: "on"}, []string{AttrAnomalyMitigation}},
		{"booleans", map[string]string{AttrStickinessEnabled: "True"}, []string{AttrStickinessEnabled}},
		{"stickiness type", map[string]string{AttrStickinessType: "source_ip"}, []string{AttrStickinessType}},
		{"cookie duration 0", map[string]string{AttrLBCookieDuration: "0"}, []string{AttrLBCookieDuration}},
		{"cookie duration too long", map[string]string{AttrAppCookieDuration: "604801"}, []string{AttrAppCookieDuration}},
		{"app cookie needs a name", map[string]string{AttrStickinessType: "app_cookie"}, []string{AttrAppCookieName}},
		{"app cookie reserved", map[string]string{AttrStickinessType: "app_cookie", AttrAppCookieName: "awsalbtg"}, []string{AttrAppCookieName}},
		{"app cookie invalid", map[string]string{AttrStickinessType: "app_cookie", AttrAppCookieName: "a b"}, []string{AttrAppCookieName}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := ParseTargetGroupAttributes(tc.attrs)
			checkErrs(t, errs, tc.want)
		})
	}
}

func TestParseTargetGroupAttributesTyped(t *testing.T) {
	a, errs := ParseTargetGroupAttributes(nil)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	want := TargetGroupAttributes{
		DeregistrationDelay:   300 * time.Second,
		Algorithm:             AlgorithmRoundRobin,
		HashKey:               HashKeySourceIP,
		Stickiness:            Stickiness{Type: StickinessLBCookie, Duration: 24 * time.Hour},
		CrossZone:             CrossZoneUseLoadBalancer,
		DNSFailover:           HealthThreshold{Count: 1},
		UnhealthyStateRouting: HealthThreshold{Count: 1},
	}
	if a != want {
		t.Errorf("defaults = %+v, want %+v", a, want)
	}
	a, errs = ParseTargetGroupAttributes(map[string]string{
		AttrDeregistrationDelay: "30", AttrSlowStart: "60", AttrAlgorithm: AlgorithmWeightedRandom, AttrAnomalyMitigation: "on",
		AttrStickinessEnabled: "true", AttrStickinessType: StickinessAppCookie, AttrAppCookieName: "SID", AttrAppCookieDuration: "120",
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	want = TargetGroupAttributes{
		DeregistrationDelay:   30 * time.Second,
		SlowStart:             time.Minute,
		Algorithm:             AlgorithmWeightedRandom,
		HashKey:               HashKeySourceIP,
		AnomalyMitigation:     true,
		Stickiness:            Stickiness{Enabled: true, Type: StickinessAppCookie, Duration: 2 * time.Minute, CookieName: "SID"},
		CrossZone:             CrossZoneUseLoadBalancer,
		DNSFailover:           HealthThreshold{Count: 1},
		UnhealthyStateRouting: HealthThreshold{Count: 1},
	}
	if a != want {
		t.Errorf("parsed = %+v, want %+v", a, want)
	}
	// Invalid values parse as their defaults.
	a, _ = ParseTargetGroupAttributes(map[string]string{AttrDeregistrationDelay: "-5"})
	if a.DeregistrationDelay != 300*time.Second {
		t.Errorf("invalid delay parsed as %v, want the default 5m0s", a.DeregistrationDelay)
	}
}

func TestLoadBalancerAttributes(t *testing.T) {
	a, errs := ParseLoadBalancerAttributes(nil)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	want := LoadBalancerAttributes{
		IdleTimeout: time.Minute, ClientKeepAlive: time.Hour, HTTP2: true, DesyncMitigationMode: "defensive",
		XFFHeaderProcessingMode: "append", PreserveHostHeader: true, AccessLogs: true,
		ClientHeaderTimeout: time.Minute, ClientHeaderMaxPerSourceIP: 64, CrossZone: true,
	}
	if a != want {
		t.Errorf("defaults = %+v, want %+v", a, want)
	}
	tests := []struct {
		name  string
		attrs map[string]string
		want  []string
	}{
		{"bounds", map[string]string{AttrIdleTimeout: "4000", AttrClientKeepAlive: "60"}, nil},
		{"idle timeout", map[string]string{AttrIdleTimeout: "4001"}, []string{AttrIdleTimeout}},
		{"keep alive", map[string]string{AttrClientKeepAlive: "604801"}, []string{AttrClientKeepAlive}},
		{"modes", map[string]string{AttrDesyncMitigationMode: "strictest", AttrXFFHeaderProcessingMode: "remove"}, nil},
		{"bad modes", map[string]string{AttrDesyncMitigationMode: "off", AttrXFFHeaderProcessingMode: "drop"},
			[]string{AttrDesyncMitigationMode, AttrXFFHeaderProcessingMode}},
		{"booleans", map[string]string{AttrHTTP2Enabled: "no", AttrAccessLogs: "false"}, []string{AttrHTTP2Enabled}},
		{"header defences bounds", map[string]string{AttrClientHeaderTimeout: "1", AttrClientHeaderMaxPerSourceIP: "1000000"}, nil},
		{"header timeout zero", map[string]string{AttrClientHeaderTimeout: "0"}, []string{AttrClientHeaderTimeout}},
		{"header cap not a number", map[string]string{AttrClientHeaderMaxPerSourceIP: "many"}, []string{AttrClientHeaderMaxPerSourceIP}},
		{"target group key on a load balancer", map[string]string{AttrDeregistrationDelay: "30"}, []string{AttrDeregistrationDelay}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := ParseLoadBalancerAttributes(tc.attrs)
			checkErrs(t, errs, tc.want)
		})
	}
}

func TestLoadBalancerValidate(t *testing.T) {
	fwd := func(tg string) []ActionSpec { return []ActionSpec{{Type: ActionForward, TargetGroup: tg}} }
	good := func() LoadBalancerSpec {
		return LoadBalancerSpec{Name: "web", Listeners: []ListenerSpec{{
			Port:           8080,
			DefaultActions: fwd("web"),
			Rules: []RuleSpec{{
				Priority:   1,
				Conditions: []ConditionSpec{{Field: FieldPathPattern, Values: []string{"/api/*"}}},
				Actions:    fwd("api"),
			}},
		}}}
	}
	cond := func(c ...ConditionSpec) func(*LoadBalancerSpec) {
		return func(s *LoadBalancerSpec) { s.Listeners[0].Rules[0].Conditions = c }
	}
	action := func(a ActionSpec) func(*LoadBalancerSpec) {
		return func(s *LoadBalancerSpec) { s.Listeners[0].DefaultActions = []ActionSpec{a} }
	}
	const r = "listeners[0].rules[0]."
	const d = "listeners[0].defaultActions[0]."
	tests := []struct {
		name   string
		modify func(*LoadBalancerSpec)
		want   []string
	}{
		{"valid", func(*LoadBalancerSpec) {}, nil},
		{"valid after defaults", func(s *LoadBalancerSpec) { s.ApplyDefaults() }, nil},
		{"name", func(s *LoadBalancerSpec) { s.Name = "web_1" }, []string{"name"}},
		{"internal prefix", func(s *LoadBalancerSpec) { s.Name = "internal-web" }, []string{"name"}},
		{"type", func(s *LoadBalancerSpec) { s.Type = "classic" }, []string{"type"}},
		{"address", func(s *LoadBalancerSpec) { s.Address = "127.0.0.256" }, []string{"address"}},
		{"ipv6 address", func(s *LoadBalancerSpec) { s.Address = "::1" }, nil},
		{"lb attribute", func(s *LoadBalancerSpec) { s.Attributes = map[string]string{AttrIdleTimeout: "0"} }, []string{"attributes." + AttrIdleTimeout}},
		{"https listener", func(s *LoadBalancerSpec) { s.Listeners[0].Protocol = "HTTPS" }, []string{"listeners[0].protocol"}},
		{"port 0", func(s *LoadBalancerSpec) { s.Listeners[0].Port = 0 }, []string{"listeners[0].port"}},
		{"port 65536", func(s *LoadBalancerSpec) { s.Listeners[0].Port = 65536 }, []string{"listeners[0].port"}},
		{"duplicate port", func(s *LoadBalancerSpec) {
			s.Listeners = append(s.Listeners, ListenerSpec{Port: 8080, DefaultActions: fwd("web")})
		}, []string{"listeners[1].port"}},
		{"no default action", func(s *LoadBalancerSpec) { s.Listeners[0].DefaultActions = nil }, []string{"listeners[0].defaultActions"}},
		{"priority 50000", func(s *LoadBalancerSpec) { s.Listeners[0].Rules[0].Priority = 50000 }, nil},
		{"priority 50001", func(s *LoadBalancerSpec) { s.Listeners[0].Rules[0].Priority = 50001 }, []string{r + "priority"}},
		{"duplicate priority", func(s *LoadBalancerSpec) {
			s.Listeners[0].Rules = append(s.Listeners[0].Rules, s.Listeners[0].Rules[0])
		}, []string{"listeners[0].rules[1].priority"}},
		{"no conditions", cond(), []string{r + "conditions"}},
		{"no rule action", func(s *LoadBalancerSpec) { s.Listeners[0].Rules[0].Actions = nil }, []string{r + "actions"}},
		{"unknown field", cond(ConditionSpec{Field: "host", Values: []string{"a.b"}}), []string{r + "conditions[0].field"}},
		{"missing field", cond(ConditionSpec{Values: []string{"a.b"}}), []string{r + "conditions[0].field"}},
		{"no values", cond(ConditionSpec{Field: FieldPathPattern}), []string{r + "conditions[0].values"}},
		{"three values", cond(ConditionSpec{Field: FieldPathPattern, Values: []string{"/a", "/b", "/c"}}), nil},
		{"empty value", cond(ConditionSpec{Field: FieldPathPattern, Values: []string{""}}), []string{r + "conditions[0].values[0]"}},
		{"control character", cond(ConditionSpec{Field: FieldPathPattern, Values: []string{"/a\tb"}}), []string{r + "conditions[0].values[0]"}},
		{"non-ascii", cond(ConditionSpec{Field: FieldPathPattern, Values: []string{"/한"}}), []string{r + "conditions[0].values[0]"}},
		{"path 128", cond(ConditionSpec{Field: FieldPathPattern, Values: []string{"/" + strings.Repeat("a", 127)}}), nil},
		{"path 129", cond(ConditionSpec{Field: FieldPathPattern, Values: []string{"/" + strings.Repeat("a", 128)}}), []string{r + "conditions[0].values[0]"}},
		{"host wildcard", cond(ConditionSpec{Field: FieldHostHeader, Values: []string{"*.example.com"}}), nil},
		{"host no dot", cond(ConditionSpec{Field: FieldHostHeader, Values: []string{"localhost"}}), []string{r + "conditions[0].values[0]"}},
		{"host bad char", cond(ConditionSpec{Field: FieldHostHeader, Values: []string{"a_b.com"}}), []string{r + "conditions[0].values[0]"}},
		{"methods", cond(ConditionSpec{Field: FieldHTTPRequestMethod, Values: []string{"GET", "CUSTOM_M-1"}}), []string{r + "conditions[0].values[1]"}},
		{"header", cond(ConditionSpec{Field: FieldHTTPHeader, HTTPHeaderName: "User-Agent", Values: []string{"*Mobile*"}}), nil},
		{"header name long", cond(ConditionSpec{Field: FieldHTTPHeader, HTTPHeaderName: strings.Repeat("h", 41), Values: []string{"x"}}),
			[]string{r + "conditions[0].httpHeaderName"}},
		{"two header conditions allowed", cond(
			ConditionSpec{Field: FieldHTTPHeader, HTTPHeaderName: "A", Values: []string{"x"}},
			ConditionSpec{Field: FieldHTTPHeader, HTTPHeaderName: "B", Values: []string{"y"}}), nil},
		{"two host conditions", cond(
			ConditionSpec{Field: FieldHostHeader, Values: []string{"a.com"}},
			ConditionSpec{Field: FieldHostHeader, Values: []string{"b.com"}}), []string{r + "conditions[1].field"}},
		{"source ip v6", cond(ConditionSpec{Field: FieldSourceIP, Values: []string{"fd00::/8"}}), nil},
		{"query string any key", cond(ConditionSpec{Field: FieldQueryString, QueryString: []KeyValue{{Value: "x"}}}), nil},
		{"query string on other field", cond(ConditionSpec{Field: FieldPathPattern, Values: []string{"/"}, QueryString: []KeyValue{{Value: "x"}}}),
			[]string{r + "conditions[0].queryString"}},
		{"five evaluations", cond(
			ConditionSpec{Field: FieldPathPattern, Values: []string{"/a", "/b", "/c"}},
			ConditionSpec{Field: FieldHostHeader, Values: []string{"a.com", "b.com"}}), nil},
		{"five wildcards", cond(ConditionSpec{Field: FieldPathPattern, Values: []string{"/*/*/*", "/*/*"}}), nil},
		{"six wildcards", cond(ConditionSpec{Field: FieldPathPattern, Values: []string{"/*/*/*", "/?/?/?"}}), []string{r + "conditions"}},
		{"redirect to https", action(ActionSpec{Type: ActionRedirect, Redirect: &RedirectSpec{Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301"}}), nil},
		{"redirect tokens only", action(ActionSpec{Type: ActionRedirect, Redirect: &RedirectSpec{Protocol: "#{protocol}", Path: "/#{path}", StatusCode: "HTTP_302"}}),
			[]string{"listeners[0].defaultActions[0].redirect"}},
		{"redirect bad protocol", action(ActionSpec{Type: ActionRedirect, Redirect: &RedirectSpec{Protocol: "FTP", StatusCode: "HTTP_302"}}),
			[]string{d + "redirect.protocol"}},
		{"redirect missing status", action(ActionSpec{Type: ActionRedirect, Redirect: &RedirectSpec{Host: "a.com"}}), []string{d + "redirect.statusCode"}},
		{"redirect missing block", action(ActionSpec{Type: ActionRedirect}), []string{d + "redirect"}},
		{"fixed response ok", action(ActionSpec{Type: ActionFixedResponse, FixedResponse: &FixedResponseSpec{StatusCode: "503", ContentType: "application/json", MessageBody: strings.Repeat("x", 1024)}}), nil},
		{"fixed response 100", action(ActionSpec{Type: ActionFixedResponse, FixedResponse: &FixedResponseSpec{StatusCode: "100"}}), []string{d + "fixedResponse.statusCode"}},
		{"fixed response 2xx text", action(ActionSpec{Type: ActionFixedResponse, FixedResponse: &FixedResponseSpec{StatusCode: "2XX"}}), []string{d + "fixedResponse.statusCode"}},
		{"fixed response missing status", action(ActionSpec{Type: ActionFixedResponse, FixedResponse: &FixedResponseSpec{}}), []string{d + "fixedResponse.statusCode"}},
		{"static ok", action(ActionSpec{Type: ActionStatic, Static: &StaticSpec{Root: "./public", StripPrefix: "/s", Index: "home.html"}}), nil},
		{"static bad", action(ActionSpec{Type: ActionStatic, Static: &StaticSpec{Root: "p", StripPrefix: "s", Index: "a/b"}}),
			[]string{d + "static.stripPrefix", d + "static.index"}},
		{"forward nothing", action(ActionSpec{Type: ActionForward}), []string{d + "targetGroup"}},
		{"forward five groups", action(ActionSpec{Type: ActionForward, Forward: &ForwardSpec{TargetGroups: []WeightedTargetGroup{
			{Name: "a", Weight: ptr(0)}, {Name: "b", Weight: ptr(999)}, {Name: "c"}, {Name: "d"}, {Name: "e"}}}}), nil},
		{"forward empty", action(ActionSpec{Type: ActionForward, Forward: &ForwardSpec{}}), []string{d + "forward.targetGroups"}},
		{"forward duplicate and unnamed", action(ActionSpec{Type: ActionForward, Forward: &ForwardSpec{TargetGroups: []WeightedTargetGroup{{Name: "a"}, {Name: "a"}, {}}}}),
			[]string{d + "forward.targetGroups[1].name", d + "forward.targetGroups[2].name"}},
		{"forward stickiness", action(ActionSpec{Type: ActionForward, Forward: &ForwardSpec{
			TargetGroups: []WeightedTargetGroup{{Name: "a"}}, Stickiness: &GroupStickinessSpec{Enabled: true, DurationSeconds: 604801}}}),
			[]string{d + "forward.stickiness.durationSeconds"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.modify(&s)
			checkErrs(t, s.Validate(), tc.want)
		})
	}
}

func TestClientHeaderAttributes(t *testing.T) {
	a, errs := ParseLoadBalancerAttributes(nil)
	if len(errs) != 0 {
		t.Fatalf("defaults: %v", errs)
	}
	if a.ClientHeaderTimeout != 60*time.Second || a.ClientHeaderMaxPerSourceIP != 64 {
		t.Errorf("defaults = %s, %d; want 60s, 64", a.ClientHeaderTimeout, a.ClientHeaderMaxPerSourceIP)
	}
	a, errs = ParseLoadBalancerAttributes(map[string]string{AttrClientHeaderTimeout: "5", AttrClientHeaderMaxPerSourceIP: "8"})
	if len(errs) != 0 || a.ClientHeaderTimeout != 5*time.Second || a.ClientHeaderMaxPerSourceIP != 8 {
		t.Errorf("parsed = %s, %d (%v); want 5s, 8", a.ClientHeaderTimeout, a.ClientHeaderMaxPerSourceIP, errs)
	}
	_, errs = ParseLoadBalancerAttributes(map[string]string{AttrClientHeaderMaxPerSourceIP: "0"})
	if msg := errs.Error(); !strings.Contains(msg, AttrClientHeaderMaxPerSourceIP) || !strings.Contains(msg, "connections from 1 to 1000000") {
		t.Errorf("error = %q, want the key and the range in connections", msg)
	}
}
