package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// notification is what the webhook receives: an SNS envelope whose
// Message is CloudWatch's alarm message.
type notification struct {
	at       time.Time
	Type     string `json:"Type"`
	Subject  string `json:"Subject"`
	Message  string `json:"Message"`
	TopicARN string `json:"TopicArn"`
	alarm    struct {
		AlarmName      string `json:"AlarmName"`
		NewStateValue  string `json:"NewStateValue"`
		OldStateValue  string `json:"OldStateValue"`
		NewStateReason string `json:"NewStateReason"`
		Trigger        struct {
			MetricName string `json:"MetricName"`
			Namespace  string `json:"Namespace"`
		} `json:"Trigger"`
	}
}

// webhook records the notifications POSTed to it.
type webhook struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []notification
	// header of the last request
	msgType string
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var n notification
		n.at = time.Now()
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("webhook body is not an SNS notification: %v: %s", err, b)
		}
		if err := json.Unmarshal([]byte(n.Message), &n.alarm); err != nil {
			t.Errorf("webhook message is not an alarm message: %v: %s", err, n.Message)
		}
		w.mu.Lock()
		w.got = append(w.got, n)
		w.msgType = r.Header.Get("x-amz-sns-message-type")
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// first returns the first notification of an alarm from state from to
// state to, if any.
func (w *webhook) first(alarm, from, to string) (notification, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range w.got {
		if n.alarm.AlarmName == alarm && n.alarm.OldStateValue == from && n.alarm.NewStateValue == to {
			return n, true
		}
	}
	return notification{}, false
}

type alarmRow struct {
	Name  string `json:"name"`
	State struct {
		State      string `json:"state"`
		Reason     string `json:"reason"`
		ReasonData struct {
			// Timestamps are AWS's: 2026-12-01T10:00:00.000+0000.
			Evaluated []struct {
				Timestamp string   `json:"timestamp"`
				Value     *float64 `json:"value"`
			} `json:"evaluatedDatapoints"`
		} `json:"reasonData"`
		UpdatedAt time.Time `json:"updatedAt"`
	} `json:"state"`
}

func (c runner) alarm(name string) alarmRow {
	c.t.Helper()
	var a alarmRow
	out := c.must("alarms", "describe", name, "-o", "json")
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		c.t.Fatalf("alarms describe -o json: %v\n%s", err, out)
	}
	return a
}

