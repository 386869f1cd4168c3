package supervisor

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// listenOn listens on addr, skipping the test where the host cannot
// (no IPv6 loopback).
func listenOn(t *testing.T, addr string) (net.Listener, netip.AddrPort) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, netip.MustParseAddrPort(ln.Addr().String())
}

// findSock returns the socket in socks bound to ap.
func findSock(socks []listenSock, ap netip.AddrPort) (listenSock, bool) {
	for _, s := range socks {
		if s.addr == ap {
			return s, true
		}
	}
	return listenSock{}, false
}

// TestDiagOneWalk: one TCPDIAG_GETSOCK request (one walk of the
// listening hash, one sequence number) returns the IPv4 and the IPv6
// listeners, with the inodes /proc/net shows, on a socket kept open from
// dump to dump; asked for one port it returns that port's only.
func TestDiagOneWalk(t *testing.T) {
	_, ap4 := listenOn(t, "127.0.0.1:0")
	_, ap6 := listenOn(t, "[::1]:0")
	d := newDiagSocket(nil)
	defer d.close()
	socks, err := d.listeners(0, nil)
	if err != nil {
		t.Skipf("sock_diag unavailable: %v", err)
	}
	if d.perFamily {
		t.Errorf("the kernel refused the one-walk request (TCPDIAG_GETSOCK, AF_UNSPEC): dumps take a walk per family")
	}
	if d.seq != 1 {
		t.Errorf("a dump took %d requests, want 1", d.seq)
	}
	for _, ap := range []netip.AddrPort{ap4, ap6} {
		s, ok := findSock(socks, ap)
		if !ok {
			t.Errorf("the one-walk dump has no listener on %s (%d listeners)", ap, len(socks))
			continue
		}
		want, err := procListenInodes(procRoot, ap)
		if err != nil {
			t.Fatal(err)
		}
		if !want[s.inode] {
			t.Errorf("%s: inode %d, /proc/net says %v", ap, s.inode, want)
		}
	}

	fd := d.fd
	socks, err = d.listeners(ap6.Port(), socks[:0])
	if err != nil {
		t.Fatal(err)
	}
	if d.fd != fd || d.seq != 2 {
		t.Errorf("second dump: socket %d, %d requests in all; want the kept socket %d and 2", d.fd, d.seq, fd)
	}
	if _, ok := findSock(socks, ap6); !ok {
		t.Errorf("the dump of port %d has no listener on %s", ap6.Port(), ap6)
	}
	for _, s := range socks {
		if s.addr.Port() != ap6.Port() {
			t.Errorf("the dump of port %d returned %s", ap6.Port(), s.addr)
		}
	}
}

// TestDiagRefusedWalkFallsBack: where the kernel refuses the one-walk
// request (here: a message type it does not know), a dump asks per
// family, finds the listeners of both, and remembers to ask per family
// (two requests a dump) from then on, for one port too.
func TestDiagRefusedWalkFallsBack(t *testing.T) {
	_, ap4 := listenOn(t, "127.0.0.1:0")
	_, ap6 := listenOn(t, "[::1]:0")
	d := newDiagSocket(nil)
	defer d.close()
	d.walkType = tcpDiagGetSock - 1 // not a sock_diag request: EINVAL
	socks, err := d.listeners(0, nil)
	if err != nil {
		t.Skipf("sock_diag unavailable: %v", err)
	}
	if !d.perFamily {
		t.Error("after a refused one-walk request perFamily is not set")
	}
	for _, ap := range []netip.AddrPort{ap4, ap6} {
		if _, ok := findSock(socks, ap); !ok {
			t.Errorf("the per-family dump has no listener on %s", ap)
		}
	}
	seq := d.seq
	socks, err = d.listeners(ap4.Port(), socks[:0])
	if err != nil {
		t.Fatal(err)
	}
	if n := d.seq - seq; n != 2 {
		t.Errorf("the dump after the refusal took %d requests, want 2 (one per family, no new one-walk try)", n)
	}
	if _, ok := findSock(socks, ap4); !ok {
		t.Errorf("the per-family dump of port %d has no listener on %s", ap4.Port(), ap4)
	}
	for _, s := range socks {
		if s.addr.Port() != ap4.Port() {
			t.Errorf("the per-family dump of port %d returned %s", ap4.Port(), s.addr)
		}
	}
}

// TestAwaitRealListener: on the host's sockets, await returns when an
// app starts to listen, on the watcher's kept socket, which it closes
// when the last waiter is gone; it does not return for a port nobody
// listens on.
func TestAwaitRealListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ap := netip.MustParseAddrPort(addr)
	ln.Close()
	if _, err := diagListenInodes(ap); err != nil {
		t.Skipf("sock_diag unavailable: %v", err)
	}
	// newListenTable's wiring, with the socket in reach.
	d := newDiagSocket(nil)
	tab := newListenTable(listenTableMaxAge)
	tab.dump = func(into []listenSock) ([]listenSock, error) { return d.listeners(0, into) }
	tab.release = d.close
	fdOpen := func() bool {
		tab.mu.Lock()
		defer tab.mu.Unlock()
		return d.fd >= 0
	}

	type started struct {
		ln     net.Listener
		err    error
		fdOpen bool // while the waiter waited
	}
	app := make(chan started, 1)
	go func() {
		// Once the waiter waits, and a few of the watcher's dumps later.
		for {
			tab.mu.Lock()
			n := len(tab.waiters)
			tab.mu.Unlock()
			if n > 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		open := fdOpen()
		ln, err := net.Listen("tcp", addr)
		app <- started{ln, err, open}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = tab.await(ctx, ap)
	st := <-app
	if st.err != nil {
		t.Fatalf("listen again on %s: %v", addr, st.err)
	}
	defer st.ln.Close()
	if err != nil {
		t.Fatalf("await %s = %v, want nil once it listens", addr, err)
	}
	if !st.fdOpen {
		t.Error("the watcher's socket was closed while a waiter waited")
	}
	if c := tableProbeEnv(tab).check(addr, owner{pid: os.Getpid(), pgid: -1}); !c.own {
		t.Errorf("check %s after await = %+v, want own", addr, c)
	}

	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := netip.MustParseAddrPort(ln2.Addr().String())
	ln2.Close()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if err := tab.await(ctx2, closed); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("await %s, where nobody listens = %v, want %v", closed, err, context.DeadlineExceeded)
	}
	for deadline := time.Now().Add(5 * time.Second); watchers(tab) != 0 || fdOpen(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after the last await: %d watchers, socket open %v; want none and closed", watchers(tab), fdOpen())
		}
	}
}

// diagVariants are the sock_diag dumps BenchmarkProbeTry compares: one
// walk of the listening hash or two (the SOCK_DIAG_BY_FAMILY requests of
// before), on a new socket each time or on one kept open.
func diagVariants() []diagVariant {
	var out []diagVariant
	for _, walk := range []struct {
		name      string
		perFamily bool
	}{{"two-walks", true}, {"one-walk", false}} {
		for _, keep := range []bool{false, true} {
			d := newDiagSocket(nil)
			d.perFamily = walk.perFamily
			name := "dump/" + walk.name + "/new-socket"
			if keep {
				name = "dump/" + walk.name + "/kept-socket"
			}
			out = append(out, diagVariant{name: name, d: d, keep: keep})
		}
	}
	return out
}
