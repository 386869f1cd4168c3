package cloudwatch

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	cw "github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/metricstore"
)

// CloudWatch's limits on metric calls.
const (
	maxPutDatums       = 1000
	maxStatistics      = 5
	maxExtended        = 10
	listMetricsPage    = 500
	defaultMaxPoints   = 100800
	recentlyActiveSpan = 3 * time.Hour
)

func (s *Service) putMetricData(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ns := in.String("Namespace")
	if ns == "" {
		return nil, protocol.Errorf("MissingParameter", "The parameter Namespace is required; give your metrics' namespace, e.g. MyApp")
	}
	items := in.Structs("MetricData")
	switch {
	case len(items) == 0:
		return nil, protocol.Errorf("MissingParameter", "The parameter MetricData is required; give 1 to %d datums", maxPutDatums)
	case len(items) > maxPutDatums:
		return nil, protocol.Errorf("InvalidParameterValue", "The collection MetricData must not have a size greater than %d; %d were given: split the call", maxPutDatums, len(items))
	}
	data := make([]metric.Datum, len(items))
	for i, d := range items {
		md := metric.Datum{ID: metric.ID{Namespace: ns, Name: d.String("MetricName")},
			Unit: d.String("Unit"), Timestamp: d.Time("Timestamp"), Values: d.Floats("Values"), Counts: d.Floats("Counts"),
			StorageResolution: int(d.Int("StorageResolution"))}
		for _, dim := range d.Structs("Dimensions") {
			md.Dimensions = append(md.Dimensions, metric.Dimension{Name: dim.String("Name"), Value: dim.String("Value")})
		}
		if d.Has("Value") {
			v := d.Float("Value")
			md.Value = &v
		}
		if d.Has("StatisticValues") {
			sv := d.Struct("StatisticValues")
			md.StatisticValues = &metric.StatSet{SampleCount: sv.Float("SampleCount"), Sum: sv.Float("Sum"),
				Minimum: sv.Float("Minimum"), Maximum: sv.Float("Maximum")}
		}
		data[i] = md
	}
	if err := s.mon.PutMetricData(data); err != nil {
		return nil, invalidValue(err)
	}
	return map[string]any{}, nil
}

// invalidValue maps err, calling InvalidParameterValue what is no
// CloudWatch error yet (the service's checks of a request).
func invalidValue(err error) error {
	mapped := cwError(err)
	if _, ok := mapped.(*protocol.Error); ok {
		return mapped
	}
	return protocol.Errorf("InvalidParameterValue", "%s", err.Error())
}

