package autoscaling

import (
	"context"
	"reflect"
	"strconv"

	"github.com/madang-dev/madang/internal/autoscaling/policyref"
	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/kind"
)

// GroupKind is the Auto Scaling group resource kind (stack key
// autoScalingGroups).
func GroupKind() kind.Kind {
	return &kind.Def[GroupSpec, Group]{
		Meta: kind.Info{Name: KindGroup, Title: "Auto Scaling group", StackKey: "autoScalingGroups", Prefix: GroupPrefix,
			Aliases: []string{"asg", "asgs", "auto-scaling-groups", "autoscaling-group", "autoscaling-groups"}},
		NameOf:   func(s *GroupSpec) string { return s.Name },
		Defaults: func(s *GroupSpec) { s.ApplyDefaults() },
		Validate: func(s *GroupSpec) fielderr.List { return s.Validate() },
		Refs: func(s *GroupSpec) []kind.Ref {
			refs := []kind.Ref{{Path: "launchTemplate", Kind: compute.KindLaunchTemplate, Name: s.LaunchTemplate}}
			for i, tg := range s.TargetGroups {
				refs = append(refs, kind.Ref{Path: fielderr.Index("targetGroups", i), Kind: elbctl.KindTargetGroup, Name: tg})
			}
			return refs
		},
		SpecOf: func(r *Group) (GroupSpec, string) { return r.Spec, r.Owner },
		BuildOf: func(_ context.Context, env kind.Env, s *GroupSpec, owner string, old *Group) (*Group, bool, error) {
			if old != nil && reflect.DeepEqual(old.Spec, *s) && old.Owner == owner {
				return old, false, nil
			}
			g := &Group{Spec: *s, Owner: owner, PolicyARNs: map[string]string{}}
			if old != nil {
				g.ARN, g.CreatedAt = old.ARN, old.CreatedAt
			} else {
				g.ARN, g.CreatedAt = env.ARN("autoscaling", groupResource(newUUID(), s.Name)), env.Now()
			}
			for _, p := range s.ScalingPolicies {
				if old != nil && old.PolicyARNs[p.Name] != "" {
					g.PolicyARNs[p.Name] = old.PolicyARNs[p.Name]
				} else {
					g.PolicyARNs[p.Name] = env.ARN("autoscaling", policyResource(newUUID(), s.Name, p.Name))
				}
			}
			return g, true, nil
		},
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*Group).Spec.Name }},
			{Header: "LAUNCH TEMPLATE", Value: func(r any) string {
				g := r.(*Group)
				return g.Spec.LaunchTemplate + ":" + g.Spec.Version
			}},
			{Header: "MIN", Value: func(r any) string { return strconv.Itoa(deref(r.(*Group).Spec.MinSize)) }},
			{Header: "MAX", Value: func(r any) string { return strconv.Itoa(deref(r.(*Group).Spec.MaxSize)) }},
			{Header: "POLICIES", Value: func(r any) string { return strconv.Itoa(len(r.(*Group).Spec.ScalingPolicies)) }},
			{Header: "STACK", Value: func(r any) string { return r.(*Group).Owner }},
		},
	}
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// ParsePolicyRef finds the group and policy an alarm action names (see
// package policyref).
func ParsePolicyRef(action string) (group, policyName string, err error) {
	return policyref.Parse(action)
}
