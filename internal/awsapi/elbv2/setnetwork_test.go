package elbv2

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
)

// placedLBs are a load balancer of the created VPC on one subnet with a
// group and a listener, one of the default VPC in every default subnet,
// and one of the created VPC that a stack owns.
func placedLBs() *memLB {
	listener := elb.ListenerSpec{Protocol: "HTTP", Port: 8080, DefaultActions: []elb.ActionSpec{{Type: "fixed-response",
		FixedResponse: &elb.FixedResponseSpec{StatusCode: "200"}}}}
	return &memLB{lbs: []elbctl.LoadBalancer{
		{ARN: "arn:lb/front", Spec: elb.LoadBalancerSpec{Name: "front", Type: "application", Vpc: createdVpc,
			Subnets:        []elb.SubnetMapping{{Subnet: "subnet-0a1", AvailabilityZone: "local-1a"}},
			SecurityGroups: []string{"sg-0a"}, Listeners: []elb.ListenerSpec{listener}}},
		{ARN: "arn:lb/plain", Spec: elb.LoadBalancerSpec{Name: "plain", Type: "application"}},
		{ARN: "arn:lb/stacked", Owner: "shop", Spec: elb.LoadBalancerSpec{Name: "stacked", Type: "application", Vpc: createdVpc,
			Subnets: []elb.SubnetMapping{{Subnet: "subnet-0a1", AvailabilityZone: "local-1a"}}}},
	}}
}

