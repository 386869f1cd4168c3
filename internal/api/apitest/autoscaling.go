package apitest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/autoscaling/policy"
	"github.com/madang-dev/madang/internal/fault"
)

// AutoScaling is an in-memory Auto Scaling controller for [Fake]. It keeps
// the rules clients rely on: unknown groups are NotFound, desired
// capacities stay within min and max, a cooldown refuses honorCooldown,
// and lifecycle actions need an instance waiting in the named hook.
type AutoScaling struct {
	// Cooldown, when set, makes SetDesired with honorCooldown fail.
	Cooldown bool

	mu         sync.Mutex
	groups     []autoscaling.GroupView
	activities map[string][]autoscaling.Activity
	completed  []string
	refreshes  map[string][]autoscaling.Refresh // newest first
	// deployments holds each group's deployments, newest first
	// (autoscaling_deploy.go).
	deployments map[string][]autoscaling.Deployment
}

// NewAutoScaling returns a fake holding groups (in the order given; keep
// them sorted by name, as the controller does).
func NewAutoScaling(groups ...autoscaling.GroupView) *AutoScaling {
	return &AutoScaling{groups: groups, activities: map[string][]autoscaling.Activity{}}
}

// AddActivities stores a group's activities, newest first.
func (a *AutoScaling) AddActivities(group string, acts ...autoscaling.Activity) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.activities[group] = append(a.activities[group], acts...)
}

// SetActivities replaces a group's activities (newest first): what the
// controller recorded since.
func (a *AutoScaling) SetActivities(group string, acts ...autoscaling.Activity) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.activities[group] = acts
}

// Completed returns the lifecycle actions completed and heartbeats
// recorded so far, as "hook instance result" ("heartbeat" for heartbeats).
func (a *AutoScaling) Completed() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.completed)
}

func asgNotFound(name string) error {
	return fault.NotFoundf(autoscaling.KindGroup, name, "Auto Scaling group %q does not exist", name).WithHint("madang asg ls lists the groups")
}

func (a *AutoScaling) find(name string) *autoscaling.GroupView {
	for i := range a.groups {
		if a.groups[i].Name == name {
			return &a.groups[i]
		}
	}
	return nil
}

// Groups returns every group.
func (a *AutoScaling) Groups() []autoscaling.GroupView {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.groups)
}

// Group returns one group.
func (a *AutoScaling) Group(name string) (autoscaling.GroupView, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.find(name)
	if g == nil {
		return autoscaling.GroupView{}, asgNotFound(name)
	}
	return *g, nil
}

