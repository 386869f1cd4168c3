//go:build linux && !386

package proxy

import (
	"iter"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Event loops.
//
// On Linux, client connections and their target connections are served by
// a few event loops (one per GOMAXPROCS) instead of by the runtime's shared
// poller. Each loop owns an epoll instance and the sockets registered in
// it; a connection stays on the loop that adopted it for its whole life,
// as in HAProxy or nginx. The request-handling code is the same blocking
// style code the goroutine engine runs: each connection runs as a
// coroutine (iter.Pull) that the loop resumes when its socket is ready,
// and a read or write that would block yields back to the loop. Resuming a
// coroutine is a direct switch on the same thread, without the scheduler's
// run queues, wake-ups of idle threads or work stealing; that is where the
// goroutine engine lost its tail latency under load.
//
// Every loop watches every listening socket and accepts for itself; each
// new connection goes to the loop serving the fewest.
//
// While busy, a loop waits in epoll_wait without giving up its P (for at
// most loopBusyWait, yielding to other goroutines between waits); after a
// few empty waits it parks on the runtime's poller like any goroutine, so
// an idle proxy costs nothing and other goroutines keep their Ps. The
// price: while loops are busy, the runtime polls its own network poller
// less often, so goroutines waiting on it (health checks, the API) may
// wake a few milliseconds late; when connections this proxy serves on
// goroutines exist, loops let the runtime poll whenever they yield.
//
// WebSocket tunnels stay on the loop (a second task copies the other
// direction). h2c connections, served by net/http's HTTP/2 server, move to
// a goroutine of their own, with their socket turned into a net.Conn.

// loopsSupported reports whether this platform has event loops.
const loopsSupported = true

const (
	loopBusyWait   = 2   // milliseconds of a busy loop's epoll_wait
	loopBusyRounds = 3   // empty busy waits before parking
	loopYieldEvery = 32  // loop rounds between yields to other goroutines
	loopFreeTasks  = 128 // idle tasks kept per loop for new connections
	loopKick       = 20 * time.Microsecond
	loopEvents     = 256
	epollET        = 1 << 31 // EPOLLET as the uint32 the events field takes
)

// Wait directions.
const (
	dirRead  uint8 = 1
	dirWrite uint8 = 2
)

// loop is one event loop.
type loop struct {
	p    *Proxy
	id   int // pool slot is id+1
	epfd int
	file *os.File // epfd, for parking on the runtime's poller
	rc   syscall.RawConn
	evfd int // eventfd that wakes the loop for posted work

	// Owned by the loop goroutine (and the coroutines it runs, which never
	// run concurrently with it).
	fds       []*sockIO // by fd number: the registered sockets
	events    []syscall.EpollEvent
	ready     []*task
	timers    []*task           // min-heap by task.hdl
	acceptors map[int]*acceptor // listening sockets by fd
	free      []*task           // tasks waiting for a connection
	quit      bool
	kn        int                // events polled by park or pollRuntime
	kfirst    bool               // pollRuntime has not parked yet
	kpoll     bool               // poll the epoll into kn
	kpark     bool               // park: wait until kn > 0
	kickFn    func(uintptr) bool // kickPoll, bound once

	nconns atomic.Int64 // connections assigned to the loop

	// mu guards the fields that follow.
	mu       sync.Mutex
	inbox    []func()
	spare    []func()
	signaled bool
	stopped  bool
}

// task is a connection's coroutine.
type task struct {
	lp    *loop
	c     *conn
	next  func() (struct{}, bool)
	yield func(struct{}) bool
	stop  func()
	done  bool  // the coroutine ended
	free  bool  // between connections, on the loop's free list
	spare *conn // the last connection served, whose buffers the next one takes

	waitFD   int   // socket waited on, or waitNone / waitJoin
	waitDir  uint8 // dirRead or dirWrite
	waitDL   int64 // deadline of the wait in Unix ns, 0 for none
	timedOut bool  // the wait ended at its deadline
	aborted  bool  // forceClose ran: every wait ends at once
	queued   bool  // in the loop's ready list

	hidx int   // index in the timer heap, -1 when absent
	hdl  int64 // the deadline the heap orders by

	parent *task // set on a tunnel's second task: the connection's task
}

// Special values of task.waitFD.
const (
	waitNone = -1 // not waiting
	waitJoin = -2 // waiting for the tunnel's second task to end
)

// newLoops starts n event loops, or none if the system refuses.
func newLoops(p *Proxy, n int) []*loop {
	var ls []*loop
	for i := 0; i < n; i++ {
		l, err := newLoop(p, i)
		if err != nil {
			p.log.Warn("event loops unavailable; serving connections with goroutines", "err", err)
			for _, l := range ls {
				l.file.Close()
				syscall.Close(l.evfd)
			}
			return nil
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		p.wg.Add(1)
		go l.run()
	}
	return ls
}

func newLoop(p *Proxy, id int) (*loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	r, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("eventfd2", errno)
	}
	evfd := int(r)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | epollET, Fd: int32(evfd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(evfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		syscall.Close(evfd)
		return nil, err
	}
	l := &loop{p: p, id: id, epfd: epfd, file: f, rc: rc, evfd: evfd, events: make([]syscall.EpollEvent, loopEvents)}
	l.kickFn = l.kickPoll
	return l, nil
}

// post runs f on the loop goroutine soon. It is safe from any goroutine;
// work posted after the loop stopped is dropped.
func (l *loop) post(f func()) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.inbox = append(l.inbox, f)
	wake := !l.signaled
	l.signaled = true
	l.mu.Unlock()
	if wake {
		one := uint64(1)
		syscall.Write(l.evfd, (*[8]byte)(unsafe.Pointer(&one))[:])
	}
}

// stop ends the loop after the work already posted.
func (l *loop) stop() { l.post(func() { l.quit = true }) }

func (l *loop) run() {
	defer l.p.wg.Done()
	defer func() {
		for _, t := range l.free {
			t.stop()
		}
		l.free = nil
		l.mu.Lock()
		l.stopped = true
		l.inbox = nil
		l.mu.Unlock()
		l.file.Close()
		syscall.Close(l.evfd)
	}()
	idle, rounds := 0, 0
	for !l.quit {
		n := l.wait(0)
		if rounds++; n == 0 || rounds >= loopYieldEvery {
			// Let other goroutines run: when idle, and regularly under
			// load, sooner than the runtime would preempt the loop.
			rounds = 0
			if l.p.offLoop.Load() > 0 {
				// Connections on goroutines (h2c) wait on the runtime's
				// poller, which busy loops would otherwise leave
				// unpolled for up to 10 ms.
				l.pollRuntime(n == 0)
				if n == 0 {
					n = l.kn
				}
			} else {
				runtime.Gosched()
				if n == 0 {
					n = l.wait(0)
				}
			}
		}
		if n == 0 {
			if idle < loopBusyRounds {
				n = l.wait(l.busyTimeout())
				if n == 0 {
					idle++
				}
			} else {
				n = l.park()
				idle = 0
			}
		}
		if n > 0 {
			idle = 0
		}
		l.dispatch(n)
		l.runInbox()
		l.runTimers()
	}
}

// wait polls the loop's epoll for up to ms milliseconds without giving up
// the P.
func (l *loop) wait(ms int) int {
	r, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.epfd), uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), uintptr(ms), 0, 0)
	if errno != 0 {
		return 0
	}
	return int(r)
}

