package proxy

import (
	"bytes"
	"net/netip"
	"net/url"
	"unsafe"
)

// HTTP/1.1 message limits, as AWS's Application Load Balancer enforces them.
const (
	maxRequestLine  = 16 << 10 // request line: 16K, else 414
	maxHeaderLine   = 16 << 10 // one header field: 16K, else 400
	maxRequestHead  = 64 << 10 // whole request head: 64K, else 400
	maxResponseHead = 32 << 10 // whole response head from a target: 32K, else 502
	maxXFFEntries   = 30       // more X-Forwarded-For entries get 463
)

// hdrID names the header fields the proxy interprets; everything else is
// hdrOther and passes through untouched.
type hdrID uint8

const (
	hdrOther hdrID = iota
	hdrHost
	hdrConnection
	hdrKeepAlive
	hdrProxyConnection
	hdrTE
	hdrTrailer
	hdrTransferEncoding
	hdrUpgrade
	hdrContentLength
	hdrXForwardedFor
	hdrXForwardedProto
	hdrXForwardedPort
	hdrTraceID
	hdrExpect
	hdrCookie
	hdrSetCookie
	hdrUserAgent
	hdrHTTP2Settings
)

// lowerEq reports whether b equals the lower-case ASCII string s, ignoring
// case. b must be a validated token, so OR-ing 0x20 folds only letters.
func lowerEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

// identify maps a header name to its hdrID.
func identify(name []byte) hdrID {
	switch len(name) {
	case 2:
		if lowerEq(name, "te") {
			return hdrTE
		}
	case 4:
		if lowerEq(name, "host") {
			return hdrHost
		}
	case 6:
		if lowerEq(name, "cookie") {
			return hdrCookie
		}
		if lowerEq(name, "expect") {
			return hdrExpect
		}
	case 7:
		if lowerEq(name, "upgrade") {
			return hdrUpgrade
		}
		if lowerEq(name, "trailer") {
			return hdrTrailer
		}
	case 10:
		if lowerEq(name, "connection") {
			return hdrConnection
		}
		if lowerEq(name, "keep-alive") {
			return hdrKeepAlive
		}
		if lowerEq(name, "user-agent") {
			return hdrUserAgent
		}
		if lowerEq(name, "set-cookie") {
			return hdrSetCookie
		}
	case 14:
		if lowerEq(name, "content-length") {
			return hdrContentLength
		}
		if lowerEq(name, "http2-settings") {
			return hdrHTTP2Settings
		}
	case 15:
		if lowerEq(name, "x-forwarded-for") {
			return hdrXForwardedFor
		}
		if lowerEq(name, "x-amzn-trace-id") {
			return hdrTraceID
		}
	case 16:
		if lowerEq(name, "proxy-connection") {
			return hdrProxyConnection
		}
		if lowerEq(name, "x-forwarded-port") {
			return hdrXForwardedPort
		}
	case 17:
		if lowerEq(name, "transfer-encoding") {
			return hdrTransferEncoding
		}
		if lowerEq(name, "x-forwarded-proto") {
			return hdrXForwardedProto
		}
	}
	return hdrOther
}

// tokenTable marks the bytes allowed in an RFC 9110 token.
var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// awsNameTable marks the bytes AWS accepts in header names when
// routing.http.drop_invalid_header_fields.enabled is on: [-A-Za-z0-9].
var awsNameTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	t['-'] = true
	return t
}()

// header is one header field; both slices point into the message head.
type header struct {
	name, value []byte
	id          hdrID
	drop        bool // not forwarded
}

// Desync classifications, as AWS writes them in the access log.
const (
	classCompliant  = ""
	classAcceptable = "Acceptable"
	classAmbiguous  = "Ambiguous"
	classSevere     = "Severe"
)

// request is a parsed HTTP/1.x request head. Its slices point into the
// connection's head buffer and are valid until the next request is read.
type request struct {
	method, target []byte
	path, query    []byte
	absHost        []byte // host of an absolute-form target
	minor          int    // HTTP/1.minor
	headers        []header
	host           []byte
	hostCount      int
	contentLength  int64 // -1 when absent
	chunked        bool
	hasBody        bool
	closeConn      bool
	keepAlive      bool // HTTP/1.0 "Connection: keep-alive"
	upgrade        []byte
	connUpgrade    bool
	expectContinue bool
	userAgent      []byte
	traceID        []byte
	xffEntries     int
	connTokens     [8][]byte
	nConnTokens    int
	invalidNames   int // header names outside [-A-Za-z0-9]

	// status is the error to answer with when parsing failed (0 = ok).
	status int
	reason string // error_reason / classification_reason

	class, classReason string

	sourceIP netip.Addr
	scratch  [4]string
	qscratch [4]string
}

