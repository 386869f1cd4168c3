//go:build linux && !386

package proxy

import (
	"errors"
	"io"
	"iter"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Sockets in loop mode.

// errLoopTimeout is a socket deadline expiring in loop mode; it satisfies
// isTimeout like net.Conn's.
var errLoopTimeout = &net.OpError{Op: "wait", Net: "tcp", Err: os.ErrDeadlineExceeded}

func (s *sockIO) loopRead(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	t := s.t
	if s.rt != nil {
		t = s.rt
	}
	if s.drained && !t.block(s.fd, dirRead, s.rdl) {
		return 0, errLoopTimeout
	}
	for {
		n, errno := sysRead(uintptr(s.fd), p)
		switch errno {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			// A short read emptied the socket: new data will come with
			// an edge-triggered event.
			s.drained = n < len(p) && !s.hup
			return n, nil
		case syscall.EINTR:
		case syscall.EAGAIN:
			if !t.block(s.fd, dirRead, s.rdl) {
				return 0, errLoopTimeout
			}
		default:
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", errno)}
		}
	}
}

func (s *sockIO) loopWrite(p []byte) (int, error) {
	t := s.t
	if s.wt != nil {
		t = s.wt
	}
	off := 0
	for off < len(p) {
		n, errno := sysWrite(uintptr(s.fd), p[off:])
		switch errno {
		case 0:
			off += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			if !t.block(s.fd, dirWrite, s.wdl) {
				return off, errLoopTimeout
			}
		default:
			return off, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", errno)}
		}
	}
	return off, nil
}

// dial connects s (whose lp and t are set) to addr, waiting at most
// timeout for the handshake; on success s.fd is the registered socket.
func (l *loop) dial(s *sockIO, addr netip.AddrPort, timeout time.Duration) error {
	family := syscall.AF_INET
	var sa syscall.Sockaddr
	if a := addr.Addr().Unmap(); a.Is4() {
		sa = &syscall.SockaddrInet4{Port: int(addr.Port()), Addr: a.As4()}
	} else {
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: int(addr.Port()), Addr: a.As16()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", err)}
	}
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	if err := l.register(fd, s); err != nil {
		syscall.Close(fd)
		return &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	fail := func(err error) error {
		l.closeFD(fd)
		return &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	for {
		err = syscall.Connect(fd, sa)
		if err != syscall.EINTR {
			break
		}
	}
	switch err {
	case nil:
		s.fd = fd
		return nil
	case syscall.EINPROGRESS, syscall.EALREADY:
	default:
		return fail(os.NewSyscallError("connect", err))
	}
	if !s.t.block(fd, dirWrite, time.Now().Add(timeout).UnixNano()) {
		return fail(os.ErrDeadlineExceeded)
	}
	v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err != nil {
		return fail(os.NewSyscallError("getsockopt", err))
	}
	if v != 0 {
		return fail(os.NewSyscallError("connect", syscall.Errno(v)))
	}
	s.fd = fd
	return nil
}

// Accepting in loop mode: every loop watches each listening socket
// (level-triggered, EPOLLEXCLUSIVE so one loop wakes per connection) and
// serves the connections it accepts. Accepting does not depend on the
// runtime's poller, which busy loops poll only now and then.

// acceptor is a listening socket registered in one loop.
type acceptor struct {
	l       *listener
	fd      int
	backoff time.Duration
	paused  bool // out of the epoll after an accept error, until backoff passes
}

// epollExclusive is EPOLLEXCLUSIVE (Linux 4.5), not in package syscall.
const epollExclusive = 1 << 28

func (l *loop) addAcceptor(a *acceptor) {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | epollExclusive, Fd: int32(a.fd)}
	err := rawEpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, a.fd, &ev)
	if err == syscall.EINVAL {
		// Kernels before 4.5: every loop wakes; all but one find EAGAIN.
		ev.Events = syscall.EPOLLIN
		err = rawEpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, a.fd, &ev)
	}
	if err != nil {
		l.p.log.Warn("watch listener", "listener", a.l.addr, "err", os.NewSyscallError("epoll_ctl", err))
		return
	}
	if l.acceptors == nil {
		l.acceptors = map[int]*acceptor{}
	}
	l.acceptors[a.fd] = a
}

