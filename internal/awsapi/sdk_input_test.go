package awsapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

// TestSDKInputs checks that what the SDK serializes for operations with
// nested lists, structures and timestamps decodes to what was passed.
func TestSDKInputs(t *testing.T) {
	var rec recorder
	srv := newServer(t,
		awsapi.Service{Name: "ec2", Handlers: map[string]awsapi.Handler{
			"RunInstances": rec.canned(map[string]any{"ReservationId": "r-1", "Instances": []map[string]any{{"InstanceId": "i-1"}}}, nil),
		}},
		awsapi.Service{Name: "elasticloadbalancingv2", Handlers: map[string]awsapi.Handler{
			"CreateRule": rec.canned(map[string]any{"Rules": []map[string]any{{"RuleArn": "arn:rule", "Priority": "10", "IsDefault": false}}}, nil),
		}},
		awsapi.Service{Name: "autoscaling", Handlers: map[string]awsapi.Handler{
			"CreateAutoScalingGroup": rec.canned(nil, nil),
		}},
		awsapi.Service{Name: "monitoring", Handlers: map[string]awsapi.Handler{
			"PutMetricData": rec.canned(nil, nil),
		}},
		awsapi.Service{Name: "logs", Handlers: map[string]awsapi.Handler{
			"PutLogEvents": rec.canned(map[string]any{"nextSequenceToken": "2"}, nil),
		}},
	)
	cfg := sdkConfig(srv)
	ctx := context.Background()
	ts := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		op   string
		call func() error
		want protocol.Struct
	}{
		{
			name: "ec2 RunInstances", op: "RunInstances",
			call: func() error {
				c := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
				res, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
					ImageId: aws.String("ami-0web"), MinCount: aws.Int32(1), MaxCount: aws.Int32(2),
					InstanceType: ec2types.InstanceTypeT3Micro, UserData: aws.String("IyEvYmluL3NoCg=="),
					LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest")},
					TagSpecifications: []ec2types.TagSpecification{{
						ResourceType: ec2types.ResourceTypeInstance,
						Tags:         []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}},
					}},
				})
				if err == nil && aws.ToString(res.Instances[0].InstanceId) != "i-1" {
					t.Errorf("RunInstances result %+v", res)
				}
				return err
			},
			want: protocol.Struct{
				"ImageId": "ami-0web", "MinCount": int64(1), "MaxCount": int64(2), "InstanceType": "t3.micro",
				"UserData":       "IyEvYmluL3NoCg==",
				"LaunchTemplate": map[string]any{"LaunchTemplateName": "web", "Version": "$Latest"},
				"TagSpecifications": []any{map[string]any{"ResourceType": "instance", "Tags": []any{
					map[string]any{"Key": "Name", "Value": "web"},
				}}},
			},
		},
		{
			name: "elbv2 CreateRule", op: "CreateRule",
			call: func() error {
				c := elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
				_, err := c.CreateRule(ctx, &elbv2.CreateRuleInput{
					ListenerArn: aws.String("arn:l"), Priority: aws.Int32(10),
					Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"),
						PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/api/*", "/v2/*"}}}},
					Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
						TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String("arn:tg1"), Weight: aws.Int32(3)}},
					}}},
				})
				return err
			},
			want: protocol.Struct{
				"ListenerArn": "arn:l", "Priority": int64(10),
				"Conditions": []any{map[string]any{"Field": "path-pattern", "PathPatternConfig": map[string]any{"Values": []any{"/api/*", "/v2/*"}}}},
				"Actions": []any{map[string]any{"Type": "forward", "ForwardConfig": map[string]any{
					"TargetGroups": []any{map[string]any{"TargetGroupArn": "arn:tg1", "Weight": int64(3)}},
				}}},
			},
		},
		{
			name: "autoscaling CreateAutoScalingGroup", op: "CreateAutoScalingGroup",
			call: func() error {
				c := autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) { o.BaseEndpoint = aws.String(srv.URL) })
				_, err := c.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
					AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(2), MaxSize: aws.Int32(6),
					LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest")},
					AvailabilityZones: []string{"local-1a", "local-1b"},
					Tags:              []astypes.Tag{{Key: aws.String("team"), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)}},
				})
				return err
			},
			want: protocol.Struct{
				"AutoScalingGroupName": "web", "MinSize": int64(2), "MaxSize": int64(6),
				"LaunchTemplate":    map[string]any{"LaunchTemplateName": "web", "Version": "$Latest"},
				"AvailabilityZones": []any{"local-1a", "local-1b"},
				"Tags":              []any{map[string]any{"Key": "team", "Value": "web", "PropagateAtLaunch": true}},
			},
		},
		{
			name: "cloudwatch PutMetricData over CBOR", op: "PutMetricData",
			call: func() error {
				c := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(srv.URL) })
				_, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
					Namespace: aws.String("App"),
					MetricData: []cwtypes.MetricDatum{{
						MetricName: aws.String("Latency"), Timestamp: aws.Time(ts), Unit: cwtypes.StandardUnitMilliseconds,
						Dimensions: []cwtypes.Dimension{{Name: aws.String("Route"), Value: aws.String("/")}},
						Values:     []float64{1.5, 20}, Counts: []float64{3, 1},
					}},
				})
				return err
			},
			want: protocol.Struct{"Namespace": "App", "MetricData": []any{map[string]any{
				"MetricName": "Latency", "Timestamp": ts, "Unit": "Milliseconds",
				"Dimensions": []any{map[string]any{"Name": "Route", "Value": "/"}},
				"Values":     []any{1.5, 20.0}, "Counts": []any{3.0, 1.0},
			}}},
		},
		{
			name: "logs PutLogEvents", op: "PutLogEvents",
			call: func() error {
				c := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
				res, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
					LogGroupName: aws.String("/madang/web"), LogStreamName: aws.String("i-1"),
					LogEvents: []logtypes.InputLogEvent{{Timestamp: aws.Int64(1714564800000), Message: aws.String("GET / 200")}},
				})
				if err == nil && aws.ToString(res.NextSequenceToken) != "2" {
					t.Errorf("PutLogEvents result %+v", res)
				}
				return err
			},
			want: protocol.Struct{"logGroupName": "/madang/web", "logStreamName": "i-1", "logEvents": []any{
				map[string]any{"timestamp": int64(1714564800000), "message": "GET / 200"},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			got := rec.input(tc.op)
			if tc.op == "RunInstances" {
				// The SDK fills in the idempotency token.
				if len(got.String("ClientToken")) != 36 {
					t.Errorf("ClientToken = %q, want the SDK's UUID", got.String("ClientToken"))
				}
				delete(got, "ClientToken")
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("input the handler saw (-want +got):\n%s", d)
			}
		})
	}
}
