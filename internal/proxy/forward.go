package proxy

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"time"

	"github.com/madang-dev/madang/internal/balance"
	"github.com/madang-dev/madang/internal/http1"
)

// Request bodies up to this size are buffered before dispatch, so the
// request can be retried on another target.
const maxBufferedBody = 64 << 10

// attemptResult is how one attempt to a target ended.
type attemptResult uint8

const (
	attemptDone       attemptResult = iota // response relayed (or client gone)
	attemptRetry                           // failed before the target saw the request: try another target
	attemptRetryReset                      // reset before any response byte: retry if idempotent and within budget
	attemptFail                            // failed; c.entry holds the error status
)

// forward runs a forward action.
func (c *conn) forward(fa *forwardAction) bool {
	lb := c.lc.lb
	r := &c.req
	wg := c.pickGroup(fa)
	if wg == nil {
		return c.errorResponse(503, "NoTargetGroupWeight", c.closing)
	}
	g := wg.g
	c.group = g
	c.entry.group = g
	set := g.eligible.Load()
	if !g.hasTargets || set == nil || len(set.bts) == 0 {
		c.discardBody()
		return c.errorResponse(503, "NoRegisteredTargets", c.closing)
	}
	lb.stats.Requests.Add(1)
	wg.stats.Requests.Add(1)

	// Buffer small bodies so they can be replayed.
	var body []byte
	buffered := true
	if r.HasBody {
		if r.ExpectContinue && r.Minor == 1 && c.w == c.r {
			c.wbuf = append(c.wbuf, "HTTP/1.1 100 Continue\r\n\r\n"...)
			if err := c.flush(); err != nil {
				return c.finish(err)
			}
		}
		var ok bool
		body, buffered, ok = c.bufferBody()
		if ok && buffered {
			c.r += len(body)
			c.entry.received += int64(len(body))
		}
		if !ok {
			if c.entry.elbStatus != 0 {
				return c.errorResponse(c.entry.elbStatus, c.entry.errorReason, true)
			}
			c.closing = true
			c.entry.elbStatus = 460
			c.entry.errorReason = "ClientClosed"
			return c.finish(errClientGone)
		}
	}

	// Stickiness.
	var sticky *member
	stickyOn := g.sticky.Enabled
	if stickyOn {
		var v []byte
		if g.sticky.Type == "app_cookie" {
			v = r.CookieValue("AWSALBAPP")
			c.appCk = g.sticky.CookieName
		} else {
			v = r.CookieValue("AWSALB")
			if v == nil {
				v = r.CookieValue("AWSALBCORS")
			}
		}
		if v != nil {
			if m := g.byCookie[string(v)]; m != nil && m.eligible.Load() {
				sticky = m
			}
		}
		if sticky == nil {
			lb.stats.NonSticky.Add(1)
		}
	}
	key := c.hashKey(g)
	// The zone node (cross-zone off) is assigned at the first choice,
	// so requests served by their sticky target take no node's turn.
	node, assigned := -1, false

	g.shared.active.Add(1)
	retries := 0 // retry-budget slots held until the request ends
	defer func() {
		g.shared.active.Add(-1)
		g.shared.doneRetries(retries)
		// A request that got no response counts in the zone of the
		// target it was last sent to (relay counts the others).
		if c.ntried > 0 && c.entry.targetStatus == 0 {
			if zs := wg.zoneStats(c.tried[c.ntried-1]); zs != nil {
				zs.Requests.Add(1)
			}
		}
	}()
	idempotent := isIdempotent(r.Method)
	for attempt := 0; attempt < 3; attempt++ {
		var m *member
		if attempt == 0 && sticky != nil {
			m = sticky
		} else {
			if !assigned {
				node, assigned = wg.zoneNode(g.eligible.Load()), true
			}
			m = c.choose(g, node, key)
		}
		if m == nil {
			break
		}
		c.tried[c.ntried] = m
		c.ntried++
		if stickyOn && g.sticky.Type == "lb_cookie" {
			c.stickLB = m
		}
		res := c.attempt(g, wg, m, body, buffered)
		switch res {
		case attemptDone:
			return !c.closing
		case attemptRetry:
			continue
		case attemptRetryReset:
			if !idempotent || !buffered || !g.shared.allowRetry() {
				return c.errorResponse(c.entry.elbStatus, c.entry.errorReason, true)
			}
			retries++
			continue
		default:
			return c.errorResponse(c.entry.elbStatus, c.entry.errorReason, true)
		}
	}
	if c.entry.elbStatus == 0 {
		c.entry.elbStatus = 503
		c.entry.errorReason = "NoEligibleTargets"
	}
	return c.errorResponse(c.entry.elbStatus, c.entry.errorReason, c.closing)
}

