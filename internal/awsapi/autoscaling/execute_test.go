package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/fault"
)

// ExecutePolicy of the fake logs "group policy honor=B metric=V
// threshold=T" (- for a value not given) and refuses as the controller
// does: policy "cpu" is a target tracking policy, "busy" is in its
// cooldown when honoured.
func (f *fake) ExecutePolicy(_ context.Context, group, ref string, opts autoscaling.ExecuteOptions) (autoscaling.Execution, error) {
	val := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprint(*v)
	}
	switch {
	case ref == "cpu":
		return autoscaling.Execution{}, fault.Invalidf(autoscaling.KindGroup, group, "ExecutePolicy is not supported for target tracking scaling policies; cpu is a TargetTrackingScaling policy")
	case ref == "busy" && opts.HonorCooldown:
		return autoscaling.Execution{}, fault.Conflictf(autoscaling.KindGroup, group, "ScalingActivityInProgress: the group is in its cooldown until 2026-12-01T10:05:00Z; policy busy was not executed")
	case ref == "nope":
		return autoscaling.Execution{}, fault.NotFoundf(autoscaling.KindGroup, group, "Policy nope not found in AutoScalingGroup %s", group)
	}
	f.executed = append(f.executed, fmt.Sprintf("%s %s honor=%v metric=%s threshold=%s", group, ref, opts.HonorCooldown, val(opts.MetricValue), val(opts.BreachThreshold)))
	return autoscaling.Execution{Group: group, Policy: ref}, nil
}

func TestExecutePolicy(t *testing.T) {
	arn := autoscaling.PolicyARN("p", "web", "add")
	for _, tc := range []struct {
		name      string
		in        protocol.Struct
		code, msg string
		want      string // the call the controller got
	}{
		{name: "simple, defaults", in: obj{"AutoScalingGroupName": "web", "PolicyName": "add"},
			want: "web add honor=false metric=- threshold=-"},
		{name: "step with its metric value", in: obj{"AutoScalingGroupName": "web", "PolicyName": "steps", "MetricValue": 95.0, "BreachThreshold": 80.0},
			want: "web steps honor=false metric=95 threshold=80"},
		{name: "by ARN, without the group", in: obj{"PolicyName": arn, "HonorCooldown": true},
			want: "web " + arn + " honor=true metric=- threshold=-"},
		{name: "a name without the group", in: obj{"PolicyName": "add"}, code: "ValidationError",
			msg: "AutoScalingGroupName is needed unless PolicyName is the policy's ARN"},
		{name: "unknown group", in: obj{"AutoScalingGroupName": "api", "PolicyName": "add"}, code: "ValidationError",
			msg: "AutoScalingGroup name not found - AutoScalingGroup api not found"},
		{name: "unknown policy", in: obj{"AutoScalingGroupName": "web", "PolicyName": "nope"}, code: "ValidationError",
			msg: "Policy nope not found in AutoScalingGroup web"},
		{name: "target tracking", in: obj{"AutoScalingGroupName": "web", "PolicyName": "cpu"}, code: "ValidationError",
			msg: "ExecutePolicy is not supported for target tracking scaling policies"},
		{name: "cooldown honoured", in: obj{"AutoScalingGroupName": "web", "PolicyName": "busy", "HonorCooldown": true}, code: "ScalingActivityInProgress",
			msg: "the group is in its cooldown until 2026-12-01T10:05:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, h := withGroup(t, "")
			out, err := call(t, h, "ExecutePolicy", tc.in)
			wantErr(t, "ExecutePolicy", err, tc.code, tc.msg)
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
				if len(out) != 0 {
					t.Errorf("answer %v, want none", out)
				}
			}
			if !slices.Equal(f.executed, want) {
				t.Errorf("controller calls %q, want %q", f.executed, want)
			}
		})
	}
}

// ExecutePolicy through the SDK: the parameters arrive, a refusal is the
// SDK's error with AWS's code.
func TestExecutePolicyThroughTheSDK(t *testing.T) {
	f, _ := withGroup(t, "")
	c := sdkClient(t, f)
	ctx := context.Background()
	if _, err := c.ExecutePolicy(ctx, &sdk.ExecutePolicyInput{AutoScalingGroupName: aws.String("web"), PolicyName: aws.String("steps"),
		MetricValue: aws.Float64(59.5), BreachThreshold: aws.Float64(50), HonorCooldown: aws.Bool(true)}); err != nil {
		t.Fatalf("ExecutePolicy: %v", err)
	}
	if want := []string{"web steps honor=true metric=59.5 threshold=50"}; !slices.Equal(f.executed, want) {
		t.Errorf("controller calls %q, want %q", f.executed, want)
	}
	_, err := c.ExecutePolicy(ctx, &sdk.ExecutePolicyInput{AutoScalingGroupName: aws.String("web"), PolicyName: aws.String("busy"), HonorCooldown: aws.Bool(true)})
	var busy *types.ScalingActivityInProgressFault
	if !errors.As(err, &busy) {
		t.Errorf("ExecutePolicy in the cooldown: %v, want ScalingActivityInProgressFault", err)
	}
}
