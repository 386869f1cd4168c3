package awsapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/ec2"
	"github.com/madang-dev/madang/internal/awsapi/elbv2"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/awsapi/sigv4"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/health"
)

// benchCompute serves a fixed fleet of running instances, with a
// revision as compute.Service keeps one (a benchmark moves it to make
// every answer new).
type benchCompute struct {
	ec2.Compute
	views    []compute.View
	revision atomic.Uint64
}

func (c *benchCompute) Listing() []compute.View { return c.views }
func (c *benchCompute) Revision() uint64        { return c.revision.Load() }
func (c *benchCompute) Images() []compute.Image {
	return []compute.Image{{ID: "ami-0aaa", Spec: compute.ImageSpec{Name: "hello", Port: 3000}}}
}
func (c *benchCompute) LaunchTemplates() []compute.LaunchTemplate { return nil }

// benchLB serves one target group with fixed targets' health.
type benchLB struct {
	elbv2.LoadBalancing
	health []health.TargetHealth
}

const benchTargetGroup = "arn:aws:elasticloadbalancing:local-1:" + testAccount + ":targetgroup/bench/0123456789abcdef"

func (l *benchLB) TargetGroups() []elbctl.TargetGroup {
	return []elbctl.TargetGroup{{ARN: benchTargetGroup, Spec: elb.TargetGroupSpec{Name: "bench", Protocol: "HTTP", Port: 3000}}}
}
func (l *benchLB) LoadBalancers() []elbctl.LoadBalancer { return nil }
func (l *benchLB) Health(string) ([]health.TargetHealth, error) {
	return l.health, nil
}

// benchKeys is the one access key of the signed benchmarks.
type benchKeys struct{}

func (benchKeys) Secret(id string) (string, string, bool) { return "secret", "dev", id == testKey }

// signedAuth verifies SigV4 as the daemon does.
type signedAuth struct{}

func (signedAuth) Authenticate(r *http.Request, body []byte) (awsapi.Caller, error) {
	sig, err := sigv4.Verify(r, body, benchKeys{}, time.Now(), "local-1")
	if err != nil {
		return awsapi.Caller{}, &protocol.Error{Code: "SignatureDoesNotMatch", Message: err.Error(), Status: http.StatusForbidden, Sender: true}
	}
	return awsapi.Caller{AccountID: testAccount, AccessKeyID: sig.AccessKeyID, UserName: sig.User}, nil
}

// benchEndpoint serves EC2 over n instances and ELBv2 over a target group
// of targets of them, SigV4 verified, on 127.0.0.1.
func benchEndpoint(b *testing.B, n, targets int) *httptest.Server {
	srv, _ := benchEndpointOf(b, n, targets)
	return srv
}

// benchEndpointOf is benchEndpoint that also returns its compute.
func benchEndpointOf(b *testing.B, n, targets int) (*httptest.Server, *benchCompute) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c := &benchCompute{}
	lb := &benchLB{}
	for i := range n {
		id := fmt.Sprintf("i-0%016x", i+1)
		ip := fmt.Sprintf("127.16.%d.%d", i/250, i%250+2)
		c.views = append(c.views, compute.View{Phase: "running", Instance: compute.Instance{
			ID: id, Image: "hello", InstanceType: "t3.nano", State: compute.StateRunning, PrivateIP: ip, Port: 3000,
			LaunchTime: t0.Add(time.Duration(i) * time.Millisecond), Zone: []string{"local-1a", "local-1b", "local-1c"}[i%3],
		}})
		if i < targets {
			lb.health = append(lb.health, health.TargetHealth{ID: id, Addr: ip + ":3000", State: health.StateHealthy, LastCheck: t0})
		}
	}
	zones := []string{"local-1a", "local-1b", "local-1c"}
	ec2Svc, err := ec2.New(ec2.Options{Compute: c, Region: "local-1", AccountID: testAccount, Zones: zones})
	if err != nil {
		b.Fatal(err)
	}
	elbSvc, err := elbv2.New(elbv2.Options{LoadBalancing: lb, VpcID: ec2.DefaultVPC("local-1"), Zones: zones, SubnetOf: ec2.SubnetOf})
	if err != nil {
		b.Fatal(err)
	}
	ep, err := awsapi.New(awsapi.Options{Services: []awsapi.Service{ec2Svc, elbSvc}, Region: "local-1", AccountID: testAccount, Authenticator: signedAuth{}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(ep)
	b.Cleanup(srv.Close)
	return srv, c
}

// benchSigned times signed calls over HTTP as bench/awsapi's client makes
// them (signed, the answer read whole but not decoded), reporting p50 and
// p99 beside the mean.
func benchSigned(b *testing.B, srv *httptest.Server, service string, form url.Values) {
	benchSignedEach(b, srv, service, form, func() {})
}

// benchSignedEach is benchSigned calling before ahead of every call.
func benchSignedEach(b *testing.B, srv *httptest.Server, service string, form url.Values, before func()) {
	signer := v4.NewSigner()
	client := srv.Client()
	body := form.Encode()
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: "secret"}
	ctx := context.Background()
	do := func() int {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if err := signer.SignHTTP(ctx, creds, req, hash, service, "local-1", time.Now()); err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("HTTP %d, %v", resp.StatusCode, err)
		}
		return int(n)
	}
	do() // the first call fills the caches
	var lat []time.Duration
	size := 0
	b.ReportAllocs()
	for b.Loop() {
		before()
		start := time.Now()
		size = do()
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(size), "bytes/response")
}

// DescribeInstances of 1,000 unchanged instances over HTTP, signed: the
// whole path a client sees (SigV4 verification, decode, handler, EC2 XML,
// the network), client and endpoint in one process. Nothing changes
// between calls, so every answer after the first is the kept one.
func BenchmarkHTTPDescribeInstances1000(b *testing.B) {
	srv := benchEndpoint(b, 1000, 100)
	benchSigned(b, srv, "ec2", url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}})
}

// DescribeInstances of 1,000 instances over HTTP, signed, with a change
// counted before every call: each answer is made anew (the listing, the
// instances' kept shapes, the encoding of the whole answer).
func BenchmarkHTTPDescribeInstances1000Changing(b *testing.B) {
	srv, c := benchEndpointOf(b, 1000, 100)
	benchSignedEach(b, srv, "ec2", url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}}, func() { c.revision.Add(1) })
}

// DescribeTargetHealth of 100 targets over HTTP, signed.
func BenchmarkHTTPDescribeTargetHealth100(b *testing.B) {
	srv := benchEndpoint(b, 1000, 100)
	benchSigned(b, srv, "elasticloadbalancing", url.Values{"Action": {"DescribeTargetHealth"}, "Version": {"2015-12-01"}, "TargetGroupArn": {benchTargetGroup}})
}
