package top

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary run a view instead of the tests: "top"
// runs Run with a fakeSource, "dashboard" RunDashboard with a
// fakeDashboard. The tmux tests start the binary that way in a terminal.
const childEnv = "MADANG_TOP_TEST"

// childInterval is the children's refresh interval, short so the tests
// see several refreshes quickly.
const childInterval = 200 * time.Millisecond

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		code, err := runChild(mode)
		if f := os.Getenv(exitFileEnv); f != "" {
			msg := "exited 0"
			if err != nil {
				msg = "failed: " + err.Error()
			}
			if werr := os.WriteFile(f, []byte(msg), 0o600); werr != nil {
				fmt.Fprintln(os.Stderr, "record the exit:", werr)
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// exitFileEnv names the file where a child records how its view ended
// ("exited 0" or "failed: …") before the process exits: the test waits
// for it rather than for tmux to notice the process's end.
const exitFileEnv = "MADANG_TOP_TEST_EXIT"

// runChild runs a view on the process's terminal and returns the exit
// code and the view's error.
func runChild(mode string) (int, error) {
	opts := Options{Interval: childInterval, AltScreen: true}
	var err error
	switch mode {
	case "top":
		err = Run(context.Background(), &fakeSource{}, opts)
	case "dashboard":
		var src *fakeDashboard
		if src, err = newFakeDashboard(); err == nil {
			err = RunDashboard(context.Background(), src, opts)
		}
	default:
		err = fmt.Errorf("%s is %q; use \"top\" or \"dashboard\"", childEnv, mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "view failed:", err)
		return 1, err
	}
	return 0, nil
}

// terminal is a detached tmux session running the test binary as a view,
// on a tmux server of its own.
type terminal struct {
	t        *testing.T
	socket   string
	exitFile string
}

// waitTimeout bounds each wait for the screen: generous, since the race
// detector and a busy machine slow the child down.
const waitTimeout = 20 * time.Second

func startTerminal(t *testing.T, mode string, width, height int) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed; these tests drive the view through a real terminal in tmux (apt-get install tmux)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("find the test binary: %v", err)
	}
	term := &terminal{t: t, exitFile: filepath.Join(t.TempDir(), "exit"), socket: fmt.Sprintf("madang-top-%d-%s", os.Getpid(), regexp.MustCompile(`\W`).ReplaceAllString(t.Name(), "_"))}
	t.Cleanup(func() {
		// The server may be gone already; kill-server then fails harmlessly.
		_ = exec.Command("tmux", "-L", term.socket, "kill-server").Run()
	})
	term.tmux("-f", "/dev/null", "new-session", "-d", "-s", "view", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height),
		"-e", childEnv+"="+mode, "-e", exitFileEnv+"="+term.exitFile, exe, ";", "set-option", "-t", "view", "remain-on-exit", "on")
	return term
}

