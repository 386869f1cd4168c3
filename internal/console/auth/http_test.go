package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// probe is the guarded handler: it reports the session it was given and
// the CSRF token a page would embed.
func probe(w http.ResponseWriter, r *http.Request) {
	sess, ok := FromContext(r.Context())
	w.Header().Set("X-Test-User", sess.User)
	if ok {
		w.Header().Set("X-Test-Session", "yes")
	}
	w.Header().Set("X-Test-CSRF", CSRFToken(r))
	if r.URL.Path == "/static/app.css" {
		w.Header().Set("Cache-Control", "max-age=3600")
	}
	_, _ = w.Write([]byte("ok"))
}

func newGuard(f *fixture) http.Handler {
	return f.svc.Middleware(http.HandlerFunc(probe), MiddlewareOptions{
		Public: func(p string) bool { return strings.HasPrefix(p, "/static/") },
		Static: func(p string) bool { return strings.HasPrefix(p, "/static/") },
	})
}

// req describes one request to the guarded handler.
type req struct {
	method, path, host string
	header             map[string]string
	form               url.Values
	session            bool // send the fixture session's cookie
	preCSRF            string
	useCSRF            bool // send the session's CSRF token in the header
}

func (q req) do(t *testing.T, h http.Handler, sess Session) *httptest.ResponseRecorder {
	t.Helper()
	method := q.method
	if method == "" {
		method = http.MethodGet
	}
	var body *strings.Reader
	if q.form != nil {
		body = strings.NewReader(q.form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, "http://127.0.0.1:4567"+q.path, body)
	if q.host != "" {
		r.Host = q.host
	}
	if q.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	if q.session {
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: sess.ID})
	}
	if q.useCSRF {
		r.Header.Set(CSRFHeader, sess.CSRF)
	}
	if q.preCSRF != "" {
		r.AddCookie(&http.Cookie{Name: CSRFCookie, Value: q.preCSRF})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t)
	sess := f.signInLink(t)
	h := newGuard(f)
	pre := newToken()
	html := map[string]string{"Accept": "text/html,application/xhtml+xml"}
	const forbidden = `{"error":{"code":"Forbidden","message":"missing or wrong CSRF token; reload the page"}}`
	const unauthorized = `{"error":{"code":"Unauthorized","message":"sign in first"}}`

	tests := []struct {
		name     string
		req      req
		status   int
		body     string // exact JSON, or a substring of a plain body
		location string
		header   map[string]string // response headers that must match
		session  bool              // the handler saw a session
	}{
		{name: "foreign host", req: req{path: "/", host: "evil.example:4567", session: true}, status: 421, body: "Host header"},
		{name: "foreign host without port", req: req{path: "/", host: "evil.example"}, status: 421, body: "Host header"},
		{name: "rebinding to 127.0.0.1.nip.io", req: req{path: "/", host: "127.0.0.1.nip.io:4567"}, status: 421},
		{name: "empty host", req: req{path: "/", host: " "}, status: 421},
		{name: "localhost", req: req{path: "/", host: "LocalHost:4567", session: true}, status: 200, session: true},
		{name: "ipv6 loopback", req: req{path: "/", host: "[::1]:4567", session: true}, status: 200, session: true},
		{name: "127.0.0.2 without port", req: req{path: "/", host: "127.0.0.2", session: true}, status: 200, session: true},
		{name: "html GET without session", req: req{path: "/instances?state=running", header: html}, status: 303,
			location: "/sign-in?next=%2Finstances%3Fstate%3Drunning"},
		{name: "API GET without session", req: req{path: "/api/instances"}, status: 401, body: unauthorized},
		{name: "htmx GET without session", req: req{path: "/instances", header: map[string]string{"HX-Request": "true", "Accept": "text/html"}},
			status: 401, body: unauthorized, header: map[string]string{"HX-Redirect": "/sign-in"}},
		{name: "POST without session", req: req{method: "POST", path: "/instances", header: html}, status: 401, body: unauthorized},
		{name: "stale session cookie", req: req{path: "/api/x"}, status: 401},
		{name: "GET with session", req: req{path: "/instances", session: true}, status: 200, session: true,
			header: map[string]string{"X-Test-User": DefaultUser, "X-Test-CSRF": sess.CSRF}},
		{name: "POST without CSRF", req: req{method: "POST", path: "/instances", session: true}, status: 403, body: forbidden},
		{name: "POST with wrong CSRF", req: req{method: "POST", path: "/instances", session: true,
			header: map[string]string{CSRFHeader: newToken()}}, status: 403, body: forbidden},
		{name: "POST with CSRF header", req: req{method: "POST", path: "/instances", session: true, useCSRF: true}, status: 200, session: true},
		{name: "POST with CSRF field", req: req{method: "POST", path: "/instances", session: true,
			form: url.Values{"csrf": {sess.CSRF}}}, status: 200, session: true},
		{name: "DELETE with CSRF and same Origin", req: req{method: "DELETE", path: "/instances/i-1", session: true, useCSRF: true,
			header: map[string]string{"Origin": "http://127.0.0.1:4567"}}, status: 200, session: true},
		{name: "wrong Origin", req: req{method: "POST", path: "/instances", session: true, useCSRF: true,
			header: map[string]string{"Origin": "http://evil.example"}}, status: 403, body: forbidden},
		{name: "Origin on another port", req: req{method: "POST", path: "/instances", session: true, useCSRF: true,
			header: map[string]string{"Origin": "http://127.0.0.1:8080"}}, status: 403, body: forbidden},
		{name: "Origin null", req: req{method: "POST", path: "/instances", session: true, useCSRF: true,
			header: map[string]string{"Origin": "null"}}, status: 403},
		{name: "cross-site fetch", req: req{method: "POST", path: "/instances", session: true, useCSRF: true,
			header: map[string]string{"Sec-Fetch-Site": "same-site"}}, status: 403},
		{name: "sign-in page GET", req: req{path: "/sign-in", header: html}, status: 200},
		{name: "sign-in POST with double-submit token", req: req{method: "POST", path: "/sign-in", preCSRF: pre,
			form: url.Values{"csrf": {pre}, "user": {"admin"}}}, status: 200},
		{name: "sign-in POST without cookie", req: req{method: "POST", path: "/sign-in",
			form: url.Values{"csrf": {pre}}}, status: 403, body: forbidden},
		{name: "sign-in POST with mismatched token", req: req{method: "POST", path: "/sign-in", preCSRF: pre,
			form: url.Values{"csrf": {newToken()}}}, status: 403, body: forbidden},
		{name: "sign-in POST without token", req: req{method: "POST", path: "/sign-in", preCSRF: pre}, status: 403},
		{name: "static asset", req: req{path: "/static/app.css"}, status: 200,
			header: map[string]string{"Cache-Control": "max-age=3600"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "stale session cookie" {
				tt.req.session = true
				sess := Session{ID: newToken()}
				w := tt.req.do(t, h, sess)
				checkResponse(t, w, tt.status, tt.body, tt.location, tt.header, tt.session)
				if c := w.Result().Cookies(); len(c) != 1 || c[0].Name != SessionCookie || c[0].MaxAge >= 0 {
					t.Errorf("stale cookie not cleared: %v", c)
				}
				return
			}
			w := tt.req.do(t, h, sess)
			checkResponse(t, w, tt.status, tt.body, tt.location, tt.header, tt.session)
		})
	}
}

