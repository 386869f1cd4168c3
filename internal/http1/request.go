package http1

import (
	"bytes"
	"unsafe"
)

// Request is a parsed HTTP/1.x request head. Its slices point into the
// head passed to ParseRequest and are valid while it is unchanged. Reset
// it (keeping its Headers buffer) before parsing the next head.
type Request struct {
	// Method and Target are the request line's; for an absolute-form
	// target (http://host/path) Target is the path and query part.
	Method, Target []byte
	// Path and Query are Target split at the first '?', not decoded.
	Path, Query []byte
	AbsHost     []byte // host of an absolute-form target, else nil
	Minor       int    // HTTP/1.minor
	Headers     []Header
	// Host is the Host header, or AbsHost when the target has one;
	// HostCount counts the Host fields.
	Host      []byte
	HostCount int
	// Body framing: ContentLength is -1 when absent; Chunked is a
	// Transfer-Encoding of exactly chunked; HasBody is either with a body
	// to read. A request is never both chunked and Content-Length framed.
	ContentLength int64
	Chunked       bool
	HasBody       bool
	// Close is Connection: close, or HTTP/1.0; KeepAlive is HTTP/1.0's
	// Connection: keep-alive.
	Close          bool
	KeepAlive      bool
	Upgrade        []byte // the Upgrade header
	ConnUpgrade    bool   // Connection lists upgrade
	ExpectContinue bool   // Expect: 100-continue
	UserAgent      []byte
	TraceID        []byte // X-Amzn-Trace-Id
	XFFEntries     int    // X-Forwarded-For list elements, over all fields
	InvalidNames   int    // header names outside [-A-Za-z0-9]

	// Status is the error to answer with when parsing failed (0 = ok), and
	// Reason AWS's error_reason / classification_reason for it.
	Status int
	Reason string
	// Class and ClassReason are the worst desync classification seen
	// (ClassCompliant when none) and why.
	Class, ClassReason string

	connTokens  [8][]byte // other Connection tokens (hop-by-hop names)
	nConnTokens int
}

// Reset prepares r for the next request, keeping its buffers.
func (r *Request) Reset() {
	h := r.Headers[:0]
	*r = Request{}
	r.Headers = h
	r.ContentLength = -1
}

// fail records a parse error.
func (r *Request) fail(status int, reason string) bool {
	r.Status = status
	r.Reason = reason
	return false
}

// Classify records the worst desync classification seen.
func (r *Request) Classify(class, reason string) {
	if ClassRank(class) > ClassRank(r.Class) {
		r.Class, r.ClassReason = class, reason
	}
}

// ClassRank orders desync classifications: 0 compliant to 3 severe.
func ClassRank(class string) int {
	switch class {
	case ClassAcceptable:
		return 1
	case ClassAmbiguous:
		return 2
	case ClassSevere:
		return 3
	}
	return 0
}

// HeadEnd returns the index of the first "\r\n\r\n" in b, or -1. A bare
// LF line ending is not accepted.
func HeadEnd(b []byte) int {
	return bytes.Index(b, crlfcrlf)
}

var crlfcrlf = []byte("\r\n\r\n")

