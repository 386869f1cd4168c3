package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestH2CPriorKnowledge(t *testing.T) {
	a := newBackend(t, "a", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.LoadBalancers[0].HTTP2 = true
	h := newHarness(t, cfg, Options{})

	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos, TLSClientConfig: &tls.Config{}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}

	tests := []struct {
		name   string
		method string
		body   string
	}{
		{name: "get", method: "GET"},
		{name: "post with body", method: "POST", body: strings.Repeat("b", 100000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, h.url+"/h2?x=1", body)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(got) != "hello from a" {
				t.Fatalf("proto %s status %d body %q, want HTTP/2 200 from a", resp.Proto, resp.StatusCode, got)
			}
			last := a.last()
			if last.ProtoMajor != 1 || last.URL.RequestURI() != "/h2?x=1" || last.Header.Get("X-Forwarded-For") != "127.0.0.1" {
				t.Errorf("target saw %s %s XFF %q, want HTTP/1.1 /h2?x=1 with XFF 127.0.0.1", last.Proto, last.URL.RequestURI(), last.Header.Get("X-Forwarded-For"))
			}
		})
	}

	t.Run("disabled", func(t *testing.T) {
		cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
		h2 := newHarness(t, cfg, Options{})
		tr := &http.Transport{Protocols: &protos}
		defer tr.CloseIdleConnections()
		if _, err := (&http.Client{Transport: tr}).Get(h2.url + "/"); err == nil {
			t.Errorf("h2c request succeeded with routing.http2.enabled off")
		}
	})
}

// An idle HTTP/2 connection closes after its load balancer's idle
// timeout, not a proxy-wide one.
func TestH2CIdleTimeoutPerLoadBalancer(t *testing.T) {
	a := newBackend(t, "a", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.LoadBalancers[0].HTTP2 = true
	cfg.LoadBalancers[0].IdleTimeout = 300 * time.Millisecond
	h := newHarness(t, cfg, Options{})
	nc, err := net.Dial("tcp", h.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// The preface and an empty SETTINGS frame; no stream is opened.
	io.WriteString(nc, h2cPreface+"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
	start := time.Now()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, nc); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("connection not closed: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		// net/http sends GOAWAY at the idle timeout and closes 1 s later.
		t.Errorf("idle HTTP/2 connection closed after %s, want the 300ms idle timeout plus the 1s GOAWAY grace", d)
	}
}
