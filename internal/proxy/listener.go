package proxy

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// listener owns one bound socket, its accept loop and its client
// connections.
type listener struct {
	p        *Proxy
	addr     string
	ln       net.Listener
	lf       *os.File     // duplicate of ln's socket the event loops accept on, or nil
	lfd      uintptr      // lf's descriptor
	loopRefs atomic.Int32 // loops still accepting on lf
	cfg      atomic.Pointer[listenerConfig]
	draining atomic.Bool
	eng      engine        // serves the listener; set by start
	done     chan struct{} // closed when the accept loop and all conns end
	// unbound is closed once no socket of the listener is open any more
	// (its port is free again); unbindOnce closes it.
	unbound    chan struct{}
	unbindOnce sync.Once

	wg sync.WaitGroup // accept loop and connections

	// mu guards the fields that follow.
	mu    sync.Mutex
	conns map[*conn]struct{}
}

func newListener(p *Proxy, addr string, ln net.Listener) *listener {
	return &listener{p: p, addr: addr, ln: ln, done: make(chan struct{}), unbound: make(chan struct{}), conns: map[*conn]struct{}{}}
}

// start has the proxy's engine accept on the listener, or the goroutine
// engine when the event loops cannot take it; the proxy's wait group
// covers the accept work and the connections.
func (l *listener) start() {
	l.wg.Add(1)
	l.eng = l.p.engine
	if err := l.eng.serve(l); err != nil {
		l.p.log.Warn("listener without event loops", "listener", l.addr, "err", err)
		l.eng = goroutineEngine{}
		l.eng.serve(l)
	}
	l.p.wg.Add(1)
	go func() {
		defer l.p.wg.Done()
		l.wg.Wait()
		close(l.done)
	}()
}

func (l *listener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.draining.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary errors such as EMFILE: back off and retry.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff < time.Second {
				backoff *= 2
			}
			l.p.log.Warn("accept failed", "listener", l.addr, "err", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := newConn(l, nc)
		if !c.admit() {
			nc.Close()
			c.countClosed()
			continue
		}
		// One accepted as the listener began draining is served like
		// the other draining connections, not reset; acceptLoop's own
		// count keeps the wait group above zero meanwhile.
		l.mu.Lock()
		l.conns[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go c.serve()
	}
}

func (l *listener) remove(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.wg.Done()
}

// closeGracefully stops accepting and asks idle connections to close;
// busy connections close after their current request, and WebSockets run
// until they end. It does not wait.
func (l *listener) closeGracefully() {
	l.mu.Lock()
	l.draining.Store(true)
	l.mu.Unlock()
	l.ln.Close()
	if l.lf == nil {
		// Only ln was open: its port is free now.
		l.markUnbound()
	}
	l.eng.stopAccepting(l)
	l.p.wg.Add(1)
	go func() {
		defer l.p.wg.Done()
		if d := l.p.drainLinger; d > 0 {
			// Busy connections linger for their next request first
			// (see Options.DrainLinger); idle ones close after.
			t := time.NewTimer(d)
			select {
			case <-l.done:
				t.Stop()
				return
			case <-t.C:
			}
		}
		wait := time.Millisecond
		for {
			l.mu.Lock()
			for c := range l.conns {
				c.wakeIfIdle()
			}
			l.mu.Unlock()
			select {
			case <-l.done:
				return
			case <-time.After(wait):
			}
			if wait < 100*time.Millisecond {
				wait *= 2
			}
		}
	}()
}

// wait blocks until every connection has ended or ctx is done.
func (l *listener) wait(ctx context.Context) error {
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeAll force-closes every connection.
// markUnbound records that the listener's last socket is closed.
func (l *listener) markUnbound() { l.unbindOnce.Do(func() { close(l.unbound) }) }

// awaitUnbound waits, at most max, until the listener's sockets are closed
// (the event loops close their duplicate asynchronously), so that a
// listener removed by Update has freed its port when Update returns.
func (l *listener) awaitUnbound(max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-l.unbound:
	case <-t.C:
		l.p.log.Warn("listener still bound after close", "listener", l.addr, "waited", max)
	}
}

func (l *listener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.forceClose()
	}
}
