package ec2

import (
	"context"
	"maps"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/network"
)

// isNetworkID reports whether id names a VPC, subnet or security group.
func isNetworkID(id string) bool {
	return strings.HasPrefix(id, "vpc-") || strings.HasPrefix(id, "subnet-") || strings.HasPrefix(id, "sg-")
}

// splitTagCall separates a tag call's network resources from its
// instances: the instances go on to the instance tag handler.
func splitTagCall(call *awsapi.Call) (network []string, rest *awsapi.Call) {
	var others []any
	for _, id := range call.Input.Strings("Resources") {
		if isNetworkID(id) {
			network = append(network, id)
		} else {
			others = append(others, id)
		}
	}
	if len(network) == 0 {
		return nil, call
	}
	if len(others) == 0 {
		return network, nil
	}
	in := maps.Clone(call.Input)
	in["Resources"] = others
	cp := *call
	cp.Input = protocol.Struct(in)
	return network, &cp
}

// createTagsAll is CreateTags of instances and of stored VPCs, subnets
// and security groups (the defaults keep no tags).
func (s *Service) createTagsAll(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.tagAll(ctx, call, s.createTags, func(tags map[string]string, in protocol.Struct) {
		for _, t := range in.Structs("Tags") {
			tags[t.String("Key")] = t.String("Value")
		}
	})
}

// deleteTagsAll is DeleteTags of instances and of stored networking
// resources.
func (s *Service) deleteTagsAll(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.tagAll(ctx, call, s.deleteTags, func(tags map[string]string, in protocol.Struct) {
		if !in.Has("Tags") {
			clear(tags)
			return
		}
		for _, t := range in.Structs("Tags") {
			cur, ok := tags[t.String("Key")]
			if ok && (!t.Has("Value") || t.String("Value") == cur) {
				delete(tags, t.String("Key"))
			}
		}
	})
}

func (s *Service) tagAll(ctx context.Context, call *awsapi.Call, instances awsapi.Handler, change func(map[string]string, protocol.Struct)) (map[string]any, error) {
	ids, rest := splitTagCall(call)
	if len(ids) == 0 {
		return instances(ctx, call)
	}
	s.netMu.Lock()
	defer s.netMu.Unlock()
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	type put struct {
		kind  string
		spec  any
		tags  *map[string]string
		owner string
	}
	var puts []put
	for _, id := range ids {
		var p put
		switch {
		case strings.HasPrefix(id, "vpc-"):
			v, ok := set.Vpc(id)
			if !ok {
				return nil, s.defaultOrMissing(set, id, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist")
			}
			spec := v.Spec
			p = put{network.KindVpc, &spec, &spec.Tags, v.Owner}
		case strings.HasPrefix(id, "subnet-"):
			sn, ok := set.Subnet(id)
			if !ok {
				return nil, s.defaultOrMissing(set, id, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist")
			}
			spec := sn.Spec
			p = put{network.KindSubnet, &spec, &spec.Tags, sn.Owner}
		default:
			g, ok := set.Group(id)
			if !ok {
				return nil, s.defaultOrMissing(set, id, "InvalidGroup.NotFound", "The security group '%s' does not exist")
			}
			spec := *cloneGroup(&g.Spec)
			p = put{network.KindSecurityGroup, &spec, &spec.Tags, g.Owner}
		}
		if p.owner != "" {
			// Refused before anything changes, instances' tags included.
			return nil, protocol.Errorf("OperationNotPermitted", "%s belongs to stack %q: change its tags in that stack's file", id, p.owner)
		}
		tags := maps.Clone(*p.tags)
		if tags == nil {
			tags = map[string]string{}
		}
		change(tags, call.Input)
		if err := checkTags(tags); err != nil {
			return nil, err
		}
		if len(tags) == 0 {
			tags = nil
		}
		*p.tags = tags
		puts = append(puts, p)
	}
	if rest != nil {
		if _, err := instances(ctx, rest); err != nil {
			return nil, err
		}
	}
	for i, p := range puts {
		if err := s.put(ctx, p.kind, p.spec, ids[i]); err != nil {
			return nil, err
		}
	}
	return map[string]any{}, nil
}

// defaultOrMissing is the error for tagging a network id that is not
// stored: madang's defaults keep no tags; anything else does not exist.
func (s *Service) defaultOrMissing(set *network.Set, id, code, format string) error {
	if id == s.vpcID || s.isDefaultGroup(set, id) {
		return invalidParameter("%s is one of madang's default resources, which keep no tags", id)
	}
	if _, ok := s.zoneOfSubnet(id); ok {
		return invalidParameter("%s is one of madang's default subnets, which keep no tags", id)
	}
	return notFoundCode(code, format, id)
}

// isDefaultGroup reports whether id is a VPC's default group.
func (s *Service) isDefaultGroup(set *network.Set, id string) bool {
	if id == s.defaultSecurityGroup {
		return true
	}
	for _, v := range set.Vpcs {
		if s.defaultGroupOf(v.Spec.Name) == id {
			return true
		}
	}
	return false
}
