package console

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/console/auth"
	"github.com/madang-dev/madang/internal/state"
)

// secureConsole serves a console through its full handler (session, CSRF
// and host checks) on a loopback test server.
type secureConsole struct {
	t    *testing.T
	url  string
	auth *auth.Service
}

func newSecureConsole(t *testing.T) *secureConsole {
	t.Helper()
	f := apitest.New(t)
	a, err := auth.Open(t.Context(), auth.Options{Store: state.NewMemory(), PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{API: apitest.Client(f.Serve(t)), Auth: a})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &secureConsole{t: t, url: srv.URL, auth: a}
}

// client returns a browser-like client that keeps cookies and does not
// follow redirects.
func (c *secureConsole) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signedIn returns a client signed in through a one-time link.
func (c *secureConsole) signedIn() *http.Client {
	c.t.Helper()
	hc := c.client()
	tok, _, err := c.auth.IssueLink(auth.DefaultUser, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := hc.Get(c.url + "/sign-in/link?token=" + url.QueryEscape(tok))
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign-in link: status %d, want 303", resp.StatusCode)
	}
	return hc
}

// routes lists the console's route patterns, read from its source files
// so that a new page is checked without being listed here.
func consoleRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`HandleFunc\("((?:GET|POST|PUT|PATCH|DELETE) /[^"]*)"`)
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
	}
	if len(out) < 5 {
		t.Fatalf("found only %d routes in the source", len(out))
	}
	return out
}

// concrete turns a route pattern into a path: {name} → x, {name...} →
// x/y, {$} → "".
func concrete(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = regexp.MustCompile(`\{[a-zA-Z]+\.\.\.\}`).ReplaceAllString(path, "x/y")
	path = regexp.MustCompile(`\{[a-zA-Z]+\}`).ReplaceAllString(path, "x")
	return method, path
}

func TestEveryRouteNeedsASession(t *testing.T) {
	c := newSecureConsole(t)
	hc := c.client()
	for _, pattern := range consoleRoutes(t) {
		method, path := concrete(pattern)
		if public(path) || path == "/sign-in" {
			continue
		}
		t.Run(pattern, func(t *testing.T) {
			// A browser asking for the page is sent to sign in.
			req, _ := http.NewRequest(method, c.url+path, strings.NewReader("csrf=x"))
			req.Header.Set("Accept", "text/html")
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			switch {
			case method == "GET" && resp.StatusCode == http.StatusSeeOther:
				if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/sign-in") {
					t.Errorf("redirected to %q, want /sign-in", loc)
				}
			case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			default:
				t.Errorf("%s %s without a session = %d, want 303 to sign in, 401 or 403", method, path, resp.StatusCode)
			}
			// A script (htmx) gets 401 and where to sign in.
			req, _ = http.NewRequest(method, c.url+path, nil)
			req.Header.Set("HX-Request", "true")
			resp, err = hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if method == "GET" && (resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("HX-Redirect") == "") {
				t.Errorf("htmx %s %s without a session = %d (HX-Redirect %q), want 401 with HX-Redirect",
					method, path, resp.StatusCode, resp.Header.Get("HX-Redirect"))
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s answers with CORS headers", path)
			}
		})
	}
}

func TestChangesNeedTheCSRFToken(t *testing.T) {
	c := newSecureConsole(t)
	hc := c.signedIn()
	for _, pattern := range consoleRoutes(t) {
		method, path := concrete(pattern)
		if method == "GET" {
			continue
		}
		t.Run(pattern, func(t *testing.T) {
			for name, token := range map[string]string{"missing": "", "wrong": "not-the-token"} {
				form := url.Values{}
				if token != "" {
					form.Set("csrf", token)
				}
				req, _ := http.NewRequest(method, c.url+path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s CSRF token: %s %s = %d, want 403: %s", name, method, path, resp.StatusCode, b)
				}
			}
		})
	}
}

func TestPagesSendSecurityHeaders(t *testing.T) {
	c := newSecureConsole(t)
	hc := c.signedIn()
	for _, path := range []string{"/", "/sign-in", "/settings/security", "/assets/console.js"} {
		resp, err := hc.Get(c.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: security headers missing: %v", path, h)
		}
		if h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s answers with CORS headers", path)
		}
	}
}

