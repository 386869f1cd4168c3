package proxy

import (
	"io"
	"net"
	"syscall"
)

// sockIO reads and writes a TCP connection. On Linux it issues the
// read(2)/write(2) calls on the non-blocking socket without handing the
// scheduler's P away (the calls never block), and waits for readiness
// through the runtime's poller like net.Conn does, so deadlines still
// apply. That saves the runtime's syscall bookkeeping and the background
// handoffs it triggers on every request. Elsewhere it uses net.Conn.
type sockIO struct {
	nc  net.Conn
	rc  syscall.RawConn // nil: use nc
	buf []byte
	off int
	n   int
	err error

	readFn, writeFn func(fd uintptr) bool // method values, built once

	// Event-loop mode (lp != nil): fd is a raw non-blocking socket
	// registered in loop lp, t is the task using it, and rdl and wdl are
	// its deadlines in Unix nanoseconds (0: none).
	lp       *loop
	fd       int
	t        *task
	rdl, wdl int64
	// drained: the last read found the socket empty and no readable event
	// arrived since, so the next read waits for one first instead of
	// issuing a read(2) that would only return EAGAIN.
	// In a tunnel, rt reads and wt writes instead of t; t2 is the
	// tunnel's second task, which dispatch must also consider.
	rt, wt, t2 *task
	drained    bool
	hup        bool // the peer closed or the socket failed: never drained
}

func (s *sockIO) init(nc net.Conn) {
	s.nc = nc
	if !rawSyscalls {
		return
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	s.rc = rc
	s.readFn = s.doRead
	s.writeFn = s.doWrite
}

// Read reads into p like net.Conn.Read.
func (s *sockIO) Read(p []byte) (int, error) {
	if s.lp != nil {
		return s.loopRead(p)
	}
	if s.rc == nil {
		return s.nc.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	s.buf, s.n, s.err = p, 0, nil
	err := s.rc.Read(s.readFn)
	s.buf = nil
	if err != nil {
		return 0, wrapNetErr("read", s.nc, err)
	}
	if s.err != nil {
		return s.n, wrapNetErr("read", s.nc, s.err)
	}
	return s.n, nil
}

// Write writes all of p like net.Conn.Write.
func (s *sockIO) Write(p []byte) (int, error) {
	if s.lp != nil {
		return s.loopWrite(p)
	}
	if s.rc == nil {
		return s.nc.Write(p)
	}
	s.buf, s.off, s.err = p, 0, nil
	err := s.rc.Write(s.writeFn)
	n := s.off
	s.buf = nil
	if err != nil {
		return n, wrapNetErr("write", s.nc, err)
	}
	if s.err != nil {
		return n, wrapNetErr("write", s.nc, s.err)
	}
	return n, nil
}

func (s *sockIO) doRead(fd uintptr) bool {
	for {
		n, errno := sysRead(fd, s.buf)
		switch errno {
		case 0:
			s.n = n
			if n == 0 {
				s.err = io.EOF
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			s.err = errno
			return true
		}
	}
}

func (s *sockIO) doWrite(fd uintptr) bool {
	for s.off < len(s.buf) {
		n, errno := sysWrite(fd, s.buf[s.off:])
		switch errno {
		case 0:
			s.off += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			s.err = errno
			return true
		}
	}
	return true
}

// wrapNetErr makes errors look like net.Conn's, keeping io.EOF bare.
func wrapNetErr(op string, nc net.Conn, err error) error {
	if err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: err}
}
