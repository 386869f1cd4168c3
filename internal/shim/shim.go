// Package shim is the small per-instance process that sits between the
// madang daemon and an instance's application, as containerd-shim does
// for containers. The daemon re-executes its own binary as `madang shim`;
// the shim runs the user data script once, starts the application in its
// own process group, owns its standard output and error (writing them to
// the instance log), reaps it and records how it ended. Because the shim,
// not the daemon, holds the pipes and the child, an application keeps
// running and logging while the daemon restarts, and the new daemon
// re-adopts it from the files the shim leaves in its state directory
// (State, ExitStatus).
package shim

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/procstat"
)

// DrainTimeout is how long the shim keeps reading the app's output after
// the app has exited, when other processes still hold its pipes open.
const DrainTimeout = time.Second

// Config is what a shim is told on its command line.
type Config struct {
	// StateDir holds StateFile, ExitFile and UserDataDone.
	StateDir string
	// Dir is the app's working directory.
	Dir string
	// LogPath is the instance log.
	LogPath string
	// Log sets the log's rotation (zero values mean the defaults).
	Log logfile.Options
	// UserData is an optional script run once with /bin/sh before the
	// first start of the app.
	UserData string
	// CgroupProcs lists cgroup.procs files the shim adds itself to before
	// starting anything, so the app and user data inherit the cgroups.
	CgroupProcs []string
	// Argv is the app's command line; Argv[0] is looked up in PATH.
	Argv []string
}

// Args returns the command-line arguments (after "shim") that make a shim
// run with c.
func (c Config) Args() []string {
	a := []string{"--state-dir=" + c.StateDir, "--dir=" + c.Dir, "--log=" + c.LogPath}
	if c.Log.MaxBytes != 0 {
		a = append(a, "--log-max-bytes="+strconv.FormatInt(c.Log.MaxBytes, 10))
	}
	if c.Log.MaxFiles != 0 {
		a = append(a, "--log-max-files="+strconv.Itoa(c.Log.MaxFiles))
	}
	if c.UserData != "" {
		a = append(a, "--user-data="+c.UserData)
	}
	if len(c.CgroupProcs) > 0 {
		a = append(a, "--cgroup-procs="+strings.Join(c.CgroupProcs, ","))
	}
	a = append(a, "--")
	return append(a, c.Argv...)
}

// ParseArgs parses a shim command line (the arguments after "shim").
func ParseArgs(args []string) (Config, error) {
	var c Config
	var cgroups string
	fs := flag.NewFlagSet("madang shim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.StateDir, "state-dir", "", "per-instance state directory")
	fs.StringVar(&c.Dir, "dir", "", "working directory of the app")
	fs.StringVar(&c.LogPath, "log", "", "instance log file")
	fs.Int64Var(&c.Log.MaxBytes, "log-max-bytes", 0, "rotate the log at this size (0: default)")
	fs.IntVar(&c.Log.MaxFiles, "log-max-files", 0, "rotated log files kept (0: default)")
	fs.StringVar(&c.UserData, "user-data", "", "script run once before the first start")
	fs.StringVar(&cgroups, "cgroup-procs", "", "comma-separated cgroup.procs files to join")
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("shim: %w; usage: madang shim --state-dir D --dir W --log PATH [--log-max-bytes N] [--log-max-files N] [--user-data FILE] [--cgroup-procs a,b] -- argv…", err)
	}
	c.Argv = fs.Args()
	if cgroups != "" {
		c.CgroupProcs = strings.Split(cgroups, ",")
	}
	switch {
	case c.StateDir == "":
		return Config{}, errors.New("shim: --state-dir is missing; pass the instance's state directory")
	case c.Dir == "":
		return Config{}, errors.New("shim: --dir is missing; pass the app's working directory")
	case c.LogPath == "":
		return Config{}, errors.New("shim: --log is missing; pass the instance log file")
	case c.Log.MaxBytes < 0:
		return Config{}, fmt.Errorf("shim: --log-max-bytes is negative (got %d); use 0 for the default or a size in bytes", c.Log.MaxBytes)
	case c.Log.MaxFiles < 0:
		return Config{}, fmt.Errorf("shim: --log-max-files is negative (got %d); use 0 for the default or a count", c.Log.MaxFiles)
	case len(c.Argv) == 0:
		return Config{}, errors.New("shim: the app's command is missing; put it after \"--\"")
	}
	return c, nil
}

// Main runs a shim with the given command-line arguments (after "shim")
// and returns the process exit code: 0 once the app has run and exited
// (whatever its own exit code), 1 when the shim itself failed, 2 for a bad
// command line. Messages for the operator go to standard error, which the
// daemon points at StateDir/shim.log.
func Main(args []string) int {
	c, err := ParseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "shim:", err)
		return 1
	}
	return 0
}

