package top

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/madang-dev/madang/internal/dashboard"
)

// DashboardSource gives the dashboard that RunDashboard draws and its
// data.
type DashboardSource interface {
	// Dashboard returns the dashboard's current body; RunDashboard asks
	// once an interval, so an edited dashboard shows at the next refresh.
	Dashboard(ctx context.Context) (*dashboard.Body, error)
	// Series returns the data of metric widget w's visible rows (and
	// expressions) between start and end, already queried: one Series a
	// line.
	Series(ctx context.Context, w int, start, end time.Time) ([]Series, error)
}

// AlarmLister is implemented by a DashboardSource that knows the states
// of the alarms an alarm widget shows. Without it alarm widgets show
// their alarms' names as INSUFFICIENT_DATA.
type AlarmLister interface {
	// Alarms returns the alarms of alarm widget w.
	Alarms(ctx context.Context, w int) ([]Alarm, error)
}

// Series is one line of a metric widget: its label and its points, Times
// and Values of the same length, oldest first.
type Series struct {
	Label  string
	Times  []time.Time
	Values []float64
}

// RunDashboard draws the dashboard of src, its widgets placed on
// CloudWatch's 24-column grid scaled to the terminal, refreshed every
// interval, until the user quits (q or ctrl-c) or ctx ends. Metric
// widgets draw as line charts (timeSeries, stacked when asked), big
// numbers (singleValue) or a table of last values (the other views);
// text widgets as plain text; alarm widgets as a grid of states; log
// widgets show their query. ↑/↓ scroll a dashboard taller than the
// terminal.
func RunDashboard(ctx context.Context, src DashboardSource, opts Options) error {
	if src == nil {
		return errors.New("top: RunDashboard's source is nil; pass a DashboardSource")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	m := &dashModel{ctx: ctx, src: src, interval: opts.Interval, now: opts.Now, st: newStyles(opts.Output)}
	return runProgram(ctx, m, opts)
}

// dashData is one refresh of a dashboard: its body and each widget's
// data, by widget index.
type dashData struct {
	body       *dashboard.Body
	start, end time.Time
	series     map[int][]Series
	alarms     map[int][]Alarm
	// errs are problems with single widgets, shown in them.
	errs map[int]string
}

type dashModel struct {
	ctx      context.Context
	src      DashboardSource
	interval time.Duration
	now      func() time.Time
	st       styles

	width, height int
	data          dashData
	status        string
	loaded        bool
	scroll        int
}

// Init fetches the dashboard the first time.
func (m *dashModel) Init() tea.Cmd { return m.fetch() }

func (m *dashModel) fetch() tea.Cmd {
	ctx, src, now, timeout := m.ctx, m.src, m.now, max(m.interval*5, 5*time.Second)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		d, err := loadDashboard(ctx, src, now())
		return dataMsg[dashData]{data: d, err: err}
	}
}

// loadDashboard reads the body and queries every widget's data.
func loadDashboard(ctx context.Context, src DashboardSource, now time.Time) (dashData, error) {
	body, err := src.Dashboard(ctx)
	if err != nil {
		return dashData{}, fmt.Errorf("read the dashboard: %w", err)
	}
	if body == nil {
		return dashData{}, errors.New("the dashboard source returned no body; check that the dashboard exists")
	}
	start, end, err := dashboard.ParseRange(body.Start, body.End, now)
	if err != nil {
		return dashData{}, fmt.Errorf("the dashboard's time range: %w", err)
	}
	d := dashData{body: body, start: start, end: end,
		series: map[int][]Series{}, alarms: map[int][]Alarm{}, errs: map[int]string{}}
	lister, _ := src.(AlarmLister)
	for i, w := range body.Widgets {
		switch w.Type {
		case dashboard.TypeMetric:
			s, err := src.Series(ctx, i, start, end)
			if err != nil {
				d.errs[i] = err.Error()
			}
			d.series[i] = s
		case dashboard.TypeAlarm:
			if lister == nil {
				continue
			}
			a, err := lister.Alarms(ctx, i)
			if err != nil {
				d.errs[i] = err.Error()
			}
			d.alarms[i] = a
		}
	}
	return d, nil
}

// Update handles keys, the terminal's size and refreshes.
func (m *dashModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tickMsg:
		return m, m.fetch()
	case dataMsg[dashData]:
		if msg.err != nil {
			m.status = msg.err.Error()
		} else {
			m.data, m.status, m.loaded = msg.data, "", true
		}
		return m, tick(m.interval)
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "ctrl+c", "esc":
			return m, tea.Quit
		case "up", "k":
			m.scroll = max(m.scroll-1, 0)
		case "down", "j":
			m.scroll++
		case "pgup":
			m.scroll = max(m.scroll-max(m.height-2, 1), 0)
		case "pgdown", " ":
			m.scroll += max(m.height-2, 1)
		case "home", "g":
			m.scroll = 0
		}
	}
	return m, nil
}

