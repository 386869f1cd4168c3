package daemon

import (
	"context"

	"github.com/madang-dev/madang/internal/awsapi/ec2"
	"github.com/madang-dev/madang/internal/awsapi/elbv2"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/network"
)

// elbNetwork is the networking ELBv2 sees: the stored VPCs, subnets and
// security groups, the region's defaults and instances' placements.
type elbNetwork struct {
	nets    network.Store
	region  string
	compute *compute.Service
}

var _ elbv2.Network = elbNetwork{}

// Vpc reports whether a created VPC of id is stored.
func (n elbNetwork) Vpc(ctx context.Context, id string) (bool, error) {
	set, err := n.nets.Load(ctx)
	if err != nil {
		return false, err
	}
	_, ok := set.Vpc(id)
	return ok, nil
}

// Subnet returns a created subnet (ELBv2 knows the default ones).
func (n elbNetwork) Subnet(ctx context.Context, id string) (elbv2.Subnet, bool, error) {
	set, err := n.nets.Load(ctx)
	if err != nil {
		return elbv2.Subnet{}, false, err
	}
	sn, ok := set.Subnet(id)
	if !ok {
		return elbv2.Subnet{}, false, nil
	}
	return elbv2.Subnet{ID: id, Vpc: n.vpcOf(sn.Spec.Vpc), Zone: sn.Spec.AvailabilityZone}, true, nil
}

// SecurityGroupVpc returns the VPC of a stored group or of a VPC's
// default group.
func (n elbNetwork) SecurityGroupVpc(ctx context.Context, id string) (string, bool, error) {
	set, err := n.nets.Load(ctx)
	if err != nil {
		return "", false, err
	}
	if g, ok := set.Group(id); ok {
		return n.vpcOf(g.Spec.Vpc), true, nil
	}
	vpcs := []string{ec2.DefaultVPC(n.region)}
	for _, v := range set.Vpcs {
		vpcs = append(vpcs, v.Spec.Name)
	}
	for _, v := range vpcs {
		if n.DefaultSecurityGroup(v) == id {
			return v, true, nil
		}
	}
	return "", false, nil
}

// DefaultSecurityGroup is the id of a VPC's default group.
func (n elbNetwork) DefaultSecurityGroup(vpc string) string {
	return ec2.DefaultSecurityGroup(n.region, vpc)
}

// InstanceVpc returns the VPC an instance was launched into.
func (n elbNetwork) InstanceVpc(id string) (string, bool) {
	in, err := n.compute.Instance(id)
	if err != nil {
		return "", false
	}
	if in.Network == nil || in.Network.VpcID == "" {
		return ec2.DefaultVPC(n.region), true
	}
	return in.Network.VpcID, true
}

func (n elbNetwork) vpcOf(vpc string) string {
	if vpc == "" {
		return ec2.DefaultVPC(n.region)
	}
	return vpc
}
