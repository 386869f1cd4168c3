package autoscaling

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// AWS's quotas of a group's parts.
const (
	maxPolicies        = 50
	maxScheduled       = 125
	maxLifecycleHooks  = 50
	defaultHeartbeat   = 3600
	maxGlobalTimeout   = 172800
	globalTimeoutTimes = 100
)

// policySpec reads PutScalingPolicy's input into a policy spec.
func policySpec(in protocol.Struct) (autoscaling.PolicySpec, error) {
	p := autoscaling.PolicySpec{Name: in.String("PolicyName"), PolicyType: in.String("PolicyType"),
		AdjustmentType: in.String("AdjustmentType"), MetricAggregationType: in.String("MetricAggregationType")}
	if p.PolicyType == "" {
		p.PolicyType = "SimpleScaling" // AWS's default for PutScalingPolicy
	}
	if in.Has("PredictiveScalingConfiguration") || p.PolicyType == "PredictiveScaling" {
		return p, validationError("PredictiveScaling policies are not supported by madang; use TargetTrackingScaling, StepScaling or SimpleScaling")
	}
	if in.Has("MinAdjustmentStep") {
		p.MinAdjustmentMagnitude = int(in.Int("MinAdjustmentStep"))
	}
	if in.Has("MinAdjustmentMagnitude") {
		p.MinAdjustmentMagnitude = int(in.Int("MinAdjustmentMagnitude"))
	}
	if in.Has("ScalingAdjustment") {
		p.ScalingAdjustment = int(in.Int("ScalingAdjustment"))
	}
	if in.Has("Cooldown") {
		p.Cooldown = intp(int(in.Int("Cooldown")))
	}
	if in.Has("EstimatedInstanceWarmup") {
		p.EstimatedInstanceWarmup = intp(int(in.Int("EstimatedInstanceWarmup")))
	}
	if in.Has("Enabled") {
		v := in.Bool("Enabled")
		p.Enabled = &v
	}
	for _, st := range in.Structs("StepAdjustments") {
		step := autoscaling.StepSpec{ScalingAdjustment: int(st.Int("ScalingAdjustment"))}
		if st.Has("MetricIntervalLowerBound") {
			v := st.Float("MetricIntervalLowerBound")
			step.MetricIntervalLowerBound = &v
		}
		if st.Has("MetricIntervalUpperBound") {
			v := st.Float("MetricIntervalUpperBound")
			step.MetricIntervalUpperBound = &v
		}
		p.StepAdjustments = append(p.StepAdjustments, step)
	}
	if t := in.Struct("TargetTrackingConfiguration"); t != nil {
		tt := &autoscaling.TargetTrackingSpec{TargetValue: t.Float("TargetValue"), DisableScaleIn: t.Bool("DisableScaleIn")}
		if pm := t.Struct("PredefinedMetricSpecification"); pm != nil {
			tt.PredefinedMetricSpecification = &autoscaling.PredefinedMetricSpec{
				PredefinedMetricType: pm.String("PredefinedMetricType"), ResourceLabel: pm.String("ResourceLabel")}
		}
		if cm := t.Struct("CustomizedMetricSpecification"); cm != nil {
			if cm.Has("Metrics") {
				return p, validationError("Metric math (CustomizedMetricSpecification.Metrics) is not supported by madang; name one metric with Namespace, MetricName, Dimensions and Statistic")
			}
			c := &autoscaling.CustomMetricSpec{Namespace: cm.String("Namespace"), MetricName: cm.String("MetricName"), Statistic: cm.String("Statistic")}
			for _, d := range cm.Structs("Dimensions") {
				c.Dimensions = append(c.Dimensions, autoscaling.DimensionSpec{Name: d.String("Name"), Value: d.String("Value")})
			}
			tt.CustomizedMetricSpecification = c
		}
		p.TargetTrackingConfiguration = tt
	}
	return p, nil
}

