// Package dashboard reads CloudWatch dashboard bodies: the JSON document
// that PutDashboard takes and GetDashboard returns. Parse checks a body the
// way CloudWatch does (a 24-column grid, known widget types, well-formed
// metric arrays) and reports every problem with its JSON path, the value
// given and how to fix it; Rows gives a metric widget's rows with the "."
// shorthand expanded and the widget's defaults applied.
package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/madang-dev/madang/internal/fielderr"
)

// Grid and size limits of a dashboard, as CloudWatch enforces them.
const (
	// GridColumns is the width of the dashboard grid: a widget's x plus its
	// width is at most GridColumns.
	GridColumns = 24
	// MaxWidgets is the most widgets one dashboard holds.
	MaxWidgets = 500
	// MaxHeight is the tallest a widget may be, in grid rows.
	MaxHeight = 1000
	// MaxMetricRows is the most rows (metrics and expressions) one metric
	// widget holds.
	MaxMetricRows = 500
	// DefaultWidth and DefaultHeight are a widget's size when the body
	// leaves it out.
	DefaultWidth, DefaultHeight = 6, 6
	// DefaultStat and DefaultPeriod apply to a metric row when neither the
	// row nor its widget names a statistic or a period.
	DefaultStat   = "Average"
	DefaultPeriod = 300
)

// Widget types.
const (
	TypeMetric = "metric"
	TypeText   = "text"
	TypeAlarm  = "alarm"
	TypeLog    = "log"
)

// Metric widget views.
const (
	ViewTimeSeries  = "timeSeries"
	ViewSingleValue = "singleValue"
	ViewGauge       = "gauge"
	ViewBar         = "bar"
	ViewPie         = "pie"
	ViewTable       = "table"
)

var (
	widgetTypes    = []string{TypeMetric, TypeText, TypeAlarm, TypeLog}
	metricViews    = []string{ViewTimeSeries, ViewSingleValue, ViewGauge, ViewBar, ViewPie, ViewTable}
	logViews       = []string{ViewTable, ViewTimeSeries, ViewBar, ViewPie}
	alarmStates    = []string{"ALARM", "INSUFFICIENT_DATA", "OK"}
	alarmSorts     = []string{"default", "stateUpdatedTimestamp", "timestamp"}
	periodOverride = []string{"auto", "inherit"}
	textBackground = []string{"solid", "transparent"}
)

// Body is a dashboard body as CloudWatch's PutDashboard takes it (JSON).
// Marshalling a Body gives back a body that Parse accepts.
type Body struct {
	// Start and End bound the time range every widget shows: an ISO 8601
	// duration before now ("-PT3H", "-P1D") or an RFC 3339 time. Empty
	// Start means the last three hours; empty End means now.
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	// PeriodOverride is "auto" (the period follows the time range) or
	// "inherit" (each widget's period is obeyed); empty means "auto".
	PeriodOverride string `json:"periodOverride,omitempty"`
	// Widgets are laid out on a grid of GridColumns columns.
	Widgets []Widget `json:"widgets"`
}

// Widget is one tile of a dashboard.
type Widget struct {
	// Type is metric, text, alarm or log.
	Type string `json:"type"`
	// X and Y place the widget's top-left corner on the grid (Y grows
	// downwards); Width and Height size it in grid units.
	X      int `json:"x"`
	Y      int `json:"y"`
	Width  int `json:"width"`
	Height int `json:"height"`
	// Properties hold the settings of the widget's type.
	Properties Properties `json:"properties"`
}

