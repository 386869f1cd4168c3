// Package top is madang's live full-screen terminal view: `madang top`
// shows the instances, load balancers and alarms of the running daemon,
// refreshed every second, and `madang dashboard` draws a stored CloudWatch
// dashboard's widgets on its grid. The data comes through the Source and
// DashboardSource interfaces, so the package knows nothing of the daemon;
// Sparkline and Chart are pure renderers that need no terminal.
package top

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Source gives the live state that Run shows.
type Source interface {
	// Snapshot returns the current state. Run calls it once an interval
	// (never twice at once) with a context that ends when the view does.
	Snapshot(ctx context.Context) (Snapshot, error)
}

// Snapshot is the state of the daemon at one moment.
type Snapshot struct {
	// At is when the snapshot was taken.
	At            time.Time
	Instances     []Instance
	LoadBalancers []LoadBalancer
	Alarms        []Alarm
	// Err is a problem to show in the status line (daemon unreachable…).
	// The view keeps the last data for every list the snapshot leaves
	// nil.
	Err string
}

// Instance is one supervised instance.
type Instance struct {
	ID, Name, Group, State string
	// CPUPercent is the share of one core used over the last second
	// (above 100 on several cores); MemoryPercent is the share of the
	// instance type's memory that MemoryBytes is.
	CPUPercent, MemoryPercent float64
	MemoryBytes               uint64
	Restarts                  int
	// CPUHistory holds CPUPercent of the last seconds (up to 60), oldest
	// first.
	CPUHistory []float64
}

// LoadBalancer is one application load balancer.
type LoadBalancer struct {
	Name              string
	RequestsPerSecond float64
	// P50 and P99 are target response time percentiles, in seconds.
	P50, P99 float64
	// Count5XX is the number of 5XX responses in the last second.
	Count5XX           float64
	Healthy, Unhealthy int
	// RPSHistory holds RequestsPerSecond of the last seconds, oldest
	// first.
	RPSHistory []float64
}

// Alarm is one CloudWatch alarm and its state.
type Alarm struct {
	// State is ALARM, OK or INSUFFICIENT_DATA.
	Name, State, Reason string
	// Since is when the alarm entered State.
	Since time.Time
}

// Alarm states.
const (
	StateAlarm            = "ALARM"
	StateOK               = "OK"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Options tune Run and RunDashboard. The zero value is a one-second
// refresh on the process's terminal, drawn in the normal screen.
type Options struct {
	// Interval is the time between refreshes; 0 means one second.
	Interval time.Duration
	// Input and Output are the terminal; nil means standard input and
	// standard output.
	Input  io.Reader
	Output io.Writer
	// AltScreen draws in the terminal's alternate screen, which gives the
	// previous content back on exit.
	AltScreen bool
	// Now tells the time shown in the header; nil means time.Now.
	Now func() time.Time
}

// DefaultInterval is the refresh interval when Options leave it zero.
const DefaultInterval = time.Second

func (o Options) withDefaults() (Options, error) {
	if o.Interval < 0 {
		return o, fmt.Errorf("top: Options.Interval is %v, which is negative; use a positive interval, or 0 for %v", o.Interval, DefaultInterval)
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Output == nil {
		o.Output = os.Stdout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Run shows the live view until the user quits (q or ctrl-c), when it
// returns nil, or ctx ends, when it returns ctx's error. Keys: tab and
// shift-tab switch panes, ↑/↓ (or k/j) move the selection, s sorts the
// instances by CPU, memory or name.
func Run(ctx context.Context, src Source, opts Options) error {
	if src == nil {
		return errors.New("top: Run's source is nil; pass a Source that gives snapshots")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	return runProgram(ctx, newTopModel(ctx, src, opts), opts)
}

// runProgram runs a model full-screen on the terminal of opts.
func runProgram(ctx context.Context, m tea.Model, opts Options) error {
	progOpts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithOutput(opts.Output)}
	if opts.Input != nil {
		progOpts = append(progOpts, tea.WithInput(opts.Input))
	}
	if opts.AltScreen {
		progOpts = append(progOpts, tea.WithAltScreen())
	}
	_, err := tea.NewProgram(m, progOpts...).Run()
	switch {
	case err == nil, errors.Is(err, tea.ErrInterrupted):
		return nil
	case ctx.Err() != nil && errors.Is(err, tea.ErrProgramKilled):
		return ctx.Err()
	}
	return fmt.Errorf("top: the terminal view failed: %w; run it in a terminal (standard input and output a TTY)", err)
}

// styles are the colours of the view, made for the view's output so the
// colour profile fits that terminal.
type styles struct {
	title, header, dim, bold, selected lipgloss.Style
	red, green, grey, yellow           lipgloss.Style
	palette                            []lipgloss.Style
}

func newStyles(out io.Writer) styles {
	r := lipgloss.NewRenderer(out)
	s := styles{
		title:    r.NewStyle().Bold(true).Foreground(lipgloss.Color("6")),
		header:   r.NewStyle().Bold(true),
		dim:      r.NewStyle().Faint(true),
		bold:     r.NewStyle().Bold(true),
		selected: r.NewStyle().Bold(true).Foreground(lipgloss.Color("3")),
		red:      r.NewStyle().Foreground(lipgloss.Color("9")),
		green:    r.NewStyle().Foreground(lipgloss.Color("2")),
		grey:     r.NewStyle().Foreground(lipgloss.Color("8")),
		yellow:   r.NewStyle().Foreground(lipgloss.Color("3")),
	}
	for _, c := range []string{"4", "3", "2", "1", "5", "6", "12", "11", "10", "9", "13", "14"} {
		s.palette = append(s.palette, r.NewStyle().Foreground(lipgloss.Color(c)))
	}
	return s
}

// state colours an alarm state: ALARM red, OK green, the rest grey.
func (s styles) state(state string) lipgloss.Style {
	switch state {
	case StateAlarm:
		return s.red
	case StateOK:
		return s.green
	}
	return s.grey
}

// tickMsg asks for the next refresh; dataMsg carries its result.
type tickMsg struct{}

type dataMsg[T any] struct {
	data T
	err  error
}

func tick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return tickMsg{} })
}
