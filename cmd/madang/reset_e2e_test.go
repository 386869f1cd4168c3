package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// slateStack is a stack with an image, a launch template, a target group
// behind a load balancer listening on port, an Auto Scaling group of 2 in
// that target group and an alarm on the group's CPU.
func slateStack(t *testing.T, dir string, port int) string {
	t.Helper()
	buildSampleApp(t, dir)
	return writeStack(t, dir, fmt.Sprintf(`name: slate
images:
  - name: hello
    source: ./app
    command: ./hello
    port: 3000
launchTemplates:
  - name: hello
    image: hello
    supervision:
      killTimeout: 2s
      readiness: {httpPath: /health}
targetGroups:
  - name: web
    port: 3000
    healthCheck: {path: /health, intervalSeconds: 5, timeoutSeconds: 2, healthyThresholdCount: 2, unhealthyThresholdCount: 2}
    attributes: {deregistration_delay.timeout_seconds: 1}
loadBalancers:
  - name: web
    listeners:
      - port: %d
        defaultActions: [{type: forward, targetGroup: web}]
autoScalingGroups:
  - name: web
    launchTemplate: hello
    minSize: 2
    maxSize: 2
    targetGroups: [web]
alarms:
  - name: web-cpu
    namespace: AWS/EC2
    metricName: CPUUtilization
    dimensions: {AutoScalingGroupName: web}
    statistic: Maximum
    period: 1
    evaluationPeriods: 2
    threshold: 90
    comparisonOperator: GreaterThanThreshold
`, port))
}

// resetRow is `madang reset -o json`.
type resetRow struct {
	Resources       int            `json:"resources"`
	ByKind          map[string]int `json:"byKind"`
	Stacks          []string       `json:"stacks"`
	Instances       int            `json:"instances"`
	MetricSeries    int            `json:"metricSeries"`
	LogStreams      int            `json:"logStreams"`
	DurationSeconds float64        `json:"durationSeconds"`
}

// instanceProcesses lists the processes of home's instances: shims and
// apps, told by a command line or working directory below home.
func instanceProcesses(home string) []string {
	var out []string
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		cwd, _ := os.Readlink(filepath.Join("/proc", p.Name(), "cwd"))
		cmd := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(cmd, filepath.Join(home, "instances")) || strings.HasPrefix(cwd, filepath.Join(home, "instances")) {
			out = append(out, fmt.Sprintf("%d %s", pid, cmd))
		}
	}
	return out
}

