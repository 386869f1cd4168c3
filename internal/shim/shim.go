// Package shim is the small per-instance process that sits between the
// madang daemon and an instance's application, as containerd-shim does
// for containers. The daemon re-executes its own binary as `madang shim`;
// the shim joins the instance's cgroups, runs the user data script once,
// starts the application in its own process group, owns its standard
// output and error (writing them to the instance log), reaps it and
// records how it ended. Because the shim, not the daemon, holds the pipes
// and the child, an application keeps running and logging while the
// daemon restarts, and the new daemon re-adopts it from the files the
// shim leaves in its state directory (State, ExitStatus) and through its
// control socket (Event, Command).
//
// A shim outlives the runs of its app: when the app exits, the shim
// records the exit and waits for the daemon's decision, then starts the
// app again in place (OpStart), so a restart costs only the start of the
// app itself, or exits (OpQuit).
package shim

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
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
	// Fingerprint is an opaque string the shim records in State, so that
	// a daemon can tell whether the shim runs the instance's current
	// command and environment.
	Fingerprint string
	// ControlFD, when not 0, is an inherited file descriptor holding a
	// control connection to the daemon that started the shim (see Event).
	ControlFD int
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
	if c.Fingerprint != "" {
		a = append(a, "--fingerprint="+c.Fingerprint)
	}
	if c.ControlFD != 0 {
		a = append(a, "--control-fd="+strconv.Itoa(c.ControlFD))
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
	fs.StringVar(&c.Fingerprint, "fingerprint", "", "recorded in shim.json")
	fs.IntVar(&c.ControlFD, "control-fd", 0, "inherited control connection to the daemon")
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("shim: %w; usage: madang shim --state-dir D --dir W --log PATH [--log-max-bytes N] [--log-max-files N] [--user-data FILE] [--cgroup-procs a,b] [--fingerprint F] [--control-fd N] -- argv…", err)
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
	case c.ControlFD < 0 || (c.ControlFD > 0 && c.ControlFD < 3):
		return Config{}, fmt.Errorf("shim: --control-fd is %d; pass an inherited descriptor of 3 or more, or leave it out", c.ControlFD)
	case len(c.Argv) == 0:
		return Config{}, errors.New("shim: the app's command is missing; put it after \"--\"")
	}
	return c, nil
}

// Main runs a shim with the given command-line arguments (after "shim")
// and returns the process exit code: 0 when it was told to quit (OpQuit,
// SIGTERM or SIGINT, StopFile) and the app has ended, whatever the app's
// own exit codes; 1 when the shim itself failed (it could not start the
// app, for one); 2 for a bad command line. Messages for the operator go to
// standard error, which the daemon points at StateDir/shim.log.
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

	var inherited net.Conn
	if c.ControlFD != 0 {
		// Not for the app: the descriptor arrived without close-on-exec.
		unix.CloseOnExec(c.ControlFD)
		f := os.NewFile(uintptr(c.ControlFD), "control")
		conn, err := net.FileConn(f)
		_ = f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "shim: inherited control connection:", err)
		} else {
			inherited = conn
		}
	}

	log, err := logfile.Open(c.LogPath, c.Log)
	if err != nil {
		if inherited != nil {
			_ = inherited.Close()
		}
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
		if inherited != nil {
			_ = inherited.Close()
		}
		return err
	}
	rec := newRecorder(c.StateDir, func(err error) {
		fmt.Fprintln(os.Stderr, "shim:", err)
		log.Note("could not record the instance's state: %v", err)
	})
	defer rec.close()
	ctl, err := newControl(c.StateDir)
	if err != nil {
		log.Note("no control socket (%v); a restarted daemon can only watch this shim from outside", err)
	}
	defer ctl.close()
	s := &shim{
		c:    c,
		log:  log,
		sigs: sigs,
		ctl:  ctl,
		rec:  rec,
		st:   State{ShimPID: self, ShimStartTime: selfStart, Fingerprint: c.Fingerprint},
	}
	if inherited != nil {
		s.ctl.attach(inherited)
		s.ctl.send(s.snapshot())
	}
	return s.loop()
}

// shim is a running shim. Its loop goroutine owns every field.
type shim struct {
	c    Config
	log  *logfile.File
	sigs <-chan os.Signal
	ctl  *control
	rec  *recorder

	st       State           // what StateFile says
	app      *app            // the running app; nil between runs
	appDone  chan ExitStatus // receives the running app's exit
	udDone   chan struct{}   // closed when user data has run; nil when not running
	udKilled bool            // a signal killed the user data (set before udDone closes)
	lastExit *ExitStatus     // how the latest run ended
	quitting bool            // exit once the app has ended; never start it again
}

// loop runs user data and the app, reports to the daemon and obeys it
// until the shim is told to quit and nothing runs.
func (s *shim) loop() error {
	if s.c.UserData != "" && !exists(filepath.Join(s.c.StateDir, UserDataDone)) {
		// Record the shim before the (possibly long) user data, for
		// daemons that look for it in the file.
		s.rec.record(StateFile, s.st)
		done := make(chan struct{})
		s.udDone = done
		go func() {
			defer close(done)
			s.udKilled = runUserData(s.c, s.log)
		}()
	} else if err := s.firstStart(); err != nil {
		return err
	}
	for {
		if s.quitting && s.app == nil && s.udDone == nil {
			return nil
		}
		select {
		case sig := <-s.sigs:
			if sig == syscall.SIGTERM || sig == syscall.SIGINT {
				s.quitting = true
			}
		case <-s.udDone:
			s.udDone = nil
			if s.udKilled {
				// A stop signal to the instance's process group kills the
				// user data and reaches the shim at the same moment; its
				// delivery may still be on its way.
				s.awaitStop(userDataStopGrace)
			}
			if err := s.firstStart(); err != nil {
				return err
			}
		case ex := <-s.appDone:
			s.ended(ex)
		case conn := <-s.ctl.conns:
			s.ctl.attach(conn)
			s.ctl.send(s.snapshot())
		case r := <-s.ctl.cmds:
			if r.conn != s.ctl.cur {
				continue // from a connection since replaced
			}
			if err := s.command(r.cmd); err != nil {
				return err
			}
		}
	}
}

