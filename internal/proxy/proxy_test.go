package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/route"
)

func TestForwardRoundRobinAndHeaders(t *testing.T) {
	a := newBackend(t, "a", nil)
	b := newBackend(t, "b", nil)
	h := newHarness(t, simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a, b)}), Options{})
	c := newClient(t)

	seen := map[string]int{}
	for i := 0; i < 10; i++ {
		resp, body := get(t, c, h.url+"/path?q=1", "Host", "app.example.com")
		if resp.StatusCode != 200 {
			t.Fatalf("status = %d, want 200", resp.StatusCode)
		}
		seen[resp.Header.Get("X-Backend")]++
		if !strings.HasPrefix(body, "hello from ") {
			t.Fatalf("body = %q", body)
		}
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Errorf("distribution = %v, want both targets used", seen)
	}

	tests := []struct {
		name   string
		hdr    []string
		check  string
		want   string
		prefix bool
	}{
		{name: "host preserved", hdr: []string{"Host", "app.example.com"}, check: "Host", want: "app.example.com"},
		{name: "xff appended", hdr: []string{"X-Forwarded-For", "10.1.1.1"}, check: "X-Forwarded-For", want: "10.1.1.1, 127.0.0.1"},
		{name: "xff added", check: "X-Forwarded-For", want: "127.0.0.1"},
		{name: "proto", check: "X-Forwarded-Proto", want: "http"},
		{name: "port", check: "X-Forwarded-Port", want: strconv.Itoa(h.port)},
		{name: "forwarded proto overwritten", hdr: []string{"X-Forwarded-Proto", "https"}, check: "X-Forwarded-Proto", want: "http"},
		{name: "trace id added", check: "X-Amzn-Trace-Id", want: "Root=1-", prefix: true},
		{name: "trace id kept with self", hdr: []string{"X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"}, check: "X-Amzn-Trace-Id", want: "Root=1-5759e988-bd862e3fe1be46a994272793;Self=1-", prefix: true},
		{name: "hop-by-hop removed", hdr: []string{"Connection", "X-Secret", "X-Secret", "s", "Keep-Alive", "timeout=5"}, check: "X-Secret", want: ""},
		{name: "keep-alive removed", hdr: []string{"Keep-Alive", "timeout=5"}, check: "Keep-Alive", want: ""},
		{name: "end-to-end kept", hdr: []string{"X-Custom", "v1"}, check: "X-Custom", want: "v1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := get(t, c, h.url+"/", tc.hdr...)
			var r *http.Request
			if resp.Header.Get("X-Backend") == "a" {
				r = a.last()
			} else {
				r = b.last()
			}
			got := r.Header.Get(tc.check)
			if tc.check == "Host" {
				got = r.Host
			}
			if tc.prefix {
				if !strings.HasPrefix(got, tc.want) {
					t.Errorf("%s = %q, want prefix %q", tc.check, got, tc.want)
				}
				return
			}
			if got != tc.want {
				t.Errorf("%s = %q, want %q", tc.check, got, tc.want)
			}
		})
	}
}