// statistics reads Statistics and ExtendedStatistics.
func statistics(in protocol.Struct) ([]metric.Statistic, error) {
	simple, ext := in.Strings("Statistics"), in.Strings("ExtendedStatistics")
	switch {
	case len(simple)+len(ext) == 0:
		return nil, protocol.Errorf("MissingParameter", "Must specify either Statistics or ExtendedStatistics")
	case len(simple) > maxStatistics:
		return nil, protocol.Errorf("InvalidParameterValue", "The collection Statistics must not have a size greater than %d", maxStatistics)
	case len(ext) > maxExtended:
		return nil, protocol.Errorf("InvalidParameterValue", "The collection ExtendedStatistics must not have a size greater than %d", maxExtended)
	}
	var out []metric.Statistic
	for i, name := range simple {
		st, err := metric.ParseStatistic(name)
		if err != nil || st.Extended() {
			return nil, protocol.Errorf("InvalidParameterValue", "The parameter Statistics.member.%d '%s' is not a statistic; use SampleCount, Average, Sum, Minimum or Maximum (percentiles go in ExtendedStatistics)", i+1, name)
		}
		out = append(out, st)
	}
	for i, name := range ext {
		st, err := metric.ParseStatistic(name)
		if err != nil || !st.Extended() {
			return nil, protocol.Errorf("InvalidParameterValue", "The parameter ExtendedStatistics.member.%d '%s' is not an extended statistic; use a percentile such as p99 or a trimmed statistic such as tm90", i+1, name)
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *Service) getMetricStatistics(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	for _, f := range []string{"Namespace", "MetricName", "StartTime", "EndTime", "Period"} {
		if !in.Has(f) {
			return nil, protocol.Errorf("MissingParameter", "The parameter %s is required", f)
		}
	}
	stats, err := statistics(in)
	if err != nil {
		return nil, err
	}
	dims, err := dimensions(in, "Dimensions")
	if err != nil {
		return nil, err
	}
	q := metricstore.Query{ID: cw.MetricRef{Namespace: in.String("Namespace"), MetricName: in.String("MetricName"), Dimensions: dims}.ID(),
		Start: in.Time("StartTime"), End: in.Time("EndTime"), Period: time.Duration(in.Int("Period")) * time.Second,
		Statistics: stats, Unit: in.String("Unit")}
	dps, err := s.mon.Statistics(q)
	if err != nil {
		return nil, invalidValue(err)
	}
	out := make([]any, 0, len(dps))
	for _, dp := range dps {
		d := map[string]any{"Timestamp": dp.Timestamp}
		if dp.Unit != "" {
			d["Unit"] = dp.Unit
		}
		ext := map[string]any{}
		for _, st := range stats {
			v, ok := dp.Values[st.String()]
			if !ok {
				continue
			}
			if st.Extended() {
				ext[st.String()] = v
			} else {
				d[st.String()] = v
			}
		}
		if len(ext) > 0 {
			d["ExtendedStatistics"] = ext
		}
		out = append(out, d)
	}
	return map[string]any{"Label": in.String("MetricName"), "Datapoints": out}, nil
}

// metricQueries reads GetMetricData's and PutMetricAlarm's MetricDataQuery
// lists.
func metricQueries(items []protocol.Struct, field string) ([]cw.MetricQuery, error) {
	qs := make([]cw.MetricQuery, len(items))
	for i, q := range items {
		qs[i] = cw.MetricQuery{ID: q.String("Id"), Expression: q.String("Expression"), Label: q.String("Label"), Period: int(q.Int("Period"))}
		if q.Has("ReturnData") {
			b := q.Bool("ReturnData")
			qs[i].ReturnData = &b
		}
		if q.Has("MetricStat") {
			ms := q.Struct("MetricStat")
			m := ms.Struct("Metric")
			dims, err := dimensions(m, field+".member."+itoa(i+1)+".MetricStat.Metric.Dimensions")
			if err != nil {
				return nil, err
			}
			qs[i].MetricStat = &cw.MetricStat{Metric: cw.MetricRef{Namespace: m.String("Namespace"), MetricName: m.String("MetricName"), Dimensions: dims},
				Period: int(ms.Int("Period")), Stat: ms.String("Stat"), Unit: ms.String("Unit")}
		}
	}
	return qs, nil
}

// metricQueryList renders metric-math entries as MetricDataQuery.
func metricQueryList(qs []cw.MetricQuery) []any {
	out := make([]any, 0, len(qs))
	for _, q := range qs {
		m := map[string]any{"Id": q.ID, "ReturnData": q.Returns()}
		if q.Expression != "" {
			m["Expression"] = q.Expression
		}
		if q.Label != "" {
			m["Label"] = q.Label
		}
		if q.Period > 0 {
			m["Period"] = q.Period
		}
		if ms := q.MetricStat; ms != nil {
			st := map[string]any{"Period": ms.Period, "Stat": ms.Stat, "Metric": map[string]any{
				"Namespace": ms.Metric.Namespace, "MetricName": ms.Metric.MetricName, "Dimensions": dimensionList(ms.Metric.Dimensions)}}
			if ms.Unit != "" {
				st["Unit"] = ms.Unit
			}
			m["MetricStat"] = st
		}
		out = append(out, m)
	}
	return out
}

func (s *Service) getMetricData(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	for _, f := range []string{"MetricDataQueries", "StartTime", "EndTime"} {
		if !in.Has(f) {
			return nil, protocol.Errorf("MissingParameter", "The parameter %s is required", f)
		}
	}
	qs, err := metricQueries(in.Structs("MetricDataQueries"), "MetricDataQueries")
	if err != nil {
		return nil, err
	}
	scan := in.String("ScanBy")
	switch scan {
	case "", "TimestampDescending", "TimestampAscending":
	default:
		return nil, protocol.Errorf("InvalidParameterValue", "The parameter ScanBy '%s' is not valid; use TimestampDescending or TimestampAscending", scan)
	}
	limit := defaultMaxPoints
	if in.Has("MaxDatapoints") {
		if limit = int(in.Int("MaxDatapoints")); limit < 1 {
			return nil, protocol.Errorf("InvalidParameterValue", "The parameter MaxDatapoints must be positive; %d was given", limit)
		}
	}
	skip := 0
	if tok := in.String("NextToken"); tok != "" {
		n, err := atoi(tok)
		if err != nil || n < 0 {
			return nil, protocol.Errorf("InvalidNextToken", "The NextToken '%s' is not valid; pass the NextToken of the previous call unchanged with the same queries", tok)
		}
		skip = n
	}
	res, err := s.mon.GetMetricData(qs, in.Time("StartTime"), in.Time("EndTime"), 0)
	if err != nil {
		return nil, invalidValue(err)
	}
	total := 0
	for _, r := range res {
		total += len(r.Timestamps)
	}
	if skip > total {
		return nil, protocol.Errorf("InvalidNextToken", "The NextToken '%d' is past the end of the data", skip)
	}
	// Datapoints are returned result by result: a page is the next
	// MaxDatapoints of them after those of earlier pages.
	out := make([]any, 0, len(res))
	seen, taken := 0, 0
	for _, r := range res {
		times, values := slices.Clone(r.Timestamps), slices.Clone(r.Values)
		if scan != "TimestampAscending" {
			slices.Reverse(times)
			slices.Reverse(values)
		}
		from := min(max(skip-seen, 0), len(times))
		to := min(from+max(limit-taken, 0), len(times))
		seen += len(times)
		taken += to - from
		status := "Complete"
		if to < len(times) {
			status = "PartialData"
		}
		ts := make([]any, 0, to-from)
		vs := make([]any, 0, to-from)
		for i := from; i < to; i++ {
			ts, vs = append(ts, times[i]), append(vs, values[i])
		}
		out = append(out, map[string]any{"Id": r.ID, "Label": r.Label, "Timestamps": ts, "Values": vs, "StatusCode": status})
	}
	resp := map[string]any{"MetricDataResults": out, "Messages": []any{}}
	if skip+taken < total {
		resp["NextToken"] = itoa(skip + taken)
	}
	return resp, nil
}

func (s *Service) listMetrics(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	f := metricstore.Filter{Namespace: in.String("Namespace"), MetricName: in.String("MetricName")}
	ds := in.Structs("Dimensions")
	if len(ds) > metric.MaxDimensions {
		return nil, protocol.Errorf("InvalidParameterValue", "The collection Dimensions must not have a size greater than %d", metric.MaxDimensions)
	}
	for _, d := range ds {
		f.Dimensions = append(f.Dimensions, metricstore.DimensionFilter{Name: d.String("Name"), Value: d.String("Value")})
	}
	switch ra := in.String("RecentlyActive"); ra {
	case "":
	case "PT3H":
		f.RecentlyActive = recentlyActiveSpan
	default:
		return nil, protocol.Errorf("InvalidParameterValue", "The parameter RecentlyActive '%s' is not valid; the only value is PT3H", ra)
	}
	ids := s.mon.ListMetrics(f)
	slices.SortFunc(ids, func(a, b metric.ID) int { return strings.Compare(a.Key(), b.Key()) })
	ids, next, err := page(ids, in.String("NextToken"), listMetricsPage)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		dims := make([]any, 0, len(id.Dimensions))
		for _, d := range id.Dimensions {
			dims = append(dims, map[string]any{"Name": d.Name, "Value": d.Value})
		}
		out = append(out, map[string]any{"Namespace": id.Namespace, "MetricName": id.Name, "Dimensions": dims})
	}
	resp := map[string]any{"Metrics": out}
	if next != "" {
		resp["NextToken"] = next
	}
	return resp, nil
}
