// Package accesslog writes an Application Load Balancer's access log: one
// line per request in AWS's field order and syntax, appended without
// allocating, and a Writer that buffers lines and writes them on a
// goroutine of its own so a slow destination never slows requests down.
package accesslog

import (
	"bytes"
	"strconv"
	"time"
)

// Entry is one request's access-log fields. Byte slices may point into
// the caller's buffers; they are only read while AppendLine runs.
type Entry struct {
	// WebSocket makes the line's type "ws" instead of "http".
	WebSocket bool
	// Start is when the request head arrived, Dispatched when it was
	// sent to a target (zero: never), Responded when the target's
	// response head arrived (zero: never), End when the response ended.
	Start, Dispatched, Responded, End time.Time
	// LoadBalancer is the load balancer's name ("app/NAME" in the line).
	LoadBalancer string
	// Client and Target are "ip:port"; Target is empty when no target was
	// chosen.
	Client, Target string
	// ELBStatus and TargetStatus are 0 when there was none.
	ELBStatus, TargetStatus int
	// Received and Sent are the bytes from and to the client.
	Received, Sent int64

	// The request line: Method is empty when no request was parsed. Host
	// is the Host header (a port in it is dropped), DefaultHost what is
	// written when it is empty, Port the listener's port.
	Method, Host, RequestTarget []byte
	DefaultHost, Port           string
	Minor                       int // HTTP/1.minor
	UserAgent                   []byte
	TraceID                     []byte

	TargetGroupARN string
	// Rule is the matched rule's priority, 0 the default rule, -1 none.
	Rule        int
	Actions     string // actions_executed
	RedirectURL []byte
	ErrorReason string
	// TargetsTried and TargetStatuses list the targets tried, in order,
	// and what each answered ("-" for none).
	TargetsTried, TargetStatuses []string
	// Class and ClassReason are the desync classification.
	Class, ClassReason string
}

// maxUserAgent is how much of a User-Agent header a line keeps.
const maxUserAgent = 8 << 10

// AppendLine appends e's line, ending with a newline, to b.
func AppendLine(b []byte, e *Entry) []byte {
	if e.WebSocket {
		b = append(b, "ws "...)
	} else {
		b = append(b, "http "...)
	}
	b = appendTime(b, e.End)
	b = append(b, " app/"...)
	b = append(b, e.LoadBalancer...)
	b = append(b, ' ')
	b = append(b, e.Client...)
	b = append(b, ' ')
	b = appendDash(b, e.Target)
	b = append(b, ' ')
	if e.Dispatched.IsZero() {
		b = append(b, "-1 -1 -1 "...)
	} else {
		b = appendSeconds(b, e.Dispatched.Sub(e.Start))
		b = append(b, ' ')
		if e.Responded.IsZero() {
			b = append(b, "-1 -1 "...)
		} else {
			b = appendSeconds(b, e.Responded.Sub(e.Dispatched))
			b = append(b, ' ')
			b = appendSeconds(b, e.End.Sub(e.Responded))
			b = append(b, ' ')
		}
	}
	b = appendStatus(b, e.ELBStatus)
	b = append(b, ' ')
	b = appendStatus(b, e.TargetStatus)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.Received, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.Sent, 10)
	b = append(b, " \""...)
	if len(e.Method) == 0 {
		b = append(b, "- - - "...)
	} else {
		b = appendQuoted(b, e.Method)
		b = append(b, " http://"...)
		host := e.Host
		if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[i:], ']') < 0 {
			host = host[:i]
		}
		if len(host) == 0 {
			b = append(b, e.DefaultHost...)
		} else {
			b = appendQuoted(b, host)
		}
		b = append(b, ':')
		b = append(b, e.Port...)
		b = appendQuoted(b, e.RequestTarget)
		if e.Minor == 0 {
			b = append(b, " HTTP/1.0"...)
		} else {
			b = append(b, " HTTP/1.1"...)
		}
	}
	b = append(b, "\" \""...)
	ua := e.UserAgent
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	b = appendQuotedDash(b, ua)
	b = append(b, "\" - - "...)
	b = appendDash(b, e.TargetGroupARN)
	b = append(b, " \""...)
	b = appendQuotedDash(b, e.TraceID)
	b = append(b, "\" \"-\" \"-\" "...)
	b = strconv.AppendInt(b, int64(e.Rule), 10)
	b = append(b, ' ')
	b = appendTime(b, e.Start)
	b = append(b, " \""...)
	b = appendDash(b, e.Actions)
	b = append(b, "\" \""...)
	b = appendQuotedDash(b, e.RedirectURL)
	b = append(b, "\" \""...)
	b = appendDash(b, e.ErrorReason)
	b = append(b, "\" \""...)
	b = appendList(b, e.TargetsTried)
	b = append(b, "\" \""...)
	b = appendList(b, e.TargetStatuses)
	b = append(b, "\" \""...)
	b = appendDash(b, e.Class)
	b = append(b, "\" \""...)
	b = appendDash(b, e.ClassReason)
	b = append(b, "\"\n"...)
	return b
}

func appendStatus(b []byte, st int) []byte {
	if st > 0 {
		return strconv.AppendInt(b, int64(st), 10)
	}
	return append(b, '-')
}

func appendList(b []byte, l []string) []byte {
	if len(l) == 0 {
		return append(b, '-')
	}
	for i, s := range l {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s...)
	}
	return b
}

func appendDash(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

func appendQuotedDash(b, s []byte) []byte {
	if len(s) == 0 {
		return append(b, '-')
	}
	return appendQuoted(b, s)
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

const hexDigits = "0123456789abcdef"

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
