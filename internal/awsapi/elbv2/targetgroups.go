package elbv2

import (
	"context"
	"maps"
	"slices"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/health"
)

// usedBy lists the ARNs of the load balancers whose listeners forward to
// the target group.
func (ix *index) usedBy(tg string) []any {
	var out []any
	for _, lb := range ix.lbs {
		if slices.Contains(elb.ReferencedTargetGroups(lb.Spec), tg) {
			out = append(out, lb.ARN)
		}
	}
	return out
}

// targetGroupShape renders a target group as ELBv2's TargetGroup shape.
func (s *Service) targetGroupShape(ix *index, tg *elbctl.TargetGroup) map[string]any {
	spec := tg.Spec
	spec.ApplyDefaults()
	hc := spec.HealthCheck
	out := map[string]any{
		"TargetGroupArn": tg.ARN, "TargetGroupName": spec.Name, "Protocol": spec.Protocol, "Port": int64(spec.Port),
		"VpcId": s.vpcOf(spec.Vpc), "HealthCheckProtocol": hc.Protocol, "HealthCheckPort": hc.Port,
		"HealthCheckEnabled": hc.Enabled == nil || *hc.Enabled, "HealthCheckIntervalSeconds": int64(hc.IntervalSeconds),
		"HealthCheckTimeoutSeconds": int64(hc.TimeoutSeconds), "HealthyThresholdCount": int64(hc.HealthyThresholdCount),
		"UnhealthyThresholdCount": int64(hc.UnhealthyThresholdCount), "HealthCheckPath": hc.Path,
		"Matcher": map[string]any{"HttpCode": hc.Matcher}, "LoadBalancerArns": ix.usedBy(spec.Name),
		"TargetType": spec.TargetType, "ProtocolVersion": "HTTP1", "IpAddressType": "ipv4",
	}
	if spec.Port == 0 {
		delete(out, "Port")
	}
	return out
}

// healthCheck applies the health check members of CreateTargetGroup and
// ModifyTargetGroup to hc.
func healthCheck(in protocol.Struct, hc *elb.HealthCheckSpec) {
	if in.Has("HealthCheckEnabled") {
		v := in.Bool("HealthCheckEnabled")
		hc.Enabled = &v
	}
	if v := in.String("HealthCheckProtocol"); v != "" {
		hc.Protocol = v
	}
	if v := in.String("HealthCheckPort"); v != "" {
		hc.Port = v
	}
	if v := in.String("HealthCheckPath"); v != "" {
		hc.Path = v
	}
	if in.Has("HealthCheckIntervalSeconds") {
		hc.IntervalSeconds = int(in.Int("HealthCheckIntervalSeconds"))
	}
	if in.Has("HealthCheckTimeoutSeconds") {
		hc.TimeoutSeconds = int(in.Int("HealthCheckTimeoutSeconds"))
	}
	if in.Has("HealthyThresholdCount") {
		hc.HealthyThresholdCount = int(in.Int("HealthyThresholdCount"))
	}
	if in.Has("UnhealthyThresholdCount") {
		hc.UnhealthyThresholdCount = int(in.Int("UnhealthyThresholdCount"))
	}
	if m := in.Struct("Matcher"); m != nil {
		hc.Matcher = m.String("HttpCode")
	}
}

