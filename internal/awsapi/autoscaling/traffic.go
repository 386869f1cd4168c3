package autoscaling

import (
	"context"
	"slices"
	"strings"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// maxTags is AWS's limit of tags per group.
const maxTags = 50

// Traffic sources: a group's target groups (elbv2 only), as
// AttachTrafficSources and the older AttachLoadBalancerTargetGroups name
// them.

// setTargetGroups adds (attach) or removes target groups of a group.
func (s *Service) setTargetGroups(ctx context.Context, group string, names []string, attach bool) error {
	return s.change(ctx, group, func(spec *autoscaling.GroupSpec) error {
		if attach {
			for _, n := range names {
				if !slices.Contains(spec.TargetGroups, n) {
					spec.TargetGroups = append(spec.TargetGroups, n)
				}
			}
			return nil
		}
		spec.TargetGroups = slices.DeleteFunc(spec.TargetGroups, func(n string) bool { return slices.Contains(names, n) })
		if len(spec.TargetGroups) == 0 && spec.HealthCheckType == autoscaling.HealthCheckELB {
			return validationError("The group %s checks its instances' health in its target groups (HealthCheckType ELB); set HealthCheckType EC2 with UpdateAutoScalingGroup before detaching the last one", group)
		}
		return nil
	})
}

func (s *Service) attachTrafficSources(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	names, err := s.trafficTargetGroups(call.Input.Structs("TrafficSources"))
	if err != nil {
		return nil, err
	}
	return map[string]any{}, s.setTargetGroups(ctx, call.Input.String("AutoScalingGroupName"), names, true)
}

func (s *Service) detachTrafficSources(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	names, err := s.trafficTargetGroups(call.Input.Structs("TrafficSources"))
	if err != nil {
		return nil, err
	}
	return map[string]any{}, s.setTargetGroups(ctx, call.Input.String("AutoScalingGroupName"), names, false)
}

func (s *Service) attachTargetGroups(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	names, err := s.targetGroupNames(call.Input.Strings("TargetGroupARNs"))
	if err != nil {
		return nil, err
	}
	return map[string]any{}, s.setTargetGroups(ctx, call.Input.String("AutoScalingGroupName"), names, true)
}

func (s *Service) detachTargetGroups(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	names, err := s.targetGroupNames(call.Input.Strings("TargetGroupARNs"))
	if err != nil {
		return nil, err
	}
	return map[string]any{}, s.setTargetGroups(ctx, call.Input.String("AutoScalingGroupName"), names, false)
}

// targetState is a target group's state in a group (AWS's Added or
// InService: some InService instance is healthy and registered there).
func targetState(g autoscaling.GroupView, tg string) string {
	for _, in := range g.Instances {
		if in.Lifecycle == autoscaling.InService && in.Health == autoscaling.HealthHealthy && slices.Contains(in.TargetGroups, tg) {
			return "InService"
		}
	}
	return "Added"
}

// trafficStates lists a group's target groups with their ARNs and states.
func (s *Service) trafficStates(g autoscaling.GroupView) (arns, states []string) {
	byName := map[string]string{}
	for _, tg := range s.tgs.TargetGroups() {
		byName[tg.Spec.Name] = tg.ARN
	}
	for _, n := range g.Targets {
		if a, ok := byName[n]; ok {
			arns, states = append(arns, a), append(states, targetState(g, n))
		}
	}
	return arns, states
}

func (s *Service) describeTrafficSources(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	g, err := s.group(in.String("AutoScalingGroupName"))
	if err != nil {
		return nil, err
	}
	var all []map[string]any
	if t := in.String("TrafficSourceType"); t == "" || t == "elbv2" {
		arns, states := s.trafficStates(g)
		for i, a := range arns {
			all = append(all, map[string]any{"TrafficSource": a, "Identifier": a, "Type": "elbv2", "State": states[i]})
		}
	}
	page, next, err := paging(all, in, 50, 50)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(page))
	for _, t := range page {
		out = append(out, t)
	}
	return withToken(map[string]any{"TrafficSources": out}, next), nil
}

func (s *Service) describeTargetGroups(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	g, err := s.group(in.String("AutoScalingGroupName"))
	if err != nil {
		return nil, err
	}
	arns, states := s.trafficStates(g)
	var all []map[string]any
	for i, a := range arns {
		all = append(all, map[string]any{"LoadBalancerTargetGroupARN": a, "State": states[i]})
	}
	page, next, err := paging(all, in, 100, 100)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(page))
	for _, t := range page {
		out = append(out, t)
	}
	return withToken(map[string]any{"LoadBalancerTargetGroups": out}, next), nil
}