// TestCPUAlarmWebhook: load on a real instance moves a 1-second CPU
// alarm to ALARM and its webhook gets an SNS-style notification; when the
// load stops it returns to OK. The delays are logged.
func TestCPUAlarmWebhook(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	buildSampleApp(t, dir)
	burn := filepath.Join(dir, "burn")
	hook := newWebhook(t)
	file := filepath.Join(dir, "madang.yaml")
	// The app serves, and a shell loop beside it spins while the burn
	// file exists.
	y := fmt.Sprintf(`name: cw
images:
  - name: burner
    source: ./app
    command: './hello & while :; do if [ -f %q ]; then :; else sleep 0.1; fi; done'
    port: 3000
launchTemplates:
  - name: burner
    image: burner
    instanceType: t3.micro
    supervision: {killTimeout: 2s}
instances:
  - name: burn
    launchTemplate: burner
alarms:
  - name: burn-cpu
    namespace: AWS/EC2
    metricName: CPUUtilization
    dimensions: {AutoScalingGroupName: burn}
    statistic: Maximum
    period: 1
    evaluationPeriods: 2
    datapointsToAlarm: 2
    threshold: 15
    comparisonOperator: GreaterThanThreshold
    alarmActions: [%q]
    okActions: [%q]
`, burn, hook.srv.URL+"/alarm", hook.srv.URL+"/ok")
	if err := os.WriteFile(file, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)

	eventually(t, "the instance running", 20*time.Second, func() bool {
		for _, r := range c.ps() {
			if r.Group == "burn" && r.State == "running" {
				return true
			}
		}
		return false
	})
	eventually(t, "the idle alarm OK", 20*time.Second, func() bool { return c.alarm("burn-cpu").State.State == "OK" })

	if err := os.WriteFile(burn, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	loadAt := time.Now()
	eventually(t, "the ALARM notification", 30*time.Second, func() bool { _, ok := hook.first("burn-cpu", "OK", "ALARM"); return ok })
	n, _ := hook.first("burn-cpu", "OK", "ALARM")
	a := c.alarm("burn-cpu")
	if a.State.State != "ALARM" {
		t.Fatalf("alarm state after the notification = %s, want ALARM", a.State.State)
	}
	if n.Type != "Notification" || !strings.HasPrefix(n.TopicARN, "arn:aws:sns:") || n.alarm.OldStateValue != "OK" ||
		n.alarm.Trigger.MetricName != "CPUUtilization" || !strings.Contains(n.alarm.NewStateReason, "Threshold Crossed") {
		t.Errorf("notification = %+v", n)
	}
	hook.mu.Lock()
	if hook.msgType != "Notification" {
		t.Errorf("x-amz-sns-message-type = %q", hook.msgType)
	}
	hook.mu.Unlock()
	// The delay from the end of the breaching datapoint that completed
	// the 2-of-2 to the webhook's receipt.
	if ev := a.State.ReasonData.Evaluated; len(ev) > 0 {
		var newest time.Time
		for _, d := range ev {
			ts, err := time.Parse("2006-01-02T15:04:05.000-0700", d.Timestamp)
			if err != nil {
				t.Fatalf("evaluated datapoint time %q: %v", d.Timestamp, err)
			}
			if ts.After(newest) {
				newest = ts
			}
		}
		delay := n.at.Sub(newest.Add(time.Second))
		t.Logf("ALARM webhook %v after the end of the breaching datapoint (%v after the load started)", delay.Round(time.Millisecond), n.at.Sub(loadAt).Round(time.Millisecond))
		// The goal is 2 s (README reports the measured delays); the bound
		// here leaves room for a loaded test machine.
		if delay > 5*time.Second {
			t.Errorf("ALARM webhook came %v after the breaching datapoint ended; the goal is within 2 s", delay)
		}
	} else {
		t.Errorf("ALARM state has no evaluated datapoints: %+v", a.State)
	}

	if err := os.Remove(burn); err != nil {
		t.Fatal(err)
	}
	stopAt := time.Now()
	eventually(t, "the OK notification", 30*time.Second, func() bool { _, ok := hook.first("burn-cpu", "ALARM", "OK"); return ok })
	ok, _ := hook.first("burn-cpu", "ALARM", "OK")
	t.Logf("OK webhook %v after the load stopped", ok.at.Sub(stopAt).Round(time.Millisecond))

	var hist []struct {
		Type    string `json:"type"`
		Summary string `json:"summary"`
	}
	for _, line := range strings.Split(strings.TrimSpace(c.must("alarms", "history", "burn-cpu", "-o", "json")), "\n") {
		var h struct {
			Type    string `json:"type"`
			Summary string `json:"summary"`
		}
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("history line %q: %v", line, err)
		}
		hist = append(hist, h)
	}
	var summaries []string
	for _, h := range hist {
		summaries = append(summaries, h.Type+": "+h.Summary)
	}
	joined := strings.Join(summaries, "\n")
	for _, want := range []string{"Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK", "Successfully executed action " + hook.srv.URL + "/alarm"} {
		if !strings.Contains(joined, want) {
			t.Errorf("history lacks %q:\n%s", want, joined)
		}
	}

	// The instance's CPU is queryable at 1 s.
	out := c.must("metrics", "get", "AWS/EC2", "CPUUtilization", "--dimension", "AutoScalingGroupName=burn",
		"--period", "1", "--since", "2m", "--stat", "Maximum,SampleCount", "-o", "json")
	var stats struct {
		Datapoints []struct {
			Maximum *float64 `json:"maximum"`
		} `json:"datapoints"`
	}
	if err := json.Unmarshal([]byte(out), &stats); err != nil {
		t.Fatalf("metrics get -o json: %v\n%s", err, out)
	}
	high := 0
	for _, d := range stats.Datapoints {
		if d.Maximum != nil && *d.Maximum > 15 {
			high++
		}
	}
	if len(stats.Datapoints) < 3 || high < 2 {
		t.Errorf("CPUUtilization at 1 s: %d datapoints, %d above 15%%", len(stats.Datapoints), high)
	}
}

