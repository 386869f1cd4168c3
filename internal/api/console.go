package api

import (
	"context"
	"net/http"

	"github.com/madang-dev/madang/internal/api/v1"
)

// Console is what the API needs of the web console: where it is and
// one-time sign-in links (issued only to callers of the API, who own the
// daemon's socket or token). The daemon implements it.
type Console interface {
	// ConsoleSettings says where the console is served.
	ConsoleSettings() v1.ConsoleSettings
	// SignInLink issues a one-time sign-in link; errors are fault
	// errors (Unavailable when no console is served, NotFound for an
	// unknown user).
	SignInLink(ctx context.Context, req v1.ConsoleLinkRequest) (v1.ConsoleLink, error)
}

// mountConsole registers GET /v1/console and POST /v1/console/sign-in-link.
func (s *Server) mountConsole(mux *http.ServeMux) {
	if s.Console == nil {
		return
	}
	mux.HandleFunc("GET /v1/console", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.Console.ConsoleSettings())
	})
	mux.HandleFunc("POST /v1/console/sign-in-link", func(w http.ResponseWriter, r *http.Request) {
		var req v1.ConsoleLinkRequest
		if r.ContentLength != 0 {
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		l, err := s.Console.SignInLink(r.Context(), req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, l)
	})
}

// ConsoleSettings says where the daemon serves its web console.
func (c *Client) ConsoleSettings(ctx context.Context) (v1.ConsoleSettings, error) {
	var v v1.ConsoleSettings
	return v, c.do(ctx, "GET", "/v1/console", nil, &v)
}

// ConsoleSignInLink asks the daemon for a one-time console sign-in link.
func (c *Client) ConsoleSignInLink(ctx context.Context, req v1.ConsoleLinkRequest) (v1.ConsoleLink, error) {
	var v v1.ConsoleLink
	return v, c.do(ctx, "POST", "/v1/console/sign-in-link", req, &v)
}
