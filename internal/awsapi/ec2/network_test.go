package ec2

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/network"
	"github.com/madang-dev/madang/internal/state"
)

// storeResources stores resources as the daemon does (defaults,
// validation, build), in a memory store that network.Store reads.
type storeResources struct {
	st    state.Store
	kinds map[string]kind.Kind
}

func newStoreResources() *storeResources {
	r := &storeResources{st: state.NewMemory(), kinds: map[string]kind.Kind{}}
	for _, k := range []kind.Kind{network.VpcKind(), network.SubnetKind(), network.SecurityGroupKind(),
		elbctl.TargetGroupKind(), elbctl.LoadBalancerKind()} {
		r.kinds[k.Info().Name] = k
	}
	return r
}

func (r *storeResources) PutResource(ctx context.Context, kindName string, spec any) ([]string, error) {
	k := r.kinds[kindName]
	if errs, _ := k.Check(spec, ""); len(errs) > 0 {
		return nil, fault.Wrap(fault.Invalid, kindName, k.Name(spec), errs.Err())
	}
	var old any
	if kv, err := r.st.Get(ctx, kind.Key(k, k.Name(spec))); err == nil {
		if old, err = k.Decode(kv.Value); err != nil {
			return nil, err
		}
	}
	rec, _, err := k.Build(ctx, kind.Env{Now: time.Now}, spec, "", old)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(rec)
	_, err = r.st.Txn(ctx, nil, []state.Op{state.Put(kind.Key(k, k.Name(spec)), b)})
	return nil, err
}

// DeleteResource refuses, as the daemon does, a resource another stored
// one refers to, with an InUse fault naming the referrers.
func (r *storeResources) DeleteResource(ctx context.Context, kindName, name string) error {
	var users []string
	for _, k := range slices.SortedFunc(maps.Values(r.kinds), func(a, b kind.Kind) int { return strings.Compare(a.Info().Name, b.Info().Name) }) {
		kvs, _, err := r.st.List(ctx, k.Info().Prefix)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			rec, err := k.Decode(kv.Value)
			if err != nil {
				return err
			}
			spec, _ := k.Spec(rec)
			_, refs := k.Check(spec, "")
			if slices.ContainsFunc(refs, func(ref kind.Ref) bool { return ref.Kind == kindName && ref.Name == name }) {
				users = append(users, k.Info().Title+" "+strconv.Quote(k.Name(spec)))
			}
		}
	}
	if len(users) > 0 {
		return fault.InUsef(kindName, name, "%s %q is used by %s", r.kinds[kindName].Info().Title, name, strings.Join(users, ", "))
	}
	_, err := r.st.Txn(ctx, nil, []state.Op{state.Delete(kind.Key(r.kinds[kindName], name))})
	return err
}

// runCompute records RunInstances' requests and lists what they made.
type runCompute struct {
	fakeCompute
	n int
}

func (c *runCompute) Run(_ context.Context, req compute.RunRequest) ([]compute.Instance, error) {
	var out []compute.Instance
	for range req.Count {
		c.n++
		in := compute.Instance{ID: fmt.Sprintf("i-0%016x", c.n), Image: "app", InstanceType: "t3.micro", State: compute.StatePending,
			PrivateIP: fmt.Sprintf("127.16.0.%d", c.n+1), Zone: req.Zone, Network: req.Network}
		c.views = append(c.views, compute.View{Instance: in})
		out = append(out, in)
	}
	return out, nil
}

type netFixture struct {
	svc    awsapi.Service
	comp   *runCompute
	events *event.Log
	res    *storeResources
}

func newNetService(t *testing.T) *netFixture {
	t.Helper()
	res := newStoreResources()
	comp := &runCompute{}
	events := event.New(64, nil)
	svc, err := New(Options{Compute: comp, Resources: res, Network: network.Store{State: res.st}, Events: events,
		Region: "local", AccountID: "000000000000", Zones: []string{"local-1a", "local-1b", "local-1c"}})
	if err != nil {
		t.Fatal(err)
	}
	return &netFixture{svc: svc, comp: comp, events: events, res: res}
}