// userDataStopGrace is how long a shim whose user data was killed by a
// signal waits for its own stop signal before it starts the app.
const userDataStopGrace = 200 * time.Millisecond

// awaitStop waits up to d for a stop signal (SIGTERM or SIGINT).
func (s *shim) awaitStop(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case sig := <-s.sigs:
			if sig == syscall.SIGTERM || sig == syscall.SIGINT {
				s.quitting = true
				return
			}
		case <-t.C:
			return
		}
	}
}

// firstStart starts the app for the first time, unless a stop came first.
func (s *shim) firstStart() error {
	if stopRequested(s.sigs) || s.quitting || exists(filepath.Join(s.c.StateDir, StopFile)) {
		s.log.Note("stop requested before the app started; not starting it")
		s.quitting = true
		return nil
	}
	return s.start()
}

// command carries out a daemon's command.
func (s *shim) command(cmd Command) error {
	switch cmd.Op {
	case OpQuit:
		s.quitting = true
	case OpStart:
		if s.quitting || s.app != nil || s.udDone != nil || s.lastExit == nil || cmd.Run != s.st.Run {
			// Stale or untimely: say where things are instead.
			s.ctl.send(s.snapshot())
			return nil
		}
		if stopRequested(s.sigs) {
			s.quitting = true
			s.ctl.send(s.snapshot())
			return nil
		}
		return s.start()
	default:
		fmt.Fprintf(os.Stderr, "shim: ignoring unknown control operation %q\n", cmd.Op)
	}
	return nil
}

// start starts the next run of the app, then reports it and has it
// recorded, so that neither the report nor the disk delays the app. An
// error means the app could not be started; the shim then exits.
func (s *shim) start() error {
	a, err := startApp(s.c, s.log)
	if err != nil {
		s.log.Note("could not start %s: %v", strings.Join(s.c.Argv, " "), err)
		s.rec.record(ExitFile, ExitStatus{Code: -1, ExitedAt: time.Now().UTC(), Run: s.st.Run + 1})
		return err
	}
	pid := a.cmd.Process.Pid
	done := make(chan ExitStatus, 1)
	s.app, s.appDone = a, done
	// The loop does not return while s.app is set, so it always receives
	// from done: this goroutine ends with the app.
	go func() { done <- a.wait() }()
	s.st.Run++
	s.st.AppPID, s.st.PGID, s.st.StartedAt = pid, pid, a.started.UTC()
	s.st.AppStartTime, _ = procstat.StartTime(pid)
	s.ctl.send(Event{Kind: EventStarted, State: s.st})
	s.rec.record(StateFile, s.st)
	s.log.Note("started pid %d: %s", pid, strings.Join(s.c.Argv, " "))
	return nil
}

// ended reports how a run ended and has it recorded.
func (s *shim) ended(ex ExitStatus) {
	s.app, s.appDone = nil, nil
	ex.Run = s.st.Run
	s.lastExit = &ex
	if stopRequested(s.sigs) || exists(filepath.Join(s.c.StateDir, StopFile)) {
		s.quitting = true
	}
	s.ctl.send(s.snapshot())
	s.rec.record(ExitFile, ex)
	switch {
	case ex.Signal != "":
		s.log.Note("killed by %s after %s", ex.Signal, ex.Uptime())
	default:
		s.log.Note("exited with code %d after %s", ex.Code, ex.Uptime())
	}
}

// snapshot describes where the shim is now.
func (s *shim) snapshot() Event {
	switch {
	case s.app != nil:
		return Event{Kind: EventStarted, State: s.st}
	case s.lastExit != nil:
		ex := *s.lastExit
		return Event{Kind: EventExited, State: s.st, Exit: &ex, Final: s.quitting}
	default:
		return Event{Kind: EventStarting, State: s.st, Final: s.quitting}
	}
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
// EC2, it runs once even if it fails. It reports whether a signal killed
// the script.
func runUserData(c Config, log *logfile.File) (killed bool) {
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
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed = true
		}
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
	return killed
}

// app is a started application.
type app struct {
	cmd     *exec.Cmd
	started time.Time
	readers []*os.File // read ends of the output pipes
	copied  chan struct{}
}

// startApp starts the app in its own process group with its output piped
// into the log; a plain command runs without its shell (directCommand).
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
	prepare := func(cmd *exec.Cmd) *exec.Cmd {
		cmd.Dir = c.Dir
		cmd.Stdout, cmd.Stderr = outW, errW
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	var cmd *exec.Cmd
	if direct, ok := directCommand(c.Argv, c.Dir); ok {
		if err = prepare(direct).Start(); err == nil {
			cmd = direct
		}
	}
	if cmd == nil {
		cmd = prepare(exec.Command(c.Argv[0], c.Argv[1:]...))
		err = cmd.Start()
	}
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
