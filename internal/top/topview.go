package top

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// The panes of the live view, in tab order.
const (
	paneInstances = iota
	paneLoadBalancers
	paneAlarms
	paneCount
)

// Instance sort orders, in the order s cycles through them.
const (
	sortCPU = iota
	sortMemory
	sortName
	sortCount
)

var sortNames = [sortCount]string{"cpu", "mem", "name"}

// topModel is the live view's state.
type topModel struct {
	ctx      context.Context
	src      Source
	interval time.Duration
	now      func() time.Time
	st       styles

	width, height int
	snap          Snapshot // the last data
	status        string   // the last problem, "" when the last refresh worked
	loaded        bool

	pane   int
	sel    [paneCount]int
	sortBy int
}

func newTopModel(ctx context.Context, src Source, opts Options) *topModel {
	return &topModel{ctx: ctx, src: src, interval: opts.Interval, now: opts.Now, st: newStyles(opts.Output)}
}

// Init fetches the first snapshot.
func (m *topModel) Init() tea.Cmd { return m.fetch() }

func (m *topModel) fetch() tea.Cmd {
	ctx, src, timeout := m.ctx, m.src, max(m.interval*5, 5*time.Second)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		s, err := src.Snapshot(ctx)
		return dataMsg[Snapshot]{data: s, err: err}
	}
}

// Update handles keys, the terminal's size and refreshes.
func (m *topModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tickMsg:
		return m, m.fetch()
	case dataMsg[Snapshot]:
		m.merge(msg.data, msg.err)
		return m, tick(m.interval)
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "ctrl+c", "esc":
			return m, tea.Quit
		case "tab":
			m.pane = (m.pane + 1) % paneCount
		case "shift+tab":
			m.pane = (m.pane + paneCount - 1) % paneCount
		case "up", "k":
			m.sel[m.pane] = max(m.sel[m.pane]-1, 0)
		case "down", "j":
			m.sel[m.pane] = min(m.sel[m.pane]+1, max(m.paneLen(m.pane)-1, 0))
		case "s":
			m.sortBy = (m.sortBy + 1) % sortCount
		}
	}
	return m, nil
}

// merge takes a refresh's result: new lists replace the old ones, and a
// failed refresh keeps the last data and shows why.
func (m *topModel) merge(s Snapshot, err error) {
	switch {
	case err != nil:
		m.status = err.Error()
		return
	case s.Err != "":
		m.status = s.Err
	default:
		m.status = ""
	}
	m.loaded = true
	if s.Instances != nil || s.Err == "" {
		m.snap.Instances = s.Instances
	}
	if s.LoadBalancers != nil || s.Err == "" {
		m.snap.LoadBalancers = s.LoadBalancers
	}
	if s.Alarms != nil || s.Err == "" {
		m.snap.Alarms = s.Alarms
	}
	if !s.At.IsZero() {
		m.snap.At = s.At
	}
	for p := range paneCount {
		m.sel[p] = min(m.sel[p], max(m.paneLen(p)-1, 0))
	}
}

func (m *topModel) paneLen(p int) int {
	switch p {
	case paneInstances:
		return len(m.snap.Instances)
	case paneLoadBalancers:
		return len(m.snap.LoadBalancers)
	}
	return len(m.snap.Alarms)
}

// View draws the screen at the terminal's size.
func (m *topModel) View() string {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		w, h = 80, 24
	}
	return m.render(w, h)
}

// render draws the screen w cells wide and h lines tall: a header, the
// three panes (each a title, column headers and its rows) and a footer.
func (m *topModel) render(w, h int) string {
	instances := m.sortedInstances()
	const fixed = 2 + paneCount*2
	want := [paneCount]int{max(len(instances), 1), max(len(m.snap.LoadBalancers), 1), max(len(m.snap.Alarms), 1)}
	rows := share(h-fixed, want)

	lines := []string{m.header(w)}
	lines = append(lines, m.instancePane(w, rows[paneInstances], instances)...)
	lines = append(lines, m.lbPane(w, rows[paneLoadBalancers])...)
	lines = append(lines, m.alarmPane(w, rows[paneAlarms])...)
	if room := h - 1 - len(lines); room >= minDetail {
		lines = append(lines, m.detail(w, room, instances)...)
	}
	for len(lines) < h-1 {
		lines = append(lines, "")
	}
	lines = append(lines[:min(len(lines), max(h-1, 0))], m.footer(w))
	for i, l := range lines {
		lines[i] = fit(l, w)
	}
	return strings.Join(lines[:min(len(lines), h)], "\n")
}

