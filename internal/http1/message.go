// Package http1 parses HTTP/1.1 messages (RFC 9112) for a proxy: request
// and response heads and chunked body framing. It works in place on the
// bytes it is given and does not allocate: parsed fields are slices of the
// head buffer, valid until the buffer is reused.
//
// It is strict where a lenient parser would let two parties disagree
// about where a message ends (request smuggling): CRLF line endings only,
// no obsolete line folding, no whitespace before a header field's colon,
// one Content-Length value, a request Transfer-Encoding of exactly
// chunked, never both. Refused requests carry the status to answer with
// and AWS's desync classification reason.
package http1

// HTTP/1.1 message limits, as AWS's Application Load Balancer enforces them.
const (
	MaxRequestLine  = 16 << 10 // request line: 16K, else 414
	MaxHeaderLine   = 16 << 10 // one header field: 16K, else 400
	MaxRequestHead  = 64 << 10 // whole request head: 64K, else 400
	MaxResponseHead = 32 << 10 // whole response head from a target: 32K, else 502
)

// FieldID names the header fields a proxy interprets; everything else is
// FieldOther.
type FieldID uint8

const (
	FieldOther FieldID = iota
	FieldHost
	FieldConnection
	FieldKeepAlive
	FieldProxyConnection
	FieldTE
	FieldTrailer
	FieldTransferEncoding
	FieldUpgrade
	FieldContentLength
	FieldXForwardedFor
	FieldXForwardedProto
	FieldXForwardedPort
	FieldTraceID
	FieldExpect
	FieldCookie
	FieldSetCookie
	FieldUserAgent
	FieldHTTP2Settings
)

// LowerEq reports whether b equals the lower-case ASCII string s, ignoring
// case. b must be a validated token, so OR-ing 0x20 folds only letters.
func LowerEq(b []byte, s string) bool {
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
func identify(name []byte) FieldID {
	switch len(name) {
	case 2:
		if LowerEq(name, "te") {
			return FieldTE
		}
	case 4:
		if LowerEq(name, "host") {
			return FieldHost
		}
	case 6:
		if LowerEq(name, "cookie") {
			return FieldCookie
		}
		if LowerEq(name, "expect") {
			return FieldExpect
		}
	case 7:
		if LowerEq(name, "upgrade") {
			return FieldUpgrade
		}
		if LowerEq(name, "trailer") {
			return FieldTrailer
		}
	case 10:
		if LowerEq(name, "connection") {
			return FieldConnection
		}
		if LowerEq(name, "keep-alive") {
			return FieldKeepAlive
		}
		if LowerEq(name, "user-agent") {
			return FieldUserAgent
		}
		if LowerEq(name, "set-cookie") {
			return FieldSetCookie
		}
	case 14:
		if LowerEq(name, "content-length") {
			return FieldContentLength
		}
		if LowerEq(name, "http2-settings") {
			return FieldHTTP2Settings
		}
	case 15:
		if LowerEq(name, "x-forwarded-for") {
			return FieldXForwardedFor
		}
		if LowerEq(name, "x-amzn-trace-id") {
			return FieldTraceID
		}
	case 16:
		if LowerEq(name, "proxy-connection") {
			return FieldProxyConnection
		}
		if LowerEq(name, "x-forwarded-port") {
			return FieldXForwardedPort
		}
	case 17:
		if LowerEq(name, "transfer-encoding") {
			return FieldTransferEncoding
		}
		if LowerEq(name, "x-forwarded-proto") {
			return FieldXForwardedProto
		}
	}
	return FieldOther
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

// Header is one header field; both slices point into the message head.
// Drop marks a field not to forward; the parser sets it on names outside
// [-A-Za-z0-9], which AWS drops when
// routing.http.drop_invalid_header_fields.enabled is on.
type Header struct {
	Name, Value []byte
	ID          FieldID
	Drop        bool // not forwarded
}

// Desync classifications, as AWS writes them in the access log.
const (
	ClassCompliant  = ""
	ClassAcceptable = "Acceptable"
	ClassAmbiguous  = "Ambiguous"
	ClassSevere     = "Severe"
)
