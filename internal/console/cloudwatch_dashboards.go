package console

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/dashboard"
)

// kindDashboard is the resource kind of dashboards in the API.
const kindDashboard = "dashboard"

// dashboardsPage is the data of the dashboard list.
type dashboardsPage struct {
	Dashboards []dashboardRow
	// Name and Error are the create form's value and problem.
	Name, Error, Hint string
}

type dashboardRow struct {
	Name, Owner string
	Widgets     int
	UpdatedAt   time.Time
}

// dashboardPage is the data of one dashboard.
type dashboardPage struct {
	Name, Owner string
	UpdatedAt   time.Time
	Widgets     []widgetView
	// Minutes is the dashboard's time range.
	Minutes int
	Form    widgetForm
	Stats   []string
	Periods []cwOption
	Widths  []cwOption
	Alarms  []string
}

// widgetView is one widget as the dashboard page draws it.
type widgetView struct {
	// Dashboard and Owner are the widget's dashboard and its stack.
	Dashboard, Owner string
	Index            int
	// Type is line, number, text, alarm or log.
	Type, Title, Span string
	Width             int
	Stat              string
	Period            int
	// PeriodText is the period as "5m00s".
	PeriodText string
	ChartSrc   string
	// Value and Unit are a number widget's latest value.
	Value, Unit string
	Markdown    string
	Alarms      []cwAlarmBadge
	Query       string
	First, Last bool
	// Note tells what the console cannot draw (metric math rows).
	Note string
}

type cwAlarmBadge struct{ Name, State string }

// spanClasses are the CSS grid classes of widget widths (a 12-column
// grid; the dashboard's grid has 24 columns).
var spanClasses = []int{3, 4, 6, 8, 12}

// cwSpanClass maps a widget's width on the 24-column grid to one of the
// console's span classes.
func cwSpanClass(width int) string {
	half := (width + 1) / 2
	best := spanClasses[0]
	for _, s := range spanClasses {
		if cwAbs(s-half) < cwAbs(best-half) {
			best = s
		}
	}
	return "span-" + strconv.Itoa(best)
}

func cwAbs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// cwWidthOptions are the widths the add-widget form offers.
func cwWidthOptions(l lang, cur int) []cwOption {
	labels := map[int]string{6: "cw.width.quarter", 8: "cw.width.third", 12: "cw.width.half", 16: "cw.width.twothirds", 24: "cw.width.full"}
	var out []cwOption
	for _, w := range []int{6, 8, 12, 16, 24} {
		out = append(out, cwOption{Value: w, Label: l.T(labels[w]), Selected: w == cur})
	}
	return out
}

// cwParseBody reads a stored dashboard's body.
func cwParseBody(d v1.Dashboard) (*dashboard.Body, error) {
	var raw []byte
	if s, ok := d.Body.(string); ok {
		raw = []byte(s)
	} else {
		b, err := json.Marshal(d.Body)
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", d.Name, err)
		}
		raw = b
	}
	return dashboard.Parse(raw)
}

// cwOrdered sorts widgets into the grid's reading order: by row, then
// column.
func cwOrdered(b *dashboard.Body) {
	sort.SliceStable(b.Widgets, func(i, j int) bool {
		if b.Widgets[i].Y != b.Widgets[j].Y {
			return b.Widgets[i].Y < b.Widgets[j].Y
		}
		return b.Widgets[i].X < b.Widgets[j].X
	})
}

// cwReflow lays widgets out left to right, top to bottom, in their order,
// as CloudWatch's console places added widgets.
func cwReflow(b *dashboard.Body) {
	x, y, rowH := 0, 0, 0
	for i := range b.Widgets {
		w := &b.Widgets[i]
		if x+w.Width > dashboard.GridColumns {
			x, y, rowH = 0, y+rowH, 0
		}
		w.X, w.Y = x, y
		x += w.Width
		rowH = max(rowH, w.Height)
	}
}

func (s *Server) dashboards(w http.ResponseWriter, r *http.Request) {
	p, err := s.dashboardsData(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, "cloudwatch/dashboards", "cw.dashboards.title", p)
}