// policyAlarms lists the CloudWatch alarms whose alarm actions run a
// group's policy, as AWS's Alarm shapes. madang's target tracking policies
// read their metric every second without alarms, so theirs is empty
// unless an alarm names them.
func (s *Service) policyAlarms(group, policy string) []any {
	out := []any{}
	if s.alarms == nil {
		return out
	}
	for _, v := range s.alarms.Alarms() {
		var actions []string
		switch {
		case v.Metric != nil:
			actions = v.Metric.AlarmActions
		case v.Composite != nil:
			actions = v.Composite.AlarmActions
		}
		if slices.ContainsFunc(actions, func(a string) bool {
			g, p, err := autoscaling.ParsePolicyRef(a)
			return err == nil && g == group && p == policy
		}) {
			out = append(out, map[string]any{"AlarmName": v.Name, "AlarmARN": v.ARN})
		}
	}
	return out
}

// policyShape renders a policy as AWS's ScalingPolicy shape.
func policyShape(group string, p autoscaling.PolicySpec, arn string, alarms []any) map[string]any {
	out := map[string]any{
		"AutoScalingGroupName": group, "PolicyName": p.Name, "PolicyARN": arn, "PolicyType": p.PolicyType,
		"Alarms": alarms, "Enabled": p.Enabled == nil || *p.Enabled,
	}
	if p.AdjustmentType != "" {
		out["AdjustmentType"] = p.AdjustmentType
	}
	if p.MinAdjustmentMagnitude != 0 {
		out["MinAdjustmentMagnitude"] = int64(p.MinAdjustmentMagnitude)
	}
	if p.PolicyType == "SimpleScaling" {
		out["ScalingAdjustment"] = int64(p.ScalingAdjustment)
		if p.Cooldown != nil {
			out["Cooldown"] = int64(*p.Cooldown)
		}
	}
	if len(p.StepAdjustments) > 0 {
		steps := make([]any, 0, len(p.StepAdjustments))
		for _, st := range p.StepAdjustments {
			m := map[string]any{"ScalingAdjustment": int64(st.ScalingAdjustment)}
			if st.MetricIntervalLowerBound != nil {
				m["MetricIntervalLowerBound"] = *st.MetricIntervalLowerBound
			}
			if st.MetricIntervalUpperBound != nil {
				m["MetricIntervalUpperBound"] = *st.MetricIntervalUpperBound
			}
			steps = append(steps, m)
		}
		out["StepAdjustments"] = steps
	}
	if p.MetricAggregationType != "" && p.PolicyType == "StepScaling" {
		out["MetricAggregationType"] = p.MetricAggregationType
	}
	if p.EstimatedInstanceWarmup != nil {
		out["EstimatedInstanceWarmup"] = int64(*p.EstimatedInstanceWarmup)
	}
	if t := p.TargetTrackingConfiguration; t != nil {
		tt := map[string]any{"TargetValue": t.TargetValue, "DisableScaleIn": t.DisableScaleIn}
		if pm := t.PredefinedMetricSpecification; pm != nil {
			m := map[string]any{"PredefinedMetricType": pm.PredefinedMetricType}
			if pm.ResourceLabel != "" {
				m["ResourceLabel"] = pm.ResourceLabel
			}
			tt["PredefinedMetricSpecification"] = m
		}
		if c := t.CustomizedMetricSpecification; c != nil {
			dims := make([]any, 0, len(c.Dimensions))
			for _, d := range c.Dimensions {
				dims = append(dims, map[string]any{"Name": d.Name, "Value": d.Value})
			}
			tt["CustomizedMetricSpecification"] = map[string]any{"Namespace": c.Namespace, "MetricName": c.MetricName, "Dimensions": dims, "Statistic": c.Statistic}
		}
		out["TargetTrackingConfiguration"] = tt
	}
	return out
}

// policyARN is the ARN the controller gave a group's policy.
func policyARN(g autoscaling.GroupView, name string) string {
	for _, p := range g.Policies {
		if p.Name == name {
			return p.ARN
		}
	}
	return ""
}

func (s *Service) putPolicy(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	group := in.String("AutoScalingGroupName")
	p, err := policySpec(in)
	if err != nil {
		return nil, err
	}
	if err := s.change(ctx, group, func(spec *autoscaling.GroupSpec) error {
		i := slices.IndexFunc(spec.ScalingPolicies, func(q autoscaling.PolicySpec) bool { return q.Name == p.Name })
		if i >= 0 {
			spec.ScalingPolicies[i] = p
			return nil
		}
		if len(spec.ScalingPolicies) >= maxPolicies {
			return protocol.Errorf("LimitExceeded", "The group %s has %d scaling policies, the most it may have", group, maxPolicies)
		}
		spec.ScalingPolicies = append(spec.ScalingPolicies, p)
		return nil
	}); err != nil {
		return nil, err
	}
	g, err := s.group(group)
	if err != nil {
		return nil, err
	}
	return map[string]any{"PolicyARN": policyARN(g, p.Name), "Alarms": s.policyAlarms(group, p.Name)}, nil
}

