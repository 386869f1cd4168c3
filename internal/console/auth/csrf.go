package auth

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// SetSessionCookie sends sess's ID to the browser: HttpOnly,
// SameSite=Strict, Path=/, Secure when r came over TLS.
func SetSessionCookie(w http.ResponseWriter, r *http.Request, sess Session) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    sess.ID,
		Path:     "/",
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// ClearSessionCookie tells the browser to forget its session cookie.
func ClearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// EnsurePreSessionCSRF returns the double-submit token of a browser
// without a session, setting the CSRFCookie if the request has none.
// Middleware calls it on GETs of public pages.
func EnsurePreSessionCSRF(w http.ResponseWriter, r *http.Request) string {
	if tok, ok := r.Context().Value(preSessionKey).(string); ok && tok != "" {
		return tok
	}
	if c, err := r.Cookie(CSRFCookie); err == nil && wellFormedToken(c.Value) {
		return c.Value
	}
	tok := newToken()
	http.SetCookie(w, &http.Cookie{
		Name:     CSRFCookie,
		Value:    tok,
		Path:     "/",
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return tok
}

// CSRFToken returns the token a page puts in its forms (field CSRFField)
// and script requests (header CSRFHeader): the session's, or the
// pre-session double-submit token on public pages. It is empty outside
// Middleware.
func CSRFToken(r *http.Request) string {
	if sess, ok := FromContext(r.Context()); ok {
		return sess.CSRF
	}
	if tok, ok := r.Context().Value(preSessionKey).(string); ok {
		return tok
	}
	if c, err := r.Cookie(CSRFCookie); err == nil && wellFormedToken(c.Value) {
		return c.Value
	}
	return ""
}

// wellFormedToken reports whether tok looks like a newToken result.
func wellFormedToken(tok string) bool {
	if len(tok) != 43 {
		return false
	}
	for _, c := range tok {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// tokenEqual compares two tokens in constant time; empty never matches.
func tokenEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// csrfValid checks the request's token against the session's or, on a
// public path, against the double-submit cookie.
func csrfValid(r *http.Request, sess Session, hasSession, public bool) bool {
	tok := r.Header.Get(CSRFHeader)
	if tok == "" {
		tok = r.PostFormValue(CSRFField)
	}
	if hasSession && tokenEqual(tok, sess.CSRF) {
		return true
	}
	if public {
		if c, err := r.Cookie(CSRFCookie); err == nil && wellFormedToken(c.Value) {
			return tokenEqual(tok, c.Value)
		}
	}
	return false
}

// sameOrigin refuses requests another site made: an Origin header must
// name this scheme and Host, and Sec-Fetch-Site, when sent, must say
// same-origin or none.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host) && u.Path == "" && u.User == nil
}