// call runs an operation and encodes its answer as EC2's XML, so that a
// member the operation's output shape lacks fails the test.
func (f *netFixture) call(t *testing.T, op string, in map[string]any) (map[string]any, error) {
	t.Helper()
	out, err := call(t, f.svc, op, in)
	if err != nil {
		return nil, err
	}
	if _, err := protocol.NewCodec(protocol.EC2, f.svc.Model).EncodeOutput(f.svc.Model.Operation(op), out, "r-1"); err != nil {
		t.Fatalf("%s: encode the answer: %v", op, err)
	}
	return out, nil
}

func (f *netFixture) do(t *testing.T, op string, in map[string]any) map[string]any {
	t.Helper()
	out, err := f.call(t, op, in)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

func (f *netFixture) vpc(t *testing.T, cidr string) string {
	return f.do(t, "CreateVpc", map[string]any{"CidrBlock": cidr})["Vpc"].(map[string]any)["VpcId"].(string)
}

func (f *netFixture) subnet(t *testing.T, vpc, cidr, zone string) string {
	return f.do(t, "CreateSubnet", map[string]any{"VpcId": vpc, "CidrBlock": cidr, "AvailabilityZone": zone})["Subnet"].(map[string]any)["SubnetId"].(string)
}

func (f *netFixture) group(t *testing.T, vpc, name string) string {
	return f.do(t, "CreateSecurityGroup", map[string]any{"VpcId": vpc, "GroupName": name, "Description": "d"})["GroupId"].(string)
}

func codeOf(err error) string {
	if pe, ok := err.(*protocol.Error); ok {
		return pe.Code
	}
	if err != nil {
		return "non-EC2 error: " + err.Error()
	}
	return ""
}

func filt(name string, vals ...any) map[string]any {
	return map[string]any{"Name": name, "Values": vals}
}

func tcp(port int64, cidr string) []any {
	return []any{map[string]any{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": []any{map[string]any{"CidrIp": cidr}}}}
}

func TestVpcsAndSubnets(t *testing.T) {
	f := newNetService(t)
	vpc := f.vpc(t, "10.0.0.0/16")
	other := f.vpc(t, "10.1.0.0/16")
	sn := f.subnet(t, vpc, "10.0.1.0/24", "local-1b")
	f.subnet(t, vpc, "10.0.2.0/24", "local-1a")
	f.subnet(t, other, "10.1.1.0/28", "local-1c")
	count := func(op, member string, in map[string]any) int {
		return len(f.do(t, op, in)[member].([]any))
	}
	cases := []struct {
		name, op, member string
		in               map[string]any
		want             int
	}{
		{"every VPC", "DescribeVpcs", "Vpcs", map[string]any{}, 3},
		{"VPC by id", "DescribeVpcs", "Vpcs", map[string]any{"VpcIds": []any{vpc}}, 1},
		{"default VPC", "DescribeVpcs", "Vpcs", map[string]any{"Filters": []any{filt("is-default", "true")}}, 1},
		{"VPCs by cidr", "DescribeVpcs", "Vpcs", map[string]any{"Filters": []any{filt("cidr", "10.*")}}, 2},
		{"every subnet", "DescribeSubnets", "Subnets", map[string]any{}, 6},
		{"subnets of a VPC", "DescribeSubnets", "Subnets", map[string]any{"Filters": []any{filt("vpc-id", vpc)}}, 2},
		{"subnets of a zone", "DescribeSubnets", "Subnets", map[string]any{"Filters": []any{filt("availability-zone", "local-1b")}}, 2},
		{"default subnets", "DescribeSubnets", "Subnets", map[string]any{"Filters": []any{filt("default-for-az", "true")}}, 3},
		{"created subnets", "DescribeSubnets", "Subnets", map[string]any{"Filters": []any{filt("default-for-az", "false")}}, 3},
		{"subnet by id", "DescribeSubnets", "Subnets", map[string]any{"SubnetIds": []any{sn}}, 1},
		{"subnet by filter id", "DescribeSubnets", "Subnets", map[string]any{"Filters": []any{filt("subnet-id", sn)}}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := count(c.op, c.member, c.in); got != c.want {
				t.Fatalf("%d, want %d", got, c.want)
			}
		})
	}
	got := f.do(t, "DescribeSubnets", map[string]any{"SubnetIds": []any{sn}})["Subnets"].([]any)[0].(map[string]any)
	if got["AvailabilityZone"] != "local-1b" || got["CidrBlock"] != "10.0.1.0/24" || got["VpcId"] != vpc || got["AvailableIpAddressCount"] != int64(251) || got["DefaultForAz"] != false {
		t.Fatalf("subnet = %v", got)
	}
}

func TestNetworkErrors(t *testing.T) {
	f := newNetService(t)
	vpc := f.vpc(t, "10.0.0.0/16")
	f.subnet(t, vpc, "10.0.1.0/24", "local-1a")
	sg := f.group(t, vpc, "web")
	cases := []struct {
		name, op string
		in       map[string]any
		code     string
	}{
		{"VPC netmask too wide", "CreateVpc", map[string]any{"CidrBlock": "10.0.0.0/8"}, "InvalidVpc.Range"},
		{"VPC netmask too narrow", "CreateVpc", map[string]any{"CidrBlock": "10.0.0.0/29"}, "InvalidVpc.Range"},
		{"VPC block malformed", "CreateVpc", map[string]any{"CidrBlock": "10.0.0.300/16"}, "InvalidParameterValue"},
		{"VPC block not a network", "CreateVpc", map[string]any{"CidrBlock": "10.0.0.1/16"}, "InvalidParameterValue"},
		{"VPC without block", "CreateVpc", map[string]any{}, "MissingParameter"},
		{"describe unknown VPC", "DescribeVpcs", map[string]any{"VpcIds": []any{"vpc-0123456789abcdef0"}}, "InvalidVpcID.NotFound"},
		{"delete unknown VPC", "DeleteVpc", map[string]any{"VpcId": "vpc-0123456789abcdef0"}, "InvalidVpcID.NotFound"},
		{"delete VPC with subnets and groups", "DeleteVpc", map[string]any{"VpcId": vpc}, "DependencyViolation"},
		{"delete default VPC", "DeleteVpc", map[string]any{"VpcId": DefaultVPC("local")}, "DependencyViolation"},
		{"subnet of unknown VPC", "CreateSubnet", map[string]any{"VpcId": "vpc-0123456789abcdef0", "CidrBlock": "10.0.9.0/24"}, "InvalidVpcID.NotFound"},
		{"subnet outside its VPC", "CreateSubnet", map[string]any{"VpcId": vpc, "CidrBlock": "10.9.0.0/24"}, "InvalidSubnet.Range"},
		{"subnet netmask too narrow", "CreateSubnet", map[string]any{"VpcId": vpc, "CidrBlock": "10.0.9.0/29"}, "InvalidSubnet.Range"},
		{"subnet overlapping another", "CreateSubnet", map[string]any{"VpcId": vpc, "CidrBlock": "10.0.0.0/23"}, "InvalidSubnet.Conflict"},
		{"subnet in the default VPC", "CreateSubnet", map[string]any{"VpcId": DefaultVPC("local"), "CidrBlock": "127.16.0.0/24"}, "InvalidSubnet.Conflict"},
		{"subnet in unknown zone", "CreateSubnet", map[string]any{"VpcId": vpc, "CidrBlock": "10.0.9.0/24", "AvailabilityZone": "mars-1a"}, "InvalidParameterValue"},
		{"describe unknown subnet", "DescribeSubnets", map[string]any{"SubnetIds": []any{"subnet-0123456789abcdef0"}}, "InvalidSubnetID.NotFound"},
		{"delete unknown subnet", "DeleteSubnet", map[string]any{"SubnetId": "subnet-0123456789abcdef0"}, "InvalidSubnetID.NotFound"},
		{"delete default subnet", "DeleteSubnet", map[string]any{"SubnetId": SubnetOf("local-1a")}, "OperationNotPermitted"},
		{"group name taken", "CreateSecurityGroup", map[string]any{"VpcId": vpc, "GroupName": "WEB", "Description": "d"}, "InvalidGroup.Duplicate"},
		{"group named default", "CreateSecurityGroup", map[string]any{"VpcId": vpc, "GroupName": "default", "Description": "d"}, "InvalidGroup.Reserved"},
		{"group without description", "CreateSecurityGroup", map[string]any{"VpcId": vpc, "GroupName": "x"}, "MissingParameter"},
		{"group of unknown VPC", "CreateSecurityGroup", map[string]any{"VpcId": "vpc-0123456789abcdef0", "GroupName": "x", "Description": "d"}, "InvalidVpcID.NotFound"},
		{"describe unknown group", "DescribeSecurityGroups", map[string]any{"GroupIds": []any{"sg-0123456789abcdef0"}}, "InvalidGroup.NotFound"},
		{"describe unknown group name", "DescribeSecurityGroups", map[string]any{"GroupNames": []any{"nope"}}, "InvalidGroup.NotFound"},
		{"delete unknown group", "DeleteSecurityGroup", map[string]any{"GroupId": "sg-0123456789abcdef0"}, "InvalidGroup.NotFound"},
		{"delete default group", "DeleteSecurityGroup", map[string]any{"GroupName": "default"}, "CannotDelete"},
		{"delete a VPC's default group", "DeleteSecurityGroup", map[string]any{"GroupId": "sg-" + hexName("default/"+vpc)}, "CannotDelete"},
		{"rule on unknown group", "AuthorizeSecurityGroupIngress", map[string]any{"GroupId": "sg-0123456789abcdef0", "IpPermissions": tcp(22, "0.0.0.0/0")}, "InvalidGroup.NotFound"},
		{"rule with bad port", "AuthorizeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpPermissions": tcp(70000, "0.0.0.0/0")}, "InvalidParameterValue"},
		{"rule with bad block", "AuthorizeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpPermissions": tcp(22, "nowhere")}, "InvalidParameterValue"},
		{"rule from unknown group", "AuthorizeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpPermissions": []any{map[string]any{"IpProtocol": "-1", "UserIdGroupPairs": []any{map[string]any{"GroupId": "sg-0123456789abcdef0"}}}}}, "InvalidGroup.NotFound"},
		{"revoke a missing rule", "RevokeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpPermissions": tcp(22, "0.0.0.0/0")}, "InvalidPermission.NotFound"},
		{"revoke a missing rule id", "RevokeSecurityGroupEgress", map[string]any{"GroupId": sg, "SecurityGroupRuleIds": []any{"sgr-0123456789abcdef0"}}, "InvalidSecurityGroupRuleId.NotFound"},
		{"unknown filter", "DescribeSubnets", map[string]any{"Filters": []any{filt("colour", "blue")}}, "InvalidParameterValue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.call(t, c.op, c.in)
			if got := codeOf(err); got != c.code {
				t.Fatalf("err = %v (%s), want %s", err, got, c.code)
			}
		})
	}
}