func TestMFAAssignAndSignIn(t *testing.T) {
	c := newSecureConsole(t)
	hc := c.signedIn()
	csrf := func() string {
		resp, err := hc.Get(c.url + "/settings/security")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(string(b))
		if m == nil {
			t.Fatalf("no CSRF token on the security page:\n%s", b)
		}
		return m[1]
	}
	postForm := func(hc *http.Client, path string, form url.Values) (int, string) {
		resp, err := hc.PostForm(c.url+path, form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	token := csrf()
	status, body := postForm(hc, "/settings/security/mfa", url.Values{"csrf": {token}})
	m := regexp.MustCompile(`id="mfa-secret">([A-Z2-7]+)<`).FindStringSubmatch(body)
	if status != http.StatusOK || m == nil || !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Fatalf("assign MFA = %d, want the QR code and the secret:\n%s", status, body)
	}
	secret := m[1]
	now := time.Now()
	code := func(at time.Time) string {
		s, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Two codes that are not consecutive are refused, and the QR code
	// stays on the page.
	status, body = postForm(hc, "/settings/security/mfa/confirm", url.Values{"csrf": {token},
		"code1": {code(now.Add(-60 * time.Second))}, "code2": {code(now)}})
	if status != http.StatusBadRequest || !strings.Contains(body, secret) {
		t.Fatalf("non-consecutive codes = %d, want 400 with the same secret:\n%s", status, body)
	}
	status, body = postForm(hc, "/settings/security/mfa/confirm", url.Values{"csrf": {token},
		"code1": {code(now.Add(-30 * time.Second))}, "code2": {code(now)}})
	if status != http.StatusSeeOther {
		t.Fatalf("two consecutive codes = %d, want 303:\n%s", status, body)
	}

	// Sign in again: the link now asks for a code; a wrong one is refused.
	hc2 := c.client()
	tok, _, _ := c.auth.IssueLink(auth.DefaultUser, 0)
	resp, err := hc2.Get(c.url + "/sign-in/link?token=" + url.QueryEscape(tok))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tm := regexp.MustCompile(`name="ticket" value="([^"]+)"`).FindStringSubmatch(string(b))
	cm := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(b))
	if resp.StatusCode != http.StatusOK || tm == nil || cm == nil {
		t.Fatalf("link with MFA = %d, want the MFA page:\n%s", resp.StatusCode, b)
	}
	wrong := "000000"
	if code(now.Add(30*time.Second)) == wrong {
		wrong = "111111"
	}
	status, body = postForm(hc2, "/sign-in/mfa", url.Values{"csrf": {cm[1]}, "ticket": {tm[1]}, "code": {wrong}})
	if status != http.StatusUnauthorized {
		t.Fatalf("wrong MFA code = %d, want 401:\n%s", status, body)
	}
	status, body = postForm(hc2, "/sign-in/mfa", url.Values{"csrf": {cm[1]}, "ticket": {tm[1]}, "code": {code(now.Add(30 * time.Second))}})
	if status != http.StatusSeeOther {
		t.Fatalf("right MFA code = %d, want 303:\n%s", status, body)
	}
	resp, err = hc2.Get(c.url + "/settings/security")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after MFA sign-in the security page = %d, want 200", resp.StatusCode)
	}
}

func TestBruteForceIsSlowed(t *testing.T) {
	c := newSecureConsole(t)
	hc := c.client()
	resp, err := hc.Get(c.url + "/sign-in")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no CSRF field on the sign-in page:\n%s", b)
	}
	var last int
	var lastBody string
	for i := range auth.FreeFailures + 1 {
		resp, err := hc.PostForm(c.url+"/sign-in", url.Values{"csrf": {m[1]}, "user": {"admin"}, "password": {"guess-" + string(rune('a'+i))}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last, lastBody = resp.StatusCode, string(b)
	}
	if last != http.StatusTooManyRequests || !strings.Contains(lastBody, "Too many failed sign-ins") {
		t.Fatalf("after %d wrong passwords the sign-in = %d, want 429 saying to wait:\n%s", auth.FreeFailures+1, last, lastBody)
	}
}
