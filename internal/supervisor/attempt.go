package supervisor

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/madang-dev/madang/internal/procstat"
	"github.com/madang-dev/madang/internal/shim"
)

// attempt is one shim, spawned by this Supervisor or adopted from an
// earlier daemon, and the run of the app it is on. A shim with a control
// connection outlives a run: the next run starts in the same shim
// (startAgain), so the attempt then follows that run. It is used only by
// its proc's loop goroutine.
type attempt struct {
	stateDir string
	logPath  string

	shimPID   int
	shimStart uint64
	// hosted is set for a shim in a process host (shim.State.Hosted):
	// shimPID is the host's, never signalled, and the shim's end is the
	// end of its control connection (watchHosted).
	hosted      bool
	cmd         *exec.Cmd // the shim, when this Supervisor spawned it
	shimLogAt   int64     // size of shim.log before this run
	fingerprint string    // of the shim's command and environment
	ctl         *shimConn // nil without a control connection
	final       bool      // the shim said it will not start the app again

	// run is the shim's run of the app this attempt follows (State.Run);
	// shim.json describes it once its Run reaches minRun.
	run    int
	minRun int
	// reused is set when this run was started in a shim that ran the app
	// before.
	reused bool

	appPID    int // 0 until the shim names it
	pgid      int
	appStart  uint64
	startedAt time.Time

	watch lifetime
	// appWatch watches the app when the shim cannot report its exit (no
	// control connection).
	appWatch *exitWatch
	// direct is set when the shim is gone and the app itself is watched.
	direct bool
	ready  bool
	exit   *Exit // set by readExit, or by an exited event
}

// shimConfig returns the shim configuration of p's spec, without a
// control descriptor.
func (p *proc) shimConfig() shim.Config {
	spec := p.spec
	cfg := shim.Config{
		StateDir:    spec.StateDir,
		Dir:         spec.Dir,
		LogPath:     spec.LogPath,
		Log:         spec.Log,
		CgroupProcs: spec.CgroupProcs,
		Argv:        shellArgv(spec.Command),
	}
	if spec.UserData != "" {
		cfg.UserData = filepath.Join(spec.StateDir, shim.UserDataScript)
	}
	cfg.Fingerprint = fingerprint(cfg, spec.Env)
	return cfg
}

