package elbv2

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
)

// attrs reads an Attributes list of an answer into a map.
func attrs(t *testing.T, out map[string]any) map[string]string {
	t.Helper()
	m := map[string]string{}
	list, ok := out["Attributes"].([]any)
	if !ok {
		t.Fatalf("answer has no Attributes list: %v", out)
	}
	for _, a := range list {
		a := a.(map[string]any)
		m[a["Key"].(string)] = a["Value"].(string)
	}
	return m
}

// stored is a JSON copy of the fake daemon's target groups and load
// balancers, to show that a refused call changed nothing.
func stored(t *testing.T, m *memLB) string {
	t.Helper()
	b, err := json.Marshal([]any{m.tgs, m.lbs})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func crossZoneLBs() *memLB {
	return &memLB{
		tgs: []elbctl.TargetGroup{{ARN: "arn:tg/web", Spec: elb.TargetGroupSpec{Name: "web", Port: 80,
			Attributes: map[string]string{elb.AttrDeregistrationDelay: "30"}}}},
		lbs: []elbctl.LoadBalancer{{ARN: "arn:lb/front", Spec: elb.LoadBalancerSpec{Name: "front", Type: "application",
			Attributes: map[string]string{elb.AttrIdleTimeout: "90"}}}},
	}
}

// TestTargetGroupCrossZoneAttribute modifies a target group's
// load_balancing.cross_zone.enabled and describes it back; a bad value is
// a ValidationError that names the key and the value and changes nothing.
func TestTargetGroupCrossZoneAttribute(t *testing.T) {
	cases := []struct {
		name       string
		attributes []any
		code       string
		// want is the described value; message parts of a refusal.
		want    string
		message []string
	}{
		{name: "off", attributes: []any{map[string]any{"Key": elb.AttrCrossZone, "Value": "false"}}, want: "false"},
		{name: "on", attributes: []any{map[string]any{"Key": elb.AttrCrossZone, "Value": "true"}}, want: "true"},
		{name: "follow the load balancer", attributes: []any{map[string]any{"Key": elb.AttrCrossZone, "Value": elb.CrossZoneUseLoadBalancer}},
			want: elb.CrossZoneUseLoadBalancer},
		{name: "with another attribute", attributes: []any{map[string]any{"Key": elb.AttrCrossZone, "Value": "false"},
			map[string]any{"Key": elb.AttrSlowStart, "Value": "30"}}, want: "false"},
		{name: "not a value", attributes: []any{map[string]any{"Key": elb.AttrCrossZone, "Value": "yes"}}, code: "ValidationError",
			message: []string{elb.AttrCrossZone, `"yes"`, "use true, false or use_load_balancer_configuration"}},
		{name: "a bad value beside a good one", attributes: []any{map[string]any{"Key": elb.AttrSlowStart, "Value": "30"},
			map[string]any{"Key": elb.AttrCrossZone, "Value": "off"}}, code: "ValidationError", message: []string{elb.AttrCrossZone, `"off"`}},
		{name: "a misspelt key", attributes: []any{map[string]any{"Key": "load_balancing.crosszone.enabled", "Value": "false"}},
			code: "ValidationError", message: []string{"load_balancing.crosszone.enabled", `did you mean "load_balancing.cross_zone.enabled"?`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := crossZoneLBs()
			call := newNetService(t, m)
			desc, err := call("DescribeTargetGroupAttributes", map[string]any{"TargetGroupArn": "arn:tg/web"})
			if err != nil {
				t.Fatal(err)
			}
			if got := attrs(t, desc)[elb.AttrCrossZone]; got != elb.CrossZoneUseLoadBalancer {
				t.Errorf("described before any change: %s = %q, want %q", elb.AttrCrossZone, got, elb.CrossZoneUseLoadBalancer)
			}
			was := stored(t, m)
			out, err := call("ModifyTargetGroupAttributes", map[string]any{"TargetGroupArn": "arn:tg/web", "Attributes": tc.attributes})
			if got := errCode(err); got != tc.code {
				t.Fatalf("error %q (%v), want %q", got, err, tc.code)
			}
			if tc.code != "" {
				for _, part := range tc.message {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q does not contain %q", err, part)
					}
				}
				if now := stored(t, m); now != was {
					t.Errorf("a refused call changed the resources:\nbefore %s\nafter  %s", was, now)
				}
				return
			}
			encodes(t, "ModifyTargetGroupAttributes", out)
			desc, err = call("DescribeTargetGroupAttributes", map[string]any{"TargetGroupArn": "arn:tg/web"})
			if err != nil {
				t.Fatal(err)
			}
			encodes(t, "DescribeTargetGroupAttributes", desc)
			for what, got := range map[string]map[string]string{"answer": attrs(t, out), "DescribeTargetGroupAttributes": attrs(t, desc)} {
				if got[elb.AttrCrossZone] != tc.want {
					t.Errorf("%s: %s = %q, want %q", what, elb.AttrCrossZone, got[elb.AttrCrossZone], tc.want)
				}
				if got[elb.AttrDeregistrationDelay] != "30" {
					t.Errorf("%s: %s = %q, want the 30 set before", what, elb.AttrDeregistrationDelay, got[elb.AttrDeregistrationDelay])
				}
			}
		})
	}
}

