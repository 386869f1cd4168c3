package elbv2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
)

// hostedZoneID is the CanonicalHostedZoneId madang's load balancers report.
const hostedZoneID = "ZMADANGLOCAL0001"

func (s *Service) createLoadBalancer(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name := in.String("Name")
	if t := in.String("Type"); t != "" && t != "application" {
		return nil, validationError("Load balancer type '%s' is not supported by madang yet; use application", t)
	}
	spec := &elb.LoadBalancerSpec{Name: name, Type: "application"}
	if err := s.placeLoadBalancer(ctx, in, spec); err != nil {
		return nil, err
	}
	tags, err := readTags(in)
	if err != nil {
		return nil, err
	}
	ix := s.index()
	if _, ok := ix.lbByName[name]; ok {
		return nil, protocol.Errorf("DuplicateLoadBalancerName", "A load balancer with the same name '%s' exists", name)
	}
	spec.Tags = tags
	if err := s.put(ctx, elbctl.KindLoadBalancer, spec); err != nil {
		return nil, err
	}
	lb, ok := s.index().lbByName[name]
	if !ok {
		return nil, protocol.InternalError("load balancer %s was written but is not served", name)
	}
	return map[string]any{"LoadBalancers": []any{s.loadBalancerShape(lb)}}, nil
}

func (s *Service) describeLoadBalancers(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ix := s.index()
	arns, names := in.Strings("LoadBalancerArns"), in.Strings("Names")
	for _, a := range arns {
		if _, err := ix.loadBalancer(a); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		if _, ok := ix.lbByName[n]; !ok {
			return nil, protocol.Errorf("LoadBalancerNotFound", "Load balancers '[%s]' not found", n)
		}
	}
	var out []any
	for i := range ix.lbs {
		lb := &ix.lbs[i]
		if len(arns) > 0 && !slices.Contains(arns, lb.ARN) || len(names) > 0 && !slices.Contains(names, lb.Spec.Name) {
			continue
		}
		out = append(out, s.loadBalancerShape(lb))
	}
	return paged("LoadBalancers", out, in)
}

func (s *Service) deleteLoadBalancer(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	lb, err := s.index().loadBalancer(call.Input.String("LoadBalancerArn"))
	if err != nil {
		return nil, err
	}
	if err := notOwned("Load balancer", lb.Spec.Name, lb.Owner); err != nil {
		return nil, err
	}
	if err := s.resources.DeleteResource(ctx, elbctl.KindLoadBalancer, lb.Spec.Name); err != nil {
		return nil, elbError(err)
	}
	return map[string]any{}, nil
}