var errClientGone = errors.New("client closed the connection")

// bufferBody makes a small request body available in memory. It returns
// the body when buffered, whether it is, and false if the client failed.
func (c *conn) bufferBody() ([]byte, bool, bool) {
	r := &c.req
	lb := c.lc.lb
	if r.Chunked {
		c.chunk.Reset()
		n, err := c.chunk.Scan(c.rbuf[c.r:c.w])
		if err != nil {
			c.entry.elbStatus, c.entry.errorReason = 400, "InvalidChunkedEncoding"
			c.entry.class, c.entry.classReason = http1.ClassSevere, "BadTransferEncoding"
			return nil, false, false
		}
		if c.chunk.Done() {
			return c.rbuf[c.r : c.r+n], true, true
		}
		return nil, false, true
	}
	n := int(r.ContentLength)
	if r.ContentLength > maxBufferedBody {
		return nil, false, true
	}
	for c.w-c.r < n {
		if len(c.rbuf)-c.r < n {
			nb := make([]byte, max(n+4096, len(c.rbuf)))
			c.w = copy(nb, c.rbuf[c.r:c.w])
			c.r = 0
			c.rbuf = nb
		} else if len(c.rbuf)-c.w < n-(c.w-c.r) {
			c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
			c.r = 0
		}
		c.setReadDeadline(time.Now(), lb.cfg.IdleTimeout, lb.idleSlack)
		k, err := c.io.Read(c.rbuf[c.w:])
		c.lastNow = time.Time{}
		c.w += k
		if k == 0 && err != nil {
			if isTimeout(err) {
				c.entry.elbStatus, c.entry.errorReason = 408, "ClientBodyTimeout"
			}
			return nil, false, false
		}
	}
	return c.rbuf[c.r : c.r+n], true, true
}

// pickGroup chooses the forward action's target group: the sticky one
// (AWSALBTG) if valid, else by weight.
func (c *conn) pickGroup(fa *forwardAction) *weightedGroup {
	if len(fa.groups) == 1 {
		if fa.groups[0].weight == 0 && fa.total == 0 {
			return nil
		}
		return &fa.groups[0]
	}
	if fa.total == 0 {
		return nil
	}
	if fa.sticky {
		if v := c.req.CookieValue("AWSALBTG"); v != nil {
			for i := range fa.groups {
				if fa.groups[i].weight > 0 && fa.groups[i].cookie == string(v) {
					c.stickTG = fa.groups[i].cookie
					c.tgExp = &fa.expires
					return &fa.groups[i]
				}
			}
		}
	}
	n := int(rand.Uint64N(uint64(fa.total)))
	for i := range fa.groups {
		n -= fa.groups[i].weight
		if n < 0 {
			if fa.sticky {
				c.stickTG = fa.groups[i].cookie
				c.tgExp = &fa.expires
			}
			return &fa.groups[i]
		}
	}
	return &fa.groups[len(fa.groups)-1]
}

// hashKey returns consistent hashing's key for the request.
func (c *conn) hashKey(g *groupRuntime) string {
	switch g.hash {
	case hashHeader:
		return b2s(c.req.HeaderValue(g.hashName))
	case hashCookie:
		return b2s(c.req.CookieValue(g.hashName))
	}
	return c.clientIP
}

// choose selects a target of g, among those of zone node node when it
// is not -1 (see weightedGroup.zoneNode), avoiding the ones already
// tried when another exists. When the request has failed on every target
// of its zone node, the retry goes to the group's targets in all zones
// rather than fail.
func (c *conn) choose(g *groupRuntime, node int, key string) *member {
	set := g.eligible.Load()
	bts, sel := g.pool(set, node)
	if node >= 0 && c.ntried > 0 && c.allTried(bts) {
		bts, sel = set.bts, g.sel
	}
	if c.ntried > 0 && len(bts) > c.ntried {
		c.cand = c.cand[:0]
	outer:
		for _, bt := range bts {
			for i := 0; i < c.ntried; i++ {
				if c.tried[i].bt == bt {
					continue outer
				}
			}
			c.cand = append(c.cand, bt)
		}
		bts = c.cand
	}
	bt := sel.Select(bts, key)
	if bt == nil {
		return nil
	}
	return g.byBT[bt]
}

// allTried reports whether the request was sent to every target of bts.
func (c *conn) allTried(bts []*balance.Target) bool {
outer:
	for _, bt := range bts {
		for i := 0; i < c.ntried; i++ {
			if c.tried[i].bt == bt {
				continue outer
			}
		}
		return false
	}
	return true
}