func run(c Config) error {
	// Handle (rather than ignore) the signals a terminal or a stop would
	// send: a handled signal reverts to its default in the app, while an
	// ignored one would stay ignored there.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	defer signal.Stop(sigs)

	log, err := logfile.Open(c.LogPath, c.Log)
	if err != nil {
		return err
	}
	defer log.Close()

	self := os.Getpid()
	for _, p := range c.CgroupProcs {
		if err := os.WriteFile(p, []byte(strconv.Itoa(self)), 0); err != nil {
			log.Note("could not join cgroup (%s): %v; instance type limits are not enforced", p, err)
		}
	}
	selfStart, err := procstat.StartTime(self)
	if err != nil {
		return err
	}
	st := State{ShimPID: self, ShimStartTime: selfStart}
	if c.UserData != "" && !exists(filepath.Join(c.StateDir, UserDataDone)) {
		// Record the shim before the (possibly long) user data, so a
		// restarted daemon can find and adopt it.
		if err := writeJSONAtomic(filepath.Join(c.StateDir, StateFile), st); err != nil {
			return err
		}
		runUserData(c, log)
	}
	if stopRequested(sigs) || exists(filepath.Join(c.StateDir, StopFile)) {
		log.Note("stop requested before the app started; not starting it")
		return nil
	}

	a, err := startApp(c, log)
	if err != nil {
		log.Note("could not start %s: %v", strings.Join(c.Argv, " "), err)
		ex := ExitStatus{Code: -1, ExitedAt: time.Now().UTC()}
		return errors.Join(err, writeJSONAtomic(filepath.Join(c.StateDir, ExitFile), ex))
	}
	st.AppPID, st.PGID, st.StartedAt = a.cmd.Process.Pid, a.cmd.Process.Pid, a.started.UTC()
	st.AppStartTime, _ = procstat.StartTime(st.AppPID)
	log.Note("started pid %d: %s", st.AppPID, strings.Join(c.Argv, " "))
	stateErr := writeJSONAtomic(filepath.Join(c.StateDir, StateFile), st)
	if stateErr != nil {
		// Unrecorded, the app could be neither stopped nor adopted.
		log.Note("could not record the app (%v); stopping it", stateErr)
		_ = unix.Kill(-st.PGID, unix.SIGKILL)
	}

	ex := a.wait()
	switch {
	case ex.Signal != "":
		log.Note("killed by %s after %s", ex.Signal, ex.Uptime())
	default:
		log.Note("exited with code %d after %s", ex.Code, ex.Uptime())
	}
	return errors.Join(stateErr, writeJSONAtomic(filepath.Join(c.StateDir, ExitFile), ex))
}

// stopRequested reports whether SIGTERM or SIGINT arrived, and empties
// the channel.
func stopRequested(sigs <-chan os.Signal) bool {
	stop := false
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGTERM || s == syscall.SIGINT {
				stop = true
			}
		default:
			return stop
		}
	}
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// runUserData runs the user data script and records that it ran. Like
// EC2, it runs once even if it fails.
func runUserData(c Config, log *logfile.File) {
	done := filepath.Join(c.StateDir, UserDataDone)
	log.Note("user data started")
	out, errw := log.Stream(logfile.StreamOut), log.Stream(logfile.StreamErr)
	cmd := exec.Command("/bin/sh", c.UserData)
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = out, errw
	// Background processes started by the script may keep its output
	// open; do not wait for them.
	cmd.WaitDelay = DrainTimeout
	start := time.Now()
	err := cmd.Run()
	_ = out.Close()
	_ = errw.Close()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case errors.Is(err, exec.ErrWaitDelay):
	case err != nil:
		log.Note("user data could not run: %v", err)
		code = -1
	}
	log.Note("user data exited with code %d after %s", code, time.Since(start).Round(time.Millisecond))
	mark := fmt.Sprintf("code %d at %s\n", code, time.Now().UTC().Format(time.RFC3339Nano))
	if err := os.WriteFile(done, []byte(mark), 0o644); err != nil {
		log.Note("could not record that user data ran (%v); it will run again at the next start", err)
	}
}

// app is a started application.
type app struct {
	cmd     *exec.Cmd
	started time.Time
	readers []*os.File // read ends of the output pipes
	copied  chan struct{}
}

// startApp starts the app in its own process group with its output piped
// into the log.
func startApp(c Config, log *logfile.File) (*app, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close()
		_ = outW.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	started := time.Now()
	_ = outW.Close()
	_ = errW.Close()
	if err != nil {
		_ = outR.Close()
		_ = errR.Close()
		return nil, err
	}
	a := &app{cmd: cmd, started: started, readers: []*os.File{outR, errR}, copied: make(chan struct{})}
	streams := []io.WriteCloser{log.Stream(logfile.StreamOut), log.Stream(logfile.StreamErr)}
	var pending = make(chan struct{}, 2)
	for i, r := range a.readers {
		go func() {
			copyOutput(streams[i], r)
			_ = streams[i].Close()
			pending <- struct{}{}
		}()
	}
	go func() {
		<-pending
		<-pending
		close(a.copied)
	}()
	return a, nil
}

// copyOutput copies r to w until r ends, never stopping on write errors so
// the app is never blocked on a full pipe.
func copyOutput(w io.Writer, r io.Reader) {
	buf := make([]byte, 32<<10)
	reported := false
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil && !reported {
				fmt.Fprintln(os.Stderr, "shim: write log:", werr)
				reported = true
			}
		}
		if err != nil {
			return
		}
	}
}

// wait waits for the app to exit, ends what is left of its process group,
// drains its output and returns how it ended.
func (a *app) wait() ExitStatus {
	err := a.cmd.Wait()
	now := time.Now()
	pid := a.cmd.Process.Pid
	// Children the app left behind in its group would hold the instance's
	// port and output; end them as systemd's control-group kill does.
	_ = unix.Kill(-pid, unix.SIGKILL)
	ex := ExitStatus{AppPID: pid, ExitedAt: now.UTC(), UptimeMS: now.Sub(a.started).Milliseconds()}
	switch ps := a.cmd.ProcessState; {
	case ps == nil:
		fmt.Fprintln(os.Stderr, "shim: wait for app:", err)
		ex.Code = -1
	default:
		ex.Code = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			ex.Code, ex.Signal = -1, unix.SignalName(ws.Signal())
		}
	}
	// Processes outside the group (daemonized grandchildren) may still
	// hold the pipes; stop reading after DrainTimeout.
	select {
	case <-a.copied:
	case <-time.After(DrainTimeout):
		for _, r := range a.readers {
			_ = r.SetReadDeadline(time.Now())
		}
		<-a.copied
	}
	for _, r := range a.readers {
		_ = r.Close()
	}
	return ex
}