// TestLoadBalancerCrossZoneAttribute checks that an Application Load
// Balancer describes load_balancing.cross_zone.enabled as true, accepts
// true and refuses false (InvalidConfigurationRequest, pointing to the
// target group attribute) without changing anything, even beside a good
// attribute.
func TestLoadBalancerCrossZoneAttribute(t *testing.T) {
	cases := []struct {
		name       string
		attributes []any
		code       string
		message    []string
		// idle is the described idle timeout afterwards.
		idle string
	}{
		{name: "true is accepted", attributes: []any{map[string]any{"Key": elb.AttrCrossZone, "Value": "true"}}, idle: "90"},
		{name: "true beside another attribute", attributes: []any{map[string]any{"Key": elb.AttrCrossZone, "Value": "true"},
			map[string]any{"Key": elb.AttrIdleTimeout, "Value": "120"}}, idle: "120"},
		{name: "false is refused", attributes: []any{map[string]any{"Key": elb.AttrCrossZone, "Value": "false"}},
			code: "InvalidConfigurationRequest", message: []string{elb.AttrCrossZone, "Application Load Balancer", "per target group"}, idle: "90"},
		{name: "false beside a good attribute changes nothing", attributes: []any{map[string]any{"Key": elb.AttrIdleTimeout, "Value": "120"},
			map[string]any{"Key": elb.AttrCrossZone, "Value": "false"}}, code: "InvalidConfigurationRequest", idle: "90"},
		{name: "not a boolean", attributes: []any{map[string]any{"Key": elb.AttrCrossZone, "Value": "no"}},
			code: "ValidationError", message: []string{elb.AttrCrossZone, `"no"`}, idle: "90"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := crossZoneLBs()
			call := newNetService(t, m)
			was := stored(t, m)
			out, err := call("ModifyLoadBalancerAttributes", map[string]any{"LoadBalancerArn": "arn:lb/front", "Attributes": tc.attributes})
			if got := errCode(err); got != tc.code {
				t.Fatalf("error %q (%v), want %q", got, err, tc.code)
			}
			if tc.code != "" {
				for _, part := range tc.message {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q does not contain %q", err, part)
					}
				}
				if now := stored(t, m); now != was {
					t.Errorf("a refused call changed the resources:\nbefore %s\nafter  %s", was, now)
				}
			} else {
				encodes(t, "ModifyLoadBalancerAttributes", out)
			}
			desc, err := call("DescribeLoadBalancerAttributes", map[string]any{"LoadBalancerArn": "arn:lb/front"})
			if err != nil {
				t.Fatal(err)
			}
			encodes(t, "DescribeLoadBalancerAttributes", desc)
			got := attrs(t, desc)
			if got[elb.AttrCrossZone] != "true" {
				t.Errorf("described %s = %q, want true", elb.AttrCrossZone, got[elb.AttrCrossZone])
			}
			if got[elb.AttrIdleTimeout] != tc.idle {
				t.Errorf("described %s = %q, want %q", elb.AttrIdleTimeout, got[elb.AttrIdleTimeout], tc.idle)
			}
		})
	}
}