// policyName reads a PolicyName that may be the policy's name or ARN.
func policyName(v string) string {
	if i := strings.LastIndex(v, ":policyName/"); i >= 0 && strings.HasPrefix(v, "arn:") {
		return v[i+len(":policyName/"):]
	}
	return v
}

func (s *Service) describePolicies(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	group := in.String("AutoScalingGroupName")
	var names []string
	for _, n := range in.Strings("PolicyNames") {
		names = append(names, policyName(n))
	}
	types := in.Strings("PolicyTypes")
	var all []any
	for _, g := range s.scaling.Groups() {
		if group != "" && g.Name != group {
			continue
		}
		for _, p := range g.Spec.ScalingPolicies {
			if (len(names) > 0 && !slices.Contains(names, p.Name)) || (len(types) > 0 && !slices.Contains(types, p.PolicyType)) {
				continue
			}
			all = append(all, policyShape(g.Name, p, policyARN(g, p.Name), s.policyAlarms(g.Name, p.Name)))
		}
	}
	page, next, err := paging(all, in, 50, 100)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"ScalingPolicies": page}, next), nil
}

func (s *Service) deletePolicy(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name := policyName(in.String("PolicyName"))
	group := in.String("AutoScalingGroupName")
	if group == "" {
		if g, _, err := parsePolicyARN(in.String("PolicyName")); err == nil {
			group = g
		} else {
			return nil, validationError("AutoScalingGroupName is needed unless PolicyName is the policy's ARN")
		}
	}
	return map[string]any{}, s.change(ctx, group, func(spec *autoscaling.GroupSpec) error {
		i := slices.IndexFunc(spec.ScalingPolicies, func(q autoscaling.PolicySpec) bool { return q.Name == name })
		if i < 0 {
			return validationError("Policy %s not found in AutoScalingGroup %s", name, group)
		}
		spec.ScalingPolicies = slices.Delete(spec.ScalingPolicies, i, i+1)
		return nil
	})
}

// executePolicy runs a simple or step scaling policy as if its alarm had
// fired; target tracking policies are refused (the controller's checks,
// answered as ValidationError, or ScalingActivityInProgress while an
// honoured cooldown runs).
func (s *Service) executePolicy(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ref, group := in.String("PolicyName"), in.String("AutoScalingGroupName")
	if group == "" {
		g, _, err := parsePolicyARN(ref)
		if err != nil {
			return nil, validationError("AutoScalingGroupName is needed unless PolicyName is the policy's ARN")
		}
		group = g
	}
	if _, err := s.group(group); err != nil {
		return nil, err
	}
	opts := autoscaling.ExecuteOptions{HonorCooldown: in.Bool("HonorCooldown")}
	if in.Has("MetricValue") {
		v := in.Float("MetricValue")
		opts.MetricValue = &v
	}
	if in.Has("BreachThreshold") {
		v := in.Float("BreachThreshold")
		opts.BreachThreshold = &v
	}
	if _, err := s.scaling.ExecutePolicy(ctx, group, ref, opts); err != nil {
		return nil, asgError(err)
	}
	return map[string]any{}, nil
}

func parsePolicyARN(v string) (group, policy string, err error) {
	if !strings.HasPrefix(v, "arn:") {
		return "", "", fmt.Errorf("%q is not an ARN", v)
	}
	return autoscaling.ParsePolicyRef(v)
}

