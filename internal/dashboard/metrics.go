package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/madang-dev/madang/internal/fielderr"
)

// MetricRow is one row of a metric widget's metrics array: either a metric
// (Namespace, MetricName and Dimensions set) or a metric math expression
// (Expression set).
type MetricRow struct {
	Namespace  string
	MetricName string
	Dimensions []Dim
	// Expression is a metric math expression such as "m1/m2"; the row
	// then names no metric.
	Expression string
	// ID names the row for expressions to refer to ("m1"); Label is its
	// legend.
	ID, Label string
	// Stat and Period, when set, override the widget's.
	Stat   string
	Period int
	// Visible is false for a row that only feeds an expression.
	Visible bool
	// Color is the row's colour as "#rrggbb"; YAxis is "left" or "right".
	Color, YAxis string
}

// Dim is one dimension of a metric: its name and value.
type Dim struct{ Name, Value string }

// rowOptions is the rendering object that may end a metric row, or be a
// whole expression row.
type rowOptions struct {
	Expression string `json:"expression,omitempty"`
	ID         string `json:"id,omitempty"`
	Label      string `json:"label,omitempty"`
	Stat       string `json:"stat,omitempty"`
	Period     int    `json:"period,omitempty"`
	Visible    *bool  `json:"visible,omitempty"`
	Color      string `json:"color,omitempty"`
	YAxis      string `json:"yAxis,omitempty"`
	Region     string `json:"region,omitempty"`
	AccountID  string `json:"accountId,omitempty"`
	Unit       string `json:"unit,omitempty"`
}

// MarshalJSON writes the row in CloudWatch's array form, without the "."
// shorthand.
func (r MetricRow) MarshalJSON() ([]byte, error) {
	var items []any
	if r.Expression == "" {
		items = append(items, r.Namespace, r.MetricName)
		for _, d := range r.Dimensions {
			items = append(items, d.Name, d.Value)
		}
	}
	o := rowOptions{Expression: r.Expression, ID: r.ID, Label: r.Label, Stat: r.Stat,
		Period: r.Period, Color: r.Color, YAxis: r.YAxis}
	if !r.Visible {
		o.Visible = new(bool)
	}
	if o != (rowOptions{}) {
		items = append(items, o)
	}
	return json.Marshal(items)
}

