package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/dashboard"
	"github.com/madang-dev/madang/internal/top"
)

func topCmd(e *env) *cobra.Command {
	var dash string
	var interval time.Duration
	c := &cobra.Command{
		Use:   "top",
		Short: "Live full-screen view: instances, load balancers and alarms from CloudWatch's 1-second metrics",
		Long: "top shows every instance (CPU, memory, restarts, a CPU sparkline), every load balancer\n" +
			"(requests per second, p50/p99 target response time, 5XX, healthy/unhealthy targets) and every\n" +
			"alarm's state, refreshed every second. --dashboard NAME draws a stored CloudWatch dashboard.\n" +
			"Keys: q quits, tab switches panes, ↑/↓ select, s sorts instances.",
		Example: "  madang top\n  madang top --dashboard web",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval < 100*time.Millisecond {
				return usageErr(cmd, "--interval %v is too short; use 100ms or more", interval)
			}
			c := e.client()
			if _, err := c.Info(cmd.Context()); err != nil {
				return err
			}
			opts := top.Options{Interval: interval, AltScreen: true}
			if dash != "" {
				if _, err := c.Dashboard(cmd.Context(), dash); err != nil {
					return err
				}
				return top.RunDashboard(cmd.Context(), &dashSource{c: c, name: dash}, opts)
			}
			return top.Run(cmd.Context(), &topSource{c: c}, opts)
		},
	}
	c.Flags().StringVar(&dash, "dashboard", "", "draw this stored dashboard instead")
	c.Flags().DurationVar(&interval, "interval", time.Second, "refresh interval")
	return c
}

// topSource builds top's snapshots from the API: the instances, one
// GetMetricData call for their 1-second CPU and memory and the load
// balancers' traffic, target health and alarms.
type topSource struct {
	c *api.Client
}

func metricQuery(id, ns, name string, dims map[string]string, stat string, period int) v1.MetricDataQuery {
	q := v1.MetricDataQuery{ID: id, MetricStat: &v1.MetricStat{Period: period, Stat: stat}}
	q.MetricStat.Metric.Namespace, q.MetricStat.Metric.MetricName, q.MetricStat.Metric.Dimensions = ns, name, dims
	return q
}

