package elbv2

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/health"
)

const benchARN = "arn:aws:elasticloadbalancing:local:000000000000:targetgroup/web/0123456789abcdef"

// fakeLB serves one target group, "web", with fixed targets' health.
type fakeLB struct {
	LoadBalancing
	health []health.TargetHealth
}

func (f *fakeLB) TargetGroups() []elbctl.TargetGroup {
	return []elbctl.TargetGroup{{ARN: benchARN, Spec: elb.TargetGroupSpec{Name: "web", Protocol: "HTTP", Port: 3000}}}
}
func (f *fakeLB) LoadBalancers() []elbctl.LoadBalancer { return nil }
func (f *fakeLB) Health(group string) ([]health.TargetHealth, error) {
	if group != "web" {
		return nil, fmt.Errorf("no target group %q", group)
	}
	return f.health, nil
}

// targets makes n targets: every tenth unhealthy with AWS's reason.
func targets(n int) *fakeLB {
	f := &fakeLB{}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		th := health.TargetHealth{ID: fmt.Sprintf("i-0%016x", i+1), Addr: fmt.Sprintf("127.16.%d.%d:3000", i/250, i%250+2),
			State: health.StateHealthy, LastCheck: t0}
		if i%10 == 9 {
			th.State, th.Reason, th.Description = health.StateUnhealthy, "Target.ResponseCodeMismatch", "Health checks failed with these codes: [500]"
		}
		f.health = append(f.health, th)
	}
	return f
}

func newTestService(t testing.TB, lb LoadBalancing) awsapi.Service {
	svc, err := New(Options{LoadBalancing: lb, VpcID: "vpc-0123", Zones: []string{"local-1a"}, SubnetOf: func(z string) string { return "subnet-" + z }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func callOp(svc awsapi.Service, op string, in map[string]any) (map[string]any, error) {
	return svc.Handlers[op](context.Background(), &awsapi.Call{Operation: svc.Model.Operation(op), Input: protocol.Struct(in)})
}

// The handler's own share of DescribeTargetHealth of 100 targets.
func BenchmarkDescribeTargetHealth100(b *testing.B) {
	svc := newTestService(b, targets(100))
	in := map[string]any{"TargetGroupArn": benchARN}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := callOp(svc, "DescribeTargetHealth", in); err != nil {
			b.Fatal(err)
		}
	}
}

// DescribeTargetHealth of 100 targets through the endpoint (decode,
// handler, query XML), without the network.
func BenchmarkDescribeTargetHealthEndpoint100(b *testing.B) {
	svc := newTestService(b, targets(100))
	ep, err := awsapi.New(awsapi.Options{Services: []awsapi.Service{svc}, Authenticator: awsapi.AllowAll{}})
	if err != nil {
		b.Fatal(err)
	}
	body := "Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=" + benchARN
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		ep.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("HTTP %d: %s", w.Code, w.Body.String())
		}
	}
}
