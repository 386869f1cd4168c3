package elbv2

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
)

// Subnet is a subnet as ELBv2 sees it: its VPC and zone.
type Subnet struct {
	ID, Vpc, Zone string
}

// Network resolves the VPCs, subnets and security groups made through EC2
// (the defaults included) and the VPCs of instances; the daemon
// implements it over the stored networking records.
type Network interface {
	// Vpc reports whether a VPC of id exists.
	Vpc(ctx context.Context, id string) (bool, error)
	// Subnet returns the subnet of id.
	Subnet(ctx context.Context, id string) (Subnet, bool, error)
	// SecurityGroupVpc returns the VPC of the security group of id.
	SecurityGroupVpc(ctx context.Context, id string) (string, bool, error)
	// DefaultSecurityGroup is the id of a VPC's default security group.
	DefaultSecurityGroup(vpc string) string
	// InstanceVpc returns the VPC of the instance of id.
	InstanceVpc(id string) (string, bool)
}

// vpcOf is the EC2 id of a spec's VPC ("" is the default VPC).
func (s *Service) vpcOf(vpc string) string {
	if vpc == "" {
		return s.vpcID
	}
	return vpc
}

// specVpc is the spec's spelling of a VPC id: "" for the default VPC.
func (s *Service) specVpc(id string) string {
	if id == s.vpcID {
		return ""
	}
	return id
}

// targetGroupVpc checks CreateTargetGroup's VpcId: the default VPC or a
// created one.
func (s *Service) targetGroupVpc(ctx context.Context, id string) (string, error) {
	if id == "" || id == s.vpcID {
		return "", nil
	}
	if s.network != nil {
		ok, err := s.network.Vpc(ctx, id)
		if err != nil {
			return "", protocol.InternalError("read VPCs: %v", err)
		}
		if ok {
			return id, nil
		}
	}
	return "", validationError("The VPC ID '%s' is not found", id)
}

// subnet finds a subnet: a zone's default one or a created one.
func (s *Service) subnet(ctx context.Context, id string) (Subnet, error) {
	for _, z := range s.zones {
		if s.subnetOf(z) == id {
			return Subnet{ID: id, Vpc: s.vpcID, Zone: z}, nil
		}
	}
	if s.network != nil {
		sn, ok, err := s.network.Subnet(ctx, id)
		if err != nil {
			return Subnet{}, protocol.InternalError("read subnets: %v", err)
		}
		if ok {
			return sn, nil
		}
	}
	return Subnet{}, protocol.Errorf("SubnetNotFound", "The subnet ID '%s' is not found", id)
}

// placeLoadBalancer reads CreateLoadBalancer's Subnets or SubnetMappings
// and SecurityGroups into spec: the subnets all in one VPC, at most one
// per zone, and groups of that VPC.
func (s *Service) placeLoadBalancer(ctx context.Context, in protocol.Struct, spec *elb.LoadBalancerSpec) error {
	subnets, vpc, err := s.readSubnets(ctx, in)
	if err != nil {
		return err
	}
	spec.Subnets, spec.Vpc = subnets, s.specVpc(vpc)
	spec.SecurityGroups, err = s.readGroups(ctx, in.Strings("SecurityGroups"), vpc)
	return err
}

// readSubnets reads Subnets or SubnetMappings (not both): the subnets with
// their zones, all of one VPC and at most one per zone, and that VPC (the
// default one when none is given).
func (s *Service) readSubnets(ctx context.Context, in protocol.Struct) ([]elb.SubnetMapping, string, error) {
	ids := in.Strings("Subnets")
	if maps := in.Structs("SubnetMappings"); len(maps) > 0 {
		if len(ids) > 0 {
			return nil, "", validationError("You can specify subnets or subnet mappings, not both")
		}
		for _, m := range maps {
			ids = append(ids, m.String("SubnetId"))
		}
	}
	vpc := s.vpcID
	var out []elb.SubnetMapping
	for i, id := range ids {
		sn, err := s.subnet(ctx, id)
		if err != nil {
			return nil, "", err
		}
		if i == 0 {
			vpc = sn.Vpc
		} else if sn.Vpc != vpc {
			return nil, "", protocol.Errorf("InvalidConfigurationRequest", "The subnets '%s' and '%s' are in different VPCs; a load balancer's subnets must all be in one VPC", ids[0], id)
		}
		if slices.ContainsFunc(out, func(m elb.SubnetMapping) bool { return m.AvailabilityZone == sn.Zone }) {
			return nil, "", protocol.Errorf("InvalidConfigurationRequest", "A load balancer cannot be attached to multiple subnets in the same Availability Zone")
		}
		out = append(out, elb.SubnetMapping{Subnet: id, AvailabilityZone: sn.Zone})
	}
	return out, vpc, nil
}

