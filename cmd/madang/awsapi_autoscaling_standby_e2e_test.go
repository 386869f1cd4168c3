package main

import (
	"context"
	"maps"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Standby, scale-in protection and group metrics through the Go SDK on a
// real group behind a target group: EnterStandby deregisters the instance
// (its target drains and goes) and keeps it running, ExitStandby registers
// it again; SetInstanceProtection keeps a scale-in from taking protected
// instances, with AWS's activity saying why; EnableMetricsCollection makes
// GetMetricStatistics on AWS/AutoScaling GroupDesiredCapacity answer.
// AttachInstances tags the instance as a launched one (the group tag and
// the group's tags, kept across a kill -9 of the daemon); DetachInstances
// removes the group tag.
func TestAWSSDKStandbyProtectionAndGroupMetrics(t *testing.T) {
	began := time.Now()
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	d := startDaemonProc(t, c, binary)
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		_ = d.cmd.Wait()
		if t.Failed() {
			t.Logf("daemon output:\n%s", d.out.String())
		}
	})
	// Last before the daemon stops (it leaves instances running): a clean
	// slate ends the group's, the detached and the loose instances, which
	// the calls below only begin to end.
	t.Cleanup(func() {
		if out, err := c.run("reset", "--yes"); err != nil {
			t.Errorf("madang reset --yes: %v\n%s", err, out)
		}
	})
	c.must("apply", "-f", imageStack(t, dir))
	s := c.awsSettings()
	cfg := s.sdkConfig(s.SecretAccessKey)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	lbc, as, cw, ec := elb.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg), cloudwatch.NewFromConfig(cfg), ec2.NewFromConfig(cfg)

	tg, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("sb-tg"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(3000),
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
	lb, err := lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("sb-lb")})
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
	if _, err := lbc.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(int32(freePort(t))),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &tgARN}},
	}); err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	name := aws.String("sb")
	if _, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: name, MinSize: aws.Int32(0), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(2),
		LaunchTemplate:    &asgtypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("hello")},
		TargetGroupARNs:   []string{tgARN},
		AvailabilityZones: []string{"local-1a", "local-1b", "local-1c"}, // RunInstances picks any of them
		Tags:              []asgtypes.Tag{{Key: aws.String("team"), Value: aws.String("sb"), PropagateAtLaunch: aws.Bool(true)}},
	}); err != nil {
		t.Fatalf("CreateAutoScalingGroup: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: name, ForceDelete: aws.Bool(true)})
	})
	if _, err := as.EnableMetricsCollection(ctx, &autoscaling.EnableMetricsCollectionInput{AutoScalingGroupName: name, Granularity: aws.String("5Minute")}); apiCode(err) != "ValidationError" {
		t.Errorf("EnableMetricsCollection at 5Minute: %v, want ValidationError", err)
	}
	if _, err := as.EnableMetricsCollection(ctx, &autoscaling.EnableMetricsCollectionInput{AutoScalingGroupName: name, Granularity: aws.String("1Minute")}); err != nil {
		t.Fatalf("EnableMetricsCollection: %v", err)
	}

	group := func() asgtypes.AutoScalingGroup {
		t.Helper()
		out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"sb"}})
		if err != nil || len(out.AutoScalingGroups) != 1 {
			t.Fatalf("DescribeAutoScalingGroups = %+v, %v", out, err)
		}
		return out.AutoScalingGroups[0]
	}
	// targets returns the target group's targets and their states.
	targets := func() map[string]elbtypes.TargetHealthStateEnum {
		out, err := lbc.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: &tgARN})
		if err != nil {
			t.Fatalf("DescribeTargetHealth: %v", err)
		}
		m := map[string]elbtypes.TargetHealthStateEnum{}
		for _, d := range out.TargetHealthDescriptions {
			m[aws.ToString(d.Target.Id)] = d.TargetHealth.State
		}
		return m
	}
	lifecycles := func() map[string]asgtypes.LifecycleState {
		m := map[string]asgtypes.LifecycleState{}
		for _, in := range group().Instances {
			m[aws.ToString(in.InstanceId)] = in.LifecycleState
		}
		return m
	}
	var ids []string
	eventually(t, "two instances InService, healthy targets", 40*time.Second, func() bool {
		ids = ids[:0]
		h := targets()
		for id, lc := range lifecycles() {
			if lc != asgtypes.LifecycleStateInService || h[id] != elbtypes.TargetHealthStateEnumHealthy {
				return false
			}
			ids = append(ids, id)
		}
		return len(ids) == 2
	})
	if g := group(); len(g.EnabledMetrics) < 13 || aws.ToString(g.EnabledMetrics[0].Granularity) != "1Minute" {
		t.Errorf("EnabledMetrics %+v", g.EnabledMetrics)
	}

	// Standby: deregistered and drained, still running.
	standbyAt := time.Now()
	sb, err := as.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: name, InstanceIds: ids[:1], ShouldDecrementDesiredCapacity: aws.Bool(true)})
	if err != nil || len(sb.Activities) != 1 || aws.ToString(sb.Activities[0].Description) != "Moving EC2 instance to Standby: "+ids[0] {
		t.Fatalf("EnterStandby = %+v, %v", sb, err)
	}
	eventually(t, ids[0]+" in Standby and out of the target group", 20*time.Second, func() bool {
		_, registered := targets()[ids[0]]
		return lifecycles()[ids[0]] == asgtypes.LifecycleStateStandby && !registered
	})
	t.Logf("EnterStandby → Standby (deregistered, drained with a 1 s delay): %s", time.Since(standbyAt).Round(time.Millisecond))
	if g := group(); aws.ToInt32(g.DesiredCapacity) != 1 || len(g.Instances) != 2 {
		t.Fatalf("after EnterStandby with decrement: desired %d, %d instances", aws.ToInt32(g.DesiredCapacity), len(g.Instances))
	}
	running := false
	for line := range strings.SplitSeq(c.must("ps"), "\n") {
		running = running || strings.Contains(line, ids[0]) && strings.Contains(line, "running")
	}
	if !running {
		t.Fatalf("the Standby instance %s is not running", ids[0])
	}
	exitAt := time.Now()
	if _, err := as.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: name, InstanceIds: ids[:1]}); err != nil {
		t.Fatalf("ExitStandby: %v", err)
	}
	eventually(t, ids[0]+" InService and a healthy target again", 30*time.Second, func() bool {
		return lifecycles()[ids[0]] == asgtypes.LifecycleStateInService && targets()[ids[0]] == elbtypes.TargetHealthStateEnumHealthy
	})
	t.Logf("ExitStandby → InService (registered, healthy): %s", time.Since(exitAt).Round(time.Millisecond))
	if g := group(); aws.ToInt32(g.DesiredCapacity) != 2 {
		t.Fatalf("after ExitStandby: desired %d, want 2", aws.ToInt32(g.DesiredCapacity))
	}
	if _, err := as.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: name, InstanceIds: ids[:1]}); apiCode(err) != "ValidationError" {
		t.Errorf("ExitStandby of an InService instance: %v, want ValidationError", err)
	}

	// Protection: a scale-in to 0 takes only the unprotected instance.
	if _, err := as.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: name, InstanceIds: ids[:1], ProtectedFromScaleIn: aws.Bool(true)}); err != nil {
		t.Fatalf("SetInstanceProtection: %v", err)
	}
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: name, DesiredCapacity: aws.Int32(0)}); err != nil {
		t.Fatalf("SetDesiredCapacity: %v", err)
	}
	var blocked string
	eventually(t, "the unprotected instance gone and the scale-in blocked", 30*time.Second, func() bool {
		lcs := lifecycles()
		if len(lcs) != 1 || lcs[ids[0]] != asgtypes.LifecycleStateInService {
			return false
		}
		acts, err := as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: name})
		if err != nil {
			t.Fatalf("DescribeScalingActivities: %v", err)
		}
		for _, a := range acts.Activities {
			if a.StatusCode == asgtypes.ScalingActivityStatusCodeFailed {
				blocked = aws.ToString(a.StatusMessage)
			}
		}
		return blocked != ""
	})
	if blocked != "Could not scale to desired capacity because all remaining instances are protected from scale-in." {
		t.Errorf("blocked scale-in's status message %q", blocked)
	}
	for _, in := range group().Instances {
		if !aws.ToBool(in.ProtectedFromScaleIn) {
			t.Errorf("instance %s: ProtectedFromScaleIn false", aws.ToString(in.InstanceId))
		}
	}

	// Attach an instance RunInstances launched, then detach it: it keeps
	// running outside the group. The desired capacity first matches the
	// protected instance that stays (else the attached one is the
	// scale-in's only choice).
	if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: name, DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatalf("SetDesiredCapacity: %v", err)
	}
	run, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("hello")}})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	loose := aws.ToString(run.Instances[0].InstanceId)
	t.Cleanup(func() {
		_, _ = ec.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{loose}})
	})
	state := func() ec2types.InstanceStateName {
		out, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{loose}})
		if err != nil || len(out.Reservations) != 1 {
			t.Fatalf("DescribeInstances = %+v, %v", out, err)
		}
		return out.Reservations[0].Instances[0].State.Name
	}
	eventually(t, loose+" running", 20*time.Second, func() bool { return state() == ec2types.InstanceStateNameRunning })
	if _, err := as.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: name, InstanceIds: []string{loose, ids[0]}}); apiCode(err) != "ValidationError" {
		t.Errorf("AttachInstances of a member: %v, want ValidationError", err)
	}
	if _, err := as.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: name, InstanceIds: []string{loose}}); err != nil {
		t.Fatalf("AttachInstances: %v", err)
	}
	eventually(t, loose+" InService and a healthy target", 30*time.Second, func() bool {
		return lifecycles()[loose] == asgtypes.LifecycleStateInService && targets()[loose] == elbtypes.TargetHealthStateEnumHealthy
	})
	if g := group(); aws.ToInt32(g.DesiredCapacity) != 2 {
		t.Errorf("after AttachInstances: desired %d, want 2", aws.ToInt32(g.DesiredCapacity))
	}
	// tags returns the instance's tags as DescribeInstances shows them,
	// and whether DescribeTags and madang ps -o json show them too.
	tags := func() (map[string]string, bool) {
		t.Helper()
		out, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{loose}})
		if err != nil || len(out.Reservations) != 1 {
			t.Fatalf("DescribeInstances = %+v, %v", out, err)
		}
		m := map[string]string{}
		for _, tg := range out.Reservations[0].Instances[0].Tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		dt, err := ec.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{loose}}}})
		if err != nil {
			t.Fatalf("DescribeTags: %v", err)
		}
		fromTags := map[string]string{}
		for _, tg := range dt.Tags {
			fromTags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		var fromPS map[string]string
		for _, r := range c.ps() {
			if r.ID == loose {
				fromPS = r.Tags
			}
		}
		// DescribeInstances adds EC2's aws:ec2launchtemplate:* tags.
		agree := maps.Equal(fromTags, fromPS)
		for k, v := range fromTags {
			agree = agree && m[k] == v
		}
		if !agree {
			t.Logf("tags of %s: DescribeInstances %v, DescribeTags %v, ps -o json %v", loose, m, fromTags, fromPS)
		}
		return m, agree
	}
	eventually(t, loose+" tagged as the group's everywhere", 10*time.Second, func() bool {
		m, agree := tags()
		return agree && m["aws:autoscaling:groupName"] == "sb" && m["team"] == "sb"
	})
	// The tags are stored: a daemon killed and started again shows them.
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Wait()
	d = startDaemonProc(t, c, binary)
	// The new daemon's endpoint listens on a port of its own.
	cfg = c.awsSettings().sdkConfig(s.SecretAccessKey)
	lbc, as, cw, ec = elb.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg), cloudwatch.NewFromConfig(cfg), ec2.NewFromConfig(cfg)
	if m, agree := tags(); !agree || m["aws:autoscaling:groupName"] != "sb" || m["team"] != "sb" {
		t.Errorf("after kill -9 of the daemon, %s's tags are %v", loose, m)
	}
	eventually(t, loose+" InService after the restart", 30*time.Second, func() bool {
		return lifecycles()[loose] == asgtypes.LifecycleStateInService
	})
	if _, err := as.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: name, InstanceIds: []string{loose}, ShouldDecrementDesiredCapacity: aws.Bool(true)}); err != nil {
		t.Fatalf("DetachInstances: %v", err)
	}
	eventually(t, loose+" out of the group and the target group", 20*time.Second, func() bool {
		_, member := lifecycles()[loose]
		_, registered := targets()[loose]
		return !member && !registered
	})
	if st := state(); st != ec2types.InstanceStateNameRunning {
		t.Errorf("the detached instance is %s, want running", st)
	}
	eventually(t, loose+" without the group tag everywhere", 10*time.Second, func() bool {
		m, agree := tags()
		_, tagged := m["aws:autoscaling:groupName"]
		return agree && !tagged
	})
	if m, _ := tags(); m["team"] != "sb" {
		t.Errorf("the detached instance lost the tags it was given: %v", m)
	}
	if g := group(); aws.ToInt32(g.DesiredCapacity) != 1 || len(g.Instances) != 1 {
		t.Errorf("after DetachInstances with decrement: desired %d, %d instances; want 1, 1", aws.ToInt32(g.DesiredCapacity), len(g.Instances))
	}

	// Group metrics: published at once when enabled, then every minute.
	var points []cwtypes.Datapoint
	eventually(t, "GroupDesiredCapacity in AWS/AutoScaling", 20*time.Second, func() bool {
		out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/AutoScaling"), MetricName: aws.String("GroupDesiredCapacity"),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: name}},
			StartTime:  aws.Time(began.Add(-time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)), Period: aws.Int32(60),
			Statistics: []cwtypes.Statistic{cwtypes.StatisticMaximum},
		})
		if err != nil {
			t.Fatalf("GetMetricStatistics: %v", err)
		}
		points = out.Datapoints
		return len(points) > 0
	})
	if v := aws.ToFloat64(points[0].Maximum); v != 2 {
		t.Errorf("GroupDesiredCapacity maximum %v, want 2 (the desired capacity when collection began)", v)
	}
	if _, err := as.DisableMetricsCollection(ctx, &autoscaling.DisableMetricsCollectionInput{AutoScalingGroupName: name}); err != nil {
		t.Fatalf("DisableMetricsCollection: %v", err)
	}
	if g := group(); len(g.EnabledMetrics) != 0 {
		t.Errorf("EnabledMetrics after DisableMetricsCollection: %+v", g.EnabledMetrics)
	}
}
