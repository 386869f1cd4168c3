package proxy

import (
	"errors"
	"io"
	"time"

	"github.com/madang-dev/madang/internal/http1"
)

// relay parses the target's response head and sends the response to the
// client.
func (c *conn) relay(g *groupRuntime, wg *weightedGroup, m *member, uc *upConn, outcome *Outcome, failed *bool) attemptResult {
	lb := c.lc.lb
	r := &c.req
	resp := &c.resp
	for {
		resp.Reset()
		if !http1.ParseResponse(resp, uc.head, c.appCk) {
			uc.close()
			outcome.Reset = true
			c.entry.setError(502, "TargetMalformedResponse")
			c.entry.addTriedStatus("-")
			return attemptFail
		}
		if resp.Status >= 100 && resp.Status < 200 && resp.Status != 101 {
			// Interim responses (100 Continue, 103) are not relayed.
			uc.setReadDeadline(time.Now(), lb.cfg.IdleTimeout, lb.idleSlack)
			if _, err := uc.readHead(); err != nil {
				uc.close()
				outcome.Reset = true
				c.entry.setError(502, "TargetClosedConnection")
				c.entry.addTriedStatus("-")
				return attemptFail
			}
			continue
		}
		break
	}
	c.respAt = time.Now()
	c.lastNow = c.respAt
	c.entry.responded = c.logTime(c.respAt)
	outcome.Status = resp.Status
	*failed = resp.Status >= 500
	c.entry.targetStatus = resp.Status
	c.entry.elbStatus = resp.Status
	c.entry.addTriedStatus(statusString(resp.Status))
	rt := c.entry.responded.Sub(c.entry.dispatched)
	wg.stats.CountTarget(resp.Status, rt)
	if zs := wg.zoneStats(m); zs != nil {
		zs.Requests.Add(1)
		zs.CountTarget(resp.Status, rt)
	}

	if resp.Status == 101 {
		if !r.ConnUpgrade || len(r.Upgrade) == 0 {
			uc.close()
			c.entry.setError(502, "TargetMalformedResponse")
			return attemptFail
		}
		return c.tunnel(uc)
	}

	isHead := string(r.Method) == "HEAD"
	noBody := resp.Bodyless(isHead)
	closeDelimited := !noBody && !resp.Chunked && resp.ContentLength < 0
	decode := !noBody && resp.Chunked && r.Minor == 0
	if closeDelimited || decode {
		c.closing = true
	}
	c.wbuf = c.appendResponseHead(c.wbuf, resp, isHead)

	reuse := !resp.Close
	var err error
	switch {
	case noBody:
		err = c.flush()
	case resp.ContentLength >= 0:
		err, reuse = c.copyLength(uc, resp.ContentLength, reuse)
	case resp.Chunked:
		err, reuse = c.copyChunked(uc, decode, reuse)
	default:
		err, reuse = c.copyUntilClose(uc)
	}
	if errors.Is(err, errTargetBody) {
		uc.close()
		c.closing = true
		c.entry.errorReason = "TargetBodyError"
		c.wbuf = c.wbuf[:0]
		c.logRequest()
		return attemptDone
	}
	if reuse && err == nil {
		uc.lt.pool.put(uc, c.respAt)
	} else {
		uc.close()
	}
	c.finish(err)
	return attemptDone
}

