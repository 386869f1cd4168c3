package elbv2

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/health"
)

const (
	defaultVpc = "vpc-0123"
	createdVpc = "vpc-0aaaaaaaaaaaaaaaa"
	otherVpc   = "vpc-0bbbbbbbbbbbbbbbb"
)

// fakeNet is a created VPC with two subnets and a group, another VPC with
// one subnet and a group, and instances in each VPC.
type fakeNet struct{}

var netSubnets = []Subnet{
	{ID: "subnet-0a1", Vpc: createdVpc, Zone: "local-1a"},
	{ID: "subnet-0a2", Vpc: createdVpc, Zone: "local-1b"},
	{ID: "subnet-0a3", Vpc: createdVpc, Zone: "local-1b"},
	{ID: "subnet-0b1", Vpc: otherVpc, Zone: "local-1a"},
}

func (fakeNet) Vpc(_ context.Context, id string) (bool, error) {
	return id == createdVpc || id == otherVpc, nil
}
func (fakeNet) Subnet(_ context.Context, id string) (Subnet, bool, error) {
	i := slices.IndexFunc(netSubnets, func(s Subnet) bool { return s.ID == id })
	if i < 0 {
		return Subnet{}, false, nil
	}
	return netSubnets[i], true, nil
}
func (fakeNet) SecurityGroupVpc(_ context.Context, id string) (string, bool, error) {
	switch id {
	case "sg-0a":
		return createdVpc, true, nil
	case "sg-0b":
		return otherVpc, true, nil
	}
	for _, v := range []string{defaultVpc, createdVpc, otherVpc} {
		if id == (fakeNet{}).DefaultSecurityGroup(v) {
			return v, true, nil
		}
	}
	return "", false, nil
}
func (fakeNet) DefaultSecurityGroup(vpc string) string { return "sg-default-" + vpc }
func (fakeNet) InstanceVpc(id string) (string, bool) {
	switch id {
	case "i-0default":
		return defaultVpc, true
	case "i-0created":
		return createdVpc, true
	}
	return "", false
}

// memLB keeps what the fake daemon is given and serves it back.
type memLB struct {
	tgs  []elbctl.TargetGroup
	lbs  []elbctl.LoadBalancer
	regs []elbctl.Registration
}

func (m *memLB) TargetGroups() []elbctl.TargetGroup           { return slices.Clone(m.tgs) }
func (m *memLB) LoadBalancers() []elbctl.LoadBalancer         { return slices.Clone(m.lbs) }
func (m *memLB) Health(string) ([]health.TargetHealth, error) { return nil, nil }
func (m *memLB) Register(_ context.Context, regs []elbctl.Registration) error {
	m.regs = append(m.regs, regs...)
	return nil
}
func (m *memLB) Deregister(context.Context, string, []string) error { return nil }

// PutResource creates a resource or replaces the one of its name.
func (m *memLB) PutResource(_ context.Context, kind string, spec any) ([]string, error) {
	switch sp := spec.(type) {
	case *elb.TargetGroupSpec:
		if i := slices.IndexFunc(m.tgs, func(tg elbctl.TargetGroup) bool { return tg.Spec.Name == sp.Name }); i >= 0 {
			m.tgs[i].Spec = *sp
			return nil, nil
		}
		m.tgs = append(m.tgs, elbctl.TargetGroup{Spec: *sp, ARN: "arn:tg/" + sp.Name})
	case *elb.LoadBalancerSpec:
		if i := slices.IndexFunc(m.lbs, func(lb elbctl.LoadBalancer) bool { return lb.Spec.Name == sp.Name }); i >= 0 {
			m.lbs[i].Spec = *sp
			return nil, nil
		}
		m.lbs = append(m.lbs, elbctl.LoadBalancer{Spec: *sp, ARN: "arn:lb/" + sp.Name})
	default:
		return nil, errors.New("unexpected kind " + kind)
	}
	return nil, nil
}
func (m *memLB) DeleteResource(context.Context, string, string) error { return nil }

