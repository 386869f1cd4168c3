package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// An upgrade that arrives on a connection after ordinary requests, with
// the first WebSocket bytes in the same packet as its head, keeps those
// bytes (on the event loops the connection moves to a goroutine first).
func TestUpgradeAfterKeepAliveRequests(t *testing.T) {
	a := newWSBackend(t, "a")
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	h := newHarness(t, cfg, Options{})
	nc, err := net.Dial("tcp", h.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(nc)
	for i := 0; i < 3; i++ {
		resp, body := exchange(t, nc, br, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 200 || body != "hello from a" {
			t.Fatalf("request %d: %d %q, want 200 %q", i, resp.StatusCode, body, "hello from a")
		}
	}
	io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nearly")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	buf := make([]byte, len("a:early"))
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "a:early" {
		t.Fatalf("echo of the bytes sent with the head = %q, %v; want %q", buf, err, "a:early")
	}
	io.WriteString(nc, "later")
	buf = make([]byte, len("a:later"))
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "a:later" {
		t.Fatalf("echo = %q, %v; want %q", buf, err, "a:later")
	}
}

// When Shutdown's context ends, connections still waiting for a target
// are closed under their requests, and nothing is left running.
func TestShutdownForceClosesBusyConnections(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	slow := newBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(slow)})
	cfg.LoadBalancers[0].Listeners[0].Port = freePort(t)
	p := New(testOptions(Options{}))
	if err := p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	addr := p.Addrs()[0]
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			_, err = io.ReadAll(nc)
			errs <- err
		}()
	}
	<-entered
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown took %s after its context ended", d)
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil && !strings.Contains(err.Error(), "reset") {
			t.Errorf("client: %v, want the connection closed", err)
		}
	}
}
