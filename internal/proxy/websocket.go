package proxy

import (
	"net"
	"sync/atomic"
	"time"
)

// tunnel relays an upgraded connection (WebSocket) in both directions
// until either side closes or both are idle for the idle timeout. The
// target that answered 101 keeps the connection for its lifetime; an
// Update does not touch it. It writes one access-log line at the end.
func (c *conn) tunnel(uc *upConn) attemptResult {
	lb := c.lc.lb
	idle := lb.cfg.IdleTimeout
	c.closing = true
	c.entry.websocket = true
	c.wbuf = c.appendResponseHead(c.wbuf, &c.resp, false)
	// Bytes the target sent after its 101 head go to the client first.
	if uc.w > uc.r {
		c.wbuf = append(c.wbuf, uc.rbuf[uc.r:uc.w]...)
		uc.r = uc.w
	}
	if err := c.flush(); err != nil {
		uc.close()
		c.entry.elbStatus = 460
		c.logRequest()
		return attemptDone
	}
	// Bytes the client sent after its request go to the target first.
	if c.w > c.r {
		uc.setWriteDeadline(time.Now(), idle, 0)
		if _, err := uc.io.Write(c.rbuf[c.r:c.w]); err != nil {
			uc.close()
			c.logRequest()
			return attemptDone
		}
		c.entry.received += int64(c.w - c.r)
		c.r = c.w
	}
	if c.lp != nil {
		c.loopTunnel(uc)
		c.r, c.w = 0, 0
		uc.close()
		c.logRequest()
		return attemptDone
	}
	c.nc.SetWriteDeadline(time.Time{})
	uc.nc.SetWriteDeadline(time.Time{})

	var last atomic.Int64 // unix nanos of the last byte either way
	last.Store(time.Now().UnixNano())
	var stop atomic.Bool
	var sent atomic.Int64
	done := make(chan struct{})
	upNC := uc.nc
	go func() {
		defer close(done)
		buf := uc.rbuf
		for {
			upNC.SetReadDeadline(time.Now().Add(idle))
			if stop.Load() {
				break // the wake-up deadline may have come before this one
			}
			n, err := upNC.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := c.nc.Write(buf[:n]); werr != nil {
					break
				}
				sent.Add(int64(n))
			}
			if err != nil {
				if isTimeout(err) && !stop.Load() && time.Since(time.Unix(0, last.Load())) < idle {
					continue
				}
				break
			}
		}
		stop.Store(true)
		// Wake the client-side reader.
		c.nc.SetReadDeadline(time.Unix(1, 0))
	}()

	buf := c.rbuf
	for {
		c.nc.SetReadDeadline(time.Now().Add(idle))
		// The other direction sets stop, then a deadline in the past to
		// wake this read; one set here after it would undo the wake-up.
		if stop.Load() {
			break
		}
		n, err := c.nc.Read(buf)
		if n > 0 {
			last.Store(time.Now().UnixNano())
			if _, werr := upNC.Write(buf[:n]); werr != nil {
				break
			}
			c.entry.received += int64(n)
		}
		if err != nil {
			if isTimeout(err) && !stop.Load() && time.Since(time.Unix(0, last.Load())) < idle {
				continue
			}
			break
		}
	}
	stop.Store(true)
	if tc, ok := upNC.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	upNC.SetReadDeadline(time.Unix(1, 0))
	<-done
	c.r, c.w = 0, 0
	uc.close()
	c.entry.sent += sent.Load()
	c.logRequest()
	return attemptDone
}
