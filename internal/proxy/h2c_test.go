package proxy

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
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