// busyTimeout is the busy wait in milliseconds, shortened by the next
// timer.
func (l *loop) busyTimeout() int {
	if len(l.timers) == 0 {
		return loopBusyWait
	}
	d := (l.timers[0].hdl - time.Now().UnixNano() + 999_999) / 1_000_000
	switch {
	case d <= 0:
		return 0
	case d < loopBusyWait:
		return int(d)
	}
	return loopBusyWait
}

// park waits on the runtime's poller until the epoll has events, posted
// work arrives or the next timer is due.
func (l *loop) park() int {
	var dl time.Time
	if len(l.timers) > 0 {
		dl = time.Unix(0, l.timers[0].hdl)
	}
	l.file.SetReadDeadline(dl)
	l.kn, l.kfirst, l.kpoll, l.kpark = 0, false, true, true
	l.rc.Read(l.kickFn)
	return l.kn
}

// pollRuntime parks the loop for at most loopKick so that the scheduler,
// finding nothing else to run, polls the runtime's network poller and
// runs the goroutines it wakes. With poll, it then polls the loop's epoll
// into l.kn.
func (l *loop) pollRuntime(poll bool) {
	l.file.SetReadDeadline(time.Now().Add(loopKick))
	l.kn, l.kfirst, l.kpoll, l.kpark = 0, true, poll, false
	l.rc.Read(l.kickFn)
}

// kickPoll is the readiness check of park and pollRuntime.
func (l *loop) kickPoll(uintptr) bool {
	if l.kfirst {
		l.kfirst = false
		return false // park first
	}
	if l.kpoll {
		l.kn = l.wait(0)
	}
	return !l.kpark || l.kn > 0 // park waits for events
}