// removeAcceptor stops watching a listener; the last loop to do so closes
// its socket and ends the listener's accept work.
func (l *loop) removeAcceptor(ln *listener) {
	fd := int(ln.lfd)
	if a := l.acceptors[fd]; a != nil && a.l == ln {
		if !a.paused {
			ev := syscall.EpollEvent{}
			syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, fd, &ev)
		}
		delete(l.acceptors, fd)
	}
	ln.loopDone()
}

// accept takes pending connections from a and serves them on this loop.
func (l *loop) accept(a *acceptor) {
	ln := a.l
	for i := 0; i < 64; i++ {
		if ln.draining.Load() {
			// Leave the backlog to whoever shares the socket now (the
			// data plane that took it over): accepting only to close
			// would reset those connections.
			return
		}
		fd, peer, errno := rawAccept4(a.fd)
		switch errno {
		case 0:
		case syscall.EINTR, syscall.ECONNABORTED:
			continue
		case syscall.EAGAIN:
			a.backoff = 0
			return
		default:
			l.pauseAcceptor(a, os.NewSyscallError("accept4", errno))
			return
		}
		a.backoff = 0
		rawNoDelay(fd)
		// Whichever loop wakes accepts, but the connection goes to the
		// loop with the fewest: a burst of connections must not pile up
		// on one loop while the others idle.
		to := l.leastLoaded()
		c := newLoopConn(ln, to, fd, peer)
		if !c.admit() {
			rawClose(fd)
			c.countClosed()
			continue
		}
		// Accepted just as the listener began draining: it is served
		// like the other draining connections (its request is answered
		// with Connection: close), not reset. The accept work still
		// holds the listener's wait group, so adding to it is safe.
		ln.mu.Lock()
		ln.conns[c] = struct{}{}
		ln.wg.Add(1)
		ln.mu.Unlock()
		to.nconns.Add(1)
		if to == l {
			l.adopt(c)
		} else {
			to.post(func() { to.adopt(c) })
		}
	}
}

// leastLoaded returns the loop serving the fewest connections, l itself
// on a tie.
func (l *loop) leastLoaded() *loop {
	best, n := l, l.nconns.Load()
	for _, o := range l.p.loops {
		if m := o.nconns.Load(); m < n {
			best, n = o, m
		}
	}
	return best
}

// pauseAcceptor takes a failing listener (EMFILE, ENFILE, ENOBUFS…) out of
// the epoll for a backoff that doubles up to 1 s, so the loop does not
// spin on it.
func (l *loop) pauseAcceptor(a *acceptor, err error) {
	if a.backoff == 0 {
		a.backoff = 5 * time.Millisecond
	} else if a.backoff < time.Second {
		a.backoff *= 2
	}
	l.p.log.Warn("accept failed", "listener", a.l.addr, "err", err, "retry_in", a.backoff)
	ev := syscall.EpollEvent{}
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, a.fd, &ev)
	a.paused = true
	time.AfterFunc(a.backoff, func() {
		l.post(func() {
			if l.acceptors[a.fd] != a || !a.paused {
				return
			}
			a.paused = false
			delete(l.acceptors, a.fd)
			l.addAcceptor(a)
		})
	})
}

// startLoops makes every event loop accept on f, a duplicate of the
// listener's socket.
func (l *listener) startLoops(f *os.File) {
	l.lf = f
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			l.lfd = fd
			// The loops accept with raw syscalls that keep their P: a
			// blocking socket (a handed-over one whose sender set it so)
			// would park the loop's thread in accept4 and stall the
			// runtime's stop-the-world.
			syscall.SetNonblock(int(fd), true)
		})
	}
	l.loopRefs.Store(int32(len(l.p.loops)))
	for _, lp := range l.p.loops {
		a := &acceptor{l: l, fd: int(l.lfd)}
		lp.post(func() { lp.addAcceptor(a) })
	}
}

// stopLoops asks every loop to stop accepting on the listener.
func (l *listener) stopLoops() {
	for _, lp := range l.p.loops {
		lp.post(func() { lp.removeAcceptor(l) })
	}
}

