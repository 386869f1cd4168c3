package supervisor

import (
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

// attempt is one run of an app under one shim, spawned by this
// Supervisor or adopted from an earlier daemon. It is used only by its
// proc's loop goroutine.
type attempt struct {
	stateDir string
	logPath  string

	shimPID   int
	shimStart uint64
	cmd       *exec.Cmd // the shim, when this Supervisor spawned it
	shimLogAt int64     // size of shim.log before this attempt

	appPID    int // 0 until shim.json names it
	pgid      int
	appStart  uint64
	startedAt time.Time

	watch *exitWatch
	// direct is set when the shim is gone and the app itself is watched.
	direct bool
	ready  bool
	exit   *Exit // set by readExit
}

// spawn starts a shim for p's spec.
func (p *proc) spawn() (*attempt, error) {
	spec := p.spec
	if err := os.MkdirAll(spec.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("supervisor: instance %s: create state dir: %w", spec.ID, err)
	}
	for _, name := range []string{shim.StateFile, shim.ExitFile, shim.StopFile} {
		if err := os.Remove(filepath.Join(spec.StateDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("supervisor: instance %s: clear old shim state: %w", spec.ID, err)
		}
	}
	cfg := shim.Config{
		StateDir:    spec.StateDir,
		Dir:         spec.Dir,
		LogPath:     spec.LogPath,
		Log:         spec.Log,
		CgroupProcs: spec.CgroupProcs,
		Argv:        []string{"/bin/sh", "-c", spec.Command},
	}
	if spec.UserData != "" {
		cfg.UserData = filepath.Join(spec.StateDir, shim.UserDataScript)
		if err := os.WriteFile(cfg.UserData, []byte(spec.UserData), 0o700); err != nil {
			return nil, fmt.Errorf("supervisor: instance %s: write user data: %w", spec.ID, err)
		}
	}
	shimLog, err := os.OpenFile(filepath.Join(spec.StateDir, shim.LogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("supervisor: instance %s: open shim log: %w", spec.ID, err)
	}
	defer shimLog.Close()
	var logAt int64
	if fi, err := shimLog.Stat(); err == nil {
		logAt = fi.Size()
	}
	sc := p.sup.cfg.ShimCommand
	cmd := exec.Command(sc[0], append(append([]string(nil), sc[1:]...), cfg.Args()...)...)
	cmd.Dir = spec.StateDir
	cmd.Env = append([]string{}, spec.Env...)
	cmd.Stdout, cmd.Stderr = shimLog, shimLog
	// Its own session: a Ctrl-C in the daemon's terminal never reaches
	// the shim or the app.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("supervisor: instance %s: start shim %s: %w", spec.ID, sc[0], err)
	}
	pid := cmd.Process.Pid
	start, _ := procstat.StartTime(pid)
	p.log.Debug("spawned shim", "shimPid", pid)
	return &attempt{
		stateDir:  spec.StateDir,
		logPath:   spec.LogPath,
		shimPID:   pid,
		shimStart: start,
		cmd:       cmd,
		shimLogAt: logAt,
		watch:     watchExit(pid, start, cmd),
	}, nil
}

// adoptAttempt resumes an attempt recorded in st. With direct, the shim is
// gone and the app itself is watched.
func adoptAttempt(spec Spec, st shim.State, direct bool) *attempt {
	a := &attempt{
		stateDir:  spec.StateDir,
		logPath:   spec.LogPath,
		shimPID:   st.ShimPID,
		shimStart: st.ShimStartTime,
		appPID:    st.AppPID,
		pgid:      st.PGID,
		appStart:  st.AppStartTime,
		startedAt: st.StartedAt,
		direct:    direct,
	}
	if direct {
		a.watch = watchExit(st.AppPID, st.AppStartTime, nil)
	} else {
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
	if err != nil || st.ShimPID != a.shimPID || st.AppPID == 0 {
		return false
	}
	a.appPID, a.pgid, a.appStart, a.startedAt = st.AppPID, st.PGID, st.AppStartTime, st.StartedAt
	return true
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
	// then finds it through shim.json and signals it.
	_ = os.WriteFile(filepath.Join(a.stateDir, shim.StopFile), nil, 0o644)
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
	if f, err := os.Open(filepath.Join(a.stateDir, shim.LogFile)); err == nil {
		b, _ := io.ReadAll(io.NewSectionReader(f, a.shimLogAt, 64<<10))
		_ = f.Close()
		if text := strings.TrimSpace(string(b)); text != "" {
			lines := strings.Split(text, "\n")
			detail = append(detail, lines[len(lines)-1])
		}
	}
	where := "see " + filepath.Join(a.stateDir, shim.LogFile)
	if len(detail) == 0 {
		return "the shim exited before starting the app; " + where
	}
	return "the shim exited before starting the app (" + strings.Join(detail, "; ") + "); " + where
}

// watchAppDirectly switches to watching the app itself when its shim has
// exited but the app is still alive (the shim was killed), and reports
// whether it did.
func (a *attempt) watchAppDirectly() bool {
	if a.direct || a.appPID == 0 || !procstat.Alive(a.appPID, a.appStart) {
		return false
	}
	a.watch.close()
	a.watch = watchExit(a.appPID, a.appStart, nil)
	a.direct = true
	return true
}

// close stops watching.
func (a *attempt) close() {
	a.watch.close()
}
