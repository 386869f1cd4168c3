package proxy

import (
	"context"
	"net"
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
