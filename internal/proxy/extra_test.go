package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRetryBudget(t *testing.T) {
	tests := []struct {
		name     string
		active   int64
		inFlight int64
		want     bool
	}{
		{name: "floor of three", active: 1, inFlight: 2, want: true},
		{name: "floor reached", active: 1, inFlight: 3, want: false},
		{name: "twenty percent", active: 100, inFlight: 19, want: true},
		{name: "twenty percent reached", active: 100, inFlight: 20, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g groupShared
			g.active.Store(tc.active)
			g.retrying.Store(tc.inFlight)
			got := g.allowRetry()
			if got != tc.want {
				t.Errorf("allowRetry() with %d active and %d retrying = %v, want %v", tc.active, tc.inFlight, got, tc.want)
			}
			if got {
				g.doneRetry()
			}
			if g.retrying.Load() != tc.inFlight {
				t.Errorf("retrying = %d after release, want %d", g.retrying.Load(), tc.inFlight)
			}
		})
	}
}

func TestClientKeepAliveLimit(t *testing.T) {
	a := newBackend(t, "a", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.LoadBalancers[0].ClientKeepAlive = 200 * time.Millisecond
	h := newHarness(t, cfg, Options{})
	nc, err := net.Dial("tcp", h.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(nc)
	send := func() *http.Response {
		io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := send(); resp.Close {
		t.Fatalf("first response closes the connection, want keep-alive")
	}
	time.Sleep(300 * time.Millisecond)
	if resp := send(); !resp.Close {
		t.Errorf("response after client_keep_alive passed: Connection %q, want close", resp.Header.Get("Connection"))
	}
}

// blockingWriter blocks every write until released.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	w.n += len(p)
	w.mu.Unlock()
	return len(p), nil
}

func TestAccessLogNeverBlocksRequests(t *testing.T) {
	a := newBackend(t, "a", nil)
	w := &blockingWriter{release: make(chan struct{})}
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.LoadBalancers[0].AccessLog = w
	h := newHarness(t, cfg, Options{})
	defer close(w.release) // before the harness shuts down (cleanups run later)
	c := newClient(t)
	// A long user agent makes lines big enough to fill the bounded buffer.
	ua := strings.Repeat("u", 8000)
	start := time.Now()
	for i := 0; i < 700; i++ {
		resp, _ := get(t, c, h.url+"/", "User-Agent", ua)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("700 requests took %s with a stuck access-log writer", el)
	}
	if got := collect(h.p, "AccessLogDroppedCount", nil); got == 0 {
		t.Errorf("AccessLogDroppedCount = 0, want lines dropped while the writer is stuck")
	}
}

func TestHealthKeptAcrossUpdates(t *testing.T) {
	a := newBackend(t, "a", nil)
	b := newBackend(t, "b", nil)
	h := newHarness(t, simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a, b)}), Options{})
	h.p.SetHealthy("tg", "a", true, time.Now())
	h.p.SetHealthy("tg", "b", false, time.Now())
	cfg := simpleConfig(TargetGroup{Name: "tg", Algorithm: "least_outstanding_requests", Targets: targetsOf(a, b)})
	cfg.LoadBalancers[0].Listeners[0].Port = h.port
	if err := h.p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	for i := 0; i < 10; i++ {
		resp, _ := get(t, c, h.url+"/")
		if got := resp.Header.Get("X-Backend"); got != "a" {
			t.Fatalf("request %d went to %s after an update, want a (b is still unhealthy)", i, got)
		}
	}
}