// View draws the screen at the terminal's size.
func (m *dashModel) View() string {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		w, h = 80, 24
	}
	return m.render(w, h)
}

// render draws the header, the widgets' grid and the footer.
func (m *dashModel) render(w, h int) string {
	header := m.st.title.Render(" madang dashboard") + "  " + m.now().Format("15:04:05")
	if b := m.data.body; b != nil {
		header += fmt.Sprintf("   %d widgets   %s – %s", len(b.Widgets),
			m.data.start.Format("01-02 15:04"), m.data.end.Format("01-02 15:04"))
	}
	keys := m.st.dim.Render(" q quit  ↑/↓ scroll")
	status := ""
	switch {
	case m.status != "":
		status = m.st.red.Render("⚠ " + m.status)
	case !m.loaded:
		status = m.st.dim.Render("loading…")
	}
	footer := keys
	if gap := w - ansi.StringWidth(keys) - ansi.StringWidth(status) - 1; gap >= 1 {
		footer += strings.Repeat(" ", gap) + status
	} else {
		footer += " " + status
	}

	avail := max(h-2, 1)
	grid := m.grid(w, avail)
	m.scroll = min(m.scroll, max(len(grid)-avail, 0))
	lines := []string{header}
	lines = append(lines, grid[m.scroll:min(m.scroll+avail, len(grid))]...)
	for len(lines) < h-1 {
		lines = append(lines, "")
	}
	lines = append(lines, footer)
	for i := range lines {
		lines[i] = fit(lines[i], w)
	}
	return strings.Join(lines[:min(len(lines), h)], "\n")
}

// grid lays the widgets out: columns scale the 24-column grid to w cells;
// a dashboard that fits in avail lines at two lines a grid row or more is
// stretched to fill them, a taller one gets two lines a grid row and
// scrolls.
func (m *dashModel) grid(w, avail int) []string {
	b := m.data.body
	if b == nil {
		return nil
	}
	rows := 0
	for _, wd := range b.Widgets {
		rows = max(rows, wd.Y+wd.Height)
	}
	if rows == 0 {
		return []string{m.st.dim.Render("  (the dashboard has no widgets)")}
	}
	lineOf := func(y int) int { return y * 2 }
	total := rows * 2
	if total < avail {
		lineOf = func(y int) int { return y * avail / rows }
		total = avail
	}
	colOf := func(x int) int { return x * w / dashboard.GridColumns }

	type placed struct {
		x, w  int
		top   int
		lines []string
	}
	byLine := make([][]placed, total)
	for i, wd := range b.Widgets {
		x0, x1 := colOf(wd.X), colOf(min(wd.X+wd.Width, dashboard.GridColumns))
		y0, y1 := lineOf(wd.Y), lineOf(wd.Y+wd.Height)
		if x1-x0 < 3 || y1-y0 < 1 {
			continue
		}
		p := placed{x: x0, w: x1 - x0, top: y0, lines: m.widget(i, wd, x1-x0, y1-y0)}
		for y := y0; y < y1 && y < total; y++ {
			byLine[y] = append(byLine[y], p)
		}
	}
	out := make([]string, total)
	for y, ps := range byLine {
		slices.SortFunc(ps, func(a, b placed) int { return cmp.Compare(a.x, b.x) })
		var sb strings.Builder
		at := 0
		for _, p := range ps {
			if p.x < at {
				continue // overlaps a widget to its left
			}
			sb.WriteString(strings.Repeat(" ", p.x-at))
			line := ""
			if k := y - p.top; k < len(p.lines) {
				line = p.lines[k]
			}
			sb.WriteString(fit(line, p.w))
			at = p.x + p.w
		}
		out[y] = sb.String()
	}
	return out
}

// widget draws widget i in a box w cells wide and h lines tall, its title
// in the top border.
func (m *dashModel) widget(i int, wd dashboard.Widget, w, h int) []string {
	title := wd.Properties.Title
	if title == "" {
		title = defaultTitle(m.data.body, i, wd)
	}
	innerW, innerH := w-2, h-2
	if h < 3 {
		innerH = h - 1
	}
	var body []string
	if innerH > 0 {
		body = m.widgetBody(i, wd, innerW, innerH)
		if e := m.data.errs[i]; e != "" {
			body = append([]string{m.st.red.Render("⚠ " + e)}, body...)
		}
	}
	top := "┌"
	if wd.Type != dashboard.TypeText || wd.Properties.Title != "" {
		top += m.st.bold.Render(ansi.Truncate(" "+title+" ", max(w-4, 0), "…"))
	}
	top += strings.Repeat("─", max(w-1-ansi.StringWidth(top), 0)) + "┐"
	out := []string{top}
	for k := range max(innerH, 0) {
		line := ""
		if k < len(body) {
			line = body[k]
		}
		if h < 3 {
			out = append(out, " "+fit(line, innerW)+" ")
		} else {
			out = append(out, "│"+fit(line, innerW)+"│")
		}
	}
	if h >= 3 {
		out = append(out, "└"+strings.Repeat("─", max(w-2, 0))+"┘")
	}
	return out
}

