package ec2

import (
	"context"
	"slices"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/network"
)

// permissionRules reads a rule call's IpPermissions (or its legacy flat
// parameters: IpProtocol, FromPort, ToPort, CidrIp,
// SourceSecurityGroupName) into one rule per peer, normalized.
func (s *Service) permissionRules(in protocol.Struct, set *network.Set, vpc string) ([]network.Rule, error) {
	var rules []network.Rule
	perms := in.Structs("IpPermissions")
	if len(perms) == 0 && (in.Has("IpProtocol") || in.Has("CidrIp") || in.Has("SourceSecurityGroupName")) {
		p := protocol.Struct{"IpProtocol": in.String("IpProtocol")}
		for _, k := range []string{"FromPort", "ToPort"} {
			if in.Has(k) {
				p[k] = in.Int(k)
			}
		}
		if c := in.String("CidrIp"); c != "" {
			p["IpRanges"] = []any{map[string]any{"CidrIp": c}}
		}
		if n := in.String("SourceSecurityGroupName"); n != "" {
			p["UserIdGroupPairs"] = []any{map[string]any{"GroupName": n}}
			if p["IpProtocol"] == "" {
				p["IpProtocol"] = "-1"
			}
		}
		perms = []protocol.Struct{p}
	}
	if len(perms) == 0 {
		return nil, missingParameter("IpPermissions")
	}
	for _, p := range perms {
		base := network.Rule{Protocol: p.String("IpProtocol"), FromPort: int(p.IntOr("FromPort", -1)), ToPort: int(p.IntOr("ToPort", -1))}
		if base.Protocol == "" {
			return nil, missingParameter("IpPermissions.IpProtocol")
		}
		if len(p.Structs("PrefixListIds")) > 0 {
			return nil, invalidParameter("madang has no managed prefix lists; give IpRanges, Ipv6Ranges or UserIdGroupPairs")
		}
		n := len(rules)
		for _, r := range p.Structs("IpRanges") {
			rule := base
			rule.CidrIPv4, rule.Description = r.String("CidrIp"), r.String("Description")
			rules = append(rules, rule)
		}
		for _, r := range p.Structs("Ipv6Ranges") {
			rule := base
			rule.CidrIPv6, rule.Description = r.String("CidrIpv6"), r.String("Description")
			rules = append(rules, rule)
		}
		for _, r := range p.Structs("UserIdGroupPairs") {
			rule := base
			rule.Description = r.String("Description")
			id := r.String("GroupId")
			if id == "" && r.String("GroupName") != "" {
				g, ok := s.groupNamed(set, vpc, r.String("GroupName"))
				if !ok {
					return nil, notFoundCode("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", r.String("GroupName"), vpc)
				}
				id = g
			}
			if !slices.ContainsFunc(s.groups(set), func(g group) bool { return g.id == id }) {
				return nil, notFoundCode("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
			}
			rule.SourceGroup = id
			rules = append(rules, rule)
		}
		if len(rules) == n {
			return nil, invalidParameter("The IpPermissions entry of protocol %s names no peer: give IpRanges, Ipv6Ranges or UserIdGroupPairs", base.Protocol)
		}
	}
	for i := range rules {
		rules[i].Normalize()
		if errs := rules[i].Validate(); len(errs) > 0 {
			return nil, invalidParameter("Invalid rule %s: %s", rules[i].String(), errs.Error())
		}
	}
	return rules, nil
}

// groupNamed is the id of a group of a VPC by name, default groups
// included.
func (s *Service) groupNamed(set *network.Set, vpc, name string) (string, bool) {
	for _, g := range s.groups(set) {
		if g.vpc == vpc && strings.EqualFold(g.name, name) {
			return g.id, true
		}
	}
	return "", false
}

// ruleGroup finds the stored group a rule call changes: the default
// groups keep AWS's default rules.
func (s *Service) ruleGroup(set *network.Set, in protocol.Struct) (group, error) {
	g, err := s.findGroup(set, in.String("GroupId"), in.String("GroupName"))
	if err != nil {
		return group{}, err
	}
	if g.isDefault {
		return group{}, invalidParameter("The security group %s is the default group of VPC %s, whose rules madang keeps as AWS makes them; create a group (CreateSecurityGroup) for your rules", g.id, g.vpc)
	}
	return g, nil
}

// ruleShape is a SecurityGroupRule.
func (s *Service) ruleShape(groupID string, egress bool, r network.Rule) map[string]any {
	out := map[string]any{
		"SecurityGroupRuleId": r.ID(groupID, egress), "GroupId": groupID, "GroupOwnerId": s.account, "IsEgress": egress,
		"IpProtocol": r.Protocol, "FromPort": int64(r.FromPort), "ToPort": int64(r.ToPort), "Tags": []any{},
	}
	if r.Description != "" {
		out["Description"] = r.Description
	}
	switch {
	case r.CidrIPv4 != "":
		out["CidrIpv4"] = r.CidrIPv4
	case r.CidrIPv6 != "":
		out["CidrIpv6"] = r.CidrIPv6
	default:
		out["ReferencedGroupInfo"] = map[string]any{"GroupId": r.SourceGroup, "UserId": s.account}
	}
	return out
}

func (s *Service) authorizeIngress(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.authorize(ctx, call, false)
}

func (s *Service) authorizeEgress(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.authorize(ctx, call, true)
}

func (s *Service) revokeIngress(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.revoke(ctx, call, false)
}

func (s *Service) revokeEgress(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.revoke(ctx, call, true)
}

// authorize adds rules to a group: all of them, or none when one is
// already there (InvalidPermission.Duplicate).
func (s *Service) authorize(ctx context.Context, call *awsapi.Call, egress bool) (map[string]any, error) {
	in := call.Input
	s.netMu.Lock()
	defer s.netMu.Unlock()
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	g, err := s.ruleGroup(set, in)
	if err != nil {
		return nil, err
	}
	rules, err := s.permissionRules(in, set, g.vpc)
	if err != nil {
		return nil, err
	}
	spec := cloneGroup(g.spec)
	list := &spec.Ingress
	if egress {
		list = &spec.Egress
	}
	next := slices.Clone(*list)
	if next == nil {
		next = []network.Rule{}
	}
	out := make([]any, 0, len(rules))
	for _, r := range rules {
		if network.ContainsRule(next, r) {
			return nil, protocol.Errorf("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", r.String())
		}
		next = append(next, r)
		out = append(out, s.ruleShape(g.id, egress, r))
	}
	*list = next
	if err := s.put(ctx, network.KindSecurityGroup, spec, g.id); err != nil {
		return nil, err
	}
	s.events.Info(network.KindSecurityGroup, g.id, notEnforced, g.id)
	return map[string]any{"Return": true, "SecurityGroupRules": out}, nil
}

// revoke removes rules from a group, named by IpPermissions or by
// SecurityGroupRuleIds: all of them, or none when one is not there
// (InvalidPermission.NotFound).
func (s *Service) revoke(ctx context.Context, call *awsapi.Call, egress bool) (map[string]any, error) {
	in := call.Input
	s.netMu.Lock()
	defer s.netMu.Unlock()
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	g, err := s.ruleGroup(set, in)
	if err != nil {
		return nil, err
	}
	spec := cloneGroup(g.spec)
	list := &spec.Ingress
	if egress {
		list = &spec.Egress
	}
	next := slices.Clone(*list)
	if next == nil {
		next = []network.Rule{}
	}
	if ids := in.Strings("SecurityGroupRuleIds"); len(ids) > 0 {
		for _, id := range ids {
			i := slices.IndexFunc(next, func(r network.Rule) bool { return r.ID(g.id, egress) == id })
			if i < 0 {
				return nil, protocol.Errorf("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist in group %s", id, g.id)
			}
			next = slices.Delete(next, i, i+1)
		}
	} else {
		rules, err := s.permissionRules(in, set, g.vpc)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			i := network.IndexRule(next, r)
			if i < 0 {
				return nil, protocol.Errorf("InvalidPermission.NotFound", "The specified rule does not exist in this security group: \"%s\"", r.String())
			}
			next = slices.Delete(next, i, i+1)
		}
	}
	*list = next
	if err := s.put(ctx, network.KindSecurityGroup, spec, g.id); err != nil {
		return nil, err
	}
	return map[string]any{"Return": true}, nil
}

