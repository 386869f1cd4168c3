package network

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/state"
)

func paths(errs fielderr.List) string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Path)
	}
	return strings.Join(out, ",")
}

func TestValidate(t *testing.T) {
	web := func(mod func(*SecurityGroupSpec)) *SecurityGroupSpec {
		g := &SecurityGroupSpec{Name: "sg-0123456789abcdef0", GroupName: "web", Description: "web tier", Vpc: "vpc-0123456789abcdef0",
			Ingress: []Rule{{Protocol: "tcp", FromPort: 80, ToPort: 80, CidrIPv4: "0.0.0.0/0"}}}
		if mod != nil {
			mod(g)
		}
		g.Defaults()
		return g
	}
	cases := []struct {
		name  string
		check func() fielderr.List
		want  string // the paths of the problems, comma-separated
	}{
		{"good VPC", (&VpcSpec{Name: "vpc-0a1b2c3d", CidrBlock: "10.0.0.0/16"}).Validate, ""},
		{"VPC id of another kind", (&VpcSpec{Name: "subnet-0a1b2c3d", CidrBlock: "10.0.0.0/16"}).Validate, "name"},
		{"VPC block too wide", (&VpcSpec{Name: "vpc-0a1b2c3d", CidrBlock: "10.0.0.0/8"}).Validate, "cidrBlock"},
		{"VPC block not a network address", (&VpcSpec{Name: "vpc-0a1b2c3d", CidrBlock: "10.0.0.1/16"}).Validate, "cidrBlock"},
		{"VPC without block", (&VpcSpec{Name: "vpc-0a1b2c3d"}).Validate, "cidrBlock"},
		{"VPC tag reserved", (&VpcSpec{Name: "vpc-0a1b2c3d", CidrBlock: "10.0.0.0/16", Tags: map[string]string{"aws:x": "y"}}).Validate, "tags.aws:x"},
		{"good subnet", (&SubnetSpec{Name: "subnet-0a1b2c3d", Vpc: "vpc-0a1b2c3d", AvailabilityZone: "local-1b", CidrBlock: "10.0.1.0/24"}).Validate, ""},
		{"subnet without VPC", (&SubnetSpec{Name: "subnet-0a1b2c3d", AvailabilityZone: "local-1b", CidrBlock: "10.0.1.0/24"}).Validate, "vpc"},
		{"subnet in unknown zone", (&SubnetSpec{Name: "subnet-0a1b2c3d", Vpc: "vpc-0a1b2c3d", AvailabilityZone: "us-east-1a", CidrBlock: "10.0.1.0/24"}).Validate, "availabilityZone"},
		{"good group", web(nil).Validate, ""},
		{"group named default", web(func(g *SecurityGroupSpec) { g.GroupName = "Default" }).Validate, "groupName"},
		{"group without name", web(func(g *SecurityGroupSpec) { g.GroupName = "" }).Validate, "groupName"},
		{"rule port out of range", web(func(g *SecurityGroupSpec) { g.Ingress[0].ToPort = 70000 }).Validate, "ingress[0].toPort"},
		{"rule range backwards", web(func(g *SecurityGroupSpec) { g.Ingress[0].FromPort = 90 }).Validate, "ingress[0].toPort"},
		{"rule without peer", web(func(g *SecurityGroupSpec) { g.Ingress[0].CidrIPv4 = "" }).Validate, "ingress[0]"},
		{"rule with two peers", web(func(g *SecurityGroupSpec) { g.Ingress[0].SourceGroup = "sg-0a1b2c3d" }).Validate, "ingress[0]"},
		{"rule of unknown protocol", web(func(g *SecurityGroupSpec) { g.Ingress[0].Protocol = "sctp" }).Validate, "ingress[0].protocol"},
		{"rule by protocol number", web(func(g *SecurityGroupSpec) { g.Ingress[0].Protocol = "132" }).Validate, ""},
		{"rule twice", web(func(g *SecurityGroupSpec) { g.Ingress = append(g.Ingress, g.Ingress[0]) }).Validate, "ingress[1]"},
		{"egress rule bad block", web(func(g *SecurityGroupSpec) { g.Egress = []Rule{{Protocol: "-1", CidrIPv4: "::/0"}} }).Validate, "egress[0].cidrIpv4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := c.check()
			if got := paths(errs); got != c.want {
				t.Fatalf("problems at %q, want %q: %v", got, c.want, errs)
			}
		})
	}
}

func TestGroupDefaults(t *testing.T) {
	cases := []struct {
		name   string
		egress []Rule
		want   int
	}{
		{"left out: AWS's allow-all", nil, 1},
		{"empty: none", []Rule{}, 0},
		{"given: as given", []Rule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CidrIPv4: "0.0.0.0/0"}}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := SecurityGroupSpec{Egress: c.egress}
			g.Defaults()
			if len(g.Egress) != c.want {
				t.Fatalf("egress = %v, want %d rules", g.Egress, c.want)
			}
			// The default survives a round trip through the store unchanged,
			// and so does an emptied list.
			b, _ := json.Marshal(g)
			var back SecurityGroupSpec
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			back.Defaults()
			if len(back.Egress) != c.want {
				t.Fatalf("after a round trip egress = %v, want %d rules", back.Egress, c.want)
			}
		})
	}
}

