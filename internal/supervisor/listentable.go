package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// A readiness probe used to learn that its app listens by connecting to
// it: a socket, a SYN answered by a RST through loopback's softirq, a
// close, an epoll registration and removal — about 1.5 ms of CPU per
// instance over a start of 50 at once, more than a fifth of the daemon's
// share. The listen table asks the kernel for every TCP listener of the
// host in one sock_diag dump and lets all waiting probes read it, so
// fifty probes waiting together cost one dump per interval, not fifty
// connections.

// listenSock is one TCP socket in the LISTEN state.
type listenSock struct {
	addr  netip.AddrPort
	inode uint64
}

// acceptsAddr reports whether s accepts connections to ap: bound to its
// address, or to the wildcard address of its family, on its port.
func (s listenSock) acceptsAddr(ap netip.AddrPort) bool {
	return s.addr.Port() == ap.Port() && accepts(s.addr.Addr(), ap.Addr())
}

// acceptingInodes returns the inodes of the sockets in socks that accept
// connections to ap.
func acceptingInodes(socks []listenSock, ap netip.AddrPort) map[uint64]bool {
	out := map[uint64]bool{}
	for _, s := range socks {
		if s.acceptsAddr(ap) {
			out[s.inode] = true
		}
	}
	return out
}

// listenTable is a view of the host's TCP listeners, dumped again when a
// reader finds it older than maxAge. Readers that arrive during a dump
// wait for it and share it. Probes that wait for a listener (await) are
// served by one watcher goroutine that dumps for all of them (see
// listenwatch.go). Its methods are safe for concurrent use.
type listenTable struct {
	maxAge time.Duration
	// dump appends the host's listeners to into (a diagSocket's
	// listeners; tests replace it).
	dump func(into []listenSock) ([]listenSock, error)
	// release closes what dump keeps open between dumps (the netlink
	// socket); it is called whenever no watcher runs, so that an idle
	// table holds no descriptor. Nil: nothing to close.
	release func()

	// mu guards the fields that follow, and is held during a dump.
	mu    sync.Mutex
	at    time.Time // of the last dump; zero before the first
	socks []listenSock
	// waiters are the awaits the watcher serves, in no order.
	waiters []*listenWaiter
	// watching is set while the watcher goroutine runs (from the first
	// waiter until it finds none left).
	watching bool
	// next is when the watcher's timer fires, as it last set it.
	next time.Time
	// kick wakes the watcher to look at the waiters again (a waiter due
	// before next, or the last one gone); it holds at most one wake-up.
	kick chan struct{}
}

// newListenTable returns a table of the host's listeners, at most maxAge
// old when read.
func newListenTable(maxAge time.Duration) *listenTable {
	d := newDiagSocket(nil)
	return &listenTable{
		maxAge:  maxAge,
		dump:    func(into []listenSock) ([]listenSock, error) { return d.listeners(0, into) },
		release: d.close,
		kick:    make(chan struct{}, 1),
	}
}

// inodes returns the inodes of the listeners that accept connections to
// ap, from a dump at most maxAge old. An error means the kernel could not
// be asked; the caller falls back to connecting.
func (t *listenTable) inodes(ap netip.AddrPort) (map[uint64]bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.releaseIdleLocked()
	if err := t.refreshLocked(); err != nil {
		return nil, err
	}
	return acceptingInodes(t.socks, ap), nil
}

// listening reports whether a listener accepts connections to ap, as
// inodes does, without making a set.
func (t *listenTable) listening(ap netip.AddrPort) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.releaseIdleLocked()
	if err := t.refreshLocked(); err != nil {
		return false, err
	}
	return anyAccepts(t.socks, ap), nil
}

// anyAccepts reports whether a socket in socks accepts connections to ap.
func anyAccepts(socks []listenSock, ap netip.AddrPort) bool {
	for _, s := range socks {
		if s.acceptsAddr(ap) {
			return true
		}
	}
	return false
}

// refreshLocked dumps the listeners again if the table is older than
// maxAge.
func (t *listenTable) refreshLocked() error {
	if !t.at.IsZero() && time.Since(t.at) <= t.maxAge {
		return nil
	}
	return t.dumpLocked()
}

// dumpLocked dumps the listeners, whatever the table's age. A failed
// dump empties the table, so that the next reader asks again.
func (t *listenTable) dumpLocked() error {
	socks, err := t.dump(t.socks[:0])
	if err != nil {
		t.socks, t.at = t.socks[:0], time.Time{}
		return err
	}
	t.socks, t.at = socks, time.Now()
	return nil
}

// releaseIdleLocked closes the dump's socket unless the watcher runs
// (and will dump again within probeMaxDelay).
func (t *listenTable) releaseIdleLocked() {
	if !t.watching && t.release != nil {
		t.release()
	}
}

// errNotListening means no socket listens on a probed address.
var errNotListening = errors.New("nothing listens there")

// tableProbeEnv probes through t: an address is reached when a listener
// in the table accepts it (awaited together with every other waiting
// probe, on the watcher's dumps), and owned when its holder is in the
// app's process tree (checkListenerWith, on the same dump). Where t
// cannot ask the kernel, or addr is not an IP address and port, it
// connects and reads the socket tables instead.
func tableProbeEnv(t *listenTable) probeEnv {
	return probeEnv{
		await: func(ctx context.Context, addr string) error {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return fmt.Errorf("listen table: %w", err)
			}
			return t.await(ctx, ap)
		},
		dial: func(ctx context.Context, addr string) error {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return dial(ctx, addr)
			}
			ok, err := t.listening(ap)
			switch {
			case err != nil:
				return dial(ctx, addr)
			case !ok:
				return errNotListening
			}
			return nil
		},
		check: func(addr string, o owner) listenerCheck {
			return checkListenerWith(procRoot, addr, o, func(ap netip.AddrPort) (map[uint64]bool, error) {
				if inodes, err := t.inodes(ap); err == nil {
					return inodes, nil
				}
				return listenInodes(procRoot, ap)
			})
		},
	}
}