// Regular expressions are compiled on first use rather than at every
// start of the binary (each instance shim, each CLI command).
var (
	idPattern    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`) })
	colorPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^#[0-9a-fA-F]{6}$`) })
	// statPattern accepts percentiles (p99, p99.9), trimmed and winsorized
	// means, trimmed counts and sums (tm90, wm99, tc90, ts90), their
	// range forms (TM(10%:90%), PR(:300)) and the interquartile mean.
	statPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?i:(p|tm|wm|tc|ts)\d{1,2}(\.\d+)?|(tm|wm|tc|ts|pr)\([^()]*:[^()]*\)|iqm)$`)
	})
	plainStats = []string{"Average", "Sum", "Minimum", "Maximum", "SampleCount"}
)

// parseMetrics parses a metrics array, expanding each "." to the value at
// the same position of the row before it.
func parseMetrics(l *fielderr.List, raw json.RawMessage) []MetricRow {
	var rows []json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil || isNull(raw) {
		l.Add("", string(raw), "is not an array of rows", `use [["AWS/EC2", "CPUUtilization", "InstanceId", "i-123"]]`)
		return nil
	}
	if len(rows) > MaxMetricRows {
		l.Add("", len(rows), fmt.Sprintf("has more than %d rows", MaxMetricRows),
			fmt.Sprintf("split the rows over widgets of at most %d", MaxMetricRows))
	}
	out := make([]MetricRow, 0, len(rows))
	var prev []string // the previous metric row's strings, expanded
	ids := map[string]int{}
	for i, rawRow := range rows {
		path := fielderr.Index("", i)
		var items []json.RawMessage
		if err := json.Unmarshal(rawRow, &items); err != nil || isNull(rawRow) {
			l.Add(path, string(rawRow), "is not an array", `write a row as ["Namespace", "MetricName", "DimName", "DimValue", {options}]`)
			continue
		}
		if len(items) == 0 {
			l.Add(path, "[]", "is empty", `give a namespace and a metric name, or an {"expression": …} object`)
			continue
		}
		var strs []string
		var opts rowOptions
		hasOpts := false
		for j, item := range items {
			ipath := fielderr.Index(path, j)
			trimmed := bytes.TrimSpace(item)
			if len(trimmed) > 0 && trimmed[0] == '{' {
				if j != len(items)-1 {
					l.Add(ipath, string(item), "is an options object before the end of the row", "move the options object to the end of the row")
					continue
				}
				if err := strictDecode(item, &opts); err != nil {
					l.Add(ipath, string(item), "is not a metric options object: "+err.Error(),
						`use keys such as "id", "label", "stat", "period", "visible", "color", "yAxis" or "expression"`)
					continue
				}
				hasOpts = true
				continue
			}
			var s string
			if err := json.Unmarshal(item, &s); err != nil {
				l.Add(ipath, string(item), "is not a string", "quote it: namespaces, metric names and dimensions are strings")
				continue
			}
			if s == "." {
				switch {
				case prev == nil:
					l.Add(ipath, s, "repeats a previous row, but no metric row comes before it", "write the value out in the first metric row")
					continue
				case j >= len(prev):
					l.Add(ipath, s, fmt.Sprintf("repeats position %d of the previous metric row, which has only %d values", j, len(prev)),
						"write the value out")
					continue
				}
				s = prev[j]
			}
			strs = append(strs, s)
		}
		row := MetricRow{Visible: true}
		if hasOpts {
			row.Expression, row.ID, row.Label = opts.Expression, opts.ID, opts.Label
			row.Stat, row.Period, row.Color, row.YAxis = opts.Stat, opts.Period, opts.Color, opts.YAxis
			if opts.Visible != nil {
				row.Visible = *opts.Visible
			}
			checkOptions(l, fielderr.Index(path, len(items)-1), opts)
		}
		if row.Expression != "" {
			if len(strs) > 0 {
				l.Add(fielderr.Index(path, 0), strs[0], "is a metric name in an expression row",
					`put an expression in a row of its own: [{"expression": "m1/m2", "id": "e1"}]`)
			}
		} else {
			switch {
			case len(strs) == 0 && hasOpts:
				l.Add(path, string(rawRow), "has neither a metric nor an expression",
					`give ["Namespace", "MetricName", …] or {"expression": "m1/m2"}`)
			case len(strs) == 1:
				l.Add(path, string(rawRow), "has a namespace but no metric name", `add the metric name: ["AWS/EC2", "CPUUtilization"]`)
			case len(strs) >= 2:
				row.Namespace, row.MetricName = strs[0], strs[1]
				if row.Namespace == "" {
					l.Add(fielderr.Index(path, 0), "", "is an empty namespace", `name the namespace, e.g. "AWS/EC2"`)
				}
				if row.MetricName == "" {
					l.Add(fielderr.Index(path, 1), "", "is an empty metric name", `name the metric, e.g. "CPUUtilization"`)
				}
				rest := strs[2:]
				if len(rest)%2 != 0 {
					l.Add(fielderr.Index(path, len(strs)-1), rest[len(rest)-1], "is a dimension name without a value",
						"give dimensions as name, value pairs")
					rest = rest[:len(rest)-1]
				}
				for k := 0; k < len(rest); k += 2 {
					row.Dimensions = append(row.Dimensions, Dim{Name: rest[k], Value: rest[k+1]})
				}
				prev = strs
			}
		}
		if row.ID != "" {
			if first, dup := ids[row.ID]; dup {
				l.Add(fielderr.Index(path, len(items)-1)+".id", row.ID,
					fmt.Sprintf("is already the id of metrics[%d]", first), "give each row its own id")
			} else {
				ids[row.ID] = i
			}
		}
		out = append(out, row)
	}
	return out
}

func checkOptions(l *fielderr.List, path string, o rowOptions) {
	if o.ID != "" && !idPattern().MatchString(o.ID) {
		l.Add(path+".id", o.ID, "is not a valid id",
			"start with a lowercase letter and use only letters, digits and underscores (e.g. \"m1\")")
	}
	if o.Stat != "" {
		checkStat(l, path+".stat", o.Stat)
	}
	if o.Period != 0 {
		checkPeriod(l, path+".period", o.Period)
	}
	if o.Color != "" && !colorPattern().MatchString(o.Color) {
		l.Add(path+".color", o.Color, "is not a colour", `use "#rrggbb", e.g. "#1f77b4"`)
	}
	if o.YAxis != "" && o.YAxis != "left" && o.YAxis != "right" {
		l.Add(path+".yAxis", o.YAxis, "is not an axis", `use "left" or "right"`)
	}
}

// checkStat accepts CloudWatch's statistics: the five plain ones and the
// extended ones (percentiles, trimmed means…).
func checkStat(l *fielderr.List, path, stat string) {
	for _, s := range plainStats {
		if s == stat {
			return
		}
	}
	if statPattern().MatchString(stat) {
		return
	}
	l.Add(path, stat, "is not a statistic", fix(stat, plainStats)+", or a percentile such as p99")
}

// checkPeriod accepts 1, 5, 10, 20 and 30 seconds (high resolution) and
// multiples of 60.
func checkPeriod(l *fielderr.List, path string, period int) {
	switch {
	case period <= 0:
	case period == 1, period == 5, period == 10, period == 30:
		return
	case period%60 == 0:
		return
	}
	l.Add(path, period, "is not a valid period", "use 1, 5, 10, 30 or a multiple of 60 seconds (the periods the metric store answers)")
}

// String shows the row as CloudWatch's console names it:
// "AWS/EC2 CPUUtilization InstanceId=i-123", or the expression.
func (r MetricRow) String() string {
	if r.Expression != "" {
		return r.Expression
	}
	var b strings.Builder
	b.WriteString(r.Namespace + " " + r.MetricName)
	for _, d := range r.Dimensions {
		b.WriteString(" " + d.Name + "=" + d.Value)
	}
	if r.Stat != "" {
		b.WriteString(" " + r.Stat)
	}
	if r.Period != 0 {
		b.WriteString(" " + strconv.Itoa(r.Period) + "s")
	}
	return b.String()
}
