package api

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
)

// PutMetricData stores custom metrics.
func (c *Client) PutMetricData(ctx context.Context, req v1.PutMetricDataRequest) error {
	return c.do(ctx, "POST", "/v1/metrics/data", req, nil)
}

// GetMetricStatistics queries one metric's statistics per period.
func (c *Client) GetMetricStatistics(ctx context.Context, req v1.GetMetricStatisticsRequest) (v1.GetMetricStatisticsResponse, error) {
	var v v1.GetMetricStatisticsResponse
	return v, c.do(ctx, "POST", "/v1/metrics/statistics", req, &v)
}

// GetMetricData runs metric queries and expressions.
func (c *Client) GetMetricData(ctx context.Context, req v1.GetMetricDataRequest) (v1.GetMetricDataResponse, error) {
	var v v1.GetMetricDataResponse
	return v, c.do(ctx, "POST", "/v1/metrics/query", req, &v)
}

// ListMetrics lists metrics: namespace and name ("" any), dimension
// filters "Name" or "Name=Value", recentlyActive "" or "PT3H".
func (c *Client) ListMetrics(ctx context.Context, namespace, name string, dims []string, recentlyActive string) ([]v1.MetricID, error) {
	q := url.Values{}
	if namespace != "" {
		q.Set("namespace", namespace)
	}
	if name != "" {
		q.Set("metricName", name)
	}
	for _, d := range dims {
		q.Add("dimension", d)
	}
	if recentlyActive != "" {
		q.Set("recentlyActive", recentlyActive)
	}
	var v []v1.MetricID
	return v, c.do(ctx, "GET", "/v1/metrics/list?"+q.Encode(), nil, &v)
}

// MetricsStatus describes the collector and the metric store.
func (c *Client) MetricsStatus(ctx context.Context) (v1.CollectorStatus, error) {
	var v v1.CollectorStatus
	return v, c.do(ctx, "GET", "/v1/metrics/status", nil, &v)
}

// Alarms lists alarms with their states.
func (c *Client) Alarms(ctx context.Context) ([]v1.Alarm, error) {
	var v []v1.Alarm
	return v, c.do(ctx, "GET", "/v1/alarms", nil, &v)
}

// Alarm describes one alarm.
func (c *Client) Alarm(ctx context.Context, name string) (v1.Alarm, error) {
	var v v1.Alarm
	return v, c.do(ctx, "GET", "/v1/alarms/"+url.PathEscape(name), nil, &v)
}

// AlarmHistory returns an alarm's history (every alarm's when name is
// empty), newest first.
func (c *Client) AlarmHistory(ctx context.Context, name, typ string, limit int) ([]v1.AlarmHistoryItem, error) {
	q := url.Values{}
	if typ != "" {
		q.Set("type", typ)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/alarm-history?"
	if name != "" {
		path = "/v1/alarms/" + url.PathEscape(name) + "/history?"
	}
	var v []v1.AlarmHistoryItem
	return v, c.do(ctx, "GET", path+q.Encode(), nil, &v)
}

// SetAlarmState sets an alarm's state until its next evaluation.
func (c *Client) SetAlarmState(ctx context.Context, name, state, reason string) error {
	return c.do(ctx, "POST", "/v1/alarms/"+url.PathEscape(name)+"/state", v1.SetAlarmStateRequest{StateValue: state, StateReason: reason}, nil)
}

// Dashboards lists dashboards.
func (c *Client) Dashboards(ctx context.Context) ([]v1.Dashboard, error) {
	var v []v1.Dashboard
	return v, c.do(ctx, "GET", "/v1/dashboards", nil, &v)
}

// Dashboard returns one dashboard.
func (c *Client) Dashboard(ctx context.Context, name string) (v1.Dashboard, error) {
	var v v1.Dashboard
	return v, c.do(ctx, "GET", "/v1/dashboards/"+url.PathEscape(name), nil, &v)
}

// LogGroups lists the log groups.
func (c *Client) LogGroups(ctx context.Context) ([]v1.LogGroup, error) {
	var v []v1.LogGroup
	return v, c.do(ctx, "GET", "/v1/logs/groups", nil, &v)
}

// LogQuery selects log events (FilterLogEvents); Follow keeps streaming
// new ones until ctx ends.
type LogQuery struct {
	Groups, Streams []string
	Filter          string
	Start, End      time.Time
	Limit           int
	Follow          bool
}

// LogEvents streams the events of q to fn.
func (c *Client) LogEvents(ctx context.Context, q LogQuery, fn func(v1.LogEvent)) error {
	v := url.Values{}
	for _, g := range q.Groups {
		v.Add("group", g)
	}
	for _, s := range q.Streams {
		v.Add("stream", s)
	}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if !q.Start.IsZero() {
		v.Set("start", q.Start.UTC().Format(time.RFC3339Nano))
	}
	if !q.End.IsZero() {
		v.Set("end", q.End.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Follow {
		v.Set("follow", "1")
	}
	return stream(ctx, c, "/v1/logs/events?"+v.Encode(), fn)
}
