package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/dashboard"
)

// widgetForm is the add-widget form's values and problem.
type widgetForm struct {
	Type, Title, Namespace, Metric, Dimension, Stat string
	Period, Width                                   int
	Text, Alarm                                     string
	// Field names the field with the problem; Error and Hint say it.
	Field, Error, Hint string
}

// cwWidgetTypes are the types the add-widget form offers.
var cwWidgetTypes = []string{"line", "number", "text", "alarm"}

// widgetFormOf reads the add-widget form.
func widgetFormOf(r *http.Request) widgetForm {
	f := widgetForm{Type: r.FormValue("type"), Title: strings.TrimSpace(r.FormValue("title")),
		Namespace: strings.TrimSpace(r.FormValue("namespace")), Metric: strings.TrimSpace(r.FormValue("metric")),
		Dimension: strings.TrimSpace(r.FormValue("dimension")), Stat: r.FormValue("stat"),
		Text: r.FormValue("text"), Alarm: r.FormValue("alarm")}
	f.Period, _ = strconv.Atoi(r.FormValue("period"))
	f.Width, _ = strconv.Atoi(r.FormValue("width"))
	return f
}

// cwFieldError is a problem of a form field.
type cwFieldError struct{ Field, Message string }

func (e *cwFieldError) Error() string { return e.Field + ": " + e.Message }

// widget builds the dashboard widget the form describes; arn finds an
// alarm's ARN by name.
func (f widgetForm) widget(arn func(string) (string, error)) (dashboard.Widget, error) {
	if !slices.Contains(cwWidgetTypes, f.Type) {
		return dashboard.Widget{}, &cwFieldError{"type", "choose line, number, text or alarm"}
	}
	if !slices.Contains([]int{6, 8, 12, 16, 24}, f.Width) {
		return dashboard.Widget{}, &cwFieldError{"width", "choose one of the widths"}
	}
	w := dashboard.Widget{Width: f.Width, Height: 6, Properties: dashboard.Properties{Title: f.Title}}
	switch f.Type {
	case "line", "number":
		w.Type = dashboard.TypeMetric
		switch {
		case f.Namespace == "":
			return w, &cwFieldError{"namespace", "is missing: give the metric's namespace, e.g. AWS/EC2"}
		case f.Metric == "":
			return w, &cwFieldError{"metric", "is missing: name the metric, e.g. CPUUtilization"}
		case !cwValidStat(f.Stat):
			return w, &cwFieldError{"stat", "choose a statistic"}
		case !cwValidPeriod(f.Period):
			return w, &cwFieldError{"period", "choose a period"}
		}
		row := dashboard.MetricRow{Namespace: f.Namespace, MetricName: f.Metric, Visible: true}
		if f.Dimension != "" {
			for _, part := range strings.Split(f.Dimension, ",") {
				name, value, err := cwParseDim(strings.TrimSpace(part))
				if err != nil {
					return w, &cwFieldError{"dimension", err.(*cwParamError).Message}
				}
				row.Dimensions = append(row.Dimensions, dashboard.Dim{Name: name, Value: value})
			}
		}
		w.Properties.Metrics = []dashboard.MetricRow{row}
		w.Properties.Stat, w.Properties.Period = f.Stat, f.Period
		w.Properties.View = dashboard.ViewTimeSeries
		if f.Type == "number" {
			w.Properties.View, w.Height = dashboard.ViewSingleValue, 3
		}
	case "text":
		if strings.TrimSpace(f.Text) == "" {
			return w, &cwFieldError{"text", "is missing: write the widget's text"}
		}
		w.Type, w.Properties.Markdown, w.Height = dashboard.TypeText, f.Text, 3
	case "alarm":
		if f.Alarm == "" {
			return w, &cwFieldError{"alarm", "choose an alarm"}
		}
		a, err := arn(f.Alarm)
		if err != nil {
			return w, err
		}
		w.Type, w.Properties.Alarms, w.Height = dashboard.TypeAlarm, []string{a}, 3
	}
	return w, nil
}

// addWidget serves POST /cloudwatch/dashboards/{name}/widgets.
func (s *Server) addWidget(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ctx := r.Context()
	_, b, err := s.loadDashboard(ctx, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := widgetFormOf(r)
	wd, err := f.widget(func(n string) (string, error) {
		a, err := s.api.Alarm(ctx, n)
		return a.ARN, err
	})
	if err == nil {
		b.Widgets = append(b.Widgets, wd)
		cwReflow(b)
		err = s.putDashboard(ctx, name, b)
	}
	if err != nil {
		var fe *cwFieldError
		if errors.As(err, &fe) {
			f.Field, f.Error = fe.Field, fe.Message
		} else {
			f.Error, f.Hint = cwErrorText(err)
		}
		p, lerr := s.dashboardData(ctx, langOf(r), name, f)
		if lerr != nil {
			s.fail(w, r, lerr)
			return
		}
		s.renderStatus(w, r, http.StatusBadRequest, "cloudwatch/dashboard", "cw.dashboard.title", p)
		return
	}
	s.redirect(w, r, "/cloudwatch/dashboards/"+url.PathEscape(name), "ok", "cw.widget.added")
}

// arrangeWidget serves POST /cloudwatch/dashboards/{name}/widgets/{i}
// with action up, down, width (and width=N) or delete.
func (s *Server) arrangeWidget(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ctx := r.Context()
	_, b, err := s.loadDashboard(ctx, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 || i >= len(b.Widgets) {
		s.notFound(w, r)
		return
	}
	msg := "cw.widget.moved"
	switch r.FormValue("action") {
	case "up":
		if i > 0 {
			b.Widgets[i-1], b.Widgets[i] = b.Widgets[i], b.Widgets[i-1]
		}
	case "down":
		if i < len(b.Widgets)-1 {
			b.Widgets[i+1], b.Widgets[i] = b.Widgets[i], b.Widgets[i+1]
		}
	case "width":
		wd, err := strconv.Atoi(r.FormValue("width"))
		if err != nil || wd < 1 || wd > dashboard.GridColumns {
			http.Error(w, "width: give 1 to 24", http.StatusBadRequest)
			return
		}
		b.Widgets[i].Width, msg = wd, "cw.widget.resized"
	case "delete":
		b.Widgets, msg = slices.Delete(b.Widgets, i, i+1), "cw.widget.deleted"
	default:
		http.Error(w, "action: use up, down, width or delete", http.StatusBadRequest)
		return
	}
	cwReflow(b)
	if err := s.putDashboard(ctx, name, b); err != nil {
		s.fail(w, r, err)
		return
	}
	s.redirect(w, r, "/cloudwatch/dashboards/"+url.PathEscape(name), "ok", msg)
}

// deleteDashboard serves POST /cloudwatch/dashboards/{name}/delete.
func (s *Server) deleteDashboard(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.api.DeleteResource(r.Context(), kindDashboard, name); err != nil {
		s.fail(w, r, err)
		return
	}
	s.redirect(w, r, "/cloudwatch/dashboards", "ok", "cw.dashboard.deleted")
}
