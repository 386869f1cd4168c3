package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/state"
)

func cloudWatchServer(t *testing.T) *api.Server {
	t.Helper()
	cw, err := cloudwatch.New(context.Background(), cloudwatch.Options{Home: t.TempDir(), Store: state.NewMemory(), Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cw.Close() })
	return &api.Server{CloudWatch: cw}
}

func TestCloudWatchRoutes(t *testing.T) {
	h := cloudWatchServer(t).Handler()
	now := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Minute)
	put := fmt.Sprintf(`{"namespace":"Shop","metricData":[
		{"metricName":"Orders","dimensions":[{"name":"Shop","value":"seoul"}],"timestamp":%q,"value":3,"unit":"Count"},
		{"metricName":"Orders","dimensions":[{"name":"Shop","value":"seoul"}],"timestamp":%q,"values":[1,2],"counts":[1,3],"unit":"Count"},
		{"metricName":"Latency","timestamp":%q,"statisticValues":{"sampleCount":4,"sum":40,"minimum":5,"maximum":20},"unit":"Milliseconds"}]}`,
		now.Format(time.RFC3339), now.Add(10*time.Second).Format(time.RFC3339), now.Format(time.RFC3339))
	if resp, b := do(t, h, "POST", "/v1/metrics/data", put); resp.StatusCode != 204 {
		t.Fatalf("put: %d %s", resp.StatusCode, b)
	}
	stats := fmt.Sprintf(`{"namespace":"Shop","metricName":"Orders","dimensions":[{"name":"Shop","value":"seoul"}],
		"startTime":%q,"endTime":%q,"period":60,"statistics":["Sum","SampleCount","Maximum"],"extendedStatistics":["p50"]}`,
		now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339))
	resp, b := do(t, h, "POST", "/v1/metrics/statistics", stats)
	if resp.StatusCode != 200 {
		t.Fatalf("statistics: %d %s", resp.StatusCode, b)
	}
	var got v1.GetMetricStatisticsResponse
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Datapoints) != 1 {
		t.Fatalf("datapoints %s", b)
	}
	dp := got.Datapoints[0]
	// 3 + 1×1 + 2×3 = 10 over 1 + 1 + 3 = 5 samples.
	if *dp.Sum != 10 || *dp.SampleCount != 5 || *dp.Maximum != 3 || dp.ExtendedStatistics["p50"] < 1.9 || dp.ExtendedStatistics["p50"] > 2.1 {
		t.Fatalf("datapoint %s", b)
	}
	resp, b = do(t, h, "GET", "/v1/metrics/list?namespace=Shop&dimension=Shop", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"metricName":"Orders"`) || strings.Contains(string(b), "Latency") {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}
	query := fmt.Sprintf(`{"startTime":%q,"endTime":%q,"metricDataQueries":[
		{"id":"m1","metricStat":{"metric":{"namespace":"Shop","metricName":"Orders","dimensions":{"Shop":"seoul"}},"period":60,"stat":"Sum"},"returnData":false},
		{"id":"e1","expression":"m1 * 2","label":"double"}]}`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339))
	resp, b = do(t, h, "POST", "/v1/metrics/query", query)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"values":[20]`) || !strings.Contains(string(b), `"label":"double"`) {
		t.Fatalf("query: %d %s", resp.StatusCode, b)
	}

	bad := []struct {
		name, method, path, body, substr string
		status                           int
	}{
		{"AWS namespace", "POST", "/v1/metrics/data", `{"namespace":"AWS/EC2","metricData":[{"metricName":"X","value":1}]}`, "reserved", 400},
		{"two values", "POST", "/v1/metrics/data", `{"namespace":"A","metricData":[{"metricName":"X","value":1,"values":[1]}]}`, "metricData[0]", 400},
		{"bad unit", "POST", "/v1/metrics/data", `{"namespace":"A","metricData":[{"metricName":"X","value":1,"unit":"Parsecs"}]}`, "Parsecs", 400},
		{"bad period", "POST", "/v1/metrics/statistics", `{"namespace":"A","metricName":"X","startTime":"2026-12-01T00:00:00Z","endTime":"2026-12-01T01:00:00Z","period":7,"statistics":["Sum"]}`, "eriod", 400},
		{"no statistic", "POST", "/v1/metrics/statistics", `{"namespace":"A","metricName":"X","startTime":"2026-12-01T00:00:00Z","endTime":"2026-12-01T01:00:00Z","period":60}`, "statistics", 400},
		{"bad statistic", "POST", "/v1/metrics/statistics", `{"namespace":"A","metricName":"X","startTime":"2026-12-01T00:00:00Z","endTime":"2026-12-01T01:00:00Z","period":60,"statistics":["Median"]}`, "Median", 400},
		{"bad expression", "POST", "/v1/metrics/query", `{"startTime":"2026-12-01T00:00:00Z","endTime":"2026-12-01T01:00:00Z","metricDataQueries":[{"id":"e1","expression":"1 +"}]}`, "expression", 400},
		{"no datums", "POST", "/v1/metrics/data", `{"namespace":"A","metricData":[]}`, "1 to 1000", 400},
		{"no queries", "POST", "/v1/metrics/query", `{"startTime":"2026-12-01T00:00:00Z","endTime":"2026-12-01T01:00:00Z","metricDataQueries":[]}`, "1 to 500", 400},
		{"bad recentlyActive", "GET", "/v1/metrics/list?recentlyActive=PT1H", "", "PT3H", 400},
		{"unknown alarm", "GET", "/v1/alarms/nope", "", "no alarm", 404},
		{"set unknown alarm", "POST", "/v1/alarms/nope/state", `{"stateValue":"ALARM","stateReason":"x"}`, "no alarm", 404},
		{"unknown dashboard", "GET", "/v1/dashboards/nope", "", "no dashboard", 404},
		{"bad history type", "GET", "/v1/alarm-history?type=Everything", "", "StateUpdate", 400},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := do(t, h, tt.method, tt.path, tt.body)
			var body v1.ErrorBody
			_ = json.Unmarshal(b, &body)
			if resp.StatusCode != tt.status || !strings.Contains(body.Error.Message, tt.substr) {
				t.Fatalf("%s %s: %d %s, want %d with %q", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.substr)
			}
			if tt.status == 400 && body.Error.Code != v1.CodeValidation {
				t.Fatalf("code %q, want %q", body.Error.Code, v1.CodeValidation)
			}
		})
	}
}
