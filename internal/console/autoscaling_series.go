package console

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
)

// asgChart is the JSON the console's charts draw: timestamps in unix
// seconds and one or more series of values (null: no datapoint).
type asgChart struct {
	Unit       string           `json:"unit"`
	Timestamps []int64          `json:"timestamps"`
	Series     []asgChartSeries `json:"series"`
	Threshold  *float64         `json:"threshold,omitempty"`
}

type asgChartSeries struct {
	Label  string     `json:"label"`
	Values []*float64 `json:"values"`
}

// asgMetric is one metric of a group's chart.
type asgMetric struct {
	Namespace, Name, Label string
}

// asgCharts are the group's charts (?metric=): the group metrics AWS
// publishes under AWS/AutoScaling, and the members' CPU under AWS/EC2 by
// AutoScalingGroupName.
var asgCharts = map[string]struct {
	Unit    string
	Metrics []asgMetric
}{
	"capacity": {"Count", []asgMetric{
		{"AWS/AutoScaling", "GroupDesiredCapacity", "GroupDesiredCapacity"},
		{"AWS/AutoScaling", "GroupInServiceInstances", "GroupInServiceInstances"},
	}},
	"cpu": {"Percent", []asgMetric{{"AWS/EC2", "CPUUtilization", "CPUUtilization (Average)"}}},
}

// asgSeriesWindow and asgSeriesPeriod are the span of a group's charts
// and their period, as the AWS console's monitoring tab (1 hour, 1 minute).
const (
	asgSeriesWindow = time.Hour
	asgSeriesPeriod = 60
)

// asgSeries serves GET /autoscaling/groups/{name}/series?metric=capacity|cpu.
func (s *Server) asgSeries(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	chart, ok := asgCharts[r.URL.Query().Get("metric")]
	if !ok {
		asgJSONError(w, http.StatusBadRequest, "metric must be capacity or cpu")
		return
	}
	g, err := s.api.AutoScalingGroup(r.Context(), name)
	if err != nil {
		asgJSONFail(w, err)
		return
	}
	out, err := s.asgChartOf(r.Context(), name, chart.Unit, chart.Metrics)
	if err != nil {
		asgJSONFail(w, err)
		return
	}
	if chart.Unit == "Percent" {
		out.Threshold = asgCPUTarget(g)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// asgChartOf reads each metric's averages over the window and lines
// them up on the union of their timestamps.
func (s *Server) asgChartOf(ctx context.Context, group, unit string, metrics []asgMetric) (asgChart, error) {
	end := s.now().UTC().Truncate(time.Minute).Add(time.Minute)
	byMetric := make([]map[int64]float64, len(metrics))
	stamps := map[int64]bool{}
	for i, m := range metrics {
		resp, err := s.api.GetMetricStatistics(ctx, v1.GetMetricStatisticsRequest{
			Namespace: m.Namespace, MetricName: m.Name, Dimensions: []v1.Dimension{{Name: "AutoScalingGroupName", Value: group}},
			StartTime: end.Add(-asgSeriesWindow), EndTime: end, Period: asgSeriesPeriod, Statistics: []string{"Average"},
		})
		if err != nil {
			return asgChart{}, err
		}
		byMetric[i] = map[int64]float64{}
		for _, dp := range resp.Datapoints {
			if dp.Average == nil {
				continue
			}
			ts := dp.Timestamp.Unix()
			byMetric[i][ts] = *dp.Average
			stamps[ts] = true
		}
	}
	out := asgChart{Unit: unit, Timestamps: make([]int64, 0, len(stamps))}
	for ts := range stamps {
		out.Timestamps = append(out.Timestamps, ts)
	}
	slices.Sort(out.Timestamps)
	for i, m := range metrics {
		se := asgChartSeries{Label: m.Label, Values: make([]*float64, len(out.Timestamps))}
		for j, ts := range out.Timestamps {
			if v, ok := byMetric[i][ts]; ok {
				se.Values[j] = &v
			}
		}
		out.Series = append(out.Series, se)
	}
	return out, nil
}

// asgCPUTarget is the target value of the group's enabled target
// tracking policy on average CPU, if it has one: the chart's threshold.
func asgCPUTarget(g v1.AutoScalingGroup) *float64 {
	for _, p := range g.ScalingPolicies {
		if tt := p.TargetTracking; p.Enabled && tt != nil && tt.PredefinedMetricType == "ASGAverageCPUUtilization" {
			v := tt.TargetValue
			return &v
		}
	}
	return nil
}

// asgJSONFail answers a failed API call of a JSON endpoint with the API's
// status, message and hint.
func asgJSONFail(w http.ResponseWriter, err error) {
	status := http.StatusBadGateway
	var ae *apiError
	if asAPIError(err, &ae) {
		status = ae.Status
	}
	msg, hint := apiMessage(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "hint": hint})
}

func asgJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