func newNetService(t *testing.T, m *memLB) func(op string, in map[string]any) (map[string]any, error) {
	t.Helper()
	svc, err := New(Options{LoadBalancing: m, Resources: m, VpcID: defaultVpc, Zones: []string{"local-1a", "local-1b"},
		SubnetOf: func(z string) string { return "subnet-" + z }, Network: fakeNet{}})
	if err != nil {
		t.Fatal(err)
	}
	return func(op string, in map[string]any) (map[string]any, error) { return callOp(svc, op, in) }
}

func errCode(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestCreateTargetGroupVpc(t *testing.T) {
	cases := []struct {
		name, vpc, code, want string
		specVpc               string
	}{
		{name: "none is the default VPC", want: defaultVpc},
		{name: "the default VPC", vpc: defaultVpc, want: defaultVpc},
		{name: "a created VPC", vpc: createdVpc, want: createdVpc, specVpc: createdVpc},
		{name: "an unknown VPC", vpc: "vpc-0ccccccccccccccc0", code: "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &memLB{}
			call := newNetService(t, m)
			in := map[string]any{"Name": "web", "Protocol": "HTTP", "Port": int64(80)}
			if tc.vpc != "" {
				in["VpcId"] = tc.vpc
			}
			out, err := call("CreateTargetGroup", in)
			if got := errCode(err); got != tc.code {
				t.Fatalf("error %q, want %q", got, tc.code)
			}
			if tc.code != "" {
				if len(m.tgs) != 0 {
					t.Errorf("refused create wrote %d target groups", len(m.tgs))
				}
				return
			}
			if got := out["TargetGroups"].([]any)[0].(map[string]any)["VpcId"]; got != tc.want {
				t.Errorf("VpcId %v, want %s", got, tc.want)
			}
			if m.tgs[0].Spec.Vpc != tc.specVpc {
				t.Errorf("spec vpc %q, want %q", m.tgs[0].Spec.Vpc, tc.specVpc)
			}
			desc, err := call("DescribeTargetGroups", map[string]any{})
			if err != nil {
				t.Fatal(err)
			}
			if got := desc["TargetGroups"].([]any)[0].(map[string]any)["VpcId"]; got != tc.want {
				t.Errorf("DescribeTargetGroups VpcId %v, want %s", got, tc.want)
			}
		})
	}
}

func TestRegisterTargetsVpc(t *testing.T) {
	cases := []struct {
		name, vpc string
		ids       []string
		code      string
	}{
		{name: "default VPC instance, default VPC group", ids: []string{"i-0default"}},
		{name: "created VPC instance, created VPC group", vpc: createdVpc, ids: []string{"i-0created"}},
		{name: "default VPC instance, created VPC group", vpc: createdVpc, ids: []string{"i-0default"}, code: "InvalidTarget"},
		{name: "one of two in another VPC", ids: []string{"i-0default", "i-0created"}, code: "InvalidTarget"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &memLB{tgs: []elbctl.TargetGroup{{ARN: "arn:tg/web", Spec: elb.TargetGroupSpec{Name: "web", Vpc: tc.vpc}}}}
			call := newNetService(t, m)
			var targets []any
			for _, id := range tc.ids {
				targets = append(targets, map[string]any{"Id": id})
			}
			_, err := call("RegisterTargets", map[string]any{"TargetGroupArn": "arn:tg/web", "Targets": targets})
			if got := errCode(err); got != tc.code {
				t.Fatalf("error %q, want %q", got, tc.code)
			}
			if tc.code != "" && len(m.regs) != 0 {
				t.Errorf("refused registration registered %d targets", len(m.regs))
			}
		})
	}
}