func isIdempotent(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE":
		return true
	}
	return false
}

// attempt sends the request to one target and relays its response.
func (c *conn) attempt(g *groupRuntime, wg *weightedGroup, m *member, body []byte, buffered bool) attemptResult {
	lb := c.lc.lb
	lt := m.lt
	idle := lb.cfg.IdleTimeout
	slack := lb.idleSlack
	now := time.Now()
	uc := lt.pool.get(now, c.lp, c.io.t)
	m.bt.Begin()
	lt.requests.Add(1)
	c.entry.target = lt
	c.entry.dispatched = c.logTime(now)
	c.respAt = time.Time{}
	start := now
	outcome := Outcome{}
	failed := true
	defer func() {
		c.watchUpstream(nil)
		end := c.respAt
		if end.IsZero() {
			end = time.Now()
		}
		outcome.Latency = end.Sub(start)
		m.bt.EndAt(end, outcome.Latency, failed)
		if c.p.obs != nil {
			c.p.obs.Observe(g.name, lt.id, outcome)
		}
	}()
	c.entry.addTried(lt.addr)

	for {
		if uc == nil {
			var err error
			uc, err = lt.pool.dial(c.lp, c.io.t, ConnectTimeout)
			if err != nil {
				outcome.ConnectFailed = true
				wg.stats.ConnErrors.Add(1)
				if zs := wg.zoneStats(m); zs != nil {
					zs.ConnErrors.Add(1)
				}
				lt.connErrors.Add(1)
				if isTimeout(err) {
					c.entry.setError(504, "TargetConnectTimeout")
					outcome.Timeout = true
				} else {
					c.entry.setError(502, "TargetConnectionError")
				}
				c.entry.addTriedStatus("-")
				return attemptRetry
			}
		}
		if !c.watchUpstream(uc) {
			uc.close()
			c.entry.setError(460, "ClientClosed")
			c.closing = true
			return attemptFail
		}
		uc.wbuf = c.appendUpstreamRequest(uc.wbuf[:0], m)
		if buffered && len(body) <= 32<<10 {
			uc.wbuf = append(uc.wbuf, body...)
		}
		uc.setWriteDeadline(now, idle, slack)
		_, err := uc.io.Write(uc.wbuf)
		if err == nil && buffered && len(body) > 32<<10 {
			_, err = uc.io.Write(body)
		}
		if err != nil {
			reused := uc.reused
			uc.close()
			uc = nil
			if reused {
				continue
			}
			outcome.Reset = true
			c.entry.setError(502, "TargetConnectionError")
			c.entry.addTriedStatus("-")
			return attemptRetry
		}
		if !buffered {
			if res, ok := c.streamBody(uc); !ok {
				uc.close()
				outcome.Reset = res == attemptFail
				c.entry.addTriedStatus("-")
				return res
			}
		}
		uc.setReadDeadline(now, idle, slack)
		if uc.r == uc.w && c.lp == nil {
			// The target needs a moment: let other connections run
			// instead of issuing a read that would find nothing yet.
			runtime.Gosched()
		}
		got, err := uc.readHead()
		if err != nil {
			reused := uc.reused
			uc.close()
			uc = nil
			switch {
			case isTimeout(err):
				outcome.Timeout = true
				c.entry.setError(504, "TargetResponseTimeout")
				c.entry.addTriedStatus("-")
				return attemptFail
			case !got && reused && buffered:
				// The target closed an idle keep-alive connection as we
				// reused it: the request was not processed.
				now = time.Now()
				continue
			case errors.Is(err, errHeadTooLarge):
				c.entry.setError(502, "TargetResponseHeaderTooLarge")
				c.entry.addTriedStatus("-")
				return attemptFail
			case !got:
				outcome.Reset = true
				c.entry.setError(502, "TargetClosedConnection")
				c.entry.addTriedStatus("-")
				return attemptRetryReset
			default:
				outcome.Reset = true
				c.entry.setError(502, "TargetMalformedResponse")
				c.entry.addTriedStatus("-")
				return attemptFail
			}
		}
		return c.relay(g, wg, m, uc, &outcome, &failed)
	}
}

