package http1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseRequest checks ParseRequest differentially against net/http's
// http.ReadRequest on the same bytes: the same accept/reject verdict, and
// for requests both accept the same method, target, header fields and
// body framing (Content-Length or chunked, and the body bytes). Where the
// two rightly differ, stricterThanNetHTTP and laxerThanNetHTTP name and
// explain each case.
func FuzzParseRequest(f *testing.F) {
	for _, tc := range requestTests {
		f.Add([]byte(tc.raw))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		end := HeadEnd(data)
		if end < 0 {
			return // an incomplete head: the proxy waits for more bytes
		}
		head, rest := data[:end+4], data[end+4:]
		r := Request{Headers: make([]Header, 0, 8)}
		r.Reset()
		ok := ParseRequest(&r, head)

		std, stdErr := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		switch {
		case ok && stdErr != nil:
			if why := laxerThanNetHTTP(&r, stdErr); why == "" {
				t.Fatalf("ParseRequest accepted what net/http rejects (%v):\n%q", stdErr, data)
			}
			return
		case !ok && stdErr == nil:
			if why := stricterThanNetHTTP(&r, std); why == "" {
				t.Fatalf("ParseRequest refused (%d %s) what net/http accepts:\n%q", r.Status, r.Reason, data)
			}
			return
		case !ok:
			return // both refuse
		}

		if string(r.Method) != std.Method {
			t.Fatalf("method %q, net/http %q", r.Method, std.Method)
		}
		target := string(r.Target)
		if r.AbsHost != nil {
			// The proxy forwards an absolute-form target in origin form
			// with its host as Host.
			if !strings.HasSuffix(std.RequestURI, target) && !(target == "/" && std.URL.Path == "") {
				t.Fatalf("absolute-form target %q (host %q), net/http %q", target, r.AbsHost, std.RequestURI)
			}
		} else if target != std.RequestURI {
			t.Fatalf("target %q, net/http %q", target, std.RequestURI)
		}
		if r.AbsHost == nil && string(r.Host) != std.Host {
			t.Fatalf("host %q, net/http %q", r.Host, std.Host)
		}

		// Header fields: net/http moves Host and Transfer-Encoding out
		// of Header and keeps the rest, values trimmed as here.
		got := http.Header{}
		for _, h := range r.Headers {
			k := textproto.CanonicalMIMEHeaderKey(string(h.Name))
			if k == "Host" || k == "Transfer-Encoding" {
				continue
			}
			got[k] = append(got[k], string(h.Value))
		}
		delete(std.Header, "Host")
		if len(got) != len(std.Header) {
			t.Fatalf("header fields %v, net/http %v", got, std.Header)
		}
		for k, vs := range got {
			if strings.Join(vs, "\x00") != strings.Join(std.Header[k], "\x00") {
				t.Fatalf("header %s = %q, net/http %q", k, vs, std.Header[k])
			}
		}

		// Body framing and bytes.
		stdChunked := len(std.TransferEncoding) == 1 && std.TransferEncoding[0] == "chunked"
		if r.Chunked != stdChunked {
			t.Fatalf("chunked %v, net/http transfer encoding %q", r.Chunked, std.TransferEncoding)
		}
		stdBody, stdBodyErr := io.ReadAll(std.Body)
		if r.Chunked {
			var sc ChunkScanner
			var body []byte
			_, err := sc.ScanData(rest, func(b []byte) error { body = append(body, b...); return nil })
			switch {
			case err == nil && !sc.Done():
				return // truncated: neither can finish the body
			case err != nil && stdBodyErr == nil:
				if why := chunkedStricter(rest); why == "" {
					t.Fatalf("chunked body refused (%v), net/http read %q:\n%q", err, stdBody, data)
				}
				return
			case err == nil && stdBodyErr != nil:
				t.Fatalf("chunked body %q accepted, net/http: %v:\n%q", body, stdBodyErr, data)
			case err != nil:
				return
			}
			if !bytes.Equal(body, stdBody) {
				t.Fatalf("chunked body %q, net/http %q", body, stdBody)
			}
			return
		}
		want := max(r.ContentLength, 0)
		if std.ContentLength != want {
			t.Fatalf("content length %d, net/http %d", want, std.ContentLength)
		}
		if int64(len(rest)) < want {
			return // truncated body: net/http fails with unexpected EOF
		}
		if stdBodyErr != nil || !bytes.Equal(rest[:want], stdBody) {
			t.Fatalf("body %q, net/http %q (%v)", rest[:want], stdBody, stdBodyErr)
		}
	})
}

