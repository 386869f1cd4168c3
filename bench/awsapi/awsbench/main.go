// Command awsbench measures madang's AWS-compatible endpoint over HTTP
// with signed requests, as bench/awsapi/run.sh drives it:
//
//	awsbench setup N TARGETS   launch N instances (RunInstances, 100 per call)
//	                           from the image "hello", wait until they run,
//	                           register TARGETS of them in a target group
//	awsbench describe ROUNDS   time DescribeInstances (all instances, one
//	                           page) and DescribeTargetHealth ROUNDS times
//	                           each: p50, p99, max, bytes
//	awsbench put SECONDS W     W workers send PutMetricData (20 metrics ×
//	                           150 values a call) for SECONDS: datapoints/s
//	awsbench teardown          terminate every instance
//
// The endpoint, key, secret and region come from the environment
// (madang aws-env). describe signs each request itself (SigV4 from
// aws-sdk-go-v2) and reads the whole answer without decoding it, so the
// times are the endpoint's and the HTTP path's, not the SDK's decoding.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

type env struct {
	endpoint, key, secret, region string
	cfg                           aws.Config
}

func load() env {
	e := env{endpoint: os.Getenv("AWS_ENDPOINT_URL"), key: os.Getenv("AWS_ACCESS_KEY_ID"),
		secret: os.Getenv("AWS_SECRET_ACCESS_KEY"), region: os.Getenv("AWS_DEFAULT_REGION")}
	if e.endpoint == "" || e.key == "" {
		fail("set the environment with eval \"$(madang aws-env)\"")
	}
	e.cfg = aws.Config{Region: e.region, BaseEndpoint: aws.String(e.endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(e.key, e.secret, "")}
	return e
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "awsbench: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: awsbench setup N TARGETS | describe ROUNDS | put SECONDS WORKERS | teardown")
	}
	e := load()
	ctx := context.Background()
	arg := func(i, def int) int {
		if len(os.Args) <= i {
			return def
		}
		n, err := strconv.Atoi(os.Args[i])
		if err != nil {
			fail("%q is not a number", os.Args[i])
		}
		return n
	}
	switch os.Args[1] {
	case "setup":
		setup(ctx, e, arg(2, 1000), arg(3, 100))
	case "describe":
		describe(ctx, e, arg(2, 200))
	case "put":
		put(ctx, e, arg(2, 10), arg(3, 4))
	case "teardown":
		teardown(ctx, e)
	default:
		fail("unknown command %q", os.Args[1])
	}
}

func setup(ctx context.Context, e env, n, targets int) {
	ec := ec2.NewFromConfig(e.cfg)
	imgs, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"hello"}}}})
	if err != nil || len(imgs.Images) == 0 {
		fail("no image hello: %v", err)
	}
	start := time.Now()
	var ids []string
	for len(ids) < n {
		batch := int32(min(100, n-len(ids)))
		out, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(batch), MaxCount: aws.Int32(batch), InstanceType: ec2types.InstanceTypeT3Nano})
		if err != nil {
			fail("RunInstances: %v", err)
		}
		for _, in := range out.Instances {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	for {
		out, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"running"}}}})
		if err != nil {
			fail("DescribeInstances: %v", err)
		}
		if len(out.Reservations) >= n {
			break
		}
		if time.Since(start) > 10*time.Minute {
			fail("only %d of %d instances running after 10 minutes", len(out.Reservations), n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Printf("setup: %d instances running in %.1f s\n", n, time.Since(start).Seconds())
	lbc := elb.NewFromConfig(e.cfg)
	tg, err := lbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("bench"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(3000),
		HealthCheckPath: aws.String("/health")})
	if err != nil {
		fail("CreateTargetGroup: %v", err)
	}
	var descs []elbtypes.TargetDescription
	for _, id := range ids[:min(targets, len(ids))] {
		descs = append(descs, elbtypes.TargetDescription{Id: aws.String(id)})
	}
	if _, err := lbc.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tg.TargetGroups[0].TargetGroupArn, Targets: descs}); err != nil {
		fail("RegisterTargets: %v", err)
	}
	fmt.Printf("setup: %d targets registered in %s\n", len(descs), aws.ToString(tg.TargetGroups[0].TargetGroupArn))
}

// signedPost sends one signed query-protocol request and reads the whole
// answer, returning its size.
func signedPost(ctx context.Context, e env, signer *v4.Signer, client *http.Client, service string, form url.Values) (int, error) {
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, "POST", e.endpoint+"/", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: e.key, SecretAccessKey: e.secret}
	if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, e.region, time.Now()); err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("%s %s: HTTP %d", service, form.Get("Action"), resp.StatusCode)
	}
	return int(n), err
}

func timeCalls(ctx context.Context, e env, name, service string, form url.Values, rounds int) {
	signer := v4.NewSigner()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	var lat []time.Duration
	size := 0
	for i := range rounds + 5 {
		start := time.Now()
		n, err := signedPost(ctx, e, signer, client, service, form)
		if err != nil {
			fail("%s: %v", name, err)
		}
		if i >= 5 { // the first calls warm the connection and the encoder's buffers
			lat = append(lat, time.Since(start))
		}
		size = n
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("%s: %d calls, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d bytes each\n", name, len(lat),
		ms(pct(0.50)), ms(pct(0.99)), ms(lat[len(lat)-1]), size)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func describe(ctx context.Context, e env, rounds int) {
	lbc := elb.NewFromConfig(e.cfg)
	tgs, err := lbc.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{"bench"}})
	if err != nil || len(tgs.TargetGroups) == 0 {
		fail("no target group bench (run setup first): %v", err)
	}
	timeCalls(ctx, e, "DescribeInstances", "ec2", url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}}, rounds)
	timeCalls(ctx, e, "DescribeTargetHealth", "elasticloadbalancing", url.Values{"Action": {"DescribeTargetHealth"}, "Version": {"2015-12-01"},
		"TargetGroupArn": {aws.ToString(tgs.TargetGroups[0].TargetGroupArn)}}, rounds)
}

func put(ctx context.Context, e env, seconds, workers int) {
	cw := cloudwatch.NewFromConfig(e.cfg)
	const metrics, values = 20, 150
	var sent, calls atomic.Int64
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals := make([]float64, values)
			for i := range vals {
				vals[i] = float64(i)
			}
			for n := 0; time.Now().Before(deadline); n++ {
				data := make([]cwtypes.MetricDatum, metrics)
				for m := range data {
					data[m] = cwtypes.MetricDatum{MetricName: aws.String(fmt.Sprintf("m%d", m)), Values: vals, Timestamp: aws.Time(time.Now()),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("Worker"), Value: aws.String(strconv.Itoa(w))}}}
				}
				if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Bench"), MetricData: data}); err != nil {
					fail("PutMetricData: %v", err)
				}
				sent.Add(metrics * values)
				calls.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	fmt.Printf("PutMetricData: %d calls of %d datapoints in %.1f s by %d workers: %.0f datapoints/s\n",
		calls.Load(), metrics*values, el, workers, float64(sent.Load())/el)
}

func teardown(ctx context.Context, e env) {
	ec := ec2.NewFromConfig(e.cfg)
	out, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopped"}}}})
	if err != nil {
		fail("DescribeInstances: %v", err)
	}
	var ids []string
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	for len(ids) > 0 {
		n := min(100, len(ids))
		if _, err := ec.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids[:n]}); err != nil {
			fail("TerminateInstances: %v", err)
		}
		ids = ids[n:]
	}
	fmt.Println("teardown: done")
}