// fingerprint identifies what a shim runs: its configuration (with the
// app's command) and the app's environment. User data is left out: it
// runs once, before the first run.
func fingerprint(cfg shim.Config, env []string) string {
	cfg.Fingerprint, cfg.ControlFD = "", 0
	h := sha256.New()
	for _, part := range [][]string{cfg.Args(), env} {
		for _, s := range part {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// spawn starts a shim for p's spec, with a control connection.
func (p *proc) spawn() (*attempt, error) {
	spec := p.spec
	if err := os.MkdirAll(spec.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("supervisor: instance %s: create state dir: %w", spec.ID, err)
	}
	for _, name := range []string{shim.StateFile, shim.ExitFile, shim.StopFile, shim.SocketFile} {
		if err := os.Remove(filepath.Join(spec.StateDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("supervisor: instance %s: clear old shim state: %w", spec.ID, err)
		}
	}
	cfg := p.shimConfig()
	if spec.UserData != "" {
		if err := os.WriteFile(cfg.UserData, []byte(spec.UserData), 0o700); err != nil {
			return nil, fmt.Errorf("supervisor: instance %s: write user data: %w", spec.ID, err)
		}
	}
	ctl, theirs, err := controlPair()
	if err != nil {
		return nil, fmt.Errorf("supervisor: instance %s: %w", spec.ID, err)
	}
	defer theirs.Close()
	shimLogPath := filepath.Join(spec.StateDir, shim.LogFile)
	if h := p.sup.cfg.Host; h != nil {
		// The host makes the shim's log at its first message.
		var logAt int64
		if fi, err := os.Stat(shimLogPath); err == nil {
			logAt = fi.Size()
		}
		pid, start, err := h.Spawn(cfg, spec.Env, theirs)
		if err != nil {
			ctl.close()
			return nil, fmt.Errorf("supervisor: instance %s: %w", spec.ID, err)
		}
		p.log.Debug("spawned hosted shim", "hostPid", pid)
		return &attempt{
			stateDir:    spec.StateDir,
			logPath:     spec.LogPath,
			shimPID:     pid,
			shimStart:   start,
			hosted:      true,
			shimLogAt:   logAt,
			fingerprint: cfg.Fingerprint,
			ctl:         ctl,
			watch:       watchHosted(ctl),
		}, nil
	}
	shimLog, err := os.OpenFile(shimLogPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		ctl.close()
		return nil, fmt.Errorf("supervisor: instance %s: open shim log: %w", spec.ID, err)
	}
	defer shimLog.Close()
	var logAt int64
	if fi, err := shimLog.Stat(); err == nil {
		logAt = fi.Size()
	}
	cfg.ControlFD = 3 // the first of ExtraFiles
	sc := p.sup.cfg.ShimCommand
	cmd := exec.Command(sc[0], append(append([]string(nil), sc[1:]...), cfg.Args()...)...)
	cmd.Dir = spec.StateDir
	cmd.Env = append([]string{}, spec.Env...)
	cmd.Stdout, cmd.Stderr = shimLog, shimLog
	cmd.ExtraFiles = []*os.File{theirs}
	// Its own session: a Ctrl-C in the daemon's terminal never reaches
	// the shim or the app.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		ctl.close()
		return nil, fmt.Errorf("supervisor: instance %s: start shim %s: %w", spec.ID, sc[0], err)
	}
	pid := cmd.Process.Pid
	start, _ := procstat.StartTime(pid)
	p.log.Debug("spawned shim", "shimPid", pid)
	return &attempt{
		stateDir:    spec.StateDir,
		logPath:     spec.LogPath,
		shimPID:     pid,
		shimStart:   start,
		cmd:         cmd,
		shimLogAt:   logAt,
		fingerprint: cfg.Fingerprint,
		ctl:         ctl,
		watch:       watchExit(pid, start, cmd),
	}, nil
}

// adoptAttempt resumes an attempt recorded in st, reached on ctl (nil
// without a control connection). With direct, the shim is gone and the
// app itself is watched.
func adoptAttempt(spec Spec, st shim.State, direct bool, ctl *shimConn) *attempt {
	a := &attempt{
		hosted:      st.Hosted,
		ctl:         ctl,
		stateDir:    spec.StateDir,
		logPath:     spec.LogPath,
		shimPID:     st.ShimPID,
		shimStart:   st.ShimStartTime,
		appPID:      st.AppPID,
		pgid:        st.PGID,
		appStart:    st.AppStartTime,
		startedAt:   st.StartedAt,
		run:         st.Run,
		fingerprint: st.Fingerprint,
		direct:      direct,
	}
	switch {
	case direct:
		a.watch = watchExit(st.AppPID, st.AppStartTime, nil)
	case st.Hosted:
		a.watch = watchHosted(ctl)
	default:
		a.watch = watchExit(st.ShimPID, st.ShimStartTime, nil)
	}
	return a
}

// refreshState reads shim.json and reports whether it now names the app.
func (a *attempt) refreshState() bool {
	if a.appPID != 0 {
		return true
	}
	st, err := shim.ReadState(a.stateDir)
	if err != nil || st.ShimPID != a.shimPID || st.AppPID == 0 || st.Run < a.minRun {
		return false
	}
	a.setApp(st)
	return true
}

// setApp records the run st describes.
func (a *attempt) setApp(st shim.State) {
	a.appPID, a.pgid, a.appStart, a.startedAt = st.AppPID, st.PGID, st.AppStartTime, st.StartedAt
	a.run = st.Run
}

// eventResult is what an event from the shim means for the attempt.
type eventResult int

const (
	evNothing eventResult = iota // nothing new
	evStarted                    // the app is now known
	evExited                     // the app has ended; a.exit says how
)

// apply records what the shim reported.
func (a *attempt) apply(ev shim.Event) eventResult {
	a.fingerprint = ev.State.Fingerprint
	a.final = ev.Final
	switch ev.Kind {
	case shim.EventStarted:
		if ev.State.AppPID == 0 || ev.State.Run < a.minRun || (a.appPID != 0 && ev.State.AppPID == a.appPID) {
			return evNothing
		}
		a.setApp(ev.State)
		return evStarted
	case shim.EventExited:
		e := ev.Exit
		if e == nil || a.exit != nil || e.AppPID == 0 {
			return evNothing
		}
		if a.appPID == 0 && e.Run >= a.minRun && ev.State.AppPID == e.AppPID {
			// Started and ended before this daemon heard of it.
			a.setApp(ev.State)
		}
		if e.AppPID != a.appPID {
			return evNothing
		}
		a.exit = &Exit{Code: e.Code, Signal: e.Signal, At: e.ExitedAt, Uptime: e.Uptime()}
		return evExited
	}
	return evNothing
}

// drainEvents applies the events already received.
func (a *attempt) drainEvents() {
	if a.ctl == nil {
		return
	}
	for {
		select {
		case ev, ok := <-a.ctl.events:
			if !ok {
				return
			}
			a.apply(ev)
		default:
			return
		}
	}
}

// canRestart reports whether the next run can start in this shim: it is
// alive, reachable and willing, the last run has ended, and it runs
// what the spec (whose fingerprint is fp) says.
func (a *attempt) canRestart(fp string) bool {
	return a.ctl != nil && !a.direct && !a.final && a.exit != nil && a.appPID != 0 &&
		a.fingerprint == fp && a.alive()
}

// startAgain tells the shim to start the next run of the app, and makes
// the attempt follow that run.
func (a *attempt) startAgain() error {
	if err := a.ctl.send(shim.Command{Op: shim.OpStart, Run: a.run}); err != nil {
		return err
	}
	if fi, err := os.Stat(filepath.Join(a.stateDir, shim.LogFile)); err == nil {
		a.shimLogAt = fi.Size()
	}
	a.minRun = a.run + 1
	a.reused = true
	a.appPID, a.pgid, a.appStart, a.startedAt = 0, 0, 0, time.Time{}
	a.ready, a.exit = false, nil
	if a.appWatch != nil {
		a.appWatch.close()
		a.appWatch = nil
	}
	return nil
}

// quit tells the shim not to start the app again and to exit once it has
// ended: through the control connection, and with SIGTERM, which means
// the same to a shim and also reaches one without a connection.
func (a *attempt) quit() {
	if a.ctl != nil {
		_ = a.ctl.send(shim.Command{Op: shim.OpQuit})
	}
	if !a.direct && !a.hosted && a.shimPID > 0 && a.alive() {
		_ = unix.Kill(a.shimPID, unix.SIGTERM)
	}
}

// markStop creates the stop file, which tells the shim not to start the
// app and to exit once it has ended even if no signal or command reaches
// it.
func (a *attempt) markStop() {
	if !a.direct {
		_ = os.WriteFile(filepath.Join(a.stateDir, shim.StopFile), nil, 0o644)
	}
}

// watchApp starts watching the app itself, for a shim that cannot report
// the app's exit (no control connection).
func (a *attempt) watchApp() {
	if a.ctl != nil || a.direct || a.appWatch != nil || a.appPID == 0 || a.exit != nil {
		return
	}
	a.appWatch = watchExit(a.appPID, a.appStart, nil)
}

// appExited returns a channel closed when the app watched by watchApp
// has exited (nil when it is not watched).
func (a *attempt) appExited() <-chan struct{} {
	if a.appWatch == nil {
		return nil
	}
	return a.appWatch.Exited()
}

// events returns the channel of the shim's events (nil without a control
// connection).
func (a *attempt) events() <-chan shim.Event {
	if a.ctl == nil {
		return nil
	}
	return a.ctl.events
}

// dropControl closes the control connection after it ended.
func (a *attempt) dropControl() {
	if a.ctl != nil {
		a.ctl.close()
		a.ctl = nil
	}
}

// readExit records how the app ended, from exit.json when the shim wrote
// one for this app. It returns nil if the app never started.
func (a *attempt) readExit() *Exit {
	if a.exit != nil || a.appPID == 0 {
		return a.exit
	}
	now := time.Now()
	ex := &Exit{Code: -1, At: now}
	if !a.startedAt.IsZero() {
		ex.Uptime = now.Sub(a.startedAt)
	}
	if !a.direct {
		if e, err := shim.ReadExit(a.stateDir); err == nil && e.AppPID == a.appPID {
			ex = &Exit{Code: e.Code, Signal: e.Signal, At: e.ExitedAt, Uptime: e.Uptime()}
		}
	}
	a.exit = ex
	return ex
}

// alive reports whether the attempt's processes may still be signalled
// safely: the watched process has not exited (so its pid, and the app's
// process group, cannot have been reused).
func (a *attempt) alive() bool {
	select {
	case <-a.watch.Exited():
		return false
	default:
		return true
	}
}

// signalApp sends sig to the app's process group.
func (a *attempt) signalApp(sig syscall.Signal) {
	if a.pgid <= 0 || !a.alive() {
		return
	}
	_ = unix.Kill(-a.pgid, sig)
}

// signalShimGroup sends sig to the shim's process group (the shim and
// its user data script), after telling the shim not to start the app.
func (a *attempt) signalShimGroup(sig syscall.Signal) {
	if a.direct || a.shimPID <= 0 || !a.alive() {
		return
	}
	// Should the marker fail, the shim may still start the app; the stop
	// then finds it through an event or shim.json and signals it.
	a.markStop()
	if a.hosted {
		// The host's group is every instance's: signal the user data
		// script's own group instead, if one runs.
		if st, err := shim.ReadState(a.stateDir); err == nil && st.ShimPID == a.shimPID && st.UserDataPGID > 0 {
			_ = unix.Kill(-st.UserDataPGID, sig)
		}
		return
	}
	_ = unix.Kill(-a.shimPID, sig)
}

// cleanupGroup kills what is left of the app's process group after the
// app was watched directly (with a shim, the shim does this itself).
func (a *attempt) cleanupGroup() {
	if a.direct && a.pgid > 0 {
		_ = unix.Kill(-a.pgid, unix.SIGKILL)
	}
}

// shimFailure explains why a shim exited before starting the app.
func (a *attempt) shimFailure() string {
	var detail []string
	if a.cmd != nil && a.cmd.ProcessState != nil {
		detail = append(detail, "shim "+a.cmd.ProcessState.String())
	}
	for _, l := range lastLines(a.logPath) {
		if strings.HasPrefix(l, "sys could not start") {
			detail = append(detail, strings.TrimPrefix(l, "sys "))
		}
	}
	// A hosted shim makes its log only when it has something to say.
	where := "see " + a.logPath
	if f, err := os.Open(filepath.Join(a.stateDir, shim.LogFile)); err == nil {
		b, _ := io.ReadAll(io.NewSectionReader(f, a.shimLogAt, 64<<10))
		_ = f.Close()
		if text := strings.TrimSpace(string(b)); text != "" {
			lines := strings.Split(text, "\n")
			detail = append(detail, lines[len(lines)-1])
		}
		where = "see " + filepath.Join(a.stateDir, shim.LogFile)
	}
	if len(detail) == 0 {
		return "the shim exited before starting the app; " + where
	}
	return "the shim exited before starting the app (" + strings.Join(detail, "; ") + "); " + where
}

// watchAppDirectly switches to watching the app itself when its shim has
// exited but the app is still alive (the shim was killed), and reports
// whether it did.
func (a *attempt) watchAppDirectly() bool {
	if a.direct || a.appPID == 0 || a.exit != nil || !procstat.Alive(a.appPID, a.appStart) {
		return false
	}
	if a.appWatch != nil {
		a.appWatch.close()
		a.appWatch = nil
	}
	a.dropControl()
	a.watch.close()
	a.watch = watchExit(a.appPID, a.appStart, nil)
	a.direct = true
	return true
}

// close stops watching and closes the control connection; the shim and
// the app are left as they are.
func (a *attempt) close() {
	a.dropControl()
	if a.appWatch != nil {
		a.appWatch.close()
		a.appWatch = nil
	}
	a.watch.close()
}
