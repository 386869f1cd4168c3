package autoscaling

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi"
)

// TestAWSCLI drives the service with the real aws CLI (botocore's query
// protocol client) over the fake controller.
func TestAWSCLI(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on PATH; install it (pip install awscli) to run this test")
	}
	f := newFake()
	svc, err := New(Options{Scaling: f, Templates: f, TargetGroups: f, Resources: f,
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
	home := t.TempDir()
	env := []string{"HOME=" + home, "AWS_ACCESS_KEY_ID=AKIAMADANGTEST000001", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=local",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || strings.HasPrefix(k, "PYENV") || k == "LANG" {
			env = append(env, kv)
		}
	}
	run := func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsPath, append([]string{"--endpoint-url", srv.URL, "--output", "json", "autoscaling"}, args...)...)
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}

	if _, stderr, err := run("create-auto-scaling-group", "--auto-scaling-group-name", "web", "--min-size", "1", "--max-size", "3",
		"--launch-template", "LaunchTemplateName=hello,Version=$Latest", "--vpc-zone-identifier", "subnet-local-1a,subnet-local-1b",
		"--target-group-arns", tgARN, "--tags", "Key=team,Value=web,PropagateAtLaunch=true"); err != nil {
		t.Fatalf("create-auto-scaling-group: %v\n%s", err, stderr)
	}
	out, stderr, err := run("describe-auto-scaling-groups", "--auto-scaling-group-names", "web")
	if err != nil {
		t.Fatalf("describe-auto-scaling-groups: %v\n%s", err, stderr)
	}
	var got struct {
		AutoScalingGroups []struct {
			AutoScalingGroupName string
			MinSize, MaxSize     int
			AvailabilityZones    []string
			TargetGroupARNs      []string
			LaunchTemplate       struct{ LaunchTemplateName, Version string }
			Tags                 []struct{ Key, Value string }
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.AutoScalingGroups) != 1 {
		t.Fatalf("describe-auto-scaling-groups output %q: %v", out, err)
	}
	g := got.AutoScalingGroups[0]
	if g.AutoScalingGroupName != "web" || g.MinSize != 1 || g.MaxSize != 3 || len(g.AvailabilityZones) != 2 || len(g.TargetGroupARNs) != 1 ||
		g.LaunchTemplate.Version != "$Latest" || len(g.Tags) != 1 || g.Tags[0].Value != "web" {
		t.Errorf("describe-auto-scaling-groups: %+v", g)
	}
	_, stderr, err = run("update-auto-scaling-group", "--auto-scaling-group-name", "web", "--min-size", "4")
	if err == nil || !strings.Contains(stderr, "(ValidationError)") || !strings.Contains(stderr, "Max bound, 3, must be greater than or equal to min bound, 4") {
		t.Errorf("update-auto-scaling-group with min > max: %v\n%s", err, stderr)
	}

	// Instance moves and group metrics as the CLI sends them.
	out, stderr, err = run("enter-standby", "--auto-scaling-group-name", "web", "--instance-ids", "i-1", "i-2", "--should-decrement-desired-capacity")
	if err != nil || !strings.Contains(out, `"Description": "Moving EC2 instance to Standby: i-2"`) {
		t.Errorf("enter-standby: %v\n%s%s", err, out, stderr)
	}
	if _, stderr, err := run("set-instance-protection", "--auto-scaling-group-name", "web", "--instance-ids", "i-1", "--no-protected-from-scale-in"); err != nil {
		t.Errorf("set-instance-protection: %v\n%s", err, stderr)
	}
	if _, stderr, err := run("detach-instances", "--auto-scaling-group-name", "web", "--instance-ids", "i-1", "--no-should-decrement-desired-capacity"); err != nil {
		t.Errorf("detach-instances: %v\n%s", err, stderr)
	}
	if _, stderr, err := run("enable-metrics-collection", "--auto-scaling-group-name", "web", "--granularity", "1Minute", "--metrics", "GroupDesiredCapacity"); err != nil {
		t.Errorf("enable-metrics-collection: %v\n%s", err, stderr)
	}
	want := []string{"standby web [i-1 i-2] true", "protect web [i-1] false", "detach web [i-1] false", "metrics web true 1Minute [GroupDesiredCapacity]"}
	if strings.Join(f.moves, "|") != strings.Join(want, "|") {
		t.Errorf("controller calls %q, want %q", f.moves, want)
	}
	out, stderr, err = run("describe-metric-collection-types")
	if err != nil || !strings.Contains(out, `"Metric": "GroupInServiceInstances"`) || !strings.Contains(out, `"Granularity": "1Minute"`) {
		t.Errorf("describe-metric-collection-types: %v\n%s%s", err, out, stderr)
	}
	_, stderr, err = run("enable-metrics-collection", "--auto-scaling-group-name", "web", "--granularity", "5Minute")
	if err == nil || !strings.Contains(stderr, "(ValidationError)") {
		t.Errorf("enable-metrics-collection at 5Minute: %v\n%s", err, stderr)
	}

	// ExecutePolicy as the CLI sends it (AWS's documented example).
	if _, stderr, err := run("execute-policy", "--auto-scaling-group-name", "web", "--policy-name", "my-step-scale-out-policy",
		"--metric-value", "95", "--breach-threshold", "80"); err != nil {
		t.Errorf("execute-policy: %v\n%s", err, stderr)
	}
	if want := []string{"web my-step-scale-out-policy honor=false metric=95 threshold=80"}; strings.Join(f.executed, "|") != strings.Join(want, "|") {
		t.Errorf("controller calls %q, want %q", f.executed, want)
	}
	_, stderr, err = run("execute-policy", "--auto-scaling-group-name", "web", "--policy-name", "cpu")
	if err == nil || !strings.Contains(stderr, "(ValidationError)") || !strings.Contains(stderr, "not supported for target tracking scaling policies") {
		t.Errorf("execute-policy of a target tracking policy: %v\n%s", err, stderr)
	}
}