func (term *terminal) tmux(args ...string) string {
	term.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", term.socket}, args...)...).CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is the visible content of the pane.
func (term *terminal) screen() string {
	term.t.Helper()
	return term.tmux("capture-pane", "-p", "-t", "view")
}

// keys types keys into the pane, in tmux's key names.
func (term *terminal) keys(keys ...string) {
	term.t.Helper()
	term.tmux(append([]string{"send-keys", "-t", "view"}, keys...)...)
}

// waitFor polls the screen until ok accepts it, and fails the test after
// waitTimeout, showing the last screen.
func (term *terminal) waitFor(what string, ok func(string) bool) string {
	term.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		s := term.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the screen never showed %s within %v; last screen:\n%s", what, waitTimeout, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (term *terminal) waitForText(texts ...string) string {
	term.t.Helper()
	return term.waitFor(fmt.Sprintf("%q", texts), func(s string) bool {
		for _, t := range texts {
			if !strings.Contains(s, t) {
				return false
			}
		}
		return true
	})
}

// waitExit waits until the view has returned, as its exit record says,
// and checks that it ended without an error.
func (term *terminal) waitExit() {
	term.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if rec, err := os.ReadFile(term.exitFile); err == nil && len(rec) > 0 {
			if string(rec) != "exited 0" {
				term.t.Fatalf("the view %s; screen:\n%s", rec, term.screen())
			}
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the view did not return within %v; its goroutines:\n%s", waitTimeout, term.dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dump makes the view print its goroutines (SIGQUIT) and returns the
// pane's whole history, to show where a view that does not exit is stuck.
func (term *terminal) dump() string {
	term.t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(term.tmux("display-message", "-p", "-t", "view", "#{pane_pid}")))
	if err != nil {
		return fmt.Sprintf("no pane pid: %v", err)
	}
	var where strings.Builder
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		wchan, _ := os.ReadFile(task + "/wchan")
		fmt.Fprintf(&where, "%s waits in %s\n", filepath.Base(task), wchan)
	}
	p, err := os.FindProcess(pid)
	if err == nil {
		err = p.Signal(syscall.SIGQUIT)
	}
	if err != nil {
		return fmt.Sprintf("signal the view (pid %d): %v", pid, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && strings.Fields(term.tmux("display-message", "-p", "-t", "view", "#{pane_dead}"))[0] != "1" {
		time.Sleep(50 * time.Millisecond)
	}
	return where.String() + term.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "view")
}

// on returns the terminal reporting to t, for use in subtests.
func (term *terminal) on(t *testing.T) *terminal {
	return &terminal{t: t, socket: term.socket, exitFile: term.exitFile}
}

// order returns the screen line numbers where each word first starts a
// table row (after the selection gutter).
func order(screen string, words ...string) []int {
	lines := strings.Split(screen, "\n")
	out := make([]int, len(words))
	for i, w := range words {
		out[i] = -1
		for n, l := range lines {
			if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "▶")); len(f) > 0 && f[0] == w {
				out[i] = n
				break
			}
		}
	}
	return out
}

func increasing(lines []int) bool {
	for i := range lines {
		if lines[i] < 0 || i > 0 && lines[i] <= lines[i-1] {
			return false
		}
	}
	return true
}

var webALB = regexp.MustCompile(`(?m)^\S*\s*web-alb\s+(\d+)`)

