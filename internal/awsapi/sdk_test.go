package awsapi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	madangsts "github.com/madang-dev/madang/internal/awsapi/sts"
)

var launch = time.Date(2024, 5, 1, 12, 30, 15, 0, time.UTC)

func TestSDKEC2DescribeInstances(t *testing.T) {
	var rec recorder
	out := map[string]any{
		"NextToken": "page-2",
		"Reservations": []map[string]any{{
			"ReservationId": "r-0123", "OwnerId": testAccount,
			"Instances": []map[string]any{{
				"InstanceId": "i-0abc", "ImageId": "ami-0web", "InstanceType": "t3.micro",
				"LaunchTime": launch, "PrivateIpAddress": "127.16.0.2",
				"State":     map[string]any{"Code": 16, "Name": "running"},
				"Placement": map[string]any{"AvailabilityZone": "local-1a"},
				"Tags":      []map[string]any{{"Key": "Name", "Value": "web"}, {"Key": "env", "Value": "dev"}},
			}},
		}},
	}
	srv := newServer(t, awsapi.Service{Name: "ec2", Handlers: map[string]awsapi.Handler{
		"DescribeInstances": rec.canned(out, nil),
		"StopInstances":     rec.canned(nil, protocol.Errorf("InvalidInstanceID.NotFound", "The instance ID 'i-0nope' does not exist")),
	}})
	client := ec2.NewFromConfig(sdkConfig(srv), func(o *ec2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()

	res, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		InstanceIds: []string{"i-0abc", "i-0def"},
		Filters: []ec2types.Filter{
			{Name: aws.String("instance-state-name"), Values: []string{"running", "pending"}},
			{Name: aws.String("tag:Name"), Values: []string{"web"}},
		},
		MaxResults: aws.Int32(5),
		NextToken:  aws.String("page-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantIn := protocol.Struct{
		"InstanceIds": []any{"i-0abc", "i-0def"},
		"Filters": []any{
			map[string]any{"Name": "instance-state-name", "Values": []any{"running", "pending"}},
			map[string]any{"Name": "tag:Name", "Values": []any{"web"}},
		},
		"MaxResults": int64(5),
		"NextToken":  "page-1",
	}
	if d := cmp.Diff(wantIn, rec.input("DescribeInstances")); d != "" {
		t.Errorf("input the handler saw (-want +got):\n%s", d)
	}
	if got := aws.ToString(res.NextToken); got != "page-2" {
		t.Errorf("NextToken = %q", got)
	}
	if len(res.Reservations) != 1 || len(res.Reservations[0].Instances) != 1 {
		t.Fatalf("reservations = %+v", res.Reservations)
	}
	r := res.Reservations[0]
	in := r.Instances[0]
	got := map[string]any{
		"ReservationId": aws.ToString(r.ReservationId), "OwnerId": aws.ToString(r.OwnerId),
		"InstanceId": aws.ToString(in.InstanceId), "ImageId": aws.ToString(in.ImageId),
		"InstanceType": string(in.InstanceType), "LaunchTime": aws.ToTime(in.LaunchTime),
		"PrivateIpAddress": aws.ToString(in.PrivateIpAddress), "StateCode": aws.ToInt32(in.State.Code),
		"StateName": string(in.State.Name), "Zone": aws.ToString(in.Placement.AvailabilityZone),
		"Tags": in.Tags,
	}
	want := map[string]any{
		"ReservationId": "r-0123", "OwnerId": testAccount, "InstanceId": "i-0abc", "ImageId": "ami-0web",
		"InstanceType": "t3.micro", "LaunchTime": launch, "PrivateIpAddress": "127.16.0.2",
		"StateCode": int32(16), "StateName": "running", "Zone": "local-1a",
		"Tags": []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}, {Key: aws.String("env"), Value: aws.String("dev")}},
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(ec2types.Tag{})); d != "" {
		t.Errorf("output the SDK decoded (-want +got):\n%s", d)
	}

	_, err = client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0nope"}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidInstanceID.NotFound" || apiErr.ErrorMessage() != "The instance ID 'i-0nope' does not exist" {
		t.Errorf("StopInstances error = %v, want APIError InvalidInstanceID.NotFound", err)
	}
}