// TestAlarmsAndHistorySurviveKill9: a custom metric, the alarm it breaches
// and the alarm's history are all there after the daemon is killed with
// SIGKILL and started again.
func TestAlarmsAndHistorySurviveKill9(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	file := filepath.Join(dir, "madang.yaml")
	if err := os.WriteFile(file, []byte(`name: durable
alarms:
  - name: orders-high
    namespace: Shop
    metricName: Orders
    dimensions: {Shop: seoul}
    statistic: Sum
    period: 10
    evaluationPeriods: 1
    threshold: 50
    comparisonOperator: GreaterThanOrEqualToThreshold
    treatMissingData: ignore
`), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemonProc(t, c, binary)
	defer func() {
		_, _ = c.run("destroy", "-f", file)
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		_ = d.cmd.Wait()
		if t.Failed() {
			t.Logf("daemon output:\n%s", d.out.String())
		}
	}()
	c.must("apply", "-f", file)
	// A high-resolution datapoint in the last complete 10-second period,
	// so the alarm evaluates it at its next period.
	ts := time.Now().Truncate(10 * time.Second).Add(-5 * time.Second).UTC().Format(time.RFC3339)
	c.must("metrics", "put", "Shop", "Orders", "80", "--dimension", "Shop=seoul", "--timestamp", ts, "--unit", "Count", "--resolution", "1")
	eventually(t, "the alarm in ALARM", 30*time.Second, func() bool { return c.alarm("orders-high").State.State == "ALARM" })
	before := c.alarm("orders-high")

	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Wait()
	d = startDaemonProc(t, c, binary)

	after := c.alarm("orders-high")
	if after.State.State != "ALARM" || !after.State.UpdatedAt.Equal(before.State.UpdatedAt) {
		t.Errorf("after kill -9 the alarm is %s since %v, want ALARM since %v", after.State.State, after.State.UpdatedAt, before.State.UpdatedAt)
	}
	hist := c.must("alarms", "history", "orders-high")
	if !strings.Contains(hist, "to ALARM") {
		t.Errorf("history after kill -9 lacks the transition:\n%s", hist)
	}
	out := c.must("metrics", "get", "Shop", "Orders", "--dimension", "Shop=seoul", "--period", "10", "--since", "10m", "--stat", "Sum", "-o", "json")
	if !strings.Contains(out, `"sum": 80`) {
		t.Errorf("the datapoint is gone after kill -9:\n%s", out)
	}
}

// TestALBMetricsMatchTraffic sends a known pattern of requests through a
// real load balancer to a backend with known statuses and delays, and
// checks what CloudWatch reports for it: counts exactly, the response
// time distribution within the sketch's 1 % (plus the proxy's own
// overhead), and the 1-second datapoints adding up to the minute's.
func TestALBMetricsMatchTraffic(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("d")); err == nil {
			time.Sleep(d)
		}
		if r.URL.Query().Get("s") == "503" {
			w.WriteHeader(503)
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer backend.Close()
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	file, port := lbStack(t, dir, "albm", backend)
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)
	lb := fmt.Sprintf("http://127.0.0.1:%d/", port)
	// Start in a fresh minute, so one 60-second period holds every request
	// (the warm-up's too).
	if s := time.Now().Second(); s > 40 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
	from := time.Now().Truncate(time.Minute)
	// Warm up through the load balancer until the target serves; the
	// warm-up requests are counted too, so count them.
	warm, warmOK := warmUp(t, lb)
	pattern := []struct {
		n      int
		query  string
		status int
	}{{40, "x=1", 200}, {10, "s=503", 503}, {20, "d=30ms", 200}, {10, "d=80ms", 200}}
	client := &http.Client{Timeout: 5 * time.Second}
	sent := 0
	for _, p := range pattern {
		for range p.n {
			resp, err := client.Get(lb + "?" + p.query)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != p.status {
				t.Fatalf("GET ?%s: %d, want %d", p.query, resp.StatusCode, p.status)
			}
			sent++
		}
	}
	time.Sleep(2500 * time.Millisecond) // the collector publishes each second once it has ended
	to := time.Now()

	stat := func(name string, dims []string, period string, stats string) []map[string]any {
		args := []string{"metrics", "get", "AWS/ApplicationELB", name, "--period", period, "--stat", stats,
			"--start", from.UTC().Format(time.RFC3339), "--end", to.UTC().Add(time.Second).Format(time.RFC3339), "-o", "json"}
		for _, d := range dims {
			args = append(args, "--dimension", d)
		}
		var out struct {
			Datapoints []map[string]any `json:"datapoints"`
		}
		if err := json.Unmarshal([]byte(c.must(args...)), &out); err != nil {
			t.Fatal(err)
		}
		return out.Datapoints
	}
	num := func(dp map[string]any, k string) float64 {
		if v, ok := dp[k].(float64); ok {
			return v
		}
		if ext, ok := dp["extendedStatistics"].(map[string]any); ok {
			if v, ok := ext[k].(float64); ok {
				return v
			}
		}
		t.Fatalf("datapoint %v has no %s", dp, k)
		return 0
	}
	byLB := []string{"LoadBalancer=albm"}
	one := func(dps []map[string]any, what string) map[string]any {
		if len(dps) != 1 {
			t.Fatalf("%s: %d datapoints at 60 s, want 1: %v (query %s..%s)\n%s", what, len(dps), dps, from, to,
				c.must("metrics", "get", "AWS/ApplicationELB", "RequestCount", "--dimension", "LoadBalancer=albm", "--since", "5m", "--period", "1", "--no-chart", "--stat", "Sum")+
					c.must("metrics", "status")+c.must("metrics", "list", "--namespace", "AWS/ApplicationELB"))
		}
		return dps[0]
	}
	if got := num(one(stat("RequestCount", byLB, "60", "Sum"), "RequestCount"), "sum"); got != float64(sent+warm) {
		t.Errorf("RequestCount Sum = %v, want %d + %d warm-up; per second: %v\n%s", got, sent, warm, stat("RequestCount", byLB, "1", "Sum"),
			c.must("metrics", "get", "AWS/ApplicationELB", "RequestCount", "--dimension", "LoadBalancer=albm", "--since", "5m", "--period", "1", "--no-chart", "--stat", "Sum"))
	}
	if got := num(one(stat("HTTPCode_Target_2XX_Count", byLB, "60", "Sum"), "2XX"), "sum"); got != float64(70+warmOK) {
		t.Errorf("HTTPCode_Target_2XX_Count Sum = %v, want 70 + %d warm-up", got, warmOK)
	}
	if got := num(one(stat("HTTPCode_Target_5XX_Count", byLB, "60", "Sum"), "5XX"), "sum"); got != 10 {
		t.Errorf("HTTPCode_Target_5XX_Count Sum = %v, want 10", got)
	}
	rt := one(stat("TargetResponseTime", byLB, "60", "SampleCount,Minimum,Maximum,Average,Sum,p50,p75,p95"), "TargetResponseTime")
	// Sorted, the 80 response times (and the warm-up's few fast ones) are
	// 50+ fast ones, 20 of 30 ms and 10 of 80 ms: p50 is fast, p75 about
	// 30 ms, p95 about 80 ms. The proxy measures a little more than the backend
	// sleeps; 50 ms of slack covers a loaded machine.
	const slack = 0.050
	checks := []struct {
		name   string
		lo, hi float64
	}{
		{"sampleCount", float64(80 + warmOK), float64(80 + warmOK)},
		{"minimum", 0, slack},
		{"maximum", 0.080, 0.080 + slack},
		{"p50", 0, slack},
		{"p75", 0.030 * 0.99, 0.030 + slack},
		{"p95", 0.080 * 0.99, 0.080 + slack},
	}
	for _, ck := range checks {
		if v := num(rt, ck.name); v < ck.lo || v > ck.hi {
			t.Errorf("TargetResponseTime %s = %v, want %v..%v", ck.name, v, ck.lo, ck.hi)
		}
	}
	n := float64(80 + warmOK)
	if avg, sum := num(rt, "average"), num(rt, "sum"); avg < 1.4/n*0.99 || avg > 1.4/n+slack || math.Abs(sum/n-avg) > 1e-12 {
		t.Errorf("TargetResponseTime average %v, sum %v (want about (20×30+10×80 ms)/%v, and sum/%v)", avg, sum, n, n)
	}
	// The 1-second datapoints add up to the minute's.
	var total, count float64
	for _, dp := range stat("TargetResponseTime", byLB, "1", "Sum,SampleCount") {
		total += num(dp, "sum")
		count += num(dp, "sampleCount")
	}
	if count != n || total < num(rt, "sum")*0.9999 || total > num(rt, "sum")*1.0001 {
		t.Errorf("1-second datapoints: count %v sum %v, want %v and %v", count, total, n, num(rt, "sum"))
	}
}