// TestResetCleanSlate: a stack (image, launch template, target group, load
// balancer, Auto Scaling group of 2, alarm) and resources made through
// the AWS endpoint (two instances, a target group with them registered,
// metric data, a log stream) are all gone after `madang reset --yes`:
// nothing is listed, no instance process is left, the listener's port is
// free; the access key still works and the same stack applies again. The
// AWS endpoint's reset paths are refused, as the daemon was not started
// with --aws-reset-endpoint.
func TestResetCleanSlate(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	startServer(t, c)
	// Whatever happens, nothing of this test keeps running.
	t.Cleanup(func() { _, _ = c.run("reset", "--yes") })
	port := freePort(t)
	file := slateStack(t, dir, port)
	c.must("apply", "-f", file)
	c.waitInService("web", 2)
	s := c.awsSettings()
	cfg := s.sdkConfig(s.SecretAccessKey)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	ec := ec2.NewFromConfig(cfg)
	imgs, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("DescribeImages = %+v, %v", imgs, err)
	}
	run, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(2), MaxCount: aws.Int32(2), ImageId: imgs.Images[0].ImageId})
	if err != nil || len(run.Instances) != 2 {
		t.Fatalf("RunInstances = %+v, %v", run, err)
	}
	lbc := elb.NewFromConfig(cfg)
	vpcs, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) != 1 {
		t.Fatalf("DescribeVpcs = %+v, %v", vpcs, err)
	}
	tg, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("api"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(3000), VpcId: vpcs.Vpcs[0].VpcId, HealthCheckPath: aws.String("/health")})
	if err != nil {
		t.Fatalf("CreateTargetGroup: %v", err)
	}
	var targets []elbtypes.TargetDescription
	for _, in := range run.Instances {
		targets = append(targets, elbtypes.TargetDescription{Id: in.InstanceId})
	}
	if _, err := lbc.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroups[0].TargetGroupArn, Targets: targets}); err != nil {
		t.Fatalf("RegisterTargets: %v", err)
	}
	cwc := cloudwatch.NewFromConfig(cfg)
	if _, err := cwc.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"),
		MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("Orders"), Value: aws.Float64(3)}}}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	lc := cloudwatchlogs.NewFromConfig(cfg)
	if _, err := lc.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/shop/checkout")}); err != nil {
		t.Fatalf("CreateLogGroup: %v", err)
	}
	if _, err := lc.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/shop/checkout"), LogStreamName: aws.String("web-1")}); err != nil {
		t.Fatalf("CreateLogStream: %v", err)
	}
	if _, err := lc.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/shop/checkout"), LogStreamName: aws.String("web-1"),
		LogEvents: []logtypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("order 1 paid")}}}); err != nil {
		t.Fatalf("PutLogEvents: %v", err)
	}
	var pids []int
	eventually(t, "4 instances running with a pid", 30*time.Second, func() bool {
		pids = pids[:0]
		for _, r := range c.ps() {
			if r.State == "running" && r.PID > 0 {
				pids = append(pids, r.PID)
			}
		}
		return len(pids) == 4
	})
	if _, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil {
		t.Fatalf("the stack's load balancer does not answer: %v", err)
	}

	// Without --aws-reset-endpoint the reset paths do not exist (404),
	// whatever the method; nothing is removed.
	for _, path := range []string{"/moto-api/reset", "/madang-api/reset"} {
		resp, err := http.Post(s.EndpointURL+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "--aws-reset-endpoint") {
			t.Errorf("POST %s without the flag = %d %s, want 404 naming --aws-reset-endpoint", path, resp.StatusCode, b)
		}
	}
	// Without a terminal and without --yes, reset refuses (exit code 2).
	out, err := c.run("reset")
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out, "--yes") {
		t.Errorf("reset without --yes = %v\n%s; want exit code 2 naming --yes", err, out)
	}
	if n := len(c.ps()); n != 4 {
		t.Fatalf("after the refused resets: %d instances, want 4", n)
	}

	start := time.Now()
	out = c.must("reset", "--yes", "-o", "json")
	took := time.Since(start)
	var res resetRow
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("reset -o json: %v\n%s", err, out)
	}
	t.Logf("reset: %s (%.3f s in the daemon, %s for the command)", strings.Join(strings.Fields(out), " "), res.DurationSeconds, took.Round(time.Millisecond))
	if res.Instances != 4 || res.Resources < 7 || res.ByKind["target-group"] != 2 || len(res.Stacks) != 1 || res.Stacks[0] != "slate" || res.MetricSeries == 0 || res.LogStreams != 1 {
		t.Errorf("reset reported %+v; want 4 instances, 7+ resources of stack slate with 2 target groups, metric series, 1 log stream", res)
	}

	if rows := c.ps(); len(rows) != 0 {
		t.Errorf("ps after reset: %+v", rows)
	}
	// The event log is kept, and says what the reset removed.
	evs := c.must("events")
	if !strings.Contains(evs, "reset: removed 8 resources, 4 instances") || !strings.Contains(evs, "ready; API on") {
		t.Errorf("events after reset lack the reset's summary or the daemon's earlier events:\n%s", evs)
	}
	for _, line := range strings.Split(evs, "\n") {
		if strings.Contains(line, "reset: removed") {
			t.Logf("event: %s", strings.TrimSpace(line))
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("instance process %d still exists after reset (kill 0: %v)", pid, err)
		}
	}
	if left := instanceProcesses(c.home); len(left) > 0 {
		t.Errorf("instance processes left after reset: %v", left)
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err != nil {
		t.Errorf("listener port %d not free after reset: %v", port, err)
	} else {
		ln.Close()
	}
	if ents, _ := os.ReadDir(filepath.Join(c.home, "instances")); len(ents) != 0 {
		t.Errorf("%d instance directories left", len(ents))
	}
	// The same access key still works, and every list is empty.
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("GetCallerIdentity with the same key after reset: %v", err)
	}
	if out, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil || len(out.Reservations) != 0 {
		t.Errorf("DescribeInstances after reset = %d reservations, %v", len(out.Reservations), err)
	}
	if out, err := lbc.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{}); err != nil || len(out.TargetGroups) != 0 {
		t.Errorf("DescribeTargetGroups after reset = %+v, %v", out.TargetGroups, err)
	}
	if out, err := lbc.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{}); err != nil || len(out.LoadBalancers) != 0 {
		t.Errorf("DescribeLoadBalancers after reset = %+v, %v", out.LoadBalancers, err)
	}
	if out, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{}); err != nil || len(out.AutoScalingGroups) != 0 {
		t.Errorf("DescribeAutoScalingGroups after reset = %+v, %v", out.AutoScalingGroups, err)
	}
	if out, err := cwc.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); err != nil || len(out.MetricAlarms)+len(out.CompositeAlarms) != 0 {
		t.Errorf("DescribeAlarms after reset = %+v, %v", out, err)
	}
	// The daemon's own metrics (madang/Daemon) start again at the next
	// collection, as on a fresh daemon; once they are back (a collection
	// round ran after the reset), none of the others is there.
	var metrics *cloudwatch.ListMetricsOutput
	eventually(t, "a collection round after the reset", 10*time.Second, func() bool {
		metrics, err = cwc.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("madang/Daemon")})
		return err == nil && len(metrics.Metrics) > 0
	})
	metrics, err = cwc.ListMetrics(ctx, &cloudwatch.ListMetricsInput{})
	if err != nil {
		t.Fatalf("ListMetrics: %v", err)
	}
	for _, m := range metrics.Metrics {
		if aws.ToString(m.Namespace) != "madang/Daemon" {
			t.Errorf("metric left after reset: %s %s", aws.ToString(m.Namespace), aws.ToString(m.MetricName))
		}
	}
	if out, err := lc.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/shop/")}); err != nil || len(out.LogGroups) != 0 {
		t.Errorf("DescribeLogGroups /shop/ after reset = %+v, %v", out.LogGroups, err)
	}

	// A fresh start works: the same stack applies again and serves.
	c.must("apply", "-f", file)
	c.waitInService("web", 2)
	eventually(t, "the new load balancer to answer", 20*time.Second, func() bool {
		_, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		return err == nil
	})
}

