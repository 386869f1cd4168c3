package health

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHTTPCheckerRequest(t *testing.T) {
	b := newBackend(t, 200)
	c := NewHTTPChecker(nil)
	s := testSettings()
	s.Path = "/health?deep=1"
	const checks = 3
	for i := range checks {
		res := c.Check(context.Background(), s, b.addr)
		if !res.OK || res.Status != 200 {
			t.Fatalf("check %d = %+v, want OK with status 200", i, res)
		}
		if res.Latency <= 0 {
			t.Errorf("check %d latency = %v, want > 0", i, res.Latency)
		}
	}
	r := b.lastRequest()
	if got, want := r.Method, "GET"; got != want {
		t.Errorf("method = %q, want %q", got, want)
	}
	if got, want := r.URL.RequestURI(), "/health?deep=1"; got != want {
		t.Errorf("request URI = %q, want %q", got, want)
	}
	if got, want := r.UserAgent(), "ELB-HealthChecker/2.0"; got != want {
		t.Errorf("User-Agent = %q, want %q", got, want)
	}
	if got, want := r.Host, b.addr; got != want {
		t.Errorf("Host = %q, want %q", got, want)
	}
	if !r.Close {
		t.Errorf("request does not ask to close the connection; AWS closes it after every check")
	}
	if got := b.newConns.Load(); got != checks {
		t.Errorf("backend saw %d new connections for %d checks, want one per check", got, checks)
	}
}

func TestHTTPCheckerOutcomes(t *testing.T) {
	closed := closedAddr(t)
	tests := []struct {
		name     string
		behave   int
		addr     string // default: the backend
		edit     func(*Settings)
		wantOK   bool
		wantCode int
		reason   string
		desc     string // exact, with ADDR for the checked address
		descPart string // substring, when the text comes from the OS
	}{
		{name: "200 passes", behave: 200, wantOK: true, wantCode: 200, desc: "GET /health returned 200"},
		{name: "404 mismatches", behave: 404, wantCode: 404, reason: ReasonResponseCodeMismatch, desc: "GET /health returned 404, expected 200"},
		{name: "redirect is not followed", behave: 302, wantCode: 302, reason: ReasonResponseCodeMismatch, desc: "GET /health returned 302, expected 200"},
		{name: "range matches 204", behave: 204, edit: func(s *Settings) { s.Matcher = MustParseMatcher("200-299") }, wantOK: true, wantCode: 204},
		{name: "list mismatch names the list", behave: 500, edit: func(s *Settings) { s.Matcher = MustParseMatcher("200,202") }, wantCode: 500, reason: ReasonResponseCodeMismatch, desc: "GET /health returned 500, expected 200,202"},
		{name: "timeout", behave: behaveHang, edit: func(s *Settings) { s.Timeout = 150 * time.Millisecond }, reason: ReasonTimeout, desc: "GET /health timed out after 150ms"},
		{name: "refused", addr: closed, reason: ReasonFailedHealthChecks, desc: "connect to ADDR: connection refused — is the app listening?"},
		{name: "malformed response", behave: behaveGarbage, reason: ReasonFailedHealthChecks, descPart: "GET /health: malformed response from ADDR: "},
		{name: "closed without response", behave: behaveClose, reason: ReasonFailedHealthChecks, desc: "GET /health: ADDR closed the connection without a response"},
		{name: "bad target address", addr: "nonsense", reason: ReasonInternalError, descPart: `target address "nonsense" is not ip:port`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, tc.behave)
			addr := b.addr
			if tc.addr != "" {
				addr = tc.addr
			}
			s := testSettings()
			if tc.edit != nil {
				tc.edit(&s)
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.Timeout)
			defer cancel()
			res := NewHTTPChecker(nil).Check(ctx, s, addr)
			if res.OK != tc.wantOK || res.Status != tc.wantCode || res.Reason != tc.reason {
				t.Errorf("Check = %+v, want OK=%v Status=%d Reason=%q", res, tc.wantOK, tc.wantCode, tc.reason)
			}
			if tc.desc != "" {
				if want := strings.ReplaceAll(tc.desc, "ADDR", addr); res.Description != want {
					t.Errorf("Description = %q, want %q", res.Description, want)
				}
			}
			if tc.descPart != "" {
				if want := strings.ReplaceAll(tc.descPart, "ADDR", addr); !strings.Contains(res.Description, want) {
					t.Errorf("Description = %q, want it to contain %q", res.Description, want)
				}
			}
		})
	}
}

func TestHTTPCheckerPortOverride(t *testing.T) {
	b := newBackend(t, 200)
	_, port, err := net.SplitHostPort(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	s := testSettings()
	s.Port, _ = strconv.Atoi(port)
	// The traffic address refuses connections; the check port answers.
	res := NewHTTPChecker(nil).Check(context.Background(), s, closedAddr(t))
	if !res.OK {
		t.Fatalf("check on the override port = %+v, want OK", res)
	}
}
