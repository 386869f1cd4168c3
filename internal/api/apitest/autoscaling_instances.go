package apitest

import (
	"context"
	"slices"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/fault"
)

// member returns group's instance id, or the controller's error.
func (a *AutoScaling) member(group, id string) (*autoscaling.GroupView, *autoscaling.InstanceView, error) {
	g := a.find(group)
	if g == nil {
		return nil, nil, asgNotFound(group)
	}
	for i := range g.Instances {
		if g.Instances[i].InstanceID == id {
			return g, &g.Instances[i], nil
		}
	}
	return g, nil, fault.Invalidf(autoscaling.KindGroup, group, "The instance %s is not part of Auto Scaling group %s.", id, group)
}

// moveTo moves instances of a group to lifecycle state lc at once and
// returns an activity per instance; delta changes the desired capacity.
func (a *AutoScaling) moveTo(group string, ids []string, from, lc, desc string, delta int) ([]autoscaling.Activity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(ids) == 0 {
		return nil, fault.Invalidf(autoscaling.KindGroup, group, "InstanceIds is empty")
	}
	for _, id := range ids {
		_, in, err := a.member(group, id)
		if err != nil {
			return nil, err
		}
		if from != "" && in.Lifecycle != from {
			return nil, fault.Invalidf(autoscaling.KindGroup, group, "The instance %s is not in %s (it is %s)", id, from, in.Lifecycle)
		}
	}
	g := a.find(group)
	if d := g.DesiredCapacity + delta*len(ids); d > g.MaxSize || d < g.MinSize {
		return nil, fault.Invalidf(autoscaling.KindGroup, group, "the desired capacity %d would leave %d..%d", d, g.MinSize, g.MaxSize)
	}
	g.DesiredCapacity += delta * len(ids)
	var out []autoscaling.Activity
	for _, id := range ids {
		_, in, _ := a.member(group, id)
		in.Lifecycle = lc
		out = append(out, autoscaling.Activity{ID: "act-" + id, Group: group, Description: desc + id, InstanceID: id, StatusCode: autoscaling.StatusSuccessful})
	}
	return out, nil
}

// EnterStandby moves InService instances to Standby at once.
func (a *AutoScaling) EnterStandby(_ context.Context, group string, ids []string, decrement bool) ([]autoscaling.Activity, error) {
	return a.moveTo(group, ids, autoscaling.InService, autoscaling.Standby, "Moving EC2 instance to Standby: ", -btoi(decrement))
}

// ExitStandby moves Standby instances InService at once.
func (a *AutoScaling) ExitStandby(_ context.Context, group string, ids []string) ([]autoscaling.Activity, error) {
	return a.moveTo(group, ids, autoscaling.Standby, autoscaling.InService, "Moving EC2 instance out of Standby: ", 1)
}

// SetInstanceProtection sets instances' protection.
func (a *AutoScaling) SetInstanceProtection(_ context.Context, group string, ids []string, protected bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		if _, _, err := a.member(group, id); err != nil {
			return err
		}
	}
	for _, id := range ids {
		_, in, _ := a.member(group, id)
		in.Protected = protected
	}
	return nil
}

// AttachInstances adds instances InService.
func (a *AutoScaling) AttachInstances(_ context.Context, group string, ids []string) ([]autoscaling.Activity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.find(group)
	if g == nil {
		return nil, asgNotFound(group)
	}
	if g.DesiredCapacity+len(ids) > g.MaxSize {
		return nil, fault.Invalidf(autoscaling.KindGroup, group, "attaching %d instance(s) would raise the desired capacity above the group's max size of %d", len(ids), g.MaxSize)
	}
	var out []autoscaling.Activity
	for _, id := range ids {
		if slices.ContainsFunc(g.Instances, func(in autoscaling.InstanceView) bool { return in.InstanceID == id }) {
			return nil, fault.Invalidf(autoscaling.KindGroup, group, "The instance %s is already part of Auto Scaling group %s.", id, group)
		}
	}
	for _, id := range ids {
		g.Instances = append(g.Instances, autoscaling.InstanceView{InstanceID: id, Lifecycle: autoscaling.InService, Health: autoscaling.HealthHealthy})
		out = append(out, autoscaling.Activity{ID: "act-" + id, Group: group, Description: "Attaching an existing EC2 instance: " + id, InstanceID: id, StatusCode: autoscaling.StatusSuccessful})
	}
	g.DesiredCapacity += len(ids)
	return out, nil
}

// DetachInstances removes instances from a group at once.
func (a *AutoScaling) DetachInstances(ctx context.Context, group string, ids []string, decrement bool) ([]autoscaling.Activity, error) {
	out, err := a.moveTo(group, ids, "", autoscaling.Detaching, "Detaching EC2 instance: ", -btoi(decrement))
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.find(group)
	g.Instances = slices.DeleteFunc(g.Instances, func(in autoscaling.InstanceView) bool { return slices.Contains(ids, in.InstanceID) })
	return out, nil
}

// SetMetricsCollection enables or disables group metrics.
func (a *AutoScaling) SetMetricsCollection(_ context.Context, group string, enable bool, granularity string, metrics []string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.find(group)
	switch {
	case g == nil:
		return asgNotFound(group)
	case enable && granularity != autoscaling.Granularity1Minute:
		return fault.Invalidf(autoscaling.KindGroup, group, "Granularity %q is not valid; 1Minute is the only granularity of group metrics", granularity)
	}
	if errs := autoscaling.ValidateMetrics("Metrics", metrics); len(errs) > 0 {
		return fault.Invalidf(autoscaling.KindGroup, group, "%s", errs.Error())
	}
	switch {
	case enable && len(metrics) == 0:
		g.EnabledMetrics = autoscaling.GroupMetrics()
	case enable:
		g.EnabledMetrics = append(g.EnabledMetrics, metrics...)
	default:
		g.EnabledMetrics = nil
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
