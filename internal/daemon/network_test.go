package daemon

import (
	"context"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/fault"
)

// ec2Call runs one EC2 operation of the daemon's AWS services.
func ec2Call(t *testing.T, d *Daemon, op string, in map[string]any) (map[string]any, error) {
	t.Helper()
	svcs, err := d.awsServices(d.keys.Account())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		if s.Name == "ec2" {
			return s.Handlers[op](context.Background(), &awsapi.Call{Operation: s.Model.Operation(op), Input: protocol.Struct(in)})
		}
	}
	t.Fatal("no EC2 service")
	return nil, nil
}

// VPCs, subnets and groups made through EC2 are hand-made resources of
// the network kinds: listed by the API, refused when in use, and there
// again after a restart.
func TestNetworkResourcesSurviveRestart(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	d, stop := startIn(t, home, Config{})
	must := func(op string, in map[string]any) map[string]any {
		t.Helper()
		out, err := ec2Call(t, d, op, in)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return out
	}
	vpc := must("CreateVpc", map[string]any{"CidrBlock": "10.0.0.0/16"})["Vpc"].(map[string]any)["VpcId"].(string)
	subnet := must("CreateSubnet", map[string]any{"VpcId": vpc, "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "local-1b"})["Subnet"].(map[string]any)["SubnetId"].(string)
	sg := must("CreateSecurityGroup", map[string]any{"VpcId": vpc, "GroupName": "web", "Description": "web tier"})["GroupId"].(string)
	must("AuthorizeSecurityGroupIngress", map[string]any{"GroupId": sg, "IpProtocol": "tcp", "FromPort": int64(22), "ToPort": int64(22), "CidrIp": "10.0.0.0/8"})

	r := resources{d}
	for _, c := range []struct{ kind, name string }{{"vpc", vpc}, {"subnet", subnet}, {"sg", sg}} {
		if got, err := r.Get(ctx, c.kind, c.name); err != nil || got.Owner != "" {
			t.Fatalf("get %s %s = %+v, %v; want one made by hand", c.kind, c.name, got, err)
		}
	}
	// By hand through the API: a subnet of the VPC, and a VPC in use.
	if _, _, err := r.Put(ctx, "subnet", "subnet-0a1b2c3d", []byte(`{"name":"subnet-0a1b2c3d","vpc":"`+vpc+`","availabilityZone":"local-1c","cidrBlock":"10.0.2.0/24"}`)); err != nil {
		t.Fatalf("put subnet: %v", err)
	}
	if _, _, err := r.Put(ctx, "subnet", "subnet-0a1b2c3e", []byte(`{"name":"subnet-0a1b2c3e","vpc":"`+vpc+`","availabilityZone":"mars-1a","cidrBlock":"10.0.3.0/24"}`)); err == nil || !strings.Contains(err.Error(), "availabilityZone") {
		t.Fatalf("put a subnet in no zone: %v, want an error naming availabilityZone", err)
	}
	if err := r.Delete(ctx, "vpc", vpc); fault.CodeOf(err) != fault.InUse {
		t.Fatalf("delete a VPC with subnets: %v, want InUse", err)
	}
	if _, err := ec2Call(t, d, "DeleteVpc", map[string]any{"VpcId": vpc}); err == nil || err.(*protocol.Error).Code != "DependencyViolation" {
		t.Fatalf("DeleteVpc with subnets: %v, want DependencyViolation", err)
	}
	stop()

	d, _ = startIn(t, home, Config{})
	subnets := must("DescribeSubnets", map[string]any{"Filters": []any{map[string]any{"Name": "vpc-id", "Values": []any{vpc}}}})["Subnets"].([]any)
	if len(subnets) != 2 {
		t.Fatalf("subnets of %s after a restart = %v, want 2", vpc, subnets)
	}
	g := must("DescribeSecurityGroups", map[string]any{"GroupIds": []any{sg}})["SecurityGroups"].([]any)[0].(map[string]any)
	if perms := g["IpPermissions"].([]any); len(perms) != 1 || perms[0].(map[string]any)["FromPort"] != int64(22) {
		t.Fatalf("rules after a restart = %v", perms)
	}
}
