package proxy

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/madang-dev/madang/internal/accesslog"
	"github.com/madang-dev/madang/internal/http1"

	"github.com/madang-dev/madang/internal/balance"
)

// maxXFFEntries is the most X-Forwarded-For entries a request may carry;
// more get 463, as on AWS.
const maxXFFEntries = 30

// Connection states, for graceful close.
const (
	stateActive int32 = iota
	stateIdle
)

// conn is one client connection speaking HTTP/1.1. Its engine runs its
// request code: on an event loop as a coroutine of the loop's thread
// (WebSocket tunnels too), or on a goroutine of its own (plus one more
// while a WebSocket is tunnelled); see engine.
type conn struct {
	p        *Proxy
	l        *listener
	nc       net.Conn
	io       sockIO
	remote   netip.AddrPort
	clientIP string // "ip"
	client   string // "ip:port"
	created  time.Time
	state    atomic.Int32

	rbuf     []byte
	r, w     int
	scanned  int // bytes of rbuf[r:w] known not to hold a head end
	wbuf     []byte
	head     []byte
	rdl, wdl time.Time

	req  request
	resp http1.Response
	nreq int
	// lingered is set once the connection waited for a next request
	// after its listener began closing (Options.DrainLinger).
	lingered bool

	// Per-request state.
	lc      *listenerConfig
	closing bool // close after this response
	now     time.Time
	entry   logEntry
	cand    []*balance.Target
	tried   [3]*member
	ntried  int
	stickLB *member // target to put in AWSALB
	stickTG string  // AWSALBTG value
	tgExp   *expiryCache
	appCk   string // app cookie name to watch in responses
	group   *groupRuntime
	chunk   http1.ChunkScanner
	logBuf  []byte
	alEntry accesslog.Entry
	lastNow time.Time // a recent clock reading for socket deadlines; zero when stale

	// guard counts c in its load balancer's header phase (nil: c is not
	// in it); headStart is when the phase began, which the header timeout
	// runs from.
	guard     *headerGuard
	headStart time.Time
	respAt    time.Time // when the current attempt's response head arrived

	internal bool // an HTTP/2 stream's in-memory connection
	// active is the ActiveConns gauge of the load balancer the
	// connection was accepted for (nil: none was configured), so that it
	// is given back to the same one after an Update.
	active  *atomic.Int64
	handoff bool // the client speaks h2c: hand the socket over

	// lp is the event loop serving the connection, nil when a goroutine
	// does. It changes (to nil) only on the loop goroutine with l.mu held,
	// when the connection migrates; migrate asks for that.
	lp      *loop
	migrate bool
	offLoop bool // moved off a loop: counted in p.offLoop

	// upMu guards upNC and aborted: the target connection a goroutine-
	// served request waits on, closed by forceClose.
	upMu    sync.Mutex
	upNC    net.Conn
	aborted bool
}

// clock returns a recent time for socket deadlines: the last reading when
// it is still fresh, else the current time. Deadlines tolerate slack, so
// this saves clock reads on every request.
func (c *conn) clock() time.Time {
	if c.lastNow.IsZero() {
		c.lastNow = time.Now()
	}
	return c.lastNow
}

// logTime returns t for the access log and metrics, or the injected clock
// when there is one.
func (c *conn) logTime(t time.Time) time.Time {
	if c.p.realClock {
		return t
	}
	return c.p.now()
}

func newConn(l *listener, nc net.Conn) *conn {
	c := &conn{p: l.p, l: l, nc: nc, created: time.Now()}
	c.io.init(nc)
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.remote = ta.AddrPort()
		c.remote = netip.AddrPortFrom(c.remote.Addr().Unmap(), c.remote.Port())
	}
	c.clientIP = c.remote.Addr().String()
	c.client = c.remote.String()
	c.req.sourceIP = c.remote.Addr()
	c.req.ContentLength = -1
	c.state.Store(stateIdle)
	c.countOpen()
	return c
}