func (s *Server) dashboardsData(ctx context.Context) (dashboardsPage, error) {
	ds, err := s.api.Dashboards(ctx)
	if err != nil {
		return dashboardsPage{}, err
	}
	var p dashboardsPage
	for _, d := range ds {
		row := dashboardRow{Name: d.Name, Owner: d.Owner, UpdatedAt: d.UpdatedAt}
		if b, err := cwParseBody(d); err == nil {
			row.Widgets = len(b.Widgets)
		}
		p.Dashboards = append(p.Dashboards, row)
	}
	return p, nil
}

// createDashboard serves POST /cloudwatch/dashboards (name): an empty
// dashboard.
func (s *Server) createDashboard(w http.ResponseWriter, r *http.Request) {
	name := r.FormValue("name")
	err := s.putDashboard(r.Context(), name, &dashboard.Body{Widgets: []dashboard.Widget{}})
	if err == nil {
		s.redirect(w, r, "/cloudwatch/dashboards/"+url.PathEscape(name), "ok", "cw.dashboard.created")
		return
	}
	p, lerr := s.dashboardsData(r.Context())
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	p.Name = name
	p.Error, p.Hint = cwErrorText(err)
	s.renderStatus(w, r, http.StatusBadRequest, "cloudwatch/dashboards", "cw.dashboards.title", p)
}

// cwErrorText splits an API error into its message and hint.
func cwErrorText(err error) (string, string) {
	var ae *apiError
	if asAPIError(err, &ae) {
		return ae.Message, ae.Hint
	}
	return err.Error(), ""
}

// putDashboard writes a dashboard through the API's resources.
func (s *Server) putDashboard(ctx context.Context, name string, b *dashboard.Body) error {
	if b.Widgets == nil {
		b.Widgets = []dashboard.Widget{}
	}
	_, err := s.api.PutResource(ctx, kindDashboard, name, map[string]any{"name": name, "body": b})
	return err
}

// loadDashboard reads a dashboard and its body in grid order.
func (s *Server) loadDashboard(ctx context.Context, name string) (v1.Dashboard, *dashboard.Body, error) {
	d, err := s.api.Dashboard(ctx, name)
	if err != nil {
		return d, nil, err
	}
	b, err := cwParseBody(d)
	if err != nil {
		return d, nil, err
	}
	cwOrdered(b)
	return d, b, nil
}

func (s *Server) dashboardView(w http.ResponseWriter, r *http.Request) {
	p, err := s.dashboardData(r.Context(), langOf(r), r.PathValue("name"), widgetForm{Type: "line", Stat: "Average", Period: 300, Width: 12})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, "cloudwatch/dashboard", "cw.dashboard.title", p)
}