func TestSecurityGroupRules(t *testing.T) {
	f := newNetService(t)
	vpc := f.vpc(t, "10.0.0.0/16")
	sg := f.group(t, vpc, "web")
	lb := f.group(t, vpc, "lb")
	describe := func() map[string]any {
		return f.do(t, "DescribeSecurityGroups", map[string]any{"GroupIds": []any{sg}})["SecurityGroups"].([]any)[0].(map[string]any)
	}
	egress := describe()["IpPermissionsEgress"].([]any)
	if len(egress) != 1 || egress[0].(map[string]any)["IpProtocol"] != "-1" {
		t.Fatalf("a new group's egress = %v, want AWS's allow-all rule", egress)
	}
	out := f.do(t, "AuthorizeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpPermissions": []any{
		map[string]any{"IpProtocol": "tcp", "FromPort": int64(80), "ToPort": int64(80), "IpRanges": []any{
			map[string]any{"CidrIp": "0.0.0.0/0", "Description": "web"}, map[string]any{"CidrIp": "10.0.0.0/16"}}},
		map[string]any{"IpProtocol": "tcp", "FromPort": int64(3000), "ToPort": int64(3000), "UserIdGroupPairs": []any{map[string]any{"GroupId": lb}}},
	}})
	if rules := out["SecurityGroupRules"].([]any); len(rules) != 3 || out["Return"] != true {
		t.Fatalf("authorize = %v, want 3 rules", out)
	}
	found := false
	for _, e := range must(f.events.Since(0)) {
		found = found || strings.Contains(e.String(), "security group "+sg+" rules are recorded; madang does not enforce them yet")
	}
	if !found {
		t.Fatal("no event says the rules are not enforced")
	}
	perms := describe()["IpPermissions"].([]any)
	if len(perms) != 2 || len(perms[0].(map[string]any)["IpRanges"].([]any)) != 2 || len(perms[1].(map[string]any)["UserIdGroupPairs"].([]any)) != 1 {
		t.Fatalf("ingress = %v, want port 80 from two ranges and 3000 from a group", perms)
	}
	steps := []struct {
		name, op string
		in       map[string]any
		code     string
	}{
		{"the same rule again", "AuthorizeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpPermissions": tcp(80, "0.0.0.0/0")}, "InvalidPermission.Duplicate"},
		{"legacy flat parameters, protocol by number", "AuthorizeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpProtocol": "6", "FromPort": int64(22), "ToPort": int64(22), "CidrIp": "10.0.0.0/8"}, ""},
		{"a group in use by another's rule", "DeleteSecurityGroup", map[string]any{"GroupId": lb}, "DependencyViolation"},
		{"revoke one range", "RevokeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpPermissions": tcp(80, "10.0.0.0/16")}, ""},
		{"revoke it twice", "RevokeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpPermissions": tcp(80, "10.0.0.0/16")}, "InvalidPermission.NotFound"},
		{"revoke the group rule", "RevokeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpPermissions": []any{map[string]any{"IpProtocol": "tcp", "FromPort": int64(3000), "ToPort": int64(3000), "UserIdGroupPairs": []any{map[string]any{"GroupId": lb}}}}}, ""},
		{"the group is free now", "DeleteSecurityGroup", map[string]any{"GroupId": lb}, ""},
		{"revoke the default egress", "RevokeSecurityGroupEgress", map[string]any{"GroupId": sg, "IpPermissions": []any{map[string]any{"IpProtocol": "-1", "IpRanges": []any{map[string]any{"CidrIp": "0.0.0.0/0"}}}}}, ""},
		{"a rule from the VPC's default group", "AuthorizeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpPermissions": []any{map[string]any{"IpProtocol": "-1", "UserIdGroupPairs": []any{map[string]any{"GroupName": "default"}}}}}, ""},
		{"and revoked by rule id", "RevokeSecurityGroupIngress", map[string]any{"GroupId": sg, "SecurityGroupRuleIds": []any{network.Rule{Protocol: "-1", FromPort: -1, ToPort: -1, SourceGroup: "sg-" + hexName("default/"+vpc)}.ID(sg, false)}}, ""},
		{"rules of the default group", "AuthorizeSecurityGroupIngress", map[string]any{"GroupName": "default", "IpPermissions": tcp(22, "0.0.0.0/0")}, "InvalidParameterValue"},
	}
	for _, s := range steps {
		_, err := f.call(t, s.op, s.in)
		if got := codeOf(err); got != s.code {
			t.Fatalf("%s: err = %v, want %q", s.name, err, s.code)
		}
	}
	g := describe()
	if n := len(g["IpPermissionsEgress"].([]any)); n != 0 {
		t.Fatalf("egress after revoking = %v, want none", g["IpPermissionsEgress"])
	}
	if perms := g["IpPermissions"].([]any); len(perms) != 2 {
		t.Fatalf("ingress = %v, want 80 from 0.0.0.0/0 and 22 from 10.0.0.0/8", perms)
	}
	rules := f.do(t, "DescribeSecurityGroupRules", map[string]any{"Filters": []any{filt("group-id", sg)}})["SecurityGroupRules"].([]any)
	if len(rules) != 2 {
		t.Fatalf("rules = %v, want 2", rules)
	}
	id := rules[0].(map[string]any)["SecurityGroupRuleId"].(string)
	f.do(t, "RevokeSecurityGroupIngress", map[string]any{"GroupId": sg, "SecurityGroupRuleIds": []any{id}})
	if n := len(f.do(t, "DescribeSecurityGroupRules", map[string]any{"Filters": []any{filt("group-id", sg)}})["SecurityGroupRules"].([]any)); n != 1 {
		t.Fatalf("%d rules after revoking %s, want 1", n, id)
	}
	byName := f.do(t, "DescribeSecurityGroups", map[string]any{"Filters": []any{filt("vpc-id", vpc), filt("group-name", "default", "web")}})["SecurityGroups"].([]any)
	if len(byName) != 2 {
		t.Fatalf("groups of the VPC named default or web = %v, want 2", byName)
	}
}