// share deals n lines to the panes one at a time, round robin, to those
// that still have rows to show.
func share(n int, want [paneCount]int) [paneCount]int {
	var got [paneCount]int
	for n > 0 {
		gave := false
		for p := range paneCount {
			if n > 0 && got[p] < want[p] {
				got[p]++
				n--
				gave = true
			}
		}
		if !gave {
			break
		}
	}
	return got
}

func (m *topModel) header(w int) string {
	running := 0
	for _, in := range m.snap.Instances {
		if in.State == "running" {
			running++
		}
	}
	inAlarm := 0
	for _, a := range m.snap.Alarms {
		if a.State == StateAlarm {
			inAlarm++
		}
	}
	alarms := fmt.Sprintf("alarms %d in ALARM / %d", inAlarm, len(m.snap.Alarms))
	if inAlarm > 0 {
		alarms = m.st.red.Bold(true).Render(alarms)
	}
	left := m.st.title.Render(" madang top") + "  " + m.now().Format("15:04:05") +
		fmt.Sprintf("   instances %d/%d running   load balancers %d   ", running, len(m.snap.Instances), len(m.snap.LoadBalancers)) + alarms
	return left
}

func (m *topModel) footer(w int) string {
	keys := m.st.dim.Render(" q quit  tab pane  ↑/↓ select  s sort (" + sortNames[m.sortBy] + ")")
	var status string
	switch {
	case m.status != "":
		status = m.st.red.Render("⚠ " + m.status + " (showing the last data)")
	case !m.loaded:
		status = m.st.dim.Render("connecting…")
	case !m.snap.At.IsZero():
		status = m.st.dim.Render("updated " + m.snap.At.Format("15:04:05"))
	}
	gap := w - ansi.StringWidth(keys) - ansi.StringWidth(status) - 1
	if gap < 1 {
		return keys + " " + status
	}
	return keys + strings.Repeat(" ", gap) + status
}

// paneTitle draws a pane's title line: a marker when it has the focus,
// its name, a summary and, when not every row fits, which rows show.
func (m *topModel) paneTitle(w, pane int, name, summary string, first, shown, total int) string {
	marker, style := "  ", m.st.title
	if m.pane == pane {
		marker, style = "▶ ", m.st.selected
	}
	t := marker + style.Render(name) + " " + m.st.dim.Render(summary)
	if shown < total {
		t += m.st.dim.Render(fmt.Sprintf(" [%d–%d of %d]", first+1, first+shown, total))
	}
	rule := w - ansi.StringWidth(t) - 1
	if rule > 0 {
		t += " " + m.st.dim.Render(strings.Repeat("─", rule))
	}
	return t
}

// window returns the first row to show so that the selection is visible.
func window(sel, rows, total int) int {
	if rows <= 0 || total <= rows {
		return 0
	}
	return min(max(sel-rows+1, 0), total-rows)
}

func (m *topModel) sortedInstances() []Instance {
	in := slices.Clone(m.snap.Instances)
	byName := func(a, b Instance) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) }
	slices.SortStableFunc(in, func(a, b Instance) int {
		switch m.sortBy {
		case sortCPU:
			return cmp.Or(cmp.Compare(b.CPUPercent, a.CPUPercent), byName(a, b))
		case sortMemory:
			return cmp.Or(cmp.Compare(b.MemoryBytes, a.MemoryBytes), cmp.Compare(b.MemoryPercent, a.MemoryPercent), byName(a, b))
		}
		return byName(a, b)
	})
	return in
}