// appendResponseHead writes the response head for the client.
func (c *conn) appendResponseHead(b []byte, resp *http1.Response, isHead bool) []byte {
	r := &c.req
	b = append(b, "HTTP/1.1 "...)
	b = append(b, resp.StatusLine...)
	b = append(b, "\r\n"...)
	upgrade := resp.Status == 101
	for i := range resp.Headers {
		h := &resp.Headers[i]
		if h.Drop {
			continue
		}
		switch h.ID {
		case http1.FieldConnection, http1.FieldUpgrade:
			if !upgrade {
				continue
			}
		case http1.FieldKeepAlive, http1.FieldProxyConnection, http1.FieldTE:
			continue
		case http1.FieldTransferEncoding:
			if r.Minor == 0 {
				continue
			}
		}
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	var now time.Time
	if c.stickLB != nil || c.appCk != "" || c.stickTG != "" {
		now = c.p.now()
	}
	if c.stickLB != nil {
		exp := c.group.expires.get(now)
		b = append(b, "Set-Cookie: AWSALB="...)
		b = append(b, c.stickLB.lt.cookie...)
		b = append(b, "; Expires="...)
		b = append(b, exp...)
		b = append(b, "; Path=/\r\nSet-Cookie: AWSALBCORS="...)
		b = append(b, c.stickLB.lt.cookie...)
		b = append(b, "; Expires="...)
		b = append(b, exp...)
		b = append(b, "; Path=/; SameSite=None; Secure\r\n"...)
	}
	if c.appCk != "" && resp.SetsCookie && c.ntried > 0 {
		b = append(b, "Set-Cookie: AWSALBAPP="...)
		b = append(b, c.tried[c.ntried-1].lt.cookie...)
		b = append(b, "; Expires="...)
		b = append(b, c.group.expires.get(now)...)
		b = append(b, "; Path=/\r\n"...)
	}
	if c.stickTG != "" {
		b = append(b, "Set-Cookie: AWSALBTG="...)
		b = append(b, c.stickTG...)
		b = append(b, "; Expires="...)
		b = append(b, c.tgExp.get(now)...)
		b = append(b, "; Path=/\r\n"...)
	}
	if !upgrade {
		if c.closing {
			b = append(b, "Connection: close\r\n"...)
		} else if r.Minor == 0 {
			b = append(b, "Connection: keep-alive\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	return b
}

// copyLength relays a body of n bytes.
func (c *conn) copyLength(uc *upConn, n int64, reuse bool) (error, bool) {
	lb := c.lc.lb
	avail := int64(uc.w - uc.r)
	if avail >= n && len(c.wbuf)+int(n) <= 64<<10 {
		// The common case: the whole body is already here.
		c.wbuf = append(c.wbuf, uc.rbuf[uc.r:uc.r+int(n)]...)
		uc.r += int(n)
		return c.flush(), reuse && uc.r == uc.w
	}
	if err := c.flush(); err != nil {
		return err, false
	}
	for n > 0 {
		if uc.r == uc.w {
			uc.setReadDeadline(time.Now(), lb.cfg.IdleTimeout, lb.idleSlack)
			err := uc.fill()
			c.lastNow = time.Time{}
			if err != nil {
				return errTargetBody, false
			}
		}
		k := int64(uc.w - uc.r)
		if k > n {
			k = n
		}
		if err := c.writeDirect(uc.rbuf[uc.r : uc.r+int(k)]); err != nil {
			return err, false
		}
		uc.r += int(k)
		n -= k
	}
	return nil, reuse && uc.r == uc.w
}

// copyChunked relays a chunked body, verbatim for HTTP/1.1 clients or
// decoded for HTTP/1.0 ones.
func (c *conn) copyChunked(uc *upConn, decode bool, reuse bool) (error, bool) {
	lb := c.lc.lb
	var sc http1.ChunkScanner
	var werr error
	emit := func(p []byte) error {
		c.wbuf = append(c.wbuf, p...)
		if len(c.wbuf) >= 32<<10 {
			werr = c.flush()
		}
		return werr
	}
	for {
		if uc.r < uc.w {
			var n int
			var err error
			if decode {
				n, err = sc.ScanData(uc.rbuf[uc.r:uc.w], emit)
			} else {
				n, err = sc.Scan(uc.rbuf[uc.r:uc.w])
				if err == nil {
					c.wbuf = append(c.wbuf, uc.rbuf[uc.r:uc.r+n]...)
					if len(c.wbuf) >= 32<<10 {
						werr = c.flush()
					}
				}
			}
			uc.r += n
			if werr != nil {
				return werr, false
			}
			if err != nil {
				return errTargetBody, false
			}
			if sc.Done() {
				return c.flush(), reuse && uc.r == uc.w
			}
		}
		if err := c.flush(); err != nil {
			return err, false
		}
		uc.setReadDeadline(time.Now(), lb.cfg.IdleTimeout, lb.idleSlack)
		err := uc.fill()
		c.lastNow = time.Time{}
		if err != nil {
			return errTargetBody, false
		}
	}
}

// copyUntilClose relays a body delimited by the target closing.
func (c *conn) copyUntilClose(uc *upConn) (error, bool) {
	lb := c.lc.lb
	if err := c.flush(); err != nil {
		return err, false
	}
	for {
		if uc.r < uc.w {
			if err := c.writeDirect(uc.rbuf[uc.r:uc.w]); err != nil {
				return err, false
			}
			uc.r = uc.w
		}
		uc.setReadDeadline(time.Now(), lb.cfg.IdleTimeout, lb.idleSlack)
		err := uc.fill()
		c.lastNow = time.Time{}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, false
			}
			return errTargetBody, false
		}
	}
}

// streamBody sends a request body that was not buffered.
func (c *conn) streamBody(uc *upConn) (attemptResult, bool) {
	r := &c.req
	lb := c.lc.lb
	idle, slack := lb.cfg.IdleTimeout, lb.idleSlack
	remain := r.ContentLength
	if r.Chunked {
		c.chunk.Reset()
	}
	for {
		if c.w > c.r {
			var n int
			if r.Chunked {
				k, err := c.chunk.Scan(c.rbuf[c.r:c.w])
				if err != nil {
					c.entry.setError(400, "InvalidChunkedEncoding")
					c.entry.class, c.entry.classReason = http1.ClassSevere, "BadTransferEncoding"
					c.closing = true
					return attemptFail, false
				}
				n = k
			} else {
				n = c.w - c.r
				if int64(n) > remain {
					n = int(remain)
				}
				remain -= int64(n)
			}
			if n > 0 {
				uc.setWriteDeadline(time.Now(), idle, slack)
				if _, err := uc.io.Write(c.rbuf[c.r : c.r+n]); err != nil {
					c.entry.setError(502, "TargetConnectionError")
					c.closing = true
					return attemptFail, false
				}
				c.r += n
				c.entry.received += int64(n)
			}
			if (r.Chunked && c.chunk.Done()) || (!r.Chunked && remain == 0) {
				return attemptDone, true
			}
		}
		c.r, c.w = 0, 0
		c.setReadDeadline(time.Now(), idle, slack)
		k, err := c.io.Read(c.rbuf)
		c.lastNow = time.Time{}
		c.w = k
		if k == 0 && err != nil {
			c.closing = true
			if isTimeout(err) {
				c.entry.setError(408, "ClientBodyTimeout")
			} else {
				c.entry.setError(460, "ClientClosed")
			}
			return attemptFail, false
		}
	}
}
