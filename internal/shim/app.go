package shim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/madang-dev/madang/internal/logfile"
)

// userData is a started user data script.
type userData struct {
	cmd   *exec.Cmd
	out   io.WriteCloser
	errw  io.WriteCloser
	start time.Time
	err   error // from starting it
}

// startUserData starts the user data script. Hosted, it gets a process
// group of its own (State.UserDataPGID), which a stop signals.
func (s *shim) startUserData() *userData {
	s.log.Note("user data started")
	u := &userData{out: s.log.Stream(logfile.StreamOut), errw: s.log.Stream(logfile.StreamErr), start: time.Now()}
	cmd := exec.Command("/bin/sh", s.c.UserData)
	cmd.Dir = s.c.Dir
	cmd.Env = s.pr.env
	cmd.Stdout, cmd.Stderr = u.out, u.errw
	// Background processes started by the script may keep its output
	// open; do not wait for them.
	cmd.WaitDelay = DrainTimeout
	if s.pr.hosted {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	u.cmd = cmd
	u.err = s.startIn(cmd)
	return u
}

// finish waits for the user data script and records that it ran. Like
// EC2, it runs once even if it fails. It reports whether a signal killed
// the script.
func (u *userData) finish(c Config, log *logfile.File) (killed bool) {
	err := u.err
	if err == nil {
		err = u.cmd.Wait()
	}
	_ = u.out.Close()
	_ = u.errw.Close()
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
	log.Note("user data exited with code %d after %s", code, time.Since(u.start).Round(time.Millisecond))
	mark := fmt.Sprintf("code %d at %s\n", code, time.Now().UTC().Format(time.RFC3339Nano))
	if err := os.WriteFile(filepath.Join(c.StateDir, UserDataDone), []byte(mark), 0o644); err != nil {
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
	stderr  io.Writer // the shim's own messages
}

// startApp starts the app in its own process group with its output piped
// into the log; a plain command runs without its shell (directCommand).
func (s *shim) startApp() (*app, error) {
	c, log := s.c, s.log
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
		if cmd.Env == nil {
			cmd.Env = s.pr.env
		}
		cmd.Stdout, cmd.Stderr = outW, errW
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	var cmd *exec.Cmd
	if direct, ok := directCommand(c.Argv, c.Dir, s.pr.env); ok {
		if err = s.startIn(prepare(direct)); err == nil {
			cmd = direct
		}
	}
	if cmd == nil {
		cmd = prepare(exec.Command(c.Argv[0], c.Argv[1:]...))
		err = s.startIn(cmd)
	}
	started := time.Now()
	_ = outW.Close()
	_ = errW.Close()
	if err != nil {
		_ = outR.Close()
		_ = errR.Close()
		return nil, err
	}
	a := &app{cmd: cmd, started: started, readers: []*os.File{outR, errR}, copied: make(chan struct{}), stderr: s.pr.stderr}
	streams := []io.WriteCloser{log.Stream(logfile.StreamOut), log.Stream(logfile.StreamErr)}
	var pending = make(chan struct{}, 2)
	for i, r := range a.readers {
		go func() {
			copyOutput(streams[i], r, s.pr.stderr)
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
func copyOutput(w io.Writer, r io.Reader, stderr io.Writer) {
	buf := make([]byte, 32<<10)
	reported := false
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil && !reported {
				fmt.Fprintln(stderr, "shim: write log:", werr)
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
		fmt.Fprintln(a.stderr, "shim: wait for app:", err)
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