func (m *topModel) instancePane(w, rows int, in []Instance) []string {
	running := 0
	for _, i := range in {
		if i.State == "running" {
			running++
		}
	}
	first := window(m.sel[paneInstances], rows, len(in))
	shown := min(rows, len(in)-first)
	out := []string{m.paneTitle(w, paneInstances, "INSTANCES",
		fmt.Sprintf("%d/%d running · sort: %s", running, len(in), sortNames[m.sortBy]), first, shown, len(in))}
	cols := []column{
		{title: "ID", width: widest(in, 2, 21, func(i Instance) string { return i.ID })},
		{title: "NAME", width: widest(in, 4, 24, func(i Instance) string { return i.Name })},
		{title: "GROUP", width: widest(in, 5, 16, func(i Instance) string { return i.Group }), drop: 3},
		{title: "STATE", width: widest(in, 5, 13, func(i Instance) string { return i.State })},
		{title: "CPU%", width: 17},
		{title: "MEM", width: 16, drop: 2},
		{title: "RESTARTS", width: 8, right: true, drop: 4},
		{title: "CPU (60s)", width: 60, flex: true, drop: 1},
	}
	cols = layout(cols, w-2)
	out = append(out, "  "+m.st.header.Render(headerLine(cols)))
	if len(in) == 0 {
		return append(out, m.st.dim.Render("  (no instances)"))
	}
	for k := first; k < first+shown; k++ {
		i := in[k]
		filled, empty := bar(i.CPUPercent/100, 10)
		cpu := m.st.green.Render(filled) + m.st.dim.Render(empty) + fmt.Sprintf(" %5.1f%%", i.CPUPercent)
		mem := fmt.Sprintf("%9s %5.1f%%", formatBytes(i.MemoryBytes), i.MemoryPercent)
		state := i.State
		switch i.State {
		case "running":
			state = m.st.green.Render(state)
		case "stopped", "terminated", "failed":
			state = m.st.red.Render(state)
		default:
			state = m.st.yellow.Render(state)
		}
		cells := map[string]string{
			"ID": i.ID, "NAME": i.Name, "GROUP": i.Group, "STATE": state, "CPU%": cpu, "MEM": mem,
			"RESTARTS": strconv.Itoa(i.Restarts),
		}
		if c := find(cols, "CPU (60s)"); c != nil {
			cells["CPU (60s)"] = m.st.green.Render(Sparkline(i.CPUHistory, c.width))
		}
		out = append(out, m.gutter(paneInstances, k)+rowLine(cols, cells))
	}
	return out
}

func (m *topModel) lbPane(w, rows int) []string {
	lbs := m.snap.LoadBalancers
	first := window(m.sel[paneLoadBalancers], rows, len(lbs))
	shown := min(rows, len(lbs)-first)
	var rps float64
	for _, lb := range lbs {
		rps += lb.RequestsPerSecond
	}
	out := []string{m.paneTitle(w, paneLoadBalancers, "LOAD BALANCERS",
		fmt.Sprintf("%d · %s req/s", len(lbs), formatValue(rps)), first, shown, len(lbs))}
	cols := []column{
		{title: "NAME", width: widest(lbs, 4, 32, func(l LoadBalancer) string { return l.Name })},
		{title: "REQ/S", width: 8, right: true},
		{title: "p50 ms", width: 8, right: true},
		{title: "p99 ms", width: 8, right: true},
		{title: "5XX", width: 6, right: true},
		{title: "HEALTHY/UNHEALTHY", width: 17, right: true, drop: 2},
		{title: "REQ/S (60s)", width: 60, flex: true, drop: 1},
	}
	cols = layout(cols, w-2)
	out = append(out, "  "+m.st.header.Render(headerLine(cols)))
	if len(lbs) == 0 {
		return append(out, m.st.dim.Render("  (no load balancers)"))
	}
	for k := first; k < first+shown; k++ {
		lb := lbs[k]
		errs := formatValue(lb.Count5XX)
		if lb.Count5XX > 0 {
			errs = m.st.red.Render(errs)
		}
		health := m.st.green.Render(strconv.Itoa(lb.Healthy)) + "/"
		if lb.Unhealthy > 0 {
			health += m.st.red.Render(strconv.Itoa(lb.Unhealthy))
		} else {
			health += strconv.Itoa(lb.Unhealthy)
		}
		cells := map[string]string{
			"NAME": lb.Name, "REQ/S": formatValue(lb.RequestsPerSecond),
			"p50 ms": formatValue(lb.P50 * 1000), "p99 ms": formatValue(lb.P99 * 1000),
			"5XX": errs, "HEALTHY/UNHEALTHY": health,
		}
		if c := find(cols, "REQ/S (60s)"); c != nil {
			cells["REQ/S (60s)"] = m.st.palette[0].Render(Sparkline(lb.RPSHistory, c.width))
		}
		out = append(out, m.gutter(paneLoadBalancers, k)+rowLine(cols, cells))
	}
	return out
}