// reset prepares r for the next request, keeping its buffers.
func (r *request) reset() {
	h := r.headers[:0]
	ip := r.sourceIP
	*r = request{}
	r.headers = h
	r.sourceIP = ip
	r.contentLength = -1
}

// fail records a parse error.
func (r *request) fail(status int, reason string) bool {
	r.status = status
	r.reason = reason
	return false
}

// classify records the worst desync classification seen.
func (r *request) classify(class, reason string) {
	if rank(class) > rank(r.class) {
		r.class, r.classReason = class, reason
	}
}

func rank(class string) int {
	switch class {
	case classAcceptable:
		return 1
	case classAmbiguous:
		return 2
	case classSevere:
		return 3
	}
	return 0
}

// b2s views b as a string without copying; the string is valid only while
// b is unchanged.
func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// indexCRLF returns the index of the first "\r\n\r\n" in b, or -1. A bare
// LF line ending is not accepted.
func headEnd(b []byte) int {
	return bytes.Index(b, crlfcrlf)
}

var crlfcrlf = []byte("\r\n\r\n")

// parseRequest parses head, which ends with "\r\n\r\n". It returns false
// with r.status set when the request must be refused.
func parseRequest(r *request, head []byte) bool {
	// Request line.
	i := bytes.IndexByte(head, '\n')
	if i < 1 || head[i-1] != '\r' {
		return r.fail(400, "MalformedRequestLine")
	}
	line := head[:i-1]
	rest := head[i+1:]
	if len(line) > maxRequestLine {
		return r.fail(414, "RequestLineTooLong")
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return r.fail(400, "MalformedRequestLine")
	}
	r.method = line[:sp1]
	for _, c := range r.method {
		if !tokenTable[c] {
			return r.fail(400, "BadMethod")
		}
	}
	line = line[sp1+1:]
	sp2 := bytes.IndexByte(line, ' ')
	if sp2 <= 0 {
		return r.fail(400, "MalformedRequestLine")
	}
	r.target = line[:sp2]
	version := line[sp2+1:]
	switch string(version) {
	case "HTTP/1.1":
		r.minor = 1
	case "HTTP/1.0":
		r.minor = 0
		r.closeConn = true
	default:
		return r.fail(400, "BadVersion")
	}
	for _, c := range r.target {
		if c <= ' ' || c == 0x7f {
			return r.fail(400, "BadUri")
		}
	}
	if !splitTarget(r) {
		return false
	}

	// Header fields.
	var clVal []byte
	total := len(head)
	if total > maxRequestHead {
		return r.fail(400, "HeaderTooLarge")
	}
	for len(rest) > 2 {
		j := bytes.IndexByte(rest, '\n')
		if j < 1 || rest[j-1] != '\r' {
			return r.fail(400, "BadHeader")
		}
		hl := rest[:j-1]
		rest = rest[j+1:]
		if len(hl) > maxHeaderLine {
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
		h := header{name: name, value: value, id: identify(name)}
		if invalid {
			r.invalidNames++
			h.drop = true // dropped only when the LB says so; see conn
		}
		switch h.id {
		case hdrHost:
			r.hostCount++
			r.host = value
		case hdrContentLength:
			if clVal != nil && !bytes.Equal(clVal, value) {
				return r.fail(400, "DuplicateContentLength")
			}
			if clVal != nil {
				r.classify(classAmbiguous, "DuplicateContentLength")
			}
			clVal = value
		case hdrTransferEncoding:
			if !parseTE(r, value) {
				return false
			}
		case hdrConnection:
			parseConnection(r, value)
		case hdrUpgrade:
			r.upgrade = value
		case hdrExpect:
			if lowerEq(value, "100-continue") {
				r.expectContinue = true
			}
		case hdrUserAgent:
			r.userAgent = value
		case hdrTraceID:
			r.traceID = value
		case hdrXForwardedFor:
			r.xffEntries += countList(value)
		}
		r.headers = append(r.headers, h)
	}
	if clVal != nil {
		n, ok := parseContentLength(clVal)
		if !ok {
			return r.fail(400, "BadContentLength")
		}
		if r.chunked {
			return r.fail(400, "BothTeClPresent")
		}
		r.contentLength = n
		r.hasBody = n > 0
	}
	if r.chunked {
		r.hasBody = true
	}
	if r.hostCount > 1 {
		return r.fail(400, "MultipleHost")
	}
	if r.absHost != nil {
		r.host = r.absHost
	} else if r.hostCount == 0 && r.minor == 1 {
		return r.fail(400, "MissingHost")
	}
	for _, c := range r.host {
		if c <= ' ' || c == 0x7f || c == '/' || c == '@' || c == '\\' {
			return r.fail(400, "BadHost")
		}
	}
	return true
}

// splitTarget splits the request target into path and query, accepting
// origin-form, absolute-form (http://host/path) and "*" for OPTIONS.
func splitTarget(r *request) bool {
	t := r.target
	switch {
	case t[0] == '/':
	case len(t) == 1 && t[0] == '*':
		if string(r.method) != "OPTIONS" {
			return r.fail(400, "BadUri")
		}
		r.path = t
		return true
	case len(t) > 7 && lowerEq(t[:7], "http://"):
		rest := t[7:]
		k := bytes.IndexAny(rest, "/?")
		if k < 0 {
			r.absHost, t = rest, []byte("/")
		} else {
			r.absHost, t = rest[:k], rest[k:]
			if t[0] == '?' {
				// "http://host?q": path "/" with the query.
				r.path, r.query = []byte("/"), t[1:]
				r.target = t
				return true
			}
		}
		if len(r.absHost) == 0 {
			return r.fail(400, "BadUri")
		}
		r.target = t
	default:
		return r.fail(400, "BadUri")
	}
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		r.path, r.query = t[:q], t[q+1:]
	} else {
		r.path = t
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
func parseTE(r *request, v []byte) bool {
	for len(v) > 0 {
		var tok []byte
		if k := bytes.IndexByte(v, ','); k >= 0 {
			tok, v = trimOWS(v[:k]), v[k+1:]
		} else {
			tok, v = trimOWS(v), nil
		}
		switch {
		case len(tok) == 0:
		case r.chunked:
			// Anything after chunked, including chunked again.
			if lowerEq(tok, "chunked") {
				return r.fail(400, "MultipleTransferEncodingChunked")
			}
			return r.fail(400, "BadTransferEncoding")
		case lowerEq(tok, "chunked"):
			r.chunked = true
		default:
			return r.fail(400, "BadTransferEncoding")
		}
	}
	return true
}

// parseConnection records the Connection header's tokens.
func parseConnection(r *request, v []byte) {
	for len(v) > 0 {
		var tok []byte
		if k := bytes.IndexByte(v, ','); k >= 0 {
			tok, v = trimOWS(v[:k]), v[k+1:]
		} else {
			tok, v = trimOWS(v), nil
		}
		switch {
		case len(tok) == 0:
		case lowerEq(tok, "close"):
			r.closeConn = true
		case lowerEq(tok, "keep-alive"):
			r.keepAlive = true
		case lowerEq(tok, "upgrade"):
			r.connUpgrade = true
		default:
			if r.nConnTokens < len(r.connTokens) {
				r.connTokens[r.nConnTokens] = tok
				r.nConnTokens++
			}
		}
	}
}

// listedInConnection reports whether name was named by the Connection
// header, which makes it hop-by-hop.
func (r *request) listedInConnection(name []byte) bool {
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

// cookieValue returns the value of cookie name from the request's Cookie
// headers, or nil.
func (r *request) cookieValue(name string) []byte {
	for i := range r.headers {
		h := &r.headers[i]
		if h.id != hdrCookie {
			continue
		}
		v := h.value
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

// headerValue returns the first value of the named header, or nil.
func (r *request) headerValue(name string) []byte {
	for i := range r.headers {
		if bytes.EqualFold(r.headers[i].name, unsafe.Slice(unsafe.StringData(name), len(name))) {
			return r.headers[i].value
		}
	}
	return nil
}

// The route.Request implementation. Strings are views into the head
// buffer, valid during rule matching only.

// Host returns the Host header (or the absolute-form authority).
func (r *request) Host() string { return b2s(r.host) }

// Path returns the request path.
func (r *request) Path() string { return b2s(r.path) }

// Method returns the request method.
func (r *request) Method() string { return b2s(r.method) }

// RawQuery returns the raw query string.
func (r *request) RawQuery() string { return b2s(r.query) }

// SourceIP returns the client address.
func (r *request) SourceIP() netip.Addr { return r.sourceIP }

// Header returns the values of the named header.
func (r *request) Header(name string) []string {
	out := r.scratch[:0]
	nb := unsafe.Slice(unsafe.StringData(name), len(name))
	for i := range r.headers {
		if bytes.EqualFold(r.headers[i].name, nb) {
			if len(out) == cap(out) {
				// More than four values: fall back to allocating.
				out = append(out[:len(out):len(out)], b2s(r.headers[i].value))
				continue
			}
			out = append(out, b2s(r.headers[i].value))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Query returns the decoded values of a query key.
func (r *request) Query(key string) ([]string, bool) {
	out := r.qscratch[:0]
	q := r.query
	found := false
	for len(q) > 0 {
		var pair []byte
		if k := bytes.IndexByte(q, '&'); k >= 0 {
			pair, q = q[:k], q[k+1:]
		} else {
			pair, q = q, nil
		}
		if len(pair) == 0 {
			continue
		}
		k, v := pair, []byte(nil)
		if eq := bytes.IndexByte(pair, '='); eq >= 0 {
			k, v = pair[:eq], pair[eq+1:]
		}
		if !queryEq(k, key) {
			continue
		}
		found = true
		val := b2s(v)
		if bytes.IndexByte(v, '%') >= 0 || bytes.IndexByte(v, '+') >= 0 {
			if d, err := url.QueryUnescape(val); err == nil {
				val = d
			}
		}
		if len(out) == cap(out) {
			out = append(out[:len(out):len(out)], val)
		} else {
			out = append(out, val)
		}
	}
	return out, found
}

// queryEq compares an encoded query key with a decoded one.
func queryEq(enc []byte, key string) bool {
	if bytes.IndexByte(enc, '%') < 0 && bytes.IndexByte(enc, '+') < 0 {
		return string(enc) == key
	}
	d, err := url.QueryUnescape(string(enc))
	return err == nil && d == key
}

// response is a parsed response head from a target.
type response struct {
	status        int
	statusLine    []byte // "200 OK"
	minor         int
	headers       []header
	contentLength int64
	chunked       bool
	closeConn     bool
	setsCookie    bool // sets the app cookie (app_cookie stickiness)
}

func (r *response) reset() {
	h := r.headers[:0]
	*r = response{headers: h, contentLength: -1}
}

// parseResponse parses a response head ending with "\r\n\r\n". appCookie,
// when set, is the cookie name whose Set-Cookie the caller wants to know
// about.
func parseResponse(r *response, head []byte, appCookie string) bool {
	i := bytes.IndexByte(head, '\n')
	if i < 1 || head[i-1] != '\r' {
		return false
	}
	line := head[:i-1]
	rest := head[i+1:]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return false
	}
	switch line[7] {
	case '0':
		r.minor = 0
		r.closeConn = true
	case '1':
		r.minor = 1
	default:
		return false
	}
	code := line[9:12]
	if code[0] < '1' || code[0] > '5' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return false
	}
	if len(line) > 12 && line[12] != ' ' {
		return false
	}
	r.status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	r.statusLine = line[9:]
	var clVal []byte
	keepAlive := false
	for len(rest) > 2 {
		j := bytes.IndexByte(rest, '\n')
		if j < 1 || rest[j-1] != '\r' {
			return false
		}
		hl := rest[:j-1]
		rest = rest[j+1:]
		if hl[0] == ' ' || hl[0] == '\t' {
			return false
		}
		colon := bytes.IndexByte(hl, ':')
		if colon <= 0 {
			return false
		}
		name := hl[:colon]
		for _, c := range name {
			if !tokenTable[c] {
				return false
			}
		}
		value := trimOWS(hl[colon+1:])
		h := header{name: name, value: value, id: identify(name)}
		switch h.id {
		case hdrContentLength:
			if clVal != nil && !bytes.Equal(clVal, value) {
				return false
			}
			if clVal != nil {
				h.drop = true
			}
			clVal = value
		case hdrTransferEncoding:
			v := trimOWS(value)
			if !lowerEq(v, "chunked") {
				// Other codings end with chunked or are close-delimited.
				if len(v) >= 7 && lowerEq(v[len(v)-7:], "chunked") {
					r.chunked = true
				} else {
					r.closeConn = true
				}
			} else {
				r.chunked = true
			}
		case hdrConnection:
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = trimOWS(tok)
				if lowerEq(tok, "close") {
					r.closeConn = true
				} else if lowerEq(tok, "keep-alive") {
					keepAlive = true
				}
			}
		case hdrSetCookie:
			if appCookie != "" && len(value) > len(appCookie) && string(value[:len(appCookie)]) == appCookie && value[len(appCookie)] == '=' {
				r.setsCookie = true
			}
		}
		r.headers = append(r.headers, h)
	}
	if r.minor == 0 && keepAlive {
		r.closeConn = false
	}
	if clVal != nil && !r.chunked {
		n, ok := parseContentLength(clVal)
		if !ok {
			return false
		}
		r.contentLength = n
	}
	return true
}

// bodyless reports whether a response to method with this status has no
// body regardless of its headers.
func (r *response) bodyless(head bool) bool {
	return head || r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200)
}