// Properties are a widget's settings; which fields apply depends on the
// widget's type. Properties CloudWatch knows but this package does not use
// (legend, liveData, annotations…) are accepted and dropped.
type Properties struct {
	// Title is shown above any widget.
	Title string `json:"title,omitempty"`
	// Region is accepted for compatibility and ignored: everything runs
	// on one machine.
	Region string `json:"region,omitempty"`

	// Metrics are a metric widget's rows, "." shorthand expanded.
	Metrics []MetricRow `json:"metrics,omitempty"`
	// View is how a metric or log widget draws its data (timeSeries,
	// singleValue, gauge, bar, pie or table); empty means timeSeries.
	View string `json:"view,omitempty"`
	// Stacked draws a timeSeries as stacked areas.
	Stacked bool `json:"stacked,omitempty"`
	// Stat and Period are the defaults of the widget's metric rows.
	Stat   string `json:"stat,omitempty"`
	Period int    `json:"period,omitempty"`
	// YAxis bounds and labels the chart's vertical axes.
	YAxis *YAxis `json:"yAxis,omitempty"`

	// Markdown is a text widget's content.
	Markdown string `json:"markdown,omitempty"`
	// Background is a text widget's background: solid or transparent.
	Background string `json:"background,omitempty"`

	// Alarms are an alarm widget's alarm ARNs.
	Alarms []string `json:"alarms,omitempty"`
	// SortBy orders an alarm widget: default (by name),
	// stateUpdatedTimestamp (ALARM first) or timestamp.
	SortBy string `json:"sortBy,omitempty"`
	// States, when not empty, shows only the alarms in those states.
	States []string `json:"states,omitempty"`

	// Query is a log widget's Logs Insights query.
	Query string `json:"query,omitempty"`
}

// YAxis holds a chart's left and right axis settings.
type YAxis struct {
	Left  *Axis `json:"left,omitempty"`
	Right *Axis `json:"right,omitempty"`
}

// Axis is one vertical axis: its bounds (nil for automatic) and label.
type Axis struct {
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	Label     string   `json:"label,omitempty"`
	ShowUnits *bool    `json:"showUnits,omitempty"`
}