// defaultTitle names an untitled widget as CloudWatch does: by its first
// metric, or its type.
func defaultTitle(b *dashboard.Body, i int, wd dashboard.Widget) string {
	if rows := b.Rows(i); len(rows) > 0 {
		if rows[0].Expression != "" {
			return rows[0].Expression
		}
		return rows[0].MetricName
	}
	return wd.Type
}

func (m *dashModel) widgetBody(i int, wd dashboard.Widget, w, h int) []string {
	switch wd.Type {
	case dashboard.TypeMetric:
		series := m.data.series[i]
		switch wd.Properties.View {
		case "", dashboard.ViewTimeSeries:
			return m.timeSeries(series, wd.Properties.Stacked, w, h)
		case dashboard.ViewSingleValue:
			return m.singleValue(series, w, h)
		default:
			return m.lastValues(series, wd.Properties, w)
		}
	case dashboard.TypeText:
		return wrapText(plainMarkdown(wd.Properties.Markdown), w)
	case dashboard.TypeAlarm:
		return m.alarmGrid(i, wd, w)
	case dashboard.TypeLog:
		return append([]string{m.st.dim.Render("log query:")}, wrapText(wd.Properties.Query, w)...)
	}
	return nil
}

// timeSeries draws a line chart with a legend under it; stacked charts
// draw each series on top of the ones before it.
func (m *dashModel) timeSeries(series []Series, stacked bool, w, h int) []string {
	if stacked {
		series = stack(series)
	}
	legend := m.legend(series, w)
	chartH := h - len(legend)
	if chartH < 3 {
		legend, chartH = nil, h
	}
	c := layoutChart(series, w, chartH)
	if c == nil {
		if len(series) > 0 {
			return []string{Sparkline(series[0].Values, w)}
		}
		return nil
	}
	out := make([]string, 0, h)
	for k, row := range c.cells {
		var sb strings.Builder
		sb.WriteString(m.st.dim.Render(c.labels[k]))
		for _, cell := range row {
			r := string(cellRune(cell))
			if cell.series >= 0 {
				r = m.st.palette[cell.series%len(m.st.palette)].Render(r)
			}
			sb.WriteString(r)
		}
		out = append(out, sb.String())
	}
	out = append(out, m.st.dim.Render(c.xAxis))
	return append(out, legend...)
}

// legend lists the series' labels in their colours, packed on as few
// lines as fit (one at most when the widget is short).
func (m *dashModel) legend(series []Series, w int) []string {
	var lines []string
	line, lw := "", 0
	for i, s := range series {
		item := m.st.palette[i%len(m.st.palette)].Render("■") + " " + s.Label
		iw := 2 + ansi.StringWidth(s.Label)
		if lw > 0 && lw+2+iw > w {
			lines = append(lines, line)
			line, lw = "", 0
		}
		if lw > 0 {
			line += "  "
			lw += 2
		}
		line += item
		lw += iw
	}
	if lw > 0 {
		lines = append(lines, line)
	}
	return lines
}

// stack returns series whose values are the running sums of the series
// before them, point by point.
func stack(series []Series) []Series {
	out := make([]Series, len(series))
	var sum []float64
	for i, s := range series {
		vals := make([]float64, len(s.Values))
		for k, v := range s.Values {
			if math.IsNaN(v) {
				v = 0
			}
			if k < len(sum) {
				v += sum[k]
			}
			vals[k] = v
		}
		sum = vals
		out[i] = Series{Label: s.Label, Times: s.Times, Values: vals}
	}
	return out
}

// last returns a series' newest value that is a number, or NaN.
func last(s Series) float64 {
	for k := len(s.Values) - 1; k >= 0; k-- {
		if !math.IsNaN(s.Values[k]) {
			return s.Values[k]
		}
	}
	return math.NaN()
}