func cloneGroup(g *network.SecurityGroupSpec) *network.SecurityGroupSpec {
	cp := *g
	cp.Ingress, cp.Egress = slices.Clone(g.Ingress), slices.Clone(g.Egress)
	if cp.Egress == nil {
		cp.Egress = []network.Rule{}
	}
	return &cp
}

func (s *Service) describeSecurityGroupRules(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	ids := in.Strings("SecurityGroupRuleIds")
	var out []any
	found := map[string]bool{}
	for _, g := range s.groups(set) {
		for _, dir := range []struct {
			egress bool
			rules  []network.Rule
		}{{false, g.ingress}, {true, g.egress}} {
			for _, r := range dir.rules {
				id := r.ID(g.id, dir.egress)
				if len(ids) > 0 && !slices.Contains(ids, id) {
					continue
				}
				f := func(name string) ([]string, bool) {
					switch name {
					case "group-id":
						return []string{g.id}, true
					case "security-group-rule-id":
						return []string{id}, true
					}
					return tagField(nil, name)
				}
				ok, err := matchAll(filters(in), f, []string{"group-id", "security-group-rule-id", "tag:KEY", "tag-key", "tag-value"})
				if err != nil {
					return nil, err
				}
				if ok {
					found[id] = true
					out = append(out, s.ruleShape(g.id, dir.egress, r))
				}
			}
		}
	}
	for _, id := range ids {
		if !found[id] {
			return nil, protocol.Errorf("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
		}
	}
	return paged("SecurityGroupRules", out, in, 5, 1000)
}