// Activities returns a group's activities, newest first, at most max.
func (a *AutoScaling) Activities(_ context.Context, group string, max int) ([]autoscaling.Activity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := slices.Clone(a.activities[group])
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// SetDesired sets a group's desired capacity within its min and max.
func (a *AutoScaling) SetDesired(_ context.Context, name string, n int, honorCooldown bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.find(name)
	switch {
	case g == nil:
		return asgNotFound(name)
	case n > g.MaxSize:
		return fault.Invalidf(autoscaling.KindGroup, name, "New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", n, g.MaxSize).
			WithHint(fmt.Sprintf("give a value from %d to %d, or raise maxSize in the stack file", g.MinSize, g.MaxSize))
	case n < g.MinSize:
		return fault.Invalidf(autoscaling.KindGroup, name, "New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", n, g.MinSize).
			WithHint(fmt.Sprintf("give a value from %d to %d, or lower minSize in the stack file", g.MinSize, g.MaxSize))
	case honorCooldown && a.Cooldown:
		return fault.Conflictf(autoscaling.KindGroup, name, "ScalingActivityInProgress: the group is in its cooldown").WithHint("wait, or leave out --honor-cooldown")
	}
	if n != g.DesiredCapacity {
		g.Cause = fmt.Sprintf("a user request explicitly set group desired capacity changing the desired capacity from %d to %d.", g.DesiredCapacity, n)
		g.DesiredCapacity = n
	}
	return nil
}

// ExecutePolicy runs a simple policy's adjustment or the step that holds
// MetricValue - BreachThreshold (adjustments read as ChangeInCapacity,
// kept within min and max); target tracking policies are refused, and
// Cooldown refuses HonorCooldown.
func (a *AutoScaling) ExecutePolicy(_ context.Context, group, name string, opts autoscaling.ExecuteOptions) (autoscaling.Execution, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.find(group)
	if g == nil {
		return autoscaling.Execution{}, asgNotFound(group)
	}
	i := slices.IndexFunc(g.Spec.ScalingPolicies, func(p autoscaling.PolicySpec) bool { return p.Name == name })
	if i < 0 {
		return autoscaling.Execution{}, fault.NotFoundf(autoscaling.KindGroup, group, "Policy %s not found in AutoScalingGroup %s", name, group)
	}
	p := g.Spec.ScalingPolicies[i]
	adj := 0
	switch p.PolicyType {
	case "SimpleScaling":
		switch {
		case opts.MetricValue != nil || opts.BreachThreshold != nil:
			return autoscaling.Execution{}, fault.Invalidf(autoscaling.KindGroup, group, "MetricValue is only supported for policies of type StepScaling; %s is a SimpleScaling policy", name)
		case opts.HonorCooldown && a.Cooldown:
			return autoscaling.Execution{}, fault.Conflictf(autoscaling.KindGroup, group, "ScalingActivityInProgress: the group is in its cooldown")
		}
		adj = p.ScalingAdjustment
	case "StepScaling":
		if opts.MetricValue == nil || opts.BreachThreshold == nil {
			return autoscaling.Execution{}, fault.Invalidf(autoscaling.KindGroup, group, "MetricValue is required for policies of type StepScaling; %s is a StepScaling policy", name)
		}
		diff := *opts.MetricValue - *opts.BreachThreshold
		i := slices.IndexFunc(p.StepAdjustments, func(st autoscaling.StepSpec) bool {
			return (st.MetricIntervalLowerBound == nil || *st.MetricIntervalLowerBound <= diff) &&
				(st.MetricIntervalUpperBound == nil || diff < *st.MetricIntervalUpperBound)
		})
		if i < 0 {
			return autoscaling.Execution{}, fault.Invalidf(autoscaling.KindGroup, group, "MetricValue %v with BreachThreshold %v does not fall within any step adjustment of policy %s",
				*opts.MetricValue, *opts.BreachThreshold, name)
		}
		adj = p.StepAdjustments[i].ScalingAdjustment
	default:
		return autoscaling.Execution{}, fault.Invalidf(autoscaling.KindGroup, group, "ExecutePolicy is not supported for target tracking scaling policies; %s is a TargetTrackingScaling policy", name)
	}
	ex := autoscaling.Execution{Group: group, Policy: name, PolicyType: p.PolicyType, From: g.DesiredCapacity,
		To: min(max(g.DesiredCapacity+adj, g.MinSize), g.MaxSize)}
	ex.Cause = fmt.Sprintf("the adjustment leaves the desired capacity at %d", ex.To)
	if ex.To != ex.From {
		ex.Cause = policy.ExecutedCause(time.Now(), name, ex.From, ex.To)
		g.Cause, g.DesiredCapacity = ex.Cause, ex.To
	}
	return ex, nil
}

// waiting returns the instance of group waiting in hook, by id or token.
func (a *AutoScaling) waiting(group, hook, instanceID, token string) (*autoscaling.InstanceView, error) {
	g := a.find(group)
	if g == nil {
		return nil, asgNotFound(group)
	}
	for i := range g.Instances {
		in := &g.Instances[i]
		if in.Hook == hook && in.Hook != "" && (in.InstanceID == instanceID || (token != "" && in.HookToken == token)) {
			return in, nil
		}
	}
	return nil, fault.NotFoundf(autoscaling.KindGroup, group, "no active lifecycle action for instance %q (token %q) in hook %s of group %s", instanceID, token, hook, group).
		WithHint("madang asg describe " + group + " lists the instances waiting in hooks")
}

// CompleteLifecycleAction ends an instance's wait in a hook.
func (a *AutoScaling) CompleteLifecycleAction(_ context.Context, group, hook, instanceID, token, result string) error {
	if result != autoscaling.ResultContinue && result != autoscaling.ResultAbandon {
		return fault.Invalidf(autoscaling.KindGroup, group, "lifecycle action result %q is not CONTINUE or ABANDON", result).WithHint("use --result CONTINUE or --result ABANDON")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	in, err := a.waiting(group, hook, instanceID, token)
	if err != nil {
		return err
	}
	a.completed = append(a.completed, hook+" "+in.InstanceID+" "+result)
	in.Hook, in.HookToken, in.HookDeadline = "", "", time.Time{}
	return nil
}

// RecordLifecycleActionHeartbeat extends an instance's wait in a hook by
// an hour.
func (a *AutoScaling) RecordLifecycleActionHeartbeat(_ context.Context, group, hook, instanceID, token string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	in, err := a.waiting(group, hook, instanceID, token)
	if err != nil {
		return err
	}
	a.completed = append(a.completed, hook+" "+in.InstanceID+" heartbeat")
	in.HookDeadline = in.HookDeadline.Add(time.Hour)
	return nil
}

// AutoScaling implements api.AutoScaling.
var _ api.AutoScaling = (*AutoScaling)(nil)

// SampleGroup returns a group "web" for tests: desired 2 of 1–4, one
// instance InService, one waiting in the launching hook "warm-cache" with
// token "tok-1", a target tracking policy "cpu50", a simple policy "add1"
// (+1), a step policy "cpu-steps" (+1 for 0 to 10 above the threshold, +2
// above), a scheduled action and a warm pool.
func SampleGroup(now time.Time) autoscaling.GroupView {
	hb, grace, warmup, one := 300, 300, 60, 1
	zero, ten := 0.0, 10.0
	return autoscaling.GroupView{
		Name: "web", ARN: autoscaling.GroupARN("0001", "web"), Owner: "demo", LaunchTemplate: "web", Version: "$Default",
		MinSize: 1, MaxSize: 4, DesiredCapacity: 2, CreatedTime: now.Add(-time.Hour), InService: 1, Pending: 1,
		Instances: []autoscaling.InstanceView{
			{InstanceID: "i-0a", Zone: "local-1a", Lifecycle: autoscaling.InService, Health: autoscaling.HealthHealthy,
				LaunchTemplate: "web", LaunchTemplateVersion: 3, InstanceType: "t3.micro", LaunchedAt: now.Add(-30 * time.Minute),
				InServiceAt: now.Add(-29 * time.Minute), TargetGroups: []string{"web"}},
			{InstanceID: "i-0b", Zone: "local-1b", Lifecycle: autoscaling.PendingWait, Health: autoscaling.HealthHealthy,
				LaunchTemplate: "web", LaunchTemplateVersion: 3, InstanceType: "t3.micro", Protected: true, LaunchedAt: now.Add(-time.Minute),
				Hook: "warm-cache", HookToken: "tok-1", HookDeadline: now.Add(4 * time.Minute)},
		},
		Policies: []autoscaling.PolicyView{{Name: "cpu50", Type: "TargetTrackingScaling",
			ARN: autoscaling.PolicyARN("0002", "web", "cpu50")},
			{Name: "add1", Type: "SimpleScaling", ARN: autoscaling.PolicyARN("0003", "web", "add1")},
			{Name: "cpu-steps", Type: "StepScaling", ARN: autoscaling.PolicyARN("0004", "web", "cpu-steps")}},
		Spec: autoscaling.GroupSpec{Name: "web", HealthCheckType: autoscaling.HealthCheckELB, HealthCheckGracePeriod: &grace,
			Tags: map[string]string{"team": "shop"},
			ScalingPolicies: []autoscaling.PolicySpec{{Name: "cpu50", PolicyType: "TargetTrackingScaling", EstimatedInstanceWarmup: &warmup,
				TargetTrackingConfiguration: &autoscaling.TargetTrackingSpec{TargetValue: 50,
					PredefinedMetricSpecification: &autoscaling.PredefinedMetricSpec{PredefinedMetricType: "ASGAverageCPUUtilization"}}},
				{Name: "add1", PolicyType: "SimpleScaling", AdjustmentType: "ChangeInCapacity", ScalingAdjustment: 1},
				{Name: "cpu-steps", PolicyType: "StepScaling", AdjustmentType: "ChangeInCapacity", StepAdjustments: []autoscaling.StepSpec{
					{MetricIntervalLowerBound: &zero, MetricIntervalUpperBound: &ten, ScalingAdjustment: 1},
					{MetricIntervalLowerBound: &ten, ScalingAdjustment: 2}}}},
			ScheduledActions: []autoscaling.ScheduledActionSpec{{Name: "night", Recurrence: "0 22 * * *", TimeZone: "Asia/Seoul",
				DesiredCapacity: &one}}},
		Zones: []string{"local-1a", "local-1b"}, Targets: []string{"web"},
		Hooks:     []autoscaling.HookSpec{{Name: "warm-cache", LifecycleTransition: autoscaling.TransitionLaunching, HeartbeatTimeout: &hb}},
		WarmPool:  &autoscaling.WarmPoolSpec{MinSize: 1, PoolState: autoscaling.PoolStopped},
		Cause:     "At 2026-01-02T03:04:05Z a user request explicitly set group desired capacity changing the desired capacity from 1 to 2.",
		Schedules: []autoscaling.ScheduleView{{Name: "night", Next: now.Add(5 * time.Hour)}},
		Activity:  &autoscaling.ActivitySummary{InProgress: 1},
	}
}

// SampleActivities returns two activities of group "web", newest first:
// a launch in progress and a successful one.
func SampleActivities(now time.Time) []autoscaling.Activity {
	cause := "At 2026-01-02T03:04:05Z a user request explicitly set group desired capacity changing the desired capacity from 1 to 2. " +
		"At 2026-01-02T03:04:06Z an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 1 to 2."
	return []autoscaling.Activity{
		{ID: "act-2", Group: "web", Description: "Launching a new EC2 instance: i-0b", Cause: cause, StartTime: now.Add(-time.Minute),
			StatusCode: autoscaling.StatusMidLifecycleAction, Progress: 30, InstanceID: "i-0b"},
		{ID: "act-1", Group: "web", Description: "Launching a new EC2 instance: i-0a", Cause: "At 2026-01-02T02:00:00Z an instance was started.",
			StartTime: now.Add(-30 * time.Minute), EndTime: now.Add(-29 * time.Minute), StatusCode: autoscaling.StatusSuccessful, Progress: 100, InstanceID: "i-0a"},
	}
}