// TestResetAWSEndpoint: with --aws-reset-endpoint, a POST to Moto's
// /moto-api/reset answers as Moto does and removes what was made; other
// methods are refused as Moto refuses them.
func TestResetAWSEndpoint(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	startServer(t, c, "--aws-reset-endpoint")
	t.Cleanup(func() { _, _ = c.run("reset", "--yes") })
	c.must("apply", "-f", imageStack(t, dir))
	s := c.awsSettings()
	cfg := s.sdkConfig(s.SecretAccessKey)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	ec := ec2.NewFromConfig(cfg)
	imgs, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("DescribeImages = %+v, %v", imgs, err)
	}
	if _, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: imgs.Images[0].ImageId,
		InstanceType: ec2types.InstanceTypeT3Micro}); err != nil {
		t.Fatalf("RunInstances: %v", err)
	}

	resp, err := http.Get(s.EndpointURL + "/moto-api/reset")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "Need to POST") {
		t.Errorf("GET /moto-api/reset = %d %s, want 400 as Moto answers", resp.StatusCode, b)
	}
	if n := len(c.ps()); n != 1 {
		t.Fatalf("after a GET: %d instances, want 1", n)
	}

	start := time.Now()
	resp, err = http.Post(s.EndpointURL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("POST /moto-api/reset: %d %s in %s", resp.StatusCode, strings.TrimSpace(string(b)), time.Since(start).Round(time.Millisecond))
	var body map[string]string
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &body) != nil || body["status"] != "ok" {
		t.Fatalf(`POST /moto-api/reset = %d %s, want 200 {"status": "ok"}`, resp.StatusCode, b)
	}
	if rows := c.ps(); len(rows) != 0 {
		t.Errorf("ps after the reset: %+v", rows)
	}
	if out, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}}); err != nil || len(out.Images) != 0 {
		t.Errorf("DescribeImages after the reset = %d images, %v", len(out.Images), err)
	}
	if ents, _ := os.ReadDir(filepath.Join(c.home, "images")); len(ents) != 0 {
		t.Errorf("%d image directories left", len(ents))
	}
	// madang's own path says what went.
	resp, err = http.Post(s.EndpointURL+"/madang-api/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var mine struct {
		Status  string   `json:"status"`
		Removed resetRow `json:"removed"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &mine) != nil || mine.Status != "ok" || mine.Removed.Resources != 0 || mine.Removed.Instances != 0 {
		t.Errorf("POST /madang-api/reset on a clean slate = %d %s, want 200, ok, nothing removed", resp.StatusCode, b)
	}
}