// requestRate reads web-alb's REQ/S from the screen; -1 when absent.
func requestRate(screen string) int {
	m := webALB.FindStringSubmatch(screen)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestTopInTerminal(t *testing.T) {
	term := startTerminal(t, "top", 120, 40)
	s := term.waitForText("madang top", "instances 3/4 running", "load balancers 2", "alarms 1 in ALARM / 3",
		"web-alb", "high-cpu", "INSUFFICIENT_DATA", "HEALTHY/UNHEALTHY", "RESTARTS", "CPU (60s)", "q quit")

	t.Run("numbers update", func(t *testing.T) {
		first := requestRate(s)
		if first < 0 {
			t.Fatalf("no web-alb REQ/S on the screen:\n%s", s)
		}
		term := term.on(t)
		term.waitFor(fmt.Sprintf("web-alb REQ/S change from %d", first), func(s string) bool {
			r := requestRate(s)
			return r > first
		})
	})

	sorts := []struct {
		name  string
		title string
		ids   []string
	}{
		{name: "by memory", title: "sort: mem", ids: []string{"i-0c3", "i-0a1", "i-0b2", "i-0d4"}},
		{name: "by name", title: "sort: name", ids: []string{"i-0a1", "i-0d4", "i-0b2", "i-0c3"}},
		{name: "by cpu again", title: "sort: cpu", ids: []string{"i-0b2", "i-0a1", "i-0c3", "i-0d4"}},
	}
	if got := order(s, "i-0b2", "i-0a1", "i-0c3", "i-0d4"); !increasing(got) {
		t.Fatalf("instances are not sorted by CPU at the start (rows %v):\n%s", got, s)
	}
	for _, tt := range sorts {
		t.Run("s sorts "+tt.name, func(t *testing.T) {
			term := term.on(t)
			term.keys("s")
			term.waitFor(tt.title+" with rows "+strings.Join(tt.ids, ", "), func(s string) bool {
				return strings.Contains(s, tt.title) && increasing(order(s, tt.ids...))
			})
		})
	}

	panes := []struct {
		name, key, focused, selected, detail string
	}{
		{name: "tab focuses the load balancers", key: "Tab", focused: "▶ LOAD BALANCERS", selected: "▶ web-alb", detail: "REQ/S web-alb"},
		{name: "down selects the next load balancer", key: "Down", focused: "▶ LOAD BALANCERS", selected: "▶ api-alb", detail: "REQ/S api-alb"},
		{name: "tab focuses the alarms", key: "Tab", focused: "▶ ALARMS", selected: "▶ ALARM ", detail: "CPU% i-0b2 (web-2)"},
		{name: "tab comes back to the instances", key: "Tab", focused: "▶ INSTANCES", selected: "▶ i-0b2", detail: "CPU% i-0b2 (web-2)"},
		{name: "down selects the next instance", key: "Down", focused: "▶ INSTANCES", selected: "▶ i-0a1", detail: "CPU% i-0a1 (api-1)"},
	}
	for _, tt := range panes {
		t.Run(tt.name, func(t *testing.T) {
			term := term.on(t)
			term.keys(tt.key)
			term.waitForText(tt.focused, tt.selected, tt.detail)
		})
	}

	t.Run("adapts to a smaller terminal", func(t *testing.T) {
		term := term.on(t)
		term.tmux("resize-window", "-t", "view", "-x", "80", "-y", "24")
		s := term.waitFor("the 80×24 layout (no CPU sparkline column)", func(s string) bool {
			return strings.Contains(s, "RESTARTS") && !strings.Contains(s, "CPU (60s)")
		})
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		if len(lines) != 24 || !strings.Contains(lines[23], "q quit") {
			t.Errorf("want 24 lines with the keys on the last; got %d lines:\n%s", len(lines), s)
		}
		term.tmux("resize-window", "-t", "view", "-x", "120", "-y", "40")
		term.waitForText("CPU (60s)")
	})

	t.Run("q quits", func(t *testing.T) {
		term := term.on(t)
		term.keys("q")
		term.waitExit()
	})
}

// bigNumber finds the request count that the singleValue widget shows in
// the big font; -1 when none is on the screen.
func bigNumber(screen string) int {
	for n := 1000; n < 1000+100000; n++ {
		big := bigText(strconv.Itoa(n))
		i := strings.Index(screen, big[0]+" ")
		if i < 0 {
			continue
		}
		found := true
		for _, l := range big[1:] {
			if !strings.Contains(screen, l) {
				found = false
				break
			}
		}
		if found {
			return n
		}
	}
	return -1
}

func TestDashboardInTerminal(t *testing.T) {
	term := startTerminal(t, "dashboard", 120, 40)
	s := term.waitForText("madang dashboard", "4 widgets", "CPU utilization", "Requests", "Runbook",
		"Page on-call when high-cpu", "Alarms", "high-cpu", "ALARM", "api-5xx", "OK", "i-0a1", "i-0b2", "q quit")

	checks := []struct {
		name string
		ok   func(string) bool
	}{
		{name: "the timeSeries widget draws braille lines", ok: func(s string) bool {
			return strings.ContainsFunc(s, func(r rune) bool { return r > 0x2800 && r <= 0x28ff })
		}},
		{name: "the chart has a y-axis", ok: func(s string) bool { return strings.Contains(s, "┤") }},
		{name: "the text widget's markdown is plain", ok: func(s string) bool { return !strings.Contains(s, "**") && !strings.Contains(s, "# Runbook") }},
		{name: "widgets have borders", ok: func(s string) bool { return strings.Contains(s, "┌ CPU utilization") && strings.Contains(s, "└") }},
	}
	for _, tt := range checks {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok(s) {
				t.Errorf("screen:\n%s", s)
			}
		})
	}

	t.Run("the single value updates", func(t *testing.T) {
		first := bigNumber(s)
		if first < 0 {
			t.Fatalf("no big request count on the screen:\n%s", s)
		}
		term := term.on(t)
		term.waitFor(fmt.Sprintf("a request count above %d", first), func(s string) bool { return bigNumber(s) > first })
	})

	t.Run("q quits", func(t *testing.T) {
		term := term.on(t)
		term.keys("q")
		term.waitExit()
	})
}
