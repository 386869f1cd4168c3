package elb

import (
	"maps"
	"reflect"
	"testing"
)

func TestTargetGroupDefaults(t *testing.T) {
	s := TargetGroupSpec{Name: "web", Targets: []TargetSpec{{Instances: "web"}}}
	s.ApplyDefaults()
	on := true
	w := DefaultWeight
	want := TargetGroupSpec{
		Name: "web", Protocol: "HTTP", TargetType: "instance",
		HealthCheck: HealthCheckSpec{
			Enabled: &on, Protocol: "HTTP", Port: "traffic-port", Path: "/",
			IntervalSeconds: 30, TimeoutSeconds: 5, HealthyThresholdCount: 5, UnhealthyThresholdCount: 2, Matcher: "200",
		},
		Targets: []TargetSpec{{Instances: "web", Weight: &w}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", s, want)
	}
	again := s
	again.ApplyDefaults()
	if !reflect.DeepEqual(again, s) {
		t.Errorf("ApplyDefaults is not idempotent")
	}
	off := false
	s = TargetGroupSpec{HealthCheck: HealthCheckSpec{Enabled: &off, Path: "/health"}}
	s.ApplyDefaults()
	if *s.HealthCheck.Enabled || s.HealthCheck.Path != "/health" {
		t.Errorf("ApplyDefaults overwrote set values: %+v", s.HealthCheck)
	}
}

func TestLoadBalancerDefaults(t *testing.T) {
	tests := []struct {
		name     string
		action   ActionSpec
		wantType string
	}{
		{"targetGroup shorthand", ActionSpec{TargetGroup: "web"}, ActionForward},
		{"forward block", ActionSpec{Forward: &ForwardSpec{}}, ActionForward},
		{"redirect block", ActionSpec{Redirect: &RedirectSpec{}}, ActionRedirect},
		{"fixed response block", ActionSpec{FixedResponse: &FixedResponseSpec{}}, ActionFixedResponse},
		{"static block", ActionSpec{Static: &StaticSpec{}}, ActionStatic},
		{"two blocks stay ambiguous", ActionSpec{TargetGroup: "web", Static: &StaticSpec{}}, ""},
		{"explicit type kept", ActionSpec{Type: ActionRedirect, TargetGroup: "web"}, ActionRedirect},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lb := LoadBalancerSpec{Listeners: []ListenerSpec{{Port: 80, DefaultActions: []ActionSpec{tc.action}}}}
			lb.ApplyDefaults()
			if got := lb.Listeners[0].DefaultActions[0].Type; got != tc.wantType {
				t.Errorf("Type = %q, want %q", got, tc.wantType)
			}
		})
	}

	lb := LoadBalancerSpec{Listeners: []ListenerSpec{{
		Port:           80,
		DefaultActions: []ActionSpec{{FixedResponse: &FixedResponseSpec{StatusCode: "404"}}},
		Rules: []RuleSpec{{Priority: 1, Actions: []ActionSpec{
			{Forward: &ForwardSpec{TargetGroups: []WeightedTargetGroup{{Name: "a"}}}},
			{Static: &StaticSpec{Root: "/srv"}},
		}}},
	}}}
	lb.ApplyDefaults()
	l := lb.Listeners[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"type", lb.Type, "application"},
		{"address", lb.Address, "127.0.0.1"},
		{"listener protocol", l.Protocol, "HTTP"},
		{"content type", l.DefaultActions[0].FixedResponse.ContentType, "text/plain"},
		{"forward weight", *l.Rules[0].Actions[0].Forward.TargetGroups[0].Weight, 1},
		{"static index", l.Rules[0].Actions[1].Static.Index, "index.html"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEffectiveAttributes(t *testing.T) {
	in := map[string]string{AttrDeregistrationDelay: "30", "custom.key": "x"}
	orig := maps.Clone(in)
	got := EffectiveAttributes(in)
	if !maps.Equal(in, orig) {
		t.Errorf("EffectiveAttributes modified its input: %v", in)
	}
	want := map[string]string{
		AttrDeregistrationDelay:        "30",
		AttrSlowStart:                  "0",
		AttrAlgorithm:                  "round_robin",
		AttrAnomalyMitigation:          "off",
		AttrHashKey:                    "source_ip",
		AttrStickinessEnabled:          "false",
		AttrStickinessType:             "lb_cookie",
		AttrLBCookieDuration:           "86400",
		AttrAppCookieName:              "",
		AttrAppCookieDuration:          "86400",
		AttrCrossZone:                  CrossZoneUseLoadBalancer,
		AttrDNSFailoverMinCount:        "1",
		AttrDNSFailoverMinPercent:      "off",
		AttrUnhealthyRoutingMinCount:   "1",
		AttrUnhealthyRoutingMinPercent: "off",
		"custom.key":                   "x",
	}
	if !maps.Equal(got, want) {
		t.Errorf("EffectiveAttributes =\n%v\nwant\n%v", got, want)
	}
	lb := EffectiveLoadBalancerAttributes(nil)
	wantLB := map[string]string{
		AttrIdleTimeout:                "60",
		AttrClientKeepAlive:            "3600",
		AttrHTTP2Enabled:               "true",
		AttrDesyncMitigationMode:       "defensive",
		AttrDropInvalidHeaderFields:    "false",
		AttrXFFHeaderProcessingMode:    "append",
		AttrXFFClientPort:              "false",
		AttrPreserveHostHeader:         "true",
		AttrDeletionProtection:         "false",
		AttrAccessLogs:                 "true",
		AttrClientHeaderTimeout:        "60",
		AttrClientHeaderMaxPerSourceIP: "64",
		AttrCrossZone:                  "true",
	}
	if !maps.Equal(lb, wantLB) {
		t.Errorf("EffectiveLoadBalancerAttributes(nil) =\n%v\nwant\n%v", lb, wantLB)
	}
}
