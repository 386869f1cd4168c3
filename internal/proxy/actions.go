package proxy

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/route"
)

// fixedResponse is a compiled fixed-response action.
type fixedResponse struct {
	status      int
	contentType string
	body        string
}

func compileFixed(spec *route.FixedResponse) (*fixedResponse, error) {
	if spec == nil {
		return nil, errors.New("fixed-response action has no fixedResponse settings: add fixedResponse.statusCode")
	}
	code := spec.StatusCode
	if !(code >= 200 && code <= 299 || code >= 400 && code <= 599) {
		return nil, fmt.Errorf("fixedResponse.statusCode %d is not valid: use a 2XX, 4XX or 5XX code", code)
	}
	if len(spec.MessageBody) > 1024 {
		return nil, fmt.Errorf("fixedResponse.messageBody is %d bytes: the limit is 1024", len(spec.MessageBody))
	}
	ct := spec.ContentType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	return &fixedResponse{status: code, contentType: ct, body: spec.MessageBody}, nil
}

// appendSimpleHead writes a status line and the common headers of a
// response the load balancer generates itself.
func (c *conn) appendSimpleHead(b []byte, status int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, reasonPhrase(status)...)
	b = append(b, "\r\nServer: madang\r\n"...)
	if c.closing {
		b = append(b, "Connection: close\r\n"...)
	} else if c.req.Minor == 0 {
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return b
}

func (c *conn) fixedResponse(fr *fixedResponse) bool {
	c.entry.elbStatus = fr.status
	c.entry.elbGenerated = true
	b := c.appendSimpleHead(c.wbuf, fr.status)
	b = append(b, "Content-Type: "...)
	b = append(b, fr.contentType...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(fr.body)), 10)
	b = append(b, "\r\n\r\n"...)
	if string(c.req.Method) != "HEAD" {
		b = append(b, fr.body...)
	}
	c.wbuf = b
	return c.finish(nil)
}

// redirect answers with a redirect built from the action's components
// and the #{protocol} #{host} #{port} #{path} #{query} tokens.
func (c *conn) redirect(rd *route.Redirect) bool {
	r := &c.req
	host := b2s(r.Host)
	if h, _, ok := splitHostPort(host); ok {
		host = h
	}
	if host == "" {
		host = c.lc.lb.cfg.Address
	}
	pathNoSlash := strings.TrimPrefix(b2s(r.Path), "/")
	expand := func(tmpl, def string) string {
		if tmpl == "" {
			tmpl = def
		}
		if !strings.Contains(tmpl, "#{") {
			return tmpl
		}
		return strings.NewReplacer(
			"#{protocol}", "http",
			"#{host}", host,
			"#{port}", c.lc.portStr,
			"#{path}", pathNoSlash,
			"#{query}", b2s(r.Query),
		).Replace(tmpl)
	}
	proto := strings.ToLower(expand(rd.Protocol, "#{protocol}"))
	h := expand(rd.Host, "#{host}")
	port := expand(rd.Port, "#{port}")
	p := expand(rd.Path, "/#{path}")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	q := expand(rd.Query, "#{query}")
	u := c.entry.redirectURL[:0]
	u = append(u, proto...)
	u = append(u, "://"...)
	u = append(u, h...)
	if !(proto == "http" && port == "80") && !(proto == "https" && port == "443") {
		u = append(u, ':')
		u = append(u, port...)
	}
	u = append(u, p...)
	if q != "" {
		u = append(u, '?')
		u = append(u, q...)
	}
	c.entry.redirectURL = u
	status := rd.StatusCode
	c.entry.elbStatus = status
	c.entry.elbGenerated = true
	b := c.appendSimpleHead(c.wbuf, status)
	b = append(b, "Location: "...)
	b = append(b, u...)
	b = append(b, "\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n"...)
	c.wbuf = b
	return c.finish(nil)
}

// splitHostPort splits "host:port" or "[v6]:port".
func splitHostPort(s string) (string, string, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.IndexByte(s[i:], ']') >= 0 {
		return s, "", false
	}
	h := s[:i]
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return h, s[i+1:], true
}

// staticSite serves a directory.
type staticSite struct {
	root   string
	strip  string
	index  string
	maxAge int
}