// TestTopThroughTmux runs the real `madang top` against a daemon in a
// tmux pane: it shows the stack's alarm and its state, refreshes, and q
// quits.
func TestTopThroughTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install tmux)")
	}
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	file := filepath.Join(dir, "madang.yaml")
	if err := os.WriteFile(file, []byte(`name: topview
alarms:
  - name: quiet-orders
    namespace: Shop
    metricName: Orders
    statistic: Sum
    period: 10
    evaluationPeriods: 1
    threshold: 1
    comparisonOperator: GreaterThanOrEqualToThreshold
    treatMissingData: notBreaching
`), 0o644); err != nil {
		t.Fatal(err)
	}
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)
	sock := fmt.Sprintf("madang-top-%d", os.Getpid())
	tmux := func(args ...string) string {
		out, _ := exec.Command("tmux", append([]string{"-L", sock}, args...)...).CombinedOutput()
		return string(out)
	}
	t.Cleanup(func() { tmux("kill-server") })
	done := filepath.Join(dir, "done")
	tmux("new-session", "-d", "-x", "120", "-y", "30",
		fmt.Sprintf("MADANG_HOME=%s %s top; echo exit=$? > %s; sleep 30", c.home, binary, done))
	var screen string
	eventually(t, "top to show the alarm", 15*time.Second, func() bool {
		screen = tmux("capture-pane", "-p")
		return strings.Contains(screen, "madang top") && strings.Contains(screen, "quiet-orders") && strings.Contains(screen, "OK")
	})
	first := screen
	eventually(t, "top to refresh", 10*time.Second, func() bool {
		screen = tmux("capture-pane", "-p")
		return screen != first
	})
	tmux("send-keys", "q")
	eventually(t, "top to quit on q", 10*time.Second, func() bool {
		b, err := os.ReadFile(done)
		return err == nil && strings.TrimSpace(string(b)) == "exit=0"
	})
}

