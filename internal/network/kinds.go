package network

import (
	"context"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/kind"
)

// VpcKind is the VPC resource kind.
func VpcKind() kind.Kind {
	return &kind.Def[VpcSpec, Vpc]{
		Meta:     kind.Info{Name: KindVpc, Title: "VPC", StackKey: "vpcs", Prefix: VpcPrefix, Aliases: []string{"vpcs"}},
		NameOf:   func(s *VpcSpec) string { return s.Name },
		Validate: func(s *VpcSpec) fielderr.List { return s.Validate() },
		SpecOf:   func(r *Vpc) (VpcSpec, string) { return r.Spec, r.Owner },
		BuildOf: func(_ context.Context, env kind.Env, spec *VpcSpec, owner string, old *Vpc) (*Vpc, bool, error) {
			return kind.Rebuild(old, spec, owner, func(r *Vpc) (*VpcSpec, *string) { return &r.Spec, &r.Owner }, func() *Vpc {
				return &Vpc{Spec: *spec, Owner: owner, CreatedAt: env.Now()}
			})
		},
		Table: []kind.Column{
			{Header: "ID", Value: func(r any) string { return r.(*Vpc).Spec.Name }},
			{Header: "CIDR", Value: func(r any) string { return r.(*Vpc).Spec.CidrBlock }},
			{Header: "NAME", Value: func(r any) string { return r.(*Vpc).Spec.Tags["Name"] }},
			{Header: "STACK", Value: func(r any) string { return r.(*Vpc).Owner }},
		},
	}
}

// SubnetKind is the subnet resource kind.
func SubnetKind() kind.Kind {
	return &kind.Def[SubnetSpec, Subnet]{
		Meta:     kind.Info{Name: KindSubnet, Title: "subnet", StackKey: "subnets", Prefix: SubnetPrefix, Aliases: []string{"subnets"}},
		NameOf:   func(s *SubnetSpec) string { return s.Name },
		Validate: func(s *SubnetSpec) fielderr.List { return s.Validate() },
		Refs: func(s *SubnetSpec) []kind.Ref {
			return []kind.Ref{{Path: "vpc", Kind: KindVpc, Name: s.Vpc}}
		},
		Together: subnetConflicts,
		SpecOf:   func(r *Subnet) (SubnetSpec, string) { return r.Spec, r.Owner },
		BuildOf: func(_ context.Context, env kind.Env, spec *SubnetSpec, owner string, old *Subnet) (*Subnet, bool, error) {
			return kind.Rebuild(old, spec, owner, func(r *Subnet) (*SubnetSpec, *string) { return &r.Spec, &r.Owner }, func() *Subnet {
				return &Subnet{Spec: *spec, Owner: owner, CreatedAt: env.Now()}
			})
		},
		Table: []kind.Column{
			{Header: "ID", Value: func(r any) string { return r.(*Subnet).Spec.Name }},
			{Header: "VPC", Value: func(r any) string { return r.(*Subnet).Spec.Vpc }},
			{Header: "ZONE", Value: func(r any) string { return r.(*Subnet).Spec.AvailabilityZone }},
			{Header: "CIDR", Value: func(r any) string { return r.(*Subnet).Spec.CidrBlock }},
			{Header: "STACK", Value: func(r any) string { return r.(*Subnet).Owner }},
		},
	}
}

// SecurityGroupKind is the security group resource kind.
func SecurityGroupKind() kind.Kind {
	return &kind.Def[SecurityGroupSpec, SecurityGroup]{
		Meta: kind.Info{Name: KindSecurityGroup, Title: "security group", StackKey: "securityGroups", Prefix: SecurityGroupPrefix,
			Aliases: []string{"security-groups", "sg"}},
		NameOf:   func(s *SecurityGroupSpec) string { return s.Name },
		Defaults: func(s *SecurityGroupSpec) { s.Defaults() },
		Validate: func(s *SecurityGroupSpec) fielderr.List { return s.Validate() },
		// A rule's source group is no reference: it may be a VPC's default
		// group, which is not stored. The EC2 service checks that it exists
		// and refuses to delete a group another's rule names.
		Refs: func(s *SecurityGroupSpec) []kind.Ref {
			if s.Vpc == "" {
				return nil
			}
			return []kind.Ref{{Path: "vpc", Kind: KindVpc, Name: s.Vpc}}
		},
		Together: groupNameClashes,
		SpecOf:   func(r *SecurityGroup) (SecurityGroupSpec, string) { return r.Spec, r.Owner },
		BuildOf: func(_ context.Context, env kind.Env, spec *SecurityGroupSpec, owner string, old *SecurityGroup) (*SecurityGroup, bool, error) {
			return kind.Rebuild(old, spec, owner, func(r *SecurityGroup) (*SecurityGroupSpec, *string) { return &r.Spec, &r.Owner }, func() *SecurityGroup {
				return &SecurityGroup{Spec: *spec, Owner: owner, CreatedAt: env.Now()}
			})
		},
		Table: []kind.Column{
			{Header: "ID", Value: func(r any) string { return r.(*SecurityGroup).Spec.Name }},
			{Header: "NAME", Value: func(r any) string { return r.(*SecurityGroup).Spec.GroupName }},
			{Header: "VPC", Value: func(r any) string { return orDefault(r.(*SecurityGroup).Spec.Vpc) }},
			{Header: "RULES", Value: func(r any) string {
				g := r.(*SecurityGroup).Spec
				return strconv.Itoa(len(g.Ingress)) + " in, " + strconv.Itoa(len(g.Egress)) + " out (recorded, not enforced)"
			}},
			{Header: "STACK", Value: func(r any) string { return r.(*SecurityGroup).Owner }},
		},
	}
}

func orDefault(vpc string) string {
	if strings.TrimSpace(vpc) == "" {
		return "(default)"
	}
	return vpc
}
