package ec2

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/state"
)

// lbFixture is a VPC with two subnets and a group, a target group in the
// VPC, and a load balancer on the first subnet with the group, stored as
// the ELBv2 service stores them.
type lbFixture struct {
	*netFixture
	vpc, used, free, group string
}

func newLBFixture(t *testing.T, targetGroup, loadBalancer bool) *lbFixture {
	t.Helper()
	f := newNetService(t)
	lf := &lbFixture{netFixture: f}
	lf.vpc = f.vpc(t, "10.0.0.0/16")
	lf.used = f.subnet(t, lf.vpc, "10.0.1.0/24", "local-1a")
	lf.free = f.subnet(t, lf.vpc, "10.0.2.0/24", "local-1b")
	lf.group = f.group(t, lf.vpc, "web")
	ctx := context.Background()
	if targetGroup {
		if _, err := lf.res.PutResource(ctx, elbctl.KindTargetGroup, &elb.TargetGroupSpec{Name: "tg", Protocol: "HTTP", Port: 80, Vpc: lf.vpc}); err != nil {
			t.Fatal(err)
		}
	}
	if loadBalancer {
		spec := &elb.LoadBalancerSpec{Name: "front", Type: "application", Vpc: lf.vpc,
			Subnets: []elb.SubnetMapping{{Subnet: lf.used, AvailabilityZone: "local-1a"}}, SecurityGroups: []string{lf.group}}
		if _, err := lf.res.PutResource(ctx, elbctl.KindLoadBalancer, spec); err != nil {
			t.Fatal(err)
		}
	}
	return lf
}

// stored is every record of the store, by key.
func stored(t *testing.T, st state.Store) map[string]string {
	t.Helper()
	kvs, _, err := st.List(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range kvs {
		out[kv.Key] = string(kv.Value)
	}
	return out
}

// A VPC of a target group or load balancer, a subnet of a load balancer
// and a group a load balancer has are not deleted: DependencyViolation
// names the users, and nothing changes. What no load balancer uses goes.
func TestDeleteInUseByLoadBalancing(t *testing.T) {
	cases := []struct {
		name                      string
		targetGroup, loadBalancer bool
		op                        string
		in                        func(*lbFixture) map[string]any
		want                      []string // in the refusal; none: deleted
	}{
		{name: "the VPC of a target group", targetGroup: true, op: "DeleteVpc",
			in:   func(f *lbFixture) map[string]any { return map[string]any{"VpcId": f.vpc} },
			want: []string{"has dependencies and cannot be deleted", `target group "tg"`}},
		{name: "the VPC of a load balancer", loadBalancer: true, op: "DeleteVpc",
			in:   func(f *lbFixture) map[string]any { return map[string]any{"VpcId": f.vpc} },
			want: []string{"has dependencies and cannot be deleted", `load balancer "front"`, `subnet "`}},
		{name: "the subnet of a load balancer", loadBalancer: true, op: "DeleteSubnet",
			in:   func(f *lbFixture) map[string]any { return map[string]any{"SubnetId": f.used} },
			want: []string{"has dependencies and cannot be deleted", `load balancer "front"`}},
		{name: "the group of a load balancer", loadBalancer: true, op: "DeleteSecurityGroup",
			in:   func(f *lbFixture) map[string]any { return map[string]any{"GroupId": f.group} },
			want: []string{"has a dependent object", `load balancer "front"`}},
		{name: "a subnet no load balancer uses", targetGroup: true, loadBalancer: true, op: "DeleteSubnet",
			in: func(f *lbFixture) map[string]any { return map[string]any{"SubnetId": f.free} }},
		{name: "a target group holds no subnet", targetGroup: true, op: "DeleteSubnet",
			in: func(f *lbFixture) map[string]any { return map[string]any{"SubnetId": f.used} }},
		{name: "a target group holds no group", targetGroup: true, op: "DeleteSecurityGroup",
			in: func(f *lbFixture) map[string]any { return map[string]any{"GroupId": f.group} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newLBFixture(t, c.targetGroup, c.loadBalancer)
			before := stored(t, f.res.st)
			_, err := f.call(t, c.op, c.in(f))
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("%s: %v, want it deleted", c.op, err)
				}
				if after := stored(t, f.res.st); len(after) != len(before)-1 {
					t.Fatalf("%s deleted %d records, want 1", c.op, len(before)-len(after))
				}
				return
			}
			if got := codeOf(err); got != "DependencyViolation" {
				t.Fatalf("%s: %v (%s), want DependencyViolation", c.op, err, got)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q does not say %q", err, w)
				}
			}
			if after := stored(t, f.res.st); !maps.Equal(before, after) {
				t.Errorf("a refused %s changed the store:\nbefore %v\nafter  %v", c.op, before, after)
			}
		})
	}
}

// Once the load balancer and the target group are gone, the group, the
// subnets and the VPC are deleted.
func TestDeleteAfterLoadBalancing(t *testing.T) {
	f := newLBFixture(t, true, true)
	ctx := context.Background()
	for _, k := range []string{elbctl.KindLoadBalancer, elbctl.KindTargetGroup} {
		name := map[string]string{elbctl.KindLoadBalancer: "front", elbctl.KindTargetGroup: "tg"}[k]
		if err := f.res.DeleteResource(ctx, k, name); err != nil {
			t.Fatalf("delete %s %s: %v", k, name, err)
		}
	}
	f.do(t, "DeleteSecurityGroup", map[string]any{"GroupId": f.group})
	f.do(t, "DeleteSubnet", map[string]any{"SubnetId": f.used})
	f.do(t, "DeleteSubnet", map[string]any{"SubnetId": f.free})
	f.do(t, "DeleteVpc", map[string]any{"VpcId": f.vpc})
	if left := stored(t, f.res.st); len(left) != 0 {
		t.Fatalf("left in the store: %v", left)
	}
}