// dispatch resumes the tasks whose sockets became ready.
func (l *loop) dispatch(n int) {
	for i := 0; i < n; i++ {
		ev := &l.events[i]
		fd := int(ev.Fd)
		if fd == l.evfd {
			var b [8]byte
			syscall.Read(l.evfd, b[:])
			continue
		}
		var s *sockIO
		if fd < len(l.fds) {
			s = l.fds[fd]
		}
		if s == nil {
			if a := l.acceptors[fd]; a != nil && !a.paused {
				l.accept(a)
			}
			continue
		}
		if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
			s.drained = false
			if ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				s.hup = true // EOF or an error stays readable without new events
			}
		}
		l.readyIfWaiting(s.t, fd, ev.Events)
		if s.t2 != nil {
			l.readyIfWaiting(s.t2, fd, ev.Events)
		}
	}
	l.resumeReady()
}

// readyIfWaiting queues t if it waits on fd in a direction events
// satisfy.
func (l *loop) readyIfWaiting(t *task, fd int, events uint32) {
	const readable = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
	const writable = syscall.EPOLLOUT | syscall.EPOLLHUP | syscall.EPOLLERR
	if t == nil || t.waitFD != fd || t.queued {
		return
	}
	if (t.waitDir == dirRead && events&readable == 0) || (t.waitDir == dirWrite && events&writable == 0) {
		return
	}
	t.queued = true
	l.ready = append(l.ready, t)
}

// wake ends t's current wait as if its deadline passed (the loop resumes
// it soon); a task not waiting is left alone.
func (l *loop) wake(t *task) {
	if t.done || t.waitFD == waitNone || t.queued {
		return
	}
	t.timedOut = true
	t.queued = true
	l.ready = append(l.ready, t)
}

func (l *loop) resumeReady() {
	// Resuming may queue more (wake); take them in order until none is left.
	for i := 0; i < len(l.ready); i++ {
		t := l.ready[i]
		l.ready[i] = nil
		t.queued = false
		l.resume(t)
	}
	l.ready = l.ready[:0]
}

func (l *loop) runInbox() {
	l.mu.Lock()
	if len(l.inbox) == 0 {
		l.mu.Unlock()
		return
	}
	work := l.inbox
	l.inbox = l.spare[:0]
	l.signaled = false
	l.mu.Unlock()
	for i, f := range work {
		f()
		work[i] = nil
	}
	l.mu.Lock()
	l.spare = work[:0]
	l.mu.Unlock()
}

// register adds fd to the loop's epoll, edge-triggered for both
// directions, with s as its socket.
func (l *loop) register(fd int, s *sockIO) error {
	if fd >= len(l.fds) {
		nf := make([]*sockIO, max(2*fd, 64))
		copy(nf, l.fds)
		l.fds = nf
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | epollET, Fd: int32(fd)}
	if err := rawEpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	l.fds[fd] = s
	return nil
}

// closeFD forgets and closes a registered socket.
func (l *loop) closeFD(fd int) {
	if fd < len(l.fds) {
		l.fds[fd] = nil
	}
	rawClose(fd)
}

// adopt starts serving a client connection on this loop, on a task from
// the loop's free list when there is one: its coroutine, grown stack and
// buffers are reused, which saves most of a new connection's cost.
func (l *loop) adopt(c *conn) {
	if err := l.register(c.io.fd, &c.io); err != nil {
		l.nconns.Add(-1)
		c.p.log.Warn("adopt connection", "err", err)
		syscall.Close(c.io.fd)
		c.countClosed()
		c.leaveHead()
		c.l.remove(c)
		return
	}
	var t *task
	if n := len(l.free); n > 0 {
		t = l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
		t.free, t.aborted, t.timedOut = false, false, false
		c.reuseBuffers(t.spare)
		t.spare = nil
	} else {
		t = &task{lp: l, waitFD: waitNone, hidx: -1}
		t.next, t.stop = iter.Pull(t.body)
	}
	t.c = c
	c.io.t = t
	l.resume(t)
}

// body is a task's coroutine: it serves connections, and between them
// waits on the loop's free list.
func (t *task) body(yield func(struct{}) bool) {
	t.yield = yield
	for {
		c := t.c
		c.serve()
		if c.migrate {
			return // the coroutine ends; the loop moves c to a goroutine
		}
		t.spare, t.c, t.free = c, nil, true
		if !yield(struct{}{}) {
			return // the loop stopped
		}
	}
}

// resume runs t until it waits again, is free or ends.
func (l *loop) resume(t *task) {
	_, ok := t.next()
	if ok && !t.free {
		return // waiting
	}
	t.waitFD = waitNone
	if t.hidx >= 0 {
		l.timerRemove(t)
	}
	if t.parent != nil {
		// A tunnel's second direction ended: its parent may be joining.
		t.done = true
		if p := t.parent; p.waitFD == waitJoin && !p.queued {
			p.queued = true
			l.ready = append(l.ready, p)
		}
		return
	}
	l.nconns.Add(-1) // the connection ended or moved to a goroutine
	if ok {
		if len(l.free) < loopFreeTasks {
			l.free = append(l.free, t)
		} else {
			t.stop()
		}
		return
	}
	t.done = true
	if c := t.c; c != nil && c.migrate {
		l.migrate(c)
	}
}

