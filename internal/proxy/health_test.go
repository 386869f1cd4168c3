package proxy

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestEligibleTargets(t *testing.T) {
	type state struct {
		healthy  bool
		known    bool // SetHealthy was called
		draining bool
		weight   int
	}
	tests := []struct {
		name    string
		targets map[string]state
		want    map[string]bool // targets allowed to receive requests
		status  int
	}{
		{name: "healthy only", targets: map[string]state{
			"a": {healthy: true, known: true, weight: 1}, "b": {known: true, weight: 1}, "c": {healthy: true, known: true, weight: 1},
		}, want: map[string]bool{"a": true, "c": true}, status: 200},
		{name: "initial targets wait for a check", targets: map[string]state{
			"a": {healthy: true, known: true, weight: 1}, "b": {weight: 1},
		}, want: map[string]bool{"a": true}, status: 200},
		{name: "fail open when none healthy", targets: map[string]state{
			"a": {known: true, weight: 1}, "b": {known: true, weight: 1},
		}, want: map[string]bool{"a": true, "b": true}, status: 200},
		{name: "draining excluded even when healthy", targets: map[string]state{
			"a": {healthy: true, known: true, weight: 1}, "b": {healthy: true, known: true, draining: true, weight: 1},
		}, want: map[string]bool{"a": true}, status: 200},
		{name: "fail open skips draining", targets: map[string]state{
			"a": {known: true, weight: 1}, "b": {known: true, draining: true, weight: 1},
		}, want: map[string]bool{"a": true}, status: 200},
		{name: "weight zero excluded", targets: map[string]state{
			"a": {healthy: true, known: true, weight: 1}, "b": {healthy: true, known: true, weight: 0},
		}, want: map[string]bool{"a": true}, status: 200},
		{name: "all draining is 503", targets: map[string]state{
			"a": {healthy: true, known: true, draining: true, weight: 1},
		}, want: map[string]bool{}, status: 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			backends := map[string]*backend{}
			tg := TargetGroup{Name: "tg"}
			for id, st := range tc.targets {
				b := newBackend(t, id, nil)
				backends[id] = b
				tg.Targets = append(tg.Targets, Target{ID: id, Addr: b.addr(), Weight: st.weight, Draining: st.draining})
			}
			p := New(testOptions(Options{}))
			// Health may arrive before the target is configured.
			for id, st := range tc.targets {
				if st.known {
					p.SetHealthy("tg", id, st.healthy, time.Now())
				}
			}
			cfg := simpleConfig(tg)
			cfg.LoadBalancers[0].Listeners[0].Port = freePort(t)
			if err := p.Update(cfg); err != nil {
				t.Fatal(err)
			}
			h := &harness{t: t, p: p, port: cfg.LoadBalancers[0].Listeners[0].Port}
			h.url = "http://127.0.0.1:" + strconv.Itoa(h.port)
			t.Cleanup(func() { shutdown(t, p) })
			c := newClient(t)
			for i := 0; i < 20; i++ {
				resp, _ := get(t, c, h.url+"/")
				if resp.StatusCode != tc.status {
					t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
				}
			}
			for id, b := range backends {
				if got := b.count(); got > 0 && !tc.want[id] {
					t.Errorf("target %s got %d requests, want none", id, got)
				} else if got == 0 && tc.want[id] {
					t.Errorf("target %s got no requests, want some", id)
				}
			}
		})
	}
}

func TestDrainingKeepsInFlight(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	slow := newBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		w.Write([]byte("slow done"))
	})
	fast := newBackend(t, "fast", nil)
	tg := TargetGroup{Name: "tg", Targets: []Target{{ID: "slow", Addr: slow.addr(), Weight: 1}}}
	h := newHarness(t, simpleConfig(tg), Options{})
	c := newClient(t)

	var wg sync.WaitGroup
	var status int
	var body string
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, b := get(t, c, h.url+"/slow")
		status, body = resp.StatusCode, b
	}()
	<-started
	cfg := h.cfg
	cfg.LoadBalancers[0].Listeners[0].Port = h.port
	cfg.TargetGroups = []TargetGroup{{Name: "tg", Targets: []Target{
		{ID: "slow", Addr: slow.addr(), Weight: 1, Draining: true},
		{ID: "fast", Addr: fast.addr(), Weight: 1},
	}}}
	if err := h.p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		resp, _ := get(t, c, h.url+"/")
		if got := resp.Header.Get("X-Backend"); got != "fast" {
			t.Fatalf("new request went to %q, want fast (slow is draining)", got)
		}
	}
	close(release)
	wg.Wait()
	if status != 200 || body != "slow done" {
		t.Errorf("in-flight request on draining target: status %d body %q, want 200 \"slow done\"", status, body)
	}
}

func shutdown(t testing.TB, p *Proxy) {
	t.Helper()
	ctxDone := make(chan error, 1)
	go func() { ctxDone <- p.Shutdown(ctxWithTimeout(t, 5*time.Second)) }()
	if err := <-ctxDone; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
