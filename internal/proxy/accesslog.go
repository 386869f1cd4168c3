package proxy

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"time"
)

// logEntry collects one request's access-log fields.
type logEntry struct {
	start, dispatched, responded, end time.Time
	elbStatus, targetStatus           int
	elbGenerated                      bool
	received, sent                    int64
	target                            *liveTarget
	group                             *groupRuntime
	rule                              int
	actions                           string
	redirectURL                       []byte
	errorReason                       string
	tried                             [3]string
	ntried                            int
	triedStatus                       [3]string
	ntriedStatus                      int
	traceID                           []byte
	class, classReason                string
	websocket                         bool
}

func (e *logEntry) reset(now time.Time) {
	tid := e.traceID[:0]
	ru := e.redirectURL[:0]
	*e = logEntry{start: now, rule: -1, traceID: tid, redirectURL: ru}
}

// setError records the status the load balancer will answer with.
func (e *logEntry) setError(status int, reason string) {
	e.elbStatus = status
	e.errorReason = reason
}

func (e *logEntry) addTried(addr string) {
	if e.ntried < len(e.tried) {
		e.tried[e.ntried] = addr
		e.ntried++
	}
}

func (e *logEntry) addTriedStatus(s string) {
	if e.ntriedStatus < len(e.triedStatus) {
		e.triedStatus[e.ntriedStatus] = s
		e.ntriedStatus++
	}
}

// Access-log buffering limits: lines wait at most flushEvery; beyond
// maxPending bytes new lines are dropped and counted.
const (
	flushEvery = 200 * time.Millisecond
	maxPending = 4 << 20
)

// accessLog buffers access-log lines and writes them on its own
// goroutine, so a slow writer never slows requests down.
type accessLog struct {
	p    *Proxy
	w    io.Writer
	kick chan struct{}
	quit chan struct{}
	done chan struct{}

	// mu guards the fields that follow.
	mu      sync.Mutex
	pending []byte
	closed  bool
}

