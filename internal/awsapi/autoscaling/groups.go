package autoscaling

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
)

// maxGroups is the account's quota of Auto Scaling groups (AWS's default).
const maxGroups = 500

// cloneSpec returns a deep copy of a spec, so changing it never touches
// the controller's.
func cloneSpec(s autoscaling.GroupSpec) autoscaling.GroupSpec {
	data, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("autoscaling: encode group spec: %v", err)) // plain structs always encode
	}
	var out autoscaling.GroupSpec
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("autoscaling: decode group spec: %v", err))
	}
	return out
}

func intp(v int) *int { return &v }

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// launchTemplate resolves a LaunchTemplateSpecification to the template's
// name and version ("$Default" when none is given).
func (s *Service) launchTemplate(spec protocol.Struct) (compute.LaunchTemplate, string, error) {
	id, name := spec.String("LaunchTemplateId"), spec.String("LaunchTemplateName")
	if id == "" && name == "" {
		return compute.LaunchTemplate{}, "", validationError("You must use a valid fully-formed launch template. Give LaunchTemplateId or LaunchTemplateName")
	}
	if id != "" && name != "" {
		return compute.LaunchTemplate{}, "", validationError("You must use a valid fully-formed launch template. Give LaunchTemplateId or LaunchTemplateName, not both")
	}
	for _, lt := range s.templates.LaunchTemplates() {
		if (id != "" && lt.ID == id) || (name != "" && lt.Name == name) {
			v := spec.String("Version")
			if v == "" {
				v = "$Default"
			}
			if _, ok := lt.Version(v); !ok {
				return lt, "", validationError("You must use a valid fully-formed launch template. The specified launch template %s has no version %s; give $Default, $Latest or 1 to %d", lt.Name, v, lt.Latest())
			}
			return lt, v, nil
		}
	}
	if id != "" {
		return compute.LaunchTemplate{}, "", validationError("You must use a valid fully-formed launch template. The specified launch template, with template ID %s, does not exist.", id)
	}
	return compute.LaunchTemplate{}, "", validationError("You must use a valid fully-formed launch template. The specified launch template, with template name %s, does not exist.", name)
}

// templateID is the id of the launch template named name ("" if gone).
func (s *Service) templateID(name string) string {
	for _, lt := range s.templates.LaunchTemplates() {
		if lt.Name == name {
			return lt.ID
		}
	}
	return ""
}

