package top

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/madang-dev/madang/internal/dashboard"
)

var fixedNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func testOptions() Options {
	return Options{Interval: time.Second, Now: func() time.Time { return fixedNow }, Output: &strings.Builder{}}
}

func newTestTop() *topModel {
	m := newTopModel(context.Background(), &fakeSource{}, testOptions())
	m.merge(fakeSnapshot(5, fixedNow), nil)
	return m
}

// checkScreen checks that a screen is exactly h lines, none wider than w.
func checkScreen(t *testing.T, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide, over %d: %q", i, n, w, ansi.Strip(l))
		}
	}
}

var screenSizes = []struct {
	name string
	w, h int
}{
	{"wide", 200, 60}, {"standard", 120, 40}, {"classic", 80, 24}, {"narrow", 60, 15}, {"tiny", 30, 6}, {"one line", 20, 1},
}

func TestTopRenderFitsTheTerminal(t *testing.T) {
	m := newTestTop()
	for _, size := range screenSizes {
		t.Run(size.name, func(t *testing.T) {
			checkScreen(t, m.render(size.w, size.h), size.w, size.h)
		})
	}
}

func TestTopRenderScrollsToTheSelection(t *testing.T) {
	m := newTestTop()
	for range 3 {
		m.Update(tea.KeyMsg{Type: tea.KeyDown})
	}
	s := ansi.Strip(m.render(100, 12))
	if !strings.Contains(s, "▶ i-0d4") || !strings.Contains(s, "of 4]") {
		t.Errorf("the last instance is not shown selected with a row range:\n%s", s)
	}
}

func TestTopMerge(t *testing.T) {
	tests := []struct {
		name       string
		snap       Snapshot
		err        error
		wantStatus string
		wantLBs    int
	}{
		{name: "source error keeps the data", err: errors.New("daemon unreachable"), wantStatus: "daemon unreachable", wantLBs: 2},
		{name: "snapshot problem keeps nil lists", snap: Snapshot{Err: "daemon restarting"}, wantStatus: "daemon restarting", wantLBs: 2},
		{name: "snapshot problem with data", snap: Snapshot{Err: "partial", LoadBalancers: []LoadBalancer{{Name: "x"}}}, wantStatus: "partial", wantLBs: 1},
		{name: "good snapshot replaces", snap: Snapshot{At: fixedNow}, wantStatus: "", wantLBs: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestTop()
			m.merge(tt.snap, tt.err)
			if m.status != tt.wantStatus {
				t.Errorf("status = %q, want %q", m.status, tt.wantStatus)
			}
			if n := len(m.snap.LoadBalancers); n != tt.wantLBs {
				t.Errorf("%d load balancers, want %d", n, tt.wantLBs)
			}
			if tt.wantStatus != "" && !strings.Contains(ansi.Strip(m.render(120, 40)), tt.wantStatus) {
				t.Errorf("the footer does not show %q", tt.wantStatus)
			}
		})
	}
}

func TestTopKeys(t *testing.T) {
	tests := []struct {
		name     string
		keys     []tea.KeyMsg
		wantPane int
		wantSel  [paneCount]int
		wantSort int
		wantQuit bool
	}{
		{name: "s cycles the sort", keys: []tea.KeyMsg{runeKey('s'), runeKey('s')}, wantSort: sortName},
		{name: "s wraps around", keys: []tea.KeyMsg{runeKey('s'), runeKey('s'), runeKey('s')}, wantSort: sortCPU},
		{name: "tab and shift-tab", keys: []tea.KeyMsg{{Type: tea.KeyTab}, {Type: tea.KeyTab}, {Type: tea.KeyShiftTab}}, wantPane: paneLoadBalancers},
		{name: "down stops at the last row", keys: []tea.KeyMsg{{Type: tea.KeyTab}, {Type: tea.KeyDown}, {Type: tea.KeyDown}, {Type: tea.KeyDown}},
			wantPane: paneLoadBalancers, wantSel: [paneCount]int{0, 1, 0}},
		{name: "up stops at the first row", keys: []tea.KeyMsg{runeKey('j'), runeKey('k'), runeKey('k')}},
		{name: "q quits", keys: []tea.KeyMsg{runeKey('q')}, wantQuit: true},
		{name: "ctrl-c quits", keys: []tea.KeyMsg{{Type: tea.KeyCtrlC}}, wantQuit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestTop()
			var cmd tea.Cmd
			for _, k := range tt.keys {
				_, cmd = m.Update(k)
			}
			if m.pane != tt.wantPane || m.sel != tt.wantSel || m.sortBy != tt.wantSort {
				t.Errorf("pane %d sel %v sort %d, want pane %d sel %v sort %d", m.pane, m.sel, m.sortBy, tt.wantPane, tt.wantSel, tt.wantSort)
			}
			quit := cmd != nil && isQuit(cmd())
			if quit != tt.wantQuit {
				t.Errorf("quit = %v, want %v", quit, tt.wantQuit)
			}
		})
	}
}