// ParseRequest parses head, which ends with "\r\n\r\n". It returns false
// with r.Status set when the request must be refused.
func ParseRequest(r *Request, head []byte) bool {
	// Request line.
	i := bytes.IndexByte(head, '\n')
	if i < 1 || head[i-1] != '\r' {
		return r.fail(400, "MalformedRequestLine")
	}
	line := head[:i-1]
	rest := head[i+1:]
	if len(line) > MaxRequestLine {
		return r.fail(414, "RequestLineTooLong")
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return r.fail(400, "MalformedRequestLine")
	}
	r.Method = line[:sp1]
	for _, c := range r.Method {
		if !tokenTable[c] {
			return r.fail(400, "BadMethod")
		}
	}
	line = line[sp1+1:]
	sp2 := bytes.IndexByte(line, ' ')
	if sp2 <= 0 {
		return r.fail(400, "MalformedRequestLine")
	}
	r.Target = line[:sp2]
	version := line[sp2+1:]
	switch string(version) {
	case "HTTP/1.1":
		r.Minor = 1
	case "HTTP/1.0":
		r.Minor = 0
		r.Close = true
	default:
		return r.fail(400, "BadVersion")
	}
	for _, c := range r.Target {
		if c <= ' ' || c == 0x7f {
			return r.fail(400, "BadUri")
		}
	}
	if !splitTarget(r) {
		return false
	}

	// Header fields.
	var clVal []byte
	hasTE := false
	total := len(head)
	if total > MaxRequestHead {
		return r.fail(400, "HeaderTooLarge")
	}
	for len(rest) > 2 {
		j := bytes.IndexByte(rest, '\n')
		if j < 1 || rest[j-1] != '\r' {
			return r.fail(400, "BadHeader")
		}
		hl := rest[:j-1]
		rest = rest[j+1:]
		if len(hl) > MaxHeaderLine {
			return r.fail(400, "HeaderTooLarge")
		}
		if hl[0] == ' ' || hl[0] == '\t' {
			return r.fail(400, "ObsoleteLineFolding")
		}
		colon := bytes.IndexByte(hl, ':')
		if colon <= 0 {
			return r.fail(400, "BadHeader")
		}
		name := hl[:colon]
		invalid := false
		for _, c := range name {
			if !tokenTable[c] {
				return r.fail(400, "BadHeader")
			}
			if !awsNameTable[c] {
				invalid = true
			}
		}
		value := trimOWS(hl[colon+1:])
		for _, c := range value {
			if c == 0 || c == '\r' || c == '\n' {
				return r.fail(400, "BadHeader")
			}
		}
		h := Header{Name: name, Value: value, ID: identify(name)}
		if invalid {
			r.InvalidNames++
			h.Drop = true // dropped only when the LB says so; see conn
		}
		switch h.ID {
		case FieldHost:
			r.HostCount++
			r.Host = value
		case FieldContentLength:
			if clVal != nil && !bytes.Equal(clVal, value) {
				return r.fail(400, "DuplicateContentLength")
			}
			if clVal != nil {
				r.Classify(ClassAmbiguous, "DuplicateContentLength")
			}
			clVal = value
		case FieldTransferEncoding:
			hasTE = true
			if !parseTE(r, value) {
				return false
			}
		case FieldConnection:
			parseConnection(r, value)
		case FieldUpgrade:
			r.Upgrade = value
		case FieldExpect:
			if LowerEq(value, "100-continue") {
				r.ExpectContinue = true
			}
		case FieldUserAgent:
			r.UserAgent = value
		case FieldTraceID:
			r.TraceID = value
		case FieldXForwardedFor:
			r.XFFEntries += countList(value)
		}
		r.Headers = append(r.Headers, h)
	}
	if hasTE && (!r.Chunked || r.Minor == 0) {
		// Transfer-Encoding present with only empty list elements: no
		// final chunked (RFC 9112 §6.3). In HTTP/1.0 the framing is
		// faulty (§6.1), and HTTP/1.0 targets would ignore it.
		return r.fail(400, "BadTransferEncoding")
	}
	if clVal != nil {
		n, ok := parseContentLength(clVal)
		if !ok {
			return r.fail(400, "BadContentLength")
		}
		if r.Chunked {
			return r.fail(400, "BothTeClPresent")
		}
		r.ContentLength = n
		r.HasBody = n > 0
	}
	if r.Chunked {
		r.HasBody = true
	}
	if r.HostCount > 1 {
		return r.fail(400, "MultipleHost")
	}
	if r.AbsHost != nil {
		r.Host = r.AbsHost
	} else if r.HostCount == 0 && r.Minor == 1 {
		return r.fail(400, "MissingHost")
	}
	for _, c := range r.Host {
		if c <= ' ' || c == 0x7f || c == '/' || c == '@' || c == '\\' {
			return r.fail(400, "BadHost")
		}
	}
	return true
}

// splitTarget splits the request target into path and query, accepting
// origin-form, absolute-form (http://host/path) and "*" for OPTIONS.
func splitTarget(r *Request) bool {
	t := r.Target
	switch {
	case t[0] == '/':
	case len(t) == 1 && t[0] == '*':
		if string(r.Method) != "OPTIONS" {
			return r.fail(400, "BadUri")
		}
		r.Path = t
		return true
	case len(t) > 7 && LowerEq(t[:7], "http://"):
		rest := t[7:]
		k := bytes.IndexAny(rest, "/?")
		if k < 0 {
			r.AbsHost, t = rest, []byte("/")
		} else {
			r.AbsHost, t = rest[:k], rest[k:]
			if t[0] == '?' {
				// "http://host?q": path "/" with the query.
				r.Path, r.Query = []byte("/"), t[1:]
				r.Target = t
				return true
			}
		}
		if len(r.AbsHost) == 0 {
			return r.fail(400, "BadUri")
		}
		r.Target = t
	default:
		return r.fail(400, "BadUri")
	}
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		r.Path, r.Query = t[:q], t[q+1:]
	} else {
		r.Path = t
	}
	return true
}

