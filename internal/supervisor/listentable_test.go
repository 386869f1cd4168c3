package supervisor

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestListenTableSharesDumps: readers within maxAge of a dump share it,
// readers that arrive together share one, and a reader after maxAge gets
// a new one.
func TestListenTableSharesDumps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ap := netip.MustParseAddrPort("127.16.0.2:3000")
		dumps := 0
		tab := newListenTable(time.Millisecond)
		tab.dump = func([]listenSock) ([]listenSock, error) {
			dumps++
			return []listenSock{
				{addr: netip.MustParseAddrPort("127.16.0.2:3000"), inode: 11},
				{addr: netip.MustParseAddrPort("0.0.0.0:3000"), inode: 12},
				{addr: netip.MustParseAddrPort("127.16.0.3:3000"), inode: 13},
				{addr: netip.MustParseAddrPort("127.16.0.2:3001"), inode: 14},
			}, nil
		}
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				got, err := tab.inodes(ap)
				if err != nil || !maps.Equal(got, map[uint64]bool{11: true, 12: true}) {
					t.Errorf("inodes = %v, %v; want 11 and 12", got, err)
				}
			})
		}
		wg.Wait()
		if dumps != 1 {
			t.Errorf("50 readers at once made %d dumps, want 1", dumps)
		}
		time.Sleep(time.Millisecond)
		tab.inodes(ap)
		if dumps != 1 {
			t.Errorf("a reader maxAge after the dump made a new one (%d dumps)", dumps)
		}
		time.Sleep(time.Microsecond)
		tab.inodes(ap)
		if dumps != 2 {
			t.Errorf("a reader after maxAge made %d dumps in all, want 2", dumps)
		}
	})
}

// TestListenTableFailedDumpIsNotKept: a dump that fails is reported and
// the next reader asks again.
func TestListenTableFailedDumpIsNotKept(t *testing.T) {
	tab := newListenTable(time.Hour)
	fail := errors.New("sock_diag: permission denied")
	tab.dump = func([]listenSock) ([]listenSock, error) { return nil, fail }
	if _, err := tab.inodes(netip.MustParseAddrPort("127.0.0.1:1")); !errors.Is(err, fail) {
		t.Fatalf("inodes error = %v, want %v", err, fail)
	}
	tab.dump = func([]listenSock) ([]listenSock, error) { return nil, nil }
	if got, err := tab.inodes(netip.MustParseAddrPort("127.0.0.1:1")); err != nil || len(got) != 0 {
		t.Fatalf("after a failed dump, inodes = %v, %v; want none and no error", got, err)
	}
}

// TestTableProbeEnvOnRealSockets: the table's probe environment reaches a
// real listener, owns it for this process, reports a closed port as not
// listening, and connects instead where the kernel cannot be asked.
func TestTableProbeEnvOnRealSockets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ap := netip.MustParseAddrPort(addr)
	if _, err := diagListenInodes(ap); err != nil {
		t.Skipf("sock_diag unavailable: %v", err)
	}
	tab := newListenTable(0)
	env := tableProbeEnv(tab)
	ctx := context.Background()
	if err := env.dial(ctx, addr); err != nil {
		t.Errorf("dial %s while it listens: %v", addr, err)
	}
	if c := env.check(addr, owner{pid: os.Getpid(), pgid: -1}); !c.own {
		t.Errorf("check %s for this process = %+v, want own", addr, c)
	}
	ln.Close()
	time.Sleep(time.Millisecond) // past maxAge 0
	if err := env.dial(ctx, addr); !errors.Is(err, errNotListening) {
		t.Errorf("dial %s after close = %v, want %v", addr, err, errNotListening)
	}

	// Without sock_diag: a real connection decides.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	go func() {
		for {
			c, err := ln2.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	tab.dump = func([]listenSock) ([]listenSock, error) { return nil, errSockDiagTest }
	if err := env.dial(ctx, ln2.Addr().String()); err != nil {
		t.Errorf("dial %s without sock_diag: %v", ln2.Addr(), err)
	}
	if err := env.dial(ctx, addr); err == nil || errors.Is(err, errNotListening) {
		t.Errorf("dial closed %s without sock_diag = %v, want a connection error", addr, err)
	}
}

var errSockDiagTest = errors.New("sock_diag unavailable (test)")

// diagVariant is one way to dump the host's listeners, for
// BenchmarkProbeTry.
type diagVariant struct {
	name string
	d    *diagSocket
	keep bool // the socket stays open from dump to dump
}

// BenchmarkProbeTry compares one readiness try on an address nobody
// listens on yet: a connection attempt (refused); a sock_diag dump of
// every listener, as before (two walks of the listening hash, a new
// socket) and as the watcher makes it (one walk, its socket kept), and
// the two steps in between; the watcher's check of fifty waiters (a dump
// and fifty tests); and a read of a shared table that fifty probes would
// share (at most one dump per maxAge between them).
func BenchmarkProbeTry(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ap := netip.MustParseAddrPort(addr)
	ctx := context.Background()
	b.Run("connect", func(b *testing.B) {
		for b.Loop() {
			if dial(ctx, addr) == nil {
				b.Fatal("connected to a closed port")
			}
		}
	})
	for _, v := range diagVariants() {
		b.Run(v.name, func(b *testing.B) {
			defer v.d.close()
			var socks []listenSock
			for b.Loop() {
				var err error
				if socks, err = v.d.listeners(0, socks[:0]); err != nil {
					b.Skip(err)
				}
				if anyAccepts(socks, ap) {
					b.Fatal("a closed port listens")
				}
				if !v.keep {
					v.d.close()
				}
			}
		})
	}
	b.Run("watcher-check-50-waiters", func(b *testing.B) {
		tab := newListenTable(listenTableMaxAge)
		if _, err := tab.listening(ap); err != nil {
			b.Skip(err)
		}
		now := time.Now()
		tab.mu.Lock()
		defer tab.mu.Unlock()
		for range 50 {
			tab.waiters = append(tab.waiters, &listenWaiter{ap: ap, since: now, delay: probeFirstDelay, due: now, done: make(chan error, 1)})
		}
		tab.watching = true // the socket stays open, as while the watcher runs
		for b.Loop() {
			tab.checkLocked(time.Now())
			if len(tab.waiters) != 50 {
				b.Fatalf("%d waiters left after a check, want 50", len(tab.waiters))
			}
		}
		tab.watching, tab.waiters = false, nil
		tab.releaseIdleLocked()
	})
	b.Run("shared", func(b *testing.B) {
		tab := newListenTable(listenTableMaxAge)
		for b.Loop() {
			if ok, err := tab.listening(ap); err != nil {
				b.Skip(err)
			} else if ok {
				b.Fatal("a closed port listens")
			}
		}
	})
}