// dashboardWidget serves GET /cloudwatch/dashboards/{name}/widgets/{i}:
// one widget alone (number and alarm widgets refresh through it).
func (s *Server) dashboardWidget(w http.ResponseWriter, r *http.Request) {
	p, err := s.dashboardData(r.Context(), langOf(r), r.PathValue("name"), widgetForm{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 || i >= len(p.Widgets) {
		s.notFound(w, r)
		return
	}
	q := r.URL.Query()
	q.Set("fragment", "frag-widget")
	r.URL.RawQuery = q.Encode()
	s.page(w, r, "cloudwatch/dashboard", "cw.dashboard.title", p.Widgets[i])
}

func (s *Server) dashboardData(ctx context.Context, l lang, name string, form widgetForm) (dashboardPage, error) {
	d, b, err := s.loadDashboard(ctx, name)
	if err != nil {
		return dashboardPage{}, err
	}
	now := s.now()
	start, end, err := dashboard.ParseRange(b.Start, b.End, now)
	if err != nil {
		start, end = now.Add(-3*time.Hour), now
	}
	minutes := max(int(end.Sub(start).Minutes()), 1)
	p := dashboardPage{Name: d.Name, Owner: d.Owner, UpdatedAt: d.UpdatedAt, Minutes: minutes, Form: form,
		Stats: cwStats, Periods: cwPeriodOptions(l, form.Period), Widths: cwWidthOptions(l, form.Width)}
	var alarms []v1.Alarm
	for _, wd := range b.Widgets {
		if wd.Type == dashboard.TypeAlarm {
			if alarms, err = s.api.Alarms(ctx); err != nil {
				return dashboardPage{}, err
			}
			break
		}
	}
	if form.Type != "" {
		all, err := s.api.Alarms(ctx)
		if err == nil {
			for _, a := range all {
				p.Alarms = append(p.Alarms, a.Name)
			}
		}
	}
	for i := range b.Widgets {
		v := s.widgetView(ctx, b, i, minutes, alarms)
		v.Dashboard, v.Owner, v.First, v.Last = d.Name, d.Owner, i == 0, i == len(b.Widgets)-1
		p.Widgets = append(p.Widgets, v)
	}
	return p, nil
}

// widgetView turns widget i of b into what the page draws.
func (s *Server) widgetView(ctx context.Context, b *dashboard.Body, i, minutes int, alarms []v1.Alarm) widgetView {
	wd := b.Widgets[i]
	v := widgetView{Index: i, Title: wd.Properties.Title, Width: wd.Width, Span: cwSpanClass(wd.Width)}
	switch wd.Type {
	case dashboard.TypeMetric:
		v.Type = "line"
		if wd.Properties.View == dashboard.ViewSingleValue || wd.Properties.View == dashboard.ViewGauge {
			v.Type = "number"
		}
		var qs []seriesQuery
		for _, row := range b.Rows(i) {
			if row.Expression != "" || !row.Visible && row.ID != "" {
				if row.Expression != "" {
					v.Note = "cw.widget.mathnote"
				}
				continue
			}
			dims := map[string]string{}
			for _, d := range row.Dimensions {
				dims[d.Name] = d.Value
			}
			qs = append(qs, seriesQuery{Namespace: row.Namespace, Metric: row.MetricName, Dims: dims, Stat: row.Stat, Label: row.Label})
			if v.Period == 0 {
				v.Stat, v.Period = row.Stat, row.Period
			}
		}
		if len(qs) == 0 {
			break
		}
		period := cwChartPeriod(v.Period, minutes)
		v.PeriodText = durText(float64(v.Period))
		v.ChartSrc = seriesURLOf(qs, period, minutes)
		if v.Title == "" {
			v.Title = qs[0].Metric
		}
		if v.Type == "number" {
			v.Value, v.Unit = s.latest(ctx, qs[0], period, minutes)
		}
	case dashboard.TypeText:
		v.Type, v.Markdown = "text", wd.Properties.Markdown
	case dashboard.TypeAlarm:
		v.Type = "alarm"
		for _, arn := range wd.Properties.Alarms {
			badge := cwAlarmBadge{Name: arn, State: "INSUFFICIENT_DATA"}
			for _, a := range alarms {
				if a.ARN == arn || a.Name == arn {
					badge = cwAlarmBadge{Name: a.Name, State: a.State.State}
				}
			}
			v.Alarms = append(v.Alarms, badge)
		}
	case dashboard.TypeLog:
		v.Type, v.Query = "log", wd.Properties.Query
	}
	return v
}

// cwChartPeriod is period, lengthened to a whole number of minutes when the
// range would otherwise hold more points than one query returns.
func cwChartPeriod(period, minutes int) int {
	if period <= 0 {
		period = dashboard.DefaultPeriod
	}
	if minutes*60/period <= cwMaxChartPoints && (period >= 60 || minutes <= 180) {
		return period
	}
	need := (minutes*60 + cwMaxChartPoints - 1) / cwMaxChartPoints
	return max((need+59)/60*60, 60)
}

// latest is a metric's newest value over the range, formatted, and its
// unit; "—" when there is none.
func (s *Server) latest(ctx context.Context, q seriesQuery, period, minutes int) (string, string) {
	data, err := s.series(ctx, seriesRequest{Queries: []seriesQuery{q}, Period: period, Minutes: minutes}, s.now())
	if err != nil || len(data.Series) == 0 {
		return "—", ""
	}
	vals := data.Series[0].Values
	for i := len(vals) - 1; i >= 0; i-- {
		if vals[i] != nil {
			return strconv.FormatFloat(math.Round(*vals[i]*100)/100, 'f', -1, 64), data.Unit
		}
	}
	return "—", data.Unit
}
