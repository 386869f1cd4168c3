package ec2

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/network"
)

// defaultGroupDescription is the default groups' description; it says
// that nothing filters traffic.
const defaultGroupDescription = "default VPC security group (madang does not filter traffic between instances yet: every instance reaches every other)"

// notEnforced is the event that says what madang does with rules.
const notEnforced = "security group %s rules are recorded; madang does not enforce them yet"

// group is a security group as EC2 describes it: a VPC's default one
// (synthesized) or a stored one.
type group struct {
	id, name, description, vpc string
	ingress, egress            []network.Rule
	tags                       map[string]string
	isDefault                  bool
	spec                       *network.SecurityGroupSpec
}

// defaultGroupOf is the id of a VPC's default security group.
func (s *Service) defaultGroupOf(vpc string) string {
	if vpc == s.vpcID {
		return s.defaultSecurityGroup
	}
	return "sg-" + hexName("default/"+vpc)
}

// groups are every VPC's default group, then the stored ones.
func (s *Service) groups(set *network.Set) []group {
	vpcs := []string{s.vpcID}
	for _, v := range set.Vpcs {
		vpcs = append(vpcs, v.Spec.Name)
	}
	var out []group
	for _, v := range vpcs {
		out = append(out, group{id: s.defaultGroupOf(v), name: "default", description: defaultGroupDescription, vpc: v,
			ingress: []network.Rule{network.AllTraffic}, egress: []network.Rule{network.AllTraffic}, isDefault: true})
	}
	for i := range set.Groups {
		g := &set.Groups[i].Spec
		out = append(out, group{id: g.Name, name: g.GroupName, description: g.Description, vpc: s.vpcOf(g.Vpc),
			ingress: g.Ingress, egress: g.Egress, tags: g.Tags, spec: g})
	}
	return out
}