// newLoopConn makes a connection for a raw socket that one of the
// proxy's event loops will serve.
func newLoopConn(l *listener, lp *loop, fd int, remote netip.AddrPort) *conn {
	c := &conn{p: l.p, l: l, created: time.Now(), remote: remote}
	c.lp = lp
	c.io.lp, c.io.fd = c.lp, fd
	c.clientIP = c.remote.Addr().String()
	c.client = c.remote.String()
	c.req.sourceIP = c.remote.Addr()
	c.req.ContentLength = -1
	c.state.Store(stateIdle)
	c.countOpen()
	return c
}

// countOpen counts the new connection in the proxy's and its load
// balancer's active connections.
func (c *conn) countOpen() {
	c.p.activeConns.Add(1)
	if lc := c.l.cfg.Load(); lc != nil {
		c.active = &lc.lb.stats.ActiveConns
		c.active.Add(1)
	}
}

// countClosed takes the closed connection out of the counts countOpen
// put it in.
func (c *conn) countClosed() {
	c.p.activeConns.Add(-1)
	if c.active != nil {
		c.active.Add(-1)
		c.active = nil
	}
}

// wakeIfIdle makes an idle connection's pending read return so that it
// notices its listener is closing. Called from another goroutine with
// c.l.mu held.
func (c *conn) wakeIfIdle() {
	if c.lp != nil {
		c.lp.wakeIdle(c)
		return
	}
	if c.state.Load() == stateIdle {
		c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// forceClose closes the connection under its user. Called from another
// goroutine with c.l.mu held.
func (c *conn) forceClose() {
	if c.lp != nil {
		c.lp.forceClose(c)
		return
	}
	c.nc.Close()
	c.upMu.Lock()
	c.aborted = true
	if c.upNC != nil {
		c.upNC.Close()
	}
	c.upMu.Unlock()
}

// watchUpstream makes forceClose close uc (nil: none) while a goroutine
// serves the connection; it reports false once forceClose ran.
func (c *conn) watchUpstream(uc *upConn) bool {
	if c.lp != nil || c.internal {
		return true
	}
	c.upMu.Lock()
	defer c.upMu.Unlock()
	c.upNC = nil
	if uc != nil {
		c.upNC = uc.nc
	}
	return !c.aborted
}

func (c *conn) serve() {
	if lc := c.l.cfg.Load(); lc != nil && !c.internal {
		lc.lb.stats.NewConns.Add(1)
	}
	if c.rbuf == nil {
		c.rbuf = make([]byte, 8<<10)
	}
	c.run(false)
}

// reuseBuffers takes the buffers of old, a finished connection, unless
// they grew large.
func (c *conn) reuseBuffers(old *conn) {
	if old == nil {
		return
	}
	if len(old.rbuf) <= 64<<10 {
		c.rbuf = old.rbuf
	}
	if cap(old.wbuf) <= 64<<10 {
		c.wbuf = old.wbuf[:0]
	}
	c.head = old.head[:0]
	c.logBuf = old.logBuf[:0]
	c.cand = old.cand[:0]
	c.req.Headers = old.req.Headers[:0]
	c.resp.Headers = old.resp.Headers[:0]
}

// run serves requests until the connection closes or, on an event loop,
// must move to a goroutine of its own (c.migrate: the client sent the h2c
// preface). resumed means it runs on that goroutine, only to hand the
// connection to the HTTP/2 server.
func (c *conn) run(resumed bool) {
	defer func() {
		c.leaveHead()
		if c.migrate {
			return // the loop passes the socket on
		}
		switch {
		case c.handoff:
			c.p.h2.handoff(c.l, c.nc, c.rbuf[c.r:c.w], c.offLoop)
			c.offLoop = false // the HTTP/2 connection counts itself
		case c.lp != nil:
			c.lp.closeFD(c.io.fd)
		default:
			c.nc.Close()
		}
		if c.offLoop {
			c.p.offLoop.Add(-1)
		}
		c.countClosed()
		c.l.remove(c)
	}()
	if resumed {
		return
	}
	for {
		lc := c.l.cfg.Load()
		if !c.readRequest(lc) {
			return
		}
		if !c.handle() {
			return
		}
	}
}

// readRequest reads and parses the next request head. It returns false
// when the connection should close.
func (c *conn) readRequest(lc *listenerConfig) bool {
	idle := lc.lb.cfg.IdleTimeout
	slack := lc.lb.idleSlack
	if c.r == c.w {
		c.r, c.w, c.scanned = 0, 0, 0
		c.state.Store(stateIdle)
	}
	for {
		if c.w > c.r {
			buf := c.rbuf[c.r:c.w]
			if c.nreq == 0 && lc.lb.cfg.HTTP2 && !c.internal && buf[0] == 'P' {
				n := min(len(buf), len(h2cPreface))
				if string(buf[:n]) == h2cPreface[:n] {
					if n == len(h2cPreface) {
						c.handoff = true
						c.migrate = c.lp != nil
						return false
					}
					goto read
				}
			}
			from := c.scanned - 3
			if from < 0 {
				from = 0
			}
			if i := http1.HeadEnd(buf[from:]); i >= 0 {
				n := from + i + 4
				c.leaveHead()
				c.state.Store(stateActive)
				c.head = append(c.head[:0], buf[:n]...)
				c.r += n
				c.scanned = 0
				c.now = time.Now()
				c.lastNow = c.now
				c.lc = c.l.cfg.Load()
				c.req.Reset()
				http1.ParseRequest(&c.req.Request, c.head)
				c.nreq++
				return true
			}
			c.scanned = len(buf)
			if len(buf) > http1.MaxRequestHead+http1.MaxRequestLine {
				c.lc = lc
				c.req.Reset()
				c.now = time.Now()
				if bytes.IndexByte(buf, '\n') < 0 {
					c.errorResponse(414, "RequestLineTooLong", true)
				} else {
					c.errorResponse(400, "HeaderTooLarge", true)
				}
				return false
			}
		}
	read:
		if c.l.draining.Load() && c.r == c.w {
			if c.p.drainLinger <= 0 || c.lingered {
				return false
			}
			// Wait a little for the client's next request (often on
			// its way) and answer it with Connection: close, rather
			// than close the connection under it.
			c.lingered = true
			idle, slack = c.p.drainLinger, 0
		}
		// Make room.
		if c.w == len(c.rbuf) {
			if c.r > 0 {
				c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
				c.scanned -= 0
				c.r = 0
			} else {
				nb := make([]byte, 2*len(c.rbuf))
				copy(nb, c.rbuf[:c.w])
				c.rbuf = nb
			}
		}
		// Keep-alive idleness is bounded by the idle timeout, a request
		// head in progress also by the header timeout.
		dl := c.clock().Add(idle)
		if c.w > c.r || c.guard != nil {
			if !c.enterHead(lc.lb, c.clock()) {
				return false // the client IP has too many unfinished heads
			}
			if hd := c.headStart.Add(lc.lb.cfg.HeaderTimeout); hd.Before(dl) {
				dl = hd
			}
		}
		c.setReadDeadlineAt(dl, slack)
		if c.w == c.r && c.lp == nil {
			// Let other connections run first: by the time this one is
			// scheduled again its next request has often arrived, which
			// saves a read that would find nothing.
			runtime.Gosched()
		}
		n, err := c.io.Read(c.rbuf[c.w:])
		c.lastNow = time.Time{}
		c.w += n
		if n > 0 {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.rdl = time.Time{}
			partial := c.w > c.r
			if c.guard != nil && (partial || c.nreq == 0) && !time.Now().Before(c.headStart.Add(lc.lb.cfg.HeaderTimeout-slack)) {
				c.lc = lc
				c.req.Reset()
				c.now = time.Now()
				c.errorResponse(408, "RequestHeaderTimeout", true)
				return false
			}
			if c.l.draining.Load() && !partial {
				return false
			}
			if c.l.draining.Load() {
				continue // finish reading the request that is arriving
			}
			if partial || c.nreq == 0 {
				c.lc = lc
				c.req.Reset()
				c.now = time.Now()
				c.errorResponse(408, "ClientIdleTimeout", true)
			}
			return false
		}
		return false
	}
}

func (c *conn) setReadDeadline(now time.Time, d, slack time.Duration) {
	c.setReadDeadlineAt(now.Add(d), slack)
}

// setReadDeadlineAt sets the client read deadline to want, leaving a
// goroutine-served socket's deadline alone when it is within slack.
func (c *conn) setReadDeadlineAt(want time.Time, slack time.Duration) {
	if c.lp != nil {
		c.io.rdl = want.UnixNano()
		return
	}
	if diff := want.Sub(c.rdl); diff > slack || diff < -slack {
		c.rdl = want
		c.nc.SetReadDeadline(want)
	}
}

func (c *conn) setWriteDeadline(now time.Time, d, slack time.Duration) {
	want := now.Add(d)
	if c.lp != nil {
		c.io.wdl = want.UnixNano()
		return
	}
	if diff := want.Sub(c.wdl); diff > slack || diff < -slack {
		c.wdl = want
		c.nc.SetWriteDeadline(want)
	}
}

// handle serves one parsed request and reports whether to keep the
// connection open.
func (c *conn) handle() bool {
	lc := c.lc
	r := &c.req
	lb := lc.lb
	c.closing = r.Close && !(r.Minor == 0 && r.KeepAlive)
	if c.l.draining.Load() || c.now.Sub(c.created) > lb.cfg.ClientKeepAlive {
		c.closing = true
	}
	c.entry.reset(c.logTime(c.now))
	c.entry.received = int64(len(c.head))
	c.ntried = 0
	c.stickLB, c.stickTG, c.appCk, c.group = nil, "", "", nil

	if r.Status != 0 {
		lb.stats.DesyncNonCompliant.Add(1)
		c.entry.class, c.entry.classReason = http1.ClassSevere, r.Reason
		c.errorResponse(r.Status, r.Reason, true)
		return false
	}
	switch string(r.Method) {
	case "TRACE":
		c.discardBody()
		return c.errorResponse(405, "TraceNotAllowed", c.closing)
	case "CONNECT":
		return c.errorResponse(400, "ConnectNotAllowed", true)
	}
	if r.XFFEntries > maxXFFEntries {
		c.discardBody()
		return c.errorResponse(463, "XForwardedForTooManyEntries", c.closing)
	}
	if r.InvalidNames > 0 {
		if lb.dropNames {
			lb.stats.DroppedInvalidHeader.Add(1)
		} else {
			for i := range r.Headers {
				r.Headers[i].Drop = false
			}
			lb.stats.ForwardedInvalidHeader.Add(1)
			r.Classify(http1.ClassAcceptable, "NonCompliantHeader")
		}
	}
	if r.Class != http1.ClassCompliant {
		lb.stats.DesyncNonCompliant.Add(1)
		c.entry.class, c.entry.classReason = r.Class, r.ClassReason
		switch {
		case lb.desync == 2:
			return c.errorResponse(400, r.ClassReason, true)
		case lb.desync == 1 && r.Class == http1.ClassAmbiguous:
			c.closing = true
		}
	}

	rule := lc.table.Match((*routeRequest)(r))
	lb.stats.RuleEvaluations.Add(1)
	cr := lc.rules[rule]
	c.entry.rule = cr.priority
	c.entry.actions = cr.executed
	switch cr.kind {
	case actForward:
		return c.forward(cr.forward)
	case actRedirect:
		lb.stats.Requests.Add(1)
		lb.stats.Redirects.Add(1)
		c.discardBody()
		return c.redirect(cr.redirect)
	case actFixed:
		lb.stats.Requests.Add(1)
		lb.stats.Fixed.Add(1)
		c.discardBody()
		return c.fixedResponse(cr.fixed)
	default:
		lb.stats.Requests.Add(1)
		c.discardBody()
		return c.serveStatic(cr.static)
	}
}

// discardBody skips a request body that is not forwarded; if it is not
// already buffered the connection is closed after the response.
func (c *conn) discardBody() {
	r := &c.req
	if !r.HasBody {
		return
	}
	if !r.Chunked && r.ContentLength <= int64(c.w-c.r) {
		c.r += int(r.ContentLength)
		c.entry.received += r.ContentLength
		return
	}
	if r.Chunked {
		c.chunk.Reset()
		n, err := c.chunk.Scan(c.rbuf[c.r:c.w])
		if err == nil && c.chunk.Done() {
			c.r += n
			c.entry.received += int64(n)
			return
		}
	}
	c.closing = true
}

// flush writes the buffered response to the client.
func (c *conn) flush() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	lb := c.lc.lb
	c.setWriteDeadline(c.clock(), lb.cfg.IdleTimeout, lb.idleSlack)
	n, err := c.io.Write(c.wbuf)
	c.entry.sent += int64(n)
	if len(c.wbuf) > 16<<10 {
		c.lastNow = time.Time{} // a big write may have waited for the client
	}
	c.wbuf = c.wbuf[:0]
	return err
}

// writeDirect writes b to the client bypassing the buffer.
func (c *conn) writeDirect(b []byte) error {
	lb := c.lc.lb
	c.setWriteDeadline(time.Now(), lb.cfg.IdleTimeout, lb.idleSlack)
	n, err := c.io.Write(b)
	c.entry.sent += int64(n)
	c.lastNow = time.Time{}
	return err
}

// finish completes a response: flushes, writes the access log line and
// updates the ELB/target status counters.
func (c *conn) finish(err error) bool {
	if err == nil {
		err = c.flush()
	} else {
		c.wbuf = c.wbuf[:0]
	}
	if err != nil {
		c.closing = true
		if c.entry.elbStatus == 0 || c.entry.elbStatus < 400 {
			// The client went away before the response was sent.
			c.entry.elbStatus = 460
		}
	}
	c.logRequest()
	return !c.closing
}

// logRequest records metrics and the access log line.
func (c *conn) logRequest() {
	lb := c.lc.lb
	e := &c.entry
	if e.elbGenerated {
		lb.stats.CountELB(e.elbStatus)
	}
	lb.stats.ProcessedBytes.Add(e.received + e.sent)
	if lt := e.target; lt != nil {
		lt.bytesIn.Add(e.received)
		lt.bytesOut.Add(e.sent)
	}
	if lb.alog != nil {
		e.end = c.p.now()
		c.lastNow = time.Time{}
		c.writeLog(lb.alog, e)
	}
}

// errorResponse answers with a load-balancer generated error page.
func (c *conn) errorResponse(status int, reason string, closeConn bool) bool {
	if closeConn {
		c.closing = true
	}
	c.entry.elbStatus = status
	c.entry.elbGenerated = true
	c.entry.errorReason = reason
	c.lastNow = time.Time{}
	if status == 460 {
		c.logRequest()
		return false
	}
	c.wbuf = appendErrorPage(c.wbuf, status, c.closing, c.req.Method)
	return c.finish(nil)
}

var statusText = map[int]string{
	200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
	301: "Moved Permanently", 302: "Found", 304: "Not Modified",
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 408: "Request Timeout", 413: "Payload Too Large",
	414: "URI Too Long", 460: "Client Closed", 463: "X-Forwarded-For Too Long",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
	503: "Service Temporarily Unavailable", 504: "Gateway Time-out", 505: "HTTP Version Not Supported",
}

func reasonPhrase(status int) string {
	if s, ok := statusText[status]; ok {
		return s
	}
	return "Status " + strconv.Itoa(status)
}

// appendErrorPage renders an error page like AWS's.
func appendErrorPage(b []byte, status int, closeConn bool, method []byte) []byte {
	text := reasonPhrase(status)
	code := strconv.Itoa(status)
	body := "<html>\r\n<head><title>" + code + " " + text + "</title></head>\r\n<body>\r\n<center><h1>" + code + " " + text + "</h1></center>\r\n</body>\r\n</html>\r\n"
	b = append(b, "HTTP/1.1 "...)
	b = append(b, code...)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, "\r\nServer: madang\r\nContent-Type: text/html\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	if closeConn {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	if string(method) != "HEAD" {
		b = append(b, body...)
	}
	return b
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