func must[T, U any](t T, _ U) T { return t }

func TestRunInstancesInSubnet(t *testing.T) {
	f := newNetService(t)
	vpc := f.vpc(t, "10.0.0.0/16")
	sn := f.subnet(t, vpc, "10.0.1.0/28", "local-1b")
	sg := f.group(t, vpc, "web")
	defaultGroupSG := f.group(t, "", "app")
	run := func(in map[string]any) (map[string]any, error) {
		in["ImageId"], in["MinCount"], in["MaxCount"] = "ami-0aaa", int64(1), int64(1)
		return f.call(t, "RunInstances", in)
	}
	out, err := run(map[string]any{"SubnetId": sn, "SecurityGroupIds": []any{sg}})
	if err != nil {
		t.Fatal(err)
	}
	ins := out["Instances"].([]any)[0].(map[string]any)
	groups := ins["SecurityGroups"].([]any)
	if ins["SubnetId"] != sn || ins["VpcId"] != vpc || ins["Placement"].(map[string]any)["AvailabilityZone"] != "local-1b" ||
		len(groups) != 1 || groups[0].(map[string]any)["GroupId"] != sg || groups[0].(map[string]any)["GroupName"] != "web" {
		t.Fatalf("instance = %v, want it in %s (%s, local-1b) with group %s", ins, sn, vpc, sg)
	}
	desc := f.do(t, "DescribeInstances", map[string]any{"Filters": []any{filt("subnet-id", sn)}})["Reservations"].([]any)
	if len(desc) != 1 {
		t.Fatalf("instances in %s: %d, want 1", sn, len(desc))
	}
	free := f.do(t, "DescribeSubnets", map[string]any{"SubnetIds": []any{sn}})["Subnets"].([]any)[0].(map[string]any)["AvailableIpAddressCount"]
	if free != int64(16-5-1) {
		t.Fatalf("AvailableIpAddressCount = %v, want 10 (16 - 5 reserved - 1 instance)", free)
	}
	cases := []struct {
		name string
		in   map[string]any
		code string
	}{
		{"group of another VPC", map[string]any{"SubnetId": sn, "SecurityGroupIds": []any{defaultGroupSG}}, "InvalidParameter"},
		{"unknown group", map[string]any{"SubnetId": sn, "SecurityGroupIds": []any{"sg-0123456789abcdef0"}}, "InvalidGroup.NotFound"},
		{"zone other than the subnet's", map[string]any{"SubnetId": sn, "Placement": map[string]any{"AvailabilityZone": "local-1a"}}, "InvalidParameterValue"},
		{"group by name in the default VPC", map[string]any{"SecurityGroups": []any{"app"}}, ""},
		{"no group in a created subnet", map[string]any{"SubnetId": sn}, ""},
		{"more instances than addresses", map[string]any{"SubnetId": sn, "MaxCount": int64(11)}, "InsufficientFreeAddressesInSubnet"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			maxCount := in["MaxCount"]
			_, err := func() (map[string]any, error) {
				in["ImageId"], in["MinCount"], in["MaxCount"] = "ami-0aaa", int64(1), int64(1)
				if maxCount != nil {
					in["MaxCount"] = maxCount
				}
				return f.call(t, "RunInstances", in)
			}()
			if got := codeOf(err); got != c.code {
				t.Fatalf("err = %v, want %q", err, c.code)
			}
		})
	}
	last := f.comp.views[len(f.comp.views)-1].ID
	got := f.do(t, "DescribeInstances", map[string]any{"InstanceIds": []any{last}})["Reservations"].([]any)[0].(*protocol.Frozen).Fields()["Instances"].([]any)[0].(map[string]any)
	if g := got["SecurityGroups"].([]any)[0].(map[string]any); g["GroupId"] != "sg-"+hexName("default/"+vpc) || g["GroupName"] != "default" {
		t.Fatalf("an instance launched with no group into %s has groups %v, want the VPC's default group", vpc, got["SecurityGroups"])
	}
	for _, c := range []struct{ name, op, id, key string }{
		{"subnet with an instance", "DeleteSubnet", sn, "SubnetId"},
		{"group in use by an instance", "DeleteSecurityGroup", sg, "GroupId"},
	} {
		if _, err := f.call(t, c.op, map[string]any{c.key: c.id}); codeOf(err) != "DependencyViolation" {
			t.Fatalf("%s: err = %v, want DependencyViolation", c.name, err)
		}
	}
	for i := range f.comp.views {
		f.comp.views[i].State = compute.StateTerminated
	}
	f.do(t, "DeleteSubnet", map[string]any{"SubnetId": sn})
	f.do(t, "DeleteSecurityGroup", map[string]any{"GroupId": sg})
	f.do(t, "DeleteVpc", map[string]any{"VpcId": vpc})
	if n := len(f.do(t, "DescribeVpcs", map[string]any{})["Vpcs"].([]any)); n != 1 {
		t.Fatalf("%d VPCs after deleting, want the default one", n)
	}
}

