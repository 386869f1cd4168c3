package autoscaling

import (
	"context"
	"slices"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/autoscaling/placement"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// refreshPreferences reads StartInstanceRefresh's Preferences.
func refreshPreferences(in protocol.Struct) (autoscaling.RefreshPreferences, error) {
	var p autoscaling.RefreshPreferences
	if in == nil {
		return p, nil
	}
	ints := []struct {
		name string
		dst  **int
	}{{"MinHealthyPercentage", &p.MinHealthyPercentage}, {"MaxHealthyPercentage", &p.MaxHealthyPercentage},
		{"InstanceWarmup", &p.InstanceWarmup}, {"CheckpointDelay", &p.CheckpointDelay}}
	for _, f := range ints {
		if in.Has(f.name) {
			*f.dst = intp(int(in.Int(f.name)))
		}
	}
	for _, c := range in.List("CheckpointPercentages") {
		switch v := c.(type) {
		case int64:
			p.CheckpointPercentages = append(p.CheckpointPercentages, int(v))
		case int:
			p.CheckpointPercentages = append(p.CheckpointPercentages, v)
		}
	}
	if in.Has("SkipMatching") {
		v := in.Bool("SkipMatching")
		p.SkipMatching = &v
	}
	p.AutoRollback = in.Bool("AutoRollback")
	if a := in.Struct("AlarmSpecification"); a != nil {
		p.AlarmNames = a.Strings("Alarms")
	}
	p.ScaleInProtectedInstances = in.String("ScaleInProtectedInstances")
	p.StandbyInstances = in.String("StandbyInstances")
	return p, nil
}

func (s *Service) startRefresh(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name := in.String("AutoScalingGroupName")
	if st := in.String("Strategy"); st != "" && st != "Rolling" {
		return nil, validationError("Strategy '%s' is not supported; use Rolling", st)
	}
	prefs, err := refreshPreferences(in.Struct("Preferences"))
	if err != nil {
		return nil, err
	}
	if errs := prefs.Validate(); len(errs) > 0 {
		return nil, validationError("Preferences: %s", errs.Error())
	}
	if _, err := s.group(name); err != nil {
		return nil, err
	}
	if dc := in.Struct("DesiredConfiguration"); dc != nil {
		if dc.Has("MixedInstancesPolicy") {
			return nil, validationError("DesiredConfiguration.MixedInstancesPolicy is not supported by madang; give a LaunchTemplate")
		}
		if lt := dc.Struct("LaunchTemplate"); lt != nil {
			// Refused before the group changes, as StartRefresh would.
			rs, err := s.scaling.Refreshes(ctx, name)
			if err != nil {
				return nil, err
			}
			if len(rs) > 0 && rs[0].Active() {
				return nil, protocol.Errorf("InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
			}
			// The group launches the desired template from now on and the
			// refresh rolls it out.
			t, v, err := s.launchTemplate(lt)
			if err != nil {
				return nil, err
			}
			if err := s.change(ctx, name, func(spec *autoscaling.GroupSpec) error {
				spec.LaunchTemplate, spec.Version = t.Name, v
				return nil
			}); err != nil {
				return nil, err
			}
		}
	}
	r, err := s.scaling.StartRefresh(ctx, name, prefs)
	if err != nil {
		return nil, asgError(err)
	}
	return map[string]any{"InstanceRefreshId": r.ID}, nil
}

// refreshShape renders a refresh as AWS's InstanceRefresh shape.
func refreshShape(r autoscaling.Refresh) map[string]any {
	p := r.Preferences
	prefs := map[string]any{"AutoRollback": p.AutoRollback, "ScaleInProtectedInstances": orWait(p.ScaleInProtectedInstances), "StandbyInstances": orWait(p.StandbyInstances),
		"CheckpointPercentages": intList(p.CheckpointPercentages)}
	for k, v := range map[string]*int{"MinHealthyPercentage": p.MinHealthyPercentage, "MaxHealthyPercentage": p.MaxHealthyPercentage,
		"InstanceWarmup": p.InstanceWarmup, "CheckpointDelay": p.CheckpointDelay} {
		if v != nil {
			prefs[k] = int64(*v)
		}
	}
	if p.SkipMatching != nil {
		prefs["SkipMatching"] = *p.SkipMatching
	}
	if len(p.AlarmNames) > 0 {
		prefs["AlarmSpecification"] = map[string]any{"Alarms": p.AlarmNames}
	}
	out := map[string]any{
		"InstanceRefreshId": r.ID, "AutoScalingGroupName": r.Group, "Status": r.Status, "StartTime": r.StartTime,
		"PercentageComplete": int64(r.PercentageComplete), "InstancesToUpdate": int64(r.InstancesToUpdate), "Preferences": prefs,
		"ProgressDetails": map[string]any{"LivePoolProgress": map[string]any{
			"PercentageComplete": int64(r.PercentageComplete), "InstancesToUpdate": int64(r.InstancesToUpdate)}},
	}
	if r.StatusReason != "" {
		out["StatusReason"] = r.StatusReason
	}
	if !r.EndTime.IsZero() {
		out["EndTime"] = r.EndTime
	}
	if r.Rollback {
		out["RollbackDetails"] = map[string]any{"RollbackReason": r.StatusReason, "RollbackStartTime": r.PhaseStart,
			"PercentageCompleteOnRollback": int64(r.PercentageComplete), "InstancesToUpdateOnRollback": int64(r.InstancesToUpdate)}
	}
	return out
}

func intList(v []int) []any {
	out := make([]any, 0, len(v))
	for _, n := range v {
		out = append(out, int64(n))
	}
	return out
}

func (s *Service) describeRefreshes(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name := in.String("AutoScalingGroupName")
	if _, err := s.group(name); err != nil {
		return nil, err
	}
	rs, err := s.scaling.Refreshes(ctx, name)
	if err != nil {
		return nil, err
	}
	if ids := in.Strings("InstanceRefreshIds"); len(ids) > 0 {
		rs = slices.DeleteFunc(rs, func(r autoscaling.Refresh) bool { return !slices.Contains(ids, r.ID) })
	}
	page, next, err := paging(rs, in, 50, 100)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(page))
	for _, r := range page {
		out = append(out, refreshShape(r))
	}
	return withToken(map[string]any{"InstanceRefreshes": out}, next), nil
}

func (s *Service) cancelRefresh(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.endRefresh(ctx, call, s.scaling.CancelRefresh)
}

func (s *Service) rollbackRefresh(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.endRefresh(ctx, call, s.scaling.RollbackRefresh)
}

func (s *Service) endRefresh(ctx context.Context, call *awsapi.Call, f func(context.Context, string) (autoscaling.Refresh, error)) (map[string]any, error) {
	name := call.Input.String("AutoScalingGroupName")
	if _, err := s.group(name); err != nil {
		return nil, err
	}
	r, err := f(ctx, name)
	if err != nil {
		return nil, asgError(err)
	}
	return map[string]any{"InstanceRefreshId": r.ID}, nil
}

// Static answers: the types AWS lists, those madang runs.

var terminationPolicyTypes = placement.Policies()

var notificationTypes = []string{"autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_LAUNCH_ERROR",
	"autoscaling:EC2_INSTANCE_TERMINATE", "autoscaling:EC2_INSTANCE_TERMINATE_ERROR", "autoscaling:TEST_NOTIFICATION"}

// static answers with a fixed list of strings.
func static(member string, values []string) awsapi.Handler {
	return func(context.Context, *awsapi.Call) (map[string]any, error) {
		return map[string]any{member: slices.Clone(values)}, nil
	}
}

func describeAdjustmentTypes(context.Context, *awsapi.Call) (map[string]any, error) {
	out := []any{}
	for _, t := range []string{"ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"} {
		out = append(out, map[string]any{"AdjustmentType": t})
	}
	return map[string]any{"AdjustmentTypes": out}, nil
}

func describeProcessTypes(context.Context, *awsapi.Call) (map[string]any, error) {
	out := []any{}
	for _, p := range autoscaling.Processes() {
		out = append(out, map[string]any{"ProcessName": p})
	}
	return map[string]any{"Processes": out}, nil
}

func (s *Service) describeAccountLimits(context.Context, *awsapi.Call) (map[string]any, error) {
	return map[string]any{"MaxNumberOfAutoScalingGroups": int64(maxGroups), "NumberOfAutoScalingGroups": int64(len(s.scaling.Groups())),
		"MaxNumberOfLaunchConfigurations": int64(200), "NumberOfLaunchConfigurations": int64(0)}, nil
}

// orWait is a refresh choice, Wait (AWS's default) when unset.
func orWait(v string) string {
	if v == "" {
		return autoscaling.RefreshWait
	}
	return v
}
