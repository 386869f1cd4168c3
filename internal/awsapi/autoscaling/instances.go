package autoscaling

import (
	"context"
	"slices"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// Moves is what the instance operations need of the controller (Standby,
// scale-in protection, attach and detach, metrics collection); part of
// Scaling.
type Moves interface {
	EnterStandby(ctx context.Context, group string, ids []string, decrement bool) ([]autoscaling.Activity, error)
	ExitStandby(ctx context.Context, group string, ids []string) ([]autoscaling.Activity, error)
	SetInstanceProtection(ctx context.Context, group string, ids []string, protected bool) error
	AttachInstances(ctx context.Context, group string, ids []string) ([]autoscaling.Activity, error)
	DetachInstances(ctx context.Context, group string, ids []string, decrement bool) ([]autoscaling.Activity, error)
	SetMetricsCollection(ctx context.Context, group string, enable bool, granularity string, metrics []string) error
}

// requireDecrement reads ShouldDecrementDesiredCapacity, which AWS requires.
func requireDecrement(in protocol.Struct) (bool, error) {
	if !in.Has("ShouldDecrementDesiredCapacity") {
		return false, validationError("1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	return in.Bool("ShouldDecrementDesiredCapacity"), nil
}

// activities renders the activities a move started.
func (s *Service) activities(as []autoscaling.Activity) []any {
	out := make([]any, 0, len(as))
	for _, a := range as {
		out = append(out, activityShape(a, ""))
	}
	return out
}

// moveCall runs a move of InstanceIds in group AutoScalingGroupName.
func (s *Service) moveCall(call *awsapi.Call, f func(m Moves, group string, ids []string) ([]autoscaling.Activity, error)) (map[string]any, error) {
	in := call.Input
	name := in.String("AutoScalingGroupName")
	if _, err := s.group(name); err != nil {
		return nil, err
	}
	as, err := f(s.scaling, name, in.Strings("InstanceIds"))
	if err != nil {
		return nil, asgError(err)
	}
	return map[string]any{"Activities": s.activities(as)}, nil
}

func (s *Service) enterStandby(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	dec, err := requireDecrement(call.Input)
	if err != nil {
		return nil, err
	}
	return s.moveCall(call, func(m Moves, group string, ids []string) ([]autoscaling.Activity, error) {
		return m.EnterStandby(ctx, group, ids, dec)
	})
}

func (s *Service) exitStandby(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.moveCall(call, func(m Moves, group string, ids []string) ([]autoscaling.Activity, error) {
		return m.ExitStandby(ctx, group, ids)
	})
}

func (s *Service) detachInstances(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	dec, err := requireDecrement(call.Input)
	if err != nil {
		return nil, err
	}
	return s.moveCall(call, func(m Moves, group string, ids []string) ([]autoscaling.Activity, error) {
		return m.DetachInstances(ctx, group, ids, dec)
	})
}

func (s *Service) attachInstances(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	if _, err := s.moveCall(call, func(m Moves, group string, ids []string) ([]autoscaling.Activity, error) {
		return m.AttachInstances(ctx, group, ids)
	}); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (s *Service) setInstanceProtection(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	if !in.Has("ProtectedFromScaleIn") {
		return nil, validationError("1 validation error detected: Value null at 'protectedFromScaleIn' failed to satisfy constraint: Member must not be null")
	}
	protect := in.Bool("ProtectedFromScaleIn")
	if _, err := s.moveCall(call, func(m Moves, group string, ids []string) ([]autoscaling.Activity, error) {
		return nil, m.SetInstanceProtection(ctx, group, ids, protect)
	}); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// metricsCollection runs EnableMetricsCollection (enable) or
// DisableMetricsCollection.
func (s *Service) metricsCollection(enable bool) awsapi.Handler {
	return func(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
		in := call.Input
		name := in.String("AutoScalingGroupName")
		if _, err := s.group(name); err != nil {
			return nil, err
		}
		g := in.String("Granularity")
		if enable && g != autoscaling.Granularity1Minute {
			return nil, validationError("Granularity '%s' is not valid; the only valid granularity is 1Minute", g)
		}
		metrics := in.Strings("Metrics")
		for _, m := range metrics {
			if !slices.Contains(autoscaling.GroupMetrics(), m) {
				return nil, validationError("Metric '%s' is not a valid metric; DescribeMetricCollectionTypes lists them", m)
			}
		}
		return map[string]any{}, asgError(s.scaling.SetMetricsCollection(ctx, name, enable, g, metrics))
	}
}

func describeMetricCollectionTypes(context.Context, *awsapi.Call) (map[string]any, error) {
	ms := make([]any, 0, len(autoscaling.GroupMetrics()))
	for _, m := range autoscaling.GroupMetrics() {
		ms = append(ms, map[string]any{"Metric": m})
	}
	return map[string]any{"Metrics": ms, "Granularities": []any{map[string]any{"Granularity": autoscaling.Granularity1Minute}}}, nil
}

// enabledMetrics renders a group's EnabledMetrics.
func enabledMetrics(g autoscaling.GroupView) []any {
	out := make([]any, 0, len(g.EnabledMetrics))
	for _, m := range g.EnabledMetrics {
		out = append(out, map[string]any{"Metric": m, "Granularity": autoscaling.Granularity1Minute})
	}
	return out
}