// stricterThanNetHTTP explains why ParseRequest may refuse a request that
// net/http's ReadRequest accepts: ReadRequest is a library reader that
// leaves several checks to http.Server, and madang refuses framing that
// lets a proxy and a target disagree about where a message ends. It
// returns "" for a refusal with no such reason.
func stricterThanNetHTTP(r *Request, std *http.Request) string {
	switch r.Reason {
	case "MissingHost", "MultipleHost", "BadHost":
		// RFC 9112 §3.2: exactly one valid Host in HTTP/1.1. http.Server
		// checks this after ReadRequest, which does not.
		return "Host is checked by http.Server, not ReadRequest"
	case "RequestLineTooLong", "HeaderTooLarge":
		// AWS's limits; ReadRequest has none (http.Server applies
		// MaxHeaderBytes).
		return "size limits"
	case "BadUri":
		// madang accepts origin-form, absolute-form http:// and OPTIONS
		// *; ReadRequest also takes other schemes and authority-form.
		return "request target forms"
	case "BadHeader":
		// ReadRequest accepts header values with control characters
		// (http.Server checks them), and the proxy refuses NUL and bare
		// CR/LF in values: a target could split them into fields.
		return "header value characters"
	case "BadMethod", "BadVersion", "MalformedRequestLine":
		// Method tokens and the version are exact here ("HTTP/1.0" or
		// "HTTP/1.1"); ReadRequest takes any HTTP/1.x and HTTP/2 syntax.
		return "request line"
	case "BadContentLength", "DuplicateContentLength":
		// net/http tolerates some Content-Length forms (leading zeros
		// beyond 18 digits, repeated identical fields) the proxy does not.
		return "Content-Length"
	case "BadTransferEncoding", "MultipleTransferEncodingChunked", "BothTeClPresent":
		// RFC 9112 §6.1 and §6.3: madang implements only chunked and
		// refuses the rest with 400, and never accepts both framings.
		return "Transfer-Encoding"
	case "ObsoleteLineFolding":
		// RFC 9112 §5.2 lets a server refuse obs-fold; a proxy must
		// not forward it (targets unfold differently).
		return "obs-fold"
	}
	return ""
}

// laxerThanNetHTTP explains why ParseRequest may accept a request that
// net/http's ReadRequest refuses; "" when there is no such reason.
func laxerThanNetHTTP(r *Request, stdErr error) string {
	msg := stdErr.Error()
	switch {
	case strings.Contains(msg, "invalid URI") || strings.Contains(msg, "invalid URL") || strings.Contains(msg, "invalid character") || strings.Contains(msg, "invalid port"):
		// The proxy forwards the target's bytes as they came (as AWS
		// does) and matches rules on them; it does not decode escapes or
		// check the URL syntax ReadRequest's url.ParseRequestURI does.
		return "opaque request target"
	case strings.Contains(msg, "bad Content-Length") && bytes.IndexByte(contentLength(r), ',') >= 0:
		// RFC 9110 §8.6: a list of identical Content-Length values may
		// be taken as one; ReadRequest refuses lists.
		return "Content-Length list"
	case strings.Contains(msg, "unsupported transfer encoding") && r.Chunked:
		// RFC 9110 §5.6.1: recipients accept empty list elements, so
		// ", chunked" is chunked; ReadRequest wants exactly one field
		// whose whole value is "chunked". The proxy forwards it as plain
		// "Transfer-Encoding: chunked".
		return "empty list elements"
	case strings.Contains(msg, "malformed MIME header") || strings.Contains(msg, "invalid header"):
		// textproto refuses some header bytes (e.g. values with other
		// control characters) that the proxy passes through.
		return "header bytes"
	}
	return ""
}

// contentLength returns the request's Content-Length value, or nil.
func contentLength(r *Request) []byte {
	for _, h := range r.Headers {
		if h.ID == FieldContentLength {
			return h.Value
		}
	}
	return nil
}

// chunkedStricter explains a chunked body the scanner refuses and
// net/http accepts; "" when there is no reason.
func chunkedStricter(b []byte) string {
	// Chunk sizes are limited to 15 hex digits here; net/http reads a
	// size line up to 4 KiB and parses up to 16 digits. Bare LF line
	// endings and a chunk size line with whitespace are also refused
	// here: the scanner checks CRLF after every line.
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line := b[:i]
		if len(line) == 0 || line[len(line)-1] != '\r' {
			return "bare LF"
		}
		size := line[:len(line)-1]
		if k := bytes.IndexByte(size, ';'); k >= 0 {
			size = size[:k]
		}
		if _, err := strconv.ParseUint(string(size), 16, 64); err != nil || len(size) > 15 {
			return "chunk size syntax"
		}
	}
	return ""
}