// statusStrings holds "100".."599" so that logging a status allocates
// nothing; it is never modified.
var statusStrings = func() []string {
	s := make([]string, 600)
	for i := 100; i < 600; i++ {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusString(code int) string {
	if code >= 100 && code < 600 {
		return statusStrings[code]
	}
	return strconv.Itoa(code)
}

var errTargetBody = errors.New("target failed while sending the body")

// appendUpstreamRequest writes the request head for the target.
func (c *conn) appendUpstreamRequest(b []byte, m *member) []byte {
	r := &c.req
	lc := c.lc
	lb := lc.lb
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = append(b, r.Target...)
	b = append(b, " HTTP/1.1\r\n"...)
	wroteHost := false
	var xff0 []byte
	xffMany := false
	for i := range r.Headers {
		h := &r.Headers[i]
		if h.Drop {
			continue
		}
		switch h.ID {
		case http1.FieldConnection, http1.FieldKeepAlive, http1.FieldProxyConnection, http1.FieldTE, http1.FieldTrailer,
			http1.FieldTransferEncoding, http1.FieldUpgrade, http1.FieldContentLength, http1.FieldHTTP2Settings,
			http1.FieldXForwardedProto, http1.FieldXForwardedPort, http1.FieldTraceID:
			continue
		case http1.FieldExpect:
			if r.ExpectContinue {
				continue
			}
		case http1.FieldHost:
			if r.AbsHost != nil {
				continue
			}
			wroteHost = true
		case http1.FieldXForwardedFor:
			if lb.xffRemove {
				continue
			}
			if lb.xffAppend {
				if xff0 == nil {
					xff0 = h.Value
				} else {
					xffMany = true
				}
				continue
			}
		}
		if r.ListedInConnection(h.Name) {
			continue
		}
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	if !wroteHost {
		b = append(b, "Host: "...)
		if r.AbsHost != nil {
			b = append(b, r.AbsHost...)
		} else {
			b = append(b, lb.cfg.Address...)
			b = append(b, ':')
			b = append(b, lc.portStr...)
		}
		b = append(b, "\r\n"...)
	}
	if lb.xffAppend {
		b = append(b, "X-Forwarded-For: "...)
		if xffMany {
			first := true
			for i := range r.Headers {
				if r.Headers[i].ID == http1.FieldXForwardedFor && len(r.Headers[i].Value) > 0 {
					if !first {
						b = append(b, ", "...)
					}
					b = append(b, r.Headers[i].Value...)
					first = false
				}
			}
			b = append(b, ", "...)
		} else if len(xff0) > 0 {
			b = append(b, xff0...)
			b = append(b, ", "...)
		}
		if lb.cfg.XFFClientPort {
			b = append(b, c.client...)
		} else {
			b = append(b, c.clientIP...)
		}
		b = append(b, "\r\n"...)
	}
	b = append(b, "X-Forwarded-Proto: http\r\nX-Forwarded-Port: "...)
	b = append(b, lc.portStr...)
	b = append(b, "\r\nX-Amzn-Trace-Id: "...)
	start := len(b)
	b = c.appendTraceID(b)
	c.entry.traceID = append(c.entry.traceID[:0], b[start:]...)
	b = append(b, "\r\n"...)
	if r.Chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	} else if r.ContentLength >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, r.ContentLength, 10)
		b = append(b, "\r\n"...)
	}
	if r.ConnUpgrade && len(r.Upgrade) > 0 && !http1.LowerEq(r.Upgrade, "h2c") {
		b = append(b, "Connection: Upgrade\r\nUpgrade: "...)
		b = append(b, r.Upgrade...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return b
}

const hexDigits = "0123456789abcdef"

// appendTraceID writes the X-Amzn-Trace-Id value: a new Root, or the
// client's header with a Self field added or updated, as AWS does.
func (c *conn) appendTraceID(b []byte) []byte {
	tid := c.req.TraceID
	if len(tid) == 0 {
		b = append(b, "Root="...)
		return c.appendTraceValue(b)
	}
	if i := bytes.Index(tid, []byte("Self=")); i >= 0 {
		b = append(b, tid[:i+5]...)
		b = c.appendTraceValue(b)
		rest := tid[i+5:]
		if j := bytes.IndexByte(rest, ';'); j >= 0 {
			b = append(b, rest[j:]...)
		}
		return b
	}
	b = append(b, tid...)
	b = append(b, ";Self="...)
	return c.appendTraceValue(b)
}

// appendTraceValue writes "1-<8 hex epoch seconds>-<24 hex random>".
func (c *conn) appendTraceValue(b []byte) []byte {
	b = append(b, '1', '-')
	sec := uint32(c.logTime(c.now).Unix())
	for i := 7; i >= 0; i-- {
		b = append(b, hexDigits[(sec>>(uint(i)*4))&0xf])
	}
	b = append(b, '-')
	x, y := rand.Uint64(), rand.Uint32()
	for i := 15; i >= 0; i-- {
		b = append(b, hexDigits[(x>>(uint(i)*4))&0xf])
	}
	for i := 7; i >= 0; i-- {
		b = append(b, hexDigits[(y>>(uint(i)*4))&0xf])
	}
	return b
}
