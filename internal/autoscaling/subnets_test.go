package autoscaling

import (
	"testing"

	"github.com/madang-dev/madang/internal/compute"
)

// Instances launched in a zone of one of the group's created subnets
// record it; other zones' instances go to the default subnet.
func TestNetworkIn(t *testing.T) {
	spec := GroupSpec{Subnets: []SubnetPlacement{{ID: "subnet-0a1b2c3d", Zone: "local-1b", Vpc: "vpc-0a1b2c3d"}}}
	cases := []struct {
		name, zone string
		want       *compute.Placement
	}{
		{"zone of a created subnet", "local-1b", &compute.Placement{SubnetID: "subnet-0a1b2c3d", VpcID: "vpc-0a1b2c3d"}},
		{"zone without one", "local-1a", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := spec.networkIn(c.zone)
			if (got == nil) != (c.want == nil) || (got != nil && (got.SubnetID != c.want.SubnetID || got.VpcID != c.want.VpcID)) {
				t.Fatalf("networkIn(%s) = %+v, want %+v", c.zone, got, c.want)
			}
		})
	}
}
