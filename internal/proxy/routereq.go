package proxy

import (
	"bytes"
	"github.com/madang-dev/madang/internal/http1"
	"net/netip"
	"net/url"
	"unsafe"

	"github.com/madang-dev/madang/internal/route"
)

// request is a client's request head with what the proxy knows of its
// connection.
type request struct {
	http1.Request
	sourceIP netip.Addr
	scratch  [4]string
	qscratch [4]string
}

// routeRequest is a request as rule conditions see it (route.Request).
// Strings are views into the head buffer, valid during rule matching only.
type routeRequest request

// Host returns the Host header (or the absolute-form authority).
func (r *routeRequest) Host() string { return b2s(r.Request.Host) }

// Path returns the request path.
func (r *routeRequest) Path() string { return b2s(r.Request.Path) }

// Method returns the request method.
func (r *routeRequest) Method() string { return b2s(r.Request.Method) }

// RawQuery returns the raw query string.
func (r *routeRequest) RawQuery() string { return b2s(r.Request.Query) }

// SourceIP returns the client address.
func (r *routeRequest) SourceIP() netip.Addr { return r.sourceIP }

// Header returns the values of the named header.
func (r *routeRequest) Header(name string) []string {
	out := r.scratch[:0]
	nb := unsafe.Slice(unsafe.StringData(name), len(name))
	for i := range r.Headers {
		if bytes.EqualFold(r.Headers[i].Name, nb) {
			if len(out) == cap(out) {
				// More than four values: fall back to allocating.
				out = append(out[:len(out):len(out)], b2s(r.Headers[i].Value))
				continue
			}
			out = append(out, b2s(r.Headers[i].Value))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Query returns the decoded values of a query key.
func (r *routeRequest) Query(key string) ([]string, bool) {
	out := r.qscratch[:0]
	q := r.Request.Query
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

var _ route.Request = (*routeRequest)(nil)

// b2s views b as a string without copying; the string is valid only while
// b is unchanged.
func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
