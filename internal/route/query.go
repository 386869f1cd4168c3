package route

import (
	"net/url"
	"strings"
	"unsafe"
)

// Limits of the per-request query cache. A query string with more
// parameters, or more decoded bytes, than fit is scanned afresh by each
// query-string condition instead.
const (
	maxParams      = 24
	maxInlineQuery = 512
)

// queryParams is a request's query string split and percent-decoded at
// most once per Match, on the stack. Keys and values are spans of either
// the raw query or buf, never strings stored in the struct, so the struct
// does not escape.
type queryParams struct {
	raw      string
	parsed   bool
	overflow bool
	n        int
	keys     [maxParams]span
	values   [maxParams]span
	used     int // bytes of buf in use
	buf      [maxInlineQuery]byte
}

// span is a piece of the raw query, or of buf when decoded.
type span struct {
	start, end int32
	decoded    bool
}

func (q *queryParams) parse(raw string) {
	q.raw, q.parsed = raw, true
	off := 0
	for off < len(raw) {
		end := strings.IndexByte(raw[off:], '&')
		if end < 0 {
			end = len(raw)
		} else {
			end += off
		}
		if end > off {
			if q.n == maxParams {
				q.overflow = true
				return
			}
			eq := strings.IndexByte(raw[off:end], '=')
			kEnd, vStart := end, end
			if eq >= 0 {
				kEnd, vStart = off+eq, off+eq+1
			}
			var ok1, ok2 bool
			q.keys[q.n], ok1 = q.decode(off, kEnd)
			q.values[q.n], ok2 = q.decode(vStart, end)
			if !ok1 || !ok2 {
				q.overflow = true
				return
			}
			q.n++
		}
		off = end + 1
	}
}

// decode returns the span of raw[start:end] decoded, reporting false if
// buf is full.
func (q *queryParams) decode(start, end int) (span, bool) {
	s := q.raw[start:end]
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return span{start: int32(start), end: int32(end)}, true
	}
	if len(s) > len(q.buf)-q.used {
		return span{}, false
	}
	n := unescapeInto(s, q.buf[q.used:])
	sp := span{start: int32(q.used), end: int32(q.used + n), decoded: true}
	q.used += n
	return sp, true
}

// str returns the text of sp; a decoded one aliases buf.
func (q *queryParams) str(sp span) string {
	if sp.end == sp.start {
		return ""
	}
	if !sp.decoded {
		return q.raw[sp.start:sp.end]
	}
	return unsafe.String(&q.buf[sp.start], int(sp.end-sp.start))
}

// matchQuery reports whether any key=value parameter of the request's
// query matches any of the condition's pairs. Keys and values are
// percent-decoded ('+' is a space) before matching, as the application
// sees them.
func (c *condition) matchQuery(r Request, q *queryParams) bool {
	if !q.parsed {
		q.parse(r.RawQuery())
	}
	if q.overflow {
		return c.scanQuery(q.raw)
	}
	for i := range q.n {
		k, v := q.str(q.keys[i]), q.str(q.values[i])
		if c.matchPair(k, v) {
			return true
		}
	}
	return false
}

func (c *condition) matchPair(k, v string) bool {
	for i := range c.pairs {
		p := &c.pairs[i]
		if (p.anyKey || p.key.match(k)) && p.value.match(v) {
			return true
		}
	}
	return false
}

// scanQuery is matchQuery for query strings too big for queryParams.
func (c *condition) scanQuery(raw string) bool {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		rk, rv, _ := strings.Cut(part, "=")
		var kb, vb [maxInlineQuery]byte
		if c.matchPair(unescape(rk, kb[:]), unescape(rv, vb[:])) {
			return true
		}
	}
	return false
}

// unescape percent-decodes s into buf when it needs decoding and fits,
// returning a string that aliases buf; the result is only valid until buf
// is reused. Longer values are decoded on the heap. Invalid escapes are
// kept as they are.
func unescape(s string, buf []byte) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	if len(s) > len(buf) {
		if u, err := url.QueryUnescape(s); err == nil {
			return u
		}
		return s
	}
	n := unescapeInto(s, buf)
	if n == 0 {
		return ""
	}
	return unsafe.String(&buf[0], n)
}

// unescapeInto decodes s into buf, which holds at least len(s) bytes, and
// returns the decoded length.
func unescapeInto(s string, buf []byte) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		buf[n] = c
		n++
	}
	return n
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
