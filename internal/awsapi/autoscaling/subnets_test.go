package autoscaling

import (
	"reflect"
	"testing"

	"github.com/madang-dev/madang/internal/autoscaling"
)

// VPCZoneIdentifier may name subnets made by CreateSubnet: the group
// spreads over their zones and keeps them for its launches, and describes
// them in place of those zones' default subnets.
func TestVPCZoneIdentifierCreatedSubnets(t *testing.T) {
	created := map[string]autoscaling.SubnetPlacement{
		"subnet-0a1b2c3d": {ID: "subnet-0a1b2c3d", Zone: "local-1b", Vpc: "vpc-0a1b2c3d"},
		"subnet-0a1b2c3e": {ID: "subnet-0a1b2c3e", Zone: "local-1b", Vpc: "vpc-0a1b2c3d"},
	}
	f := newFake()
	svc, err := New(Options{Scaling: f, Templates: f, TargetGroups: f, Resources: f, Alarms: f,
		Zones: []string{"local-1a", "local-1b", "local-1c"}, SubnetOf: func(z string) string { return "subnet-" + z },
		CreatedSubnet: func(id string) (autoscaling.SubnetPlacement, bool) { sn, ok := created[id]; return sn, ok }})
	if err != nil {
		t.Fatal(err)
	}
	h := svc.Handlers
	cases := []struct {
		name, subnets string
		zones         []string
		described     string
		placed        []autoscaling.SubnetPlacement
		code          string
	}{
		{"a created subnet and a default one", "subnet-0a1b2c3d,subnet-local-1a", []string{"local-1b", "local-1a"}, "subnet-0a1b2c3d,subnet-local-1a", []autoscaling.SubnetPlacement{created["subnet-0a1b2c3d"]}, ""},
		{"two created subnets of a zone: the first", "subnet-0a1b2c3d,subnet-0a1b2c3e", []string{"local-1b"}, "subnet-0a1b2c3d", []autoscaling.SubnetPlacement{created["subnet-0a1b2c3d"]}, ""},
		{"default subnets only", "subnet-local-1a,subnet-local-1c", []string{"local-1a", "local-1c"}, "subnet-local-1a,subnet-local-1c", nil, ""},
		{"unknown subnet", "subnet-0ffffff0", nil, "", nil, "ValidationError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := obj{"AutoScalingGroupName": "web", "MinSize": int64(0), "MaxSize": int64(2),
				"LaunchTemplate": obj{"LaunchTemplateName": "hello"}, "VPCZoneIdentifier": c.subnets}
			delete(f.groups, "web")
			_, err := call(t, h, "CreateAutoScalingGroup", in)
			wantErr(t, "create", err, c.code, "")
			if c.code != "" {
				return
			}
			sp := f.groups["web"].Spec
			if !reflect.DeepEqual(sp.AvailabilityZones, c.zones) || !reflect.DeepEqual(sp.Subnets, c.placed) {
				t.Fatalf("zones %v subnets %v, want %v %v", sp.AvailabilityZones, sp.Subnets, c.zones, c.placed)
			}
			out, err := call(t, h, "DescribeAutoScalingGroups", obj{})
			if err != nil {
				t.Fatal(err)
			}
			got := out["AutoScalingGroups"].([]any)[0].(map[string]any)["VPCZoneIdentifier"]
			if got != c.described {
				t.Fatalf("VPCZoneIdentifier = %v, want %s", got, c.described)
			}
		})
	}
}