func (s *Service) createTargetGroup(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name := in.String("Name")
	ix := s.index()
	tt := in.String("TargetType")
	switch tt {
	case "", "instance", "ip":
	default:
		return nil, validationError("Target type '%s' is not supported by madang; use instance or ip", tt)
	}
	vpc, err := s.targetGroupVpc(ctx, in.String("VpcId"))
	if err != nil {
		return nil, err
	}
	if v := in.String("ProtocolVersion"); v != "" && v != "HTTP1" {
		return nil, validationError("Protocol version '%s' is not supported by madang; use HTTP1", v)
	}
	tags, err := readTags(in)
	if err != nil {
		return nil, err
	}
	spec := &elb.TargetGroupSpec{Name: name, Protocol: in.String("Protocol"), Port: int(in.Int("Port")), TargetType: tt, Vpc: vpc, Tags: tags}
	healthCheck(in, &spec.HealthCheck)
	if old, ok := ix.tgByName[name]; ok {
		// AWS answers a create with identical settings with the existing
		// group, and a different one with DuplicateTargetGroupName.
		want := *spec
		want.ApplyDefaults()
		have := old.Spec
		have.ApplyDefaults()
		have.Targets = nil
		if !sameTargetGroup(want, have) {
			return nil, protocol.Errorf("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
		}
		return map[string]any{"TargetGroups": []any{s.targetGroupShape(ix, old)}}, nil
	}
	if err := s.put(ctx, elbctl.KindTargetGroup, spec); err != nil {
		return nil, err
	}
	ix = s.index()
	tg, ok := ix.tgByName[name]
	if !ok {
		return nil, protocol.InternalError("target group %s was written but is not served", name)
	}
	return map[string]any{"TargetGroups": []any{s.targetGroupShape(ix, tg)}}, nil
}

func sameTargetGroup(a, b elb.TargetGroupSpec) bool {
	return a.Protocol == b.Protocol && a.Port == b.Port && a.TargetType == b.TargetType && a.Vpc == b.Vpc &&
		a.HealthCheck.Path == b.HealthCheck.Path && a.HealthCheck.Port == b.HealthCheck.Port &&
		a.HealthCheck.IntervalSeconds == b.HealthCheck.IntervalSeconds && a.HealthCheck.Matcher == b.HealthCheck.Matcher
}

func (s *Service) describeTargetGroups(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ix := s.index()
	arns, names := in.Strings("TargetGroupArns"), in.Strings("Names")
	var lbTGs []string
	if a := in.String("LoadBalancerArn"); a != "" {
		lb, err := ix.loadBalancer(a)
		if err != nil {
			return nil, err
		}
		lbTGs = elb.ReferencedTargetGroups(lb.Spec)
	}
	for _, a := range arns {
		if _, err := ix.targetGroup(a); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		if _, ok := ix.tgByName[n]; !ok {
			return nil, protocol.Errorf("TargetGroupNotFound", "One or more target groups not found")
		}
	}
	var out []any
	for i := range ix.tgs {
		tg := &ix.tgs[i]
		if len(arns) > 0 && !slices.Contains(arns, tg.ARN) || len(names) > 0 && !slices.Contains(names, tg.Spec.Name) ||
			in.Has("LoadBalancerArn") && !slices.Contains(lbTGs, tg.Spec.Name) {
			continue
		}
		out = append(out, s.targetGroupShape(ix, tg))
	}
	return paged("TargetGroups", out, in)
}

func (s *Service) modifyTargetGroup(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ix := s.index()
	tg, err := ix.targetGroup(in.String("TargetGroupArn"))
	if err != nil {
		return nil, err
	}
	if err := notOwned("Target group", tg.Spec.Name, tg.Owner); err != nil {
		return nil, err
	}
	spec := tg.Spec
	healthCheck(in, &spec.HealthCheck)
	if err := s.put(ctx, elbctl.KindTargetGroup, &spec); err != nil {
		return nil, err
	}
	ix = s.index()
	return map[string]any{"TargetGroups": []any{s.targetGroupShape(ix, ix.tgByName[spec.Name])}}, nil
}

func (s *Service) deleteTargetGroup(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	ix := s.index()
	tg, ok := ix.tgByARN[call.Input.String("TargetGroupArn")]
	if !ok {
		return map[string]any{}, nil // AWS: deleting a missing target group succeeds
	}
	if err := notOwned("Target group", tg.Spec.Name, tg.Owner); err != nil {
		return nil, err
	}
	if used := ix.usedBy(tg.Spec.Name); len(used) > 0 {
		return nil, protocol.Errorf("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", tg.ARN)
	}
	if err := s.resources.DeleteResource(ctx, elbctl.KindTargetGroup, tg.Spec.Name); err != nil {
		return nil, elbError(err)
	}
	return map[string]any{}, nil
}

// attributeList renders attributes as ELBv2's key/value list, sorted.
func attributeList(attrs map[string]string) []any {
	out := make([]any, 0, len(attrs))
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		out = append(out, map[string]any{"Key": k, "Value": attrs[k]})
	}
	return out
}

