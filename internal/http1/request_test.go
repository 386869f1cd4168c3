package http1

import (
	"strings"
	"testing"
)

// requestTests is the parser's table; FuzzParseRequest seeds its corpus
// from it. raw is a whole message, head and body.
var requestTests = []struct {
	name       string
	raw        string
	wantStatus int // 0: accepted
	wantReason string
	method     string
	target     string
	host       string
	cl         int64 // Content-Length, -1 when absent
	chunked    bool
}{
	{name: "get", raw: "GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", target: "/a?b=c", host: "x", cl: -1},
	{name: "http 1.0 without host", raw: "GET / HTTP/1.0\r\n\r\n", method: "GET", target: "/", cl: -1},
	{name: "content length", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", method: "POST", target: "/", host: "x", cl: 5},
	{name: "content length list of one value", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", method: "POST", target: "/", host: "x", cl: 5},
	{name: "chunked", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", method: "POST", target: "/", host: "x", cl: -1, chunked: true},
	{name: "chunked with extension and trailer", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", method: "POST", target: "/", host: "x", cl: -1, chunked: true},
	{name: "absolute form", raw: "GET http://example.com/p?q HTTP/1.1\r\nHost: other\r\n\r\n", method: "GET", target: "/p?q", host: "example.com", cl: -1},
	{name: "options star", raw: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", method: "OPTIONS", target: "*", host: "x", cl: -1},
	{name: "header whitespace trimmed", raw: "GET / HTTP/1.1\r\nHost: \t x \t\r\nX-A:b\r\n\r\n", method: "GET", target: "/", host: "x", cl: -1},
	{name: "lf only request line", raw: "GET / HTTP/1.1\nHost: x\r\n\r\n", wantStatus: 400, wantReason: "MalformedRequestLine"},
	{name: "bad method", raw: "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", wantStatus: 400, wantReason: "BadMethod"},
	{name: "bad version", raw: "GET / HTTP/1.2\r\nHost: x\r\n\r\n", wantStatus: 400, wantReason: "BadVersion"},
	{name: "control in target", raw: "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", wantStatus: 400, wantReason: "BadUri"},
	{name: "star without options", raw: "GET * HTTP/1.1\r\nHost: x\r\n\r\n", wantStatus: 400, wantReason: "BadUri"},
	{name: "missing host", raw: "GET / HTTP/1.1\r\n\r\n", wantStatus: 400, wantReason: "MissingHost"},
	{name: "two hosts", raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", wantStatus: 400, wantReason: "MultipleHost"},
	{name: "bad host", raw: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", wantStatus: 400, wantReason: "BadHost"},
	{name: "obs fold", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", wantStatus: 400, wantReason: "ObsoleteLineFolding"},
	{name: "space before colon", raw: "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", wantStatus: 400, wantReason: "BadHeader"},
	{name: "no colon", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n", wantStatus: 400, wantReason: "BadHeader"},
	{name: "bare lf in headers", raw: "GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", wantStatus: 400, wantReason: "BadHeader"},
	{name: "nul in value", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", wantStatus: 400, wantReason: "BadHeader"},
	{name: "differing content lengths", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", wantStatus: 400, wantReason: "DuplicateContentLength"},
	{name: "negative content length", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", wantStatus: 400, wantReason: "BadContentLength"},
	{name: "plus content length", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", wantStatus: 400, wantReason: "BadContentLength"},
	{name: "te and cl", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", wantStatus: 400, wantReason: "BothTeClPresent"},
	{name: "te identity", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", wantStatus: 400, wantReason: "BadTransferEncoding"},
	{name: "te chunked then identity", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", wantStatus: 400, wantReason: "BadTransferEncoding"},
	{name: "te gzip then chunked", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", wantStatus: 400, wantReason: "BadTransferEncoding"},
	{name: "te empty", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n", wantStatus: 400, wantReason: "BadTransferEncoding"},
	{name: "te empty elements around chunked", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , chunked,\r\n\r\n0\r\n\r\n", method: "POST", target: "/", host: "x", cl: -1, chunked: true},
	{name: "te in http 1.0", raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", wantStatus: 400, wantReason: "BadTransferEncoding"},
	{name: "te chunked twice", raw: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", wantStatus: 400, wantReason: "MultipleTransferEncodingChunked"},
	{name: "request line too long", raw: "GET /" + strings.Repeat("a", MaxRequestLine) + " HTTP/1.1\r\nHost: x\r\n\r\n", wantStatus: 414, wantReason: "RequestLineTooLong"},
	{name: "header line too long", raw: "GET / HTTP/1.1\r\nHost: x\r\nX-A: " + strings.Repeat("a", MaxHeaderLine) + "\r\n\r\n", wantStatus: 400, wantReason: "HeaderTooLarge"},
}

func TestParseRequest(t *testing.T) {
	for _, tc := range requestTests {
		t.Run(tc.name, func(t *testing.T) {
			end := HeadEnd([]byte(tc.raw))
			if end < 0 {
				t.Fatalf("HeadEnd found no end of the head in %q", tc.raw)
			}
			var r Request
			r.Reset()
			ok := ParseRequest(&r, []byte(tc.raw[:end+4]))
			if ok != (tc.wantStatus == 0) || r.Status != tc.wantStatus || r.Reason != tc.wantReason {
				t.Fatalf("ParseRequest = %v, status %d %q; want status %d %q", ok, r.Status, r.Reason, tc.wantStatus, tc.wantReason)
			}
			if !ok {
				return
			}
			if string(r.Method) != tc.method || string(r.Target) != tc.target || string(r.Host) != tc.host {
				t.Errorf("method, target, host = %q %q %q; want %q %q %q", r.Method, r.Target, r.Host, tc.method, tc.target, tc.host)
			}
			if r.ContentLength != tc.cl || r.Chunked != tc.chunked {
				t.Errorf("framing: content length %d, chunked %v; want %d, %v", r.ContentLength, r.Chunked, tc.cl, tc.chunked)
			}
		})
	}
}

func TestParseRequestAllocs(t *testing.T) {
	raw := []byte("POST /a?b HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nCookie: a=b\r\nContent-Length: 2\r\n\r\n")
	r := Request{Headers: make([]Header, 0, 16)}
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset()
		ParseRequest(&r, raw)
	})
	if allocs != 0 {
		t.Errorf("ParseRequest allocates %.0f times per request, want 0", allocs)
	}
}