func TestRuleNormalizeAndKey(t *testing.T) {
	cases := []struct {
		name string
		a, b Rule
		same bool
	}{
		{"protocol number and name", Rule{Protocol: "6", FromPort: 22, ToPort: 22, CidrIPv4: "10.0.0.0/8"}, Rule{Protocol: "TCP", FromPort: 22, ToPort: 22, CidrIPv4: "10.0.0.0/8"}, true},
		{"all traffic ignores ports", Rule{Protocol: "all", FromPort: 0, ToPort: 65535, CidrIPv4: "0.0.0.0/0"}, AllTraffic, true},
		{"description is not identity", Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, CidrIPv4: "0.0.0.0/0", Description: "x"}, Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, CidrIPv4: "0.0.0.0/0"}, true},
		{"ports differ", Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, CidrIPv4: "0.0.0.0/0"}, Rule{Protocol: "tcp", FromPort: 81, ToPort: 81, CidrIPv4: "0.0.0.0/0"}, false},
		{"peers differ", Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, CidrIPv4: "0.0.0.0/0"}, Rule{Protocol: "tcp", FromPort: 80, ToPort: 80, SourceGroup: "sg-0a1b2c3d"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.a.Normalize()
			c.b.Normalize()
			if got := c.a.Key() == c.b.Key(); got != c.same {
				t.Fatalf("%s vs %s: same = %v, want %v", c.a.Key(), c.b.Key(), got, c.same)
			}
			if got := c.a.ID("sg-1", false) == c.b.ID("sg-1", false); got != c.same {
				t.Fatalf("rule ids equal = %v, want %v", got, c.same)
			}
		})
	}
	if AllTraffic.ID("sg-1", false) == AllTraffic.ID("sg-1", true) {
		t.Fatal("an ingress and an egress rule share an id")
	}
}

func TestTogether(t *testing.T) {
	subnets := []SubnetSpec{
		{Name: "subnet-0000000a", Vpc: "vpc-0000000a", CidrBlock: "10.0.0.0/24"},
		{Name: "subnet-0000000b", Vpc: "vpc-0000000b", CidrBlock: "10.0.0.0/24"},
		{Name: "subnet-0000000c", Vpc: "vpc-0000000a", CidrBlock: "10.0.0.128/25"},
	}
	if got := paths(subnetConflicts(subnets)); got != "[2].cidrBlock" {
		t.Fatalf("subnet conflicts at %q, want [2].cidrBlock", got)
	}
	groups := []SecurityGroupSpec{
		{Name: "sg-0000000a", GroupName: "web"}, {Name: "sg-0000000b", GroupName: "web", Vpc: "vpc-0000000a"}, {Name: "sg-0000000c", GroupName: "WEB"},
	}
	if got := paths(groupNameClashes(groups)); got != "[2].groupName" {
		t.Fatalf("name clashes at %q, want [2].groupName", got)
	}
}

func TestAddressesAndBlocks(t *testing.T) {
	cases := []struct {
		block string
		want  int64
	}{{"10.0.0.0/16", 65531}, {"10.0.1.0/24", 251}, {"10.0.1.0/28", 11}}
	for _, c := range cases {
		p, err := ParseBlock(c.block)
		if err != nil {
			t.Fatal(err)
		}
		if got := Addresses(p); got != c.want {
			t.Errorf("Addresses(%s) = %d, want %d", c.block, got, c.want)
		}
	}
	outer, _ := ParseBlock("10.0.0.0/16")
	for _, c := range []struct {
		block string
		in    bool
	}{{"10.0.1.0/24", true}, {"10.0.0.0/16", true}, {"10.0.0.0/15", false}, {"10.1.0.0/24", false}} {
		p, _ := ParseBlock(c.block)
		if Within(p, outer) != c.in {
			t.Errorf("Within(%s, %s) = %v", c.block, outer, !c.in)
		}
	}
	if id := NewID("sg"); !ValidID("sg", id) || ValidID("vpc", id) {
		t.Fatalf("NewID(sg) = %s", id)
	}
}

// Records survive in the store and load back, in id order.
func TestStoreLoad(t *testing.T) {
	ctx := context.Background()
	st := state.NewMemory()
	put := func(key string, v any) {
		b, _ := json.Marshal(v)
		if _, err := st.Txn(ctx, nil, []state.Op{state.Put(key, b)}); err != nil {
			t.Fatal(err)
		}
	}
	put(VpcPrefix+"vpc-0000000a", Vpc{Spec: VpcSpec{Name: "vpc-0000000a", CidrBlock: "10.0.0.0/16"}})
	put(SubnetPrefix+"subnet-0000000a", Subnet{Spec: SubnetSpec{Name: "subnet-0000000a", Vpc: "vpc-0000000a", AvailabilityZone: "local-1b", CidrBlock: "10.0.1.0/24"}})
	put(SecurityGroupPrefix+"sg-0000000a", SecurityGroup{Spec: SecurityGroupSpec{Name: "sg-0000000a", GroupName: "web", Vpc: "vpc-0000000a"}})
	put(SecurityGroupPrefix+"sg-0000000b", SecurityGroup{Spec: SecurityGroupSpec{Name: "sg-0000000b", GroupName: "lb", Vpc: "vpc-0000000a",
		Ingress: []Rule{{Protocol: "tcp", FromPort: 80, ToPort: 80, SourceGroup: "sg-0000000a"}}}})
	set, err := Store{State: st}.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := set.Vpc("vpc-0000000a"); !ok || len(set.SubnetsOf("vpc-0000000a")) != 1 || len(set.GroupsOf("vpc-0000000a")) != 2 {
		t.Fatalf("set = %+v", set)
	}
	if g, ok := set.GroupNamed("vpc-0000000a", "WEB"); !ok || g.Spec.Name != "sg-0000000a" {
		t.Fatalf("GroupNamed(WEB) = %v, %v", g, ok)
	}
	if got := set.ReferringGroups("sg-0000000a"); len(got) != 1 || got[0] != "sg-0000000b" {
		t.Fatalf("ReferringGroups = %v", got)
	}
}
