package controller

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/network"
)

// Kind names of load balancer resources.
const (
	KindTargetGroup  = "target-group"
	KindLoadBalancer = "load-balancer"
)

// TargetGroupKind is the target group resource kind.
func TargetGroupKind() kind.Kind {
	return &kind.Def[elb.TargetGroupSpec, TargetGroup]{
		Meta: kind.Info{Name: KindTargetGroup, Title: "target group", StackKey: "targetGroups", Prefix: TargetGroupPrefix,
			Aliases: []string{"target-groups", "tg"}},
		NameOf:     func(s *elb.TargetGroupSpec) string { return s.Name },
		Defaults:   func(s *elb.TargetGroupSpec) { s.ApplyDefaults() },
		Validate:   func(s *elb.TargetGroupSpec) fielderr.List { return s.Validate() },
		Comparable: func(s *elb.TargetGroupSpec) { s.Attributes = elb.EffectiveAttributes(s.Attributes) },
		// A target group uses its VPC, which cannot go away under it.
		Refs: func(s *elb.TargetGroupSpec) []kind.Ref {
			refs := []kind.Ref{{Path: "vpc", Kind: network.KindVpc, Name: s.Vpc}}
			for j, t := range s.Targets {
				refs = append(refs, kind.Ref{Path: fielderr.Index("targets", j) + ".instances", Kind: compute.KindInstanceGroup, Name: t.Instances})
			}
			return refs
		},
		SpecOf: func(r *TargetGroup) (elb.TargetGroupSpec, string) { return r.Spec, r.Owner },
		BuildOf: func(_ context.Context, env kind.Env, spec *elb.TargetGroupSpec, owner string, old *TargetGroup) (*TargetGroup, bool, error) {
			return kind.Rebuild(old, spec, owner, func(r *TargetGroup) (*elb.TargetGroupSpec, *string) { return &r.Spec, &r.Owner }, func() *TargetGroup {
				return &TargetGroup{Spec: *spec, Owner: owner, CreatedAt: env.Now(),
					ARN: env.ARN("elasticloadbalancing", "targetgroup/"+spec.Name+"/"+randHex(16))}
			})
		},
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*TargetGroup).Spec.Name }},
			{Header: "PROTOCOL", Value: func(r any) string { return r.(*TargetGroup).Spec.Protocol }},
			{Header: "PORT", Value: func(r any) string { return strconv.Itoa(r.(*TargetGroup).Spec.Port) }},
			{Header: "TARGETS", Value: func(r any) string { return strconv.Itoa(len(r.(*TargetGroup).Spec.Targets)) }},
			{Header: "STACK", Value: func(r any) string { return r.(*TargetGroup).Owner }},
		},
	}
}

// LoadBalancerKind is the load balancer resource kind.
func LoadBalancerKind() kind.Kind {
	return &kind.Def[elb.LoadBalancerSpec, LoadBalancer]{
		Meta: kind.Info{Name: KindLoadBalancer, Title: "load balancer", StackKey: "loadBalancers", Prefix: LoadBalancerPrefix,
			Aliases: []string{"load-balancers", "lb", "alb"}},
		NameOf:     func(s *elb.LoadBalancerSpec) string { return s.Name },
		Defaults:   func(s *elb.LoadBalancerSpec) { s.ApplyDefaults() },
		Validate:   func(s *elb.LoadBalancerSpec) fielderr.List { return s.Validate() },
		Comparable: func(s *elb.LoadBalancerSpec) { s.Attributes = elb.EffectiveLoadBalancerAttributes(s.Attributes) },
		Resolve: func(s *elb.LoadBalancerSpec, dir string) fielderr.List {
			var errs fielderr.List
			elb.ForEachAction(s, func(path string, a *elb.ActionSpec) {
				if a.Static == nil || strings.TrimSpace(a.Static.Root) == "" {
					return
				}
				abs, err := compute.ResolveDir(dir, a.Static.Root)
				if err != nil {
					errs.Add(path+".static.root", a.Static.Root, err.Error(),
						"give an existing directory to serve, absolute or relative to the stack file")
					return
				}
				a.Static.Root = abs
			})
			return errs
		},
		Refs: func(s *elb.LoadBalancerSpec) []kind.Ref {
			refs := networkRefs(s)
			elb.ForEachAction(s, func(path string, a *elb.ActionSpec) {
				refs = append(refs, kind.Ref{Path: path + ".targetGroup", Kind: KindTargetGroup, Name: a.TargetGroup})
				if a.Forward != nil {
					for k, w := range a.Forward.TargetGroups {
						refs = append(refs, kind.Ref{Path: fielderr.Index(path+".forward.targetGroups", k) + ".name", Kind: KindTargetGroup, Name: w.Name})
					}
				}
			})
			return refs
		},
		Together:    elb.PortClashes,
		SpecOf:      func(r *LoadBalancer) (elb.LoadBalancerSpec, string) { return r.Spec, r.Owner },
		PreflightOf: preflightListeners,
		BuildOf: func(_ context.Context, env kind.Env, spec *elb.LoadBalancerSpec, owner string, old *LoadBalancer) (*LoadBalancer, bool, error) {
			return kind.Rebuild(old, spec, owner, func(r *LoadBalancer) (*elb.LoadBalancerSpec, *string) { return &r.Spec, &r.Owner }, func() *LoadBalancer {
				id := randHex(16)
				return &LoadBalancer{Spec: *spec, Owner: owner, CreatedAt: env.Now(),
					ARN: env.ARN("elasticloadbalancing", "loadbalancer/app/"+spec.Name+"/"+id)}
			})
		},
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*LoadBalancer).Spec.Name }},
			{Header: "ADDRESS", Value: func(r any) string { return r.(*LoadBalancer).Spec.Address }},
			{Header: "LISTENERS", Value: func(r any) string {
				var ports []string
				for _, l := range r.(*LoadBalancer).Spec.Listeners {
					ports = append(ports, l.Protocol+":"+strconv.Itoa(l.Port))
				}
				return strings.Join(ports, ",")
			}},
			{Header: "STACK", Value: func(r any) string { return r.(*LoadBalancer).Owner }},
		},
	}
}