// Tags. madang propagates every group tag to the group's instances, so
// PropagateAtLaunch is always true.

// groupTags renders a group's tags (TagDescriptionList), with the stack's
// name as CloudFormation's tag.
func groupTags(g autoscaling.GroupView) []any {
	keys := make([]string, 0, len(g.Spec.Tags))
	for k := range g.Spec.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]any, 0, len(keys)+1)
	tag := func(k, v string) map[string]any {
		return map[string]any{"ResourceId": g.Name, "ResourceType": "auto-scaling-group", "Key": k, "Value": v, "PropagateAtLaunch": true}
	}
	for _, k := range keys {
		out = append(out, tag(k, g.Spec.Tags[k]))
	}
	if g.Owner != "" {
		out = append(out, tag("aws:cloudformation:stack-name", g.Owner))
	}
	return out
}

// tagsByGroup reads a Tags list of CreateOrUpdateTags or DeleteTags, by
// group.
func tagsByGroup(tags []protocol.Struct) (map[string][]protocol.Struct, []string, error) {
	by := map[string][]protocol.Struct{}
	var order []string
	for _, t := range tags {
		if rt := t.String("ResourceType"); rt != "" && rt != "auto-scaling-group" {
			return nil, nil, validationError("ResourceType '%s' is not supported; use auto-scaling-group", rt)
		}
		id := t.String("ResourceId")
		if id == "" {
			return nil, nil, validationError("ResourceId is missing; name the Auto Scaling group to tag")
		}
		if strings.HasPrefix(t.String("Key"), "aws:") {
			return nil, nil, validationError("Tag keys starting with 'aws:' are reserved for internal use; tag %q cannot be changed", t.String("Key"))
		}
		if _, ok := by[id]; !ok {
			order = append(order, id)
		}
		by[id] = append(by[id], t)
	}
	return by, order, nil
}

func (s *Service) createOrUpdateTags(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	by, order, err := tagsByGroup(call.Input.Structs("Tags"))
	if err != nil {
		return nil, err
	}
	for _, group := range order {
		if err := s.change(ctx, group, func(spec *autoscaling.GroupSpec) error {
			if spec.Tags == nil {
				spec.Tags = map[string]string{}
			}
			for _, t := range by[group] {
				spec.Tags[t.String("Key")] = t.String("Value")
			}
			if len(spec.Tags) > maxTags {
				return protocol.Errorf("LimitExceeded", "The number of tags on the AutoScalingGroup %s would exceed the limit of %d", group, maxTags)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return map[string]any{}, nil
}

func (s *Service) deleteTags(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	by, order, err := tagsByGroup(call.Input.Structs("Tags"))
	if err != nil {
		return nil, err
	}
	for _, group := range order {
		if err := s.change(ctx, group, func(spec *autoscaling.GroupSpec) error {
			for _, t := range by[group] {
				// A value given must match, as on AWS.
				if v, ok := spec.Tags[t.String("Key")]; ok && (!t.Has("Value") || t.String("Value") == v) {
					delete(spec.Tags, t.String("Key"))
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return map[string]any{}, nil
}

func (s *Service) describeTags(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	var all []any
	for _, g := range s.scaling.Groups() {
		for _, t := range groupTags(g) {
			tag := t.(map[string]any)
			ok, err := tagMatches(tag, in.Structs("Filters"))
			if err != nil {
				return nil, err
			}
			if ok {
				all = append(all, tag)
			}
		}
	}
	page, next, err := paging(all, in, 50, 100)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"Tags": page}, next), nil
}

// tagMatches applies DescribeTags' filters to one tag.
func tagMatches(tag map[string]any, filters []protocol.Struct) (bool, error) {
	for _, f := range filters {
		var have string
		switch f.String("Name") {
		case "auto-scaling-group":
			have = tag["ResourceId"].(string)
		case "key":
			have = tag["Key"].(string)
		case "value":
			have = tag["Value"].(string)
		case "propagate-at-launch":
			have = "true"
		default:
			return false, validationError("Filter '%s' is not supported; use auto-scaling-group, key, value or propagate-at-launch", f.String("Name"))
		}
		if !slices.Contains(f.Strings("Values"), have) {
			return false, nil
		}
	}
	return true, nil
}
