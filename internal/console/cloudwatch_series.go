package console

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
)

// seriesQuery is one metric and statistic of a chart.
type seriesQuery struct {
	Namespace string            `json:"namespace"`
	Metric    string            `json:"metric"`
	Dims      map[string]string `json:"dims,omitempty"`
	Stat      string            `json:"stat,omitempty"`
	Label     string            `json:"label,omitempty"`
}

// seriesRequest is a parsed GET /cloudwatch/series: the queries, their
// shared period and range, and an optional threshold line.
type seriesRequest struct {
	Queries   []seriesQuery
	Period    int
	Minutes   int
	Threshold *float64
}

// cwChartSeries is one line of a chart.
type cwChartSeries struct {
	Label  string     `json:"label"`
	Values []*float64 `json:"values"`
}

// cwChart is the JSON the console's charts draw.
type cwChart struct {
	Unit       string          `json:"unit"`
	Timestamps []int64         `json:"timestamps"`
	Series     []cwChartSeries `json:"series"`
	Threshold  *float64        `json:"threshold,omitempty"`
}

// cwParamError is a bad parameter of the series endpoint.
type cwParamError struct{ Param, Message string }

func (e *cwParamError) Error() string { return e.Param + ": " + e.Message }

// Statistics and periods the console offers; the API accepts more.
//
// Regular expressions are compiled on first use rather than at every
// start of the binary (each instance shim, each CLI command).
var (
	cwSimpleStats = []string{"Average", "Sum", "Minimum", "Maximum", "SampleCount"}
	// cwStatPattern is CloudWatch's extended statistics: percentiles,
	// trimmed and winsorized means, trimmed counts and sums, and IQM.
	cwStatPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?i:(p|tm|wm|tc|ts)\d{1,3}(\.\d+)?|(tm|wm|tc|ts|pr)\([^()]*:[^()]*\)|iqm)$`)
	})
	cwStats   = []string{"Average", "Sum", "Minimum", "Maximum", "SampleCount", "p50", "p90", "p99"}
	cwPeriods = []int{1, 10, 60, 300}
	cwRanges  = []int{15, 60, 180, 720}
)

// maxSeriesMinutes bounds a chart's range (two weeks).
const maxSeriesMinutes = 14 * 24 * 60

func cwValidStat(s string) bool {
	return slices.Contains(cwSimpleStats, s) || cwStatPattern().MatchString(s)
}

func cwValidPeriod(p int) bool {
	return p == 1 || p == 5 || p == 10 || p == 30 || (p >= 60 && p%60 == 0)
}

// cwParseDim reads "Name=Value".
func cwParseDim(s string) (string, string, error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return "", "", &cwParamError{"dim", fmt.Sprintf("%q is not Name=Value (e.g. InstanceId=i-0abc)", s)}
	}
	return strings.TrimSpace(name), strings.TrimSpace(value), nil
}

// parseSeries reads the series endpoint's parameters: either namespace,
// metric (repeatable), dim=Name=Value (repeatable) and stat (repeatable),
// or repeated q={"namespace":…,"metric":…,"dims":{…},"stat":…} — and
// period (seconds), minutes and threshold.
func parseSeries(q url.Values) (seriesRequest, error) {
	req := seriesRequest{Period: 60, Minutes: 60}
	for _, f := range []struct {
		name string
		into *int
	}{{"period", &req.Period}, {"minutes", &req.Minutes}} {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return req, &cwParamError{f.name, fmt.Sprintf("%q is not a positive whole number", v)}
			}
			*f.into = n
		}
	}
	if !cwValidPeriod(req.Period) {
		return req, &cwParamError{"period", fmt.Sprintf("%d s is not a period: use 1, 5, 10 or 30 seconds or a multiple of 60", req.Period)}
	}
	if req.Minutes > maxSeriesMinutes {
		return req, &cwParamError{"minutes", fmt.Sprintf("%d is more than %d (two weeks)", req.Minutes, maxSeriesMinutes)}
	}
	if v := q.Get("threshold"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return req, &cwParamError{"threshold", fmt.Sprintf("%q is not a number", v)}
		}
		req.Threshold = &f
	}
	for _, raw := range q["q"] {
		var sq seriesQuery
		if err := json.Unmarshal([]byte(raw), &sq); err != nil {
			return req, &cwParamError{"q", fmt.Sprintf("%q is not a query object: %v", raw, err)}
		}
		req.Queries = append(req.Queries, sq)
	}
	if len(q["q"]) == 0 {
		dims := map[string]string{}
		for _, d := range q["dim"] {
			name, value, err := cwParseDim(d)
			if err != nil {
				return req, err
			}
			dims[name] = value
		}
		stats := q["stat"]
		if len(stats) == 0 {
			stats = []string{"Average"}
		}
		if len(q["metric"]) == 0 {
			return req, &cwParamError{"metric", "is missing: name at least one metric"}
		}
		for _, m := range q["metric"] {
			for _, st := range stats {
				req.Queries = append(req.Queries, seriesQuery{Namespace: q.Get("namespace"), Metric: m, Dims: dims, Stat: st})
			}
		}
	}
	for i := range req.Queries {
		sq := &req.Queries[i]
		switch {
		case sq.Namespace == "":
			return req, &cwParamError{"namespace", "is missing: give the metric's namespace (e.g. AWS/EC2)"}
		case sq.Metric == "":
			return req, &cwParamError{"metric", "is missing: name the metric (e.g. CPUUtilization)"}
		}
		if sq.Stat == "" {
			sq.Stat = "Average"
		}
		if !cwValidStat(sq.Stat) {
			return req, &cwParamError{"stat", fmt.Sprintf("%q is not a statistic: use Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99", sq.Stat)}
		}
	}
	if len(req.Queries) > 20 {
		return req, &cwParamError{"q", fmt.Sprintf("%d series are more than 20", len(req.Queries))}
	}
	return req, nil
}

// serveSeries answers GET /cloudwatch/series with chart JSON.
func (s *Server) serveSeries(w http.ResponseWriter, r *http.Request) {
	req, err := parseSeries(r.URL.Query())
	if err != nil {
		cwJSONError(w, http.StatusBadRequest, err)
		return
	}
	data, err := s.series(r.Context(), req, s.now())
	if err != nil {
		status := http.StatusBadGateway
		var ae *apiError
		if asAPIError(err, &ae) {
			status = ae.Status
		}
		cwJSONError(w, status, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(data)
}

func cwJSONError(w http.ResponseWriter, status int, err error) {
	body := map[string]string{"error": err.Error()}
	if pe, ok := err.(*cwParamError); ok {
		body["param"] = pe.Param
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// series reads the queries' datapoints through GetMetricStatistics (one
// call per metric, with its statistics together) and lays them on one
// timeline of whole periods, null where a period has no data.
func (s *Server) series(ctx context.Context, req seriesRequest, now time.Time) (cwChart, error) {
	per := int64(req.Period)
	end := now.Truncate(time.Second)
	start := end.Add(-time.Duration(req.Minutes) * time.Minute)
	first := start.Unix() / per * per
	out := cwChart{Threshold: req.Threshold, Timestamps: []int64{}, Series: []cwChartSeries{}}
	for t := first; t < end.Unix(); t += per {
		out.Timestamps = append(out.Timestamps, t)
	}
	index := make(map[int64]int, len(out.Timestamps))
	for i, t := range out.Timestamps {
		index[t] = i
	}
	multiMetric, multiStat := cwDistinct(req.Queries)
	// Group the queries by metric so that one call answers all its stats.
	type group struct {
		key   string
		q     seriesQuery
		stats []string
		at    []int
	}
	var groups []*group
	byKey := map[string]*group{}
	for i, q := range req.Queries {
		key := q.Namespace + "\x00" + q.Metric + "\x00" + cwDimsKey(q.Dims)
		g := byKey[key]
		if g == nil {
			g = &group{key: key, q: q}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.stats = append(g.stats, q.Stat)
		g.at = append(g.at, i)
	}
	out.Series = make([]cwChartSeries, len(req.Queries))
	for _, g := range groups {
		sr := v1.GetMetricStatisticsRequest{Namespace: g.q.Namespace, MetricName: g.q.Metric, Dimensions: cwV1Dims(g.q.Dims),
			StartTime: start, EndTime: end, Period: req.Period}
		for _, st := range g.stats {
			if slices.Contains(cwSimpleStats, st) {
				sr.Statistics = cwAppendNew(sr.Statistics, st)
			} else {
				sr.ExtendedStatistics = cwAppendNew(sr.ExtendedStatistics, st)
			}
		}
		resp, err := s.api.GetMetricStatistics(ctx, sr)
		if err != nil {
			return cwChart{}, err
		}
		for j, st := range g.stats {
			q := req.Queries[g.at[j]]
			vals := make([]*float64, len(out.Timestamps))
			for _, dp := range resp.Datapoints {
				i, ok := index[dp.Timestamp.Unix()]
				if !ok {
					continue
				}
				if out.Unit == "" && dp.Unit != "" && dp.Unit != "None" {
					out.Unit = dp.Unit
				}
				vals[i] = cwStatValue(dp, st)
			}
			out.Series[g.at[j]] = cwChartSeries{Label: cwSeriesLabel(q, multiMetric, multiStat), Values: vals}
		}
	}
	return out, nil
}

// distinct reports whether the queries name more than one metric and
// more than one statistic (labels then say which).
func cwDistinct(qs []seriesQuery) (metrics, stats bool) {
	m, st := map[string]bool{}, map[string]bool{}
	for _, q := range qs {
		m[q.Namespace+"/"+q.Metric+cwDimsKey(q.Dims)] = true
		st[q.Stat] = true
	}
	return len(m) > 1, len(st) > 1
}

func cwSeriesLabel(q seriesQuery, multiMetric, multiStat bool) string {
	if q.Label != "" {
		return q.Label
	}
	label := q.Metric
	if multiMetric && len(q.Dims) > 0 {
		label += " " + cwDimsKey(q.Dims)
	}
	if multiStat || !multiMetric {
		label += " " + q.Stat
	}
	return label
}

func cwStatValue(dp v1.Datapoint, stat string) *float64 {
	switch stat {
	case "Average":
		return dp.Average
	case "Sum":
		return dp.Sum
	case "Minimum":
		return dp.Minimum
	case "Maximum":
		return dp.Maximum
	case "SampleCount":
		return dp.SampleCount
	}
	if v, ok := dp.ExtendedStatistics[stat]; ok {
		return &v
	}
	return nil
}

func cwAppendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// cwDimsKey is a dimension set as "Name=Value,Name=Value", sorted.
func cwDimsKey(d map[string]string) string {
	keys := sortedKeys(d)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + d[k]
	}
	return strings.Join(parts, ",")
}

func cwV1Dims(d map[string]string) []v1.Dimension {
	out := make([]v1.Dimension, 0, len(d))
	for _, k := range sortedKeys(d) {
		out = append(out, v1.Dimension{Name: k, Value: d[k]})
	}
	return out
}

// seriesURL is the series endpoint's URL for one metric and its stats.
func seriesURL(namespace, metric string, dims map[string]string, stats []string, period, minutes int, threshold *float64) string {
	q := url.Values{}
	q.Set("namespace", namespace)
	q.Set("metric", metric)
	keys := sortedKeys(dims)
	sort.Strings(keys)
	for _, k := range keys {
		q.Add("dim", k+"="+dims[k])
	}
	for _, st := range stats {
		q.Add("stat", st)
	}
	q.Set("period", strconv.Itoa(period))
	q.Set("minutes", strconv.Itoa(minutes))
	if threshold != nil {
		q.Set("threshold", strconv.FormatFloat(*threshold, 'g', -1, 64))
	}
	return "/cloudwatch/series?" + q.Encode()
}

// seriesURLOf is the series endpoint's URL for several queries.
func seriesURLOf(qs []seriesQuery, period, minutes int) string {
	q := url.Values{}
	for _, sq := range qs {
		b, _ := json.Marshal(sq)
		q.Add("q", string(b))
	}
	q.Set("period", strconv.Itoa(period))
	q.Set("minutes", strconv.Itoa(minutes))
	return "/cloudwatch/series?" + q.Encode()
}
