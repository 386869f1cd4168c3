package proxy

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newWSBackend is a target that upgrades /ws to a byte-echo WebSocket
// (frames are echoed verbatim; the proxy only tunnels bytes) and answers
// other paths normally.
func newWSBackend(t testing.TB, name string) *backend {
	return newBackend(t, name, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			w.Write([]byte("hello from " + name))
			return
		}
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return
		}
		nc, brw, err := hj.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Backend: " + name + "\r\nSec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
		brw.Flush()
		buf := make([]byte, 4096)
		for {
			n, err := brw.Read(buf)
			if n > 0 {
				if _, werr := nc.Write([]byte(name + ":" + string(buf[:n]))); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
}

// wsClient is an upgraded connection through the proxy.
type wsClient struct {
	nc      net.Conn
	br      *bufio.Reader
	backend string
}

func dialWS(t testing.TB, addr string) *wsClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(nc)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		nc.Close()
		t.Fatalf("handshake: status %d accept %q, want 101 and the right accept key", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	return &wsClient{nc: nc, br: br, backend: resp.Header.Get("X-Backend")}
}

// echo sends msg and returns the echo.
func (w *wsClient) echo(msg string) (string, error) {
	w.nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(w.nc, msg); err != nil {
		return "", err
	}
	want := len(w.backend) + 1 + len(msg)
	buf := make([]byte, want)
	if _, err := io.ReadFull(w.br, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

func TestWebSocketTunnel(t *testing.T) {
	a := newWSBackend(t, "a")
	logs := &syncBuffer{}
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.LoadBalancers[0].AccessLog = logs
	cfg.LoadBalancers[0].IdleTimeout = 2 * time.Second
	h := newHarness(t, cfg, Options{})
	ws := dialWS(t, h.addr())
	for _, msg := range []string{"one", "two", strings.Repeat("x", 3000)} {
		got, err := ws.echo(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got != "a:"+msg {
			t.Fatalf("echo = %q, want %q", got, "a:"+msg)
		}
	}
	ws.nc.Close()
	waitFor(t, 3*time.Second, "the WebSocket access-log line", func() bool { return strings.Contains(logs.String(), "ws ") })
	line := logs.String()
	if n := strings.Count(line, "\n"); n != 1 {
		t.Errorf("access log has %d lines, want 1 for the WebSocket:\n%s", n, line)
	}
	if !strings.Contains(line, " 101 101 ") {
		t.Errorf("access log line %q, want status 101", line)
	}
}

func (h *harness) addr() string { return "127.0.0.1:" + strconv.Itoa(h.port) }

// waitClosed reads from nc until the proxy closes it, failing if that
// takes longer than d.
func waitClosed(t *testing.T, r io.Reader, nc net.Conn, d time.Duration) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, r)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("tunnel not closed: %v", err)
	}
}

func TestWebSocketIdleTimeoutClosesTunnel(t *testing.T) {
	a := newWSBackend(t, "a")
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.LoadBalancers[0].IdleTimeout = 300 * time.Millisecond
	h := newHarness(t, cfg, Options{})
	ws := dialWS(t, h.addr())
	defer ws.nc.Close()
	if got, err := ws.echo("hi"); err != nil || got != "a:hi" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	start := time.Now()
	waitClosed(t, ws.br, ws.nc, 5*time.Second)
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("closed after %s, before the 300ms idle timeout", d)
	}
}

func TestWebSocketTargetCloseEndsTunnel(t *testing.T) {
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nbye")
		brw.Flush()
		nc.Close()
	})
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	h := newHarness(t, cfg, Options{})
	ws := dialWS(t, h.addr())
	defer ws.nc.Close()
	ws.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(ws.br)
	if err != nil || string(rest) != "bye" {
		t.Fatalf("after the target closed: read %q, %v; want %q then EOF", rest, err, "bye")
	}
}

// Shutdown's forced close ends open WebSockets too.
func TestShutdownEndsOpenWebSockets(t *testing.T) {
	a := newWSBackend(t, "a")
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.LoadBalancers[0].Listeners[0].Port = freePort(t)
	p := New(testOptions(Options{}))
	if err := p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	ws := dialWS(t, p.Addrs()[0])
	defer ws.nc.Close()
	if got, err := ws.echo("hi"); err != nil || got != "a:hi" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's deadline (the WebSocket outlives it)", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown took %s", d)
	}
	waitClosed(t, ws.br, ws.nc, 5*time.Second)
}