func (m *topModel) alarmPane(w, rows int) []string {
	alarms := slices.Clone(m.snap.Alarms)
	// ALARM first, then INSUFFICIENT_DATA, then OK, each by name.
	rank := func(s string) int {
		switch s {
		case StateAlarm:
			return 0
		case StateOK:
			return 2
		}
		return 1
	}
	slices.SortStableFunc(alarms, func(a, b Alarm) int {
		return cmp.Or(cmp.Compare(rank(a.State), rank(b.State)), cmp.Compare(a.Name, b.Name))
	})
	first := window(m.sel[paneAlarms], rows, len(alarms))
	shown := min(rows, len(alarms)-first)
	inAlarm := 0
	for _, a := range alarms {
		if a.State == StateAlarm {
			inAlarm++
		}
	}
	out := []string{m.paneTitle(w, paneAlarms, "ALARMS", fmt.Sprintf("%d in ALARM / %d", inAlarm, len(alarms)), first, shown, len(alarms))}
	cols := layout([]column{
		{title: "STATE", width: 17},
		{title: "NAME", width: widest(alarms, 4, 40, func(a Alarm) string { return a.Name })},
		{title: "SINCE", width: 6, right: true, drop: 2},
		{title: "REASON", width: 200, flex: true, drop: 1},
	}, w-2)
	out = append(out, "  "+m.st.header.Render(headerLine(cols)))
	if len(alarms) == 0 {
		return append(out, m.st.dim.Render("  (no alarms)"))
	}
	now := m.now()
	for k := first; k < first+shown; k++ {
		a := alarms[k]
		since := ""
		if !a.Since.IsZero() {
			since = formatAge(now.Sub(a.Since))
		}
		cells := map[string]string{
			"STATE": m.st.state(a.State).Render(a.State), "NAME": a.Name, "SINCE": since, "REASON": a.Reason,
		}
		out = append(out, m.gutter(paneAlarms, k)+rowLine(cols, cells))
	}
	return out
}

// gutter marks the selected row of the focused pane.
func (m *topModel) gutter(pane, row int) string {
	if m.pane == pane && m.sel[pane] == row {
		return m.st.selected.Render("▶ ")
	}
	return "  "
}

// minDetail is the fewest lines the detail chart needs to be drawn.
const minDetail = 6

// maxDetail is the most lines the detail chart takes.
const maxDetail = 24

// detail draws, in the lines the panes leave, a chart of the selected
// load balancer's requests a second when that pane has the focus, else of
// the selected instance's CPU.
func (m *topModel) detail(w, h int, instances []Instance) []string {
	var title string
	var s Series
	switch {
	case m.pane == paneLoadBalancers && len(m.snap.LoadBalancers) > 0:
		lb := m.snap.LoadBalancers[m.sel[paneLoadBalancers]]
		title, s = "REQ/S "+lb.Name, Series{Label: lb.Name, Values: lb.RPSHistory}
	case len(instances) > 0:
		in := instances[m.sel[paneInstances]]
		title, s = "CPU% "+in.ID+" ("+in.Name+")", Series{Label: in.ID, Values: in.CPUHistory}
	default:
		return nil
	}
	// The history's seconds end now; an empty series spans the minute the
	// chart shows so that a short history draws at the right edge.
	at := m.snap.At
	if at.IsZero() {
		at = m.now()
	}
	for k := range s.Values {
		s.Times = append(s.Times, at.Add(-time.Duration(len(s.Values)-1-k)*time.Second))
	}
	span := Series{Times: []time.Time{at.Add(-59 * time.Second), at}, Values: []float64{math.NaN(), math.NaN()}}
	out := []string{m.paneTitle(w, -1, title, "last 60 s", 0, 0, 0)}
	chart := Chart([]Series{s, span}, w-2, min(h, maxDetail)-1)
	for _, l := range strings.Split(chart, "\n") {
		out = append(out, "  "+m.st.green.Render(l))
	}
	return out
}
