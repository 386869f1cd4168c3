package console

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/api/v1"
)

// metricsPage is the data of the metrics explorer.
type metricsPage struct {
	Namespaces []namespaceEntry
	// Namespace is the one browsed ("" lists the namespaces).
	Namespace string
	Metrics   []metricEntry
	Stat      string
	Period    int
	Minutes   int
	Stats     []string
	Periods   []cwOption
	Ranges    []cwOption
	// ChartSrc is the chart of the selected metrics ("" when none).
	ChartSrc string
	// Selected names the selected metrics, for the chart's caption.
	Selected []string
	// Adjusted tells that the period asked for was too fine for the
	// range and a longer one is shown.
	Adjusted bool
}

type namespaceEntry struct {
	Name, Href string
	Metrics    int
}

// metricEntry is one metric with one dimension set.
type metricEntry struct {
	Name, Dims string
	// Sel is the entry's value in the URL's sel parameters.
	Sel     string
	Checked bool
}

// cwOption is one choice of a select.
type cwOption struct {
	Value    int
	Label    string
	Selected bool
}

// selValue is a metric with its dimensions as the explorer's sel
// parameter: "CPUUtilization|InstanceId=i-0abc".
func selValue(m v1.MetricID) string {
	d := make([]string, len(m.Dimensions))
	for i, x := range m.Dimensions {
		d[i] = x.Name + "=" + x.Value
	}
	sort.Strings(d)
	return m.MetricName + "|" + strings.Join(d, ",")
}

// parseSel reads a sel parameter back into a metric and its dimensions.
func parseSel(sel string) (string, map[string]string, bool) {
	name, dims, _ := strings.Cut(sel, "|")
	if name == "" {
		return "", nil, false
	}
	m := map[string]string{}
	if dims != "" {
		for _, d := range strings.Split(dims, ",") {
			k, v, ok := strings.Cut(d, "=")
			if !ok || k == "" {
				return "", nil, false
			}
			m[k] = v
		}
	}
	return name, m, true
}

func cwIntParam(q url.Values, name string, def int, allowed []int) int {
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || !slices.Contains(allowed, n) {
		return def
	}
	return n
}

func cwPeriodOptions(l lang, cur int) []cwOption {
	labels := map[int]string{1: "cw.period.1s", 10: "cw.period.10s", 60: "cw.period.1m", 300: "cw.period.5m"}
	out := make([]cwOption, 0, len(cwPeriods))
	for _, p := range cwPeriods {
		out = append(out, cwOption{Value: p, Label: l.T(labels[p]), Selected: p == cur})
	}
	return out
}

func cwRangeOptions(l lang, cur int) []cwOption {
	labels := map[int]string{15: "cw.range.15m", 60: "cw.range.1h", 180: "cw.range.3h", 720: "cw.range.12h"}
	out := make([]cwOption, 0, len(cwRanges))
	for _, m := range cwRanges {
		out = append(out, cwOption{Value: m, Label: l.T(labels[m]), Selected: m == cur})
	}
	return out
}

// metricsExplorer serves GET /cloudwatch/metrics?namespace=&sel=&stat=&period=&minutes=.
func (s *Server) metricsExplorer(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l := langOf(r)
	all, err := s.api.ListMetrics(r.Context(), "", "", nil, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := metricsPage{Namespace: q.Get("namespace"), Stat: q.Get("stat"), Stats: cwStats,
		Period: cwIntParam(q, "period", 60, cwPeriods), Minutes: cwIntParam(q, "minutes", 60, cwRanges)}
	if !slices.Contains(cwStats, p.Stat) {
		p.Stat = "Average"
	}
	if e := cwFitPeriod(p.Period, p.Minutes); e != p.Period {
		p.Period, p.Adjusted = e, true
	}
	p.Periods, p.Ranges = cwPeriodOptions(l, p.Period), cwRangeOptions(l, p.Minutes)
	counts := map[string]int{}
	for _, m := range all {
		counts[m.Namespace]++
	}
	for _, ns := range cwSortedCounts(counts) {
		p.Namespaces = append(p.Namespaces, namespaceEntry{Name: ns, Metrics: counts[ns],
			Href: "/cloudwatch/metrics?" + url.Values{"namespace": {ns}}.Encode()})
	}
	selected := q["sel"]
	var queries []seriesQuery
	for _, m := range all {
		if m.Namespace != p.Namespace {
			continue
		}
		sel := selValue(m)
		_, dims, _ := parseSel(sel)
		e := metricEntry{Name: m.MetricName, Dims: cwDimsKey(dims), Sel: sel, Checked: slices.Contains(selected, sel)}
		p.Metrics = append(p.Metrics, e)
		if e.Checked {
			queries = append(queries, seriesQuery{Namespace: m.Namespace, Metric: m.MetricName, Dims: dims, Stat: p.Stat})
			p.Selected = append(p.Selected, strings.TrimSpace(m.MetricName+" "+e.Dims))
		}
	}
	sort.SliceStable(p.Metrics, func(i, j int) bool {
		if p.Metrics[i].Name != p.Metrics[j].Name {
			return p.Metrics[i].Name < p.Metrics[j].Name
		}
		return p.Metrics[i].Dims < p.Metrics[j].Dims
	})
	if len(queries) > 20 {
		queries = queries[:20]
	}
	if len(queries) > 0 {
		p.ChartSrc = seriesURLOf(queries, p.Period, p.Minutes)
	}
	s.page(w, r, "cloudwatch/metrics", "cw.metrics.title", p)
}

// cwMaxChartPoints is the most datapoints one GetMetricStatistics call
// returns.
const cwMaxChartPoints = 1440

// cwFitPeriod is the shortest of the console's periods, from period on,
// that the metric store answers over minutes: at most maxChartPoints
// points, and high-resolution periods only within the last three hours.
func cwFitPeriod(period, minutes int) int {
	for _, p := range cwPeriods {
		if p < period {
			continue
		}
		if minutes*60/p <= cwMaxChartPoints && (p >= 60 || minutes <= 180) {
			return p
		}
	}
	return cwPeriods[len(cwPeriods)-1]
}

func cwSortedCounts(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
