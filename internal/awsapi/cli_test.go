package awsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	madangsts "github.com/madang-dev/madang/internal/awsapi/sts"
)

// TestAWSCLI drives the endpoint with the real aws CLI: STS over query,
// CloudWatch over AWS JSON 1.0 (botocore's choice since 1.42.7), and a
// CloudWatch error whose legacy code the CLI reads from x-amzn-query-error.
func TestAWSCLI(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on PATH; install it (pip install awscli) to run this test")
	}
	var rec recorder
	stsSvc, err := madangsts.Service()
	if err != nil {
		t.Fatal(err)
	}
	metrics := map[string]any{"Metrics": []map[string]any{
		{"Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Dimensions": []map[string]any{{"Name": "InstanceId", "Value": "i-0abc"}}},
		{"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount"},
	}}
	srv := newServer(t, stsSvc, awsapi.Service{Name: "monitoring", Handlers: map[string]awsapi.Handler{
		"ListMetrics":  rec.canned(metrics, nil),
		"GetDashboard": rec.canned(nil, protocol.Errorf("DashboardNotFoundError", "Dashboard ops does not exist")),
	}})

	home := t.TempDir()
	env := []string{
		"HOME=" + home,
		"AWS_ACCESS_KEY_ID=" + testKey,
		"AWS_SECRET_ACCESS_KEY=secret",
		"AWS_REGION=local-1",
		"AWS_DEFAULT_REGION=local-1",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || strings.HasPrefix(k, "PYENV") || k == "LANG" {
			env = append(env, kv)
		}
	}
	run := func(t *testing.T, args ...string) (stdout, stderr string, err error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsPath, append([]string{"--endpoint-url", srv.URL, "--output", "json"}, args...)...)
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err = cmd.Run()
		return out.String(), errOut.String(), err
	}

	t.Run("sts get-caller-identity", func(t *testing.T) {
		out, stderr, err := run(t, "sts", "get-caller-identity")
		if err != nil {
			t.Fatalf("aws sts get-caller-identity: %v\n%s", err, stderr)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		want := map[string]string{"Account": testCaller.AccountID, "Arn": testCaller.ARN, "UserId": testCaller.UserID}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("identity (-want +got):\n%s", d)
		}
	})
	t.Run("cloudwatch list-metrics", func(t *testing.T) {
		out, stderr, err := run(t, "cloudwatch", "list-metrics", "--namespace", "AWS/EC2")
		if err != nil {
			t.Fatalf("aws cloudwatch list-metrics: %v\n%s", err, stderr)
		}
		if p := rec.call("ListMetrics").Protocol; p != protocol.JSON {
			t.Errorf("the CLI spoke %s, want JSON", p)
		}
		if d := cmp.Diff(protocol.Struct{"Namespace": "AWS/EC2"}, rec.input("ListMetrics")); d != "" {
			t.Errorf("input (-want +got):\n%s", d)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		want := map[string]any{"Metrics": []any{
			map[string]any{"Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Dimensions": []any{map[string]any{"Name": "InstanceId", "Value": "i-0abc"}}},
			map[string]any{"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount"},
		}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("output (-want +got):\n%s", d)
		}
	})
	t.Run("cloudwatch error code", func(t *testing.T) {
		_, stderr, err := run(t, "cloudwatch", "get-dashboard", "--dashboard-name", "ops")
		if err == nil {
			t.Fatal("get-dashboard succeeded")
		}
		if want := "An error occurred (ResourceNotFound) when calling the GetDashboard operation: Dashboard ops does not exist"; !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q, want it to contain %q", stderr, want)
		}
	})
}