// singleValue draws each series' newest value as a big number with its
// label under it, side by side.
func (m *dashModel) singleValue(series []Series, w, h int) []string {
	if len(series) == 0 {
		return []string{m.st.dim.Render("no data")}
	}
	n := min(len(series), max(w/12, 1))
	cellW := w / n
	big := h >= 4
	rows := 2
	if big {
		rows = bigHeight + 1
	}
	out := make([]string, rows)
	for i, s := range series[:n] {
		style := m.st.palette[i%len(m.st.palette)].Bold(true)
		value := formatValue(last(s))
		var valueLines []string
		if big && bigWidth(value) <= cellW-1 {
			valueLines = bigText(value)
		} else {
			valueLines = []string{value}
		}
		for k := range rows - 1 {
			line := ""
			if k < len(valueLines) {
				line = style.Render(valueLines[k])
			}
			out[k] += fit(" "+line, cellW)
		}
		out[rows-1] += fit(" "+m.st.dim.Render(s.Label), cellW)
	}
	return out
}

// lastValues lists each series' label and newest value; the bar, pie
// and gauge views add a bar: against the largest value (bar), the share
// of the total (pie, which also shows the percentage) or the left axis's
// range, 0–100 by default (gauge).
func (m *dashModel) lastValues(series []Series, p dashboard.Properties, w int) []string {
	if len(series) == 0 {
		return []string{m.st.dim.Render("no data")}
	}
	vals := make([]float64, len(series))
	labelW, top, total := 0, 0.0, 0.0
	for i, s := range series {
		vals[i] = last(s)
		labelW = max(labelW, ansi.StringWidth(s.Label))
		if !math.IsNaN(vals[i]) {
			top, total = math.Max(top, vals[i]), total+vals[i]
		}
	}
	lo, hi := 0.0, top
	switch p.View {
	case dashboard.ViewPie:
		hi = total
	case dashboard.ViewGauge:
		hi = 100
		if a := p.YAxis; a != nil && a.Left != nil {
			if a.Left.Min != nil {
				lo = *a.Left.Min
			}
			if a.Left.Max != nil {
				hi = *a.Left.Max
			}
		}
	}
	labelW = min(labelW, max(w/3, 4))
	out := make([]string, 0, len(series))
	for i, s := range series {
		style := m.st.palette[i%len(m.st.palette)]
		v := formatValue(vals[i])
		if p.View == dashboard.ViewPie && total > 0 {
			v += fmt.Sprintf(" (%.0f%%)", 100*vals[i]/total)
		}
		line := style.Render("■") + " " + fit(s.Label, labelW)
		if barW := w - labelW - ansi.StringWidth(v) - 4; p.View != dashboard.ViewTable && barW >= 4 && hi > lo {
			filled, empty := bar((vals[i]-lo)/(hi-lo), barW)
			line += " " + style.Render(filled) + m.st.dim.Render(empty)
		}
		out = append(out, line+" "+m.st.bold.Render(v))
	}
	return out
}

// alarmGrid draws the alarm widget's alarms as a grid of coloured states,
// filtered by the widget's states and sorted by its sortBy.
func (m *dashModel) alarmGrid(i int, wd dashboard.Widget, w int) []string {
	alarms, known := m.data.alarms[i]
	if !known {
		for _, arn := range wd.Properties.Alarms {
			name := arn
			if k := strings.LastIndex(arn, ":alarm:"); k >= 0 {
				name = arn[k+len(":alarm:"):]
			}
			alarms = append(alarms, Alarm{Name: name, State: StateInsufficientData})
		}
	}
	if states := wd.Properties.States; len(states) > 0 {
		alarms = slices.DeleteFunc(slices.Clone(alarms), func(a Alarm) bool { return !slices.Contains(states, a.State) })
	}
	rank := map[string]int{StateAlarm: 0, StateInsufficientData: 1, StateOK: 2}
	slices.SortStableFunc(alarms, func(a, b Alarm) int {
		switch wd.Properties.SortBy {
		case "stateUpdatedTimestamp":
			return cmp.Or(cmp.Compare(rank[a.State], rank[b.State]), b.Since.Compare(a.Since))
		case "timestamp":
			return b.Since.Compare(a.Since)
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if len(alarms) == 0 {
		return []string{m.st.dim.Render("no alarms")}
	}
	cellW := 0
	for _, a := range alarms {
		cellW = max(cellW, ansi.StringWidth(a.Name)+4, len(a.State)+4)
	}
	cellW = min(cellW, w)
	perLine := max(w/cellW, 1)
	var out []string
	for k := 0; k < len(alarms); k += perLine {
		var sb strings.Builder
		for _, a := range alarms[k:min(k+perLine, len(alarms))] {
			mark := "●"
			switch a.State {
			case StateAlarm:
				mark = "▲"
			case StateOK:
				mark = "✓"
			}
			sb.WriteString(fit(m.st.state(a.State).Render(mark+" "+a.Name), cellW))
		}
		out = append(out, sb.String())
		// The state words under each name.
		sb.Reset()
		for _, a := range alarms[k:min(k+perLine, len(alarms))] {
			sb.WriteString(fit("  "+m.st.state(a.State).Render(a.State), cellW))
		}
		out = append(out, sb.String())
	}
	return out
}
