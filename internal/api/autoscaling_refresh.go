package api

import (
	"context"
	"net/http"

	"github.com/madang-dev/madang/internal/autoscaling"
)

// mountRefresh registers the instance refresh routes: the refreshes of a
// group (newest first), start, cancel and rollback. Refreshes are sent as
// the controller records them (AWS's InstanceRefresh shape, camelCase).
func (s *Server) mountRefresh(mux *http.ServeMux) {
	as := s.AutoScaling
	mux.HandleFunc("GET /v1/autoscaling/groups/{name}/instance-refreshes", func(w http.ResponseWriter, r *http.Request) {
		rs, err := as.Refreshes(r.Context(), r.PathValue("name"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if rs == nil {
			rs = []autoscaling.Refresh{}
		}
		writeJSON(w, rs)
	})
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/instance-refreshes", func(w http.ResponseWriter, r *http.Request) {
		var prefs autoscaling.RefreshPreferences
		if r.ContentLength != 0 {
			if err := decode(r, &prefs); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		ref, err := as.StartRefresh(r.Context(), r.PathValue("name"), prefs)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, ref)
	})
	action := func(f func(context.Context, string) (autoscaling.Refresh, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			ref, err := f(r.Context(), r.PathValue("name"))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, ref)
		}
	}
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/instance-refreshes/cancel", action(as.CancelRefresh))
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/instance-refreshes/rollback", action(as.RollbackRefresh))
}