// uuidOf is a stable UUID-shaped id of parts (scheduled actions' ARNs).
func uuidOf(parts ...string) string {
	h1, h2 := fnv.New64a(), fnv.New64()
	for _, p := range parts {
		_, _ = h1.Write([]byte(p + "\x00"))
		_, _ = h2.Write([]byte(p + "\x00"))
	}
	x := fmt.Sprintf("%016x%016x", h1.Sum64(), h2.Sum64())
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

func (s *Service) putScheduledAction(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	group := in.String("AutoScalingGroupName")
	a := autoscaling.ScheduledActionSpec{Name: in.String("ScheduledActionName"), Recurrence: in.String("Recurrence"), TimeZone: in.String("TimeZone")}
	start := in.Time("StartTime")
	if in.Has("Time") {
		start = in.Time("Time")
	}
	if !start.IsZero() {
		a.StartTime = start.UTC().Format(time.RFC3339)
	}
	if in.Has("EndTime") {
		a.EndTime = in.Time("EndTime").UTC().Format(time.RFC3339)
	}
	for _, f := range []struct {
		name string
		dst  **int
	}{{"MinSize", &a.MinSize}, {"MaxSize", &a.MaxSize}, {"DesiredCapacity", &a.DesiredCapacity}} {
		if in.Has(f.name) {
			*f.dst = intp(int(in.Int(f.name)))
		}
	}
	return map[string]any{}, s.change(ctx, group, func(spec *autoscaling.GroupSpec) error {
		i := slices.IndexFunc(spec.ScheduledActions, func(b autoscaling.ScheduledActionSpec) bool { return b.Name == a.Name })
		if i >= 0 {
			spec.ScheduledActions[i] = a
			return nil
		}
		if len(spec.ScheduledActions) >= maxScheduled {
			return protocol.Errorf("LimitExceeded", "The group %s has %d scheduled actions, the most it may have", group, maxScheduled)
		}
		spec.ScheduledActions = append(spec.ScheduledActions, a)
		return nil
	})
}

func (s *Service) describeScheduledActions(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	group, names := in.String("AutoScalingGroupName"), in.Strings("ScheduledActionNames")
	from, to := in.Time("StartTime"), in.Time("EndTime")
	var all []any
	for _, g := range s.scaling.Groups() {
		if group != "" && g.Name != group {
			continue
		}
		next := map[string]time.Time{}
		for _, sv := range g.Schedules {
			next[sv.Name] = sv.Next
		}
		for _, a := range g.Spec.ScheduledActions {
			if len(names) > 0 && !slices.Contains(names, a.Name) {
				continue
			}
			at := next[a.Name]
			if at.IsZero() {
				at, _ = time.Parse(time.RFC3339, a.StartTime)
			}
			if (!from.IsZero() && at.Before(from)) || (!to.IsZero() && at.After(to)) {
				continue
			}
			all = append(all, scheduledShape(g.Name, a, at))
		}
	}
	page, next, err := paging(all, in, 50, 100)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"ScheduledUpdateGroupActions": page}, next), nil
}

// scheduledShape renders a scheduled action as AWS's
// ScheduledUpdateGroupAction; at is its next run.
func scheduledShape(group string, a autoscaling.ScheduledActionSpec, at time.Time) map[string]any {
	out := map[string]any{
		"AutoScalingGroupName": group, "ScheduledActionName": a.Name,
		"ScheduledActionARN": fmt.Sprintf("arn:aws:autoscaling:%s:%s:scheduledUpdateGroupAction:%s:autoScalingGroupName/%s:scheduledActionName/%s",
			autoscaling.Region, autoscaling.AccountID, uuidOf(group, a.Name), group, a.Name),
	}
	if !at.IsZero() {
		out["Time"], out["StartTime"] = at, at
	}
	if t, err := time.Parse(time.RFC3339, a.EndTime); err == nil {
		out["EndTime"] = t
	}
	if a.Recurrence != "" {
		out["Recurrence"] = a.Recurrence
	}
	if a.TimeZone != "" {
		out["TimeZone"] = a.TimeZone
	}
	for k, v := range map[string]*int{"MinSize": a.MinSize, "MaxSize": a.MaxSize, "DesiredCapacity": a.DesiredCapacity} {
		if v != nil {
			out[k] = int64(*v)
		}
	}
	return out
}

func (s *Service) deleteScheduledAction(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	group, name := in.String("AutoScalingGroupName"), in.String("ScheduledActionName")
	return map[string]any{}, s.change(ctx, group, func(spec *autoscaling.GroupSpec) error {
		i := slices.IndexFunc(spec.ScheduledActions, func(b autoscaling.ScheduledActionSpec) bool { return b.Name == name })
		if i < 0 {
			return validationError("Scheduled action name not found - Could not find scheduled action %s of AutoScalingGroup %s", name, group)
		}
		spec.ScheduledActions = slices.Delete(spec.ScheduledActions, i, i+1)
		return nil
	})
}