// migrate moves a connection that sent the h2c preface to a goroutine of
// its own: its socket leaves the loop and becomes a net.Conn for the
// HTTP/2 server.
func (l *loop) migrate(c *conn) {
	fd := c.io.fd
	ev := syscall.EpollEvent{}
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, fd, &ev)
	if fd < len(l.fds) {
		l.fds[fd] = nil
	}
	f := os.NewFile(uintptr(fd), "client")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		c.p.log.Warn("move connection off the event loop", "err", err)
		c.countClosed()
		c.l.remove(c)
		return
	}
	c.l.mu.Lock()
	c.lp = nil
	c.nc = nc
	c.io = sockIO{}
	c.io.init(nc)
	c.l.mu.Unlock()
	c.migrate = false
	c.offLoop = true
	c.p.offLoop.Add(1)
	go c.run(true)
}

// wakeIdle ends c's wait for its next request (graceful close).
func (l *loop) wakeIdle(c *conn) {
	l.post(func() {
		t := c.io.t
		if c.lp != l || t == nil || t.c != c || t.done || t.waitFD != c.io.fd || t.waitDir != dirRead || c.state.Load() != stateIdle {
			return
		}
		t.timedOut = true
		t.waitFD = waitNone
		l.resume(t)
	})
}

// forceClose shuts c's socket down so its task ends.
func (l *loop) forceClose(c *conn) {
	l.post(func() {
		t := c.io.t
		if c.lp != l || t == nil || t.c != c || t.done {
			return
		}
		syscall.Shutdown(c.io.fd, syscall.SHUT_RDWR)
		t.aborted = true
		if t.waitFD >= 0 && !t.queued {
			t.timedOut = true
			l.resume(t)
		}
	})
}

// block suspends the running task until fd is ready in direction dir or
// the deadline dl (Unix ns, 0 for none) passes; it reports false on the
// deadline.
func (t *task) block(fd int, dir uint8, dl int64) bool {
	if t.aborted {
		return false
	}
	t.waitFD, t.waitDir, t.waitDL = fd, dir, dl
	if dl != 0 {
		t.lp.timerArm(t, dl)
	}
	t.yield(struct{}{})
	t.waitFD = waitNone
	if t.timedOut {
		t.timedOut = false
		return false
	}
	return true
}

// Timers: one heap entry per task at most, keyed by hdl, which may be
// earlier than the task's current deadline (then it is re-armed when it
// fires).

func (l *loop) timerArm(t *task, dl int64) {
	if t.hidx < 0 {
		t.hdl = dl
		t.hidx = len(l.timers)
		l.timers = append(l.timers, t)
		l.timerUp(t.hidx)
		return
	}
	if dl < t.hdl {
		t.hdl = dl
		l.timerUp(t.hidx)
	}
}

func (l *loop) runTimers() {
	if len(l.timers) == 0 {
		return
	}
	now := time.Now().UnixNano()
	for len(l.timers) > 0 && l.timers[0].hdl <= now {
		t := l.timers[0]
		l.timerRemove(t)
		if t.done || t.waitFD < 0 || t.waitDL == 0 {
			continue
		}
		if t.waitDL > now {
			l.timerArm(t, t.waitDL)
			continue
		}
		if !t.queued {
			t.timedOut = true
			t.queued = true
			l.ready = append(l.ready, t)
		}
	}
	l.resumeReady()
}

func (l *loop) timerRemove(t *task) {
	i := t.hidx
	last := len(l.timers) - 1
	if i != last {
		l.timers[i] = l.timers[last]
		l.timers[i].hidx = i
	}
	l.timers[last] = nil
	l.timers = l.timers[:last]
	t.hidx = -1
	if i < last {
		l.timerDown(i)
		l.timerUp(i)
	}
}

func (l *loop) timerUp(i int) {
	h := l.timers
	for i > 0 {
		p := (i - 1) / 2
		if h[p].hdl <= h[i].hdl {
			break
		}
		h[p], h[i] = h[i], h[p]
		h[p].hidx, h[i].hidx = p, i
		i = p
	}
}

func (l *loop) timerDown(i int) {
	h := l.timers
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h[c+1].hdl < h[c].hdl {
			c++
		}
		if h[i].hdl <= h[c].hdl {
			return
		}
		h[c], h[i] = h[i], h[c]
		h[c].hidx, h[i].hidx = c, i
		i = c
	}
}
