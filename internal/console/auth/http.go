package auth

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Cookie, header and form names of the console.
const (
	// SessionCookie holds the session ID.
	SessionCookie = "madang_session"
	// CSRFCookie holds the pre-session double-submit token of the sign-in
	// pages.
	CSRFCookie = "madang_csrf"
	// CSRFHeader carries the CSRF token of script requests (htmx).
	CSRFHeader = "X-CSRF-Token"
	// CSRFField carries the CSRF token of HTML forms.
	CSRFField = "csrf"
	// DefaultSignInPath is where browsers without a session are sent.
	DefaultSignInPath = "/sign-in"
)

// ContentSecurityPolicy is sent with every console response.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// MiddlewareOptions configures Middleware.
type MiddlewareOptions struct {
	// Public reports the paths served without a session (sign-in pages,
	// static assets). SignInPath is always public. Nil means none other.
	Public func(path string) bool
	// Static reports the paths whose responses may be cached (no
	// Cache-Control: no-store). Nil means none.
	Static func(path string) bool
	// SignInPath is the sign-in page; empty means DefaultSignInPath.
	SignInPath string
}

// ctxKey keys the request context values of this package.
type ctxKey int

const (
	sessionKey ctxKey = iota
	preSessionKey
)

// FromContext returns the session Middleware put in ctx.
func FromContext(ctx context.Context) (Session, bool) {
	sess, ok := ctx.Value(sessionKey).(Session)
	return sess, ok
}

// Middleware guards next: it refuses Host headers other than loopback
// addresses and localhost (DNS rebinding), sends requests without a
// session on non-public paths to sign in, checks the CSRF token and
// Origin of every state-changing request, puts the session in the
// request context and sets the security headers of every response.
func (s *Service) Middleware(next http.Handler, opts MiddlewareOptions) http.Handler {
	signIn := opts.SignInPath
	if signIn == "" {
		signIn = DefaultSignInPath
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		setSecurityHeaders(w.Header(), opts.Static != nil && opts.Static(path))
		if !loopbackHost(r.Host) {
			http.Error(w, "madang console: the Host header "+quoteHost(r.Host)+
				" is not allowed; open the console at http://127.0.0.1:<port>/ or http://localhost:<port>/",
				http.StatusMisdirectedRequest)
			return
		}
		public := path == signIn || (opts.Public != nil && opts.Public(path))
		var sess Session
		ok := false
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			if sess, ok = s.Session(c.Value); !ok {
				ClearSessionCookie(w, r)
			}
		}
		if !ok && !public {
			unauthorized(w, r, signIn)
			return
		}
		ctx := r.Context()
		if ok {
			ctx = context.WithValue(ctx, sessionKey, sess)
		}
		if !safeMethod(r.Method) {
			if !sameOrigin(r) || !csrfValid(r, sess, ok, public) {
				writeError(w, http.StatusForbidden, "Forbidden", "missing or wrong CSRF token; reload the page")
				return
			}
		} else if !ok && public {
			ctx = context.WithValue(ctx, preSessionKey, EnsurePreSessionCSRF(w, r))
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// setSecurityHeaders sets the headers every console response carries.
func setSecurityHeaders(h http.Header, static bool) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if !static {
		h.Set("Cache-Control", "no-store")
	}
}

// loopbackHost reports whether a Host header names a loopback IP
// address or localhost, with or without a port.
func loopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Unmap().IsLoopback()
}

// quoteHost quotes a Host header for a message, shortened.
func quoteHost(host string) string {
	if len(host) > 100 {
		host = host[:100] + "…"
	}
	b, _ := json.Marshal(host)
	return string(b)
}

// safeMethod reports the methods that must not change state.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// unauthorized answers a request that needs a session it lacks.
func unauthorized(w http.ResponseWriter, r *http.Request, signIn string) {
	htmx := r.Header.Get("HX-Request") != ""
	if htmx {
		w.Header().Set("HX-Redirect", signIn)
	} else if r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, signIn+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	writeError(w, http.StatusUnauthorized, "Unauthorized", "sign in first")
}

// apiError is the JSON body of a refused request.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError writes {"error":{"code":…,"message":…}} with status.
func writeError(w http.ResponseWriter, status int, code, message string) {
	var body apiError
	body.Error.Code = code
	body.Error.Message = message
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// ClientIP returns the remote address of r without its port. Proxy
// headers such as X-Forwarded-For are not trusted.
func ClientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// SafeNext returns next if it is a path on this site (for the redirect
// after sign-in), else "/".
func SafeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.ContainsAny(next, "\r\n\t") {
		return "/"
	}
	return next
}
