package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// upConn is a keep-alive connection to a target.
type upConn struct {
	nc        net.Conn
	io        sockIO
	lt        *liveTarget
	rbuf      []byte
	r, w      int
	wbuf      []byte
	idleSince time.Time
	rdl, wdl  time.Time // deadlines currently set
	reused    bool
	head      []byte // copy of the current response head
}

// maxIdlePerTarget bounds a target's pool of idle connections.
const maxIdlePerTarget = 512

// pool is a target's idle keep-alive connections, newest last.
type pool struct {
	p  *Proxy
	lt *liveTarget

	// mu guards the fields that follow.
	mu      sync.Mutex
	idle    []*upConn
	retired bool
}

func (pl *pool) init(p *Proxy, lt *liveTarget) { pl.p, pl.lt = p, lt }

// get returns the most recently used idle connection that is not too old
// to trust, or nil.
func (pl *pool) get(now time.Time) *upConn {
	// Keep a margin so a connection is never used right at the target's
	// own keep-alive timeout.
	maxAge := pl.p.upIdle - pl.p.upIdle/8
	for {
		pl.mu.Lock()
		n := len(pl.idle)
		if n == 0 {
			pl.mu.Unlock()
			return nil
		}
		uc := pl.idle[n-1]
		pl.idle[n-1] = nil
		pl.idle = pl.idle[:n-1]
		pl.mu.Unlock()
		if now.Sub(uc.idleSince) < maxAge {
			uc.reused = true
			return uc
		}
		uc.close()
	}
}

// put returns a connection whose last response was read completely.
func (pl *pool) put(uc *upConn, now time.Time) {
	uc.idleSince = now
	pl.mu.Lock()
	if pl.retired || len(pl.idle) >= maxIdlePerTarget {
		pl.mu.Unlock()
		uc.close()
		return
	}
	pl.idle = append(pl.idle, uc)
	pl.mu.Unlock()
}

// reap closes connections idle longer than the upstream idle timeout.
func (pl *pool) reap(now time.Time) {
	var old []*upConn
	pl.mu.Lock()
	i := 0
	for ; i < len(pl.idle); i++ {
		if now.Sub(pl.idle[i].idleSince) < pl.p.upIdle-pl.p.upIdle/8 {
			break
		}
	}
	if i > 0 {
		old = append(old, pl.idle[:i]...)
		n := copy(pl.idle, pl.idle[i:])
		for j := n; j < len(pl.idle); j++ {
			pl.idle[j] = nil
		}
		pl.idle = pl.idle[:n]
	}
	pl.mu.Unlock()
	for _, uc := range old {
		uc.close()
	}
}

// retire closes idle connections and refuses new ones: the target left
// the configuration. In-flight requests finish on their connections.
func (pl *pool) retire() {
	pl.mu.Lock()
	idle := pl.idle
	pl.idle = nil
	pl.retired = true
	pl.mu.Unlock()
	for _, uc := range idle {
		uc.close()
	}
}

// dial opens a new connection to the target within ConnectTimeout.
func (pl *pool) dial(timeout time.Duration) (*upConn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.Dial("tcp", pl.lt.addr)
	if err != nil {
		return nil, err
	}
	pl.p.activeConns.Add(1)
	uc := &upConn{nc: nc, lt: pl.lt, rbuf: make([]byte, 16<<10)}
	uc.io.init(nc)
	return uc, nil
}

func (uc *upConn) close() {
	if uc.nc != nil {
		uc.nc.Close()
		uc.nc = nil
		uc.lt.pool.p.activeConns.Add(-1)
	}
}

// setReadDeadline moves the read deadline to now+d unless the current
// one is within slack of it, which saves a timer update per request.
func (uc *upConn) setReadDeadline(now time.Time, d, slack time.Duration) {
	want := now.Add(d)
	if diff := want.Sub(uc.rdl); diff > slack || diff < -slack {
		uc.rdl = want
		uc.nc.SetReadDeadline(want)
	}
}

func (uc *upConn) setWriteDeadline(now time.Time, d, slack time.Duration) {
	want := now.Add(d)
	if diff := want.Sub(uc.wdl); diff > slack || diff < -slack {
		uc.wdl = want
		uc.nc.SetWriteDeadline(want)
	}
}

// errHeadTooLarge is a target's response head over maxResponseHead.
var errHeadTooLarge = errors.New("response head too large")

// readHead reads until a complete response head is buffered and copies it
// into uc.head. got reports whether any byte arrived.
func (uc *upConn) readHead() (got bool, err error) {
	for {
		if uc.w > uc.r {
			got = true
			if i := headEnd(uc.rbuf[uc.r:uc.w]); i >= 0 {
				n := i + 4
				uc.head = append(uc.head[:0], uc.rbuf[uc.r:uc.r+n]...)
				uc.r += n
				return true, nil
			}
			if uc.w-uc.r > maxResponseHead {
				return true, errHeadTooLarge
			}
		}
		if err := uc.fill(); err != nil {
			return got, err
		}
	}
}

// fill reads more bytes, compacting or growing the buffer as needed.
func (uc *upConn) fill() error {
	if uc.r == uc.w {
		uc.r, uc.w = 0, 0
	}
	if uc.w == len(uc.rbuf) {
		if uc.r > 0 {
			uc.w = copy(uc.rbuf, uc.rbuf[uc.r:uc.w])
			uc.r = 0
		} else {
			nb := make([]byte, 2*len(uc.rbuf))
			copy(nb, uc.rbuf[:uc.w])
			uc.rbuf = nb
		}
	}
	n, err := uc.io.Read(uc.rbuf[uc.w:])
	uc.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}
