package api

import (
	"context"
	"net/http"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/autoscaling"
)

// mountInstanceMoves registers the routes that move a group's instances
// (Standby, protection, attach, detach) and its metrics collection.
func (s *Server) mountInstanceMoves(mux *http.ServeMux) {
	move := func(f func(ctx context.Context, group string, req v1.InstanceMoveRequest) ([]autoscaling.Activity, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var req v1.InstanceMoveRequest
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			as, err := f(r.Context(), r.PathValue("name"), req)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, convertList(as, scalingActivityOf))
		}
	}
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/standby", move(func(ctx context.Context, g string, req v1.InstanceMoveRequest) ([]autoscaling.Activity, error) {
		return s.AutoScaling.EnterStandby(ctx, g, req.InstanceIDs, req.ShouldDecrementDesiredCapacity)
	}))
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/exit-standby", move(func(ctx context.Context, g string, req v1.InstanceMoveRequest) ([]autoscaling.Activity, error) {
		return s.AutoScaling.ExitStandby(ctx, g, req.InstanceIDs)
	}))
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/attach", move(func(ctx context.Context, g string, req v1.InstanceMoveRequest) ([]autoscaling.Activity, error) {
		return s.AutoScaling.AttachInstances(ctx, g, req.InstanceIDs)
	}))
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/detach", move(func(ctx context.Context, g string, req v1.InstanceMoveRequest) ([]autoscaling.Activity, error) {
		return s.AutoScaling.DetachInstances(ctx, g, req.InstanceIDs, req.ShouldDecrementDesiredCapacity)
	}))
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/protection", func(w http.ResponseWriter, r *http.Request) {
		var req v1.InstanceProtectionRequest
		if err := decode(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		name := r.PathValue("name")
		if err := s.AutoScaling.SetInstanceProtection(r.Context(), name, req.InstanceIDs, req.ProtectedFromScaleIn); err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeGroup(w, r, name)
	})
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/metrics-collection", func(w http.ResponseWriter, r *http.Request) {
		var req v1.MetricsCollectionRequest
		if err := decode(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		if req.Granularity == "" {
			req.Granularity = autoscaling.Granularity1Minute
		}
		name := r.PathValue("name")
		if err := s.AutoScaling.SetMetricsCollection(r.Context(), name, req.Enable, req.Granularity, req.Metrics); err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeGroup(w, r, name)
	})
}

// writeGroup answers a group as it is now.
func (s *Server) writeGroup(w http.ResponseWriter, r *http.Request, name string) {
	g, err := s.AutoScaling.Group(name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, autoScalingGroupOf(g))
}
