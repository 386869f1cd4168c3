package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/route"
)

// load runs workers that send GETs until stop is closed, at most max
// requests in total, and counts failures.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	wg         sync.WaitGroup
	stop       chan struct{}
}

func startLoad(t testing.TB, workers int, max int64, url func(i int64) string) *load {
	l := &load{stop: make(chan struct{})}
	var issued atomic.Int64
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c := newClient(t)
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				i := issued.Add(1)
				if i > max {
					return
				}
				resp, err := c.Get(url(i))
				if err != nil {
					l.fail(err.Error())
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					l.fail(fmt.Sprintf("status %d", resp.StatusCode))
					continue
				}
				l.ok.Add(1)
				time.Sleep(time.Millisecond)
			}
		}()
	}
	return l
}

func (l *load) fail(s string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.errs) < 5 {
		l.errs = append(l.errs, s)
	}
	l.mu.Unlock()
}

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

func TestFailoverZeroFailedRequests(t *testing.T) {
	a := newBackend(t, "a", nil)
	b := newBackend(t, "b", nil)
	victim := newBackend(t, "victim", nil)
	var p *Proxy
	var lastVictimAttempt atomic.Int64 // unix nanos
	obs := &recorder{fn: func(group, id string, o Outcome) {
		if id == "victim" {
			lastVictimAttempt.Store(time.Now().UnixNano())
		}
		if o.ConnectFailed || o.Reset {
			p.SetHealthy(group, id, false, time.Now())
		}
	}}
	h := newHarness(t, simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a, b, victim)}), Options{Observer: obs})
	p = h.p
	for _, id := range []string{"a", "b", "victim"} {
		p.SetHealthy("tg", id, true, time.Now())
	}
	l := startLoad(t, 6, 20000, func(int64) string { return h.url + "/" })
	time.Sleep(300 * time.Millisecond)
	if victim.count() == 0 {
		t.Fatal("victim received no traffic before the kill")
	}
	killed := time.Now()
	victim.srv.CloseClientConnections()
	victim.srv.Close()
	time.Sleep(1200 * time.Millisecond)
	l.finish()

	if l.failed.Load() != 0 {
		t.Errorf("%d of %d requests failed after a target died, want 0: %v", l.failed.Load(), l.failed.Load()+l.ok.Load(), l.errs)
	}
	stopped := time.Unix(0, lastVictimAttempt.Load()).Sub(killed)
	t.Logf("requests ok: %d; dead target's last attempt %v after the kill", l.ok.Load(), stopped.Round(time.Millisecond))
	if stopped > time.Second {
		t.Errorf("dead target still got attempts %v after the kill, want < 1s", stopped)
	}
}

func TestReloadUnderLoadWithWebSockets(t *testing.T) {
	a := newWSBackend(t, "a")
	b := newWSBackend(t, "b")
	c3 := newWSBackend(t, "c")
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a, b)})
	h := newHarness(t, cfg, Options{})
	var wss []*wsClient
	for i := 0; i < 3; i++ {
		ws := dialWS(t, h.addr())
		defer ws.nc.Close()
		wss = append(wss, ws)
	}
	l := startLoad(t, 4, 20000, func(i int64) string {
		if i%5 == 0 {
			return h.url + "/fixed"
		}
		return h.url + "/"
	})
	// A sequence of configurations: add a rule, swap targets, change the
	// algorithm, drop the rule.
	port := h.port
	steps := []func(*Config){
		func(c *Config) {
			c.LoadBalancers[0].Listeners[0].Rules = []route.RuleConfig{{Priority: 1,
				Conditions: []route.Condition{{Field: "path-pattern", Values: []string{"/fixed"}}},
				Actions:    []route.Action{route.ForwardTo("tg")}}}
		},
		func(c *Config) { c.TargetGroups[0].Targets = targetsOf(a, b, c3) },
		func(c *Config) { c.TargetGroups[0].Targets = targetsOf(b, c3) },
		func(c *Config) { c.TargetGroups[0].Algorithm = "least_outstanding_requests" },
		func(c *Config) { c.LoadBalancers[0].Listeners[0].Rules = nil },
		func(c *Config) { c.TargetGroups[0].Targets = targetsOf(a, c3) },
	}
	cur := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a, b)})
	cur.LoadBalancers[0].Listeners[0].Port = port
	for i, step := range steps {
		time.Sleep(100 * time.Millisecond)
		step(&cur)
		if err := h.p.Update(cur); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	l.finish()
	if l.failed.Load() != 0 || l.ok.Load() == 0 {
		t.Errorf("requests during reloads: %d ok, %d failed, want none failed: %v", l.ok.Load(), l.failed.Load(), l.errs)
	}
	for i, ws := range wss {
		got, err := ws.echo("after reload")
		if err != nil || !strings.HasSuffix(got, ":after reload") {
			t.Errorf("websocket %d (target %s): echo %q, %v; want it to survive reloads", i, ws.backend, got, err)
		}
	}
}

func TestShutdownFinishesInFlight(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		w.Write([]byte("finished"))
	})
	p := New(testOptions(Options{}))
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.LoadBalancers[0].Listeners[0].Port = freePort(t)
	if err := p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", cfg.LoadBalancers[0].Listeners[0].Port)
	c := newClient(t)
	done := make(chan string, 1)
	go func() {
		resp, err := c.Get(url)
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- p.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	if _, err := http.Get(url); err == nil {
		t.Errorf("new connection accepted during shutdown")
	}
	close(release)
	if got := <-done; got != "finished" {
		t.Errorf("in-flight request got %q, want finished", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := p.Update(cfg); err != ErrClosed {
		t.Errorf("Update after Shutdown = %v, want ErrClosed", err)
	}
}

func TestUpdateKeepsSocketAndMovesListeners(t *testing.T) {
	a := newBackend(t, "a", nil)
	b := newBackend(t, "b", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.TargetGroups = append(cfg.TargetGroups, TargetGroup{Name: "tg2", Targets: targetsOf(b)})
	h := newHarness(t, cfg, Options{})
	c := newClient(t)
	get(t, c, h.url+"/") // opens a keep-alive connection

	// Same port, new default action: the open connection sees it.
	cfg = h.cfg
	cfg.LoadBalancers[0].Listeners = []Listener{{Port: h.port, DefaultActions: forwardTo("tg2")}}
	if err := h.p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	resp, _ := get(t, c, h.url+"/")
	if got := resp.Header.Get("X-Backend"); got != "b" {
		t.Errorf("after update went to %q, want b", got)
	}

	// Move to another port: the old one closes.
	newPort := freePort(t)
	cfg.LoadBalancers[0].Listeners = []Listener{{Port: newPort, DefaultActions: forwardTo("tg")}}
	if err := h.p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	resp, _ = get(t, c, fmt.Sprintf("http://127.0.0.1:%d/", newPort))
	if resp.StatusCode != 200 {
		t.Errorf("new port: status %d", resp.StatusCode)
	}
	waitFor(t, 2*time.Second, "the old listener to close", func() bool {
		_, err := http.Get(h.url + "/")
		return err != nil
	})
	if got := h.p.Addrs(); len(got) != 1 || !strings.HasSuffix(got[0], fmt.Sprint(newPort)) {
		t.Errorf("Addrs = %v, want only port %d", got, newPort)
	}
}
