package cloudwatch

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/metricstore"
	"github.com/madang-dev/madang/internal/state"
)

// fakeInstances serves samples the test sets.
type fakeInstances struct {
	mu  sync.Mutex
	cpu map[string]float64
}

func (f *fakeInstances) set(id string, cpu float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cpu[id] = cpu
}

func (f *fakeInstances) Samples() []compute.Sample {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []compute.Sample
	for id, c := range f.cpu {
		out = append(out, compute.Sample{InstanceID: id, Group: "web", Running: true, CPUUtilization: c, MemoryUtilization: 10})
	}
	return out
}

// harness runs a Service on a memory store with a manual clock and ticks.
type harness struct {
	t     *testing.T
	store state.Store
	home  string
	mu    sync.Mutex
	now   time.Time
	tick  chan time.Time
	round chan struct{}
	inst  *fakeInstances
	svc   *Service
}

func newHarness(t *testing.T, store state.Store, home string) *harness {
	t.Helper()
	h := &harness{t: t, store: store, home: home, now: time.Date(2026, 12, 1, 10, 0, 0, 200e6, time.UTC),
		tick: make(chan time.Time), round: make(chan struct{}, 1), inst: &fakeInstances{cpu: map[string]float64{}}}
	h.start()
	return h
}

func (h *harness) start() {
	svc, err := New(context.Background(), Options{Home: h.home, Store: h.store, Instances: h.inst,
		Now: h.clock, Tick: h.tick, OnRound: func() { h.round <- struct{}{} }})
	if err != nil {
		h.t.Fatal(err)
	}
	svc.Start()
	h.svc = svc
	h.t.Cleanup(func() { _ = svc.Close() })
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// step advances the clock a second and runs one collection and
// evaluation round.
func (h *harness) step() {
	h.t.Helper()
	h.mu.Lock()
	h.now = h.now.Add(time.Second)
	now := h.now
	h.mu.Unlock()
	h.tick <- now
	select {
	case <-h.round:
	case <-time.After(10 * time.Second):
		h.t.Fatal("no collection round within 10 s")
	}
}

func (h *harness) putRecord(key string, v any) int64 {
	h.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		h.t.Fatal(err)
	}
	rev, err := h.store.Put(context.Background(), key, b)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.svc.Observed(ctx, rev); err != nil {
		h.t.Fatal(err)
	}
	return rev
}

func (h *harness) state(name string) AlarmState {
	for _, a := range h.svc.Alarms() {
		if a.Name == name {
			return a.State
		}
	}
	h.t.Fatalf("no alarm %s", name)
	return AlarmState{}
}