func checkResponse(t *testing.T, w *httptest.ResponseRecorder, status int, body, location string, header map[string]string, session bool) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %q", w.Code, status, w.Body)
	}
	got := strings.TrimSpace(w.Body.String())
	if strings.HasPrefix(body, "{") {
		if got != body {
			t.Errorf("body %s, want %s", got, body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
	} else if !strings.Contains(got, body) {
		t.Errorf("body %q, want it to contain %q", got, body)
	}
	if location != "" && w.Header().Get("Location") != location {
		t.Errorf("Location %q, want %q", w.Header().Get("Location"), location)
	}
	for k, v := range header {
		if w.Header().Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, w.Header().Get(k), v)
		}
	}
	if got := w.Header().Get("X-Test-Session") == "yes"; got != session {
		t.Errorf("handler saw a session: %v, want %v", got, session)
	}
	checkSecurityHeaders(t, w.Header(), header["Cache-Control"] == "")
}

func checkSecurityHeaders(t *testing.T, h http.Header, noStore bool) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"X-Frame-Options":         "DENY",
	}
	if noStore {
		want["Cache-Control"] = "no-store"
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
		}
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("CORS header %s sent", k)
		}
	}
}

func TestPreSessionCSRF(t *testing.T) {
	f := newFixture(t)
	h := newGuard(f)
	w := req{path: "/sign-in"}.do(t, h, Session{})
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != CSRFCookie || !cookies[0].HttpOnly ||
		cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" {
		t.Fatalf("cookies = %v, want one HttpOnly SameSite=Strict %s", cookies, CSRFCookie)
	}
	tok := cookies[0].Value
	if got := w.Header().Get("X-Test-CSRF"); got != tok {
		t.Errorf("CSRFToken = %q, want the cookie's %q", got, tok)
	}
	// A second GET keeps the token.
	w = req{path: "/sign-in", preCSRF: tok}.do(t, h, Session{})
	if len(w.Result().Cookies()) != 0 || w.Header().Get("X-Test-CSRF") != tok {
		t.Errorf("second GET: cookies %v, token %q; want the same token, no new cookie", w.Result().Cookies(), w.Header().Get("X-Test-CSRF"))
	}
	// The form posts it back.
	w = req{method: "POST", path: "/sign-in", preCSRF: tok, form: url.Values{"csrf": {tok}}}.do(t, h, Session{})
	if w.Code != http.StatusOK {
		t.Errorf("sign-in POST: status %d", w.Code)
	}
}

