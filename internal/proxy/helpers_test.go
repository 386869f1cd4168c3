package proxy

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
	"github.com/madang-dev/madang/internal/route"
)

// engineEnv selects the engine the tests run on: unset runs them on the
// event loops and then, on Linux, once more on the goroutine engine in a
// child process; "goroutines" runs them on the goroutine engine.
const engineEnv = "MADANG_TEST_PROXY_ENGINE"

// testOptions applies the engine under test to o.
func testOptions(o Options) Options {
	if os.Getenv(engineEnv) == "goroutines" {
		o.EventLoops = -1
	}
	return o
}

func TestMain(m *testing.M) {
	code := m.Run()
	benching := flag.Lookup("test.bench").Value.String() != "" || flag.Lookup("test.fuzz").Value.String() != ""
	if code == 0 && loopsSupported && os.Getenv(engineEnv) == "" && !benching {
		// Run everything again on the goroutine engine, which serves
		// other systems and connections moved off the loops.
		cmd := exec.Command(os.Args[0], os.Args[1:]...)
		cmd.Env = append(os.Environ(), engineEnv+"=goroutines")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "tests on the goroutine engine: %v\n", err)
			code = 1
		}
	}
	if code == 0 {
		// Leak check: every goroutine the package's tests started must
		// be gone.
		if err := leakcheck.Check(3*time.Second, leakcheck.Contains("internal/proxy.")); err != nil {
			fmt.Fprintf(os.Stderr, "after all tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// freePort returns a port that was free a moment ago on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// backend is a real HTTP target on loopback that names itself in every
// response and records the requests it saw.
type backend struct {
	name string
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	hits int
}

func newBackend(t testing.TB, name string, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.reqs = append(b.reqs, r)
		b.hits++
		b.mu.Unlock()
		w.Header().Set("X-Backend", name)
		if h != nil {
			h(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "hello from %s", name)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) addr() string { return b.srv.Listener.Addr().String() }

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

func (b *backend) last() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		return nil
	}
	return b.reqs[len(b.reqs)-1]
}

// harness is a proxy with one load balancer and one listener.
type harness struct {
	t    testing.TB
	p    *Proxy
	cfg  Config
	port int
	url  string
}

func targetsOf(bs ...*backend) []Target {
	var ts []Target
	for _, b := range bs {
		ts = append(ts, Target{ID: b.name, Addr: b.addr(), Weight: 1})
	}
	return ts
}

// forwardTo is a listener default action forwarding to group.
func forwardTo(group string) []route.Action {
	return []route.Action{route.ForwardTo(group)}
}

// newHarness starts a proxy with cfg; the first load balancer's first
// listener gets a free port unless it has one.
func newHarness(t testing.TB, cfg Config, opts Options) *harness {
	t.Helper()
	h := &harness{t: t}
	if len(cfg.LoadBalancers) > 0 && len(cfg.LoadBalancers[0].Listeners) > 0 && cfg.LoadBalancers[0].Listeners[0].Port == 0 {
		cfg.LoadBalancers[0].Listeners[0].Port = freePort(t)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h.p = New(testOptions(opts))
	if err := h.p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	h.cfg = cfg
	h.port = cfg.LoadBalancers[0].Listeners[0].Port
	h.url = "http://127.0.0.1:" + strconv.Itoa(h.port)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return h
}

// simpleConfig is one load balancer forwarding to one group.
func simpleConfig(group TargetGroup) Config {
	return Config{
		LoadBalancers: []LoadBalancer{{
			Name:      "lb",
			Address:   "127.0.0.1",
			Listeners: []Listener{{DefaultActions: forwardTo(group.Name)}},
		}},
		TargetGroups: []TargetGroup{group},
	}
}

// client is an HTTP client with its own keep-alive pool, closed at the
// end of the test.
func newClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t testing.TB, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp, string(body)
}

// rawRoundTrip sends raw bytes on a new connection and returns the
// response read with net/http's parser.
func rawRoundTrip(t testing.TB, addr, raw string) (*http.Response, string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response to %q: %v", raw, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// exchange writes raw on a kept-alive connection and reads one response
// and its body through br.
func exchange(t testing.TB, nc net.Conn, br *bufio.Reader, raw string) (*http.Response, string) {
	t.Helper()
	if _, err := io.WriteString(nc, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response to %q: %v", raw, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// syncBuffer is a concurrency-safe access-log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxWithTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