// CreateTags and DeleteTags tag VPCs, subnets and groups as well as
// instances; the describe calls' tag filters see them.
func TestTagNetworkResources(t *testing.T) {
	f := newNetService(t)
	vpc := f.vpc(t, "10.0.0.0/16")
	sn := f.subnet(t, vpc, "10.0.1.0/24", "local-1a")
	sg := f.group(t, vpc, "web")
	f.do(t, "CreateTags", map[string]any{"Resources": []any{vpc, sn, sg}, "Tags": []any{map[string]any{"Key": "env", "Value": "test"}}})
	for _, c := range []struct{ op, member string }{{"DescribeVpcs", "Vpcs"}, {"DescribeSubnets", "Subnets"}, {"DescribeSecurityGroups", "SecurityGroups"}} {
		if n := len(f.do(t, c.op, map[string]any{"Filters": []any{filt("tag:env", "test")}})[c.member].([]any)); n != 1 {
			t.Fatalf("%s tagged env=test: %d, want 1", c.op, n)
		}
	}
	f.do(t, "DeleteTags", map[string]any{"Resources": []any{sg}, "Tags": []any{map[string]any{"Key": "env"}}})
	if n := len(f.do(t, "DescribeSecurityGroups", map[string]any{"Filters": []any{filt("tag-key", "env")}})["SecurityGroups"].([]any)); n != 0 {
		t.Fatalf("groups with tag env after DeleteTags: %d", n)
	}
	cases := []struct {
		name string
		ids  []any
		code string
	}{
		{"unknown VPC", []any{"vpc-0123456789abcdef0"}, "InvalidVpcID.NotFound"},
		{"unknown subnet", []any{"subnet-0123456789abcdef0"}, "InvalidSubnetID.NotFound"},
		{"unknown group", []any{"sg-0123456789abcdef0"}, "InvalidGroup.NotFound"},
		{"the default VPC", []any{DefaultVPC("local")}, "InvalidParameterValue"},
		{"a VPC's default group", []any{"sg-" + hexName("default/"+vpc)}, "InvalidParameterValue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.call(t, "CreateTags", map[string]any{"Resources": c.ids, "Tags": []any{map[string]any{"Key": "k", "Value": "v"}}})
			if got := codeOf(err); got != c.code {
				t.Fatalf("err = %v, want %s", err, c.code)
			}
		})
	}
}
