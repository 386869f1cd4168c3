package proxy

import (
	"time"

	"github.com/madang-dev/madang/internal/accesslog"
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

// writeLog renders e as an access-log line and queues it on w.
func (c *conn) writeLog(w *accesslog.Writer, e *logEntry) {
	r := &c.req
	lc := c.lc
	ae := &c.alEntry
	*ae = accesslog.Entry{
		WebSocket: e.websocket,
		Start:     e.start, Dispatched: e.dispatched, Responded: e.responded, End: e.end,
		LoadBalancer: lc.lb.name,
		Client:       c.client,
		ELBStatus:    e.elbStatus, TargetStatus: e.targetStatus,
		Received: e.received, Sent: e.sent,
		Method: r.Method, Host: r.Host, RequestTarget: r.Target,
		DefaultHost: lc.lb.cfg.Address, Port: lc.portStr, Minor: r.Minor,
		UserAgent: r.UserAgent, TraceID: r.TraceID,
		Rule: e.rule, Actions: e.actions, RedirectURL: e.redirectURL, ErrorReason: e.errorReason,
		TargetsTried: e.tried[:e.ntried], TargetStatuses: e.triedStatus[:e.ntriedStatus],
		Class: e.class, ClassReason: e.classReason,
	}
	if len(e.traceID) > 0 {
		ae.TraceID = e.traceID
	}
	if e.target != nil {
		ae.Target = e.target.addr
	}
	if e.group != nil {
		ae.TargetGroupARN = e.group.arn
	}
	c.logBuf = accesslog.AppendLine(c.logBuf[:0], ae)
	if !w.Write(c.logBuf) {
		lc.lb.stats.AccessLogDropped.Add(1)
	}
}