func cpuAlarm(actions ...string) *Alarm {
	s := AlarmSpec{Name: "cpu", Namespace: NamespaceEC2, MetricName: "CPUUtilization", Dimensions: map[string]string{"AutoScalingGroupName": "web"},
		Statistic: "Maximum", Period: 1, EvaluationPeriods: 2, Threshold: f64(50), ComparisonOperator: "GreaterThanThreshold",
		AlarmActions: actions, OKActions: actions}
	s.Defaults()
	return &Alarm{Spec: s, ARN: AlarmARN("cpu"), UpdatedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
}

func TestMetricAlarmFiresWebhookAndRecovers(t *testing.T) {
	got := make(chan []byte, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer srv.Close()
	h := newHarness(t, state.NewMemory(), t.TempDir())
	h.inst.set("i-1", 10)
	h.putRecord(AlarmPrefix+"cpu", cpuAlarm(srv.URL))
	h.step()
	h.step()
	if st := h.state("cpu"); st.State != alarm.OK {
		t.Fatalf("idle: state %s (%s), want OK", st.State, st.Reason)
	}
	h.inst.set("i-1", 95)
	h.step()
	if st := h.state("cpu"); st.State != alarm.OK {
		t.Fatalf("one breaching second of 2-of-2: state %s, want OK", st.State)
	}
	h.step()
	st := h.state("cpu")
	if st.State != alarm.Alarm || !strings.Contains(st.Reason, "Threshold Crossed") {
		t.Fatalf("two breaching seconds: state %s (%s), want ALARM", st.State, st.Reason)
	}
	// The first notification is the initial INSUFFICIENT_DATA -> OK (OK
	// actions run then too, as on AWS); then OK -> ALARM.
	var env snsEnvelope
	var n Notification
	for n.NewStateValue != alarm.Alarm {
		select {
		case b := <-got:
			if err := json.Unmarshal(b, &env); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(env.Message), &n); err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no ALARM webhook")
		}
	}
	if env.Type != "Notification" || n.NewStateValue != alarm.Alarm || n.OldStateValue != alarm.OK || n.Trigger == nil ||
		n.Trigger.MetricName != "CPUUtilization" || n.AlarmARN != AlarmARN("cpu") {
		t.Fatalf("notification %+v / %+v", env, n)
	}
	h.inst.set("i-1", 5)
	h.step()
	if st := h.state("cpu"); st.State != alarm.OK {
		t.Fatalf("after the load: %s, want OK", st.State)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no OK webhook")
	}
	h.svc.actions.Wait()
	hist, err := h.svc.History(context.Background(), "cpu", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, it := range hist {
		summaries = append(summaries, it.Type+": "+it.Summary)
	}
	joined := strings.Join(summaries, "\n")
	for _, want := range []string{`ConfigurationUpdate: Alarm "cpu" created`, "Alarm updated from INSUFFICIENT_DATA to OK",
		"Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK", "Action: Successfully executed action " + srv.URL} {
		if !strings.Contains(joined, want) {
			t.Errorf("history lacks %q:\n%s", want, joined)
		}
	}
	if hist[0].Timestamp.Before(hist[len(hist)-1].Timestamp) {
		t.Errorf("history is not newest first")
	}
}

func TestStatesAndHistorySurviveRestart(t *testing.T) {
	store := state.NewMemory()
	home := t.TempDir()
	h := newHarness(t, store, home)
	h.inst.set("i-1", 90)
	h.putRecord(AlarmPrefix+"cpu", cpuAlarm())
	h.step()
	h.step()
	before := h.state("cpu")
	if before.State != alarm.Alarm {
		t.Fatalf("state %s, want ALARM", before.State)
	}
	if err := h.svc.Close(); err != nil {
		t.Fatal(err)
	}
	h.start()
	after := h.state("cpu")
	if after.State != alarm.Alarm || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("after restart %+v, want %+v", after, before)
	}
	// The metric history is there too.
	id := metric.ID{Namespace: NamespaceEC2, Name: "CPUUtilization", Dimensions: []metric.Dimension{{Name: "InstanceId", Value: "i-1"}}}
	st, _ := metric.ParseStatistic("Maximum")
	now := h.clock()
	dps, err := h.svc.Statistics(metricstore.Query{ID: id, Start: now.Add(-time.Minute), End: now, Period: time.Second, Statistics: []metric.Statistic{st}})
	if err != nil || len(dps) != 2 {
		t.Fatalf("datapoints after restart: %v, %v; want 2", dps, err)
	}
}

func TestSetAlarmStateRunsCommand(t *testing.T) {
	h := newHarness(t, state.NewMemory(), t.TempDir())
	out := filepath.Join(t.TempDir(), "out")
	h.putRecord(AlarmPrefix+"cpu", cpuAlarm("command:cat > "+out+"; echo \"$ALARM_STATE\" >> "+out))
	if err := h.svc.SetAlarmState(context.Background(), "cpu", alarm.Alarm, "testing"); err != nil {
		t.Fatal(err)
	}
	h.svc.actions.Wait()
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"NewStateValue":"ALARM"`) || !strings.HasSuffix(strings.TrimSpace(string(b)), "ALARM") {
		t.Fatalf("command got %s", b)
	}
	if st := h.state("cpu"); st.State != alarm.Alarm || st.Reason != "testing" {
		t.Fatalf("state %+v", st)
	}
	for _, tt := range []struct {
		name, state, reason string
	}{{"nope", "ALARM", "x"}, {"cpu", "RED", "x"}, {"cpu", "OK", ""}} {
		if err := h.svc.SetAlarmState(context.Background(), tt.name, alarm.State(tt.state), tt.reason); err == nil {
			t.Errorf("SetAlarmState(%q, %q, %q) succeeded", tt.name, tt.state, tt.reason)
		}
	}
}

func TestCompositeAlarm(t *testing.T) {
	h := newHarness(t, state.NewMemory(), t.TempDir())
	h.inst.set("i-1", 90)
	h.putRecord(AlarmPrefix+"cpu", cpuAlarm())
	c := CompositeAlarmSpec{Name: "degraded", AlarmRule: `ALARM("cpu") AND NOT ALARM("other")`}
	c.Defaults()
	h.putRecord(CompositeAlarmPrefix+"degraded", &CompositeAlarm{Spec: c, ARN: AlarmARN("degraded"), UpdatedAt: time.Now()})
	h.step()
	h.step()
	if st := h.state("cpu"); st.State != alarm.Alarm {
		t.Fatalf("cpu %s", st.State)
	}
	if st := h.state("degraded"); st.State != alarm.Alarm && st.State != alarm.InsufficientData {
		t.Fatalf("degraded %s (%s)", st.State, st.Reason)
	}
	h.inst.set("i-1", 1)
	h.step()
	h.step()
	if st := h.state("degraded"); st.State == alarm.Alarm {
		t.Fatalf("degraded still ALARM after cpu recovered: %s", st.Reason)
	}
}

func TestPrometheusExposition(t *testing.T) {
	h := newHarness(t, state.NewMemory(), t.TempDir())
	h.inst.set("i-1", 42)
	h.step()
	srv := httptest.NewServer(h.svc.PrometheusHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`aws_ec2_cpu_utilization{auto_scaling_group_name="",instance_id="i-1"} 42`,
		`aws_ec2_cpu_utilization{auto_scaling_group_name="web",instance_id=""} 42`, "madang_daemon_goroutines"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("exposition lacks %q:\n%s", want, b)
		}
	}
}
