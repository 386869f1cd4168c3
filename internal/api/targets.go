package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/madang-dev/madang/internal/api/v1"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/fault"
)

// registeredBy marks registrations made through the API.
const registeredBy = "api"

// registerTargets serves POST /v1/target-groups/{name}/targets: it
// registers instance targets, like AWS's RegisterTargets.
func (s *Server) registerTargets(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req v1.RegisterTargetsRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	regs, err := s.registrations(name, req.Targets)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.ELB.Register(r.Context(), regs); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// registrations checks a register request against its target group and
// turns it into the controller's registrations.
func (s *Server) registrations(name string, targets []v1.TargetRef) ([]elbctl.Registration, error) {
	tg, ok := s.targetGroup(name)
	if !ok {
		return nil, fault.NotFoundf(fault.KindTargetGroup, name, "no target group %q", name).WithHint("see madang tg ls")
	}
	if tg.Spec.TargetType == "ip" {
		return nil, fault.Invalidf(fault.KindTargetGroup, name, "target group %s has target type ip", name).
			WithHint("register its IPs in the stack file; the API registers instance targets")
	}
	if len(targets) == 0 {
		return nil, fault.Invalidf(fault.KindTargetGroup, name, "targets is empty").WithHint(`give {"targets":[{"id":"i-…","port":0}]}`)
	}
	regs := make([]elbctl.Registration, 0, len(targets))
	for _, t := range targets {
		if t.ID == "" {
			return nil, fault.Invalidf(fault.KindInstance, "", "a target has no id").WithHint("give each target's instance id (i-…)")
		}
		regs = append(regs, elbctl.Registration{TargetGroup: name, ID: t.ID, Port: t.Port, RegisteredBy: registeredBy})
	}
	return regs, nil
}

// deregisterTargets serves POST /v1/target-groups/{name}/targets/deregister:
// the targets drain and leave, like AWS's DeregisterTargets.
func (s *Server) deregisterTargets(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req v1.DeregisterTargetsRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(req.IDs) == 0 {
		s.fail(w, r, fault.Invalidf(fault.KindTargetGroup, name, "ids is empty").WithHint(`give {"ids":["i-…"]}`))
		return
	}
	if err := s.ELB.Deregister(r.Context(), name, req.IDs); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// targetGroup finds a target group by name.
func (s *Server) targetGroup(name string) (elbctl.TargetGroup, bool) {
	for _, tg := range s.ELB.TargetGroups() {
		if tg.Spec.Name == name {
			return tg, true
		}
	}
	return elbctl.TargetGroup{}, false
}

// RegisterTargets registers instance targets in a target group.
func (c *Client) RegisterTargets(ctx context.Context, name string, targets []v1.TargetRef) error {
	return c.do(ctx, "POST", "/v1/target-groups/"+url.PathEscape(name)+"/targets", v1.RegisterTargetsRequest{Targets: targets}, nil)
}

// DeregisterTargets removes targets from a target group.
func (c *Client) DeregisterTargets(ctx context.Context, name string, ids []string) error {
	return c.do(ctx, "POST", "/v1/target-groups/"+url.PathEscape(name)+"/targets/deregister", v1.DeregisterTargetsRequest{IDs: ids}, nil)
}