// parseTE checks one Transfer-Encoding field value; several fields form
// one list. madang implements only the chunked coding, so a request's list
// must be exactly "chunked" (empty elements aside). RFC 9112 §6.3 requires
// 400 and closing the connection when chunked is not the final coding
// ("identity", "gzip", "chunked, identity"): the body length cannot be
// determined. Codings before a final chunked ("gzip, chunked") are refused
// with 400 too rather than §6.1's 501: madang does not forward codings it
// cannot decode and check, and targets that parse such lists differently
// are a request-smuggling vector.
func parseTE(r *Request, v []byte) bool {
	for len(v) > 0 {
		var tok []byte
		if k := bytes.IndexByte(v, ','); k >= 0 {
			tok, v = trimOWS(v[:k]), v[k+1:]
		} else {
			tok, v = trimOWS(v), nil
		}
		switch {
		case len(tok) == 0:
		case r.Chunked:
			// Anything after chunked, including chunked again.
			if LowerEq(tok, "chunked") {
				return r.fail(400, "MultipleTransferEncodingChunked")
			}
			return r.fail(400, "BadTransferEncoding")
		case LowerEq(tok, "chunked"):
			r.Chunked = true
		default:
			return r.fail(400, "BadTransferEncoding")
		}
	}
	return true
}

// parseConnection records the Connection header's tokens.
func parseConnection(r *Request, v []byte) {
	for len(v) > 0 {
		var tok []byte
		if k := bytes.IndexByte(v, ','); k >= 0 {
			tok, v = trimOWS(v[:k]), v[k+1:]
		} else {
			tok, v = trimOWS(v), nil
		}
		switch {
		case len(tok) == 0:
		case LowerEq(tok, "close"):
			r.Close = true
		case LowerEq(tok, "keep-alive"):
			r.KeepAlive = true
		case LowerEq(tok, "upgrade"):
			r.ConnUpgrade = true
		default:
			if r.nConnTokens < len(r.connTokens) {
				r.connTokens[r.nConnTokens] = tok
				r.nConnTokens++
			}
		}
	}
}

// ListedInConnection reports whether name was named by the Connection
// header, which makes it hop-by-hop.
func (r *Request) ListedInConnection(name []byte) bool {
	for i := 0; i < r.nConnTokens; i++ {
		if bytes.EqualFold(r.connTokens[i], name) {
			return true
		}
	}
	return false
}

// parseContentLength parses a Content-Length value; a list of identical
// values ("5, 5") is accepted as one.
func parseContentLength(v []byte) (int64, bool) {
	var first int64 = -1
	for len(v) > 0 {
		var tok []byte
		if k := bytes.IndexByte(v, ','); k >= 0 {
			tok, v = trimOWS(v[:k]), v[k+1:]
		} else {
			tok, v = trimOWS(v), nil
		}
		n, ok := parseDecimal(tok)
		if !ok || (first >= 0 && n != first) {
			return 0, false
		}
		first = n
	}
	return first, first >= 0
}

// parseDecimal parses a non-negative decimal of at most 18 digits.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// countList counts the non-empty comma-separated elements of v.
func countList(v []byte) int {
	n := 0
	for len(v) > 0 {
		var tok []byte
		if k := bytes.IndexByte(v, ','); k >= 0 {
			tok, v = v[:k], v[k+1:]
		} else {
			tok, v = v, nil
		}
		if len(trimOWS(tok)) > 0 {
			n++
		}
	}
	return n
}

// trimOWS trims spaces and tabs at both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// CookieValue returns the value of cookie name from the request's Cookie
// headers, or nil.
func (r *Request) CookieValue(name string) []byte {
	for i := range r.Headers {
		h := &r.Headers[i]
		if h.ID != FieldCookie {
			continue
		}
		v := h.Value
		for len(v) > 0 {
			var pair []byte
			if k := bytes.IndexByte(v, ';'); k >= 0 {
				pair, v = trimOWS(v[:k]), v[k+1:]
			} else {
				pair, v = trimOWS(v), nil
			}
			eq := bytes.IndexByte(pair, '=')
			if eq < 0 || string(pair[:eq]) != name {
				continue
			}
			val := pair[eq+1:]
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return val
		}
	}
	return nil
}

// HeaderValue returns the first value of the named header, or nil.
func (r *Request) HeaderValue(name string) []byte {
	for i := range r.Headers {
		if bytes.EqualFold(r.Headers[i].Name, unsafe.Slice(unsafe.StringData(name), len(name))) {
			return r.Headers[i].Value
		}
	}
	return nil
}