func (s *Service) describeTargetGroupAttributes(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	tg, err := s.index().targetGroup(call.Input.String("TargetGroupArn"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"Attributes": attributeList(elb.EffectiveAttributes(tg.Spec.Attributes))}, nil
}

func (s *Service) modifyTargetGroupAttributes(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	tg, err := s.index().targetGroup(in.String("TargetGroupArn"))
	if err != nil {
		return nil, err
	}
	if err := notOwned("Target group", tg.Spec.Name, tg.Owner); err != nil {
		return nil, err
	}
	spec := tg.Spec
	spec.Attributes = maps.Clone(spec.Attributes)
	if spec.Attributes == nil {
		spec.Attributes = map[string]string{}
	}
	for _, a := range in.Structs("Attributes") {
		spec.Attributes[a.String("Key")] = a.String("Value")
	}
	if _, errs := elb.ParseTargetGroupAttributes(spec.Attributes); len(errs) > 0 {
		return nil, attributeError(errs)
	}
	if err := s.put(ctx, elbctl.KindTargetGroup, &spec); err != nil {
		return nil, err
	}
	tg, err = s.index().targetGroup(tg.ARN)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Attributes": attributeList(elb.EffectiveAttributes(tg.Spec.Attributes))}, nil
}

// registrations reads a Targets list for a target group.
func registrations(tg *elbctl.TargetGroup, in protocol.Struct) ([]elbctl.Registration, error) {
	var out []elbctl.Registration
	for _, t := range in.Structs("Targets") {
		id := t.String("Id")
		if tg.Spec.TargetType == "ip" {
			return nil, protocol.Errorf("InvalidTarget", "madang registers instance targets through the API; target group '%s' has target type ip (register its IPs in the stack file)", tg.Spec.Name)
		}
		out = append(out, elbctl.Registration{TargetGroup: tg.Spec.Name, ID: id, Port: int(t.Int("Port")), RegisteredBy: "api"})
	}
	return out, nil
}

func (s *Service) registerTargets(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	tg, err := s.index().targetGroup(call.Input.String("TargetGroupArn"))
	if err != nil {
		return nil, err
	}
	regs, err := registrations(tg, call.Input)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(regs))
	for i, r := range regs {
		ids[i] = r.ID
	}
	if other := s.inOtherVpc(ids, s.vpcOf(tg.Spec.Vpc)); len(other) > 0 {
		return nil, notInVpc(s.vpcOf(tg.Spec.Vpc), other)
	}
	if err := s.lb.Register(ctx, regs); err != nil {
		return nil, elbError(err)
	}
	return map[string]any{}, nil
}

func (s *Service) deregisterTargets(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	tg, err := s.index().targetGroup(call.Input.String("TargetGroupArn"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, t := range call.Input.Structs("Targets") {
		ids = append(ids, t.String("Id"))
	}
	if err := s.lb.Deregister(ctx, tg.Spec.Name, ids); err != nil {
		return nil, elbError(err)
	}
	return map[string]any{}, nil
}

func (s *Service) describeTargetHealth(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	arn := in.String("TargetGroupArn")
	tgs := s.lb.TargetGroups()
	var tg *elbctl.TargetGroup
	for i := range tgs {
		if tgs[i].ARN == arn {
			tg = &tgs[i]
		}
	}
	if tg == nil {
		return nil, protocol.Errorf("TargetGroupNotFound", "One or more target groups not found: %s", arn)
	}
	hs, err := s.lb.Health(tg.Spec.Name)
	if err != nil {
		return nil, elbError(err)
	}
	spec := tg.Spec
	spec.ApplyDefaults()
	want := in.Structs("Targets")
	if len(want) == 0 {
		s.health.forget(func(arn string) bool {
			return slices.ContainsFunc(tgs, func(t elbctl.TargetGroup) bool { return t.ARN == arn })
		})
		var out []any // nil, not empty, for a group without targets
		if len(hs) > 0 {
			out = s.health.descriptions(arn, &spec, hs)
		}
		return map[string]any{"TargetHealthDescriptions": out}, nil
	}
	byID := make(map[string]health.TargetHealth, len(hs))
	for _, h := range hs {
		byID[h.ID] = h
	}
	out := make([]any, 0, len(want))
	for _, t := range want {
		id := t.String("Id")
		h, ok := byID[id]
		if !ok {
			out = append(out, map[string]any{
				"Target": map[string]any{"Id": id, "Port": t.Int("Port")},
				"TargetHealth": map[string]any{"State": "unused", "Reason": "Target.NotRegistered",
					"Description": "Target is not registered to the target group"},
			})
			continue
		}
		out = append(out, healthDescription(&spec, h))
	}
	return map[string]any{"TargetHealthDescriptions": out}, nil
}
