package supervisor

import (
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"

	"github.com/madang-dev/madang/internal/procstat"
)

// alivePollInterval is how often a process is checked when pidfds are not
// available.
const alivePollInterval = 50 * time.Millisecond

// lifetime tells when what an attempt follows has ended: a shim's
// process, a hosted shim, or (watched directly) the app.
type lifetime interface {
	// Exited returns a channel closed once it has ended.
	Exited() <-chan struct{}
	// close stops watching and waits for the watching goroutine.
	close()
}

// hostedWatch tells when a hosted shim has ended: it closes its control
// connection when it does, and the kernel closes it when the host dies.
type hostedWatch struct {
	exited   chan struct{}
	stop     chan struct{}
	finished chan struct{}
}

// watchHosted watches the hosted shim on the other end of ctl; without a
// connection the shim is taken to have ended.
func watchHosted(ctl *shimConn) *hostedWatch {
	w := &hostedWatch{exited: make(chan struct{}), stop: make(chan struct{}), finished: make(chan struct{})}
	if ctl == nil {
		close(w.exited)
		close(w.finished)
		return w
	}
	go func() {
		defer close(w.finished)
		select {
		case <-ctl.ended:
			close(w.exited)
		case <-w.stop:
		}
	}()
	return w
}

// Exited returns a channel closed when the shim has ended.
func (w *hostedWatch) Exited() <-chan struct{} { return w.exited }

func (w *hostedWatch) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.finished
}

// exitWatch tells when a process has exited. It uses a pidfd, which the
// runtime's poller waits on without a thread or a timer, and falls back
// to polling procstat.Alive on kernels without pidfd_open.
type exitWatch struct {
	exited   chan struct{} // closed when the process has exited
	stop     chan struct{} // closed by close
	finished chan struct{} // closed when the watching goroutine returns
	pidfd    *os.File      // nil when polling
}

// watchExit starts watching the process pid whose start time is start.
// child, when not nil, is the exec.Cmd that started it; it is reaped once
// the process has exited. A process that is not our child is reaped too
// if it happens to be one (a shim started by an earlier Supervisor in the
// same process).
func watchExit(pid int, start uint64, child *exec.Cmd) *exitWatch {
	w := &exitWatch{exited: make(chan struct{}), stop: make(chan struct{}), finished: make(chan struct{})}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		go w.poll(pid, start, child)
		return w
	}
	w.pidfd = os.NewFile(uintptr(fd), "pidfd")
	// The pidfd now pins the process; make sure it is the one we meant.
	if child == nil && !procstat.Alive(pid, start) {
		if st, err := procstat.StartTime(pid); err == nil && st == start {
			// Dead but not reaped: reap it if it is our own child (a
			// shim spawned by an earlier Supervisor in this process). It
			// has exited, so this does not block for long.
			var info unix.Siginfo
			_ = unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED, nil)
		}
		_ = w.pidfd.Close()
		w.pidfd = nil
		close(w.exited)
		close(w.finished)
		return w
	}
	go w.wait(child)
	return w
}

// wait blocks on the pidfd until the process exits or close is called.
func (w *exitWatch) wait(child *exec.Cmd) {
	defer close(w.finished)
	rc, err := w.pidfd.SyscallConn()
	if err != nil {
		return
	}
	err = rc.Read(func(fd uintptr) bool {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
		return err == nil && n > 0
	})
	if err != nil {
		return // closed
	}
	if child != nil {
		_ = child.Wait()
	} else {
		_ = rc.Control(func(fd uintptr) {
			var info unix.Siginfo
			_ = unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG, nil)
		})
	}
	close(w.exited)
}

// poll checks the process every alivePollInterval.
func (w *exitWatch) poll(pid int, start uint64, child *exec.Cmd) {
	defer close(w.finished)
	t := time.NewTicker(alivePollInterval)
	defer t.Stop()
	for procstat.Alive(pid, start) {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
	if child != nil {
		_ = child.Wait()
	} else {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
	close(w.exited)
}

// Exited returns a channel closed when the process has exited.
func (w *exitWatch) Exited() <-chan struct{} { return w.exited }

// close stops watching and waits for the watching goroutine.
func (w *exitWatch) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	if w.pidfd != nil {
		_ = w.pidfd.Close()
	}
	<-w.finished
}
