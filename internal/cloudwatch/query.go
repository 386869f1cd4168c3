package cloudwatch

import (
	"fmt"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/logfilter"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/metricmath"
	"github.com/madang-dev/madang/internal/metricstore"
)

// MetricDataResult is one entry's result of GetMetricData.
type MetricDataResult struct {
	ID         string      `json:"id"`
	Label      string      `json:"label"`
	Timestamps []time.Time `json:"timestamps"`
	Values     []float64   `json:"values"`
	// StatusCode is Complete (madang returns every datapoint at once).
	StatusCode string `json:"statusCode"`
	returned   bool
}

// GetMetricData's and PutMetricData's limits per call.
const (
	maxDataPoints = 100800
	maxQueries    = 500
	maxPutMetrics = 1000
)

// GetMetricData runs metric queries and metric-math expressions over
// [start, end); period is the default for expressions without one. It
// returns the entries that return data, in the order given.
func (s *Service) GetMetricData(queries []MetricQuery, start, end time.Time, period time.Duration) ([]MetricDataResult, error) {
	if len(queries) == 0 || len(queries) > maxQueries {
		return nil, fmt.Errorf("metricDataQueries has %d entries: give 1 to %d, as GetMetricData", len(queries), maxQueries)
	}
	var errs fielderr.List
	validateQueries("metricDataQueries", queries, false, &errs)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if !start.Before(end) {
		return nil, fmt.Errorf("startTime %s is not before endTime %s: give a start earlier than the end", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	env := metricmath.Env{Series: map[string][]metricmath.Series{}, Expressions: map[string]bool{}, Period: period, Start: start, End: end}
	exprs := map[string]*metricmath.Expr{}
	var metricIDs []string
	byID := map[string]MetricQuery{}
	total := 0
	for _, q := range queries {
		byID[q.ID] = q
		env.Order = append(env.Order, q.ID)
		if q.MetricStat == nil {
			e, _ := metricmath.Parse(q.Expression)
			exprs[q.ID] = e
			env.Expressions[q.ID] = true
			continue
		}
		metricIDs = append(metricIDs, q.ID)
		st, _ := metric.ParseStatistic(q.MetricStat.Stat)
		p := time.Duration(q.MetricStat.Period) * time.Second
		if env.Period == 0 || p < env.Period {
			env.Period = p
		}
		times, values, _, err := s.metrics.Series(q.MetricStat.Metric.ID(), st, start, end, p)
		if err != nil {
			return nil, fmt.Errorf("metricDataQueries %s: %w", q.ID, err)
		}
		total += len(times)
		label := q.Label
		if label == "" {
			label = q.MetricStat.Metric.MetricName
		}
		env.Series[q.ID] = []metricmath.Series{{ID: q.ID, Label: label, Timestamps: times, Values: values}}
	}
	if total > maxDataPoints {
		return nil, fmt.Errorf("the queries return %d datapoints, more than GetMetricData's %d: shorten the range or lengthen the period", total, maxDataPoints)
	}
	order, err := metricmath.Order(exprs, metricIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range order {
		e, ok := exprs[id]
		if !ok {
			continue
		}
		out, err := metricmath.Eval(e, env)
		if err != nil {
			return nil, fmt.Errorf("metricDataQueries %s: %w", id, err)
		}
		if l := byID[id].Label; l != "" && len(out) == 1 {
			out[0].Label = l
		}
		env.Series[id] = out
	}
	var res []MetricDataResult
	for _, q := range queries {
		if !q.Returns() {
			continue
		}
		for _, sr := range env.Series[q.ID] {
			label := sr.Label
			if label == "" {
				label = q.ID
			}
			res = append(res, MetricDataResult{ID: q.ID, Label: label, Timestamps: sr.Timestamps, Values: sr.Values,
				StatusCode: "Complete", returned: true})
		}
	}
	return res, nil
}

// Statistics answers GetMetricStatistics.
func (s *Service) Statistics(q metricstore.Query) ([]metricstore.Datapoint, error) {
	return s.metrics.Statistics(q)
}

// ListMetrics answers ListMetrics.
func (s *Service) ListMetrics(f metricstore.Filter) []metric.ID { return s.metrics.List(f) }

// PutMetricData stores custom metrics: CloudWatch's rules, and no AWS/
// namespaces. Nothing is stored when any datum is wrong.
func (s *Service) PutMetricData(data []metric.Datum) error {
	if len(data) == 0 || len(data) > maxPutMetrics {
		return &metric.Error{Code: metric.CodeInvalidValue, Field: "MetricData",
			Message: fmt.Sprintf("has %d datums; PutMetricData takes 1 to %d per call: split the call", len(data), maxPutMetrics)}
	}
	now := s.opts.Now()
	for i := range data {
		if err := data[i].ValidateCustom(now); err != nil {
			return fmt.Errorf("metricData[%d]: %w", i, err)
		}
	}
	return s.metrics.Put(data)
}

func parsePattern(p string) (*logfilter.Pattern, error) { return logfilter.Parse(p) }
