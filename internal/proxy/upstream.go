package proxy

import (
	"errors"
	"github.com/madang-dev/madang/internal/http1"
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

// pool is a target's idle keep-alive connections, newest last, in one
// slot per event loop (a loop's connections are registered in its epoll)
// plus slot 0 for goroutine-served connections.
type pool struct {
	p  *Proxy
	lt *liveTarget

	// mu guards the fields that follow.
	mu      sync.Mutex
	slots   [][]*upConn
	retired bool
}

func (pl *pool) init(p *Proxy, lt *liveTarget) {
	pl.p, pl.lt = p, lt
	pl.slots = make([][]*upConn, 1+len(p.loops))
}

// get returns the most recently used idle connection of lp's slot that is
// not too old to trust, or nil. A loop connection is given to task t.
func (pl *pool) get(now time.Time, lp *loop, t *task) *upConn {
	// Keep a margin so a connection is never used right at the target's
	// own keep-alive timeout.
	maxAge := pl.p.upIdle - pl.p.upIdle/8
	slot := poolSlot(lp)
	for {
		pl.mu.Lock()
		idle := pl.slots[slot]
		n := len(idle)
		if n == 0 {
			pl.mu.Unlock()
			return nil
		}
		uc := idle[n-1]
		idle[n-1] = nil
		pl.slots[slot] = idle[:n-1]
		pl.mu.Unlock()
		uc.io.t = t
		if now.Sub(uc.idleSince) < maxAge {
			uc.reused = true
			return uc
		}
		uc.close()
	}
}

// put returns a connection whose last response was read completely. It
// runs on the connection's loop, if it has one.
func (pl *pool) put(uc *upConn, now time.Time) {
	uc.idleSince = now
	uc.io.t = nil
	slot := poolSlot(uc.io.lp)
	pl.mu.Lock()
	if pl.retired || len(pl.slots[slot]) >= maxIdlePerTarget {
		pl.mu.Unlock()
		uc.close()
		return
	}
	pl.slots[slot] = append(pl.slots[slot], uc)
	pl.mu.Unlock()
}

// reap closes connections idle longer than the upstream idle timeout.
func (pl *pool) reap(now time.Time) {
	var old []*upConn
	pl.mu.Lock()
	for s, idle := range pl.slots {
		i := 0
		for ; i < len(idle); i++ {
			if now.Sub(idle[i].idleSince) < pl.p.upIdle-pl.p.upIdle/8 {
				break
			}
		}
		if i > 0 {
			old = append(old, idle[:i]...)
			n := copy(idle, idle[i:])
			for j := n; j < len(idle); j++ {
				idle[j] = nil
			}
			pl.slots[s] = idle[:n]
		}
	}
	pl.mu.Unlock()
	for _, uc := range old {
		uc.closeIdle()
	}
}

// retire closes idle connections and refuses new ones: the target left
// the configuration. In-flight requests finish on their connections.
func (pl *pool) retire() {
	pl.mu.Lock()
	slots := pl.slots
	pl.slots = make([][]*upConn, len(slots))
	pl.retired = true
	pl.mu.Unlock()
	for _, idle := range slots {
		for _, uc := range idle {
			uc.closeIdle()
		}
	}
}

// dial opens a new connection to the target within timeout: on event
// loop lp for its task t, or with a goroutine-style net.Conn when lp is
// nil.
func (pl *pool) dial(lp *loop, t *task, timeout time.Duration) (*upConn, error) {
	uc := &upConn{lt: pl.lt}
	if lp != nil {
		uc.io.lp, uc.io.t = lp, t
		if err := lp.dial(&uc.io, pl.lt.ap, timeout); err != nil {
			return nil, err
		}
	} else {
		d := net.Dialer{Timeout: timeout}
		nc, err := d.Dial("tcp", pl.lt.addr)
		if err != nil {
			return nil, err
		}
		uc.nc = nc
		uc.io.init(nc)
	}
	pl.p.activeConns.Add(1)
	pl.lt.conns.Add(1)
	uc.rbuf = make([]byte, 16<<10)
	return uc, nil
}

// close closes the connection; on its loop, if it has one.
func (uc *upConn) close() {
	switch {
	case uc.io.lp != nil:
		if uc.io.fd >= 0 {
			uc.io.lp.closeFD(uc.io.fd)
			uc.io.fd = -1
			uc.lt.pool.p.activeConns.Add(-1)
			uc.lt.conns.Add(-1)
		}
	case uc.nc != nil:
		uc.nc.Close()
		uc.nc = nil
		uc.lt.pool.p.activeConns.Add(-1)
		uc.lt.conns.Add(-1)
	}
}

// closeIdle closes an idle connection from any goroutine.
func (uc *upConn) closeIdle() {
	if lp := uc.io.lp; lp != nil {
		lp.post(uc.close)
		return
	}
	uc.close()
}

// setReadDeadline moves the read deadline to now+d unless the current
// one is within slack of it, which saves a timer update per request.
func (uc *upConn) setReadDeadline(now time.Time, d, slack time.Duration) {
	want := now.Add(d)
	if uc.io.lp != nil {
		uc.io.rdl = want.UnixNano()
		return
	}
	if diff := want.Sub(uc.rdl); diff > slack || diff < -slack {
		uc.rdl = want
		uc.nc.SetReadDeadline(want)
	}
}

func (uc *upConn) setWriteDeadline(now time.Time, d, slack time.Duration) {
	want := now.Add(d)
	if uc.io.lp != nil {
		uc.io.wdl = want.UnixNano()
		return
	}
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
			if i := http1.HeadEnd(uc.rbuf[uc.r:uc.w]); i >= 0 {
				n := i + 4
				uc.head = append(uc.head[:0], uc.rbuf[uc.r:uc.r+n]...)
				uc.r += n
				return true, nil
			}
			if uc.w-uc.r > http1.MaxResponseHead {
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
