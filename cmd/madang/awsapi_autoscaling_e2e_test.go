package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The seed's Auto Scaling steps through the Go SDK: a group launched from
// the stack's launch template into a target group behind a load balancer,
// with ELB health checks; its instances serve, SetDesiredCapacity scales it
// out with activities that say why, a target tracking policy is stored, an
// instance refresh replaces every instance, ExecutePolicy runs a simple
// policy, and a forced delete terminates them — real processes, health
// checks and traffic throughout.
func TestAWSSDKDrivesAutoScaling(t *testing.T) {
	began := time.Now()
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	startServer(t, c)
	c.must("apply", "-f", imageStack(t, dir))
	s := c.awsSettings()
	cfg := s.sdkConfig(s.SecretAccessKey)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ec, lbc, as := ec2.NewFromConfig(cfg), elb.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg)

	lts, err := ec.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"hello"}})
	if err != nil || len(lts.LaunchTemplates) != 1 {
		t.Fatalf("DescribeLaunchTemplates = %+v, %v", lts, err)
	}
	ltID := lts.LaunchTemplates[0].LaunchTemplateId
	subnets, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("availability-zone"), Values: []string{"local-1a", "local-1b"}}}})
	if err != nil || len(subnets.Subnets) != 2 {
		t.Fatalf("DescribeSubnets = %+v, %v", subnets, err)
	}
	var subnetIDs []string
	for _, sn := range subnets.Subnets {
		subnetIDs = append(subnetIDs, aws.ToString(sn.SubnetId))
	}

	tg, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("asg-tg"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(3000),
		HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
	})
	if err != nil {
		t.Fatalf("CreateTargetGroup: %v", err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	if _, err := lbc.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: &tgARN,
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}}); err != nil {
		t.Fatalf("ModifyTargetGroupAttributes: %v", err)
	}
	lb, err := lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("asg-lb")})
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
	port := freePort(t)
	if _, err := lbc.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(int32(port)),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &tgARN}},
	}); err != nil {
		t.Fatalf("CreateListener: %v", err)
	}

	// AWS's refusals of bad groups.
	bad := func(what string, mod func(*autoscaling.CreateAutoScalingGroupInput), code, msg string) {
		t.Helper()
		in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("bad"), MinSize: aws.Int32(1), MaxSize: aws.Int32(2),
			LaunchTemplate: &asgtypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("hello")}}
		mod(in)
		_, err := as.CreateAutoScalingGroup(ctx, in)
		if apiCode(err) != code || !strings.Contains(err.Error(), msg) {
			t.Errorf("CreateAutoScalingGroup with %s: %v, want %s %q", what, err, code, msg)
		}
	}
	bad("min > max", func(in *autoscaling.CreateAutoScalingGroupInput) { in.MinSize = aws.Int32(3) }, "ValidationError",
		"Max bound, 2, must be greater than or equal to min bound, 3")
	bad("desired > max", func(in *autoscaling.CreateAutoScalingGroupInput) { in.DesiredCapacity = aws.Int32(5) }, "ValidationError",
		"Desired capacity:5 must be between the specified min size:1 and max size:2")
	bad("an unknown launch template", func(in *autoscaling.CreateAutoScalingGroupInput) {
		in.LaunchTemplate = &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-0123456789abcdef0")}
	}, "ValidationError", "with template ID lt-0123456789abcdef0, does not exist")
	bad("an unknown target group", func(in *autoscaling.CreateAutoScalingGroupInput) {
		in.TargetGroupARNs = []string{strings.Replace(tgARN, "asg-tg", "nope", 1)}
	}, "ValidationError", "Provided Target Groups may not be valid")

	create := &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(1), MaxSize: aws.Int32(3), DesiredCapacity: aws.Int32(2),
		LaunchTemplate:    &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: ltID, Version: aws.String("$Latest")},
		VPCZoneIdentifier: aws.String(strings.Join(subnetIDs, ",")), TargetGroupARNs: []string{tgARN},
		HealthCheckType: aws.String("ELB"), HealthCheckGracePeriod: aws.Int32(30),
		Tags: []asgtypes.Tag{{Key: aws.String("team"), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)}},
	}
	if _, err := as.CreateAutoScalingGroup(ctx, create); err != nil {
		t.Fatalf("CreateAutoScalingGroup: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), ForceDelete: aws.Bool(true)})
		if err != nil && apiCode(err) != "ValidationError" {
			t.Errorf("DeleteAutoScalingGroup in cleanup: %v", err)
		}
	})
	_, err = as.CreateAutoScalingGroup(ctx, create)
	var exists *asgtypes.AlreadyExistsFault
	if !errors.As(err, &exists) {
		t.Errorf("CreateAutoScalingGroup of a taken name: %v, want AlreadyExistsFault", err)
	}

	group := func() asgtypes.AutoScalingGroup {
		t.Helper()
		out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
		if err != nil || len(out.AutoScalingGroups) != 1 {
			t.Fatalf("DescribeAutoScalingGroups = %+v, %v", out, err)
		}
		return out.AutoScalingGroups[0]
	}
	healthy := func() map[string]bool {
		out, err := lbc.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: &tgARN})
		if err != nil {
			t.Fatalf("DescribeTargetHealth: %v", err)
		}
		m := map[string]bool{}
		for _, d := range out.TargetHealthDescriptions {
			m[aws.ToString(d.Target.Id)] = d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy
		}
		return m
	}
	// serving waits for n instances InService and healthy, each a healthy
	// target of the target group, and returns their ids.
	serving := func(n int, what string) []string {
		t.Helper()
		var ids []string
		eventually(t, what, 40*time.Second, func() bool {
			g := group()
			ids = ids[:0]
			h := healthy()
			for _, in := range g.Instances {
				if in.LifecycleState != asgtypes.LifecycleStateInService || aws.ToString(in.HealthStatus) != "Healthy" || !h[aws.ToString(in.InstanceId)] {
					return false
				}
				ids = append(ids, aws.ToString(in.InstanceId))
			}
			return len(ids) == n && aws.ToInt32(g.DesiredCapacity) == int32(n)
		})
		return ids
	}
	first := serving(2, "two instances InService and healthy in the target group")
	g := group()
	if aws.ToString(g.HealthCheckType) != "ELB" || len(g.TargetGroupARNs) != 1 || g.TargetGroupARNs[0] != tgARN ||
		aws.ToString(g.LaunchTemplate.LaunchTemplateId) != aws.ToString(ltID) || len(g.AvailabilityZones) != 2 ||
		len(g.Tags) != 1 || aws.ToString(g.Tags[0].Key) != "team" {
		t.Errorf("the group as described: %+v", g)
	}
	zones := map[string]bool{}
	for _, in := range g.Instances {
		zones[aws.ToString(in.AvailabilityZone)] = true
		if aws.ToString(in.LaunchTemplate.LaunchTemplateName) != "hello" {
			t.Errorf("instance %s: launch template %+v", aws.ToString(in.InstanceId), in.LaunchTemplate)
		}
	}
	if !zones["local-1a"] || !zones["local-1b"] {
		t.Errorf("instances are not balanced over the subnets' zones: %v", zones)
	}
	dns := aws.ToString(lb.LoadBalancers[0].DNSName)
	if body, err := get(fmt.Sprintf("http://%s:%d/", dns, port)); err != nil || !strings.Contains(body, "Hello") {
		t.Errorf("GET through the load balancer = %q, %v", body, err)
	}
	ts, err := as.DescribeTrafficSources(ctx, &autoscaling.DescribeTrafficSourcesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(ts.TrafficSources) != 1 || aws.ToString(ts.TrafficSources[0].Identifier) != tgARN || aws.ToString(ts.TrafficSources[0].State) != "InService" {
		t.Errorf("DescribeTrafficSources = %+v, %v", ts, err)
	}
	insts, err := as.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: first})
	if err != nil || len(insts.AutoScalingInstances) != 2 || aws.ToString(insts.AutoScalingInstances[0].AutoScalingGroupName) != "web" {
		t.Errorf("DescribeAutoScalingInstances = %+v, %v", insts, err)
	}
	byTag, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []asgtypes.Filter{{Name: aws.String("tag:team"), Values: []string{"web"}}}})
	if err != nil || len(byTag.AutoScalingGroups) != 1 {
		t.Errorf("DescribeAutoScalingGroups by tag = %+v, %v", byTag, err)
	}

	// Scale out by hand, beyond max refused.
	_, err = as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(5)})
	if apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), "above max value 3") {
		t.Errorf("SetDesiredCapacity above max: %v", err)
	}
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(3)}); err != nil {
		t.Fatalf("SetDesiredCapacity: %v", err)
	}
	three := serving(3, "three instances InService and healthy")
	acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil {
		t.Fatalf("DescribeScalingActivities: %v", err)
	}
	launched := map[string]asgtypes.Activity{}
	for _, a := range acts.Activities {
		for _, id := range three {
			if strings.Contains(aws.ToString(a.Description), "Launching a new EC2 instance: "+id) {
				launched[id] = a
			}
		}
	}
	for _, id := range three {
		a, ok := launched[id]
		if !ok || a.StatusCode != asgtypes.ScalingActivityStatusCodeSuccessful || a.EndTime == nil || aws.ToInt32(a.Progress) != 100 || aws.ToString(a.ActivityId) == "" {
			t.Errorf("no successful launch activity for %s: %+v", id, a)
			continue
		}
		want := "changing the desired capacity from 0 to 2"
		if !slices.Contains(first, id) {
			want = "a user request explicitly set group desired capacity changing the desired capacity from 2 to 3"
		}
		if !strings.Contains(aws.ToString(a.Cause), want) {
			t.Errorf("activity of %s: cause %q, want it to say %q", id, aws.ToString(a.Cause), want)
		}
	}

	// A target tracking policy is kept and described as AWS does.
	pol, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
		AutoScalingGroupName: aws.String("web"), PolicyName: aws.String("cpu50"), PolicyType: aws.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: &asgtypes.TargetTrackingConfiguration{TargetValue: aws.Float64(50), DisableScaleIn: aws.Bool(true),
			PredefinedMetricSpecification: &asgtypes.PredefinedMetricSpecification{PredefinedMetricType: asgtypes.MetricTypeASGAverageCPUUtilization}},
	})
	if err != nil || !strings.Contains(aws.ToString(pol.PolicyARN), ":scalingPolicy:") || !strings.HasSuffix(aws.ToString(pol.PolicyARN), "policyName/cpu50") {
		t.Fatalf("PutScalingPolicy = %+v, %v", pol, err)
	}
	pols, err := as.DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("web")})
	if err != nil || len(pols.ScalingPolicies) != 1 {
		t.Fatalf("DescribePolicies = %+v, %v", pols, err)
	}
	p := pols.ScalingPolicies[0]
	if aws.ToString(p.PolicyARN) != aws.ToString(pol.PolicyARN) || aws.ToString(p.PolicyType) != "TargetTrackingScaling" ||
		aws.ToFloat64(p.TargetTrackingConfiguration.TargetValue) != 50 ||
		p.TargetTrackingConfiguration.PredefinedMetricSpecification.PredefinedMetricType != asgtypes.MetricTypeASGAverageCPUUtilization {
		t.Errorf("DescribePolicies: %+v", p)
	}

	// An instance refresh replaces every instance.
	_, err = as.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("web")})
	var noRefresh *asgtypes.ActiveInstanceRefreshNotFoundFault
	if !errors.As(err, &noRefresh) {
		t.Errorf("CancelInstanceRefresh without a refresh: %v, want ActiveInstanceRefreshNotFoundFault", err)
	}
	ref, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"),
		Preferences: &asgtypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(0), InstanceWarmup: aws.Int32(0)}})
	if err != nil {
		t.Fatalf("StartInstanceRefresh: %v", err)
	}
	_, err = as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web")})
	var inProgress *asgtypes.InstanceRefreshInProgressFault
	if !errors.As(err, &inProgress) {
		t.Errorf("a second StartInstanceRefresh: %v, want InstanceRefreshInProgressFault", err)
	}
	var last asgtypes.InstanceRefresh
	eventually(t, "the instance refresh to succeed", 40*time.Second, func() bool {
		out, err := as.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web")})
		if err != nil || len(out.InstanceRefreshes) == 0 {
			t.Fatalf("DescribeInstanceRefreshes = %+v, %v", out, err)
		}
		last = out.InstanceRefreshes[0]
		if st := last.Status; st == asgtypes.InstanceRefreshStatusFailed || st == asgtypes.InstanceRefreshStatusCancelled {
			t.Fatalf("instance refresh %s: %s", st, aws.ToString(last.StatusReason))
		}
		return last.Status == asgtypes.InstanceRefreshStatusSuccessful
	})
	if aws.ToString(last.InstanceRefreshId) != aws.ToString(ref.InstanceRefreshId) || aws.ToInt32(last.PercentageComplete) != 100 {
		t.Errorf("the refresh as described: %+v", last)
	}
	for _, id := range serving(3, "three new instances InService after the refresh") {
		if slices.Contains(three, id) {
			t.Errorf("instance %s survived the refresh", id)
		}
	}

	// Sizes change; an unknown group is AWS's ValidationError.
	if _, err := as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(2), MaxSize: aws.Int32(4)}); err != nil {
		t.Fatalf("UpdateAutoScalingGroup: %v", err)
	}
	if g := group(); aws.ToInt32(g.MinSize) != 2 || aws.ToInt32(g.MaxSize) != 4 || aws.ToInt32(g.DesiredCapacity) != 3 {
		t.Errorf("after UpdateAutoScalingGroup: min %d max %d desired %d, want 2 4 3", aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize), aws.ToInt32(g.DesiredCapacity))
	}
	_, err = as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(5)})
	if apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), "Max bound, 4, must be greater than or equal to min bound, 5") {
		t.Errorf("UpdateAutoScalingGroup with min > max: %v", err)
	}
	_, err = as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("nope"), MaxSize: aws.Int32(4)})
	if apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), "AutoScalingGroup name not found") {
		t.Errorf("UpdateAutoScalingGroup of an unknown group: %v", err)
	}

	// ExecutePolicy runs a simple policy as if its alarm fired; a target
	// tracking policy cannot be executed.
	if _, err := as.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{AutoScalingGroupName: aws.String("web"), PolicyName: aws.String("add1"),
		PolicyType: aws.String("SimpleScaling"), AdjustmentType: aws.String("ChangeInCapacity"), ScalingAdjustment: aws.Int32(1)}); err != nil {
		t.Fatalf("PutScalingPolicy SimpleScaling: %v", err)
	}
	_, err = as.ExecutePolicy(ctx, &autoscaling.ExecutePolicyInput{AutoScalingGroupName: aws.String("web"), PolicyName: pol.PolicyARN})
	if apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), "not supported for target tracking scaling policies") {
		t.Errorf("ExecutePolicy of a target tracking policy: %v, want ValidationError", err)
	}
	if _, err := as.ExecutePolicy(ctx, &autoscaling.ExecutePolicyInput{AutoScalingGroupName: aws.String("web"), PolicyName: aws.String("add1")}); err != nil {
		t.Fatalf("ExecutePolicy: %v", err)
	}
	if g := group(); aws.ToInt32(g.DesiredCapacity) != 4 {
		t.Errorf("after ExecutePolicy: desired %d, want 4", aws.ToInt32(g.DesiredCapacity))
	}
	eventually(t, "the executed policy's launch activity", 20*time.Second, func() bool {
		out, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("web"), MaxRecords: aws.Int32(1)})
		if err != nil {
			t.Fatalf("DescribeScalingActivities: %v", err)
		}
		return len(out.Activities) == 1 && strings.Contains(aws.ToString(out.Activities[0].Cause), "a user request executed policy add1 changing the desired capacity from 3 to 4.")
	})

	// A group with instances is deleted only by force, which terminates them.
	_, err = as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web")})
	var inUse *asgtypes.ResourceInUseFault
	if !errors.As(err, &inUse) {
		t.Errorf("DeleteAutoScalingGroup with instances, without ForceDelete: %v, want ResourceInUseFault", err)
	}
	final := group()
	if _, err := as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), ForceDelete: aws.Bool(true)}); err != nil {
		t.Fatalf("DeleteAutoScalingGroup ForceDelete: %v", err)
	}
	if out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}}); err != nil || len(out.AutoScalingGroups) != 0 {
		t.Errorf("DescribeAutoScalingGroups after the delete = %+v, %v", out, err)
	}
	var ids []string
	for _, in := range final.Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	eventually(t, "the group's instances terminated", 20*time.Second, func() bool {
		out, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
		if err != nil {
			return apiCode(err) == "InvalidInstanceID.NotFound"
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				if in.State.Name != ec2types.InstanceStateNameTerminated {
					return false
				}
			}
		}
		return true
	})
	if h := healthy(); len(h) != 0 {
		t.Errorf("targets left in the target group: %v", h)
	}
	t.Logf("Auto Scaling through the SDK took %s", time.Since(began).Round(time.Second))
}
