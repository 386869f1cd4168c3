package autoscaling

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/fault"
)

// The fake's instance moves: each call is logged; instance "i-bad" is
// refused as the controller refuses an instance outside the group.

func (f *fake) logMove(format string, args ...any) {
	f.moves = append(f.moves, fmt.Sprintf(format, args...))
}

func (f *fake) refuse(group string, ids []string) error {
	if slices.Contains(ids, "i-bad") {
		return fault.Invalidf(autoscaling.KindGroup, group, "The instance i-bad is not part of Auto Scaling group %s.", group)
	}
	return nil
}

func (f *fake) moved(group, desc string, ids []string) []autoscaling.Activity {
	var out []autoscaling.Activity
	for _, id := range ids {
		out = append(out, autoscaling.Activity{ID: "a-" + id, Group: group, Description: desc + id, StatusCode: autoscaling.StatusInProgress})
	}
	return out
}

func (f *fake) EnterStandby(_ context.Context, group string, ids []string, dec bool) ([]autoscaling.Activity, error) {
	if err := f.refuse(group, ids); err != nil {
		return nil, err
	}
	f.logMove("standby %s %v %v", group, ids, dec)
	return f.moved(group, "Moving EC2 instance to Standby: ", ids), nil
}

func (f *fake) ExitStandby(_ context.Context, group string, ids []string) ([]autoscaling.Activity, error) {
	if err := f.refuse(group, ids); err != nil {
		return nil, err
	}
	f.logMove("exit-standby %s %v", group, ids)
	return f.moved(group, "Moving EC2 instance out of Standby: ", ids), nil
}

func (f *fake) SetInstanceProtection(_ context.Context, group string, ids []string, on bool) error {
	if err := f.refuse(group, ids); err != nil {
		return err
	}
	f.logMove("protect %s %v %v", group, ids, on)
	return nil
}

func (f *fake) AttachInstances(_ context.Context, group string, ids []string) ([]autoscaling.Activity, error) {
	if err := f.refuse(group, ids); err != nil {
		return nil, err
	}
	f.logMove("attach %s %v", group, ids)
	return f.moved(group, "Attaching an existing EC2 instance: ", ids), nil
}

func (f *fake) DetachInstances(_ context.Context, group string, ids []string, dec bool) ([]autoscaling.Activity, error) {
	if err := f.refuse(group, ids); err != nil {
		return nil, err
	}
	f.logMove("detach %s %v %v", group, ids, dec)
	return f.moved(group, "Detaching EC2 instance: ", ids), nil
}

func (f *fake) SetMetricsCollection(_ context.Context, group string, enable bool, gran string, metrics []string) error {
	f.logMove("metrics %s %v %s %v", group, enable, gran, metrics)
	g := f.groups[group]
	if enable {
		g.EnabledMetrics = autoscaling.GroupMetrics()
		if len(metrics) > 0 {
			g.EnabledMetrics = metrics
		}
	} else {
		g.EnabledMetrics = nil
	}
	f.groups[group] = g
	return nil
}

func TestInstanceMoves(t *testing.T) {
	ids := []any{"i-1", "i-2"}
	for _, tc := range []struct {
		name      string
		op        string
		in        obj
		code, msg string
		log       string
		acts      []string
	}{
		{name: "enter standby", op: "EnterStandby", in: obj{"InstanceIds": ids, "ShouldDecrementDesiredCapacity": true},
			log: "standby web [i-1 i-2] true", acts: []string{"Moving EC2 instance to Standby: i-1", "Moving EC2 instance to Standby: i-2"}},
		{name: "enter standby needs ShouldDecrementDesiredCapacity", op: "EnterStandby", in: obj{"InstanceIds": ids},
			code: "ValidationError", msg: "'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null"},
		{name: "exit standby", op: "ExitStandby", in: obj{"InstanceIds": ids[:1]},
			log: "exit-standby web [i-1]", acts: []string{"Moving EC2 instance out of Standby: i-1"}},
		{name: "not in the group", op: "ExitStandby", in: obj{"InstanceIds": []any{"i-bad"}},
			code: "ValidationError", msg: "The instance i-bad is not part of Auto Scaling group web."},
		{name: "protect", op: "SetInstanceProtection", in: obj{"InstanceIds": ids, "ProtectedFromScaleIn": true}, log: "protect web [i-1 i-2] true"},
		{name: "unprotect", op: "SetInstanceProtection", in: obj{"InstanceIds": ids, "ProtectedFromScaleIn": false}, log: "protect web [i-1 i-2] false"},
		{name: "protect needs ProtectedFromScaleIn", op: "SetInstanceProtection", in: obj{"InstanceIds": ids},
			code: "ValidationError", msg: "'protectedFromScaleIn'"},
		{name: "attach", op: "AttachInstances", in: obj{"InstanceIds": ids[:1]}, log: "attach web [i-1]"},
		{name: "detach", op: "DetachInstances", in: obj{"InstanceIds": ids[:1], "ShouldDecrementDesiredCapacity": false},
			log: "detach web [i-1] false", acts: []string{"Detaching EC2 instance: i-1"}},
		{name: "detach needs ShouldDecrementDesiredCapacity", op: "DetachInstances", in: obj{"InstanceIds": ids},
			code: "ValidationError", msg: "shouldDecrementDesiredCapacity"},
		{name: "unknown group", op: "EnterStandby", in: obj{"AutoScalingGroupName": "nope", "InstanceIds": ids, "ShouldDecrementDesiredCapacity": true},
			code: "ValidationError", msg: "AutoScalingGroup name not found - AutoScalingGroup nope not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			h := newService(t, f)
			mustCreate(t, h)
			in := obj{"AutoScalingGroupName": "web"}
			for k, v := range tc.in {
				in[k] = v
			}
			out, err := call(t, h, tc.op, in)
			wantErr(t, tc.op, err, tc.code, tc.msg)
			if tc.code != "" {
				if len(f.moves) != 0 {
					t.Errorf("refused call reached the controller: %v", f.moves)
				}
				return
			}
			if len(f.moves) != 1 || f.moves[0] != tc.log {
				t.Errorf("controller calls %v, want [%s]", f.moves, tc.log)
			}
			var got []string
			if as, ok := out["Activities"].([]any); ok {
				for _, a := range as {
					got = append(got, a.(map[string]any)["Description"].(string))
				}
			}
			if tc.acts != nil && !slices.Equal(got, tc.acts) {
				t.Errorf("activities %v, want %v", got, tc.acts)
			}
		})
	}
}

