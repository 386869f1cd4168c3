package top

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/dashboard"
)

// fakeSource is a Source whose numbers change at every snapshot: the
// n-th snapshot has web-alb at 100+n requests a second.
type fakeSource struct {
	mu sync.Mutex
	n  int
}

func (f *fakeSource) Snapshot(context.Context) (Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return fakeSnapshot(f.n, time.Now()), nil
}

// fakeSnapshot is the n-th snapshot. The CPU order of the instances is
// i-0b2, i-0a1, i-0c3, i-0d4 whatever n; memory order i-0c3, i-0a1,
// i-0b2, i-0d4; name order i-0a1 (api-1), i-0d4 (batch-1), i-0b2
// (web-2), i-0c3 (worker-1).
func fakeSnapshot(n int, at time.Time) Snapshot {
	hist := func(base float64) []float64 {
		var h []float64
		for k := max(n-60, 0); k < n; k++ {
			h = append(h, base+10*math.Sin(float64(k)/3))
		}
		return h
	}
	const mib = 1 << 20
	return Snapshot{
		At: at,
		Instances: []Instance{
			{ID: "i-0a1", Name: "api-1", Group: "api", State: "running", CPUPercent: 40 + float64(n%10),
				MemoryPercent: 40, MemoryBytes: 400 * mib, Restarts: 1, CPUHistory: hist(40)},
			{ID: "i-0b2", Name: "web-2", Group: "web", State: "running", CPUPercent: 70 + float64(n%10),
				MemoryPercent: 10, MemoryBytes: 100 * mib, CPUHistory: hist(70)},
			{ID: "i-0c3", Name: "worker-1", Group: "jobs", State: "running", CPUPercent: 10 + float64(n%10),
				MemoryPercent: 80, MemoryBytes: 800 * mib, Restarts: 3, CPUHistory: hist(10)},
			{ID: "i-0d4", Name: "batch-1", Group: "jobs", State: "stopped"},
		},
		LoadBalancers: []LoadBalancer{
			{Name: "web-alb", RequestsPerSecond: float64(100 + n), P50: 0.012, P99: 0.25, Count5XX: float64(n % 3),
				Healthy: 2, RPSHistory: hist(100)},
			{Name: "api-alb", RequestsPerSecond: 50, P50: 0.004, P99: 0.040, Healthy: 1, Unhealthy: 1, RPSHistory: hist(50)},
		},
		Alarms: []Alarm{
			{Name: "api-5xx", State: StateOK, Reason: "Threshold Crossed: no datapoints were greater than 5.0", Since: at.Add(-time.Hour)},
			{Name: "high-cpu", State: StateAlarm, Reason: "Threshold Crossed: 1 datapoint [85.0] was greater than the threshold (80.0)", Since: at.Add(-2 * time.Minute)},
			{Name: "disk-full", State: StateInsufficientData, Reason: "Insufficient Data: no datapoints", Since: at.Add(-30 * time.Second)},
		},
	}
}

// fakeDashboardBody has a timeSeries, a singleValue, a text and an alarm
// widget.
const fakeDashboardBody = `{
  "start": "-PT5M",
  "widgets": [
    {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
      "title": "CPU utilization", "view": "timeSeries",
      "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-0a1"], [".", ".", ".", "i-0b2"]]}},
    {"type": "metric", "x": 12, "y": 0, "width": 12, "height": 3, "properties": {
      "title": "Requests", "view": "singleValue", "stat": "Sum",
      "metrics": [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/web-alb/1"]]}},
    {"type": "text", "x": 12, "y": 3, "width": 6, "height": 3, "properties": {
      "markdown": "# Runbook\nPage **on-call** when high-cpu fires."}},
    {"type": "alarm", "x": 18, "y": 3, "width": 6, "height": 3, "properties": {
      "title": "Alarms", "alarms": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:high-cpu",
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-5xx"]}}
  ]
}`

// fakeDashboard is a DashboardSource (and AlarmLister) whose request
// count is 1000+n at the n-th refresh.
type fakeDashboard struct {
	mu   sync.Mutex
	n    int
	body *dashboard.Body
}

func newFakeDashboard() (*fakeDashboard, error) {
	b, err := dashboard.Parse([]byte(fakeDashboardBody))
	if err != nil {
		return nil, err
	}
	return &fakeDashboard{body: b}, nil
}

func (f *fakeDashboard) Dashboard(context.Context) (*dashboard.Body, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return f.body, nil
}

func (f *fakeDashboard) Series(_ context.Context, w int, start, end time.Time) ([]Series, error) {
	f.mu.Lock()
	n := f.n
	f.mu.Unlock()
	var out []Series
	for k, r := range f.body.Rows(w) {
		s := Series{Label: r.Dimensions[0].Value}
		const points = 30
		for p := range points {
			s.Times = append(s.Times, start.Add(time.Duration(p)*end.Sub(start)/points))
			if w == 1 {
				s.Values = append(s.Values, float64(1000+n))
			} else {
				s.Values = append(s.Values, 50+30*math.Sin(float64(p+n+10*k)/4))
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func (f *fakeDashboard) Alarms(context.Context, int) ([]Alarm, error) {
	return []Alarm{{Name: "high-cpu", State: StateAlarm}, {Name: "api-5xx", State: StateOK}}, nil
}