func TestTraceIDFormat(t *testing.T) {
	a := newBackend(t, "a", nil)
	h := newHarness(t, simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)}), Options{})
	get(t, newClient(t), h.url+"/")
	got := a.last().Header.Get("X-Amzn-Trace-Id")
	if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`).MatchString(got) {
		t.Errorf("X-Amzn-Trace-Id = %q, want Root=1-<8 hex>-<24 hex>", got)
	}
}

func TestXFFModes(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		withPort bool
		in       string
		want     *regexp.Regexp
	}{
		{name: "append", mode: "append", in: "1.2.3.4", want: regexp.MustCompile(`^1\.2\.3\.4, 127\.0\.0\.1$`)},
		{name: "append with port", mode: "append", withPort: true, in: "1.2.3.4", want: regexp.MustCompile(`^1\.2\.3\.4, 127\.0\.0\.1:\d+$`)},
		{name: "preserve", mode: "preserve", in: "1.2.3.4", want: regexp.MustCompile(`^1\.2\.3\.4$`)},
		{name: "remove", mode: "remove", in: "1.2.3.4", want: regexp.MustCompile(`^$`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newBackend(t, "a", nil)
			cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
			cfg.LoadBalancers[0].XFFMode = tc.mode
			cfg.LoadBalancers[0].XFFClientPort = tc.withPort
			h := newHarness(t, cfg, Options{})
			get(t, newClient(t), h.url+"/", "X-Forwarded-For", tc.in)
			if got := a.last().Header.Get("X-Forwarded-For"); !tc.want.MatchString(got) {
				t.Errorf("X-Forwarded-For = %q, want match %s", got, tc.want)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	a := newBackend(t, "a", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.TargetGroups = append(cfg.TargetGroups, TargetGroup{Name: "empty"})
	cfg.LoadBalancers[0].Listeners[0].Rules = []route.RuleConfig{{
		Priority:   1,
		Conditions: []route.Condition{{Field: "path-pattern", Values: []string{"/empty"}}},
		Actions:    forwardTo("empty"),
	}}
	h := newHarness(t, cfg, Options{})
	addr := "127.0.0.1:" + strconv.Itoa(h.port)
	xff31 := strings.TrimSuffix(strings.Repeat("1.1.1.1, ", 31), ", ")
	tests := []struct {
		name string
		raw  string
		want int
	}{
		{name: "ok", raw: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", want: 200},
		{name: "trace", raw: "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", want: 405},
		{name: "xff 31 entries", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + xff31 + "\r\n\r\n", want: 463},
		{name: "xff 30 entries", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + strings.TrimSuffix(strings.Repeat("1.1.1.1, ", 30), ", ") + "\r\n\r\n", want: 200},
		{name: "malformed request line", raw: "GET /\r\nHost: x\r\n\r\n", want: 400},
		{name: "bad version", raw: "GET / HTTP/3.0\r\nHost: x\r\n\r\n", want: 400},
		{name: "missing host", raw: "GET / HTTP/1.1\r\n\r\n", want: 400},
		{name: "cl and te", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: 400},
		{name: "differing content lengths", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", want: 400},
		{name: "bad content length", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", want: 400},
		{name: "invalid chunked", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", want: 400},
		// RFC 9112 §6.3: a request whose Transfer-Encoding does not end
		// with chunked gets 400; madang implements only chunked, so any
		// other coding anywhere in the list gets 400 too.
		{name: "unsupported transfer encoding", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", want: 400},
		{name: "te identity", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", want: 400},
		{name: "te chunked then identity", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 400},
		{name: "te chunked then identity field", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 400},
		{name: "te identity then chunked", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 400},
		{name: "te gzip then chunked", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 400},
		{name: "te unknown coding", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: x-custom, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 400},
		{name: "te chunked with parameter", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;q=1\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 400},
		{name: "te chunked upper case", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 200},
		{name: "te chunked with empty elements", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , chunked ,\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 200},
		{name: "double chunked", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", want: 400},
		{name: "header too large", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 17<<10) + "\r\n\r\n", want: 400},
		{name: "head too large", raw: "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Big: "+strings.Repeat("a", 8<<10)+"\r\n", 9) + "\r\n", want: 400},
		{name: "request line too long", raw: "GET /" + strings.Repeat("a", 17<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", want: 414},
		{name: "space before colon", raw: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n", want: 400},
		{name: "obs fold", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", want: 400},
		{name: "no registered targets", raw: "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n", want: 503},
		{name: "chunked ok", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := rawRoundTrip(t, addr, tc.raw)
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == 400 && !resp.Close {
				t.Errorf("400 without Connection: close; the connection must close after a framing error")
			}
		})
	}
	// Nothing malformed reached the target.
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.reqs {
		if r.Method == "POST" && len(r.TransferEncoding) == 0 && r.ContentLength != 5 {
			t.Errorf("target saw a smuggled request: %s %s cl=%d", r.Method, r.URL, r.ContentLength)
		}
	}
}

func TestTargetErrors(t *testing.T) {
	// A target that accepts and resets, one that answers garbage, one
	// that never answers.
	reset := listenRaw(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	garbage := listenRaw(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		io.WriteString(c, "NOT HTTP\r\n\r\n")
		c.Close()
	})
	silent := listenRaw(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	refused := freePort(t)
	tests := []struct {
		name   string
		target string
		method string
		want   int
	}{
		{name: "reset", target: reset, method: "POST", want: 502},
		{name: "reset idempotent", target: reset, method: "GET", want: 502},
		{name: "malformed", target: garbage, method: "GET", want: 502},
		{name: "timeout", target: silent, method: "GET", want: 504},
		{name: "refused", target: "127.0.0.1:" + strconv.Itoa(refused), method: "GET", want: 502},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := simpleConfig(TargetGroup{Name: "tg", Targets: []Target{{ID: "x", Addr: tc.target, Weight: 1}}})
			cfg.LoadBalancers[0].IdleTimeout = 500 * time.Millisecond
			obs := &recorder{}
			h := newHarness(t, cfg, Options{Observer: obs})
			resp, _ := rawRoundTrip(t, "127.0.0.1:"+strconv.Itoa(h.port), tc.method+" / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			if obs.count() == 0 {
				t.Errorf("observer saw no attempt")
			}
		})
	}
}

// listenRaw serves each connection with fn on a loopback port.
func listenRaw(t *testing.T, fn func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				fn(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// recorder is an Observer that records outcomes.
type recorder struct {
	mu   sync.Mutex
	outs []string
	fn   func(group, id string, o Outcome)
}

func (r *recorder) Observe(group, id string, o Outcome) {
	r.mu.Lock()
	r.outs = append(r.outs, id)
	fn := r.fn
	r.mu.Unlock()
	if fn != nil {
		fn(group, id, o)
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.outs)
}

func TestRetryOnConnectFailure(t *testing.T) {
	a := newBackend(t, "a", nil)
	dead := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: []Target{{ID: "dead", Addr: dead, Weight: 1}, {ID: "a", Addr: a.addr(), Weight: 1}}})
	h := newHarness(t, cfg, Options{})
	c := newClient(t)
	for i := 0; i < 10; i++ {
		req, _ := http.NewRequest("POST", h.url+"/", strings.NewReader("payload"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %d: status = %d, want 200 (connect failures are retried for any method)", i, resp.StatusCode)
		}
	}
}

func TestRetryIdempotentAfterReset(t *testing.T) {
	var resets atomic.Int64
	reset := listenRaw(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		resets.Add(1)
		c.(*net.TCPConn).SetLinger(0)
	})
	a := newBackend(t, "a", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: []Target{{ID: "reset", Addr: reset, Weight: 1}, {ID: "a", Addr: a.addr(), Weight: 1}}})
	h := newHarness(t, cfg, Options{})
	addr := "127.0.0.1:" + strconv.Itoa(h.port)
	tests := []struct {
		name   string
		method string
		want   []int // acceptable statuses
	}{
		{name: "GET retried", method: "GET", want: []int{200}},
		{name: "PUT retried", method: "PUT", want: []int{200}},
		{name: "POST not retried", method: "POST", want: []int{200, 502}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 6; i++ {
				resp, _ := rawRoundTrip(t, addr, tc.method+" / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
				ok := false
				for _, w := range tc.want {
					ok = ok || resp.StatusCode == w
				}
				if !ok {
					t.Fatalf("status = %d, want one of %v", resp.StatusCode, tc.want)
				}
			}
		})
	}
	if resets.Load() == 0 {
		t.Errorf("the resetting target was never tried")
	}
}

func TestKeepAliveRaceRetriedOnFreshConnection(t *testing.T) {
	// A target that closes every keep-alive connection right after its
	// first response, like a server whose keep-alive timeout passed.
	var served atomic.Int64
	tgt := listenRaw(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		if n == 0 {
			return
		}
		served.Add(1)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		time.Sleep(20 * time.Millisecond)
		// Close without Connection: close, as an idle timeout would.
	})
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: []Target{{ID: "t", Addr: tgt, Weight: 1}}})
	h := newHarness(t, cfg, Options{})
	c := newClient(t)
	for i := 0; i < 5; i++ {
		req, _ := http.NewRequest("POST", h.url+"/", strings.NewReader("x"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status = %d, want 200", i, resp.StatusCode)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

func TestUpstreamIdleConnectionsClosed(t *testing.T) {
	var open atomic.Int64
	tgt := listenRaw(t, func(c net.Conn) {
		open.Add(1)
		defer open.Add(-1)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil || n == 0 {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: []Target{{ID: "t", Addr: tgt, Weight: 1}}})
	h := newHarness(t, cfg, Options{UpstreamIdleTimeout: 200 * time.Millisecond})
	get(t, newClient(t), h.url+"/")
	if open.Load() != 1 {
		t.Fatalf("open target connections = %d, want 1 after a request", open.Load())
	}
	waitFor(t, 2*time.Second, "the idle target connection to close", func() bool { return open.Load() == 0 })
}

func TestDefaultUpstreamIdleBelowNode(t *testing.T) {
	if DefaultUpstreamIdleTimeout >= 5*time.Second {
		t.Errorf("DefaultUpstreamIdleTimeout = %s, want below Node's 5 s keepAliveTimeout", DefaultUpstreamIdleTimeout)
	}
}

func TestRedirectAndFixedResponse(t *testing.T) {
	cfg := Config{LoadBalancers: []LoadBalancer{{
		Name:    "lb",
		Address: "127.0.0.1",
		Listeners: []Listener{{
			Rules: []route.RuleConfig{
				{Priority: 1, Conditions: []route.Condition{{Field: "path-pattern", Values: []string{"/old/*"}}},
					Actions: []route.Action{{Type: "redirect", Redirect: &route.Redirect{Host: "new.example.com", Path: "/new/#{path}", StatusCode: 301}}}},
				{Priority: 2, Conditions: []route.Condition{{Field: "path-pattern", Values: []string{"/secure"}}},
					Actions: []route.Action{{Type: "redirect", Redirect: &route.Redirect{Protocol: "HTTPS", Port: "443", StatusCode: 302}}}},
			},
			DefaultActions: []route.Action{{Type: "fixed-response", FixedResponse: &route.FixedResponse{StatusCode: 404, ContentType: "application/json", MessageBody: `{"error":"nope"}`}}},
		}},
	}}}
	h := newHarness(t, cfg, Options{})
	c := newClient(t)
	tests := []struct {
		name         string
		path         string
		wantStatus   int
		wantLocation string
		wantBody     string
		wantType     string
	}{
		{name: "redirect 301 with tokens", path: "/old/page?x=1", wantStatus: 301, wantLocation: "http://new.example.com:" + strconv.Itoa(h.port) + "/new/old/page?x=1"},
		{name: "redirect 302 to https", path: "/secure", wantStatus: 302, wantLocation: "https://app.example.com/secure"},
		{name: "fixed response", path: "/anything", wantStatus: 404, wantBody: `{"error":"nope"}`, wantType: "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, c, h.url+tc.path, "Host", "app.example.com")
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := resp.Header.Get("Location"); got != tc.wantLocation {
				t.Errorf("Location = %q, want %q", got, tc.wantLocation)
			}
			if tc.wantBody != "" && body != tc.wantBody {
				t.Errorf("body = %q, want %q", body, tc.wantBody)
			}
			if tc.wantType != "" && resp.Header.Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tc.wantType)
			}
		})
	}
	var fixed, redirects float64
	h.p.Collect(func(m Metric) {
		switch m.Name {
		case "HTTP_Fixed_Response_Count":
			fixed += m.Value
		case "HTTP_Redirect_Count":
			redirects += m.Value
		}
	})
	if fixed != 1 || redirects != 2 {
		t.Errorf("HTTP_Fixed_Response_Count = %v, HTTP_Redirect_Count = %v, want 1 and 2", fixed, redirects)
	}
}

func TestStatic(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	os.MkdirAll(filepath.Join(site, "docs"), 0o755)
	os.WriteFile(filepath.Join(site, "index.html"), []byte("<h1>home</h1>"), 0o644)
	os.WriteFile(filepath.Join(site, "app.css"), []byte("body{color:red}"), 0o644)
	os.WriteFile(filepath.Join(site, "docs", "index.html"), []byte("docs"), 0o644)
	os.WriteFile(filepath.Join(site, "data.txt"), []byte("0123456789"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("secret"), 0o644)
	cfg := Config{LoadBalancers: []LoadBalancer{{
		Name: "lb", Address: "127.0.0.1",
		Listeners: []Listener{{DefaultActions: []route.Action{{Type: "static", Static: &route.Static{Root: site, MaxAgeSeconds: 60}}}}},
	}}}
	h := newHarness(t, cfg, Options{})
	c := newClient(t)
	addr := "127.0.0.1:" + strconv.Itoa(h.port)

	tests := []struct {
		name       string
		path       string
		hdr        []string
		wantStatus int
		wantBody   string
		wantType   string
	}{
		{name: "index", path: "/", wantStatus: 200, wantBody: "<h1>home</h1>", wantType: "text/html; charset=utf-8"},
		{name: "css", path: "/app.css", wantStatus: 200, wantBody: "body{color:red}", wantType: "text/css; charset=utf-8"},
		{name: "dir index", path: "/docs/", wantStatus: 200, wantBody: "docs"},
		{name: "dir redirect", path: "/docs", wantStatus: 301},
		{name: "range", path: "/data.txt", hdr: []string{"Range", "bytes=2-4"}, wantStatus: 206, wantBody: "234"},
		{name: "missing", path: "/nope.txt", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, c, h.url+tc.path, tc.hdr...)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantBody != "" && body != tc.wantBody {
				t.Errorf("body = %q, want %q", body, tc.wantBody)
			}
			if tc.wantType != "" && resp.Header.Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tc.wantType)
			}
			if tc.wantStatus == 200 && resp.Header.Get("Cache-Control") != "max-age=60" {
				t.Errorf("Cache-Control = %q, want max-age=60", resp.Header.Get("Cache-Control"))
			}
		})
	}
	t.Run("etag 304", func(t *testing.T) {
		resp, _ := get(t, c, h.url+"/app.css")
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Last-Modified") == "" {
			t.Fatalf("ETag = %q, Last-Modified = %q, want both", etag, resp.Header.Get("Last-Modified"))
		}
		resp, body := get(t, c, h.url+"/app.css", "If-None-Match", etag)
		if resp.StatusCode != 304 || body != "" {
			t.Errorf("status = %d body = %q, want 304 and empty", resp.StatusCode, body)
		}
	})
	for _, p := range []string{"/../secret.txt", "/%2e%2e/secret.txt", "/docs/../../secret.txt", "/..%2fsecret.txt"} {
		t.Run("traversal "+p, func(t *testing.T) {
			resp, body := rawRoundTrip(t, addr, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if strings.Contains(body, "secret") {
				t.Errorf("path %s escaped the root: status %d body %q", p, resp.StatusCode, body)
			}
		})
	}
}

func TestIdleClientClosedWith408(t *testing.T) {
	a := newBackend(t, "a", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.LoadBalancers[0].IdleTimeout = 300 * time.Millisecond
	h := newHarness(t, cfg, Options{})
	nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(h.port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET / HTTP/1.1\r\nHo")
	nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, _ := io.ReadAll(nc)
	if !strings.HasPrefix(string(b), "HTTP/1.1 408 ") {
		t.Errorf("response = %q, want a 408 and close", b)
	}
}

func TestClientIdleKeepAliveClosed(t *testing.T) {
	a := newBackend(t, "a", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.LoadBalancers[0].IdleTimeout = 300 * time.Millisecond
	h := newHarness(t, cfg, Options{})
	nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(h.port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	start := time.Now()
	nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, _ := io.ReadAll(nc) // returns when the proxy closes the idle connection
	if !strings.HasPrefix(string(b), "HTTP/1.1 200 ") {
		t.Errorf("response = %q, want 200", b)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("idle connection closed after %s, want about 300ms", el)
	}
}

func TestUpdateBindFailureKeepsOldConfig(t *testing.T) {
	a := newBackend(t, "a", nil)
	h := newHarness(t, simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)}), Options{})
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	cfg := h.cfg
	cfg.LoadBalancers = []LoadBalancer{cfg.LoadBalancers[0]}
	cfg.LoadBalancers[0].Listeners = append([]Listener{}, cfg.LoadBalancers[0].Listeners...)
	cfg.LoadBalancers[0].Listeners = append(cfg.LoadBalancers[0].Listeners, Listener{Port: busyPort, DefaultActions: forwardTo("tg")})
	err = h.p.Update(cfg)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(busyPort)) {
		t.Fatalf("Update error = %v, want one naming 127.0.0.1:%d", err, busyPort)
	}
	resp, _ := get(t, newClient(t), h.url+"/")
	if resp.StatusCode != 200 {
		t.Errorf("old config: status = %d, want 200", resp.StatusCode)
	}
}

func TestConfigErrors(t *testing.T) {
	good := func() Config {
		return Config{
			LoadBalancers: []LoadBalancer{{Name: "lb", Address: "127.0.0.1", Listeners: []Listener{{Port: 8080, DefaultActions: forwardTo("tg")}}}},
			TargetGroups:  []TargetGroup{{Name: "tg", Targets: []Target{{ID: "a", Addr: "127.0.0.1:9", Weight: 1}}}},
		}
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{name: "bad xff mode", mutate: func(c *Config) { c.LoadBalancers[0].XFFMode = "drop" }, want: `xffMode "drop" is not valid`},
		{name: "bad desync mode", mutate: func(c *Config) { c.LoadBalancers[0].DesyncMode = "lax" }, want: `desyncMode "lax"`},
		{name: "bad port", mutate: func(c *Config) { c.LoadBalancers[0].Listeners[0].Port = 70000 }, want: "port 70000 is out of range"},
		{name: "bad target addr", mutate: func(c *Config) { c.TargetGroups[0].Targets[0].Addr = "localhost" }, want: `addr "localhost" is not an ip:port`},
		{name: "unknown group", mutate: func(c *Config) { c.LoadBalancers[0].Listeners[0].DefaultActions = forwardTo("nope") }, want: `target group "nope" is not defined`},
		{name: "bad algorithm", mutate: func(c *Config) { c.TargetGroups[0].Algorithm = "fastest" }, want: "fastest"},
		{name: "bad hash key", mutate: func(c *Config) { c.TargetGroups[0].HashKey = "ip" }, want: `"ip" is not valid`},
		{name: "reserved app cookie", mutate: func(c *Config) {
			c.TargetGroups[0].Stickiness = Stickiness{Enabled: true, Type: "app_cookie", CookieName: "AWSALBX"}
		}, want: "reserved prefix"},
		{name: "relative static root", mutate: func(c *Config) {
			c.LoadBalancers[0].Listeners[0].DefaultActions = []route.Action{{Type: "static", Static: &route.Static{Root: "site"}}}
		}, want: "is not absolute"},
		{name: "bad fixed status", mutate: func(c *Config) {
			c.LoadBalancers[0].Listeners[0].DefaultActions = []route.Action{{Type: "fixed-response", FixedResponse: &route.FixedResponse{StatusCode: 302}}}
		}, want: `statusCode 302 is not valid`},
		{name: "bad redirect status", mutate: func(c *Config) {
			c.LoadBalancers[0].Listeners[0].DefaultActions = []route.Action{{Type: "redirect", Redirect: &route.Redirect{StatusCode: 307}}}
		}, want: `statusCode 307 is not valid`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.mutate(&cfg)
			p := New(testOptions(Options{}))
			defer p.Shutdown(context.Background())
			err := p.Update(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Update error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
