package cloudwatch

import (
	"bufio"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/madang-dev/madang/internal/metric"
)

// PrometheusHandler serves every series with data in the last 10 seconds in
// the Prometheus text format, as a gauge per series named after its
// namespace and metric (AWS/EC2 CPUUtilization is
// aws_ec2_cpu_utilization) with its dimensions as labels (InstanceId is
// instance_id). The value is the newest complete second's: the Sum for
// Count and Bytes units (an amount per second), the Average otherwise.
// Series of one family with other dimensions carry the family's other
// labels empty, which Prometheus reads as absent. Families come sorted by
// name, their series by label values, as Prometheus's own client writes
// them. (The exposition is written here rather than with that client,
// whose package initialisation costs every start of the binary — each
// instance shim — about 2 ms.)
func (s *Service) PrometheusHandler() http.Handler {
	c := promCollector{s: s, names: &promNames{metrics: map[[2]string]string{}, labels: map[string]string{}}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", promContentType)
		bw := bufio.NewWriterSize(w, 32<<10)
		c.write(bw)
		_ = bw.Flush()
	})
}

// promContentType is the media type of the Prometheus text format.
const promContentType = "text/plain; version=0.0.4; charset=utf-8"

type promCollector struct {
	s *Service
	// names caches the exposed names of metrics and dimensions, which
	// scrapes would otherwise compute for every series every time.
	names *promNames
}

// promNames is a cache of Prometheus names; safe for concurrent scrapes.
type promNames struct {
	mu      sync.Mutex
	metrics map[[2]string]string
	labels  map[string]string
}

func (p *promNames) metric(ns, name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := [2]string{ns, name}
	if v, ok := p.metrics[k]; ok {
		return v
	}
	v := promName(ns, name)
	p.metrics[k] = v
	return v
}

func (p *promNames) label(dim string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.labels[dim]; ok {
		return v
	}
	v := snake(dim)
	p.labels[dim] = v
	return v
}

// promStale is how old a series' newest datapoint may be and still be
// exposed: a series that stopped (a terminated instance) disappears, as
// a stale series does in Prometheus.
const promStale = 10 * time.Second

// family is one exposed metric name, its label names (sorted) and its
// series.
type family struct {
	name, help string
	labels     []string
	labelOf    map[string]string // dimension name -> label
	series     []promSeries
}

// promSeries is one exposed series: its label values, in the order of its
// family's labels, and its value.
type promSeries struct {
	values []string
	v      float64
}

// write writes every fresh series in the Prometheus text format.
func (c promCollector) write(w *bufio.Writer) {
	type latest struct {
		id metric.ID
		st metric.StatSet
	}
	var all []latest
	c.s.metrics.EachLatest(promStale, func(id metric.ID, t time.Time, st metric.StatSet) {
		if st.SampleCount > 0 && c.s.opts.Now().Sub(t) <= promStale {
			all = append(all, latest{id, st})
		}
	})
	fams := map[string]*family{}
	for _, x := range all {
		name := c.names.metric(x.id.Namespace, x.id.Name)
		f := fams[name]
		if f == nil {
			f = &family{name: name, help: x.id.Namespace + " " + x.id.Name, labelOf: map[string]string{}}
			fams[name] = f
		}
		for _, d := range x.id.Dimensions {
			if _, ok := f.labelOf[d.Name]; !ok {
				l := c.names.label(d.Name)
				f.labelOf[d.Name] = l
				if !slices.Contains(f.labels, l) {
					f.labels = append(f.labels, l)
				}
			}
		}
	}
	for _, f := range fams {
		sort.Strings(f.labels)
	}
series:
	for _, x := range all {
		f := fams[c.names.metric(x.id.Namespace, x.id.Name)]
		vals := make([]string, len(f.labels))
		set := make([]bool, len(f.labels))
		for _, d := range x.id.Dimensions {
			i := sort.SearchStrings(f.labels, f.labelOf[d.Name])
			if set[i] {
				continue series // two dimensions with one label name
			}
			vals[i], set[i] = d.Value, true
		}
		v := x.st.Sum / x.st.SampleCount
		if u := c.s.unitOf(x.id); u == "Count" || u == "Bytes" {
			v = x.st.Sum
		}
		f.series = append(f.series, promSeries{values: vals, v: v})
	}
	for _, name := range slices.Sorted(maps.Keys(fams)) {
		f := fams[name]
		slices.SortFunc(f.series, func(a, b promSeries) int { return slices.Compare(a.values, b.values) })
		f.series = slices.CompactFunc(f.series, func(a, b promSeries) bool { return slices.Equal(a.values, b.values) })
		writeFamily(w, f)
	}
}

// writeFamily writes f's HELP and TYPE lines and its series.
func writeFamily(w *bufio.Writer, f *family) {
	w.WriteString("# HELP " + f.name + " ")
	w.WriteString(promHelpEscaper.Replace(f.help))
	w.WriteString("\n# TYPE " + f.name + " gauge\n")
	var num []byte
	for _, s := range f.series {
		w.WriteString(f.name)
		if len(f.labels) > 0 {
			w.WriteByte('{')
			for i, l := range f.labels {
				if i > 0 {
					w.WriteByte(',')
				}
				w.WriteString(l + `="`)
				w.WriteString(promValueEscaper.Replace(s.values[i]))
				w.WriteByte('"')
			}
			w.WriteByte('}')
		}
		w.WriteByte(' ')
		num = appendPromFloat(num[:0], s.v)
		w.Write(num)
		w.WriteByte('\n')
	}
}

// The text format's escapes: in HELP, backslash and newline; in label
// values, the double quote as well.
var (
	promHelpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	promValueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// appendPromFloat appends v as the text format writes sample values.
func appendPromFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// unitOf returns the unit madang publishes a metric with ("" for custom
// metrics, whose units the exposition does not look up).
func (s *Service) unitOf(id metric.ID) string {
	switch id.Namespace {
	case NamespaceEC2:
		for _, m := range instanceMetrics {
			if m.name == id.Name {
				return m.unit
			}
		}
	case NamespaceELB:
		switch {
		case strings.HasSuffix(id.Name, "Count"), id.Name == "RuleEvaluations":
			if id.Name == "HealthyHostCount" || id.Name == "UnHealthyHostCount" || id.Name == "ActiveConnectionCount" {
				return "gauge"
			}
			return "Count"
		case strings.HasSuffix(id.Name, "Bytes"):
			return "Bytes"
		}
	}
	return ""
}

// promName makes a Prometheus metric name of a namespace and metric name.
func promName(ns, name string) string {
	return snake(strings.ReplaceAll(ns, "/", "_")) + "_" + snake(name)
}

// snake turns CamelCase and other characters into snake_case:
// CPUUtilization → cpu_utilization, HTTPCode_ELB_5XX_Count →
// http_code_elb_5xx_count.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsUpper(r):
			if i > 0 && b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsLower(r), unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" || unicode.IsDigit(rune(out[0])) {
		out = "m_" + out
	}
	return out
}
