package ec2

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/network"
)

// Networks reads the stored VPCs, subnets and security groups;
// network.Store implements it.
type Networks interface {
	Load(ctx context.Context) (*network.Set, error)
}

// networks loads the stored networking records (none without a store).
func (s *Service) networks(ctx context.Context) (*network.Set, error) {
	if s.network == nil {
		return &network.Set{}, nil
	}
	return s.network.Load(ctx)
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

// tagsOf reads TagSpecifications of one resource type into tags.
func tagsOf(in protocol.Struct, resourceType string) (map[string]string, error) {
	tags := map[string]string{}
	for _, ts := range in.Structs("TagSpecifications") {
		if rt := ts.String("ResourceType"); rt != resourceType && rt != "" {
			return nil, invalidParameter("'%s' is not a valid taggable resource type for this operation; use %s", rt, resourceType)
		}
		for _, t := range ts.Structs("Tags") {
			tags[t.String("Key")] = t.String("Value")
		}
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// put stores a networking resource made through the endpoint.
func (s *Service) put(ctx context.Context, kindName string, spec any, id string) error {
	if s.resources == nil {
		return protocol.Errorf("Unavailable", "madang serves no resource store here")
	}
	_, err := s.resources.PutResource(ctx, kindName, spec)
	return networkError(err, id)
}

// networkError maps a daemon fault on a networking resource onto EC2's
// codes.
func networkError(err error, id string) error {
	if err == nil {
		return nil
	}
	if f, ok := fault.As(err); ok && f.Code == fault.InUse {
		return protocol.Errorf("DependencyViolation", "resource %s has a dependent object (%s)", id, f.Error())
	}
	return ec2Error(err, id)
}

// remove deletes a stored networking resource. The daemon refuses one
// that another resource refers to (a load balancer on a subnet) and names
// the referrers; that is a DependencyViolation worded with refusal, AWS's
// sentence for the resource.
func (s *Service) remove(ctx context.Context, kindName, id, refusal string) error {
	err := s.resources.DeleteResource(ctx, kindName, id)
	if f, ok := fault.As(err); ok && f.Code == fault.InUse {
		return protocol.Errorf("DependencyViolation", "%s: %s", refusal, f.Error())
	}
	return networkError(err, id)
}

// liveInstances are the instances that are not terminated.
func (s *Service) liveInstances() []compute.Instance {
	var out []compute.Instance
	for _, v := range s.compute.Listing() {
		if v.State != compute.StateTerminated {
			out = append(out, v.Instance)
		}
	}
	return out
}

func (s *Service) vpcShape(id, cidr string, isDefault bool, tags map[string]string) map[string]any {
	return map[string]any{
		"VpcId": id, "CidrBlock": cidr, "State": "available", "IsDefault": isDefault, "OwnerId": s.account,
		"InstanceTenancy": "default", "DhcpOptionsId": "default", "Tags": tagList(tags),
		"CidrBlockAssociationSet": []any{map[string]any{
			"AssociationId": "vpc-cidr-assoc-" + hexName(id), "CidrBlock": cidr,
			"CidrBlockState": map[string]any{"State": "associated"},
		}},
	}
}

func (s *Service) createVpc(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	block := in.String("CidrBlock")
	if block == "" {
		return nil, missingParameter("CidrBlock")
	}
	p, err := network.ParseBlock(block)
	if err != nil {
		return nil, invalidParameter("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", block)
	}
	if p.Bits() < network.MinPrefix || p.Bits() > network.MaxPrefix {
		return nil, protocol.Errorf("InvalidVpc.Range", "The CIDR '%s' is invalid. A VPC's netmask is /%d to /%d.", block, network.MinPrefix, network.MaxPrefix)
	}
	if in.Bool("AmazonProvidedIpv6CidrBlock") || in.String("Ipv6CidrBlock") != "" {
		return nil, invalidParameter("madang's VPCs have no IPv6 block; leave out AmazonProvidedIpv6CidrBlock and Ipv6CidrBlock")
	}
	if t := in.String("InstanceTenancy"); t != "" && t != "default" {
		return nil, invalidParameter("Value (%s) for parameter instanceTenancy is invalid. madang serves default tenancy only.", t)
	}
	tags, err := tagsOf(in, "vpc")
	if err != nil {
		return nil, err
	}
	spec := &network.VpcSpec{Name: network.NewID("vpc"), CidrBlock: p.String(), Tags: tags}
	s.netMu.Lock()
	defer s.netMu.Unlock()
	if err := s.put(ctx, network.KindVpc, spec, spec.Name); err != nil {
		return nil, err
	}
	return map[string]any{"Vpc": s.vpcShape(spec.Name, spec.CidrBlock, false, tags)}, nil
}

func (s *Service) describeVpcs(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	type vpc struct {
		id, cidr  string
		isDefault bool
		tags      map[string]string
	}
	all := []vpc{{s.vpcID, vpcCIDR, true, nil}}
	for _, v := range set.Vpcs {
		all = append(all, vpc{v.Spec.Name, v.Spec.CidrBlock, false, v.Spec.Tags})
	}
	ids := in.Strings("VpcIds")
	for _, id := range ids {
		if !slices.ContainsFunc(all, func(v vpc) bool { return v.id == id }) {
			return nil, notFoundCode("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
		}
	}
	out := []any{}
	for _, v := range all {
		if len(ids) > 0 && !slices.Contains(ids, v.id) {
			continue
		}
		f := func(name string) ([]string, bool) {
			switch name {
			case "vpc-id":
				return []string{v.id}, true
			case "is-default", "isDefault":
				return []string{boolString(v.isDefault)}, true
			case "cidr", "cidr-block-association.cidr-block", "cidrBlock":
				return []string{v.cidr}, true
			case "state":
				return []string{"available"}, true
			case "owner-id":
				return []string{s.account}, true
			}
			return tagField(v.tags, name)
		}
		ok, err := matchAll(filters(in), f, []string{"vpc-id", "is-default", "cidr", "cidr-block-association.cidr-block", "state", "owner-id", "tag:KEY", "tag-key", "tag-value"})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s.vpcShape(v.id, v.cidr, v.isDefault, v.tags))
		}
	}
	return paged("Vpcs", out, in, 5, 1000)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (s *Service) deleteVpc(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	id := call.Input.String("VpcId")
	if id == "" {
		return nil, missingParameter("VpcId")
	}
	s.netMu.Lock()
	defer s.netMu.Unlock()
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	if id == s.vpcID {
		return nil, protocol.Errorf("DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted: it is madang's default VPC, with a default subnet in each of %s", id, strings.Join(s.zones, ", "))
	}
	if _, ok := set.Vpc(id); !ok {
		return nil, notFoundCode("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	}
	// Its subnets, security groups, target groups and load balancers
	// refer to it: the daemon refuses to delete it and names them.
	if err := s.remove(ctx, network.KindVpc, id, "The vpc '"+id+"' has dependencies and cannot be deleted"); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// subnet is a subnet as EC2 describes it: a zone's default one or a
// stored one.
type subnet struct {
	id, vpc, zone, cidr string
	isDefault           bool
	tags                map[string]string
}

// subnets are the default subnets, then the stored ones.
func (s *Service) subnets(set *network.Set) []subnet {
	var out []subnet
	for _, z := range s.zones {
		out = append(out, subnet{id: subnetOf(z), vpc: s.vpcID, zone: z, cidr: vpcCIDR, isDefault: true})
	}
	for _, sn := range set.Subnets {
		out = append(out, subnet{id: sn.Spec.Name, vpc: sn.Spec.Vpc, zone: sn.Spec.AvailabilityZone, cidr: sn.Spec.CidrBlock, tags: sn.Spec.Tags})
	}
	return out
}

// instancesIn counts the live instances in a subnet (a default one holds
// the zone's instances launched into no other).
func instancesIn(sn subnet, live []compute.Instance, zoneOf func(compute.Instance) string) int64 {
	var n int64
	for _, in := range live {
		id := ""
		if in.Network != nil {
			id = in.Network.SubnetID
		}
		if id == sn.id || (id == "" && sn.isDefault && zoneOf(in) == sn.zone) {
			n++
		}
	}
	return n
}

func (s *Service) subnetShape(sn subnet, live []compute.Instance) map[string]any {
	p, _ := netip.ParsePrefix(sn.cidr)
	free := max(network.Addresses(p)-instancesIn(sn, live, s.zoneOf), 0)
	return map[string]any{
		"SubnetId": sn.id, "SubnetArn": s.arn("subnet/" + sn.id), "VpcId": sn.vpc, "AvailabilityZone": sn.zone,
		"AvailabilityZoneId": s.zoneID(slices.Index(s.zones, sn.zone)), "CidrBlock": sn.cidr, "State": "available",
		"DefaultForAz": sn.isDefault, "MapPublicIpOnLaunch": false, "AvailableIpAddressCount": free,
		"OwnerId": s.account, "Tags": tagList(sn.tags),
	}
}

func (s *Service) createSubnet(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	vpcID, block := in.String("VpcId"), in.String("CidrBlock")
	if vpcID == "" {
		return nil, missingParameter("VpcId")
	}
	if block == "" {
		return nil, missingParameter("CidrBlock")
	}
	tags, err := tagsOf(in, "subnet")
	if err != nil {
		return nil, err
	}
	s.netMu.Lock()
	defer s.netMu.Unlock()
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	vpcBlock := vpcCIDR
	if vpcID != s.vpcID {
		v, ok := set.Vpc(vpcID)
		if !ok {
			return nil, notFoundCode("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpcID)
		}
		vpcBlock = v.Spec.CidrBlock
	}
	p, err := network.ParseBlock(block)
	if err != nil {
		return nil, invalidParameter("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", block)
	}
	outer := netip.MustParsePrefix(vpcBlock)
	if p.Bits() < network.MinPrefix || p.Bits() > network.MaxPrefix || !network.Within(p, outer) {
		return nil, protocol.Errorf("InvalidSubnet.Range", "The CIDR '%s' is invalid: a subnet of VPC %s (%s) takes a /%d to /%d block within it.", block, vpcID, vpcBlock, network.MinPrefix, network.MaxPrefix)
	}
	var taken []netip.Prefix
	for _, sn := range s.subnets(set) {
		if sn.vpc == vpcID {
			taken = append(taken, netip.MustParsePrefix(sn.cidr))
		}
	}
	if c, ok := network.Conflict(p, taken); ok {
		return nil, protocol.Errorf("InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet (%s)", block, c)
	}
	zone, err := s.subnetZone(in, set, vpcID)
	if err != nil {
		return nil, err
	}
	spec := &network.SubnetSpec{Name: network.NewID("subnet"), Vpc: vpcID, AvailabilityZone: zone, CidrBlock: p.String(), Tags: tags}
	if err := s.put(ctx, network.KindSubnet, spec, spec.Name); err != nil {
		return nil, err
	}
	sn := subnet{id: spec.Name, vpc: vpcID, zone: zone, cidr: spec.CidrBlock, tags: tags}
	return map[string]any{"Subnet": s.subnetShape(sn, nil)}, nil
}

// subnetZone is CreateSubnet's zone: the one named (by name or id), or
// the zone with the fewest of the VPC's subnets, as EC2 picks one.
func (s *Service) subnetZone(in protocol.Struct, set *network.Set, vpc string) (string, error) {
	zone := in.String("AvailabilityZone")
	if id := in.String("AvailabilityZoneId"); id != "" {
		i := slices.IndexFunc(s.zones, func(z string) bool { return s.zoneID(slices.Index(s.zones, z)) == id })
		if i < 0 {
			return "", invalidParameter("Value (%s) for parameter availabilityZoneId is invalid.", id)
		}
		if zone != "" && zone != s.zones[i] {
			return "", invalidParameter("The availability zone %s and the availability zone id %s name different zones", zone, id)
		}
		zone = s.zones[i]
	}
	if zone == "" {
		counts := map[string]int{}
		for _, sn := range set.SubnetsOf(vpc) {
			counts[sn.Spec.AvailabilityZone]++
		}
		zone = s.zones[0]
		for _, z := range s.zones {
			if counts[z] < counts[zone] {
				zone = z
			}
		}
		return zone, nil
	}
	if !s.knownZone(zone) {
		return "", invalidParameter("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", zone, strings.Join(s.zones, ", "))
	}
	return zone, nil
}

func (s *Service) describeSubnets(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	all := s.subnets(set)
	ids := in.Strings("SubnetIds")
	for _, id := range ids {
		if !slices.ContainsFunc(all, func(sn subnet) bool { return sn.id == id }) {
			return nil, notFoundCode("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
	}
	live := s.liveInstances()
	out := []any{}
	for _, sn := range all {
		if len(ids) > 0 && !slices.Contains(ids, sn.id) {
			continue
		}
		f := func(name string) ([]string, bool) {
			switch name {
			case "subnet-id", "subnetId":
				return []string{sn.id}, true
			case "vpc-id", "vpcId":
				return []string{sn.vpc}, true
			case "availability-zone", "availabilityZone":
				return []string{sn.zone}, true
			case "availability-zone-id", "availabilityZoneId":
				return []string{s.zoneID(slices.Index(s.zones, sn.zone))}, true
			case "default-for-az", "defaultForAz":
				return []string{boolString(sn.isDefault)}, true
			case "state":
				return []string{"available"}, true
			case "cidr-block", "cidr", "cidrBlock":
				return []string{sn.cidr}, true
			case "owner-id":
				return []string{s.account}, true
			}
			return tagField(sn.tags, name)
		}
		ok, err := matchAll(filters(in), f, []string{"subnet-id", "vpc-id", "availability-zone", "availability-zone-id", "default-for-az", "state", "cidr-block", "owner-id", "tag:KEY", "tag-key", "tag-value"})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s.subnetShape(sn, live))
		}
	}
	return paged("Subnets", out, in, 5, 1000)
}

func (s *Service) deleteSubnet(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	id := call.Input.String("SubnetId")
	if id == "" {
		return nil, missingParameter("SubnetId")
	}
	if z, ok := s.zoneOfSubnet(id); ok {
		return nil, protocol.Errorf("OperationNotPermitted", "The subnet '%s' is madang's default subnet of %s and cannot be deleted", id, z)
	}
	s.netMu.Lock()
	defer s.netMu.Unlock()
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := set.Subnet(id); !ok {
		return nil, notFoundCode("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
	}
	var users []string
	for _, in := range s.liveInstances() {
		if in.Network != nil && in.Network.SubnetID == id {
			users = append(users, in.ID)
		}
	}
	if len(users) > 0 {
		return nil, protocol.Errorf("DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted: instances %s run in it", id, strings.Join(users, ", "))
	}
	// A load balancer attached to it refers to it.
	if err := s.remove(ctx, network.KindSubnet, id, "The subnet '"+id+"' has dependencies and cannot be deleted"); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}