func (s *Service) describeLoadBalancerAttributes(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	lb, err := s.index().loadBalancer(call.Input.String("LoadBalancerArn"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Attributes": attributeList(elb.EffectiveLoadBalancerAttributes(lb.Spec.Attributes))}, nil
}

func (s *Service) modifyLoadBalancerAttributes(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	lb, err := s.index().loadBalancer(in.String("LoadBalancerArn"))
	if err != nil {
		return nil, err
	}
	if err := notOwned("Load balancer", lb.Spec.Name, lb.Owner); err != nil {
		return nil, err
	}
	spec := lb.Spec
	spec.Attributes = maps.Clone(spec.Attributes)
	if spec.Attributes == nil {
		spec.Attributes = map[string]string{}
	}
	for _, a := range in.Structs("Attributes") {
		spec.Attributes[a.String("Key")] = a.String("Value")
	}
	if _, errs := elb.ParseLoadBalancerAttributes(spec.Attributes); len(errs) > 0 {
		return nil, attributeError(errs)
	}
	if err := s.put(ctx, elbctl.KindLoadBalancer, &spec); err != nil {
		return nil, err
	}
	lb, err = s.index().loadBalancer(lb.ARN)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Attributes": attributeList(elb.EffectiveLoadBalancerAttributes(lb.Spec.Attributes))}, nil
}

// listenerShape renders a listener.
func (ix *index) listenerShape(lb *elbctl.LoadBalancer, l elb.ListenerSpec) map[string]any {
	proto := l.Protocol
	if proto == "" {
		proto = "HTTP"
	}
	return map[string]any{
		"ListenerArn": listenerARN(lb, l.Port), "LoadBalancerArn": lb.ARN, "Port": int64(l.Port), "Protocol": proto,
		"DefaultActions": ix.actionShapes(l.DefaultActions),
	}
}

// listener finds a listener by ARN: its load balancer and index.
func (ix *index) listener(arn string) (*elbctl.LoadBalancer, int, error) {
	for i := range ix.lbs {
		lb := &ix.lbs[i]
		if !strings.HasPrefix(arn, strings.Replace(lb.ARN, ":loadbalancer/", ":listener/", 1)+"/") {
			continue
		}
		for j, l := range lb.Spec.Listeners {
			if listenerARN(lb, l.Port) == arn {
				return lb, j, nil
			}
		}
	}
	return nil, 0, protocol.Errorf("ListenerNotFound", "One or more listeners not found: %s", arn)
}

// withLB writes a changed copy of a hand-made load balancer's spec.
func (s *Service) withLB(ctx context.Context, lb *elbctl.LoadBalancer, change func(*elb.LoadBalancerSpec) error) error {
	if err := notOwned("Load balancer", lb.Spec.Name, lb.Owner); err != nil {
		return err
	}
	spec := lb.Spec
	spec.Listeners = slices.Clone(spec.Listeners)
	for i := range spec.Listeners {
		spec.Listeners[i].Rules = slices.Clone(spec.Listeners[i].Rules)
	}
	if err := change(&spec); err != nil {
		return err
	}
	return s.put(ctx, elbctl.KindLoadBalancer, &spec)
}

func checkProtocol(p string) error {
	switch p {
	case "", "HTTP":
		return nil
	case "HTTPS":
		return protocol.Errorf("UnsupportedProtocol", "HTTPS listeners need certificates, which madang does not support yet; use HTTP")
	}
	return protocol.Errorf("UnsupportedProtocol", "Protocol '%s' is not supported by madang's application load balancers; use HTTP", p)
}

func (s *Service) createListener(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ix := s.index()
	lb, err := ix.loadBalancer(in.String("LoadBalancerArn"))
	if err != nil {
		return nil, err
	}
	if err := checkProtocol(in.String("Protocol")); err != nil {
		return nil, err
	}
	port := int(in.Int("Port"))
	acts, err := ix.actionSpecs(in.Structs("DefaultActions"))
	if err != nil {
		return nil, err
	}
	l := elb.ListenerSpec{Protocol: "HTTP", Port: port, DefaultActions: acts}
	err = s.withLB(ctx, lb, func(spec *elb.LoadBalancerSpec) error {
		for _, have := range spec.Listeners {
			if have.Port == port {
				return protocol.Errorf("DuplicateListener", "A listener already exists on port %d of load balancer '%s'", port, lb.Spec.Name)
			}
		}
		spec.Listeners = append(spec.Listeners, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ix = s.index()
	lb = ix.lbByName[lb.Spec.Name]
	return map[string]any{"Listeners": []any{ix.listenerShape(lb, l)}}, nil
}

func (s *Service) describeListeners(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ix := s.index()
	var out []any
	if arns := in.Strings("ListenerArns"); len(arns) > 0 {
		for _, a := range arns {
			lb, j, err := ix.listener(a)
			if err != nil {
				return nil, err
			}
			out = append(out, ix.listenerShape(lb, lb.Spec.Listeners[j]))
		}
	} else {
		if !in.Has("LoadBalancerArn") {
			return nil, validationError("You must specify either listener ARNs or a load balancer ARN")
		}
		lb, err := ix.loadBalancer(in.String("LoadBalancerArn"))
		if err != nil {
			return nil, err
		}
		for _, l := range lb.Spec.Listeners {
			out = append(out, ix.listenerShape(lb, l))
		}
	}
	return paged("Listeners", out, in)
}

func (s *Service) modifyListener(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ix := s.index()
	lb, j, err := ix.listener(in.String("ListenerArn"))
	if err != nil {
		return nil, err
	}
	if err := checkProtocol(in.String("Protocol")); err != nil {
		return nil, err
	}
	var acts []elb.ActionSpec
	if in.Has("DefaultActions") {
		if acts, err = ix.actionSpecs(in.Structs("DefaultActions")); err != nil {
			return nil, err
		}
	}
	var changed elb.ListenerSpec
	err = s.withLB(ctx, lb, func(spec *elb.LoadBalancerSpec) error {
		l := &spec.Listeners[j]
		if in.Has("Port") {
			port := int(in.Int("Port"))
			for k, have := range spec.Listeners {
				if k != j && have.Port == port {
					return protocol.Errorf("DuplicateListener", "A listener already exists on port %d of load balancer '%s'", port, lb.Spec.Name)
				}
			}
			l.Port = port
		}
		if acts != nil {
			l.DefaultActions = acts
		}
		changed = *l
		return nil
	})
	if err != nil {
		return nil, err
	}
	ix = s.index()
	return map[string]any{"Listeners": []any{ix.listenerShape(ix.lbByName[lb.Spec.Name], changed)}}, nil
}

func (s *Service) deleteListener(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	lb, j, err := s.index().listener(call.Input.String("ListenerArn"))
	if err != nil {
		return nil, err
	}
	err = s.withLB(ctx, lb, func(spec *elb.LoadBalancerSpec) error {
		spec.Listeners = slices.Delete(spec.Listeners, j, j+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// ruleShape renders a rule (priority 0: the listener's default rule).
func (ix *index) ruleShape(listener string, r elb.RuleSpec, def []elb.ActionSpec) map[string]any {
	if r.Priority == 0 {
		return map[string]any{"RuleArn": ruleARN(listener, 0, ""), "Priority": "default", "Conditions": []any{},
			"Actions": ix.actionShapes(def), "IsDefault": true}
	}
	return map[string]any{"RuleArn": ruleARN(listener, r.Priority, r.ID), "Priority": strconv.Itoa(r.Priority),
		"Conditions": conditionShapes(r.Conditions), "Actions": ix.actionShapes(r.Actions), "IsDefault": false}
}

// rule finds a rule by ARN: its load balancer, listener index and rule
// index (-1 for the default rule).
func (ix *index) rule(arn string) (*elbctl.LoadBalancer, int, int, error) {
	for i := range ix.lbs {
		lb := &ix.lbs[i]
		for j, l := range lb.Spec.Listeners {
			la := listenerARN(lb, l.Port)
			if ruleARN(la, 0, "") == arn {
				return lb, j, -1, nil
			}
			for k, r := range l.Rules {
				if ruleARN(la, r.Priority, r.ID) == arn {
					return lb, j, k, nil
				}
			}
		}
	}
	return nil, 0, 0, protocol.Errorf("RuleNotFound", "One or more rules not found: %s", arn)
}

func (s *Service) createRule(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ix := s.index()
	lb, j, err := ix.listener(in.String("ListenerArn"))
	if err != nil {
		return nil, err
	}
	prio, err := priorityOf(in.Int("Priority"))
	if err != nil {
		return nil, err
	}
	conds, err := conditionSpecs(in.Structs("Conditions"))
	if err != nil {
		return nil, err
	}
	acts, err := ix.actionSpecs(in.Structs("Actions"))
	if err != nil {
		return nil, err
	}
	r := elb.RuleSpec{Priority: prio, ID: randomRuleID(), Conditions: conds, Actions: acts}
	err = s.withLB(ctx, lb, func(spec *elb.LoadBalancerSpec) error {
		for _, have := range spec.Listeners[j].Rules {
			if have.Priority == prio {
				return protocol.Errorf("PriorityInUse", "Priority '%d' is currently in use", prio)
			}
		}
		spec.Listeners[j].Rules = append(spec.Listeners[j].Rules, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ix = s.index()
	return map[string]any{"Rules": []any{ix.ruleShape(in.String("ListenerArn"), r, nil)}}, nil
}

func (s *Service) describeRules(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ix := s.index()
	var out []any
	if arns := in.Strings("RuleArns"); len(arns) > 0 {
		for _, a := range arns {
			lb, j, k, err := ix.rule(a)
			if err != nil {
				return nil, err
			}
			l := lb.Spec.Listeners[j]
			if k < 0 {
				out = append(out, ix.ruleShape(listenerARN(lb, l.Port), elb.RuleSpec{}, l.DefaultActions))
			} else {
				out = append(out, ix.ruleShape(listenerARN(lb, l.Port), l.Rules[k], nil))
			}
		}
	} else {
		if !in.Has("ListenerArn") {
			return nil, validationError("You must specify either rule ARNs or a listener ARN")
		}
		lb, j, err := ix.listener(in.String("ListenerArn"))
		if err != nil {
			return nil, err
		}
		l := lb.Spec.Listeners[j]
		rules := slices.Clone(l.Rules)
		slices.SortFunc(rules, func(a, b elb.RuleSpec) int { return a.Priority - b.Priority })
		la := listenerARN(lb, l.Port)
		for _, r := range rules {
			out = append(out, ix.ruleShape(la, r, nil))
		}
		out = append(out, ix.ruleShape(la, elb.RuleSpec{}, l.DefaultActions))
	}
	return paged("Rules", out, in)
}

func (s *Service) modifyRule(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ix := s.index()
	lb, j, k, err := ix.rule(in.String("RuleArn"))
	if err != nil {
		return nil, err
	}
	var conds []elb.ConditionSpec
	if in.Has("Conditions") {
		if k < 0 {
			return nil, protocol.Errorf("OperationNotPermitted", "The conditions of a default rule cannot be changed")
		}
		if conds, err = conditionSpecs(in.Structs("Conditions")); err != nil {
			return nil, err
		}
	}
	var acts []elb.ActionSpec
	if in.Has("Actions") {
		if acts, err = ix.actionSpecs(in.Structs("Actions")); err != nil {
			return nil, err
		}
	}
	var shape map[string]any
	err = s.withLB(ctx, lb, func(spec *elb.LoadBalancerSpec) error {
		l := &spec.Listeners[j]
		if k < 0 {
			if acts != nil {
				l.DefaultActions = acts
			}
			shape = ix.ruleShape(listenerARN(lb, l.Port), elb.RuleSpec{}, l.DefaultActions)
			return nil
		}
		r := &l.Rules[k]
		if conds != nil {
			r.Conditions = conds
		}
		if acts != nil {
			r.Actions = acts
		}
		shape = ix.ruleShape(listenerARN(lb, l.Port), *r, nil)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"Rules": []any{shape}}, nil
}

func (s *Service) deleteRule(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	lb, j, k, err := s.index().rule(call.Input.String("RuleArn"))
	if err != nil {
		return nil, err
	}
	if k < 0 {
		return nil, protocol.Errorf("OperationNotPermitted", "A default rule cannot be deleted; delete the listener instead")
	}
	err = s.withLB(ctx, lb, func(spec *elb.LoadBalancerSpec) error {
		spec.Listeners[j].Rules = slices.Delete(spec.Listeners[j].Rules, k, k+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// setRulePriorities reorders rules; madang's rules are named by their
// priority, so each rule's ARN changes with it (the answer gives the new
// ones).
func (s *Service) setRulePriorities(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	ix := s.index()
	type move struct {
		lb      *elbctl.LoadBalancer
		l, r, p int
	}
	var moves []move
	for _, rp := range call.Input.Structs("RulePriorities") {
		lb, j, k, err := ix.rule(rp.String("RuleArn"))
		if err != nil {
			return nil, err
		}
		if k < 0 {
			return nil, protocol.Errorf("OperationNotPermitted", "The priority of a default rule cannot be changed")
		}
		p, err := priorityOf(rp.Int("Priority"))
		if err != nil {
			return nil, err
		}
		moves = append(moves, move{lb, j, k, p})
	}
	if len(moves) == 0 {
		return nil, validationError("RulePriorities must name at least one rule")
	}
	lb := moves[0].lb
	for _, m := range moves[1:] {
		if m.lb.Spec.Name != lb.Spec.Name {
			return nil, validationError("madang sets the priorities of the rules of one load balancer per call")
		}
	}
	var out []any
	err := s.withLB(ctx, lb, func(spec *elb.LoadBalancerSpec) error {
		for _, m := range moves {
			r := &spec.Listeners[m.l].Rules[m.r]
			if r.ID == "" {
				// Named by its priority until now: it keeps that
				// name, so its ARN (and its tags) stay.
				r.ID = ruleID(listenerARN(lb, spec.Listeners[m.l].Port), r.Priority)
			}
			r.Priority = m.p
		}
		for _, l := range spec.Listeners {
			seen := map[int]bool{}
			for _, r := range l.Rules {
				if seen[r.Priority] {
					return protocol.Errorf("PriorityInUse", "Priority '%d' is currently in use", r.Priority)
				}
				seen[r.Priority] = true
			}
		}
		for _, m := range moves {
			l := spec.Listeners[m.l]
			out = append(out, ix.ruleShape(listenerARN(lb, l.Port), l.Rules[m.r], nil))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"Rules": out}, nil
}

// taggable finds the target group or load balancer an ARN names.
func (ix *index) taggable(arn string) (tg *elbctl.TargetGroup, lb *elbctl.LoadBalancer, err error) {
	if t, ok := ix.tgByARN[arn]; ok {
		return t, nil, nil
	}
	if l, ok := ix.lbByARN[arn]; ok {
		return nil, l, nil
	}
	switch {
	case strings.Contains(arn, ":targetgroup/"):
		return nil, nil, protocol.Errorf("TargetGroupNotFound", "One or more target groups not found: %s", arn)
	case strings.Contains(arn, ":loadbalancer/"):
		return nil, nil, protocol.Errorf("LoadBalancerNotFound", "One or more load balancers not found: %s", arn)
	}
	return nil, nil, validationError("madang keeps tags of target groups and load balancers; '%s' is neither", arn)
}

// retag changes the tags of each named resource.
func (s *Service) retag(ctx context.Context, arns []string, change func(map[string]string)) error {
	ix := s.index()
	for _, arn := range arns {
		tg, lb, err := ix.taggable(arn)
		if err != nil {
			return err
		}
		if tg != nil {
			if err := notOwned("Target group", tg.Spec.Name, tg.Owner); err != nil {
				return err
			}
			spec := tg.Spec
			spec.Tags = maps.Clone(spec.Tags)
			if spec.Tags == nil {
				spec.Tags = map[string]string{}
			}
			change(spec.Tags)
			if err := s.put(ctx, elbctl.KindTargetGroup, &spec); err != nil {
				return err
			}
			continue
		}
		err = s.withLB(ctx, lb, func(spec *elb.LoadBalancerSpec) error {
			spec.Tags = maps.Clone(spec.Tags)
			if spec.Tags == nil {
				spec.Tags = map[string]string{}
			}
			change(spec.Tags)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) addTags(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	tags, err := readTags(call.Input)
	if err != nil {
		return nil, err
	}
	err = s.retag(ctx, call.Input.Strings("ResourceArns"), func(m map[string]string) { maps.Copy(m, tags) })
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (s *Service) removeTags(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	keys := call.Input.Strings("TagKeys")
	err := s.retag(ctx, call.Input.Strings("ResourceArns"), func(m map[string]string) {
		for _, k := range keys {
			delete(m, k)
		}
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (s *Service) describeTags(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	ix := s.index()
	var out []any
	for _, arn := range call.Input.Strings("ResourceArns") {
		tg, lb, err := ix.taggable(arn)
		if err != nil {
			return nil, err
		}
		var tags []any
		if tg != nil {
			tags = tagList(tg.Spec.Tags, tg.Owner)
		} else {
			tags = tagList(lb.Spec.Tags, lb.Owner)
		}
		out = append(out, map[string]any{"ResourceArn": arn, "Tags": tags})
	}
	return map[string]any{"TagDescriptions": out}, nil
}

// randomRuleID returns a new rule's id: 16 hex digits, as AWS's.
func randomRuleID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
