package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/metricstore"
)

// mountCloudWatch registers the metric, alarm and dashboard routes.
func (s *Server) mountCloudWatch(mux *http.ServeMux) {
	if s.CloudWatch == nil {
		return
	}
	cw := s.CloudWatch
	mux.Handle("GET /metrics", cw.PrometheusHandler())
	mux.HandleFunc("POST /v1/metrics/data", s.putMetricData)
	mux.HandleFunc("POST /v1/metrics/statistics", s.getMetricStatistics)
	mux.HandleFunc("POST /v1/metrics/query", s.getMetricData)
	mux.HandleFunc("GET /v1/metrics/list", s.listMetrics)
	mux.HandleFunc("GET /v1/metrics/status", func(w http.ResponseWriter, r *http.Request) {
		st := cw.Stats()
		ms := cw.Metrics().Stats()
		writeJSON(w, v1.CollectorStatus{Rounds: st.Rounds, LastDurationMs: float64(st.LastDuration.Microseconds()) / 1000,
			LastDatapoints: st.LastDatums, LastError: st.LastError, Series: ms.Series, DiskBytes: ms.DiskBytes, MemoryBytes: ms.MemoryBytes,
			NetworkNote: cloudwatch.NetworkNote, PrometheusListen: s.Info.PrometheusListen})
	})
	mux.HandleFunc("GET /v1/alarms", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, convertList(cw.Alarms(), alarmOf))
	})
	mux.HandleFunc("GET /v1/alarms/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		for _, a := range cw.Alarms() {
			if a.Name == name {
				writeJSON(w, alarmOf(a))
				return
			}
		}
		s.fail(w, r, fault.NotFoundf("alarm", name, "no alarm named %q", name).WithHint("list alarms with: madang alarms"))
	})
	mux.HandleFunc("GET /v1/alarm-history", s.alarmHistory)
	mux.HandleFunc("GET /v1/alarms/{name}/history", s.alarmHistory)
	mux.HandleFunc("POST /v1/alarms/{name}/state", func(w http.ResponseWriter, r *http.Request) {
		var req v1.SetAlarmStateRequest
		if err := decode(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := cw.SetAlarmState(r.Context(), r.PathValue("name"), alarm.State(req.StateValue), req.StateReason); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/dashboards", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, convertList(cw.Dashboards(), dashboardOf))
	})
	mux.HandleFunc("GET /v1/dashboards/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		d, ok := cw.Dashboard(name)
		if !ok {
			s.fail(w, r, fault.NotFoundf("dashboard", name, "no dashboard named %q", name).WithHint("list dashboards with: madang ls dashboards"))
			return
		}
		writeJSON(w, dashboardOf(d))
	})
}

// invalid marks errors of bad input (metric and query rules) as the API's
// validation errors; others stay as they are.
func invalid(err error) error {
	var me *metric.Error
	var fl fielderr.List
	var fe *fielderr.Error
	if errors.As(err, &me) || errors.As(err, &fl) || errors.As(err, &fe) || fault.CodeOf(err) == fault.Internal {
		return fmt.Errorf("%w: %w", ErrValidation, err)
	}
	return err
}

func dimsOf(ds []v1.Dimension) []metric.Dimension {
	out := make([]metric.Dimension, len(ds))
	for i, d := range ds {
		out[i] = metric.Dimension{Name: d.Name, Value: d.Value}
	}
	return out
}