// Snapshot implements top.Source.
func (s *topSource) Snapshot(ctx context.Context) (top.Snapshot, error) {
	now := time.Now()
	snap := top.Snapshot{At: now}
	ins, err := s.c.Instances(ctx)
	if err != nil {
		return top.Snapshot{At: now, Err: "daemon: " + err.Error()}, nil
	}
	lbs, err := s.c.LoadBalancers(ctx)
	if err != nil {
		return top.Snapshot{At: now, Err: "daemon: " + err.Error()}, nil
	}
	var qs []v1.MetricDataQuery
	var live []v1.Instance
	for _, in := range ins {
		if in.State == "terminated" {
			continue
		}
		live = append(live, in)
		d := map[string]string{"InstanceId": in.ID}
		n := strconv.Itoa(len(live) - 1)
		qs = append(qs, metricQuery("cpu"+n, "AWS/EC2", "CPUUtilization", d, "Average", 1),
			metricQuery("mem"+n, "AWS/EC2", "MemoryUtilization", d, "Average", 1))
	}
	for j, lb := range lbs {
		d := map[string]string{"LoadBalancer": lb.Spec.Name}
		n := strconv.Itoa(j)
		qs = append(qs, metricQuery("req"+n, "AWS/ApplicationELB", "RequestCount", d, "Sum", 1),
			metricQuery("pa"+n, "AWS/ApplicationELB", "TargetResponseTime", d, "p50", 1),
			metricQuery("pb"+n, "AWS/ApplicationELB", "TargetResponseTime", d, "p99", 1),
			metricQuery("ta"+n, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", d, "Sum", 1),
			metricQuery("ea"+n, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", d, "Sum", 1))
	}
	series := map[string]v1.MetricDataResult{}
	if len(qs) > 0 {
		res, err := s.c.GetMetricData(ctx, v1.GetMetricDataRequest{MetricDataQueries: qs, StartTime: now.Add(-61 * time.Second), EndTime: now})
		if err != nil {
			snap.Err = "metrics: " + err.Error()
		}
		for _, r := range res.MetricDataResults {
			series[r.ID] = r
		}
	}
	// The newest complete second, and per-second history with gaps as 0.
	second := now.Truncate(time.Second).Add(-time.Second)
	lastValue := func(id string) float64 {
		r := series[id]
		for i, t := range r.Timestamps {
			if t.Equal(second) || t.Equal(second.Add(-time.Second)) && i == len(r.Timestamps)-1 {
				return r.Values[i]
			}
		}
		return 0
	}
	history := func(id string) []float64 {
		r := series[id]
		byTime := map[int64]float64{}
		for i, t := range r.Timestamps {
			byTime[t.Unix()] = r.Values[i]
		}
		out := make([]float64, 0, 60)
		for t := second.Add(-59 * time.Second); !t.After(second); t = t.Add(time.Second) {
			out = append(out, byTime[t.Unix()])
		}
		return out
	}
	for i, in := range live {
		n := strconv.Itoa(i)
		name := in.Tags["Name"]
		snap.Instances = append(snap.Instances, top.Instance{ID: in.ID, Name: name, Group: in.Group, State: in.State,
			CPUPercent: in.CPUPercent, MemoryPercent: lastValue("mem" + n), MemoryBytes: in.MemoryBytes, Restarts: in.Restarts,
			CPUHistory: history("cpu" + n)})
	}
	for j, lb := range lbs {
		n := strconv.Itoa(j)
		row := top.LoadBalancer{Name: lb.Spec.Name, RequestsPerSecond: lastValue("req" + n), P50: lastValue("pa" + n), P99: lastValue("pb" + n),
			Count5XX: lastValue("ta"+n) + lastValue("ea"+n), RPSHistory: history("req" + n)}
		for _, tg := range lbTargetGroups(lb) {
			ths, err := s.c.TargetHealth(ctx, tg)
			if err != nil {
				continue
			}
			for _, th := range ths {
				switch th.State {
				case "healthy":
					row.Healthy++
				case "draining", "unused":
				default:
					row.Unhealthy++
				}
			}
		}
		snap.LoadBalancers = append(snap.LoadBalancers, row)
	}
	alarms, err := s.c.Alarms(ctx)
	if err == nil {
		for _, a := range alarms {
			snap.Alarms = append(snap.Alarms, top.Alarm{Name: a.Name, State: a.State.State, Reason: a.State.Reason, Since: a.State.UpdatedAt})
		}
	}
	return snap, nil
}

// lbTargetGroups lists the target groups a load balancer forwards to.
func lbTargetGroups(lb v1.LoadBalancer) []string {
	seen := map[string]bool{}
	var out []string
	b, _ := json.Marshal(lb.Spec)
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if k == "targetGroup" {
					if name, ok := x.(string); ok && name != "" && !seen[name] {
						seen[name] = true
						out = append(out, name)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	var v any
	_ = json.Unmarshal(b, &v)
	walk(v)
	sort.Strings(out)
	return out
}

// dashSource feeds a stored dashboard to top.RunDashboard.
type dashSource struct {
	c    *api.Client
	name string
	body *dashboard.Body
}

// Dashboard implements top.DashboardSource.
func (s *dashSource) Dashboard(ctx context.Context) (*dashboard.Body, error) {
	d, err := s.c.Dashboard(ctx, s.name)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(d.Body)
	if err != nil {
		return nil, err
	}
	b, err := dashboard.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", s.name, err)
	}
	s.body = b
	return b, nil
}

// autoPeriod picks a period giving at most about 300 points over the
// range, as the console's auto period does.
func autoPeriod(span time.Duration) int {
	for _, p := range []int{1, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400} {
		if span/time.Duration(p)/time.Second <= 300 {
			return p
		}
	}
	return 86400
}

// Series implements top.DashboardSource.
func (s *dashSource) Series(ctx context.Context, w int, start, end time.Time) ([]top.Series, error) {
	if s.body == nil || w < 0 || w >= len(s.body.Widgets) {
		return nil, nil
	}
	wd := s.body.Widgets[w]
	rows := s.body.Rows(w)
	period := autoPeriod(end.Sub(start))
	if s.body.PeriodOverride == "inherit" && wd.Properties.Period > 0 {
		period = wd.Properties.Period
	}
	var qs []v1.MetricDataQuery
	for i, r := range rows {
		id := r.ID
		if id == "" {
			id = "r" + strconv.Itoa(i)
		}
		visible := r.Visible
		q := v1.MetricDataQuery{ID: id, Label: r.Label, ReturnData: &visible}
		if r.Expression != "" {
			q.Expression = r.Expression
		} else {
			stat := firstNonEmpty(r.Stat, wd.Properties.Stat, "Average")
			p := period
			if r.Period > 0 && s.body.PeriodOverride == "inherit" {
				p = r.Period
			}
			dims := map[string]string{}
			for _, d := range r.Dimensions {
				dims[d.Name] = d.Value
			}
			q.MetricStat = metricQuery(id, r.Namespace, r.MetricName, dims, stat, p).MetricStat
			if q.Label == "" {
				q.Label = r.MetricName
				if len(r.Dimensions) > 0 {
					q.Label += " " + r.Dimensions[len(r.Dimensions)-1].Value
				}
			}
		}
		qs = append(qs, q)
	}
	if len(qs) == 0 {
		return nil, nil
	}
	res, err := s.c.GetMetricData(ctx, v1.GetMetricDataRequest{MetricDataQueries: qs, StartTime: start, EndTime: end})
	if err != nil {
		return nil, err
	}
	out := make([]top.Series, 0, len(res.MetricDataResults))
	for _, r := range res.MetricDataResults {
		out = append(out, top.Series{Label: r.Label, Times: r.Timestamps, Values: r.Values})
	}
	return out, nil
}

// Alarms implements top.AlarmLister: the states of an alarm widget's
// alarms (by ARN or name).
func (s *dashSource) Alarms(ctx context.Context, w int) ([]top.Alarm, error) {
	if s.body == nil || w < 0 || w >= len(s.body.Widgets) {
		return nil, nil
	}
	all, err := s.c.Alarms(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]v1.Alarm{}
	for _, a := range all {
		byName[a.Name] = a
	}
	var out []top.Alarm
	for _, ref := range s.body.Widgets[w].Properties.Alarms {
		name := ref[strings.LastIndexByte(ref, ':')+1:]
		a, ok := byName[name]
		if !ok {
			out = append(out, top.Alarm{Name: name, State: top.StateInsufficientData, Reason: "no such alarm"})
			continue
		}
		out = append(out, top.Alarm{Name: a.Name, State: a.State.State, Reason: a.State.Reason, Since: a.State.UpdatedAt})
	}
	return out, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
