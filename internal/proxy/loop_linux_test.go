//go:build linux && !386

package proxy

import (
	"bufio"
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestTimerHeap(t *testing.T) {
	tests := []struct {
		name   string
		arm    []int64 // deadlines, one task each
		rearm  map[int]int64
		remove []int
		want   []int // task indexes in firing order
	}{
		{name: "in order", arm: []int64{3, 1, 2}, want: []int{1, 2, 0}},
		{name: "equal deadlines", arm: []int64{5, 5, 5}, want: []int{0, 1, 2}},
		{name: "earlier re-arm moves up", arm: []int64{10, 20, 30}, rearm: map[int]int64{2: 5}, want: []int{2, 0, 1}},
		{name: "later re-arm keeps the earlier key", arm: []int64{10, 20}, rearm: map[int]int64{0: 50}, want: []int{0, 1}},
		{name: "remove from the middle", arm: []int64{1, 2, 3, 4, 5, 6, 7}, remove: []int{3, 0}, want: []int{1, 2, 4, 5, 6}},
		{name: "remove the last", arm: []int64{4, 2, 9}, remove: []int{2}, want: []int{1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &loop{}
			tasks := make([]*task, len(tc.arm))
			for i, dl := range tc.arm {
				tasks[i] = &task{lp: l, hidx: -1}
				l.timerArm(tasks[i], dl)
			}
			for i, dl := range tc.rearm {
				l.timerArm(tasks[i], dl)
			}
			for _, i := range tc.remove {
				l.timerRemove(tasks[i])
				if tasks[i].hidx != -1 {
					t.Fatalf("removed task keeps index %d", tasks[i].hidx)
				}
			}
			var got []int
			for len(l.timers) > 0 {
				for i, tk := range l.timers {
					if tk.hidx != i {
						t.Fatalf("timers[%d] has index %d", i, tk.hidx)
					}
				}
				top := l.timers[0]
				l.timerRemove(top)
				got = append(got, slices.Index(tasks, top))
			}
			if tc.name == "equal deadlines" {
				slices.Sort(got)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("fired %v, want %v", got, tc.want)
			}
		})
	}
}

// A burst of connections is spread over the loops, whichever loop wakes
// to accept them.
func TestConnectionsSpreadOverLoops(t *testing.T) {
	if os.Getenv(engineEnv) == "goroutines" {
		t.Skip("event loops only")
	}
	a := newBackend(t, "a", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	h := newHarness(t, cfg, Options{EventLoops: 2})
	var conns []net.Conn
	for i := 0; i < 8; i++ {
		nc, err := net.Dial("tcp", h.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		conns = append(conns, nc)
	}
	for i, nc := range conns {
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		if resp, _ := exchange(t, nc, bufio.NewReader(nc), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 {
			t.Fatalf("connection %d: status %d", i, resp.StatusCode)
		}
	}
	// An idle machine gives each loop 4; a busy one may wake one loop
	// before the other, but neither takes (nearly) all.
	total := int64(0)
	for i, lp := range h.p.loops {
		n := lp.nconns.Load()
		total += n
		if n < 2 {
			t.Errorf("loop %d serves %d connections, want at least 2 of 8", i, n)
		}
	}
	if total != 8 {
		t.Errorf("the loops serve %d connections, want 8", total)
	}
}

func TestRawAccept4PeerAddress(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "tcp6" {
				addr = "[::1]:0"
			}
			ln, err := net.Listen(network, addr)
			if err != nil {
				t.Skipf("no %s loopback: %v", network, err)
			}
			defer ln.Close()
			f, err := rawListenerFile(ln)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			nc, err := net.Dial(network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			var fd int
			var peer netip.AddrPort
			var errno syscall.Errno
			rc, _ := f.SyscallConn()
			for i := 0; i < 100; i++ {
				rc.Control(func(lfd uintptr) { fd, peer, errno = rawAccept4(int(lfd)) })
				if errno != syscall.EAGAIN {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if errno != 0 {
				t.Fatalf("accept4: %v", errno)
			}
			rawClose(fd)
			if want := nc.LocalAddr().(*net.TCPAddr).AddrPort(); peer != want {
				t.Errorf("peer = %v, want %v", peer, want)
			}
		})
	}
}
