package health

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// bubbleClock is the system clock as a test in a synctest bubble sees it:
// fake time that moves when every goroutine of the bubble is blocked. It
// counts its armed timers for pending.
type bubbleClock struct {
	mu    sync.Mutex
	armed int
}

func newBubbleClock() *bubbleClock { return &bubbleClock{} }

func (c *bubbleClock) Now() time.Time { return time.Now() }

func (c *bubbleClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	c.armed++
	c.mu.Unlock()
	bt := &bubbleTimer{c: c}
	bt.t = time.AfterFunc(d, func() {
		if bt.disarm() {
			f()
		}
	})
	return bt
}

// Advance sleeps d of fake time, then waits for what fell due to finish.
func (c *bubbleClock) Advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func (c *bubbleClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.armed
}

// bubbleTimer is a bubbleClock timer.
type bubbleTimer struct {
	c    *bubbleClock
	t    *time.Timer
	once sync.Once
}

// disarm takes the timer off the armed count once; it reports whether
// this call did.
func (bt *bubbleTimer) disarm() bool {
	done := false
	bt.once.Do(func() {
		bt.c.mu.Lock()
		bt.c.armed--
		bt.c.mu.Unlock()
		done = true
	})
	return done
}

func (bt *bubbleTimer) Stop() bool {
	bt.t.Stop()
	return bt.disarm()
}

var _ testClock = (*bubbleClock)(nil)

// refusedAddr is an address of the in-memory network where nothing
// listens.
const refusedAddr = "192.0.2.1:80"

// fakeNet is an in-memory network for tests in a synctest bubble, where
// loopback sockets cannot be used (a goroutine blocked on a socket is not
// durably blocked, so fake time would stall). Dialing a backend's address
// gives one end of a net.Pipe, served by the backend; any other address
// refuses the connection, as the kernel does.
type fakeNet struct {
	mu       sync.Mutex
	backends map[string]*backend
}

func newFakeNet() *fakeNet { return &fakeNet{backends: map[string]*backend{}} }

// backend returns a new backend on the network, answering status.
func (n *fakeNet) backend(t *testing.T, status int) *backend {
	t.Helper()
	n.mu.Lock()
	addr := fmt.Sprintf("198.51.100.%d:80", len(n.backends)+1)
	b := &backend{addr: addr, quit: make(chan struct{})}
	n.backends[addr] = b
	n.mu.Unlock()
	b.behave.Store(int32(status))
	t.Cleanup(b.closePipes)
	return b
}

func (n *fakeNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	b := n.backends[addr]
	n.mu.Unlock()
	if b == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	client, server := net.Pipe()
	b.newConns.Add(1)
	b.mu.Lock()
	b.pipes = append(b.pipes, server)
	b.mu.Unlock()
	go b.serveConn(server)
	return client, nil
}

// serveConn answers one request on an in-memory connection the way serve
// does on a real one, then closes it.
func (b *backend) serveConn(conn net.Conn) {
	defer conn.Close()
	r, err := http.ReadRequest(bufio.NewReader(conn))
	if err != nil {
		return
	}
	b.reqs.Add(1)
	b.mu.Lock()
	b.last = r
	latency := b.latency
	b.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	switch s := int(b.behave.Load()); s {
	case behaveHang:
		// Until the checker gives up and closes its end (or the test
		// ends).
		_, _ = io.Copy(io.Discard, conn)
	case behaveGarbage:
		_, _ = io.WriteString(conn, "garbage\r\n\r\n")
	case behaveClose:
	default:
		_, _ = fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", s, http.StatusText(s))
	}
}

// setLatency makes the backend answer d after a request arrives.
func (b *backend) setLatency(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.latency = d
}

// closePipes closes the backend's in-memory connections, ending requests
// that hang.
func (b *backend) closePipes() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.pipes {
		_ = c.Close()
	}
	b.pipes = nil
}