// networkRefs are a load balancer's references to its VPC, subnets and
// security groups, which cannot go away while it uses them. A subnet or a
// group may be a VPC's default one, which is not stored.
func networkRefs(s *elb.LoadBalancerSpec) []kind.Ref {
	refs := []kind.Ref{{Path: "vpc", Kind: network.KindVpc, Name: s.Vpc}}
	for i, m := range s.Subnets {
		refs = append(refs, kind.Ref{Path: fielderr.Index("subnets", i) + ".subnet", Kind: network.KindSubnet, Name: m.Subnet, AllowUnstored: true})
	}
	for i, g := range s.SecurityGroups {
		refs = append(refs, kind.Ref{Path: fielderr.Index("securityGroups", i), Kind: network.KindSecurityGroup, Name: g, AllowUnstored: true})
	}
	return refs
}

// preflightListeners makes sure, before anything is committed, that every
// listener of spec can be served (problems read "listener port N: …"): a port another stored load balancer
// serves on an overlapping address is refused (the data plane cannot
// serve both), and a port this load balancer does not serve yet must be
// free on this machine.
func preflightListeners(_ context.Context, spec *elb.LoadBalancerSpec, all []*LoadBalancer) fielderr.List {
	var errs fielderr.List
	for _, l := range spec.Listeners {
		what := "listener port " + strconv.Itoa(l.Port) + ": "
		hp := net.JoinHostPort(addrOrDefault(spec.Address), strconv.Itoa(l.Port))
		own := false
		clash := false
		for _, lb := range all {
			for _, hl := range lb.Spec.Listeners {
				if hl.Port != l.Port || !addrsOverlap(addrOrDefault(spec.Address), addrOrDefault(lb.Spec.Address)) {
					continue
				}
				if lb.Spec.Name == spec.Name {
					own = true
					continue
				}
				owner := "created outside any stack"
				if lb.Owner != "" {
					owner = "of stack " + lb.Owner
				}
				errs.Add("", nil, what+hp+" is already served by load balancer "+lb.Spec.Name+" ("+owner+")",
					"pick another port for this listener, or remove that stack with `madang destroy -f` on its file")
				clash = true
			}
		}
		if own || clash {
			continue
		}
		ln, err := net.Listen("tcp", hp)
		if err != nil {
			errs.Add("", nil, what+"cannot listen on "+hp+" ("+errText(err)+")",
				"pick a free port, or stop the program that holds it (ss -ltnp 'sport = :"+strconv.Itoa(l.Port)+"')")
			continue
		}
		_ = ln.Close()
	}
	return errs
}

// addrsOverlap reports whether listeners on a and b (IP addresses) would
// contend for one socket: the same IP, or a wildcard address.
func addrsOverlap(a, b string) bool {
	ia, errA := netip.ParseAddr(a)
	ib, errB := netip.ParseAddr(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return ia.Unmap() == ib.Unmap() || ia.IsUnspecified() || ib.IsUnspecified()
}

func errText(err error) string {
	if op, ok := errors.AsType[*net.OpError](err); ok {
		return op.Err.Error()
	}
	return err.Error()
}

func addrOrDefault(a string) string {
	if a == "" {
		return elb.DefaultAddress
	}
	return a
}
