package api

import (
	"context"
	"net/http"

	"github.com/madang-dev/madang/internal/api/v1"
)

// Resetter gives the daemon a clean slate; the daemon implements it.
type Resetter interface {
	// ResetPlan returns what Reset would remove now.
	ResetPlan(ctx context.Context) (v1.Reset, error)
	// Reset removes every resource (whatever its owner), instance,
	// metric series and API-written log stream, keeping the access keys
	// and the account, and returns what it removed.
	Reset(ctx context.Context) (v1.Reset, error)
}

// mountReset registers GET /v1/reset (what a reset would remove) and
// POST /v1/reset (the reset).
func (s *Server) mountReset(mux *http.ServeMux) {
	if s.Reset == nil {
		return
	}
	mux.HandleFunc("GET /v1/reset", func(w http.ResponseWriter, r *http.Request) {
		plan, err := s.Reset.ResetPlan(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, plan)
	})
	mux.HandleFunc("POST /v1/reset", func(w http.ResponseWriter, r *http.Request) {
		res, err := s.Reset.Reset(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, res)
	})
}
