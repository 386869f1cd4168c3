package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// awsSettings is `madang aws-env -o json`.
type awsSettings struct {
	EndpointURL     string `json:"endpointUrl"`
	Region          string `json:"region"`
	AccountID       string `json:"accountId"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	UserARN         string `json:"userArn"`
}

func (c runner) awsSettings() awsSettings {
	c.t.Helper()
	var s awsSettings
	if err := json.Unmarshal([]byte(c.must("aws-env", "-o", "json")), &s); err != nil {
		c.t.Fatal(err)
	}
	if s.EndpointURL == "" || s.AccessKeyID == "" {
		c.t.Fatalf("aws-env: no endpoint or key: %+v", s)
	}
	return s
}

// sdkConfig is an aws-sdk-go-v2 configuration for madang's endpoint.
func (s awsSettings) sdkConfig(secret string) aws.Config {
	return aws.Config{
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKeyID, secret, ""),
		BaseEndpoint: aws.String(s.EndpointURL),
	}
}

// apiCode is the AWS error code of err ("" when it is none).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// imageStack is a stack with the sample app's image and a launch template,
// what instances run by API are launched from.
func imageStack(t *testing.T, dir string) string {
	t.Helper()
	buildSampleApp(t, dir)
	return writeStack(t, dir, `name: images
images:
  - name: hello
    source: ./app
    command: ./hello
    port: 3000
launchTemplates:
  - name: hello
    image: hello
    supervision: {killTimeout: 2s}
`)
}

// The seed's console steps through the Go SDK: launch two instances,
// create a target group and register them, create a load balancer with a
// listener, watch both targets turn healthy and serve, stop one and see it
// leave with its reason while the load balancer still answers — all real
// processes, health checks and traffic.
func TestAWSSDKDrivesInstancesAndLoadBalancer(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	startServer(t, c)
	c.must("apply", "-f", imageStack(t, dir))
	s := c.awsSettings()
	cfg := s.sdkConfig(s.SecretAccessKey)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != s.AccountID || aws.ToString(id.Arn) != s.UserARN {
		t.Fatalf("GetCallerIdentity = %+v, %v; want account %s, %s", id, err, s.AccountID, s.UserARN)
	}

	ec := ec2.NewFromConfig(cfg)
	imgs, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"hel*"}}}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("DescribeImages = %+v, %v", imgs, err)
	}
	run, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{
		MinCount: aws.Int32(2), MaxCount: aws.Int32(2), ImageId: imgs.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro,
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("seed")}}}},
	})
	if err != nil || len(run.Instances) != 2 {
		t.Fatalf("RunInstances = %+v, %v", run, err)
	}
	var ids []string
	for _, in := range run.Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := ec.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids}); err != nil {
			t.Errorf("TerminateInstances: %v", err)
		}
	})
	eventually(t, "both instances running", 30*time.Second, func() bool {
		out, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			{Name: aws.String("tag:Name"), Values: []string{"seed"}},
			{Name: aws.String("instance-state-name"), Values: []string{"running"}},
		}})
		return err == nil && len(out.Reservations) == 2
	})

	lbc := elb.NewFromConfig(cfg)
	vpcs, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) != 1 {
		t.Fatalf("DescribeVpcs = %+v, %v", vpcs, err)
	}
	tg, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("seed-tg"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(3000), VpcId: vpcs.Vpcs[0].VpcId,
		HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
	})
	if err != nil {
		t.Fatalf("CreateTargetGroup: %v", err)
	}
	tgARN := tg.TargetGroups[0].TargetGroupArn
	if _, err := lbc.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: tgARN,
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}}); err != nil {
		t.Fatalf("ModifyTargetGroupAttributes: %v", err)
	}
	var targets []elbtypes.TargetDescription
	for _, id := range ids {
		targets = append(targets, elbtypes.TargetDescription{Id: aws.String(id)})
	}
	if _, err := lbc.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tgARN, Targets: targets}); err != nil {
		t.Fatalf("RegisterTargets: %v", err)
	}
	lb, err := lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("seed-lb")})
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
	port := freePort(t)
	if _, err := lbc.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(int32(port)),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgARN}},
	}); err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	health := func() map[string]elbtypes.TargetHealth {
		out, err := lbc.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tgARN})
		if err != nil {
			t.Fatalf("DescribeTargetHealth: %v", err)
		}
		m := map[string]elbtypes.TargetHealth{}
		for _, d := range out.TargetHealthDescriptions {
			m[aws.ToString(d.Target.Id)] = *d.TargetHealth
		}
		return m
	}
	eventually(t, "both targets healthy", 30*time.Second, func() bool {
		h := health()
		return h[ids[0]].State == elbtypes.TargetHealthStateEnumHealthy && h[ids[1]].State == elbtypes.TargetHealthStateEnumHealthy
	})
	dns := aws.ToString(lb.LoadBalancers[0].DNSName)
	url := fmt.Sprintf("http://%s:%d/", dns, port)
	if body, err := get(url); err != nil || !strings.Contains(body, "Hello") {
		t.Fatalf("GET %s = %q, %v", url, body, err)
	}

	if _, err := ec.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids[:1]}); err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	var stopped elbtypes.TargetHealth
	eventually(t, "the stopped instance's target to leave rotation", 30*time.Second, func() bool {
		stopped = health()[ids[0]]
		return stopped.State != elbtypes.TargetHealthStateEnumHealthy && stopped.Reason != ""
	})
	t.Logf("stopped target: %s %s %q", stopped.State, stopped.Reason, aws.ToString(stopped.Description))
	for range 20 {
		if body, err := get(url); err != nil || !strings.Contains(body, "Hello") {
			t.Fatalf("GET %s with one instance stopped = %q, %v", url, body, err)
		}
	}

	// AWS's errors, decoded by the SDK into its own types.
	_, err = ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	if apiCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("DescribeInstances of a missing id: %v", err)
	}
	_, err = lbc.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{strings.Replace(aws.ToString(tgARN), "seed-tg", "nope", 1)}})
	var tgnf *elbtypes.TargetGroupNotFoundException
	if !errors.As(err, &tgnf) {
		t.Errorf("DescribeTargetGroups of a missing ARN: %v, want TargetGroupNotFoundException", err)
	}
	_, err = lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("seed-lb")})
	var dup *elbtypes.DuplicateLoadBalancerNameException
	if !errors.As(err, &dup) {
		t.Errorf("CreateLoadBalancer of a taken name: %v, want DuplicateLoadBalancerNameException", err)
	}
	_, err = sts.NewFromConfig(s.sdkConfig("wrong-secret")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if apiCode(err) != "SignatureDoesNotMatch" {
		t.Errorf("a wrong secret: %v, want SignatureDoesNotMatch", err)
	}

	// Resources made by API belong to no stack; a stack does not take them over.
	if err := os.MkdirAll(filepath.Join(dir, "taker"), 0o755); err != nil {
		t.Fatal(err)
	}
	taker := writeStack(t, filepath.Join(dir, "taker"), "name: taker\ntargetGroups:\n  - name: seed-tg\n")
	if out, err := c.run("apply", "-f", taker); err == nil || !strings.Contains(out, "made by hand") {
		t.Errorf("apply of a stack naming the API's target group: %v\n%s", err, out)
	}
	_, err = lbc.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: tgARN})
	var inUse *elbtypes.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Errorf("DeleteTargetGroup of a target group in use: %v, want ResourceInUseException", err)
	}
}

// awsCLI finds the aws CLI: Debian's (v2) first, then the one on PATH.
func awsCLI(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/aws", "aws"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("the aws CLI is not installed (.ci/run installs Debian's awscli)")
	return ""
}

// boto3Python finds a python3 that imports boto3.
func boto3Python(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import boto3").Run() == nil {
			return path
		}
	}
	t.Skip("no python3 with boto3 (.ci/run installs Debian's python3-boto3)")
	return ""
}

// clientEnv is the environment AWS clients get: madang's settings from
// aws-env, a home of their own (no user config), no pager.
func (s awsSettings) clientEnv(t *testing.T, port int) []string {
	home := t.TempDir()
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_PAGER=", "AWS_ENDPOINT_URL=" + s.EndpointURL,
		"AWS_ACCESS_KEY_ID=" + s.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + s.SecretAccessKey,
		"AWS_DEFAULT_REGION=" + s.Region, "AWS_REGION=" + s.Region, "PORT=" + strconv.Itoa(port),
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials")}
	return env
}

// The seed's target group steps as a shell script with the real aws CLI,
// and the same flow with boto3.
func TestAWSCLIAndBoto3SeedSteps(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	startServer(t, c)
	c.must("apply", "-f", imageStack(t, dir))
	s := c.awsSettings()
	script, _ := filepath.Abs("testdata/aws/seed-target-group.sh")
	boto, _ := filepath.Abs("testdata/aws/seed_boto3.py")
	t.Run("aws CLI", func(t *testing.T) {
		t.Parallel() // one daemon, resources of their own names
		cli := awsCLI(t)
		cmd := exec.Command("bash", script)
		cmd.Env = append(s.clientEnv(t, freePort(t)), "PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		t.Logf("%s version: %s", cli, strings.TrimSpace(must(exec.Command(cli, "--version").CombinedOutput())))
		if err != nil || !strings.Contains(string(out), "seed steps passed") {
			t.Fatalf("seed script: %v\n%s", err, out)
		}
		t.Logf("%s", out)
	})
	t.Run("aws CLI autoscaling and alarm", func(t *testing.T) {
		t.Parallel() // one daemon, resources of their own names
		cli := awsCLI(t)
		script, _ := filepath.Abs("testdata/aws/seed-autoscaling.sh")
		cmd := exec.Command("bash", script)
		cmd.Env = append(s.clientEnv(t, freePort(t)), "PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "seed steps passed") {
			t.Fatalf("seed script: %v\n%s", err, out)
		}
		t.Logf("%s", out)
	})
	t.Run("boto3", func(t *testing.T) {
		t.Parallel() // one daemon, resources of their own names
		py := boto3Python(t)
		cmd := exec.Command(py, boto)
		cmd.Env = s.clientEnv(t, freePort(t))
		out, err := cmd.CombinedOutput()
		t.Logf("%s boto3 %s", py, strings.TrimSpace(must(exec.Command(py, "-c", "import boto3; print(boto3.__version__)").CombinedOutput())))
		if err != nil || !strings.Contains(string(out), "seed steps passed") {
			t.Fatalf("boto3 seed: %v\n%s", err, out)
		}
		t.Logf("%s", out)
	})
}

func must(b []byte, err error) string {
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Launch templates and their versions, instances from them with user data
// the console output shows, instance tags and status, an image made from
// an instance, listener rules that route real requests, and load balancer
// tags — each through the Go SDK against real instances and traffic.
func TestAWSSDKTemplatesRulesAndTags(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	startServer(t, c)
	c.must("apply", "-f", imageStack(t, dir))
	s := c.awsSettings()
	cfg := s.sdkConfig(s.SecretAccessKey)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ec := ec2.NewFromConfig(cfg)
	lbc := elb.NewFromConfig(cfg)

	imgs, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: nil, Owners: []string{"self"}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("DescribeImages = %+v, %v", imgs, err)
	}
	image := imgs.Images[0].ImageId
	lt, err := ec.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("api-lt"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: image, InstanceType: ec2types.InstanceTypeT3Small,
			UserData: aws.String("ZWNobyB1c2VyLWRhdGEtcmFu")}, // echo user-data-ran
	})
	if err != nil || aws.ToInt64(lt.LaunchTemplate.LatestVersionNumber) != 1 {
		t.Fatalf("CreateLaunchTemplate = %+v, %v", lt, err)
	}
	v2, err := ec.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, SourceVersion: aws.String("1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Medium},
	})
	if err != nil || aws.ToInt64(v2.LaunchTemplateVersion.VersionNumber) != 2 || aws.ToBool(v2.LaunchTemplateVersion.DefaultVersion) {
		t.Fatalf("CreateLaunchTemplateVersion = %+v, %v; want version 2, not the default", v2, err)
	}
	run, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate: &ec2types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("api-lt")}})
	if err != nil {
		t.Fatalf("RunInstances from the template: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	if run.Instances[0].InstanceType != ec2types.InstanceTypeT3Small {
		t.Errorf("instance from $Default (version 1) has type %s, want t3.small", run.Instances[0].InstanceType)
	}
	ids := []string{id}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = ec.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
	})
	if _, err := ec.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateName: aws.String("api-lt"), DefaultVersion: aws.String("2")}); err != nil {
		t.Fatalf("ModifyLaunchTemplate: %v", err)
	}
	vs, err := ec.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("api-lt"), Versions: []string{"$Default"}})
	if err != nil || len(vs.LaunchTemplateVersions) != 1 || aws.ToInt64(vs.LaunchTemplateVersions[0].VersionNumber) != 2 ||
		vs.LaunchTemplateVersions[0].LaunchTemplateData.InstanceType != ec2types.InstanceTypeT3Medium {
		t.Fatalf("DescribeLaunchTemplateVersions $Default = %+v, %v; want version 2 (t3.medium)", vs, err)
	}

	eventually(t, "the instance running and its status ok", 30*time.Second, func() bool {
		st, err := ec.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: ids})
		return err == nil && len(st.InstanceStatuses) == 1 && st.InstanceStatuses[0].InstanceStatus.Status == ec2types.SummaryStatusOk
	})
	eventually(t, "the user data's output in the console output", 10*time.Second, func() bool {
		out, err := ec.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)})
		if err != nil {
			return false
		}
		b, _ := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
		return strings.Contains(string(b), "user-data-ran")
	})
	if _, err := ec.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}); err != nil {
		t.Fatalf("CreateTags: %v", err)
	}
	tags, err := ec.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("key"), Values: []string{"team"}}}})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].ResourceId) != id {
		t.Fatalf("DescribeTags key=team = %+v, %v", tags, err)
	}
	page, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), Filters: []ec2types.Filter{{Name: aws.String("tag:team"), Values: []string{"w?b"}}}})
	if err != nil || len(page.Reservations) != 1 {
		t.Fatalf("DescribeInstances tag:team=w?b = %+v, %v", page, err)
	}
	_, err = ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(2)})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("DescribeInstances MaxResults 2: %v, want InvalidParameterValue (5 to 1000)", err)
	}
	made, err := ec.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String("from-api"), NoReboot: aws.Bool(true)})
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	if _, err := ec.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: made.ImageId}); err != nil {
		t.Fatalf("DeregisterImage: %v", err)
	}

	// Rules route real requests.
	tg, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("rules-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(3000), HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2), HealthyThresholdCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	tgARN := tg.TargetGroups[0].TargetGroupArn
	if _, err := lbc.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tgARN, Targets: []elbtypes.TargetDescription{{Id: aws.String(id)}}}); err != nil {
		t.Fatal(err)
	}
	lb, err := lbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("rules-lb"), Tags: []elbtypes.Tag{{Key: aws.String("env"), Value: aws.String("test")}}})
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	ln, err := lbc.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(int32(port)), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgARN}}})
	if err != nil {
		t.Fatal(err)
	}
	rule, err := lbc.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: ln.Listeners[0].ListenerArn, Priority: aws.Int32(10),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/teapot*"}}}},
		Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("418"), ContentType: aws.String("text/plain"), MessageBody: aws.String("short and stout")}}}})
	if err != nil {
		t.Fatalf("CreateRule: %v", err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	eventually(t, "the rule to answer", 20*time.Second, func() bool {
		body, _ := get(base + "/teapot/1")
		return strings.Contains(body, "short and stout")
	})
	eventually(t, "the default action to reach the instance", 20*time.Second, func() bool {
		body, err := get(base + "/")
		return err == nil && strings.Contains(body, id)
	})
	_, err = lbc.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: ln.Listeners[0].ListenerArn, Priority: aws.Int32(10),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/x"}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tgARN}}})
	var inUse *elbtypes.PriorityInUseException
	if !errors.As(err, &inUse) {
		t.Errorf("CreateRule on a taken priority: %v, want PriorityInUseException", err)
	}
	moved, err := lbc.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{{RuleArn: rule.Rules[0].RuleArn, Priority: aws.Int32(20)}}})
	if err != nil || aws.ToString(moved.Rules[0].Priority) != "20" {
		t.Fatalf("SetRulePriorities = %+v, %v", moved, err)
	}
	if got, want := aws.ToString(moved.Rules[0].RuleArn), aws.ToString(rule.Rules[0].RuleArn); got != want {
		t.Errorf("the rule's ARN changed with its priority: %s, was %s", got, want)
	}
	rules, err := lbc.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: ln.Listeners[0].ListenerArn})
	if err != nil || len(rules.Rules) != 2 || !aws.ToBool(rules.Rules[1].IsDefault) {
		t.Fatalf("DescribeRules = %+v, %v; want the rule and the default", rules, err)
	}
	if _, err := lbc.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: moved.Rules[0].RuleArn}); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	td, err := lbc.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)}})
	if err != nil || len(td.TagDescriptions) != 1 || len(td.TagDescriptions[0].Tags) != 1 || aws.ToString(td.TagDescriptions[0].Tags[0].Value) != "test" {
		t.Fatalf("DescribeTags = %+v, %v", td, err)
	}
}

// VPCs, subnets and security groups with the real aws CLI: an instance run
// in a created subnet runs in its zone and shows its subnet, VPC and group;
// a load balancer moved to other subnets and groups keeps serving; the
// resources are madang's own kinds (madang ls), the event log says the
// rules are not enforced, deleting what an instance, a target group or a
// load balancer uses is a DependencyViolation, and everything is deleted
// again.
func TestAWSCLIVpcSubnetSecurityGroup(t *testing.T) {
	cli := awsCLI(t)
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	startServer(t, c)
	c.must("apply", "-f", imageStack(t, dir))
	s := c.awsSettings()
	script, _ := filepath.Abs("testdata/aws/vpc.sh")
	env := append(s.clientEnv(t, freePort(t)), "PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"))
	run := func(step string, extra ...string) string {
		t.Helper()
		cmd := exec.Command("bash", script, step)
		cmd.Env = append(env, extra...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("vpc.sh %s: %v\n%s", step, err, out)
		}
		t.Logf("vpc.sh %s:\n%s", step, out)
		return string(out)
	}
	var ids []string
	for _, line := range strings.Split(run("create"), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.ToUpper(k) == k && v != "" {
			ids = append(ids, line)
		}
	}
	if len(ids) != 4 {
		t.Fatalf("ids = %v, want VPC, SUBNET, SG and INSTANCE", ids)
	}
	for _, k := range []struct{ kind, id string }{{"vpc", ids[0]}, {"subnet", ids[1]}, {"security-group", ids[2]}} {
		_, id, _ := strings.Cut(k.id, "=")
		if out := c.must("ls", k.kind); !strings.Contains(out, id) {
			t.Fatalf("madang ls %s does not list %s:\n%s", k.kind, id, out)
		}
	}
	_, sg, _ := strings.Cut(ids[2], "=")
	if out := c.must("events"); !strings.Contains(out, "security group "+sg+" rules are recorded; madang does not enforce them yet") {
		t.Fatalf("madang events does not say the rules are not enforced:\n%s", out)
	}
	if out := run("cleanup", ids...); !strings.Contains(out, "vpc steps passed") {
		t.Fatalf("cleanup: %s", out)
	}
	if out := c.must("ls", "vpc"); strings.Contains(out, "vpc-") {
		t.Fatalf("madang ls vpc after cleanup:\n%s", out)
	}
}
