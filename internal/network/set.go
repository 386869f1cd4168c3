package network

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/madang-dev/madang/internal/state"
)

// Set is the stored networking records at one moment, in id order.
type Set struct {
	Vpcs    []Vpc
	Subnets []Subnet
	Groups  []SecurityGroup
}

// Store reads networking records from the state store.
type Store struct {
	State state.Store
}

// Load reads every stored VPC, subnet and security group.
func (s Store) Load(ctx context.Context) (*Set, error) {
	out := &Set{}
	if err := load(ctx, s.State, VpcPrefix, &out.Vpcs); err != nil {
		return nil, err
	}
	if err := load(ctx, s.State, SubnetPrefix, &out.Subnets); err != nil {
		return nil, err
	}
	if err := load(ctx, s.State, SecurityGroupPrefix, &out.Groups); err != nil {
		return nil, err
	}
	return out, nil
}

func load[R any](ctx context.Context, st state.Store, prefix string, out *[]R) error {
	kvs, _, err := st.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("list %s: %w", strings.Trim(prefix, "/"), err)
	}
	for _, kv := range kvs {
		var r R
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		*out = append(*out, r)
	}
	return nil
}

// Vpc returns the stored VPC of id.
func (s *Set) Vpc(id string) (*Vpc, bool) {
	for i := range s.Vpcs {
		if s.Vpcs[i].Spec.Name == id {
			return &s.Vpcs[i], true
		}
	}
	return nil, false
}

// Subnet returns the stored subnet of id.
func (s *Set) Subnet(id string) (*Subnet, bool) {
	for i := range s.Subnets {
		if s.Subnets[i].Spec.Name == id {
			return &s.Subnets[i], true
		}
	}
	return nil, false
}

// Group returns the stored security group of id.
func (s *Set) Group(id string) (*SecurityGroup, bool) {
	for i := range s.Groups {
		if s.Groups[i].Spec.Name == id {
			return &s.Groups[i], true
		}
	}
	return nil, false
}

// GroupNamed returns the stored security group of a VPC ("" the
// default) with a name, compared as AWS does, without regard to case.
func (s *Set) GroupNamed(vpc, name string) (*SecurityGroup, bool) {
	for i := range s.Groups {
		g := &s.Groups[i]
		if g.Spec.Vpc == vpc && strings.EqualFold(g.Spec.GroupName, name) {
			return g, true
		}
	}
	return nil, false
}

// SubnetsOf returns the stored subnets of a VPC.
func (s *Set) SubnetsOf(vpc string) []Subnet {
	var out []Subnet
	for _, sn := range s.Subnets {
		if sn.Spec.Vpc == vpc {
			out = append(out, sn)
		}
	}
	return out
}

// GroupsOf returns the stored security groups of a VPC ("" the default).
func (s *Set) GroupsOf(vpc string) []SecurityGroup {
	var out []SecurityGroup
	for _, g := range s.Groups {
		if g.Spec.Vpc == vpc {
			out = append(out, g)
		}
	}
	return out
}

// ReferringGroups returns the groups other than id whose rules name id as
// their source or destination.
func (s *Set) ReferringGroups(id string) []string {
	var out []string
	for _, g := range s.Groups {
		if g.Spec.Name == id {
			continue
		}
		for _, r := range append(append([]Rule{}, g.Spec.Ingress...), g.Spec.Egress...) {
			if r.SourceGroup == id {
				out = append(out, g.Spec.Name)
				break
			}
		}
	}
	return out
}
