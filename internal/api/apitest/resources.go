package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/fielderr"
)

// Kind names of the fake's generic resource routes.
const (
	kindTargetGroup  = "target-group"
	kindLoadBalancer = "load-balancer"
)

// fakeResources serves the generic resource routes for target groups and
// load balancers over the fake's TargetGroups and LoadBalancers: a PUT
// stores a spec made by hand (the daemon's rules kept: the path's name is
// the spec's, a stack's resource is refused, the spec is validated, a
// listener's forward needs an existing target group and a free port).
type fakeResources struct{ f *Fake }

// Kinds implements api.Resources.
func (fakeResources) Kinds() []v1.Kind {
	return []v1.Kind{
		{Name: kindTargetGroup, Title: "target group", StackKey: "targetGroups", Columns: []string{"NAME", "AGE"}},
		{Name: kindLoadBalancer, Title: "load balancer", StackKey: "loadBalancers", Columns: []string{"NAME", "AGE"}},
	}
}

func unknownKind(kind string) error {
	return fault.NotFoundf("kind", kind, "no resource kind %q", kind).WithHint("use target-group or load-balancer")
}

// List implements api.Resources.
func (r fakeResources) List(_ context.Context, kind string) (v1.ResourceList, error) {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	l := v1.ResourceList{Kind: kind, Columns: []string{"NAME", "AGE"}, Items: []v1.Resource{}}
	switch kind {
	case kindTargetGroup:
		for _, tg := range f.TargetGroups {
			l.Items = append(l.Items, resourceOf(kind, tg.Spec.Name, tg.Owner, tg))
		}
	case kindLoadBalancer:
		for _, lb := range f.LoadBalancers {
			l.Items = append(l.Items, resourceOf(kind, lb.Spec.Name, lb.Owner, lb))
		}
	default:
		return v1.ResourceList{}, unknownKind(kind)
	}
	return l, nil
}

// Get implements api.Resources.
func (r fakeResources) Get(ctx context.Context, kind, name string) (v1.Resource, error) {
	l, err := r.List(ctx, kind)
	if err != nil {
		return v1.Resource{}, err
	}
	for _, res := range l.Items {
		if res.Name == name {
			return res, nil
		}
	}
	return v1.Resource{}, fault.NotFoundf(kind, name, "no %s %q", kind, name)
}

func resourceOf(kind, name, owner string, rec any) v1.Resource {
	b, _ := json.Marshal(rec)
	return v1.Resource{Kind: kind, Name: name, Owner: owner, Cells: []string{name, ""}, Record: b}
}

// Put implements api.ResourceWriter.
func (r fakeResources) Put(ctx context.Context, kind, name string, body []byte) (v1.Resource, []string, error) {
	var err error
	switch kind {
	case kindTargetGroup:
		err = r.putTargetGroup(name, body)
	case kindLoadBalancer:
		err = r.putLoadBalancer(name, body)
	default:
		err = unknownKind(kind)
	}
	if err != nil {
		return v1.Resource{}, nil, err
	}
	res, err := r.Get(ctx, kind, name)
	return res, nil, err
}

// decodeSpec reads a spec strictly and checks its name against the path's.
func decodeSpec(kind, name string, body []byte, spec any, specName func() string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(spec); err != nil {
		return fault.Invalidf(kind, name, "spec: %v", err)
	}
	if got := specName(); got != name {
		return fault.Invalidf(kind, name, "the spec's name %q differs from %q in the path", got, name).WithHint("use the same name in both")
	}
	return nil
}

// invalid turns the first of a spec's field problems into a fault.
func invalid(kind, name string, errs fielderr.List) error {
	if len(errs) == 0 {
		return nil
	}
	e := errs[0]
	return fault.Invalidf(kind, name, "%s: %s", e.Path, e.Problem).WithHint(e.Fix)
}

func stackOwned(kind, name, owner string) error {
	return fault.New(fault.Conflict, kind, name, fmt.Sprintf("%s %s belongs to stack %s", kind, name, owner),
		"change it in the stack's file and run madang apply")
}

