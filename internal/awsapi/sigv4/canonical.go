package sigv4

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// canonicalRequest builds SigV4's canonical request of r:
//
//	METHOD \n URI \n QUERY \n HEADERS \n \n SIGNED-HEADERS \n PAYLOAD
//
// uri is one of canonicalURIs; the query
// is every parameter but X-Amz-Signature, decoded, re-encoded and sorted;
// each signed header's values are trimmed, inner runs of spaces collapsed,
// and joined with commas.
func canonicalRequest(r *http.Request, p parsed, uri, payload string) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery, p.Presigned))
	b.WriteByte('\n')
	for _, h := range p.signedHeaders {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(p.signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String()
}

// canonicalURIs returns the canonical URI of the request's path as AWS
// computes it — the path as sent, normalized (see normalizePath), encoded
// once more — then the other forms clients sign: the Go SDK does not
// normalize, and botocore encodes only once a path its endpoint URL holds
// unescaped.
func canonicalURIs(u *url.URL) []string {
	raw := u.EscapedPath()
	if raw == "" {
		raw = "/"
	}
	norm := normalizePath(raw)
	out := []string{encode(norm, false)}
	if norm != raw {
		out = append(out, encode(raw, false))
	}
	if once := encode(normalizePath(u.Path), false); once != out[0] {
		out = append(out, once)
	}
	return out
}

// normalizePath removes dot segments (RFC 3986 §5.2.4) and empty
// segments (AWS services treat consecutive slashes as one), keeping the
// leading slash and, when anything is left, a trailing one.
func normalizePath(path string) string {
	if path == "" {
		return "/"
	}
	if !strings.Contains(path, ".") && !strings.Contains(path, "//") {
		return path
	}
	var out []string
	for s := range strings.SplitSeq(path, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	p := strings.Join(out, "/")
	if path[0] == '/' {
		p = "/" + p
	}
	if len(out) > 0 && path[len(path)-1] == '/' {
		p += "/"
	}
	return p
}

// canonicalQuery decodes the raw query's parameters ('+' is a space, as
// the SDKs read it), re-encodes them the SigV4 way and sorts them by key,
// then value. The presigned form leaves X-Amz-Signature out.
func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, kv{encode(k, true), encode(v, true)})
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// headerValue is a signed header's canonical value. The server moved
// Host (and, for some requests, Content-Length) out of r.Header.
func headerValue(r *http.Request, name string) string {
	var vs []string
	switch name {
	case "host", ":authority":
		vs = []string{r.Host}
	default:
		vs = r.Header.Values(name)
		if len(vs) == 0 && name == "content-length" && r.ContentLength >= 0 {
			vs = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	}
	if len(vs) == 1 {
		return trimAll(vs[0])
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = trimAll(v)
	}
	return strings.Join(out, ",")
}

// trimAll trims v and collapses each inner run of spaces to one.
func trimAll(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") && !strings.ContainsAny(v, "\t\n\r") {
		return v
	}
	return strings.Join(strings.Fields(v), " ")
}

// encode percent-encodes every byte but the unreserved characters
// (A-Z a-z 0-9 - _ . ~), and '/' unless slash is set, with upper-case hex.
func encode(s string, slash bool) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && (slash || s[i] != '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (!slash && c == '/') {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}
