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

// Main runs a shim with the given command-line arguments (after "shim"),
// or a process host of shims when they begin with "host" (HostMain),
// and returns the process exit code: 0 when it was told to quit (OpQuit,
// SIGTERM or SIGINT, StopFile) and the app has ended, whatever the app's
// own exit codes; 1 when the shim itself failed (it could not start the
// app, for one); 2 for a bad command line. Messages for the operator go to
// standard error, which the daemon points at StateDir/shim.log.
func Main(args []string) int {
	if len(args) > 0 && args[0] == "host" {
		return HostMain(args[1:])
	}
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
	self := os.Getpid()
	selfStart, err := procstat.StartTime(self)
	if err != nil {
		if inherited != nil {
			_ = inherited.Close()
		}
		return err
	}
	return serve(c, process{
		env:    os.Environ(),
		stderr: os.Stderr,
		sigs:   sigs,
		pid:    self,
		start:  selfStart,
	}, inherited)
}

// process is what a shim takes from the process it runs in: a process
// of its own (run) or a process host shared with other shims (Host).
type process struct {
	env    []string         // the app's and the user data's environment
	stderr io.Writer        // the shim's own messages, for the operator
	sigs   <-chan os.Signal // SIGTERM or SIGINT asks the shim to quit
	pid    int              // the process running the shim
	start  uint64           // its start time (procstat.StartTime)
	// hosted is set in a process host: the shim does not join cgroups
	// itself (its children are started in them, see startIn) and runs
	// user data in a process group of its own, since signals to the
	// host's group would reach every shim in it.
	hosted bool
}

// serve runs the shim c in pr until it is told to quit and nothing runs.
// inherited, when not nil, is a control connection to the daemon that
// started it; serve closes it.
func serve(c Config, pr process, inherited net.Conn) error {
	log, err := logfile.Open(c.LogPath, c.Log)
	if err != nil {
		if inherited != nil {
			_ = inherited.Close()
		}
		return err
	}
	defer log.Close()

	if !pr.hosted {
		for _, p := range c.CgroupProcs {
			if err := os.WriteFile(p, []byte(strconv.Itoa(pr.pid)), 0); err != nil {
				log.Note("could not join cgroup (%s): %v; instance type limits are not enforced", p, err)
			}
		}
	}
	ctl, err := newControl(c.StateDir)
	if err != nil {
		log.Note("no control socket (%v); a restarted daemon can only watch this shim from outside", err)
	}
	// Closed after the recorder has written everything: a hosted shim's
	// end is the end of its control connection, and the daemon then reads
	// the files.
	defer ctl.close()
	rec := newRecorder(c.StateDir, func(err error) {
		fmt.Fprintln(pr.stderr, "shim:", err)
		log.Note("could not record the instance's state: %v", err)
	})
	defer rec.close()
	s := &shim{
		c:    c,
		pr:   pr,
		log:  log,
		sigs: pr.sigs,
		ctl:  ctl,
		rec:  rec,
		st:   State{ShimPID: pr.pid, ShimStartTime: pr.start, Fingerprint: c.Fingerprint, Hosted: pr.hosted},
	}
	// Its thread leaves the instance's cgroups before the daemon hears
	// of the end (ctl.close).
	defer s.closeLauncher()
	if inherited != nil {
		s.ctl.attach(inherited)
		s.ctl.send(s.snapshot())
	}
	return s.loop()
}

// shim is a running shim. Its loop goroutine owns every field.
type shim struct {
	c    Config
	pr   process
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
	launcher *launcher       // a hosted shim's starter in cgroup v1 (see startIn); nil until needed
}

// loop runs user data and the app, reports to the daemon and obeys it
// until the shim is told to quit and nothing runs.
func (s *shim) loop() error {
	if s.c.UserData != "" && !exists(filepath.Join(s.c.StateDir, UserDataDone)) {
		u := s.startUserData()
		if s.pr.hosted && u.err == nil {
			s.st.UserDataPGID = u.cmd.Process.Pid
		}
		// Record the shim before the (possibly long) user data, for
		// daemons that look for it in the file.
		s.rec.record(StateFile, s.st)
		done := make(chan struct{})
		s.udDone = done
		go func() {
			defer close(done)
			s.udKilled = u.finish(s.c, s.log)
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
			s.st.UserDataPGID = 0
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
		fmt.Fprintf(s.pr.stderr, "shim: ignoring unknown control operation %q\n", cmd.Op)
	}
	return nil
}

// start starts the next run of the app, then reports it and has it
// recorded, so that neither the report nor the disk delays the app. An
// error means the app could not be started; the shim then exits.
func (s *shim) start() error {
	a, err := s.startApp()
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