func (r fakeResources) putTargetGroup(name string, body []byte) error {
	var spec elb.TargetGroupSpec
	if err := decodeSpec(kindTargetGroup, name, body, &spec, func() string { return spec.Name }); err != nil {
		return err
	}
	if err := invalid(kindTargetGroup, name, spec.Validate()); err != nil {
		return err
	}
	spec.ApplyDefaults()
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.TargetGroups, func(tg elbctl.TargetGroup) bool { return tg.Spec.Name == name })
	if i < 0 {
		f.TargetGroups = append(f.TargetGroups, elbctl.TargetGroup{Spec: spec, ARN: "arn:aws:elasticloadbalancing:local:000000000000:targetgroup/" + name + "/0", CreatedAt: time.Now()})
	} else if owner := f.TargetGroups[i].Owner; owner != "" {
		return stackOwned(kindTargetGroup, name, owner)
	} else {
		f.TargetGroups[i].Spec = spec
	}
	f.Events.Info(kindTargetGroup, name, "put")
	return nil
}

func (r fakeResources) putLoadBalancer(name string, body []byte) error {
	var spec elb.LoadBalancerSpec
	if err := decodeSpec(kindLoadBalancer, name, body, &spec, func() string { return spec.Name }); err != nil {
		return err
	}
	if err := invalid(kindLoadBalancer, name, spec.Validate()); err != nil {
		return err
	}
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.checkListeners(name, spec); err != nil {
		return err
	}
	if spec.Type == "" {
		spec.Type = elb.DefaultLoadBalancerType
	}
	if spec.Address == "" {
		spec.Address = elb.DefaultAddress
	}
	i := slices.IndexFunc(f.LoadBalancers, func(lb elbctl.LoadBalancer) bool { return lb.Spec.Name == name })
	if i < 0 {
		f.LoadBalancers = append(f.LoadBalancers, elbctl.LoadBalancer{Spec: spec, ARN: "arn:aws:elasticloadbalancing:local:000000000000:loadbalancer/app/" + name + "/0", CreatedAt: time.Now()})
	} else if owner := f.LoadBalancers[i].Owner; owner != "" {
		return stackOwned(kindLoadBalancer, name, owner)
	} else {
		f.LoadBalancers[i].Spec = spec
	}
	f.Events.Info(kindLoadBalancer, name, "put")
	return nil
}

// checkListeners refuses forwards to unknown target groups and ports
// another load balancer listens on; f.mu is held.
func (f *Fake) checkListeners(name string, spec elb.LoadBalancerSpec) error {
	for i, l := range spec.Listeners {
		for _, other := range f.LoadBalancers {
			if other.Spec.Name == name {
				continue
			}
			for _, ol := range other.Spec.Listeners {
				if ol.Port == l.Port {
					return fault.New(fault.InUse, kindLoadBalancer, name, fmt.Sprintf("listeners[%d].port: port %d is in use by load balancer %s", i, l.Port, other.Spec.Name),
						"choose another port")
				}
			}
		}
		acts := slices.Clone(l.DefaultActions)
		for _, ru := range l.Rules {
			acts = append(acts, ru.Actions...)
		}
		for _, a := range acts {
			tgs := []string{a.TargetGroup}
			if a.Forward != nil {
				for _, w := range a.Forward.TargetGroups {
					tgs = append(tgs, w.Name)
				}
			}
			for _, tg := range tgs {
				if tg != "" && !f.hasTargetGroup(tg) {
					return fault.Invalidf(kindLoadBalancer, name, "listeners[%d]: no target group %q", i, tg).WithHint("create the target group first (madang tg ls lists them)")
				}
			}
		}
	}
	return nil
}

// Delete implements api.ResourceWriter.
func (r fakeResources) Delete(_ context.Context, kind, name string) error {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	switch kind {
	case kindTargetGroup:
		f.TargetGroups = slices.DeleteFunc(f.TargetGroups, func(tg elbctl.TargetGroup) bool { return tg.Spec.Name == name && tg.Owner == "" })
	case kindLoadBalancer:
		f.LoadBalancers = slices.DeleteFunc(f.LoadBalancers, func(lb elbctl.LoadBalancer) bool { return lb.Spec.Name == name && lb.Owner == "" })
	default:
		return unknownKind(kind)
	}
	return nil
}

func hostPort(ip string, port int) string {
	if ip == "" {
		ip = "127.0.0.1"
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
}