// hookSpec reads a lifecycle hook (PutLifecycleHook or a
// LifecycleHookSpecification) over old (the hook's current spec, if any).
func hookSpec(in protocol.Struct, old *autoscaling.HookSpec) (autoscaling.HookSpec, error) {
	h := autoscaling.HookSpec{Name: in.String("LifecycleHookName")}
	if old != nil {
		h = *old
	}
	if in.Has("NotificationTargetARN") || in.Has("RoleARN") {
		return h, validationError("Lifecycle hook %s: NotificationTargetARN and RoleARN are not supported by madang (it sends no SNS, SQS or EventBridge notifications); "+
			"leave them out and complete the action with CompleteLifecycleAction, or give the hook a command in a stack file", h.Name)
	}
	if v := in.String("LifecycleTransition"); v != "" {
		h.LifecycleTransition = v
	}
	if h.LifecycleTransition == "" {
		return h, validationError("LifecycleTransition is missing for the new lifecycle hook %s; use %s or %s", h.Name, autoscaling.TransitionLaunching, autoscaling.TransitionTerminating)
	}
	if in.Has("HeartbeatTimeout") {
		h.HeartbeatTimeout = intp(int(in.Int("HeartbeatTimeout")))
	}
	if v := in.String("DefaultResult"); v != "" {
		h.DefaultResult = v
	}
	if in.Has("NotificationMetadata") {
		h.NotificationMetadata = in.String("NotificationMetadata")
	}
	return h, nil
}

func (s *Service) putLifecycleHook(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	group, name := in.String("AutoScalingGroupName"), in.String("LifecycleHookName")
	return map[string]any{}, s.change(ctx, group, func(spec *autoscaling.GroupSpec) error {
		i := slices.IndexFunc(spec.LifecycleHooks, func(h autoscaling.HookSpec) bool { return h.Name == name })
		var old *autoscaling.HookSpec
		if i >= 0 {
			old = &spec.LifecycleHooks[i]
		} else if len(spec.LifecycleHooks) >= maxLifecycleHooks {
			return protocol.Errorf("LimitExceeded", "The group %s has %d lifecycle hooks, the most it may have", group, maxLifecycleHooks)
		}
		h, err := hookSpec(in, old)
		if err != nil {
			return err
		}
		if i >= 0 {
			spec.LifecycleHooks[i] = h
		} else {
			spec.LifecycleHooks = append(spec.LifecycleHooks, h)
		}
		return nil
	})
}

func (s *Service) describeLifecycleHooks(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	g, err := s.group(in.String("AutoScalingGroupName"))
	if err != nil {
		return nil, err
	}
	names := in.Strings("LifecycleHookNames")
	out := []any{}
	for _, h := range g.Spec.LifecycleHooks {
		if len(names) > 0 && !slices.Contains(names, h.Name) {
			continue
		}
		hb := defaultHeartbeat
		if h.HeartbeatTimeout != nil {
			hb = *h.HeartbeatTimeout
		}
		m := map[string]any{
			"LifecycleHookName": h.Name, "AutoScalingGroupName": g.Name, "LifecycleTransition": h.LifecycleTransition,
			"HeartbeatTimeout": int64(hb), "GlobalTimeout": int64(min(maxGlobalTimeout, globalTimeoutTimes*hb)), "DefaultResult": h.DefaultResult,
		}
		if h.NotificationMetadata != "" {
			m["NotificationMetadata"] = h.NotificationMetadata
		}
		out = append(out, m)
	}
	return map[string]any{"LifecycleHooks": out}, nil
}

func (s *Service) deleteLifecycleHook(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	group, name := in.String("AutoScalingGroupName"), in.String("LifecycleHookName")
	return map[string]any{}, s.change(ctx, group, func(spec *autoscaling.GroupSpec) error {
		i := slices.IndexFunc(spec.LifecycleHooks, func(h autoscaling.HookSpec) bool { return h.Name == name })
		if i < 0 {
			return validationError("No Lifecycle Hook found with name %s for group %s", name, group)
		}
		spec.LifecycleHooks = slices.Delete(spec.LifecycleHooks, i, i+1)
		return nil
	})
}