func (s *Server) putMetricData(w http.ResponseWriter, r *http.Request) {
	var req v1.PutMetricDataRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	data := make([]metric.Datum, len(req.MetricData))
	for i, d := range req.MetricData {
		md := metric.Datum{ID: metric.ID{Namespace: req.Namespace, Name: d.MetricName, Dimensions: dimsOf(d.Dimensions)},
			Unit: d.Unit, Value: d.Value, Values: d.Values, Counts: d.Counts, StorageResolution: d.StorageResolution}
		if d.Timestamp != nil {
			md.Timestamp = *d.Timestamp
		}
		if d.StatisticValues != nil {
			md.StatisticValues = &metric.StatSet{SampleCount: d.StatisticValues.SampleCount, Sum: d.StatisticValues.Sum,
				Minimum: d.StatisticValues.Minimum, Maximum: d.StatisticValues.Maximum}
		}
		data[i] = md
	}
	if err := s.CloudWatch.PutMetricData(data); err != nil {
		s.fail(w, r, invalid(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getMetricStatistics(w http.ResponseWriter, r *http.Request) {
	var req v1.GetMetricStatisticsRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(req.Statistics)+len(req.ExtendedStatistics) == 0 {
		s.fail(w, r, fmt.Errorf("%w: statistics: give at least one of statistics (Average, Sum…) and extendedStatistics (p99…)", ErrValidation))
		return
	}
	q := metricstore.Query{ID: metric.ID{Namespace: req.Namespace, Name: req.MetricName, Dimensions: dimsOf(req.Dimensions)}.Canonical(),
		Start: req.StartTime, End: req.EndTime, Period: time.Duration(req.Period) * time.Second, Unit: req.Unit}
	for _, name := range append(append([]string{}, req.Statistics...), req.ExtendedStatistics...) {
		st, err := metric.ParseStatistic(name)
		if err != nil {
			s.fail(w, r, fmt.Errorf("%w: statistics %q: %w", ErrValidation, name, err))
			return
		}
		q.Statistics = append(q.Statistics, st)
	}
	dps, err := s.CloudWatch.Statistics(q)
	if err != nil {
		s.fail(w, r, invalid(err))
		return
	}
	out := v1.GetMetricStatisticsResponse{Label: req.MetricName, Datapoints: make([]v1.Datapoint, 0, len(dps))}
	for _, dp := range dps {
		d := v1.Datapoint{Timestamp: dp.Timestamp, Unit: dp.Unit}
		for _, st := range q.Statistics {
			v, ok := dp.Values[st.String()]
			if !ok {
				continue
			}
			switch st.String() {
			case "SampleCount":
				d.SampleCount = &v
			case "Average":
				d.Average = &v
			case "Sum":
				d.Sum = &v
			case "Minimum":
				d.Minimum = &v
			case "Maximum":
				d.Maximum = &v
			default:
				if d.ExtendedStatistics == nil {
					d.ExtendedStatistics = map[string]float64{}
				}
				d.ExtendedStatistics[st.String()] = v
			}
		}
		out.Datapoints = append(out.Datapoints, d)
	}
	writeJSON(w, out)
}

func (s *Server) getMetricData(w http.ResponseWriter, r *http.Request) {
	var req v1.GetMetricDataRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	qs := make([]cloudwatch.MetricQuery, len(req.MetricDataQueries))
	for i, q := range req.MetricDataQueries {
		qs[i] = cloudwatch.MetricQuery{ID: q.ID, Expression: q.Expression, Label: q.Label, ReturnData: q.ReturnData, Period: q.Period}
		if q.MetricStat != nil {
			qs[i].MetricStat = &cloudwatch.MetricStat{Metric: cloudwatch.MetricRef{Namespace: q.MetricStat.Metric.Namespace,
				MetricName: q.MetricStat.Metric.MetricName, Dimensions: q.MetricStat.Metric.Dimensions},
				Period: q.MetricStat.Period, Stat: q.MetricStat.Stat, Unit: q.MetricStat.Unit}
		}
	}
	period := time.Duration(0)
	res, err := s.CloudWatch.GetMetricData(qs, req.StartTime, req.EndTime, period)
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %w", ErrValidation, err))
		return
	}
	out := v1.GetMetricDataResponse{MetricDataResults: make([]v1.MetricDataResult, 0, len(res))}
	for _, x := range res {
		out.MetricDataResults = append(out.MetricDataResults, v1.MetricDataResult{ID: x.ID, Label: x.Label,
			Timestamps: orEmptyTimes(x.Timestamps), Values: orEmptyFloats(x.Values), StatusCode: x.StatusCode})
	}
	writeJSON(w, out)
}

func orEmptyTimes(t []time.Time) []time.Time {
	if t == nil {
		return []time.Time{}
	}
	return t
}

func orEmptyFloats(v []float64) []float64 {
	if v == nil {
		return []float64{}
	}
	return v
}

// listMetrics answers GET /v1/metrics/list?namespace=&metricName=&dimension=Name[=Value]&recentlyActive=PT3H.
func (s *Server) listMetrics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := metricstore.Filter{Namespace: q.Get("namespace"), MetricName: q.Get("metricName")}
	for _, d := range q["dimension"] {
		name, value, _ := strings.Cut(d, "=")
		f.Dimensions = append(f.Dimensions, metricstore.DimensionFilter{Name: name, Value: value})
	}
	switch ra := q.Get("recentlyActive"); ra {
	case "":
	case "PT3H":
		f.RecentlyActive = 3 * time.Hour
	default:
		s.fail(w, r, fmt.Errorf("%w: recentlyActive %q: CloudWatch accepts only PT3H", ErrValidation, ra))
		return
	}
	ids := s.CloudWatch.ListMetrics(f)
	out := make([]v1.MetricID, 0, len(ids))
	for _, id := range ids {
		m := v1.MetricID{Namespace: id.Namespace, MetricName: id.Name, Dimensions: []v1.Dimension{}}
		for _, d := range id.Dimensions {
			m.Dimensions = append(m.Dimensions, v1.Dimension{Name: d.Name, Value: d.Value})
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].MetricName < out[j].MetricName
	})
	writeJSON(w, out)
}

func (s *Server) alarmHistory(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			s.fail(w, r, fmt.Errorf("%w: limit %q: give a positive number", ErrValidation, l))
			return
		}
		limit = n
	}
	typ := r.URL.Query().Get("type")
	switch typ {
	case "", "StateUpdate", "ConfigurationUpdate", "Action":
	default:
		s.fail(w, r, fmt.Errorf("%w: type %q: use StateUpdate, ConfigurationUpdate or Action", ErrValidation, typ))
		return
	}
	items, err := s.CloudWatch.History(r.Context(), r.PathValue("name"), typ, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]v1.AlarmHistoryItem, 0, len(items))
	for _, h := range items {
		out = append(out, v1.AlarmHistoryItem{Timestamp: h.Timestamp, AlarmName: h.AlarmName, Type: h.Type, Summary: h.Summary, Data: h.Data})
	}
	writeJSON(w, out)
}

func specMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func alarmOf(a cloudwatch.AlarmView) v1.Alarm {
	out := v1.Alarm{Name: a.Name, Type: a.Type, ARN: a.ARN, Owner: a.Owner,
		State: v1.AlarmState{State: string(a.State.State), Reason: a.State.Reason, ReasonData: a.State.ReasonData,
			UpdatedAt: a.State.UpdatedAt, EvaluatedAt: a.State.EvaluatedAt}}
	if a.Metric != nil {
		out.Spec = specMap(a.Metric)
		out.Condition, out.Metric = cloudwatch.Condition(a.Metric), cloudwatch.MetricOf(a.Metric)
	} else if a.Composite != nil {
		out.Spec = specMap(a.Composite)
		out.Condition, out.Metric = a.Composite.AlarmRule, "composite"
	}
	return out
}

func dashboardOf(d cloudwatch.Dashboard) v1.Dashboard {
	return v1.Dashboard{Name: d.Spec.Name, ARN: d.ARN, Owner: d.Owner, UpdatedAt: d.UpdatedAt, Body: d.Spec.Body}
}
