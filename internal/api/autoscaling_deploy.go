package api

import (
	"context"
	"net/http"

	"github.com/madang-dev/madang/internal/autoscaling"
)

// Deployments is what the API needs of the Auto Scaling controller for
// in-place deployments; *autoscaling.Service implements it. The routes
// are served when the AutoScaling field implements it too.
type Deployments interface {
	StartDeployment(ctx context.Context, group string, req autoscaling.DeploymentRequest) (autoscaling.Deployment, error)
	Deployments(ctx context.Context, group string) ([]autoscaling.Deployment, error)
	Deployment(ctx context.Context, group, id string) (autoscaling.Deployment, error)
	StopDeployment(ctx context.Context, group, id string, rollback bool) (autoscaling.Deployment, error)
}

var _ Deployments = (*autoscaling.Service)(nil)

// mountDeployments registers the in-place deployment routes of a group:
// its deployments (newest first), one of them, start and stop.
// Deployments are sent as the controller records them (CodeDeploy's
// DeploymentInfo and InstanceTarget fields, camelCase).
func (s *Server) mountDeployments(mux *http.ServeMux) {
	ds, ok := s.AutoScaling.(Deployments)
	if !ok {
		return
	}
	const base = "/v1/autoscaling/groups/{name}/deployments"
	mux.HandleFunc("GET "+base, func(w http.ResponseWriter, r *http.Request) {
		out, err := ds.Deployments(r.Context(), r.PathValue("name"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if out == nil {
			out = []autoscaling.Deployment{}
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("POST "+base, func(w http.ResponseWriter, r *http.Request) {
		var req autoscaling.DeploymentRequest
		if r.ContentLength != 0 {
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		d, err := ds.StartDeployment(r.Context(), r.PathValue("name"), req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, d)
	})
	mux.HandleFunc("GET "+base+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		d, err := ds.Deployment(r.Context(), r.PathValue("name"), r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, d)
	})
	mux.HandleFunc("POST "+base+"/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Rollback bool `json:"autoRollbackEnabled"`
		}
		if r.ContentLength != 0 {
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		d, err := ds.StopDeployment(r.Context(), r.PathValue("name"), r.PathValue("id"), req.Rollback)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, d)
	})
}