// lifecycleTarget checks a lifecycle action's group and hook and that it
// names an instance or a token.
func (s *Service) lifecycleTarget(in protocol.Struct) (group, hook string, err error) {
	group, hook = in.String("AutoScalingGroupName"), in.String("LifecycleHookName")
	g, err := s.group(group)
	if err != nil {
		return "", "", err
	}
	if !slices.ContainsFunc(g.Spec.LifecycleHooks, func(h autoscaling.HookSpec) bool { return h.Name == hook }) {
		return "", "", validationError("No Lifecycle Hook found with name %s for group %s", hook, group)
	}
	if in.String("InstanceId") == "" && in.String("LifecycleActionToken") == "" {
		return "", "", validationError("Give InstanceId or LifecycleActionToken to name the lifecycle action")
	}
	return group, hook, nil
}

func (s *Service) completeLifecycleAction(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	group, hook, err := s.lifecycleTarget(in)
	if err != nil {
		return nil, err
	}
	return map[string]any{}, asgError(s.scaling.CompleteLifecycleAction(ctx, group, hook, in.String("InstanceId"),
		in.String("LifecycleActionToken"), in.String("LifecycleActionResult")))
}

func (s *Service) recordHeartbeat(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	group, hook, err := s.lifecycleTarget(in)
	if err != nil {
		return nil, err
	}
	return map[string]any{}, asgError(s.scaling.RecordLifecycleActionHeartbeat(ctx, group, hook, in.String("InstanceId"), in.String("LifecycleActionToken")))
}

// warmPoolShape renders a warm pool as AWS's WarmPoolConfiguration.
func warmPoolShape(w *autoscaling.WarmPoolSpec) map[string]any {
	out := map[string]any{"MinSize": int64(w.MinSize), "PoolState": w.PoolState,
		"InstanceReusePolicy": map[string]any{"ReuseOnScaleIn": w.InstanceReusePolicy != nil && w.InstanceReusePolicy.ReuseOnScaleIn}}
	if w.MaxGroupPreparedCapacity != nil {
		out["MaxGroupPreparedCapacity"] = int64(*w.MaxGroupPreparedCapacity)
	}
	return out
}

func (s *Service) putWarmPool(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	return map[string]any{}, s.change(ctx, in.String("AutoScalingGroupName"), func(spec *autoscaling.GroupSpec) error {
		w := &autoscaling.WarmPoolSpec{MinSize: int(in.Int("MinSize")), PoolState: in.String("PoolState")}
		if in.Has("MaxGroupPreparedCapacity") {
			w.MaxGroupPreparedCapacity = intp(int(in.Int("MaxGroupPreparedCapacity")))
		}
		if r := in.Struct("InstanceReusePolicy"); r != nil {
			w.InstanceReusePolicy = &autoscaling.ReusePolicySpec{ReuseOnScaleIn: r.Bool("ReuseOnScaleIn")}
		}
		spec.WarmPool = w
		return nil
	})
}

func (s *Service) describeWarmPool(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	g, err := s.group(in.String("AutoScalingGroupName"))
	if err != nil {
		return nil, err
	}
	var warm []any
	for _, i := range g.Instances {
		if isWarm(i.Lifecycle) {
			warm = append(warm, instanceShape(i, s.templateID(i.LaunchTemplate)))
		}
	}
	page, next, err := paging(warm, in, 50, 50)
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []any{}
	}
	out := map[string]any{"Instances": page}
	if g.WarmPool != nil {
		out["WarmPoolConfiguration"] = warmPoolShape(g.WarmPool)
	}
	return withToken(out, next), nil
}

func (s *Service) deleteWarmPool(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	group := call.Input.String("AutoScalingGroupName")
	return map[string]any{}, s.change(ctx, group, func(spec *autoscaling.GroupSpec) error {
		if spec.WarmPool == nil {
			return validationError("No warm pool found for AutoScalingGroup %s", group)
		}
		// Its instances are terminated by the controller, with or without
		// ForceDelete.
		spec.WarmPool = nil
		return nil
	})
}
