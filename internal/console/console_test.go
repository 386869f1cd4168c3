package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/console/auth"
	"github.com/madang-dev/madang/internal/state"
)

// newTestServer returns a console over an in-memory fake daemon.
func newTestServer(t *testing.T) (*Server, *apitest.Fake) {
	t.Helper()
	f := apitest.New(t)
	return newConsoleOver(t, f.Serve(t)), f
}

// newConsoleOver returns a console over the API that srv serves.
func newConsoleOver(t *testing.T, srv *httptest.Server) *Server {
	t.Helper()
	a, err := auth.Open(t.Context(), auth.Options{Store: state.NewMemory(), PasswordCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{API: apitest.Client(srv), Auth: a})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// get renders path through the console's routes (no session checks) and
// returns the status and body.
func get(t *testing.T, s *Server, path string) (int, string) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	w := httptest.NewRecorder()
	s.routes().ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func TestPagesRender(t *testing.T) {
	s, _ := newTestServer(t)
	for _, tc := range []struct {
		name, path string
		status     int
		want       string
	}{
		{"home empty", "/", http.StatusOK, "Nothing runs yet"},
		{"home fragment", "/?fragment=frag-home", http.StatusOK, `id="home"`},
		{"unknown fragment", "/?fragment=content", http.StatusNotFound, "no such fragment"},
		{"sign-in", "/sign-in", http.StatusOK, `action="/sign-in"`},
		{"not found", "/nowhere", http.StatusNotFound, "/nowhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, s, tc.path)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("GET %s = %d, want %d containing %q:\n%s", tc.path, status, tc.status, tc.want, body)
			}
		})
	}
}

func TestStateClass(t *testing.T) {
	for in, want := range map[string]string{
		"InService": "state-inservice", "Pending:Wait": "state-pending-wait", "INSUFFICIENT_DATA": "state-insufficient-data",
		"running": "state-running", "shutting-down": "state-shutting-down", "": "state",
	} {
		if got := stateClass(in); got != want {
			t.Errorf("stateClass(%q) = %q, want %q", in, got, want)
		}
	}
}

// post submits a form to path through the console's routes and returns
// the status, the Location header and the body.
func post(t *testing.T, s *Server, path string, form url.Values) (int, string, string) {
	t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.routes().ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, w.Header().Get("Location"), string(b)
}

func TestPageTemplatesParse(t *testing.T) {
	ps, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.byName) == 0 || ps.assetVersion == "" {
		t.Fatalf("parsed %d page templates, asset version %q", len(ps.byName), ps.assetVersion)
	}
}