func runeKey(r rune) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}} }

func isQuit(msg tea.Msg) bool {
	_, ok := msg.(tea.QuitMsg)
	return ok
}

func TestOptionsAndSources(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{name: "negative interval", run: func() error { return Run(ctx, &fakeSource{}, Options{Interval: -time.Second}) }, want: "Options.Interval is -1s"},
		{name: "nil source", run: func() error { return Run(ctx, nil, Options{}) }, want: "source is nil"},
		{name: "nil dashboard source", run: func() error { return RunDashboard(ctx, nil, Options{}) }, want: "source is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRunEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Run(ctx, &fakeSource{}, Options{Input: strings.NewReader(""), Output: &strings.Builder{}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestShareAndLayout(t *testing.T) {
	shares := []struct {
		name string
		n    int
		want [paneCount]int
		got  [paneCount]int
	}{
		{name: "enough for all", n: 20, want: [paneCount]int{4, 2, 3}, got: [paneCount]int{4, 2, 3}},
		{name: "round robin", n: 5, want: [paneCount]int{4, 2, 3}, got: [paneCount]int{2, 2, 1}},
		{name: "none", n: -3, want: [paneCount]int{4, 2, 3}},
	}
	for _, tt := range shares {
		t.Run("share "+tt.name, func(t *testing.T) {
			if got := share(tt.n, tt.want); got != tt.got {
				t.Errorf("share(%d, %v) = %v, want %v", tt.n, tt.want, got, tt.got)
			}
		})
	}
	cols := []column{{title: "A", width: 10}, {title: "B", width: 10, drop: 2}, {title: "C", width: 30, flex: true, drop: 1}}
	layouts := []struct {
		name  string
		w     int
		want  []string
		flexW int
	}{
		{name: "all fit, flex capped", w: 100, want: []string{"A", "B", "C"}, flexW: 30},
		{name: "flex shrinks", w: 40, want: []string{"A", "B", "C"}, flexW: 16},
		{name: "flex dropped first", w: 25, want: []string{"A", "B"}},
		{name: "then the next", w: 15, want: []string{"A"}},
	}
	for _, tt := range layouts {
		t.Run("layout "+tt.name, func(t *testing.T) {
			got := layout(cols, tt.w)
			var titles []string
			for _, c := range got {
				titles = append(titles, c.title)
			}
			if strings.Join(titles, ",") != strings.Join(tt.want, ",") {
				t.Errorf("columns %v, want %v", titles, tt.want)
			}
			if c := find(got, "C"); c != nil && c.width != tt.flexW {
				t.Errorf("flex width %d, want %d", c.width, tt.flexW)
			}
		})
	}
}

// plainDashboard is a DashboardSource that is not an AlarmLister.
type plainDashboard struct{ body *dashboard.Body }

func (p plainDashboard) Dashboard(context.Context) (*dashboard.Body, error) { return p.body, nil }
func (p plainDashboard) Series(context.Context, int, time.Time, time.Time) ([]Series, error) {
	return []Series{{Label: "a", Values: []float64{1, 2}}, {Label: "b", Values: []float64{3, 4}}}, nil
}

func newTestDash(t *testing.T, src DashboardSource) *dashModel {
	t.Helper()
	m := &dashModel{ctx: context.Background(), src: src, interval: time.Second, now: func() time.Time { return fixedNow }, st: newStyles(&strings.Builder{})}
	data, err := loadDashboard(context.Background(), src, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	m.data, m.loaded = data, true
	return m
}

func TestDashboardRenderFitsTheTerminal(t *testing.T) {
	src, err := newFakeDashboard()
	if err != nil {
		t.Fatal(err)
	}
	m := newTestDash(t, src)
	for _, size := range screenSizes {
		t.Run(size.name, func(t *testing.T) {
			checkScreen(t, m.render(size.w, size.h), size.w, size.h)
		})
	}
}

func TestDashboardWidgets(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []string
		notWant []string
	}{
		{name: "alarm names from ARNs without an AlarmLister",
			body: `{"widgets": [{"type": "alarm", "width": 24, "properties": {"alarms": ["arn:aws:cloudwatch:r:1:alarm:disk"]}}]}`,
			want: []string{"disk", "INSUFFICIENT_DATA"}},
		{name: "alarm states filter",
			body:    `{"widgets": [{"type": "alarm", "width": 24, "properties": {"alarms": ["arn:aws:cloudwatch:r:1:alarm:disk"], "states": ["ALARM"]}}]}`,
			want:    []string{"no alarms"},
			notWant: []string{"disk"}},
		{name: "table view lists last values",
			body: `{"widgets": [{"type": "metric", "width": 24, "properties": {"view": "table", "metrics": [["N", "M"]]}}]}`,
			want: []string{"■ a", "■ b", "2", "4"}},
		{name: "bar view draws bars against the largest value",
			body: `{"widgets": [{"type": "metric", "width": 24, "properties": {"view": "bar", "metrics": [["N", "M"]]}}]}`,
			want: []string{"■ a █", "░ 2", "■ b █", "█ 4"}, notWant: []string{"░ 4"}},
		{name: "pie view shows shares",
			body: `{"widgets": [{"type": "metric", "width": 24, "properties": {"view": "pie", "metrics": [["N", "M"]]}}]}`,
			want: []string{"2 (33%)", "4 (67%)"}},
		{name: "gauge view uses the left axis",
			body: `{"widgets": [{"type": "metric", "width": 24, "properties": {"view": "gauge", "yAxis": {"left": {"min": 0, "max": 8}}, "metrics": [["N", "M"]]}}]}`,
			want: []string{"░ 4"}},
		{name: "stacked chart tops at the sum",
			body: `{"widgets": [{"type": "metric", "width": 24, "height": 8, "properties": {"stacked": true, "metrics": [["N", "M"]]}}]}`,
			want: []string{"6 ┤", "■ a  ■ b"}},
		{name: "untitled metric widget is named by its metric",
			body: `{"widgets": [{"type": "metric", "width": 24, "properties": {"metrics": [["N", "Latency"]]}}]}`,
			want: []string{"┌ Latency "}},
		{name: "log widget shows its query",
			body: `{"widgets": [{"type": "log", "width": 24, "properties": {"query": "SOURCE 'web' | fields @message"}}]}`,
			want: []string{"log query:", "SOURCE 'web' | fields @message"}},
		{name: "empty dashboard",
			body: `{"widgets": []}`,
			want: []string{"no widgets"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := dashboard.Parse([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			s := ansi.Strip(newTestDash(t, plainDashboard{b}).render(100, 20))
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("screen lacks %q:\n%s", w, s)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(s, w) {
					t.Errorf("screen shows %q:\n%s", w, s)
				}
			}
		})
	}
}

func TestDashboardScrolls(t *testing.T) {
	b, err := dashboard.Parse([]byte(`{"widgets": [
		{"type": "text", "y": 0, "width": 24, "height": 10, "properties": {"markdown": "first"}},
		{"type": "text", "y": 10, "width": 24, "height": 10, "properties": {"markdown": "second"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	m := newTestDash(t, plainDashboard{b})
	if s := ansi.Strip(m.render(80, 20)); !strings.Contains(s, "first") || strings.Contains(s, "second") {
		t.Fatalf("before scrolling, want only the first widget:\n%s", s)
	}
	m.height = 20
	m.Update(tea.KeyMsg{Type: tea.KeyPgDown})
	if s := ansi.Strip(m.render(80, 20)); !strings.Contains(s, "second") {
		t.Errorf("after scrolling, want the second widget:\n%s", s)
	}
}