// targetGroupNames maps target group ARNs to madang's names.
func (s *Service) targetGroupNames(arns []string) ([]string, error) {
	byARN := map[string]string{}
	for _, tg := range s.tgs.TargetGroups() {
		byARN[tg.ARN] = tg.Spec.Name
	}
	out := make([]string, 0, len(arns))
	for _, a := range arns {
		n, ok := byARN[a]
		if !ok {
			return nil, validationError("Provided Target Groups may not be valid. Please ensure they exist and try again. Target group %s does not exist (elbv2 describe-target-groups lists them)", a)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// targetGroupARNs maps target group names to their ARNs.
func (s *Service) targetGroupARNs(names []string) []any {
	byName := map[string]string{}
	for _, tg := range s.tgs.TargetGroups() {
		byName[tg.Spec.Name] = tg.ARN
	}
	out := make([]any, 0, len(names))
	for _, n := range names {
		if a, ok := byName[n]; ok {
			out = append(out, a)
		}
	}
	return out
}

// zonesOf reads VPCZoneIdentifier (comma-separated subnets: default ones
// or made by CreateSubnet) into their zones, and the created subnets among
// them (the first of each zone).
func (s *Service) zonesOf(vpcZones string) ([]string, []autoscaling.SubnetPlacement, error) {
	var out []string
	var created []autoscaling.SubnetPlacement
	for _, id := range strings.Split(vpcZones, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		i := slices.IndexFunc(s.zones, func(z string) bool { return s.subnetOf(z) == id })
		if i < 0 && s.createdSubnet != nil {
			if sn, ok := s.createdSubnet(id); ok {
				i = slices.Index(s.zones, sn.Zone)
				if i >= 0 && !slices.ContainsFunc(created, func(c autoscaling.SubnetPlacement) bool { return c.Zone == sn.Zone }) {
					created = append(created, sn)
				}
			}
		}
		if i < 0 {
			subnets := make([]string, 0, len(s.zones))
			for _, z := range s.zones {
				subnets = append(subnets, s.subnetOf(z)+" ("+z+")")
			}
			return nil, nil, validationError("The subnet ID '%s' does not exist; madang's default subnets are %s, and DescribeSubnets lists the created ones", id, strings.Join(subnets, ", "))
		}
		if !slices.Contains(out, s.zones[i]) {
			out = append(out, s.zones[i])
		}
	}
	return out, created, nil
}

// checkSizes gives AWS's answers for sizes that do not fit.
func checkSizes(min, max int, desired *int) error {
	if min > max {
		return validationError("Max bound, %d, must be greater than or equal to min bound, %d", max, min)
	}
	if desired != nil && (*desired < min || *desired > max) {
		return validationError("Desired capacity:%d must be between the specified min size:%d and max size:%d", *desired, min, max)
	}
	return nil
}

// readTagList reads a Tags list of CreateAutoScalingGroup.
func readTagList(tags []protocol.Struct) (map[string]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, t := range tags {
		k := t.String("Key")
		if k == "" {
			return nil, validationError("Tag key must not be empty")
		}
		if strings.HasPrefix(k, "aws:") {
			return nil, validationError("Tag keys starting with 'aws:' are reserved for internal use; tag %q cannot be set", k)
		}
		out[k] = t.String("Value")
	}
	if len(out) > maxTags {
		return nil, protocol.Errorf("LimitExceeded", "The number of tags on the AutoScalingGroup would exceed the limit of %d", maxTags)
	}
	return out, nil
}

// trafficTargetGroups reads TrafficSources (elbv2 target groups only).
func (s *Service) trafficTargetGroups(sources []protocol.Struct) ([]string, error) {
	arns := make([]string, 0, len(sources))
	for _, src := range sources {
		switch t := src.String("Type"); t {
		case "", "elbv2":
			arns = append(arns, src.String("Identifier"))
		default:
			return nil, validationError("Traffic source type '%s' is not supported by madang; attach elbv2 target groups (Type elbv2, Identifier the target group's ARN)", t)
		}
	}
	return s.targetGroupNames(arns)
}

// common applies the members CreateAutoScalingGroup and
// UpdateAutoScalingGroup share to spec.
func (s *Service) common(in protocol.Struct, spec *autoscaling.GroupSpec) error {
	for _, m := range []string{"LaunchConfigurationName", "MixedInstancesPolicy", "PlacementGroup", "InstanceMaintenancePolicy"} {
		if in.Has(m) {
			return validationError("%s is not supported by madang; groups launch from a LaunchTemplate", m)
		}
	}
	if in.Has("CapacityRebalance") && in.Bool("CapacityRebalance") {
		return validationError("CapacityRebalance is not supported by madang: it has no Spot Instances")
	}
	if t := in.String("DesiredCapacityType"); t != "" && t != "units" {
		return validationError("DesiredCapacityType '%s' is not supported by madang; use units", t)
	}
	if lt := in.Struct("LaunchTemplate"); lt != nil {
		t, v, err := s.launchTemplate(lt)
		if err != nil {
			return err
		}
		spec.LaunchTemplate, spec.Version = t.Name, v
	}
	if in.Has("MinSize") {
		spec.MinSize = intp(int(in.Int("MinSize")))
	}
	if in.Has("MaxSize") {
		spec.MaxSize = intp(int(in.Int("MaxSize")))
	}
	if in.Has("DesiredCapacity") {
		spec.DesiredCapacity = intp(int(in.Int("DesiredCapacity")))
	}
	if in.Has("DefaultCooldown") {
		spec.DefaultCooldown = intp(int(in.Int("DefaultCooldown")))
	}
	zones := in.Strings("AvailabilityZones")
	if v := in.String("VPCZoneIdentifier"); v != "" {
		vz, created, err := s.zonesOf(v)
		if err != nil {
			return err
		}
		if len(zones) > 0 && !sameSet(zones, vz) {
			return validationError("The availability zones %s do not match the zones of the subnets %s (%s)", strings.Join(zones, ", "), v, strings.Join(vz, ", "))
		}
		zones = vz
		spec.Subnets = created
	}
	if len(zones) > 0 {
		spec.AvailabilityZones = zones
		spec.Subnets = slices.DeleteFunc(spec.Subnets, func(sn autoscaling.SubnetPlacement) bool { return !slices.Contains(zones, sn.Zone) })
	}
	if v := in.String("HealthCheckType"); v != "" {
		spec.HealthCheckType = v
	}
	if in.Has("HealthCheckGracePeriod") {
		spec.HealthCheckGracePeriod = intp(int(in.Int("HealthCheckGracePeriod")))
	}
	if in.Has("TerminationPolicies") {
		spec.TerminationPolicies = in.Strings("TerminationPolicies")
	}
	if in.Has("NewInstancesProtectedFromScaleIn") {
		spec.NewInstancesProtectedFromScaleIn = in.Bool("NewInstancesProtectedFromScaleIn")
	}
	if in.Has("MaxInstanceLifetime") {
		spec.MaxInstanceLifetime = int(in.Int("MaxInstanceLifetime"))
	}
	if in.Has("DefaultInstanceWarmup") {
		if w := int(in.Int("DefaultInstanceWarmup")); w >= 0 {
			spec.DefaultInstanceWarmup = intp(w)
		} else {
			spec.DefaultInstanceWarmup = nil // AWS: -1 turns it off
		}
	}
	return nil
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func (s *Service) createGroup(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := call.Input
	name := in.String("AutoScalingGroupName")
	groups := s.scaling.Groups()
	if slices.ContainsFunc(groups, func(g autoscaling.GroupView) bool { return g.Name == name }) {
		return nil, protocol.Errorf("AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", name)
	}
	if len(groups) >= maxGroups {
		return nil, protocol.Errorf("LimitExceeded", "You have reached your quota of %d Auto Scaling groups; delete one first", maxGroups)
	}
	if in.Has("InstanceId") {
		return nil, validationError("InstanceId is not supported by madang; give a LaunchTemplate")
	}
	if in.Struct("LaunchTemplate") == nil {
		return nil, validationError("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter. madang supports LaunchTemplate")
	}
	spec := &autoscaling.GroupSpec{Name: name}
	if err := s.common(in, spec); err != nil {
		return nil, err
	}
	if err := checkSizes(deref(spec.MinSize), deref(spec.MaxSize), spec.DesiredCapacity); err != nil {
		return nil, err
	}
	tgs, err := s.targetGroupNames(in.Strings("TargetGroupARNs"))
	if err != nil {
		return nil, err
	}
	more, err := s.trafficTargetGroups(in.Structs("TrafficSources"))
	if err != nil {
		return nil, err
	}
	for _, tg := range more {
		if !slices.Contains(tgs, tg) {
			tgs = append(tgs, tg)
		}
	}
	spec.TargetGroups = tgs
	if len(in.Strings("LoadBalancerNames")) > 0 {
		return nil, validationError("Classic Load Balancers (LoadBalancerNames) are not supported by madang; attach target groups with TargetGroupARNs")
	}
	if spec.Tags, err = readTagList(in.Structs("Tags")); err != nil {
		return nil, err
	}
	for _, h := range in.Structs("LifecycleHookSpecificationList") {
		hook, err := hookSpec(h, nil)
		if err != nil {
			return nil, err
		}
		spec.LifecycleHooks = append(spec.LifecycleHooks, hook)
	}
	return map[string]any{}, s.put(ctx, spec)
}

func (s *Service) updateGroup(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := call.Input
	name := in.String("AutoScalingGroupName")
	spec, err := s.owned(name)
	if err != nil {
		return nil, err
	}
	view, err := s.group(name)
	if err != nil {
		return nil, err
	}
	if err := s.common(in, &spec); err != nil {
		return nil, err
	}
	// The runtime sizes are what a change is checked against, as on AWS.
	min, max := view.MinSize, view.MaxSize
	if in.Has("MinSize") {
		min = deref(spec.MinSize)
	}
	if in.Has("MaxSize") {
		max = deref(spec.MaxSize)
	}
	var desired *int
	if in.Has("DesiredCapacity") {
		desired = spec.DesiredCapacity
	}
	if err := checkSizes(min, max, desired); err != nil {
		return nil, err
	}
	spec.MinSize, spec.MaxSize = intp(min), intp(max)
	if d := spec.DesiredCapacity; d != nil && desired == nil {
		// A stored desired capacity outside new bounds follows them, as
		// AWS moves the desired capacity into a changed range.
		spec.DesiredCapacity = intp(clamp(*d, min, max))
	}
	if err := s.put(ctx, &spec); err != nil {
		return nil, err
	}
	now, err := s.group(name)
	if err != nil {
		return nil, err
	}
	want := -1
	switch {
	case desired != nil:
		want = *desired
	case now.DesiredCapacity < min || now.DesiredCapacity > max:
		want = clamp(now.DesiredCapacity, min, max)
	}
	if want >= 0 && now.DesiredCapacity != want {
		// The spec's desired capacity is applied only when it changes; a
		// runtime capacity set since (SetDesiredCapacity, policies) is
		// replaced as an update asks.
		if err := s.scaling.SetDesired(ctx, name, want, false); err != nil {
			return nil, asgError(err)
		}
	}
	return map[string]any{}, nil
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

func (s *Service) deleteGroup(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := call.Input
	name := in.String("AutoScalingGroupName")
	if _, err := s.owned(name); err != nil {
		return nil, err
	}
	g, err := s.group(name)
	if err != nil {
		return nil, err
	}
	if !in.Bool("ForceDelete") {
		if len(g.Instances) > 0 {
			return nil, protocol.Errorf("ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group. Set its sizes to 0 first, or give ForceDelete")
		}
		if g.Activity != nil && g.Activity.InProgress > 0 {
			return nil, protocol.Errorf("ScalingActivityInProgress", "You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.")
		}
	}
	return map[string]any{}, asgError(s.resources.DeleteResource(ctx, autoscaling.GroupKind().Info().Name, name))
}

// groupShape renders a group as AWS's AutoScalingGroup shape.
func (s *Service) groupShape(g autoscaling.GroupView) map[string]any {
	sp := g.Spec
	subnets := make([]string, 0, len(g.Zones))
	for _, z := range g.Zones {
		id := s.subnetOf(z)
		if i := slices.IndexFunc(sp.Subnets, func(sn autoscaling.SubnetPlacement) bool { return sn.Zone == z }); i >= 0 {
			id = sp.Subnets[i].ID
		}
		subnets = append(subnets, id)
	}
	instances := []any{}
	for _, in := range g.Instances {
		if !isWarm(in.Lifecycle) {
			instances = append(instances, instanceShape(in, s.templateID(in.LaunchTemplate)))
		}
	}
	suspended := []any{}
	for _, p := range g.Suspended {
		suspended = append(suspended, map[string]any{"ProcessName": p, "SuspensionReason": "User suspended"})
	}
	tgARNs := s.targetGroupARNs(g.Targets)
	traffic := make([]any, 0, len(tgARNs))
	for _, a := range tgARNs {
		traffic = append(traffic, map[string]any{"Identifier": a, "Type": "elbv2"})
	}
	out := map[string]any{
		"AutoScalingGroupName": g.Name, "AutoScalingGroupARN": g.ARN,
		"LaunchTemplate": map[string]any{"LaunchTemplateId": s.templateID(g.LaunchTemplate), "LaunchTemplateName": g.LaunchTemplate, "Version": g.Version},
		"MinSize":        int64(g.MinSize), "MaxSize": int64(g.MaxSize), "DesiredCapacity": int64(g.DesiredCapacity),
		"DefaultCooldown": int64(deref(sp.DefaultCooldown)), "AvailabilityZones": g.Zones, "LoadBalancerNames": []any{},
		"TargetGroupARNs": tgARNs, "HealthCheckType": sp.HealthCheckType, "HealthCheckGracePeriod": int64(deref(sp.HealthCheckGracePeriod)),
		"Instances": instances, "CreatedTime": g.CreatedTime, "SuspendedProcesses": suspended,
		"VPCZoneIdentifier": strings.Join(subnets, ","), "EnabledMetrics": enabledMetrics(g), "Tags": groupTags(g),
		"TerminationPolicies": sp.TerminationPolicies, "NewInstancesProtectedFromScaleIn": sp.NewInstancesProtectedFromScaleIn,
		"ServiceLinkedRoleARN": "arn:aws:iam::" + autoscaling.AccountID + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
		"CapacityRebalance":    false, "TrafficSources": traffic,
	}
	if sp.MaxInstanceLifetime > 0 {
		out["MaxInstanceLifetime"] = int64(sp.MaxInstanceLifetime)
	}
	if sp.DefaultInstanceWarmup != nil {
		out["DefaultInstanceWarmup"] = int64(*sp.DefaultInstanceWarmup)
	}
	if g.WarmPool != nil {
		out["WarmPoolConfiguration"] = warmPoolShape(g.WarmPool)
		out["WarmPoolSize"] = int64(g.Warm)
	}
	return out
}

// isWarm reports whether a lifecycle state is one of the warm pool's.
func isWarm(lc string) bool { return strings.HasPrefix(lc, "Warmed:") }

// instanceShape renders a group's instance as AWS's Instance shape.
func instanceShape(in autoscaling.InstanceView, templateID string) map[string]any {
	return map[string]any{
		"InstanceId": in.InstanceID, "InstanceType": in.InstanceType, "AvailabilityZone": in.Zone,
		"LifecycleState": in.Lifecycle, "HealthStatus": in.Health, "ProtectedFromScaleIn": in.Protected,
		"LaunchTemplate": map[string]any{"LaunchTemplateId": templateID, "LaunchTemplateName": in.LaunchTemplate,
			"Version": strconv.Itoa(in.LaunchTemplateVersion)},
	}
}

// match reports whether a group passes DescribeAutoScalingGroups' filters
// (every filter, any of its values).
func match(g autoscaling.GroupView, filters []protocol.Struct) (bool, error) {
	for _, f := range filters {
		name, values := f.String("Name"), f.Strings("Values")
		ok := false
		switch {
		case name == "tag-key":
			for k := range g.Spec.Tags {
				ok = ok || slices.Contains(values, k)
			}
		case name == "tag-value":
			for _, v := range g.Spec.Tags {
				ok = ok || slices.Contains(values, v)
			}
		case strings.HasPrefix(name, "tag:"):
			v, has := g.Spec.Tags[strings.TrimPrefix(name, "tag:")]
			ok = has && slices.Contains(values, v)
		default:
			return false, validationError("Filter '%s' is not supported; use tag-key, tag-value or tag:<key>", name)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func (s *Service) describeGroups(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	names := in.Strings("AutoScalingGroupNames")
	var picked []autoscaling.GroupView
	for _, g := range s.scaling.Groups() {
		if len(names) > 0 && !slices.Contains(names, g.Name) {
			continue
		}
		ok, err := match(g, in.Structs("Filters"))
		if err != nil {
			return nil, err
		}
		if ok {
			picked = append(picked, g)
		}
	}
	page, next, err := paging(picked, in, 50, 100)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(page))
	for _, g := range page {
		out = append(out, s.groupShape(g))
	}
	return withToken(map[string]any{"AutoScalingGroups": out}, next), nil
}

func (s *Service) describeInstances(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ids := in.Strings("InstanceIds")
	var all []map[string]any
	for _, g := range s.scaling.Groups() {
		for _, i := range g.Instances {
			if len(ids) > 0 && !slices.Contains(ids, i.InstanceID) {
				continue
			}
			sh := instanceShape(i, s.templateID(i.LaunchTemplate))
			sh["AutoScalingGroupName"] = g.Name
			all = append(all, sh)
		}
	}
	slices.SortFunc(all, func(a, b map[string]any) int {
		return strings.Compare(a["InstanceId"].(string), b["InstanceId"].(string))
	})
	page, next, err := paging(all, in, 50, 50)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(page))
	for _, i := range page {
		out = append(out, i)
	}
	return withToken(map[string]any{"AutoScalingInstances": out}, next), nil
}

func (s *Service) setDesiredCapacity(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name := in.String("AutoScalingGroupName")
	if _, err := s.group(name); err != nil {
		return nil, err
	}
	return map[string]any{}, asgError(s.scaling.SetDesired(ctx, name, int(in.Int("DesiredCapacity")), in.Bool("HonorCooldown")))
}

// activityShape renders an activity as AWS's Activity shape.
func activityShape(a autoscaling.Activity, arn string) map[string]any {
	out := map[string]any{
		"ActivityId": a.ID, "AutoScalingGroupName": a.Group, "Description": a.Description, "Cause": a.Cause,
		"StartTime": a.StartTime, "StatusCode": a.StatusCode, "Progress": int64(a.Progress), "Details": orEmptyJSON(a.Details),
	}
	if !a.EndTime.IsZero() {
		out["EndTime"] = a.EndTime
	}
	if a.StatusMessage != "" {
		out["StatusMessage"] = a.StatusMessage
	}
	if arn != "" {
		out["AutoScalingGroupARN"] = arn
	}
	return out
}

func orEmptyJSON(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

func (s *Service) describeActivities(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	arns := map[string]string{}
	var names []string
	for _, g := range s.scaling.Groups() {
		arns[g.Name] = g.ARN
		names = append(names, g.Name)
	}
	if n := in.String("AutoScalingGroupName"); n != "" {
		names = nil
		if _, live := arns[n]; live || in.Bool("IncludeDeletedGroups") {
			names = []string{n}
		}
	}
	var all []autoscaling.Activity
	for _, n := range names {
		acts, err := s.scaling.Activities(ctx, n, 0)
		if err != nil {
			return nil, err
		}
		all = append(all, acts...)
	}
	slices.SortStableFunc(all, func(a, b autoscaling.Activity) int {
		if c := b.StartTime.Compare(a.StartTime); c != 0 {
			return c
		}
		return int(b.Seq - a.Seq)
	})
	if ids := in.Strings("ActivityIds"); len(ids) > 0 {
		all = slices.DeleteFunc(all, func(a autoscaling.Activity) bool { return !slices.Contains(ids, a.ID) })
	}
	page, next, err := paging(all, in, 100, 100)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(page))
	for _, a := range page {
		out = append(out, activityShape(a, arns[a.Group]))
	}
	return withToken(map[string]any{"Activities": out}, next), nil
}

// processes reads ScalingProcesses (all of them when none are given).
func processes(in protocol.Struct) ([]string, error) {
	ps := in.Strings("ScalingProcesses")
	if len(ps) == 0 {
		return autoscaling.Processes(), nil
	}
	for _, p := range ps {
		if !slices.Contains(autoscaling.Processes(), p) {
			return nil, validationError("Process %s is not a scaling process; use %s", p, strings.Join(autoscaling.Processes(), ", "))
		}
	}
	return ps, nil
}

func (s *Service) suspendProcesses(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	ps, err := processes(call.Input)
	if err != nil {
		return nil, err
	}
	return map[string]any{}, s.change(ctx, call.Input.String("AutoScalingGroupName"), func(spec *autoscaling.GroupSpec) error {
		for _, p := range ps {
			if !slices.Contains(spec.SuspendedProcesses, p) {
				spec.SuspendedProcesses = append(spec.SuspendedProcesses, p)
			}
		}
		return nil
	})
}

func (s *Service) resumeProcesses(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	ps, err := processes(call.Input)
	if err != nil {
		return nil, err
	}
	return map[string]any{}, s.change(ctx, call.Input.String("AutoScalingGroupName"), func(spec *autoscaling.GroupSpec) error {
		spec.SuspendedProcesses = slices.DeleteFunc(spec.SuspendedProcesses, func(p string) bool { return slices.Contains(ps, p) })
		return nil
	})
}