// readGroups checks security group ids against vpc and drops repeats.
func (s *Service) readGroups(ctx context.Context, ids []string, vpc string) ([]string, error) {
	var out []string
	for _, g := range ids {
		if slices.Contains(out, g) {
			continue
		}
		if err := s.checkGroup(ctx, g, vpc); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// setSubnets replaces a load balancer's subnets with others of its VPC.
// Its listeners keep serving on its address: subnets place it in zones,
// not on addresses.
func (s *Service) setSubnets(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	lb, err := s.index().loadBalancer(in.String("LoadBalancerArn"))
	if err != nil {
		return nil, err
	}
	if len(in.Strings("Subnets")) == 0 && len(in.Structs("SubnetMappings")) == 0 {
		return nil, validationError("You must specify either subnets or subnet mappings")
	}
	if t := in.String("IpAddressType"); t != "" && t != "ipv4" {
		return nil, protocol.Errorf("InvalidConfigurationRequest", "IP address type '%s' needs subnets with IPv6 blocks, which madang's subnets do not have; use ipv4", t)
	}
	subnets, vpc, err := s.readSubnets(ctx, in)
	if err != nil {
		return nil, err
	}
	if own := s.vpcOf(lb.Spec.Vpc); vpc != own {
		return nil, protocol.Errorf("InvalidConfigurationRequest", "All subnets must belong to the same VPC: '%s', the VPC of load balancer '%s'; subnet '%s' is in VPC '%s'. Give subnets of VPC '%s'",
			own, lb.Spec.Name, subnets[0].Subnet, vpc, own)
	}
	err = s.withLB(ctx, lb, func(spec *elb.LoadBalancerSpec) error {
		spec.Subnets = subnets
		return nil
	})
	if err != nil {
		return nil, err
	}
	lb, err = s.index().loadBalancer(lb.ARN)
	if err != nil {
		return nil, err
	}
	shape := s.loadBalancerShape(lb)
	return map[string]any{"AvailabilityZones": shape["AvailabilityZones"], "IpAddressType": shape["IpAddressType"]}, nil
}

// setSecurityGroups replaces a load balancer's security groups with others
// of its VPC (none: the VPC's default group). They are recorded, not
// enforced.
func (s *Service) setSecurityGroups(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	lb, err := s.index().loadBalancer(in.String("LoadBalancerArn"))
	if err != nil {
		return nil, err
	}
	if in.Has("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic") {
		return nil, protocol.Errorf("InvalidConfigurationRequest", "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic applies to Network Load Balancers; '%s' is an Application Load Balancer: leave it out", lb.Spec.Name)
	}
	groups, err := s.readGroups(ctx, in.Strings("SecurityGroups"), s.vpcOf(lb.Spec.Vpc))
	if err != nil {
		return nil, err
	}
	err = s.withLB(ctx, lb, func(spec *elb.LoadBalancerSpec) error {
		spec.SecurityGroups = groups
		return nil
	})
	if err != nil {
		return nil, err
	}
	lb, err = s.index().loadBalancer(lb.ARN)
	if err != nil {
		return nil, err
	}
	return map[string]any{"SecurityGroupIds": s.loadBalancerShape(lb)["SecurityGroups"]}, nil
}

// checkGroup refuses a security group that does not exist or is not in
// vpc.
func (s *Service) checkGroup(ctx context.Context, id, vpc string) error {
	var (
		in  string
		ok  bool
		err error
	)
	if s.network != nil {
		in, ok, err = s.network.SecurityGroupVpc(ctx, id)
		if err != nil {
			return protocol.InternalError("read security groups: %v", err)
		}
	}
	if !ok {
		return protocol.Errorf("InvalidSecurityGroup", "The security group '%s' does not exist", id)
	}
	if in != vpc {
		return protocol.Errorf("InvalidSecurityGroup", "The security group '%s' is in VPC '%s', not in the load balancer's VPC '%s'", id, in, vpc)
	}
	return nil
}

// inOtherVpc lists the targets whose instances are not in vpc.
func (s *Service) inOtherVpc(ids []string, vpc string) []string {
	if s.network == nil {
		return nil
	}
	var out []string
	for _, id := range ids {
		if v, ok := s.network.InstanceVpc(id); ok && v != vpc {
			out = append(out, id)
		}
	}
	return out
}

// notInVpc is RegisterTargets' refusal of targets of another VPC.
func notInVpc(vpc string, ids []string) error {
	return protocol.Errorf("InvalidTarget", "The following targets are not in the target group VPC '%s': '%s'", vpc, strings.Join(ids, "', '"))
}

// loadBalancerShape renders a load balancer as ELBv2's LoadBalancer shape.
// Its DNS name is the address its listeners bind to.
func (s *Service) loadBalancerShape(lb *elbctl.LoadBalancer) map[string]any {
	addr := lb.Spec.Address
	if addr == "" {
		addr = elb.DefaultAddress
	}
	scheme := "internal"
	if addr == "0.0.0.0" || addr == "::" {
		scheme = "internet-facing"
	}
	var zones []any
	for _, m := range lb.Spec.Subnets {
		zones = append(zones, map[string]any{"ZoneName": m.AvailabilityZone, "SubnetId": m.Subnet})
	}
	if len(lb.Spec.Subnets) == 0 {
		for _, z := range s.zones {
			zones = append(zones, map[string]any{"ZoneName": z, "SubnetId": s.subnetOf(z)})
		}
	}
	vpc := s.vpcOf(lb.Spec.Vpc)
	groups := make([]any, 0, len(lb.Spec.SecurityGroups))
	for _, g := range lb.Spec.SecurityGroups {
		groups = append(groups, g)
	}
	if len(groups) == 0 && s.network != nil {
		groups = append(groups, s.network.DefaultSecurityGroup(vpc))
	}
	return map[string]any{
		"LoadBalancerArn": lb.ARN, "DNSName": addr, "CanonicalHostedZoneId": hostedZoneID,
		"CreatedTime": lb.CreatedAt.UTC().Truncate(time.Millisecond), "LoadBalancerName": lb.Spec.Name, "Scheme": scheme,
		"VpcId": vpc, "State": map[string]any{"Code": "active"}, "Type": "application",
		"AvailabilityZones": zones, "SecurityGroups": groups, "IpAddressType": "ipv4",
	}
}
