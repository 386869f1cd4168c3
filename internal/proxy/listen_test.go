package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestListenHookServesGivenSocket: a proxy with Options.Listen serves on
// the socket the hook returns (one bound before the proxy existed, as
// after a socket takeover) and binds through the hook only for new
// listeners.
func TestListenHookServesGivenSocket(t *testing.T) {
	b := newBackend(t, "a", nil)
	pre, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pre.Addr().(*net.TCPAddr).Port
	var asked []string
	p := New(testOptions(Options{Listen: func(addr string) (net.Listener, error) {
		asked = append(asked, addr)
		if addr == pre.Addr().String() {
			return pre, nil
		}
		return net.Listen("tcp", addr)
	}}))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()
	cfg := simpleConfig(TargetGroup{Name: "g", Targets: targetsOf(b)})
	cfg.LoadBalancers[0].Listeners[0].Port = port
	if err := p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	if resp, body := get(t, c, url); resp.StatusCode != 200 {
		t.Fatalf("GET through the given socket: %d %s", resp.StatusCode, body)
	}
	// The same configuration again binds nothing.
	if err := p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != pre.Addr().String() {
		t.Fatalf("Listen was asked for %v, want [%s] once", asked, pre.Addr())
	}
}

// TestDrainLingerAnswersNextRequest: with Options.DrainLinger, a
// kept-alive connection whose listener began closing while it served a
// request (so that response could not say Connection: close) still
// answers the client's next request, with Connection: close, instead of
// closing under it.
func TestDrainLingerAnswersNextRequest(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	b := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	})
	h := newHarness(t, simpleConfig(TargetGroup{Name: "g", Targets: targetsOf(b)}), Options{DrainLinger: 5 * time.Second})
	nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(h.port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	if _, err := io.WriteString(nc, "GET /slow HTTP/1.1\r\nHost: lb\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-started
	// The listener goes away while the request is in flight.
	if err := h.p.Update(Config{TargetGroups: h.cfg.TargetGroups}); err != nil {
		t.Fatal(err)
	}
	close(release)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("in-flight request: %d close=%v; want 200 kept alive (it began before the drain)", resp.StatusCode, resp.Close)
	}
	// The client's next request, on the same connection, is answered.
	resp, body := exchange(t, nc, br, "GET / HTTP/1.1\r\nHost: lb\r\n\r\n")
	if resp.StatusCode != 200 || !resp.Close || body != "ok" {
		t.Fatalf("next request: %d close=%v %q; want 200 with Connection: close", resp.StatusCode, resp.Close, body)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the close response: %v, want EOF", err)
	}
}

// TestShutdownWaitsForRetiredListeners: Shutdown right after an Update
// removed a listener whose kept-alive connection still lingers ends that
// connection too, and returns, rather than stopping the event loops under
// it.
func TestShutdownWaitsForRetiredListeners(t *testing.T) {
	b := newBackend(t, "a", nil)
	p := New(testOptions(Options{DrainLinger: 200 * time.Millisecond}))
	cfg := simpleConfig(TargetGroup{Name: "g", Targets: targetsOf(b)})
	cfg.LoadBalancers[0].Listeners[0].Port = freePort(t)
	if err := p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(cfg.LoadBalancers[0].Listeners[0].Port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	if resp, _ := exchange(t, nc, br, "GET / HTTP/1.1\r\nHost: lb\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	if err := p.Update(Config{TargetGroups: cfg.TargetGroups}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Shutdown(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return with a retired listener's connection open")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("the retired listener's connection after Shutdown: %v, want EOF", err)
	}
}
