package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"time"
)

// h2cPreface starts every HTTP/2 connection with prior knowledge.
const h2cPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// h2Gateway serves h2c (HTTP/2 over cleartext with prior knowledge) with
// net/http's HTTP/2 server. Each stream is turned into an HTTP/1.1
// request and run through the same engine as HTTP/1.1 clients, over an
// in-memory pipe, so routing, stickiness, retries, headers, metrics and
// access logs behave the same. Targets always receive HTTP/1.1, as on
// AWS.
type h2Gateway struct {
	p *Proxy

	// mu guards the fields that follow.
	mu      sync.Mutex
	servers map[time.Duration]*h2Server // by idle timeout
	closed  bool
}

// h2Server is one HTTP/2 server, for the load balancers with one idle
// timeout (net/http's idle timeout is per server).
type h2Server struct {
	srv *http.Server
	ln  *chanListener
}

type ctxKey struct{}

func newH2Gateway(p *Proxy) *h2Gateway {
	return &h2Gateway{p: p, servers: map[time.Duration]*h2Server{}}
}

// server returns the running server for idle, starting it if needed, or
// nil after shutdown.
func (g *h2Gateway) server(idle time.Duration) *h2Server {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	if s := g.servers[idle]; s != nil {
		return s
	}
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	s := &h2Server{ln: newChanListener()}
	s.srv = &http.Server{
		Handler:     g,
		Protocols:   &protos,
		IdleTimeout: idle,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, ctxKey{}, c)
		},
	}
	g.servers[idle] = s
	g.p.wg.Add(1)
	go func() {
		defer g.p.wg.Done()
		s.srv.Serve(s.ln)
	}()
	return s
}

// handoff passes a client connection whose first bytes were the h2c
// preface to the HTTP/2 server for its load balancer's idle timeout;
// buffered holds the bytes read so far. counted means the connection is
// in p.offLoop until it closes.
func (g *h2Gateway) handoff(l *listener, nc net.Conn, buffered []byte, counted bool) {
	pc := &prefixConn{Conn: nc, prefix: append([]byte(nil), buffered...), l: l}
	if counted {
		pc.p = g.p
	}
	idle := DefaultIdleTimeout
	if lc := l.cfg.Load(); lc != nil && lc.lb.cfg.IdleTimeout > 0 {
		idle = lc.lb.cfg.IdleTimeout
	}
	s := g.server(idle)
	if s == nil || !s.ln.push(pc) {
		pc.Close()
	}
}

// shutdown stops the HTTP/2 servers gracefully, then forcefully when ctx
// ends.
func (g *h2Gateway) shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	servers := g.servers
	g.servers = nil
	g.mu.Unlock()
	var first error
	for _, s := range servers {
		if err := s.srv.Shutdown(ctx); err != nil {
			s.srv.Close()
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// ServeHTTP runs one HTTP/2 stream through the HTTP/1.1 engine.
func (g *h2Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pc, _ := r.Context().Value(ctxKey{}).(*prefixConn)
	if pc == nil {
		http.Error(w, "no connection", http.StatusInternalServerError)
		return
	}
	inner, outer := net.Pipe()
	ec := &pipeConn{Conn: inner, local: pc.LocalAddr(), remote: pc.RemoteAddr()}
	l := pc.l
	c := newConn(l, ec)
	c.internal = true
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()
	go c.serve()
	defer outer.Close()

	// Write the request on its own goroutine: the pipe is synchronous and
	// the engine may answer before it reads the whole body.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := writeH1Request(outer, r); err != nil {
			outer.Close()
		}
	}()
	defer wg.Wait()

	resp, err := http.ReadResponse(bufio.NewReader(outer), r)
	if err != nil {
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
			continue
		}
		w.Header()[k] = vs
	}
	if resp.ContentLength >= 0 && r.Method != "HEAD" {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// writeH1Request writes r as an HTTP/1.1 request that closes the
// connection after it.
func writeH1Request(w io.Writer, r *http.Request) error {
	bw := bufio.NewWriterSize(w, 4096)
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	bw.WriteString(r.Method + " " + uri + " HTTP/1.1\r\nHost: " + r.Host + "\r\n")
	for k, vs := range r.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Content-Length", "Upgrade", "Te":
			continue
		}
		for _, v := range vs {
			bw.WriteString(k + ": " + v + "\r\n")
		}
	}
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	chunked := hasBody && r.ContentLength < 0
	switch {
	case chunked:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case hasBody:
		bw.WriteString("Content-Length: " + strconv.FormatInt(r.ContentLength, 10) + "\r\n")
	}
	bw.WriteString("Connection: close\r\n\r\n")
	if hasBody {
		var dst io.Writer = bw
		var cw io.WriteCloser
		if chunked {
			cw = httputil.NewChunkedWriter(bw)
			dst = cw
		}
		if _, err := io.Copy(dst, r.Body); err != nil {
			return err
		}
		if cw != nil {
			if err := cw.Close(); err != nil {
				return err
			}
			bw.WriteString("\r\n")
		}
	}
	return bw.Flush()
}

// prefixConn replays bytes already read from a connection.
type prefixConn struct {
	net.Conn
	prefix []byte
	l      *listener
	p      *Proxy // set while the connection counts in p.offLoop
	closed sync.Once
}

// Close closes the connection and ends its count in p.offLoop.
func (c *prefixConn) Close() error {
	c.closed.Do(func() {
		if c.p != nil {
			c.p.offLoop.Add(-1)
		}
	})
	return c.Conn.Close()
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// pipeConn is the engine's end of an in-memory stream, with the real
// client's addresses.
type pipeConn struct {
	net.Conn
	local, remote net.Addr
}

func (c *pipeConn) LocalAddr() net.Addr  { return c.local }
func (c *pipeConn) RemoteAddr() net.Addr { return c.remote }

// chanListener is a net.Listener fed with handed-off connections.
type chanListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.closed:
		return false
	case <-time.After(5 * time.Second):
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

var _ net.Listener = (*chanListener)(nil)