// mustCreate creates group web (min 1, max 3).
func mustCreate(t *testing.T, h map[string]awsapi.Handler) {
	t.Helper()
	if _, err := call(t, h, "CreateAutoScalingGroup", obj{"AutoScalingGroupName": "web", "MinSize": int64(1), "MaxSize": int64(3),
		"LaunchTemplate": obj{"LaunchTemplateName": "hello"}}); err != nil {
		t.Fatal(err)
	}
}

func TestMetricsCollection(t *testing.T) {
	for _, tc := range []struct {
		name      string
		op        string
		in        obj
		code, msg string
		log       string
		enabled   int
	}{
		{name: "enable all", op: "EnableMetricsCollection", in: obj{"Granularity": "1Minute"}, log: "metrics web true 1Minute []", enabled: len(autoscaling.GroupMetrics())},
		{name: "enable some", op: "EnableMetricsCollection", in: obj{"Granularity": "1Minute", "Metrics": []any{"GroupDesiredCapacity", "GroupInServiceInstances"}},
			log: "metrics web true 1Minute [GroupDesiredCapacity GroupInServiceInstances]", enabled: 2},
		{name: "5Minute", op: "EnableMetricsCollection", in: obj{"Granularity": "5Minute"}, code: "ValidationError", msg: "Granularity '5Minute' is not valid; the only valid granularity is 1Minute"},
		{name: "no granularity", op: "EnableMetricsCollection", in: obj{}, code: "ValidationError", msg: "only valid granularity is 1Minute"},
		{name: "unknown metric", op: "EnableMetricsCollection", in: obj{"Granularity": "1Minute", "Metrics": []any{"GroupSize"}}, code: "ValidationError", msg: "Metric 'GroupSize' is not a valid metric"},
		{name: "disable", op: "DisableMetricsCollection", in: obj{}, log: "metrics web false  []"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			h := newService(t, f)
			mustCreate(t, h)
			in := obj{"AutoScalingGroupName": "web"}
			for k, v := range tc.in {
				in[k] = v
			}
			_, err := call(t, h, tc.op, in)
			wantErr(t, tc.op, err, tc.code, tc.msg)
			if tc.code != "" {
				return
			}
			if len(f.moves) != 1 || f.moves[0] != tc.log {
				t.Fatalf("controller calls %v, want [%s]", f.moves, tc.log)
			}
			out, err := call(t, h, "DescribeAutoScalingGroups", obj{})
			if err != nil {
				t.Fatal(err)
			}
			em := out["AutoScalingGroups"].([]any)[0].(map[string]any)["EnabledMetrics"].([]any)
			if len(em) != tc.enabled {
				t.Fatalf("EnabledMetrics %v, want %d", em, tc.enabled)
			}
			if tc.enabled > 0 && em[0].(map[string]any)["Granularity"] != "1Minute" {
				t.Fatalf("EnabledMetrics %v", em)
			}
		})
	}
}

func TestDescribeMetricCollectionTypes(t *testing.T) {
	h := newService(t, newFake())
	out, err := call(t, h, "DescribeMetricCollectionTypes", obj{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range out["Metrics"].([]any) {
		names = append(names, m.(map[string]any)["Metric"].(string))
	}
	for _, want := range []string{"GroupMinSize", "GroupDesiredCapacity", "GroupInServiceInstances", "GroupStandbyInstances", "GroupTotalCapacity", "WarmPoolWarmedCapacity"} {
		if !slices.Contains(names, want) {
			t.Errorf("metrics %v lack %s", names, want)
		}
	}
	if g := out["Granularities"].([]any); len(g) != 1 || g[0].(map[string]any)["Granularity"] != "1Minute" {
		t.Errorf("granularities %v", g)
	}
}