func TestCreateLoadBalancerSubnets(t *testing.T) {
	type zone struct{ zone, subnet string }
	cases := []struct {
		name     string
		in       map[string]any
		code     string
		vpc      string
		zones    []zone
		groups   []string
		specSubs int
	}{
		{name: "no subnets: default subnets of every zone", in: map[string]any{}, vpc: defaultVpc,
			zones: []zone{{"local-1a", "subnet-local-1a"}, {"local-1b", "subnet-local-1b"}}, groups: []string{"sg-default-" + defaultVpc}},
		{name: "created subnets", in: map[string]any{"Subnets": []any{"subnet-0a1", "subnet-0a2"}}, vpc: createdVpc,
			zones: []zone{{"local-1a", "subnet-0a1"}, {"local-1b", "subnet-0a2"}}, groups: []string{"sg-default-" + createdVpc}, specSubs: 2},
		{name: "subnet mappings and a group", in: map[string]any{"SubnetMappings": []any{map[string]any{"SubnetId": "subnet-0a2"}},
			"SecurityGroups": []any{"sg-0a"}}, vpc: createdVpc, zones: []zone{{"local-1b", "subnet-0a2"}}, groups: []string{"sg-0a"}, specSubs: 1},
		{name: "a default subnet", in: map[string]any{"Subnets": []any{"subnet-local-1b"}}, vpc: defaultVpc,
			zones: []zone{{"local-1b", "subnet-local-1b"}}, groups: []string{"sg-default-" + defaultVpc}, specSubs: 1},
		{name: "unknown subnet", in: map[string]any{"Subnets": []any{"subnet-0ffffffff"}}, code: "SubnetNotFound"},
		{name: "two VPCs", in: map[string]any{"Subnets": []any{"subnet-0a1", "subnet-0b1"}}, code: "InvalidConfigurationRequest"},
		{name: "two subnets in one zone", in: map[string]any{"Subnets": []any{"subnet-0a2", "subnet-0a3"}}, code: "InvalidConfigurationRequest"},
		{name: "subnets and mappings", in: map[string]any{"Subnets": []any{"subnet-0a1"},
			"SubnetMappings": []any{map[string]any{"SubnetId": "subnet-0a2"}}}, code: "ValidationError"},
		{name: "unknown group", in: map[string]any{"Subnets": []any{"subnet-0a1"}, "SecurityGroups": []any{"sg-0fff"}}, code: "InvalidSecurityGroup"},
		{name: "group of another VPC", in: map[string]any{"Subnets": []any{"subnet-0a1"}, "SecurityGroups": []any{"sg-0b"}}, code: "InvalidSecurityGroup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &memLB{}
			call := newNetService(t, m)
			tc.in["Name"] = "front"
			out, err := call("CreateLoadBalancer", tc.in)
			if got := errCode(err); got != tc.code {
				t.Fatalf("error %q, want %q", got, tc.code)
			}
			if tc.code != "" {
				if len(m.lbs) != 0 {
					t.Errorf("refused create wrote %d load balancers", len(m.lbs))
				}
				return
			}
			if n := len(m.lbs[0].Spec.Subnets); n != tc.specSubs {
				t.Errorf("spec has %d subnets, want %d", n, tc.specSubs)
			}
			for _, o := range []map[string]any{out, mustCall(t, call, "DescribeLoadBalancers")} {
				lb := o["LoadBalancers"].([]any)[0].(map[string]any)
				if lb["VpcId"] != tc.vpc {
					t.Errorf("VpcId %v, want %s", lb["VpcId"], tc.vpc)
				}
				var zones []zone
				for _, z := range lb["AvailabilityZones"].([]any) {
					z := z.(map[string]any)
					zones = append(zones, zone{z["ZoneName"].(string), z["SubnetId"].(string)})
				}
				if !slices.Equal(zones, tc.zones) {
					t.Errorf("AvailabilityZones %v, want %v", zones, tc.zones)
				}
				var groups []string
				for _, g := range lb["SecurityGroups"].([]any) {
					groups = append(groups, g.(string))
				}
				if !slices.Equal(groups, tc.groups) {
					t.Errorf("SecurityGroups %v, want %v", groups, tc.groups)
				}
			}
		})
	}
}

func mustCall(t *testing.T, call func(string, map[string]any) (map[string]any, error), op string) map[string]any {
	t.Helper()
	out, err := call(op, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