func TestSDKELBv2(t *testing.T) {
	var rec recorder
	arn := "arn:aws:elasticloadbalancing:local-1:123456789012:targetgroup/web/0123456789abcdef"
	out := map[string]any{"TargetHealthDescriptions": []any{
		map[string]any{
			"Target": map[string]any{"Id": "i-0abc", "Port": 3000}, "HealthCheckPort": "3000",
			"TargetHealth": map[string]any{"State": "healthy"},
		},
		map[string]any{
			"Target": map[string]any{"Id": "i-0def", "Port": int64(3000)}, "HealthCheckPort": "3000",
			"TargetHealth": map[string]any{"State": "unhealthy", "Reason": "Target.FailedHealthChecks", "Description": "Health checks failed"},
		},
	}}
	srv := newServer(t, awsapi.Service{Name: "elasticloadbalancingv2", Handlers: map[string]awsapi.Handler{
		"DescribeTargetHealth": rec.canned(out, nil),
		"DeleteTargetGroup":    rec.canned(nil, protocol.Errorf("TargetGroupNotFound", "One or more target groups not found")),
	}})
	client := elbv2.NewFromConfig(sdkConfig(srv), func(o *elbv2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()
	res, err := client.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{
		TargetGroupArn: aws.String(arn),
		Targets:        []elbtypes.TargetDescription{{Id: aws.String("i-0abc"), Port: aws.Int32(3000)}, {Id: aws.String("i-0def")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantIn := protocol.Struct{"TargetGroupArn": arn, "Targets": []any{
		map[string]any{"Id": "i-0abc", "Port": int64(3000)}, map[string]any{"Id": "i-0def"},
	}}
	if d := cmp.Diff(wantIn, rec.input("DescribeTargetHealth")); d != "" {
		t.Errorf("input (-want +got):\n%s", d)
	}
	type th struct{ ID, Port, State, Reason, Desc string }
	var got []th
	for _, d := range res.TargetHealthDescriptions {
		got = append(got, th{aws.ToString(d.Target.Id), aws.ToString(d.HealthCheckPort), string(d.TargetHealth.State),
			string(d.TargetHealth.Reason), aws.ToString(d.TargetHealth.Description)})
	}
	want := []th{{"i-0abc", "3000", "healthy", "", ""}, {"i-0def", "3000", "unhealthy", "Target.FailedHealthChecks", "Health checks failed"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	if p := aws.ToInt32(res.TargetHealthDescriptions[1].Target.Port); p != 3000 {
		t.Errorf("port = %d", p)
	}

	_, err = client.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
	var nf *elbtypes.TargetGroupNotFoundException
	if !errors.As(err, &nf) || nf.ErrorMessage() != "One or more target groups not found" {
		t.Errorf("DeleteTargetGroup error = %v, want *types.TargetGroupNotFoundException", err)
	}
}

func TestSDKAutoScaling(t *testing.T) {
	var rec recorder
	out := map[string]any{
		"AutoScalingGroups": []map[string]any{{
			"AutoScalingGroupName": "web", "AutoScalingGroupARN": "arn:aws:autoscaling:local-1:123456789012:autoScalingGroup:1:autoScalingGroupName/web",
			"MinSize": 2, "MaxSize": 6, "DesiredCapacity": 2, "DefaultCooldown": 300,
			"AvailabilityZones": []string{"local-1a", "local-1b"}, "HealthCheckType": "ELB", "HealthCheckGracePeriod": 30,
			"CreatedTime": launch, "TargetGroupARNs": []string{"arn:tg"},
			"LaunchTemplate": map[string]any{"LaunchTemplateId": "lt-0123", "LaunchTemplateName": "web", "Version": "$Latest"},
			"Instances": []map[string]any{{
				"InstanceId": "i-0abc", "AvailabilityZone": "local-1a", "LifecycleState": "InService",
				"HealthStatus": "Healthy", "ProtectedFromScaleIn": false,
			}},
			"Tags": []map[string]any{{"Key": "team", "Value": "web", "PropagateAtLaunch": true, "ResourceId": "web", "ResourceType": "auto-scaling-group"}},
		}},
		"NextToken": "n2",
	}
	srv := newServer(t, awsapi.Service{Name: "autoscaling", Handlers: map[string]awsapi.Handler{
		"DescribeAutoScalingGroups": rec.canned(out, nil),
	}})
	client := autoscaling.NewFromConfig(sdkConfig(srv), func(o *autoscaling.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	res, err := client.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{"web"}, MaxRecords: aws.Int32(10),
		Filters: []astypes.Filter{{Name: aws.String("tag:team"), Values: []string{"web"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantIn := protocol.Struct{
		"AutoScalingGroupNames": []any{"web"}, "MaxRecords": int64(10),
		"Filters": []any{map[string]any{"Name": "tag:team", "Values": []any{"web"}}},
	}
	if d := cmp.Diff(wantIn, rec.input("DescribeAutoScalingGroups")); d != "" {
		t.Errorf("input (-want +got):\n%s", d)
	}
	if aws.ToString(res.NextToken) != "n2" || len(res.AutoScalingGroups) != 1 {
		t.Fatalf("result = %+v", res)
	}
	g := res.AutoScalingGroups[0]
	got := []any{aws.ToString(g.AutoScalingGroupName), aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize), aws.ToInt32(g.DesiredCapacity),
		g.AvailabilityZones, aws.ToTime(g.CreatedTime), aws.ToString(g.LaunchTemplate.Version), g.TargetGroupARNs,
		aws.ToString(g.Instances[0].InstanceId), string(g.Instances[0].LifecycleState), aws.ToBool(g.Instances[0].ProtectedFromScaleIn),
		aws.ToString(g.Tags[0].Key), aws.ToBool(g.Tags[0].PropagateAtLaunch), aws.ToInt32(g.HealthCheckGracePeriod)}
	want := []any{"web", int32(2), int32(6), int32(2), []string{"local-1a", "local-1b"}, launch, "$Latest", []string{"arn:tg"},
		"i-0abc", "InService", false, "team", true, int32(30)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
}

func TestSDKCloudWatchCBOR(t *testing.T) {
	var rec recorder
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	out := map[string]any{
		"MetricDataResults": []map[string]any{{
			"Id": "cpu", "Label": "CPUUtilization", "StatusCode": "Complete",
			"Timestamps": []time.Time{t0.Add(time.Minute), t0},
			"Values":     []float64{42.5, 17.25},
		}},
		"Messages": []any{},
	}
	srv := newServer(t, awsapi.Service{Name: "monitoring", Handlers: map[string]awsapi.Handler{
		"GetMetricData":  rec.canned(out, nil),
		"GetDashboard":   rec.canned(nil, protocol.Errorf("DashboardNotFoundError", "Dashboard ops does not exist")),
		"DescribeAlarms": rec.canned(nil, protocol.Errorf("ResourceNotFound", "no such alarm")),
	}})
	client := cloudwatch.NewFromConfig(sdkConfig(srv), func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()
	res, err := client.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(t0), EndTime: aws.Time(t0.Add(5 * time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("cpu"),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String("web")}}},
				Period: aws.Int32(60), Stat: aws.String("Average"),
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := rec.call("GetMetricData").Protocol; p != protocol.CBOR {
		t.Errorf("the SDK spoke %s, want CBOR", p)
	}
	wantIn := protocol.Struct{
		"StartTime": t0, "EndTime": t0.Add(5 * time.Minute),
		"MetricDataQueries": []any{map[string]any{
			"Id": "cpu",
			"MetricStat": map[string]any{
				"Metric": map[string]any{"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
					"Dimensions": []any{map[string]any{"Name": "AutoScalingGroupName", "Value": "web"}}},
				"Period": int64(60), "Stat": "Average",
			},
		}},
	}
	if d := cmp.Diff(wantIn, rec.input("GetMetricData")); d != "" {
		t.Errorf("input (-want +got):\n%s", d)
	}
	if len(res.MetricDataResults) != 1 {
		t.Fatalf("results = %+v", res.MetricDataResults)
	}
	r := res.MetricDataResults[0]
	got := []any{aws.ToString(r.Id), aws.ToString(r.Label), string(r.StatusCode), r.Timestamps, r.Values}
	want := []any{"cpu", "CPUUtilization", "Complete", []time.Time{t0.Add(time.Minute), t0}, []float64{42.5, 17.25}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}

	_, err = client.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String("ops")})
	var dnf *cwtypes.DashboardNotFoundError
	if !errors.As(err, &dnf) || dnf.ErrorCode() != "ResourceNotFound" || dnf.ErrorMessage() != "Dashboard ops does not exist" {
		t.Errorf("GetDashboard error = %v, want *types.DashboardNotFoundError with code ResourceNotFound", err)
	}
	_, err = client.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
	var rnf *cwtypes.ResourceNotFound
	if !errors.As(err, &rnf) || rnf.ErrorMessage() != "no such alarm" {
		t.Errorf("DescribeAlarms error = %v, want *types.ResourceNotFound", err)
	}
}

func TestSDKLogsFilterLogEvents(t *testing.T) {
	var rec recorder
	out := map[string]any{
		"events": []map[string]any{
			{"logStreamName": "i-0abc", "timestamp": int64(1714566600000), "message": "GET / 200", "ingestionTime": 1714566600100, "eventId": "e1"},
		},
		"nextToken": "t2",
	}
	srv := newServer(t, awsapi.Service{Name: "logs", Handlers: map[string]awsapi.Handler{
		"FilterLogEvents": rec.canned(out, nil),
		"GetLogEvents":    rec.canned(nil, protocol.Errorf("ResourceNotFoundException", "The specified log group does not exist.")),
	}})
	client := cloudwatchlogs.NewFromConfig(sdkConfig(srv), func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()
	res, err := client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String("/madang/web"), LogStreamNames: []string{"i-0abc"},
		StartTime: aws.Int64(1714566000000), FilterPattern: aws.String(`"GET"`), Limit: aws.Int32(50),
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := rec.call("FilterLogEvents").Protocol; p != protocol.JSON {
		t.Errorf("the SDK spoke %s, want JSON", p)
	}
	wantIn := protocol.Struct{"logGroupName": "/madang/web", "logStreamNames": []any{"i-0abc"},
		"startTime": int64(1714566000000), "filterPattern": `"GET"`, "limit": int64(50)}
	if d := cmp.Diff(wantIn, rec.input("FilterLogEvents")); d != "" {
		t.Errorf("input (-want +got):\n%s", d)
	}
	if aws.ToString(res.NextToken) != "t2" || len(res.Events) != 1 {
		t.Fatalf("result = %+v", res)
	}
	ev := res.Events[0]
	got := []any{aws.ToString(ev.LogStreamName), aws.ToInt64(ev.Timestamp), aws.ToString(ev.Message), aws.ToInt64(ev.IngestionTime), aws.ToString(ev.EventId)}
	want := []any{"i-0abc", int64(1714566600000), "GET / 200", int64(1714566600100), "e1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	_, err = client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/x"), LogStreamName: aws.String("s")})
	var nf interface{ ErrorCode() string }
	if !errors.As(err, &nf) || nf.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("GetLogEvents error = %v, want ResourceNotFoundException", err)
	}
}

func TestSDKSTSGetCallerIdentity(t *testing.T) {
	svc, err := madangsts.Service()
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, svc)
	client := sts.NewFromConfig(sdkConfig(srv), func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	res, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{aws.ToString(res.Account), aws.ToString(res.Arn), aws.ToString(res.UserId)}
	want := []string{testCaller.AccountID, testCaller.ARN, testCaller.UserID}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("identity (-want +got):\n%s", d)
	}
}
