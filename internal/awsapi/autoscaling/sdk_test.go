package autoscaling

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi"
)

// sdkClient serves the service over the fake on 127.0.0.1 and returns an
// aws-sdk-go-v2 client of it: the outputs go through the query codec and
// the SDK's decoder.
func sdkClient(t *testing.T, f *fake) *sdk.Client {
	t.Helper()
	svc, err := New(Options{Scaling: f, Templates: f, TargetGroups: f, Resources: f, Alarms: f,
		Zones: []string{"local-1a", "local-1b", "local-1c"}, SubnetOf: func(z string) string { return "subnet-" + z }})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := awsapi.New(awsapi.Options{Services: []awsapi.Service{svc}, Region: "local", AccountID: autoscaling.AccountID,
		Logger: slog.New(slog.DiscardHandler), Authenticator: awsapi.AllowAll{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ep)
	t.Cleanup(srv.Close)
	return sdk.NewFromConfig(aws.Config{Region: "local", Credentials: credentials.NewStaticCredentialsProvider("AKIA", "secret", ""),
		HTTPClient: srv.Client(), BaseEndpoint: aws.String(srv.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} }})
}

func TestThroughTheSDK(t *testing.T) {
	f := newFake()
	c := sdkClient(t, f)
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := c.CreateAutoScalingGroup(ctx, &sdk.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(1), MaxSize: aws.Int32(3),
		LaunchTemplate:  &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("hello"), Version: aws.String("$Latest")},
		TargetGroupARNs: []string{tgARN}, HealthCheckType: aws.String("ELB"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)}}})
	must("CreateAutoScalingGroup", err)
	g := f.groups["web"]
	g.CreatedTime = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	g.Instances = []autoscaling.InstanceView{
		{InstanceID: "i-1", Zone: "local-1a", Lifecycle: autoscaling.InService, Health: autoscaling.HealthHealthy, LaunchTemplate: "hello", LaunchTemplateVersion: 2, InstanceType: "t3.micro", TargetGroups: []string{"web"}},
		{InstanceID: "i-2", Zone: "local-1b", Lifecycle: autoscaling.WarmedStopped, Health: autoscaling.HealthHealthy, LaunchTemplate: "hello", LaunchTemplateVersion: 2},
	}
	f.groups["web"] = g

	_, err = c.PutScheduledUpdateGroupAction(ctx, &sdk.PutScheduledUpdateGroupActionInput{AutoScalingGroupName: aws.String("web"),
		ScheduledActionName: aws.String("once"), StartTime: aws.Time(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), DesiredCapacity: aws.Int32(2)})
	must("PutScheduledUpdateGroupAction", err)
	_, err = c.PutLifecycleHook(ctx, &sdk.PutLifecycleHookInput{AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("h"),
		LifecycleTransition: aws.String(autoscaling.TransitionLaunching), HeartbeatTimeout: aws.Int32(60)})
	must("PutLifecycleHook", err)
	_, err = c.PutWarmPool(ctx, &sdk.PutWarmPoolInput{AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(1),
		InstanceReusePolicy: &types.InstanceReusePolicy{ReuseOnScaleIn: aws.Bool(true)}})
	must("PutWarmPool", err)
	_, err = c.PutScalingPolicy(ctx, &sdk.PutScalingPolicyInput{AutoScalingGroupName: aws.String("web"), PolicyName: aws.String("steps"),
		PolicyType: aws.String("StepScaling"), AdjustmentType: aws.String("ChangeInCapacity"),
		StepAdjustments: []types.StepAdjustment{{MetricIntervalLowerBound: aws.Float64(0), ScalingAdjustment: aws.Int32(1)}}})
	must("PutScalingPolicy", err)
	_, err = c.SuspendProcesses(ctx, &sdk.SuspendProcessesInput{AutoScalingGroupName: aws.String("web"), ScalingProcesses: []string{"AZRebalance"}})
	must("SuspendProcesses", err)

	groups, err := c.DescribeAutoScalingGroups(ctx, &sdk.DescribeAutoScalingGroupsInput{})
	must("DescribeAutoScalingGroups", err)
	d := groups.AutoScalingGroups[0]
	if aws.ToString(d.AutoScalingGroupName) != "web" || !aws.ToTime(d.CreatedTime).Equal(g.CreatedTime) || len(d.Instances) != 1 ||
		aws.ToString(d.Instances[0].LaunchTemplate.Version) != "2" || aws.ToString(d.LaunchTemplate.LaunchTemplateId) != "lt-0000000000000001" ||
		aws.ToString(d.VPCZoneIdentifier) != "subnet-local-1a,subnet-local-1b" || len(d.SuspendedProcesses) != 1 ||
		d.WarmPoolConfiguration == nil || aws.ToInt32(d.WarmPoolSize) != 1 || len(d.TrafficSources) != 1 || !aws.ToBool(d.Tags[0].PropagateAtLaunch) {
		t.Errorf("DescribeAutoScalingGroups: %+v", d)
	}
	inst, err := c.DescribeAutoScalingInstances(ctx, &sdk.DescribeAutoScalingInstancesInput{InstanceIds: []string{"i-1"}})
	must("DescribeAutoScalingInstances", err)
	if len(inst.AutoScalingInstances) != 1 || aws.ToString(inst.AutoScalingInstances[0].AutoScalingGroupName) != "web" {
		t.Errorf("DescribeAutoScalingInstances: %+v", inst.AutoScalingInstances)
	}
	sched, err := c.DescribeScheduledActions(ctx, &sdk.DescribeScheduledActionsInput{AutoScalingGroupName: aws.String("web")})
	must("DescribeScheduledActions", err)
	if len(sched.ScheduledUpdateGroupActions) != 1 || !aws.ToTime(sched.ScheduledUpdateGroupActions[0].StartTime).Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) ||
		aws.ToInt32(sched.ScheduledUpdateGroupActions[0].DesiredCapacity) != 2 {
		t.Errorf("DescribeScheduledActions: %+v", sched.ScheduledUpdateGroupActions)
	}
	hooks, err := c.DescribeLifecycleHooks(ctx, &sdk.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("web")})
	must("DescribeLifecycleHooks", err)
	if len(hooks.LifecycleHooks) != 1 || aws.ToInt32(hooks.LifecycleHooks[0].HeartbeatTimeout) != 60 || aws.ToInt32(hooks.LifecycleHooks[0].GlobalTimeout) != 6000 {
		t.Errorf("DescribeLifecycleHooks: %+v", hooks.LifecycleHooks)
	}
	warm, err := c.DescribeWarmPool(ctx, &sdk.DescribeWarmPoolInput{AutoScalingGroupName: aws.String("web")})
	must("DescribeWarmPool", err)
	if len(warm.Instances) != 1 || warm.Instances[0].LifecycleState != types.LifecycleStateWarmedStopped || aws.ToInt32(warm.WarmPoolConfiguration.MinSize) != 1 ||
		warm.WarmPoolConfiguration.PoolState != types.WarmPoolStateStopped || !aws.ToBool(warm.WarmPoolConfiguration.InstanceReusePolicy.ReuseOnScaleIn) {
		t.Errorf("DescribeWarmPool: %+v", warm)
	}
	pols, err := c.DescribePolicies(ctx, &sdk.DescribePoliciesInput{PolicyTypes: []string{"StepScaling"}})
	must("DescribePolicies", err)
	if len(pols.ScalingPolicies) != 1 || aws.ToFloat64(pols.ScalingPolicies[0].StepAdjustments[0].MetricIntervalLowerBound) != 0 ||
		pols.ScalingPolicies[0].StepAdjustments[0].MetricIntervalUpperBound != nil || aws.ToString(pols.ScalingPolicies[0].MetricAggregationType) != "Average" {
		t.Errorf("DescribePolicies: %+v", pols.ScalingPolicies)
	}
	tags, err := c.DescribeTags(ctx, &sdk.DescribeTagsInput{})
	must("DescribeTags", err)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].ResourceType) != "auto-scaling-group" {
		t.Errorf("DescribeTags: %+v", tags.Tags)
	}
	traffic, err := c.DescribeTrafficSources(ctx, &sdk.DescribeTrafficSourcesInput{AutoScalingGroupName: aws.String("web")})
	must("DescribeTrafficSources", err)
	if len(traffic.TrafficSources) != 1 || aws.ToString(traffic.TrafficSources[0].Identifier) != tgARN || aws.ToString(traffic.TrafficSources[0].State) != "InService" {
		t.Errorf("DescribeTrafficSources: %+v", traffic.TrafficSources)
	}
	lbtg, err := c.DescribeLoadBalancerTargetGroups(ctx, &sdk.DescribeLoadBalancerTargetGroupsInput{AutoScalingGroupName: aws.String("web")})
	must("DescribeLoadBalancerTargetGroups", err)
	if len(lbtg.LoadBalancerTargetGroups) != 1 || aws.ToString(lbtg.LoadBalancerTargetGroups[0].LoadBalancerTargetGroupARN) != tgARN {
		t.Errorf("DescribeLoadBalancerTargetGroups: %+v", lbtg.LoadBalancerTargetGroups)
	}

	procs, err := c.DescribeScalingProcessTypes(ctx, &sdk.DescribeScalingProcessTypesInput{})
	must("DescribeScalingProcessTypes", err)
	if len(procs.Processes) != len(autoscaling.Processes()) {
		t.Errorf("DescribeScalingProcessTypes: %+v", procs.Processes)
	}
	terms, err := c.DescribeTerminationPolicyTypes(ctx, &sdk.DescribeTerminationPolicyTypesInput{})
	must("DescribeTerminationPolicyTypes", err)
	if !slices.Contains(terms.TerminationPolicyTypes, "OldestInstance") {
		t.Errorf("DescribeTerminationPolicyTypes: %v", terms.TerminationPolicyTypes)
	}
	adj, err := c.DescribeAdjustmentTypes(ctx, &sdk.DescribeAdjustmentTypesInput{})
	must("DescribeAdjustmentTypes", err)
	if len(adj.AdjustmentTypes) != 3 {
		t.Errorf("DescribeAdjustmentTypes: %+v", adj.AdjustmentTypes)
	}
	hookTypes, err := c.DescribeLifecycleHookTypes(ctx, &sdk.DescribeLifecycleHookTypesInput{})
	must("DescribeLifecycleHookTypes", err)
	if len(hookTypes.LifecycleHookTypes) != 2 {
		t.Errorf("DescribeLifecycleHookTypes: %v", hookTypes.LifecycleHookTypes)
	}
	notes, err := c.DescribeAutoScalingNotificationTypes(ctx, &sdk.DescribeAutoScalingNotificationTypesInput{})
	must("DescribeAutoScalingNotificationTypes", err)
	if len(notes.AutoScalingNotificationTypes) != 5 {
		t.Errorf("DescribeAutoScalingNotificationTypes: %v", notes.AutoScalingNotificationTypes)
	}
	limits, err := c.DescribeAccountLimits(ctx, &sdk.DescribeAccountLimitsInput{})
	must("DescribeAccountLimits", err)
	if aws.ToInt32(limits.NumberOfAutoScalingGroups) != 1 || aws.ToInt32(limits.MaxNumberOfAutoScalingGroups) != maxGroups {
		t.Errorf("DescribeAccountLimits: %+v", limits)
	}

	// Errors arrive as the SDK's modelled types.
	_, err = c.CancelInstanceRefresh(ctx, &sdk.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("web")})
	var none *types.ActiveInstanceRefreshNotFoundFault
	if !errors.As(err, &none) {
		t.Errorf("CancelInstanceRefresh: %v, want ActiveInstanceRefreshNotFoundFault", err)
	}
	_, err = c.CreateAutoScalingGroup(ctx, &sdk.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(1), MaxSize: aws.Int32(3),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("hello")}})
	var exists *types.AlreadyExistsFault
	if !errors.As(err, &exists) {
		t.Errorf("CreateAutoScalingGroup of a taken name: %v, want AlreadyExistsFault", err)
	}
	_, err = c.DeleteAutoScalingGroup(ctx, &sdk.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web")})
	var inUse *types.ResourceInUseFault
	if !errors.As(err, &inUse) {
		t.Errorf("DeleteAutoScalingGroup with instances: %v, want ResourceInUseFault", err)
	}
}
