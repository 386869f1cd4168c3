package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
				g.doneRetries(1)
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

// TestRetryBudgetUnderConcurrentResets sends many concurrent requests
// whose first attempt is reset by the target; each retry is held at the
// target until every request has either got a retry or been refused one,
// so the retries in flight at once are exactly what the budget allowed.
func TestRetryBudgetUnderConcurrentResets(t *testing.T) {
	const clients = 40
	var (
		mu      sync.Mutex
		seen    = map[string]bool{}
		held    int
		release = make(chan struct{})
	)
	target := func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		mu.Lock()
		retry := seen[req.URL.Path]
		seen[req.URL.Path] = true
		if retry {
			held++
		}
		mu.Unlock()
		if !retry {
			c.(*net.TCPConn).SetLinger(0) // reset before any response byte
			return
		}
		<-release
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	}
	var ts []Target
	for _, id := range []string{"a", "b", "c"} {
		ts = append(ts, Target{ID: id, Addr: listenRaw(t, target), Weight: 1})
	}
	h := newHarness(t, simpleConfig(TargetGroup{Name: "tg", Targets: ts}), Options{})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	var refused, served atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := net.Dial("tcp", h.addr())
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(nc, "GET /r"+strconv.Itoa(i)+" HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case 502:
				refused.Add(1)
			case 200:
				served.Add(1)
			default:
				t.Errorf("status = %d, want 200 (retried) or 502 (retry refused)", resp.StatusCode)
			}
		}()
	}
	heldNow := func() int {
		mu.Lock()
		defer mu.Unlock()
		return held
	}
	waitFor(t, 5*time.Second, "every request retried or refused", func() bool {
		return heldNow()+int(refused.Load()) == clients
	})
	retries := heldNow()
	close(release)
	wg.Wait()

	// At most clients requests are active, so the budget is at most
	// max(3, clients/5) concurrent retries.
	if limit := max(3, clients/5); retries > limit || retries == 0 {
		t.Errorf("%d of %d reset requests were retried concurrently, want 1..%d (20 %% retry budget)", retries, clients, limit)
	}
	if served.Load() != int64(retries) {
		t.Errorf("%d requests served, want %d (one per retry)", served.Load(), retries)
	}
}
