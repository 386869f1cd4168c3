package ec2

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/network"
)

// placement resolves RunInstances' SubnetId, SecurityGroupIds and
// SecurityGroups against the zone asked for (Placement.AvailabilityZone):
// the zone the instances run in and what they record (nil: the zone's
// default subnet and the default group). An instance in a created subnet
// runs in its zone; its private address is still madang's loopback
// address, whatever the subnet's range.
func (s *Service) placement(ctx context.Context, in protocol.Struct, zone string, count int) (string, *compute.Placement, error) {
	subnetID := in.String("SubnetId")
	ids, names := in.Strings("SecurityGroupIds"), in.Strings("SecurityGroups")
	if subnetID == "" && len(ids) == 0 && len(names) == 0 {
		return zone, nil, nil
	}
	set, err := s.networks(ctx)
	if err != nil {
		return "", nil, err
	}
	p := &compute.Placement{VpcID: s.vpcID}
	if subnetID != "" {
		all := s.subnets(set)
		i := slices.IndexFunc(all, func(sn subnet) bool { return sn.id == subnetID })
		if i < 0 {
			return "", nil, protocol.Errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", subnetID)
		}
		sn := all[i]
		if zone != "" && zone != sn.zone {
			return "", nil, invalidParameter("The subnet %s is in %s, not in the requested zone %s", subnetID, sn.zone, zone)
		}
		zone, p.VpcID = sn.zone, sn.vpc
		if !sn.isDefault {
			p.SubnetID = subnetID
			block, _ := netip.ParsePrefix(sn.cidr)
			if free := network.Addresses(block) - instancesIn(sn, s.liveInstances(), s.zoneOf); int64(count) > free {
				return "", nil, protocol.Errorf("InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances (%d free, %d asked for).", subnetID, max(free, 0), count)
			}
		}
	}
	groups := s.groups(set)
	add := func(g group) {
		if !slices.ContainsFunc(p.SecurityGroups, func(r compute.SecurityGroupRef) bool { return r.ID == g.id }) {
			p.SecurityGroups = append(p.SecurityGroups, compute.SecurityGroupRef{ID: g.id, Name: g.name})
		}
	}
	for _, id := range ids {
		i := slices.IndexFunc(groups, func(g group) bool { return g.id == id })
		if i < 0 {
			return "", nil, notFoundCode("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", id, p.VpcID)
		}
		if groups[i].vpc != p.VpcID {
			return "", nil, protocol.Errorf("InvalidParameter", "Security group %s and subnet %s belong to different networks.", id, orID(subnetID, subnetOf(s.zoneOrFirst(zone))))
		}
		add(groups[i])
	}
	for _, n := range names {
		i := slices.IndexFunc(groups, func(g group) bool { return g.vpc == p.VpcID && strings.EqualFold(g.name, n) })
		if i < 0 {
			return "", nil, notFoundCode("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", n, p.VpcID)
		}
		add(groups[i])
	}
	return zone, p, nil
}

func (s *Service) zoneOrFirst(zone string) string {
	if zone == "" {
		return s.zones[0]
	}
	return zone
}

// placeShape shows an instance's recorded placement in its Instance
// shape: its subnet and VPC, and its security groups as given.
func (s *Service) placeShape(out map[string]any, p *compute.Placement) {
	if p.SubnetID != "" {
		out["SubnetId"] = p.SubnetID
	}
	if p.VpcID != "" {
		out["VpcId"] = p.VpcID
	}
	switch {
	case len(p.SecurityGroups) > 0:
		gs := make([]any, 0, len(p.SecurityGroups))
		for _, g := range p.SecurityGroups {
			gs = append(gs, map[string]any{"GroupId": g.ID, "GroupName": g.Name})
		}
		out["SecurityGroups"] = gs
	case p.VpcID != "" && p.VpcID != s.vpcID:
		// Launched with no group into a created VPC: its default group,
		// as EC2 does.
		out["SecurityGroups"] = []any{map[string]any{"GroupId": s.defaultGroupOf(p.VpcID), "GroupName": "default"}}
	}
}

// templateGroups resolves a launch template's SecurityGroupIds and
// SecurityGroups (names of the default VPC's groups) to the groups its
// instances get.
func (s *Service) templateGroups(ctx context.Context, ids, names []string) ([]compute.SecurityGroupRef, error) {
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	groups := s.groups(set)
	var out []compute.SecurityGroupRef
	add := func(g group) {
		if !slices.ContainsFunc(out, func(r compute.SecurityGroupRef) bool { return r.ID == g.id }) {
			out = append(out, compute.SecurityGroupRef{ID: g.id, Name: g.name})
		}
	}
	for _, id := range ids {
		i := slices.IndexFunc(groups, func(g group) bool { return g.id == id })
		if i < 0 {
			return nil, notFoundCode("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		add(groups[i])
	}
	for _, n := range names {
		i := slices.IndexFunc(groups, func(g group) bool { return g.vpc == s.vpcID && strings.EqualFold(g.name, n) })
		if i < 0 {
			return nil, notFoundCode("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", n, s.vpcID)
		}
		add(groups[i])
	}
	return out, nil
}