func newStaticSite(spec *route.Static) (*staticSite, error) {
	if spec == nil || spec.Root == "" {
		return nil, errors.New("static action has no root: set static.root to a directory")
	}
	if !filepath.IsAbs(spec.Root) {
		return nil, fmt.Errorf("static.root %q is not absolute: resolve it against the stack file's directory first", spec.Root)
	}
	st, err := os.Stat(spec.Root)
	if err != nil {
		return nil, fmt.Errorf("static.root %q: %w", spec.Root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("static.root %q is not a directory: point it at the directory to serve", spec.Root)
	}
	if spec.MaxAgeSeconds < 0 {
		return nil, fmt.Errorf("static.maxAgeSeconds %d is negative: use 0 or more", spec.MaxAgeSeconds)
	}
	idx := spec.Index
	if idx == "" {
		idx = "index.html"
	}
	if strings.ContainsAny(idx, "/\\") {
		return nil, fmt.Errorf("static.index %q must be a file name, not a path", idx)
	}
	return &staticSite{root: spec.Root, strip: spec.StripPrefix, index: idx, maxAge: spec.MaxAgeSeconds}, nil
}

// serveStatic serves a file with content types, ranges and validators.
func (c *conn) serveStatic(s *staticSite) bool {
	r := &c.req
	c.lastNow = time.Time{}
	method := string(r.Method)
	if method != "GET" && method != "HEAD" {
		return c.errorResponse(405, "StaticMethodNotAllowed", c.closing)
	}
	p, err := url.PathUnescape(string(r.Path))
	if err != nil || strings.IndexByte(p, 0) >= 0 {
		return c.errorResponse(400, "BadUri", c.closing)
	}
	if s.strip != "" && strings.HasPrefix(p, s.strip) {
		p = p[len(s.strip):]
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	clean := path.Clean(p)
	name := strings.TrimPrefix(clean, "/")
	if name == "" {
		name = "."
	}
	f, err := os.OpenInRoot(s.root, name)
	if err != nil {
		return c.staticError(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return c.staticError(err)
	}
	if st.IsDir() {
		if !strings.HasSuffix(string(r.Path), "/") {
			loc := string(r.Path) + "/"
			if len(r.Query) > 0 {
				loc += "?" + string(r.Query)
			}
			c.entry.elbStatus = 301
			c.entry.elbGenerated = true
			b := c.appendSimpleHead(c.wbuf, 301)
			b = append(b, "Location: "...)
			b = append(b, loc...)
			b = append(b, "\r\nContent-Length: 0\r\n\r\n"...)
			c.wbuf = b
			return c.finish(nil)
		}
		f.Close()
		name = path.Join(name, s.index)
		f, err = os.OpenInRoot(s.root, name)
		if err != nil {
			return c.staticError(err)
		}
		st, err = f.Stat()
		if err != nil || st.IsDir() {
			return c.errorResponse(404, "StaticNotFound", c.closing)
		}
	}
	req := &http.Request{Method: method, Header: http.Header{}, URL: &url.URL{Path: clean}}
	for i := range r.Headers {
		h := &r.Headers[i]
		req.Header.Add(string(h.Name), string(h.Value))
	}
	w := &staticWriter{c: c, h: http.Header{}}
	w.h.Set("ETag", fmt.Sprintf("\"%x-%x\"", st.ModTime().UnixNano(), st.Size()))
	if s.maxAge > 0 {
		w.h.Set("Cache-Control", "max-age="+strconv.Itoa(s.maxAge))
	} else {
		w.h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, req, st.Name(), st.ModTime(), f)
	return w.finish()
}

func (c *conn) staticError(err error) bool {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return c.errorResponse(403, "StaticForbidden", c.closing)
	default:
		return c.errorResponse(404, "StaticNotFound", c.closing)
	}
}

// staticWriter adapts a client connection to http.ResponseWriter for
// http.ServeContent.
type staticWriter struct {
	c      *conn
	h      http.Header
	wrote  bool
	status int
	err    error
}

func (w *staticWriter) Header() http.Header { return w.h }

func (w *staticWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.status = status
	c := w.c
	c.entry.elbStatus = status
	c.entry.elbGenerated = true
	bodyless := status == 304 || status == 204 || string(c.req.Method) == "HEAD"
	if w.h.Get("Content-Length") == "" && !bodyless {
		c.closing = true
	}
	b := c.appendSimpleHead(c.wbuf, status)
	for k, vs := range w.h {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	c.wbuf = b
}

func (w *staticWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if string(w.c.req.Method) == "HEAD" {
		return len(p), nil
	}
	w.c.wbuf = append(w.c.wbuf, p...)
	if len(w.c.wbuf) >= 32<<10 {
		w.err = w.c.flush()
	}
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

func (w *staticWriter) finish() bool {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.c.finish(w.err)
}

var _ http.ResponseWriter = (*staticWriter)(nil)
