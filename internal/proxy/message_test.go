package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBodiesAndFraming(t *testing.T) {
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo-sum":
			hs := sha256.New()
			n, _ := io.Copy(hs, r.Body)
			w.Header().Set("X-Len", strconv.FormatInt(n, 10))
			w.Write([]byte(hex.EncodeToString(hs.Sum(nil))))
		case "/chunked":
			f := w.(http.Flusher)
			for i := 0; i < 5; i++ {
				w.Write([]byte("part-"))
				f.Flush()
			}
		case "/nocontent":
			w.WriteHeader(204)
		case "/notmodified":
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(304)
		case "/big":
			w.Write(bytes.Repeat([]byte("z"), 1<<20))
		default:
			w.Write([]byte("ok"))
		}
	})
	// A target that ends its body by closing the connection.
	closer := listenRaw(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close body")
	})
	tg := TargetGroup{Name: "tg", Targets: targetsOf(a)}
	cfg := simpleConfig(tg)
	cfg.TargetGroups = append(cfg.TargetGroups, TargetGroup{Name: "closer", Targets: []Target{{ID: "c", Addr: closer, Weight: 1}}})
	cfg.LoadBalancers[0].Listeners[0].Rules = nil
	h := newHarness(t, cfg, Options{})
	c := newClient(t)

	t.Run("large streamed request body", func(t *testing.T) {
		body := bytes.Repeat([]byte("0123456789"), 300_000) // 3 MB, over the buffer limit
		want := sha256.Sum256(body)
		resp, err := c.Post(h.url+"/echo-sum", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != hex.EncodeToString(want[:]) {
			t.Errorf("target saw a different body (len %s)", resp.Header.Get("X-Len"))
		}
	})
	t.Run("chunked request body", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < 20; i++ {
				pw.Write(bytes.Repeat([]byte{'c'}, 10000))
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", h.url+"/echo-sum", pr)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Header.Get("X-Len") != "200000" {
			t.Errorf("target saw %s bytes, want 200000", resp.Header.Get("X-Len"))
		}
	})
	t.Run("expect 100-continue", func(t *testing.T) {
		tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
		defer tr.CloseIdleConnections()
		cc := &http.Client{Transport: tr}
		req, _ := http.NewRequest("POST", h.url+"/echo-sum", strings.NewReader("hello"))
		req.Header.Set("Expect", "100-continue")
		start := time.Now()
		resp, err := cc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Header.Get("X-Len") != "5" || time.Since(start) > 2*time.Second {
			t.Errorf("X-Len %q after %s, want 5 without waiting for the expect timeout", resp.Header.Get("X-Len"), time.Since(start))
		}
	})
	t.Run("chunked response", func(t *testing.T) {
		resp, body := get(t, c, h.url+"/chunked")
		if body != strings.Repeat("part-", 5) {
			t.Errorf("body = %q", body)
		}
		_ = resp
	})
	t.Run("bodyless responses keep the connection in sync", func(t *testing.T) {
		nc, err := net.Dial("tcp", h.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(nc)
		for _, tc := range []struct {
			method, path string
			status       int
		}{{"HEAD", "/big", 200}, {"GET", "/nocontent", 204}, {"GET", "/notmodified", 304}, {"GET", "/", 200}} {
			io.WriteString(nc, tc.method+" "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, &http.Request{Method: tc.method})
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, tc.path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
		}
	})
	t.Run("large response", func(t *testing.T) {
		_, body := get(t, c, h.url+"/big")
		if len(body) != 1<<20 {
			t.Errorf("body length = %d, want %d", len(body), 1<<20)
		}
	})
	t.Run("http/1.0 client gets decoded chunked body", func(t *testing.T) {
		nc, err := net.Dial("tcp", h.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		io.WriteString(nc, "GET /chunked HTTP/1.0\r\nHost: x\r\n\r\n")
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		raw, _ := io.ReadAll(nc)
		s := string(raw)
		if !strings.HasSuffix(s, "\r\n\r\n"+strings.Repeat("part-", 5)) || strings.Contains(strings.ToLower(s), "transfer-encoding") {
			t.Errorf("HTTP/1.0 response = %q, want a plain body ended by close", s)
		}
	})
	t.Run("http/1.0 keep-alive", func(t *testing.T) {
		nc, err := net.Dial("tcp", h.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(nc)
		for i := 0; i < 2; i++ {
			io.WriteString(nc, "GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok" || !strings.EqualFold(resp.Header.Get("Connection"), "keep-alive") {
				t.Fatalf("request %d: body %q Connection %q", i, b, resp.Header.Get("Connection"))
			}
		}
	})
	t.Run("pipelined requests", func(t *testing.T) {
		nc, err := net.Dial("tcp", h.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(nc, strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3))
		br := bufio.NewReader(nc)
		for i := 0; i < 3; i++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ok" {
				t.Fatalf("response %d body %q", i, b)
			}
		}
	})
	t.Run("close-delimited response", func(t *testing.T) {
		cfg2 := cfg
		cfg2.LoadBalancers = []LoadBalancer{cfg.LoadBalancers[0]}
		cfg2.LoadBalancers[0].Listeners = []Listener{{Port: h.port, DefaultActions: forwardTo("closer")}}
		if err := h.p.Update(cfg2); err != nil {
			t.Fatal(err)
		}
		defer h.p.Update(cfg)
		_, body := get(t, c, h.url+"/")
		if body != "until-close body" {
			t.Errorf("body = %q", body)
		}
	})
}

func TestDesyncModes(t *testing.T) {
	a := newBackend(t, "a", nil)
	tests := []struct {
		name    string
		mode    string
		drop    bool
		raw     string
		want    int
		wantHdr string // header the target must (not) see, "name=present|absent"
	}{
		{name: "defensive forwards ambiguous duplicate length", mode: "defensive", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", want: 200},
		{name: "strictest rejects ambiguous", mode: "strictest", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", want: 400},
		{name: "monitor still refuses smuggling", mode: "monitor", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: 400},
		{name: "invalid header name forwarded", mode: "defensive", raw: "GET / HTTP/1.1\r\nHost: x\r\nX_Under: 1\r\n\r\n", want: 200, wantHdr: "X_Under=present"},
		{name: "invalid header name dropped", mode: "defensive", drop: true, raw: "GET / HTTP/1.1\r\nHost: x\r\nX_Under: 1\r\n\r\n", want: 200, wantHdr: "X_Under=absent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
			cfg.LoadBalancers[0].DesyncMode = tc.mode
			cfg.LoadBalancers[0].DropInvalidHeaders = tc.drop
			h := newHarness(t, cfg, Options{})
			resp, _ := rawRoundTrip(t, h.addr(), tc.raw)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.wantHdr != "" {
				name, want, _ := strings.Cut(tc.wantHdr, "=")
				present := a.last().Header.Get(name) != ""
				if present != (want == "present") {
					t.Errorf("target saw header %s: %v, want %s", name, present, want)
				}
			}
		})
	}
}