// loopDone records that one more loop stopped accepting; after the last,
// the socket closes and the listener's accept work is over.
func (l *listener) loopDone() {
	if l.loopRefs.Add(-1) == 0 {
		l.lf.Close()
		l.markUnbound()
		l.wg.Done()
	}
}

// rawListenerFile returns a duplicate of ln's socket for the loops.
func rawListenerFile(ln net.Listener) (*os.File, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil, errors.New("not a TCP listener")
	}
	return tl.File()
}

// Tunnels in loop mode.

// loopTunnel relays an upgraded connection on the loop: this task copies
// client to target while a second task copies target to client, until
// either side closes or both are idle for the idle timeout. Both sockets
// stay on the loop, so a tunnel under load waits for no scheduler.
func (c *conn) loopTunnel(uc *upConn) {
	lp := c.lp
	lb := c.lc.lb
	idle := lb.cfg.IdleTimeout.Nanoseconds()
	t := c.io.t
	tn := &tunnelState{last: time.Now().UnixNano(), idle: idle}
	t2 := &task{lp: lp, waitFD: waitNone, hidx: -1, parent: t}
	// t2 reads the target and writes the client.
	uc.io.t2, c.io.t2 = t2, t2
	uc.io.rt, c.io.wt = t2, t2
	t2.next, t2.stop = iter.Pull(func(yield func(struct{}) bool) {
		t2.yield = yield
		n := tn.pump(&uc.io, &c.io, uc.rbuf)
		c.entry.sent += n
		tn.stop = true
		lp.wake(t) // end the other direction's wait
	})
	lp.resume(t2)

	n := tn.pump(&c.io, &uc.io, c.rbuf)
	c.entry.received += n
	tn.stop = true
	syscall.Shutdown(uc.io.fd, syscall.SHUT_WR)
	lp.wake(t2)
	for !t2.done {
		t.waitFD = waitJoin
		t.yield(struct{}{})
		t.waitFD = waitNone
		t.timedOut = false
	}
	uc.io.t2, c.io.t2 = nil, nil
	uc.io.rt, c.io.wt = nil, nil
}

// tunnelState is shared by a tunnel's two directions, which run on one
// loop and never at the same time.
type tunnelState struct {
	last int64 // Unix ns of the last byte either way
	idle int64
	stop bool
}

// pump copies from one socket to the other until EOF, an error, stop or
// idleness, and returns the bytes copied.
func (tn *tunnelState) pump(from, to *sockIO, buf []byte) int64 {
	var total int64
	for !tn.stop {
		from.rdl = tn.last + tn.idle
		n, err := from.Read(buf)
		if n > 0 {
			tn.last = time.Now().UnixNano()
			to.wdl = tn.last + tn.idle
			if _, werr := to.Write(buf[:n]); werr != nil {
				break
			}
			total += int64(n)
		}
		if err != nil {
			reader := from.t
			if from.rt != nil {
				reader = from.rt
			}
			if isTimeout(err) && !tn.stop && !reader.aborted && time.Now().UnixNano()-tn.last < tn.idle {
				continue
			}
			break
		}
	}
	return total
}

// Raw system calls for the loops' socket bookkeeping. None of them blocks
// (the sockets are non-blocking and never linger), so they skip the
// scheduler's syscall entry and exit, which could hand the loop's P away.

func rawClose(fd int) { syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0) }

func rawEpollCtl(epfd, op, fd int, ev *syscall.EpollEvent) error {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func rawNoDelay(fd int) {
	one := int32(1)
	syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, uintptr(unsafe.Pointer(&one)), 4, 0)
}

// rawAccept4 accepts a connection, non-blocking and close-on-exec, and
// returns its peer address.
func rawAccept4(lfd int) (int, netip.AddrPort, syscall.Errno) {
	var rsa syscall.RawSockaddrAny
	n := uint32(syscall.SizeofSockaddrAny)
	r, _, errno := syscall.RawSyscall6(syscall.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, netip.AddrPort{}, errno
	}
	var ap netip.AddrPort
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		ap = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		ap = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return int(r), ap, 0
}
