package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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
	TopicArn string `json:"TopicArn"`
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
	if n.Type != "Notification" || !strings.HasPrefix(n.TopicArn, "arn:aws:sns:") || n.alarm.OldStateValue != "OK" ||
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
		if delay > 2*time.Second {
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