// snapshot is a deep copy of what the fake daemon holds.
func snapshot(t *testing.T, m *memLB) string {
	t.Helper()
	b, err := json.Marshal(m.lbs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// encodes checks that an answer is one the operation's output shape can
// carry, as the endpoint encodes it.
func encodes(t *testing.T, op string, out map[string]any) {
	t.Helper()
	svc, err := New(Options{LoadBalancing: &memLB{}, VpcID: defaultVpc, Zones: []string{"local-1a"}, SubnetOf: func(z string) string { return "subnet-" + z }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := protocol.NewCodec(protocol.Query, svc.Model).EncodeOutput(svc.Model.Operation(op), out, "r-1"); err != nil {
		t.Fatalf("%s: encode the answer: %v", op, err)
	}
}

func lbNamed(m *memLB, name string) elbctl.LoadBalancer {
	i := slices.IndexFunc(m.lbs, func(lb elbctl.LoadBalancer) bool { return lb.Spec.Name == name })
	return m.lbs[i]
}

// SetSubnets replaces a load balancer's subnets with others of its VPC,
// one per zone, and keeps the rest of it; refused, it changes nothing.
func TestSetSubnets(t *testing.T) {
	type zone struct{ zone, subnet string }
	cases := []struct {
		name, lb string
		in       map[string]any
		code     string
		zones    []zone
	}{
		{name: "two created subnets", lb: "front", in: map[string]any{"Subnets": []any{"subnet-0a1", "subnet-0a2"}},
			zones: []zone{{"local-1a", "subnet-0a1"}, {"local-1b", "subnet-0a2"}}},
		{name: "subnet mappings", lb: "front", in: map[string]any{"SubnetMappings": []any{map[string]any{"SubnetId": "subnet-0a2"}}, "IpAddressType": "ipv4"},
			zones: []zone{{"local-1b", "subnet-0a2"}}},
		{name: "a default subnet of the default VPC", lb: "plain", in: map[string]any{"Subnets": []any{"subnet-local-1b"}},
			zones: []zone{{"local-1b", "subnet-local-1b"}}},
		{name: "unknown load balancer", lb: "gone", in: map[string]any{"Subnets": []any{"subnet-0a1"}}, code: "LoadBalancerNotFound"},
		{name: "unknown subnet", lb: "front", in: map[string]any{"Subnets": []any{"subnet-0a1", "subnet-0ffffffff"}}, code: "SubnetNotFound"},
		{name: "two subnets in one zone", lb: "front", in: map[string]any{"Subnets": []any{"subnet-0a2", "subnet-0a3"}}, code: "InvalidConfigurationRequest"},
		{name: "subnets of two VPCs", lb: "front", in: map[string]any{"Subnets": []any{"subnet-0a1", "subnet-0b1"}}, code: "InvalidConfigurationRequest"},
		{name: "a subnet of another VPC", lb: "front", in: map[string]any{"Subnets": []any{"subnet-0b1"}}, code: "InvalidConfigurationRequest"},
		{name: "a default subnet for a created VPC's load balancer", lb: "front", in: map[string]any{"Subnets": []any{"subnet-local-1a"}}, code: "InvalidConfigurationRequest"},
		{name: "a created subnet for the default VPC's load balancer", lb: "plain", in: map[string]any{"Subnets": []any{"subnet-0a1"}}, code: "InvalidConfigurationRequest"},
		{name: "no subnets", lb: "front", in: map[string]any{}, code: "ValidationError"},
		{name: "subnets and mappings", lb: "front", in: map[string]any{"Subnets": []any{"subnet-0a1"},
			"SubnetMappings": []any{map[string]any{"SubnetId": "subnet-0a2"}}}, code: "ValidationError"},
		{name: "dual stack", lb: "front", in: map[string]any{"Subnets": []any{"subnet-0a1"}, "IpAddressType": "dualstack"}, code: "InvalidConfigurationRequest"},
		{name: "a stack's load balancer", lb: "stacked", in: map[string]any{"Subnets": []any{"subnet-0a2"}}, code: "OperationNotPermitted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := placedLBs()
			call := newNetService(t, m)
			before := lbNamed(m, "front")
			was := snapshot(t, m)
			tc.in["LoadBalancerArn"] = "arn:lb/" + tc.lb
			out, err := call("SetSubnets", tc.in)
			if got := errCode(err); got != tc.code {
				t.Fatalf("error %q (%v), want %q", got, err, tc.code)
			}
			if tc.code != "" {
				if now := snapshot(t, m); now != was {
					t.Errorf("a refused SetSubnets changed the load balancers:\nbefore %s\nafter  %s", was, now)
				}
				return
			}
			encodes(t, "SetSubnets", out)
			if out["IpAddressType"] != "ipv4" {
				t.Errorf("IpAddressType %v, want ipv4", out["IpAddressType"])
			}
			desc, err := call("DescribeLoadBalancers", map[string]any{"LoadBalancerArns": []any{"arn:lb/" + tc.lb}})
			if err != nil {
				t.Fatal(err)
			}
			for what, azs := range map[string]any{"answer": out["AvailabilityZones"], "DescribeLoadBalancers": desc["LoadBalancers"].([]any)[0].(map[string]any)["AvailabilityZones"]} {
				var zones []zone
				for _, z := range azs.([]any) {
					z := z.(map[string]any)
					zones = append(zones, zone{z["ZoneName"].(string), z["SubnetId"].(string)})
				}
				if !slices.Equal(zones, tc.zones) {
					t.Errorf("%s: AvailabilityZones %v, want %v", what, zones, tc.zones)
				}
			}
			after := lbNamed(m, tc.lb)
			if len(after.Spec.Subnets) != len(tc.zones) {
				t.Errorf("stored subnets %v, want %d", after.Spec.Subnets, len(tc.zones))
			}
			if tc.lb == "front" {
				before.Spec.Subnets, after.Spec.Subnets = nil, nil
				if b, a := mustJSON(t, before), mustJSON(t, after); b != a {
					t.Errorf("SetSubnets changed more than the subnets:\nbefore %s\nafter  %s", b, a)
				}
			}
		})
	}
}

// SetSecurityGroups replaces a load balancer's groups with others of its
// VPC; refused, it changes nothing.
func TestSetSecurityGroups(t *testing.T) {
	cases := []struct {
		name, lb string
		in       map[string]any
		code     string
		want     []string
		stored   []string
	}{
		{name: "a group of its VPC", lb: "front", in: map[string]any{"SecurityGroups": []any{"sg-0a"}}, want: []string{"sg-0a"}, stored: []string{"sg-0a"}},
		{name: "its VPC's default group and a repeat", lb: "front", in: map[string]any{"SecurityGroups": []any{"sg-default-" + createdVpc, "sg-0a", "sg-0a"}},
			want: []string{"sg-default-" + createdVpc, "sg-0a"}, stored: []string{"sg-default-" + createdVpc, "sg-0a"}},
		{name: "none: the VPC's default group", lb: "front", in: map[string]any{"SecurityGroups": []any{}}, want: []string{"sg-default-" + createdVpc}},
		{name: "the default VPC's default group", lb: "plain", in: map[string]any{"SecurityGroups": []any{"sg-default-" + defaultVpc}},
			want: []string{"sg-default-" + defaultVpc}, stored: []string{"sg-default-" + defaultVpc}},
		{name: "unknown load balancer", lb: "gone", in: map[string]any{"SecurityGroups": []any{"sg-0a"}}, code: "LoadBalancerNotFound"},
		{name: "unknown group", lb: "front", in: map[string]any{"SecurityGroups": []any{"sg-0a", "sg-0fff"}}, code: "InvalidSecurityGroup"},
		{name: "a group of another VPC", lb: "front", in: map[string]any{"SecurityGroups": []any{"sg-0b"}}, code: "InvalidSecurityGroup"},
		{name: "a created VPC's group for the default VPC's load balancer", lb: "plain", in: map[string]any{"SecurityGroups": []any{"sg-0a"}}, code: "InvalidSecurityGroup"},
		{name: "PrivateLink enforcement", lb: "front", in: map[string]any{"SecurityGroups": []any{"sg-0a"},
			"EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic": "on"}, code: "InvalidConfigurationRequest"},
		{name: "a stack's load balancer", lb: "stacked", in: map[string]any{"SecurityGroups": []any{"sg-0a"}}, code: "OperationNotPermitted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := placedLBs()
			call := newNetService(t, m)
			was := snapshot(t, m)
			tc.in["LoadBalancerArn"] = "arn:lb/" + tc.lb
			out, err := call("SetSecurityGroups", tc.in)
			if got := errCode(err); got != tc.code {
				t.Fatalf("error %q (%v), want %q", got, err, tc.code)
			}
			if tc.code != "" {
				if now := snapshot(t, m); now != was {
					t.Errorf("a refused SetSecurityGroups changed the load balancers:\nbefore %s\nafter  %s", was, now)
				}
				return
			}
			encodes(t, "SetSecurityGroups", out)
			desc, err := call("DescribeLoadBalancers", map[string]any{"LoadBalancerArns": []any{"arn:lb/" + tc.lb}})
			if err != nil {
				t.Fatal(err)
			}
			for what, gs := range map[string]any{"answer": out["SecurityGroupIds"], "DescribeLoadBalancers": desc["LoadBalancers"].([]any)[0].(map[string]any)["SecurityGroups"]} {
				var groups []string
				for _, g := range gs.([]any) {
					groups = append(groups, g.(string))
				}
				if !slices.Equal(groups, tc.want) {
					t.Errorf("%s: groups %v, want %v", what, groups, tc.want)
				}
			}
			after := lbNamed(m, tc.lb)
			if !slices.Equal(after.Spec.SecurityGroups, tc.stored) {
				t.Errorf("stored groups %v, want %v", after.Spec.SecurityGroups, tc.stored)
			}
			if tc.lb == "front" && (len(after.Spec.Listeners) != 1 || len(after.Spec.Subnets) != 1) {
				t.Errorf("SetSecurityGroups changed the listeners or subnets: %+v", after.Spec)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
