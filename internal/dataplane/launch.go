package dataplane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/madang-dev/madang/internal/health"
)

// LaunchOptions configure Launch.
type LaunchOptions struct {
	// Home is the madang home.
	Home string
	// Command runs a data plane: the madang binary and "dataplane".
	Command []string
	// Version is the daemon's madang version.
	Version string
	Logger  *slog.Logger
	// OnChange is ClientOptions.OnChange.
	OnChange func(group string, th health.TargetHealth)
	// StartTimeout bounds how long a new data plane may take to serve;
	// 0 means 30 s.
	StartTimeout time.Duration
}

// Launch returns a Client of home's data plane. It adopts the data plane
// that runs there when it runs the daemon's version and binary; when it
// runs another, it starts a new one that takes its listening sockets over
// (no connection is refused meanwhile) and the old one drains and exits;
// when none runs, it starts one. The data plane runs in its own session
// and outlives the daemon. Should it die while the Client is open, the
// Client starts another with the configuration and health it had.
func Launch(ctx context.Context, opts LaunchOptions) (*Client, error) {
	if len(opts.Command) == 0 || opts.Command[0] == "" {
		return nil, errors.New("dataplane: LaunchOptions.Command is empty; set it to the madang binary and \"dataplane\"")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	log := opts.Logger.With("component", "dataplane")
	c := newClient(opts.Home, ClientOptions{Logger: opts.Logger, OnChange: opts.OnChange})
	c.launch = &opts
	if err := c.launchOrAdopt(ctx, log); err != nil {
		c.cancel()
		return nil, err
	}
	c.startFollowing()
	return c, nil
}

func (c *Client) launchOrAdopt(ctx context.Context, log *slog.Logger) error {
	opts := c.launch
	st, err := ReadState(opts.Home)
	if err == nil && st.Alive() {
		if st.Runs(opts.Version, opts.Command[0]) {
			err := c.connect(ctx)
			if err == nil {
				c.adopted = true
				log.Info("adopted the running data plane", "pid", st.PID)
				return nil
			}
			// It runs but does not answer: it cannot hand its sockets
			// over, so it is replaced the hard way.
			log.Warn("the running data plane does not answer; restarting it", "pid", st.PID, "err", err)
			kill(st)
		} else {
			log.Info("the running data plane runs another binary; taking over from it",
				"pid", st.PID, "version", st.Version, "binary", st.Binary)
			err := c.spawn(ctx, true)
			if err == nil {
				return nil
			}
			log.Error("take over from the running data plane failed; adopting it as it is", "pid", st.PID, "err", err)
			if derr := c.connect(ctx); derr != nil {
				return errors.Join(err, derr)
			}
			c.adopted = true
			return nil
		}
	}
	return c.spawn(ctx, false)
}

// kill ends a data plane that does not answer.
func kill(st State) {
	_ = syscall.Kill(st.PID, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for st.Alive() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// spawn runs a new data plane, waits until it serves and connects to it.
func (c *Client) spawn(ctx context.Context, takeover bool) error {
	opts := c.launch
	logPath := filepath.Join(opts.Home, OutputFile)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return fmt.Errorf("dataplane: create log directory: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("dataplane: open log: %w", err)
	}
	defer logf.Close()
	var logAt int64
	if fi, err := logf.Stat(); err == nil {
		logAt = fi.Size()
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("dataplane: %w", err)
	}
	defer pr.Close()
	args := append(append([]string(nil), opts.Command[1:]...), "--home", opts.Home, "--ready-fd", "3")
	if takeover {
		args = append(args, "--takeover")
	}
	cmd := exec.Command(opts.Command[0], args...)
	cmd.Dir = opts.Home
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{pw}
	// Its own process group: a Ctrl-C in the daemon's terminal (sent to
	// the foreground group) or a kill of the daemon's process group never
	// reaches the data plane. Not its own session: with the kernel's
	// autogroup scheduling (sched_autogroup_enabled) every session is one
	// scheduling group, and a data plane alone in its session got one
	// group's share of the CPU against the apps and the load, measured at
	// 0.6–0.7× the throughput it has in the daemon's session (a bare proxy
	// under setsid drops from 27.8k to 17.0k requests/s the same way).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return fmt.Errorf("dataplane: start %s: %w", opts.Command[0], err)
	}
	fail := func(err error) error {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("dataplane: %w (log in %s)%s", err, filepath.Join(opts.Home, LogFile), logTail(logPath, logAt))
	}
	_ = pr.SetReadDeadline(time.Now().Add(opts.StartTimeout))
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || line != readyLine {
		if err == nil {
			err = fmt.Errorf("unexpected %q", line)
		}
		return fail(fmt.Errorf("data plane did not start: %w", err))
	}
	if err := c.connect(ctx); err != nil {
		return fail(err)
	}
	c.mu.Lock()
	old := c.cmd
	c.cmd = cmd
	c.mu.Unlock()
	if old != nil {
		_ = old.Wait() // a data plane this client started before, which died
	}
	opts.Logger.Info("started the data plane", "component", "dataplane", "pid", cmd.Process.Pid, "takeover", takeover)
	return nil
}

// readyLine is what a data plane writes on its ready descriptor once it
// serves.
const readyLine = "ready\n"

// SignalReady writes the ready line on f (the --ready-fd descriptor) and
// closes it.
func SignalReady(f *os.File) {
	_, _ = f.WriteString(readyLine)
	_ = f.Close()
}

// logTail returns the log written since offset, for error messages.
func logTail(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) <= offset {
		return ""
	}
	b = b[offset:]
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\n" + strings.TrimSpace(string(b))
}
