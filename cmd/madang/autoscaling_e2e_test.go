package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// asgStack writes a stack with an Auto Scaling group behind a load
// balancer, tracking requests per target.
func asgStack(t *testing.T, dir string, port, lo, hi int, extra string) string {
	t.Helper()
	buildSampleApp(t, dir)
	y := fmt.Sprintf(`name: asg
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
%sautoScalingGroups:
  - name: web
    launchTemplate: hello
    minSize: %d
    maxSize: %d
    targetGroups: [web]
    healthCheckType: ELB
    scalingPolicies:
      - name: requests
        targetTrackingConfiguration:
          predefinedMetricSpecification: {predefinedMetricType: ALBRequestCountPerTarget}
          targetValue: 600
          scaleInStabilizationSeconds: 5
%s`, webLB(port), lo, hi, extra)
	return writeStack(t, dir, y)
}

// webLB is the stack section of target group web (health checks on
// /health, a 5 s deregistration delay) behind load balancer web on port.
func webLB(port int) string {
	return fmt.Sprintf(`targetGroups:
  - name: web
    port: 3000
    healthCheck: {path: /health, intervalSeconds: 5, timeoutSeconds: 2, healthyThresholdCount: 2, unhealthyThresholdCount: 2}
    attributes: {deregistration_delay.timeout_seconds: 5}
loadBalancers:
  - name: web
    listeners:
      - port: %d
        defaultActions: [{type: forward, targetGroup: web}]
`, port)
}

// writeStack writes dir/madang.yaml.
func writeStack(t *testing.T, dir, y string) string {
	t.Helper()
	p := filepath.Join(dir, "madang.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type asgView struct {
	Desired   int `json:"desiredCapacity"`
	InService int `json:"inService"`
	Warm      int `json:"warm"`
	Instances []struct {
		ID        string `json:"instanceId"`
		Lifecycle string `json:"lifecycleState"`
		Zone      string `json:"availabilityZone"`
	} `json:"instances"`
}

// waitInService waits until the group has n instances InService.
func (c runner) waitInService(name string, n int) asgView {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v := c.asg(name)
		if v.InService == n && len(v.Instances) == n {
			return v
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("group %s: %d InService, want %d: %+v", name, v.InService, n, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c runner) asg(name string) asgView {
	c.t.Helper()
	var v asgView
	out := c.must("asg", "describe", name, "-o", "json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		c.t.Fatalf("asg describe: %v\n%s", err, out)
	}
	return v
}

// load sends requests at rate per second until stop, counting failures.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	// answers counts the successful answers by body (trimmed; at most
	// 1,000 distinct ones kept): the sample app answers with its
	// instance id, so this is which instance served how many.
	answers map[string]int
	rate    atomic.Int64
	stop    chan struct{}
	done    sync.WaitGroup
}

func startLoad(url string, rate int) *load {
	l := &load{stop: make(chan struct{}), answers: map[string]int{}}
	l.rate.Store(int64(rate))
	client := &http.Client{Timeout: 5 * time.Second}
	const workers = 4
	for w := range workers {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			next := time.Now().Add(time.Duration(w) * time.Millisecond)
			for {
				select {
				case <-l.stop:
					return
				case <-time.After(time.Until(next)):
				}
				next = next.Add(time.Second * workers / time.Duration(max(l.rate.Load(), 1)))
				resp, err := client.Get(url)
				if err == nil {
					body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					} else {
						l.mu.Lock()
						if k := strings.TrimSpace(string(body)); len(l.answers) < 1000 || l.answers[k] > 0 {
							l.answers[k]++
						}
						l.mu.Unlock()
					}
				}
				if err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 5 {
						l.errs = append(l.errs, err.Error())
					}
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
			}
		}()
	}
	return l
}

func (l *load) end() {
	close(l.stop)
	l.done.Wait()
}