func newAccessLog(p *Proxy, w io.Writer) *accessLog {
	a := &accessLog{p: p, w: w, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	p.wg.Add(1)
	go a.loop()
	return a
}

func (a *accessLog) loop() {
	defer a.p.wg.Done()
	defer close(a.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	var spare []byte
	for {
		select {
		case <-a.quit:
			a.mu.Lock()
			buf := a.pending
			a.pending = nil
			a.mu.Unlock()
			if len(buf) > 0 {
				a.w.Write(buf)
			}
			return
		case <-t.C:
		case <-a.kick:
		}
		a.mu.Lock()
		buf := a.pending
		a.pending = spare[:0]
		a.mu.Unlock()
		if len(buf) > 0 {
			if _, err := a.w.Write(buf); err != nil {
				a.p.log.Warn("write access log", "err", err)
			}
		}
		spare = buf
	}
}

// close flushes and stops the writer goroutine.
func (a *accessLog) close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	a.mu.Unlock()
	close(a.quit)
	<-a.done
}

// write formats e and queues it.
func (a *accessLog) write(c *conn, e *logEntry) {
	buf := appendLogLine(c.logBuf[:0], c, e)
	c.logBuf = buf
	a.mu.Lock()
	if a.closed || len(a.pending)+len(buf) > maxPending {
		a.mu.Unlock()
		c.lc.lb.stats.AccessLogDropped.Add(1)
		return
	}
	a.pending = append(a.pending, buf...)
	big := len(a.pending) > 64<<10
	a.mu.Unlock()
	if big {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

// appendLogLine renders one line in AWS ALB field order.
func appendLogLine(b []byte, c *conn, e *logEntry) []byte {
	r := &c.req
	lc := c.lc
	if e.websocket {
		b = append(b, "ws "...)
	} else {
		b = append(b, "http "...)
	}
	b = appendTime(b, e.end)
	b = append(b, " app/"...)
	b = append(b, lc.lb.name...)
	b = append(b, ' ')
	b = append(b, c.client...)
	b = append(b, ' ')
	if e.target != nil {
		b = append(b, e.target.addr...)
	} else {
		b = append(b, '-')
	}
	b = append(b, ' ')
	if e.dispatched.IsZero() {
		b = append(b, "-1 -1 -1 "...)
	} else {
		b = appendSeconds(b, e.dispatched.Sub(e.start))
		b = append(b, ' ')
		if e.responded.IsZero() {
			b = append(b, "-1 -1 "...)
		} else {
			b = appendSeconds(b, e.responded.Sub(e.dispatched))
			b = append(b, ' ')
			b = appendSeconds(b, e.end.Sub(e.responded))
			b = append(b, ' ')
		}
	}
	if e.elbStatus > 0 {
		b = strconv.AppendInt(b, int64(e.elbStatus), 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, ' ')
	if e.targetStatus > 0 {
		b = strconv.AppendInt(b, int64(e.targetStatus), 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.received, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.sent, 10)
	b = append(b, " \""...)
	if len(r.Method) == 0 {
		b = append(b, "- - - "...)
	} else {
		b = appendQuoted(b, r.Method)
		b = append(b, " http://"...)
		host := r.Host
		if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[i:], ']') < 0 {
			host = host[:i]
		}
		if len(host) == 0 {
			host = []byte(lc.lb.cfg.Address)
		}
		b = appendQuoted(b, host)
		b = append(b, ':')
		b = append(b, lc.portStr...)
		b = appendQuoted(b, r.Target)
		if r.Minor == 0 {
			b = append(b, " HTTP/1.0"...)
		} else {
			b = append(b, " HTTP/1.1"...)
		}
	}
	b = append(b, "\" \""...)
	ua := r.UserAgent
	if len(ua) > 8<<10 {
		ua = ua[:8<<10]
	}
	if len(ua) == 0 {
		b = append(b, '-')
	} else {
		b = appendQuoted(b, ua)
	}
	b = append(b, "\" - - "...)
	if e.group != nil {
		b = append(b, e.group.arn...)
	} else {
		b = append(b, '-')
	}
	b = append(b, " \""...)
	if len(e.traceID) > 0 {
		b = appendQuoted(b, e.traceID)
	} else if len(r.TraceID) > 0 {
		b = appendQuoted(b, r.TraceID)
	} else {
		b = append(b, '-')
	}
	b = append(b, "\" \"-\" \"-\" "...)
	b = strconv.AppendInt(b, int64(e.rule), 10)
	b = append(b, ' ')
	b = appendTime(b, e.start)
	b = append(b, " \""...)
	b = appendDash(b, e.actions)
	b = append(b, "\" \""...)
	if len(e.redirectURL) > 0 {
		b = appendQuoted(b, e.redirectURL)
	} else {
		b = append(b, '-')
	}
	b = append(b, "\" \""...)
	b = appendDash(b, e.errorReason)
	b = append(b, "\" \""...)
	if e.ntried == 0 {
		b = append(b, '-')
	}
	for i := 0; i < e.ntried; i++ {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, e.tried[i]...)
	}
	b = append(b, "\" \""...)
	if e.ntriedStatus == 0 {
		b = append(b, '-')
	}
	for i := 0; i < e.ntriedStatus; i++ {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, e.triedStatus[i]...)
	}
	b = append(b, "\" \""...)
	b = appendDash(b, e.class)
	b = append(b, "\" \""...)
	b = appendDash(b, e.classReason)
	b = append(b, "\"\n"...)
	return b
}

func appendDash(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

// appendTime writes t as 2006-01-02T15:04:05.000000Z.
func appendTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
}

// appendSeconds writes d in seconds with millisecond precision.
func appendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	return strconv.AppendFloat(b, d.Seconds(), 'f', 3, 64)
}

// appendQuoted escapes quotes, backslashes and non-printable bytes.
func appendQuoted(b, s []byte) []byte {
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}