// TestMetricFilterCountsLogLines: an instance's ERROR lines become a
// metric through a metric filter, `logs --filter` finds them, and the
// log group shows its retention.
func TestMetricFilterCountsLogLines(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	buildSampleApp(t, dir)
	file := filepath.Join(dir, "madang.yaml")
	if err := os.WriteFile(file, []byte(`name: mf
images:
  - name: chatty
    source: ./app
    command: './hello & i=0; while :; do i=$((i+1)); echo "{\"level\": \"error\", \"ms\": $i}"; echo "ERROR request $i failed"; echo "INFO fine"; sleep 0.2; done'
    port: 3000
launchTemplates:
  - {name: chatty, image: chatty, supervision: {killTimeout: 2s}}
instances:
  - {name: chatty, launchTemplate: chatty}
logGroups:
  - {name: /madang/instances/chatty, retentionInDays: 14}
metricFilters:
  - name: errors
    logGroup: /madang/instances/chatty
    filterPattern: ERROR
    metricTransformations: [{metricName: ErrorLines, metricNamespace: Chatty, metricValue: "1"}]
  - name: latency
    logGroup: /madang/instances/chatty
    filterPattern: '{ $.level = "error" && $.ms > 0 }'
    metricTransformations: [{metricName: ErrorMs, metricNamespace: Chatty, metricValue: "$.ms", unit: Milliseconds}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)
	var out string
	eventually(t, "error lines counted", 30*time.Second, func() bool {
		out, _ = c.run("metrics", "get", "Chatty", "ErrorLines", "--period", "1", "--since", "1m", "--stat", "Sum", "-o", "json")
		return strings.Count(out, `"sum"`) >= 3
	})
	var dps struct {
		Datapoints []struct {
			Sum *float64 `json:"sum"`
		} `json:"datapoints"`
	}
	if err := json.Unmarshal([]byte(out), &dps); err != nil {
		t.Fatal(err)
	}
	for _, d := range dps.Datapoints {
		// About five lines a second; a second may hold four to six.
		if *d.Sum < 1 || *d.Sum > 8 {
			t.Errorf("ErrorLines per second = %v, want about 5: %s", *d.Sum, out)
		}
	}
	ms := c.must("metrics", "get", "Chatty", "ErrorMs", "--period", "60", "--since", "5m", "--stat", "Minimum,Maximum,SampleCount", "-o", "json")
	if !strings.Contains(ms, `"minimum"`) || !strings.Contains(ms, `"unit": "Milliseconds"`) {
		t.Errorf("ErrorMs: %s", ms)
	}
	found := c.must("logs", "chatty", "--filter", `"request 3 failed"`)
	if !strings.Contains(found, "ERROR request 3 failed") || strings.Contains(found, "INFO") {
		t.Errorf("logs --filter: %s", found)
	}
	json1 := c.must("logs", "chatty", "--filter", `{ $.ms = 2 }`)
	if !strings.Contains(json1, `"ms": 2}`) || strings.Count(strings.TrimSpace(json1), "\n") != 0 {
		t.Errorf("logs --filter JSON: %q", json1)
	}
	groups := c.must("logs", "--list")
	if !strings.Contains(groups, "/madang/instances/chatty") || !strings.Contains(groups, "14 days") {
		t.Errorf("logs --list: %s", groups)
	}
	if out, err := c.run("logs", "chatty", "--filter", `{ $.ms = }`); err == nil || !strings.Contains(out, "filter") {
		t.Errorf("a bad filter pattern: %v %s", err, out)
	}
}

// TestRequestsCountedAcrossDaemonKill9: the data plane keeps serving while
// the daemon is away; the next daemon continues from the collector's
// saved snapshot, so requests served in between are counted, not lost.
func TestRequestsCountedAcrossDaemonKill9(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") }))
	defer backend.Close()
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	file, port := lbStack(t, dir, "k9", backend)
	d := startDaemonProc(t, c, binary)
	defer func() {
		_, _ = c.run("destroy", "-f", file)
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		_ = d.cmd.Wait()
		if t.Failed() {
			t.Logf("daemon output:\n%s", d.out.String())
		}
	}()
	c.must("apply", "-f", file)
	lb := fmt.Sprintf("http://127.0.0.1:%d/", port)
	answered, _ := warmUp(t, lb)
	warm := int64(answered)
	// The collector saves its snapshot every 10 rounds: let one save see
	// every warm-up request, so the next daemon counts only what follows.
	snap := filepath.Join(c.home, "metrics", "lb-snapshot.json")
	eventually(t, "a saved snapshot with the warm-up", 30*time.Second, func() bool {
		b, err := os.ReadFile(snap)
		if err != nil {
			return false
		}
		var s struct {
			LoadBalancers []struct {
				LoadBalancer string  `json:"loadBalancer"`
				Counters     []int64 `json:"counters"`
			} `json:"loadBalancers"`
		}
		if json.Unmarshal(b, &s) != nil {
			return false
		}
		for _, l := range s.LoadBalancers {
			if l.LoadBalancer == "k9" && len(l.Counters) > 0 && l.Counters[0] == warm {
				return true
			}
		}
		return false
	})
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Wait()
	const n = 30
	for i := range n {
		if _, err := get(lb); err != nil {
			t.Fatalf("request %d while the daemon is away: %v", i, err)
		}
	}
	d = startDaemonProc(t, c, binary)
	var total float64
	eventually(t, "the requests counted", 15*time.Second, func() bool {
		out, err := c.run("metrics", "get", "AWS/ApplicationELB", "RequestCount", "--dimension", "LoadBalancer=k9", "--period", "1",
			"--start", start.Truncate(time.Second).UTC().Format(time.RFC3339), "--stat", "Sum", "-o", "json")
		if err != nil {
			return false
		}
		var res struct {
			Datapoints []struct {
				Sum float64 `json:"sum"`
			} `json:"datapoints"`
		}
		if json.Unmarshal([]byte(out), &res) != nil {
			return false
		}
		total = 0
		for _, dp := range res.Datapoints {
			total += dp.Sum
		}
		return total >= n
	})
	if total != n {
		t.Errorf("RequestCount after the daemon came back = %v, want %d", total, n)
	}
}

// warmUp sends requests through a load balancer until its target serves
// one, and returns how many the load balancer answered (each counts in
// RequestCount) and how many of those the target answered (200).
func warmUp(t *testing.T, lb string) (answered, ok int) {
	t.Helper()
	client := &http.Client{Timeout: 3 * time.Second}
	eventually(t, "the target serving", 20*time.Second, func() bool {
		resp, err := client.Get(lb + "?warmup=1")
		if err != nil {
			return false // not answered: not counted
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered++
		if resp.StatusCode == 200 {
			ok++
			return true
		}
		return false
	})
	return answered, ok
}

// lbStack writes a stack of one load balancer named name (on a free
// port, returned) forwarding to target group "be", whose one ip target
// is backend; health checks every 5 s.
func lbStack(t *testing.T, dir, name string, backend *httptest.Server) (file string, port int) {
	t.Helper()
	bport := backend.Listener.Addr().(*net.TCPAddr).Port
	port = freePort(t)
	file = filepath.Join(dir, "madang.yaml")
	y := fmt.Sprintf(`name: %s
targetGroups:
  - name: be
    targetType: ip
    port: %d
    healthCheck: {path: /, intervalSeconds: 5, timeoutSeconds: 2, healthyThresholdCount: 2}
    targets: [{ip: 127.0.0.1, port: %d}]
loadBalancers:
  - name: %s
    listeners:
      - port: %d
        defaultActions: [{type: forward, targetGroup: be}]
`, name, bport, bport, name, port)
	if err := os.WriteFile(file, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, port
}