func TestCookies(t *testing.T) {
	tests := []struct {
		name   string
		tls    bool
		secure bool
	}{
		{"plain HTTP", false, false},
		{"TLS", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "http://127.0.0.1/"
			if tt.tls {
				target = "https://127.0.0.1/"
			}
			r := httptest.NewRequest("GET", target, nil)
			w := httptest.NewRecorder()
			SetSessionCookie(w, r, Session{ID: "abc"})
			ClearSessionCookie(w, r)
			c := w.Result().Cookies()
			if len(c) != 2 {
				t.Fatalf("cookies = %v", c)
			}
			set, clear := c[0], c[1]
			if set.Name != SessionCookie || set.Value != "abc" || !set.HttpOnly || set.SameSite != http.SameSiteStrictMode ||
				set.Path != "/" || set.Secure != tt.secure {
				t.Errorf("session cookie = %+v", set)
			}
			if clear.Name != SessionCookie || clear.MaxAge >= 0 || clear.Secure != tt.secure {
				t.Errorf("clearing cookie = %+v", clear)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.1:1234", "192.0.2.1"},
		{"[::1]:80", "::1"},
		{"pipe", "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			r.Header.Set("X-Forwarded-For", "203.0.113.9")
			if got := ClientIP(r); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ next, want string }{
		{"/instances?x=1", "/instances?x=1"},
		{"", "/"},
		{"//evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"instances", "/"},
		{"/a\r\nLocation: x", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			if got := SafeNext(tt.next); got != tt.want {
				t.Errorf("SafeNext(%q) = %q, want %q", tt.next, got, tt.want)
			}
		})
	}
}

func TestErrorJSONShape(t *testing.T) {
	w := httptest.NewRecorder()
	writeError(w, 401, "Unauthorized", "sign in first")
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "Unauthorized" {
		t.Errorf("body %q: %v", w.Body, err)
	}
}
