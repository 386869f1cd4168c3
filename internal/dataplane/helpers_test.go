package dataplane

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/proxy"
	"github.com/madang-dev/madang/internal/route"
)

// newBackend is a target answering "backend NAME" and 200 on /health.
func newBackend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s", name)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testConfig is one load balancer on port forwarding to group "web" of
// the backends, with fast health checks.
func testConfig(port int, backends ...*httptest.Server) Config {
	tg := proxy.TargetGroup{Name: "web"}
	hg := health.Group{Name: "web", InUse: true, Settings: health.Settings{
		Enabled: true, Path: "/health", Interval: 200 * time.Millisecond, Timeout: 100 * time.Millisecond,
		HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: health.MustParseMatcher("200"),
	}}
	for i, b := range backends {
		id := "t" + strconv.Itoa(i)
		addr := b.Listener.Addr().String()
		tg.Targets = append(tg.Targets, proxy.Target{ID: id, Addr: addr, Weight: 1})
		hg.Targets = append(hg.Targets, health.Target{ID: id, Addr: addr})
	}
	return Config{
		Proxy: proxy.Config{
			LoadBalancers: []proxy.LoadBalancer{{
				Name: "lb", Address: "127.0.0.1",
				Listeners: []proxy.Listener{{Port: port, DefaultActions: []route.Action{route.ForwardTo("web")}}},
			}},
			TargetGroups: []proxy.TargetGroup{tg},
		},
		Health: []health.Group{hg},
	}
}

func httpClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func fetch(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// process is a data-plane process (Run) on a goroutine of the test.
type process struct {
	cancel context.CancelFunc
	ready  chan struct{}
	done   chan error
}

func startProcess(t *testing.T, home string, takeover bool) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{cancel: cancel, ready: make(chan struct{}), done: make(chan error, 1)}
	var once sync.Once
	go func() {
		p.done <- Run(ctx, RunOptions{Home: home, Version: "test", Binary: "/test/madang", Takeover: takeover,
			ShutdownGrace: 5 * time.Second, Ready: func() { once.Do(func() { close(p.ready) }) }})
	}()
	select {
	case <-p.ready:
	case err := <-p.done:
		cancel()
		t.Fatalf("data plane exited before serving: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("data plane did not serve within 10s")
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the process if it still runs and waits for it.
func (p *process) stop(t *testing.T) {
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Error("data plane did not stop within 10s")
	}
	p.done <- nil // later stops return at once
}

// load drives requests at url from workers until end.
type load struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	ok, fail atomic.Int64
	mu       sync.Mutex
	errs     []string
}

func startLoad(t *testing.T, url string, workers int) *load {
	return startLoadWith(t, httpClient(t), url, workers)
}

// freshConnClient opens a connection for every request: the connections
// a takeover must not lose are also the ones still in the backlog.
func freshConnClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// startLoadWith runs workers requesting url through c until end.
func startLoadWith(t *testing.T, c *http.Client, url string, workers int) *load {
	l := &load{stop: make(chan struct{})}
	deadline := time.Now().Add(20 * time.Second)
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for time.Now().Before(deadline) {
				select {
				case <-l.stop:
					return
				default:
				}
				if _, err := fetch(c, url); err != nil {
					l.fail.Add(1)
					l.mu.Lock()
					l.errs = append(l.errs, err.Error())
					l.mu.Unlock()
				} else {
					l.ok.Add(1)
				}
			}
		}()
	}
	return l
}

func (l *load) waitOK(t *testing.T, n int64) {
	t.Helper()
	waitFor(t, 15*time.Second, fmt.Sprintf("%d requests", n), func() bool { return l.ok.Load() >= n || l.fail.Load() > 0 })
}

func (l *load) end() (ok, fail int64, errs []string) {
	close(l.stop)
	l.wg.Wait()
	return l.ok.Load(), l.fail.Load(), l.errs
}
