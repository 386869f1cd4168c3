package supervisor

import (
	"context"
	"errors"
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

// acceptingInodes returns the inodes of the sockets in socks that accept
// connections to ap: bound to its address, or to the wildcard address of
// its family, on its port.
func acceptingInodes(socks []listenSock, ap netip.AddrPort) map[uint64]bool {
	out := map[uint64]bool{}
	for _, s := range socks {
		if s.addr.Port() == ap.Port() && accepts(s.addr.Addr(), ap.Addr()) {
			out[s.inode] = true
		}
	}
	return out
}

// listenTable is a view of the host's TCP listeners, dumped again when a
// reader finds it older than maxAge. Readers that arrive during a dump
// wait for it and share it. Its methods are safe for concurrent use.
type listenTable struct {
	maxAge time.Duration
	// dump lists the host's listeners (diagListeners; tests replace it).
	dump func() ([]listenSock, error)

	// mu guards the fields that follow, and is held during a dump.
	mu    sync.Mutex
	at    time.Time // of the last dump; zero before the first
	socks []listenSock
}

// newListenTable returns a table of the host's listeners, at most maxAge
// old when read.
func newListenTable(maxAge time.Duration) *listenTable {
	return &listenTable{
		maxAge: maxAge,
		dump:   func() ([]listenSock, error) { return diagListeners(0, nil) },
	}
}

// inodes returns the inodes of the listeners that accept connections to
// ap, from a dump at most maxAge old. An error means the kernel could not
// be asked; the caller falls back to connecting.
func (t *listenTable) inodes(ap netip.AddrPort) (map[uint64]bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.at.IsZero() || time.Since(t.at) > t.maxAge {
		socks, err := t.dump()
		if err != nil {
			return nil, err
		}
		t.socks, t.at = socks, time.Now()
	}
	return acceptingInodes(t.socks, ap), nil
}

// errNotListening means no socket listens on a probed address.
var errNotListening = errors.New("nothing listens there")

// tableProbeEnv probes through t: an address is reached when a listener
// in the table accepts it, and owned when its holder is in the app's
// process tree (checkListenerWith, on the same dump). Where t cannot ask
// the kernel it connects and reads the socket tables instead.
func tableProbeEnv(t *listenTable) probeEnv {
	return probeEnv{
		dial: func(ctx context.Context, addr string) error {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return dial(ctx, addr)
			}
			inodes, err := t.inodes(ap)
			switch {
			case err != nil:
				return dial(ctx, addr)
			case len(inodes) == 0:
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