// Parse reads and checks a dashboard body. On failure the error is a
// fielderr.List naming each problem's JSON path
// ("widgets[2].properties.metrics[0][1]"), the value and the fix.
func Parse(body []byte) (*Body, error) {
	var l fielderr.List
	var top map[string]json.RawMessage
	if err := strictDecode(body, &top); err != nil {
		l.Add("", nil, "is not a JSON object: "+err.Error(), `give an object such as {"widgets": []}`)
		return nil, l
	}
	b := &Body{}
	decodeField(&l, top, "start", &b.Start)
	decodeField(&l, top, "end", &b.End)
	decodeField(&l, top, "periodOverride", &b.PeriodOverride)
	if b.PeriodOverride != "" && !slices.Contains(periodOverride, b.PeriodOverride) {
		l.Add("periodOverride", b.PeriodOverride, "is not a period override", "use \"auto\" or \"inherit\"")
	}
	checkRange(&l, b.Start, b.End)

	rawWidgets, ok := top["widgets"]
	if !ok {
		l.Add("widgets", nil, "is missing", `add a "widgets" array (it may be empty)`)
		return nil, l
	}
	var widgets []json.RawMessage
	if err := json.Unmarshal(rawWidgets, &widgets); err != nil || isNull(rawWidgets) {
		l.Add("widgets", string(rawWidgets), "is not an array", `make "widgets" an array of widget objects`)
		return nil, l
	}
	if len(widgets) > MaxWidgets {
		l.Add("widgets", len(widgets), fmt.Sprintf("has more than %d widgets", MaxWidgets),
			fmt.Sprintf("split the dashboard into dashboards of at most %d widgets", MaxWidgets))
	}
	b.Widgets = make([]Widget, len(widgets))
	for i, raw := range widgets {
		var wl fielderr.List
		b.Widgets[i] = parseWidget(&wl, raw)
		l.Extend(fielderr.Index("widgets", i), wl)
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return b, nil
}

// Rows returns the metric rows of widget w, "." shorthand expanded, with
// the widget's stat and period (else DefaultStat and DefaultPeriod) filled
// in where a metric row names none. It returns nil when w is not a metric
// widget of b.
func (b *Body) Rows(w int) []MetricRow {
	if w < 0 || w >= len(b.Widgets) || b.Widgets[w].Type != TypeMetric {
		return nil
	}
	p := b.Widgets[w].Properties
	stat, period := p.Stat, p.Period
	if stat == "" {
		stat = DefaultStat
	}
	if period == 0 {
		period = DefaultPeriod
	}
	rows := make([]MetricRow, len(p.Metrics))
	for i, r := range p.Metrics {
		r.Dimensions = slices.Clone(r.Dimensions)
		if r.Expression == "" {
			if r.Stat == "" {
				r.Stat = stat
			}
			if r.Period == 0 {
				r.Period = period
			}
		}
		rows[i] = r
	}
	return rows
}

func parseWidget(l *fielderr.List, raw json.RawMessage) Widget {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || isNull(raw) {
		l.Add("", string(raw), "is not a widget object", `give an object with "type", "x", "y", "width", "height" and "properties"`)
		return Widget{}
	}
	w := Widget{Width: DefaultWidth, Height: DefaultHeight}
	if _, ok := m["type"]; !ok {
		l.Add("type", nil, "is missing", "set it to one of "+strings.Join(widgetTypes, ", "))
	} else if decodeField(l, m, "type", &w.Type) && !slices.Contains(widgetTypes, w.Type) {
		l.Add("type", w.Type, "is not a known widget type", fix(w.Type, widgetTypes))
	}
	decodeField(l, m, "x", &w.X)
	decodeField(l, m, "y", &w.Y)
	okW := decodeField(l, m, "width", &w.Width)
	decodeField(l, m, "height", &w.Height)
	if w.X < 0 || w.X >= GridColumns {
		l.Add("x", w.X, "is off the grid", fmt.Sprintf("use a column from 0 to %d", GridColumns-1))
	}
	if w.Y < 0 {
		l.Add("y", w.Y, "is negative", "use a row of 0 or more")
	}
	if w.Width < 1 || w.Width > GridColumns {
		l.Add("width", w.Width, "is out of range", fmt.Sprintf("use a width from 1 to %d", GridColumns))
	} else if okW && w.X >= 0 && w.X < GridColumns && w.X+w.Width > GridColumns {
		l.Add("width", w.Width, fmt.Sprintf("runs past the grid's %d columns (x is %d)", GridColumns, w.X),
			fmt.Sprintf("use a width of at most %d, or move the widget left", GridColumns-w.X))
	}
	if w.Height < 1 || w.Height > MaxHeight {
		l.Add("height", w.Height, "is out of range", fmt.Sprintf("use a height from 1 to %d", MaxHeight))
	}
	rawProps, ok := m["properties"]
	if !ok {
		l.Add("properties", nil, "is missing", "add the widget's properties object")
		return w
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(rawProps, &props); err != nil || isNull(rawProps) {
		l.Add("properties", string(rawProps), "is not an object", "make properties an object")
		return w
	}
	var pl fielderr.List
	w.Properties = parseProperties(&pl, w.Type, props)
	l.Extend("properties", pl)
	return w
}

func parseProperties(l *fielderr.List, typ string, m map[string]json.RawMessage) Properties {
	var p Properties
	decodeField(l, m, "title", &p.Title)
	decodeField(l, m, "region", &p.Region)
	switch typ {
	case TypeMetric:
		decodeField(l, m, "view", &p.View)
		if p.View != "" && !slices.Contains(metricViews, p.View) {
			l.Add("view", p.View, "is not a metric widget view", fix(p.View, metricViews))
		}
		decodeField(l, m, "stacked", &p.Stacked)
		if decodeField(l, m, "stat", &p.Stat) && p.Stat != "" {
			checkStat(l, "stat", p.Stat)
		}
		if decodeField(l, m, "period", &p.Period) {
			checkPeriod(l, "period", p.Period)
		}
		if raw, ok := m["yAxis"]; ok && !isNull(raw) {
			p.YAxis = &YAxis{}
			if err := strictDecode(raw, p.YAxis); err != nil {
				l.Add("yAxis", string(raw), "is not a y-axis object: "+err.Error(),
					`use {"left": {"min": 0, "max": 100, "label": "…"}, "right": {…}}`)
			}
		}
		raw, ok := m["metrics"]
		if !ok {
			l.Add("metrics", nil, "is missing", `add a "metrics" array of rows such as ["AWS/EC2", "CPUUtilization"]`)
			break
		}
		var ml fielderr.List
		p.Metrics = parseMetrics(&ml, raw)
		l.Extend("metrics", ml)
	case TypeText:
		if _, ok := m["markdown"]; !ok {
			l.Add("markdown", nil, "is missing", "add the text to show as markdown")
		}
		decodeField(l, m, "markdown", &p.Markdown)
		decodeField(l, m, "background", &p.Background)
		if p.Background != "" && !slices.Contains(textBackground, p.Background) {
			l.Add("background", p.Background, "is not a text background", "use \"solid\" or \"transparent\"")
		}
	case TypeAlarm:
		if _, ok := m["alarms"]; !ok {
			l.Add("alarms", nil, "is missing", "list the alarm ARNs to show")
		} else if decodeField(l, m, "alarms", &p.Alarms) {
			if len(p.Alarms) == 0 {
				l.Add("alarms", "[]", "is empty", "list at least one alarm ARN")
			}
			for i, a := range p.Alarms {
				if a == "" {
					l.Add(fielderr.Index("alarms", i), a, "is empty", "give an alarm ARN (arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME)")
				}
			}
		}
		decodeField(l, m, "sortBy", &p.SortBy)
		if p.SortBy != "" && !slices.Contains(alarmSorts, p.SortBy) {
			l.Add("sortBy", p.SortBy, "is not an alarm sort order", fix(p.SortBy, alarmSorts))
		}
		decodeField(l, m, "states", &p.States)
		for i, s := range p.States {
			if !slices.Contains(alarmStates, s) {
				l.Add(fielderr.Index("states", i), s, "is not an alarm state", fix(s, alarmStates))
			}
		}
	case TypeLog:
		if _, ok := m["query"]; !ok {
			l.Add("query", nil, "is missing", "add a Logs Insights query such as \"SOURCE 'my-group' | fields @timestamp, @message\"")
		}
		decodeField(l, m, "query", &p.Query)
		decodeField(l, m, "view", &p.View)
		if p.View != "" && !slices.Contains(logViews, p.View) {
			l.Add("view", p.View, "is not a log widget view", fix(p.View, logViews))
		}
		decodeField(l, m, "stacked", &p.Stacked)
	}
	return p
}

// decodeField decodes m[key] into dst when present and not null, adding
// a problem when its JSON type does not fit. It reports whether dst was
// set.
func decodeField(l *fielderr.List, m map[string]json.RawMessage, key string, dst any) bool {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		return false
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		l.Add(key, string(raw), "is not "+kindOf(dst), "give "+kindOf(dst))
		return false
	}
	return true
}

func kindOf(dst any) string {
	switch dst.(type) {
	case *string:
		return "a string"
	case *int:
		return "a whole number"
	case *bool:
		return "true or false"
	case *[]string:
		return "an array of strings"
	default:
		return fmt.Sprintf("a %T", dst)
	}
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// strictDecode decodes one JSON value, refusing unknown object fields in
// structs and trailing data.
func strictDecode(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// fix advises one of the allowed values, naming the closest one first.
func fix(got string, allowed []string) string {
	advice := "use one of " + strings.Join(allowed, ", ")
	if d := fielderr.DidYouMean(got, allowed); d != "" {
		advice = d + " " + advice
	}
	return advice
}
