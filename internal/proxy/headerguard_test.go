package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// slowConfig is a load balancer with short header and idle timeouts and a
// header-phase cap, logging to logs.
func slowConfig(t *testing.T, headerTimeout time.Duration, maxPerIP int, logs io.Writer) *harness {
	t.Helper()
	a := newBackend(t, "a", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	lb := &cfg.LoadBalancers[0]
	lb.HeaderTimeout = headerTimeout
	lb.MaxHeaderConnsPerIP = maxPerIP
	lb.IdleTimeout = 5 * time.Second
	lb.AccessLog = logs
	return newHarness(t, cfg, Options{})
}

// dialFrom connects to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc
}

// headerConns returns how many of ip's connections are in the header phase.
func (h *harness) headerConns(ip string) int {
	h.p.mu.Lock()
	g := h.p.headerGuards["lb"]
	h.p.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	return int(g.n[netip.MustParseAddr(ip)])
}

func TestHeaderTimeoutSlowClient(t *testing.T) {
	logs := &syncBuffer{}
	const timeout = 300 * time.Millisecond
	h := slowConfig(t, timeout, 64, logs)
	nc := dialFrom(t, "127.0.0.1", h.addr())
	start := time.Now()
	// One byte of the head every 20 ms, which never lets the idle
	// timeout expire: only the header timeout ends it.
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		head := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
		for i := 0; i < len(head); i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := nc.Write([]byte{head[i]}); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); <-sent }()
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != 408 {
		t.Errorf("status = %d, want 408", resp.StatusCode)
	}
	if took < timeout*3/4 || took > 5*time.Second {
		t.Errorf("408 after %v, want about the header timeout %v (idle timeout 5s)", took, timeout)
	}
	waitFor(t, 5*time.Second, "the access log entry", func() bool {
		return strings.Contains(logs.String(), " 408 - ")
	})
	if line := logs.String(); !strings.Contains(line, `"RequestHeaderTimeout"`) {
		t.Errorf("access log = %q, want a 408 entry with error_reason RequestHeaderTimeout", line)
	}
}

func TestHeaderConnsCapPerSourceIP(t *testing.T) {
	const cap = 3
	h := slowConfig(t, 10*time.Second, cap, nil)
	var slow []net.Conn
	for i := 0; i < cap; i++ {
		nc := dialFrom(t, "127.0.0.1", h.addr())
		io.WriteString(nc, "GET / HTTP/1.1\r\n")
		slow = append(slow, nc)
		waitFor(t, 5*time.Second, "the connection in the header phase", func() bool { return h.headerConns("127.0.0.1") == i+1 })
	}

	// Over the cap: closed without a response.
	extra := dialFrom(t, "127.0.0.1", h.addr())
	io.WriteString(extra, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if n, err := extra.Read(make([]byte, 1)); err == nil {
		t.Errorf("a connection over the cap read %d bytes, want it closed", n)
	}

	// Another client IP is unaffected.
	other := dialFrom(t, "127.0.0.2", h.addr())
	resp, body := exchange(t, other, bufio.NewReader(other), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 || body != "hello from a" {
		t.Errorf("client on another IP: %d %q, want 200 from the target", resp.StatusCode, body)
	}

	// A slow head that completes leaves the header phase and frees a slot;
	// the kept-alive connection idling after its response does not count.
	resp, _ = exchange(t, slow[0], bufio.NewReader(slow[0]), "Host: x\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Errorf("completed slow head: status %d, want 200", resp.StatusCode)
	}
	waitFor(t, 5*time.Second, "a free header-phase slot", func() bool { return h.headerConns("127.0.0.1") == cap-1 })
	again := dialFrom(t, "127.0.0.1", h.addr())
	resp, _ = exchange(t, again, bufio.NewReader(again), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Errorf("new connection after a slot freed: status %d, want 200", resp.StatusCode)
	}
	// Closed connections leave the header phase.
	for _, nc := range slow[1:] {
		nc.Close()
	}
	waitFor(t, 5*time.Second, "no header-phase connections left", func() bool { return h.headerConns("127.0.0.1") == 0 })

	var ms []Metric
	h.p.Collect(func(m Metric) { ms = append(ms, m) })
	if !hasMetric(ms, "RejectedConnectionCount", 1) {
		t.Errorf("RejectedConnectionCount is not 1 in %v", ms)
	}
}

func TestKeepAliveIdleNotHeaderTimeout(t *testing.T) {
	const timeout = 150 * time.Millisecond
	h := slowConfig(t, timeout, 64, nil)
	nc := dialFrom(t, "127.0.0.1", h.addr())
	br := bufio.NewReader(nc)
	if resp, _ := exchange(t, nc, br, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("first request: status %d", resp.StatusCode)
	}
	// Idle between requests for longer than the header timeout (the
	// idle timeout is 5 s): the connection stays open.
	time.Sleep(3 * timeout)
	if resp, _ := exchange(t, nc, br, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("request after idling: status %d, want 200", resp.StatusCode)
	}
}

func hasMetric(ms []Metric, name string, v float64) bool {
	for _, m := range ms {
		if m.Name == name && m.Value == v {
			return true
		}
	}
	return false
}