// findGroup finds a group by GroupId, or by GroupName in the default VPC
// (as EC2 allows names only there).
func (s *Service) findGroup(set *network.Set, id, name string) (group, error) {
	all := s.groups(set)
	if id != "" {
		if i := slices.IndexFunc(all, func(g group) bool { return g.id == id }); i >= 0 {
			return all[i], nil
		}
		return group{}, notFoundCode("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	if name == "" {
		return group{}, missingParameter("GroupId")
	}
	if i := slices.IndexFunc(all, func(g group) bool { return g.vpc == s.vpcID && strings.EqualFold(g.name, name) }); i >= 0 {
		return all[i], nil
	}
	return group{}, notFoundCode("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, s.vpcID)
}

// ipPermissions renders rules as EC2's IpPermission list: one entry per
// protocol and port range, its peers listed under it.
func (s *Service) ipPermissions(rules []network.Rule) []any {
	type perm struct {
		key  string
		out  map[string]any
		v4   []any
		v6   []any
		refs []any
	}
	var perms []*perm
	for _, r := range rules {
		key := r.Protocol + "|" + itoa(r.FromPort) + "|" + itoa(r.ToPort)
		i := slices.IndexFunc(perms, func(p *perm) bool { return p.key == key })
		if i < 0 {
			out := map[string]any{"IpProtocol": r.Protocol}
			if r.Protocol != "-1" {
				out["FromPort"], out["ToPort"] = int64(r.FromPort), int64(r.ToPort)
			}
			perms = append(perms, &perm{key: key, out: out})
			i = len(perms) - 1
		}
		p := perms[i]
		peer := map[string]any{}
		if r.Description != "" {
			peer["Description"] = r.Description
		}
		switch {
		case r.CidrIPv4 != "":
			peer["CidrIp"] = r.CidrIPv4
			p.v4 = append(p.v4, peer)
		case r.CidrIPv6 != "":
			peer["CidrIpv6"] = r.CidrIPv6
			p.v6 = append(p.v6, peer)
		default:
			peer["GroupId"], peer["UserId"] = r.SourceGroup, s.account
			p.refs = append(p.refs, peer)
		}
	}
	out := make([]any, 0, len(perms))
	for _, p := range perms {
		p.out["IpRanges"], p.out["Ipv6Ranges"], p.out["UserIdGroupPairs"], p.out["PrefixListIds"] = orEmpty(p.v4), orEmpty(p.v6), orEmpty(p.refs), []any{}
		out = append(out, p.out)
	}
	return out
}

func orEmpty(xs []any) []any {
	if xs == nil {
		return []any{}
	}
	return xs
}

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Service) groupShape(g group) map[string]any {
	return map[string]any{
		"GroupId": g.id, "GroupName": g.name, "Description": g.description, "VpcId": g.vpc, "OwnerId": s.account,
		"IpPermissions": s.ipPermissions(g.ingress), "IpPermissionsEgress": s.ipPermissions(g.egress), "Tags": tagList(g.tags),
	}
}

func (s *Service) createSecurityGroup(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name, desc := in.String("GroupName"), in.String("Description")
	if name == "" {
		return nil, missingParameter("GroupName")
	}
	if desc == "" {
		return nil, missingParameter("GroupDescription")
	}
	if strings.EqualFold(name, "default") {
		return nil, protocol.Errorf("InvalidGroup.Reserved", "The security group 'default' is reserved: every VPC has its default group")
	}
	tags, err := tagsOf(in, "security-group")
	if err != nil {
		return nil, err
	}
	s.netMu.Lock()
	defer s.netMu.Unlock()
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	vpc := in.String("VpcId")
	if vpc == "" {
		vpc = s.vpcID
	}
	if _, ok := set.Vpc(vpc); !ok && vpc != s.vpcID {
		return nil, notFoundCode("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpc)
	}
	if _, ok := set.GroupNamed(s.specVpc(vpc), name); ok {
		return nil, protocol.Errorf("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpc)
	}
	spec := &network.SecurityGroupSpec{Name: network.NewID("sg"), GroupName: name, Description: desc, Vpc: s.specVpc(vpc), Tags: tags}
	if err := s.put(ctx, network.KindSecurityGroup, spec, spec.Name); err != nil {
		return nil, err
	}
	s.events.Info(network.KindSecurityGroup, spec.Name, notEnforced, spec.Name)
	return map[string]any{"GroupId": spec.Name, "Tags": tagList(tags)}, nil
}

func (s *Service) describeSecurityGroups(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	all := s.groups(set)
	ids, names := in.Strings("GroupIds"), in.Strings("GroupNames")
	for _, id := range ids {
		if !slices.ContainsFunc(all, func(g group) bool { return g.id == id }) {
			return nil, notFoundCode("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(all, func(g group) bool { return g.vpc == s.vpcID && strings.EqualFold(g.name, n) }) {
			return nil, notFoundCode("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", n, s.vpcID)
		}
	}
	out := []any{}
	for _, g := range all {
		if len(ids) > 0 && !slices.Contains(ids, g.id) {
			continue
		}
		if len(names) > 0 && (g.vpc != s.vpcID || !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, g.name) })) {
			continue
		}
		f := func(name string) ([]string, bool) {
			switch name {
			case "group-id":
				return []string{g.id}, true
			case "group-name":
				return []string{g.name}, true
			case "vpc-id":
				return []string{g.vpc}, true
			case "owner-id":
				return []string{s.account}, true
			case "description":
				return []string{g.description}, true
			}
			return tagField(g.tags, name)
		}
		ok, err := matchAll(filters(in), f, []string{"group-id", "group-name", "vpc-id", "owner-id", "description", "tag:KEY", "tag-key", "tag-value"})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s.groupShape(g))
		}
	}
	return paged("SecurityGroups", out, in, 5, 1000)
}

func (s *Service) deleteSecurityGroup(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	s.netMu.Lock()
	defer s.netMu.Unlock()
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	g, err := s.findGroup(set, in.String("GroupId"), in.String("GroupName"))
	if err != nil {
		return nil, err
	}
	if g.isDefault {
		return nil, protocol.Errorf("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.id)
	}
	var users []string
	for _, inst := range s.liveInstances() {
		if inst.Network != nil && slices.ContainsFunc(inst.Network.SecurityGroups, func(r compute.SecurityGroupRef) bool { return r.ID == g.id }) {
			users = append(users, inst.ID)
		}
	}
	users = append(users, set.ReferringGroups(g.id)...)
	if len(users) > 0 {
		return nil, protocol.Errorf("DependencyViolation", "resource %s has a dependent object: %s", g.id, strings.Join(users, ", "))
	}
	// A load balancer that has the group refers to it.
	if err := s.remove(ctx, network.KindSecurityGroup, g.id, "resource "+g.id+" has a dependent object"); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}