// TestAutoScalingScalesOutAndInWithoutFailures loads a group behind the
// load balancer: it scales out to its maximum within seconds, and back in
// once the load drops, without a failed request.
func TestAutoScalingScalesOutAndInWithoutFailures(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	port := freePort(t)
	file := asgStack(t, dir, port, 1, 3, "")
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)
	c.waitInService("web", 1)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	l := startLoad(url, 60) // 60 rps on 1 target = 3600 per target per minute, 6× the target
	start := time.Now()
	deadline := start.Add(20 * time.Second) // slack for a loaded CI machine; typically 1–2 s
	for c.asg("web").InService < 3 {
		if time.Now().After(deadline) {
			l.end()
			t.Fatalf("no scale-out within 20 s: %+v\n%s", c.asg("web"), c.must("asg", "activities", "web"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("scale-out 1 → 3 InService %s after the load started", time.Since(start).Round(10*time.Millisecond))
	// Low load: 8 rps over 3 targets (160 per target per minute) is far
	// below the target; the group
	// scales in after the 5 s stabilization window, draining first.
	l.rate.Store(8)
	deadline = time.Now().Add(60 * time.Second)
	for {
		v := c.asg("web")
		if v.Desired == 1 && len(v.Instances) == 1 && v.InService == 1 {
			break
		}
		if time.Now().After(deadline) {
			l.end()
			t.Fatalf("no scale-in: %+v\n%s", v, c.must("asg", "activities", "web"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	l.end()
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed during scale-out and scale-in: %v", n, n+l.ok.Load(), l.errs)
	}
	acts := c.must("asg", "activities", "web", "--max", "20")
	// The scale-out may come in one step (1 to 3, on a whole second) or in
	// two (1 to 2 on the second so far, then 2 to 3): both start from 1.
	for _, want := range []string{"triggered policy requests changing the desired capacity from 1 to ",
		"shrinking the capacity", "Terminating EC2 instance", "Successful"} {
		if !strings.Contains(strings.Join(strings.Fields(acts), " "), want) {
			t.Errorf("activities lack %q:\n%s", want, acts)
		}
	}
	t.Logf("%d requests, 0 failed", l.ok.Load())
}

// TestAutoScalingReplacesKilledInstance: an instance terminated by hand is
// replaced, and the activity says why.
func TestAutoScalingReplacesTerminatedInstance(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	port := freePort(t)
	file := asgStack(t, dir, port, 2, 2, "")
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)
	v := c.waitInService("web", 2)
	victim := v.Instances[0].ID
	c.must("terminate", victim)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		v = c.asg("web")
		replaced := v.InService == 2
		for _, in := range v.Instances {
			replaced = replaced && in.ID != victim
		}
		if replaced {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not replaced: %+v", v)
		}
		time.Sleep(100 * time.Millisecond)
	}
	acts := strings.Join(strings.Fields(c.must("asg", "activities", "web")), " ")
	if !strings.Contains(acts, "an EC2 health check indicating it has been terminated or stopped") {
		t.Errorf("activities:\n%s", acts)
	}
	// destroy returns once the group's instances are terminated.
	c.must("destroy", "-f", file)
	var rows []psRow
	if err := json.Unmarshal([]byte(c.must("ps", "-o", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.State != "terminated" {
			t.Errorf("after destroy: %s is %s", r.ID, r.State)
		}
	}
}

// refreshStack is a group of 4 whose launch template runs image (hello or
// broken) with greeting; an apply that changes the version refreshes the
// group, half at a time, rolling back on failure.
func refreshStack(t *testing.T, dir string, port int, image, greeting string) string {
	t.Helper()
	buildSampleApp(t, dir)
	y := fmt.Sprintf(`name: refresh
images:
  - {name: hello, source: ./app, command: ./hello, port: 3000}
  - {name: broken, source: ./app, command: "exit 3", port: 3000}
launchTemplates:
  - name: web
    image: %s
    env: {GREETING: %s}
    supervision: {killTimeout: 2s, maxRestarts: 1, backoffInitial: 10ms, readiness: {httpPath: /health}}
%sautoScalingGroups:
  - name: web
    launchTemplate: web
    version: $Latest
    minSize: 4
    maxSize: 8
    targetGroups: [web]
    healthCheckType: ELB
    instanceRefresh: {minHealthyPercentage: 50, autoRollback: true}
`, image, greeting, webLB(port))
	return writeStack(t, dir, y)
}

type refreshRow struct {
	ID      string `json:"instanceRefreshId"`
	Status  string `json:"status"`
	Reason  string `json:"statusReason"`
	To      int    `json:"toVersion"`
	Percent int    `json:"percentageComplete"`
}

// waitRefreshStatus waits until the group's newest refresh (other than
// skip) ends, and returns it.
func (c runner) waitRefreshStatus(group, skip string) refreshRow {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var rs []refreshRow
		if err := json.Unmarshal([]byte(c.must("refresh", "status", group, "-o", "json")), &rs); err != nil {
			c.t.Fatal(err)
		}
		if len(rs) > 0 && rs[0].ID != skip {
			switch rs[0].Status {
			case "Successful", "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed":
				return rs[0]
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("refresh did not end: %+v\n%s", rs, c.must("asg", "activities", group))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestInstanceRefreshAndRollbackUnderLoad: a new launch template version
// rolls out through an instance refresh, and a broken one is rolled back
// automatically, both without a failed request.
func TestInstanceRefreshAndRollbackUnderLoad(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	port := freePort(t)
	file := refreshStack(t, dir, port, "hello", "One")
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)
	c.waitInService("web", 4)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	l := startLoad(url, 40)

	refreshStack(t, dir, port, "hello", "Two")
	c.must("apply", "-f", file)
	r := c.waitRefreshStatus("web", "")
	if r.Status != "Successful" || r.To != 2 {
		l.end()
		t.Fatalf("refresh to v2: %+v\n%s", r, c.must("asg", "activities", "web"))
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "Two") {
		t.Errorf("after the refresh the app says %q, want the v2 greeting", body)
	}

	refreshStack(t, dir, port, "broken", "Three")
	c.must("apply", "-f", file)
	r = c.waitRefreshStatus("web", r.ID)
	if r.Status != "RollbackSuccessful" {
		l.end()
		t.Fatalf("broken v3: %+v, want RollbackSuccessful\n%s", r, c.must("asg", "activities", "web"))
	}
	c.waitInService("web", 4)
	time.Sleep(500 * time.Millisecond)
	l.end()
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed during the refresh and the rollback: %v", n, n+l.ok.Load(), l.errs)
	}
	t.Logf("%d requests, 0 failed; rollback: %s", l.ok.Load(), r.Reason)
}

// TestDeployChangedSource: madang deploy after a source change builds a
// new image version and replaces the group's instances one at a time
// under load without a failed request; a second deploy has nothing to do.
func TestDeployChangedSource(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	port := freePort(t)
	file := asgStack(t, dir, port, 3, 3, "")
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)
	before := c.waitInService("web", 3)
	l := startLoad(fmt.Sprintf("http://127.0.0.1:%d/", port), 30)
	if err := os.WriteFile(filepath.Join(dir, "app", "VERSION"), []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := c.must("deploy", "-f", file, "--type", "replacement", "--config", "CodeDeployDefault.OneAtATime")
	l.end()
	for _, want := range []string{"~ image hello", "deploying to 3 instance(s) with CodeDeployDefault.OneAtATime (keeping 66% of 3 InService)", "100%  Successful"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	after := c.waitInService("web", 3)
	for _, in := range after.Instances {
		for _, old := range before.Instances {
			if in.ID == old.ID {
				t.Errorf("%s was not replaced", in.ID)
			}
		}
	}
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed during the deployment: %v", n, n+l.ok.Load(), l.errs)
	}
	if out := c.must("deploy", "-f", file, "--type", "replacement"); !strings.Contains(out, "nothing to deploy") {
		t.Errorf("second deploy:\n%s", out)
	}
	t.Logf("%d requests, 0 failed", l.ok.Load())
}

// TestAlarmRunsStepPolicy: a CloudWatch alarm on a custom metric whose
// action names a step scaling policy scales the group out, and the
// activity names the alarm.
func TestAlarmRunsStepPolicy(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	port := freePort(t)
	file := asgStack(t, dir, port, 1, 5, `      - name: add-two
        policyType: StepScaling
        adjustmentType: ChangeInCapacity
        stepAdjustments: [{metricIntervalLowerBound: 0, scalingAdjustment: 2}]
alarms:
  - name: queue-deep
    namespace: MyApp
    metricName: QueueDepth
    statistic: Maximum
    period: 1
    evaluationPeriods: 1
    threshold: 100
    comparisonOperator: GreaterThanThreshold
    alarmActions: [autoscaling:web/add-two]
`)
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)
	c.waitInService("web", 1)
	deadline := time.Now().Add(30 * time.Second)
	for c.asg("web").Desired < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the alarm did not scale the group: %+v\n%s\n%s", c.asg("web"), c.must("alarms"), c.must("asg", "activities", "web"))
		}
		c.must("metrics", "put", "MyApp", "QueueDepth", "500", "--resolution", "1")
		time.Sleep(300 * time.Millisecond)
	}
	c.waitInService("web", 3)
	acts := strings.Join(strings.Fields(c.must("asg", "activities", "web")), " ")
	if !strings.Contains(acts, "a monitor alarm queue-deep in state ALARM triggered policy add-two changing the desired capacity from 1 to 3") {
		t.Errorf("activities:\n%s", acts)
	}
}

// TestGroupFromImageOfInstance is seed 003's path: an image made from a
// running instance (by hand), a launch template of another stack using
// it, and an Auto Scaling group launching from that.
func TestGroupFromImageOfInstance(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	file := stackFile(t, dir, freePort(t))
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)
	var rows []psRow
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rows = c.ps()
		if len(rows) > 0 && rows[0].State == "running" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no running instance: %+v", rows)
		}
	}
	c.must("images", "create", "--from-instance", rows[0].ID, "--name", "golden", "--no-reboot")
	asgFile := filepath.Join(dir, "asg.yaml")
	if err := os.WriteFile(asgFile, []byte(`name: from-image
launchTemplates:
  - name: golden
    image: golden        # made by hand from an instance: not in this stack
autoScalingGroups:
  - name: golden
    launchTemplate: golden
    minSize: 2
    maxSize: 2
`), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must("apply", "-f", asgFile)
	destroyAtCleanup(t, c, asgFile)
	c.waitInService("golden", 2)
	// A name that is neither in the stack nor made by hand is still an error.
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("name: bad\nlaunchTemplates:\n  - {name: x, image: nope}\n"), 0o644)
	if out, err := c.run("apply", "-f", bad); err == nil || !strings.Contains(out, `image: is not an image of this stack (got "nope")`) {
		t.Errorf("apply of a template naming no image: %v\n%s", err, out)
	}
}

// servedBy returns how many answers came from bodies that contain sub.
func (l *load) servedBy(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, v := range l.answers {
		if strings.Contains(k, sub) {
			n += v
		}
	}
	return n
}
