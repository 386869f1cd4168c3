package console

import (
	"context"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/api/v1"
)

// AWS's defaults for an ALB HTTP target group (CreateTargetGroup), filled
// into the create form and shown where a group leaves a setting unset.
const (
	elbDefaultProtocol     = "HTTP"
	elbDefaultTargetType   = "instance"
	elbDefaultHCPath       = "/"
	elbDefaultHCPort       = "traffic-port"
	elbDefaultInterval     = 30
	elbDefaultTimeout      = 5
	elbDefaultHealthy      = 5
	elbDefaultUnhealthy    = 2
	elbDefaultMatcher      = "200"
	elbDefaultAddress      = "127.0.0.1"
	elbDefaultListenerPort = 80
)

// mountELB registers the Load Balancing pages: target groups and load
// balancers.
func (s *Server) mountELB(mux *http.ServeMux) {
	mux.HandleFunc("GET /elb/target-groups", s.elbTargetGroups)
	mux.HandleFunc("GET /elb/target-groups/new", s.elbNewTargetGroup)
	mux.HandleFunc("POST /elb/target-groups", s.elbCreateTargetGroup)
	mux.HandleFunc("GET /elb/target-groups/{name}", s.elbTargetGroup)
	mux.HandleFunc("POST /elb/target-groups/{name}/targets", s.elbRegisterTargets)
	mux.HandleFunc("POST /elb/target-groups/{name}/targets/deregister", s.elbDeregisterTargets)
	mux.HandleFunc("GET /elb/load-balancers", s.elbLoadBalancers)
	mux.HandleFunc("GET /elb/load-balancers/new", s.elbNewLoadBalancer)
	mux.HandleFunc("POST /elb/load-balancers", s.elbCreateLoadBalancer)
	mux.HandleFunc("GET /elb/load-balancers/{name}", s.elbLoadBalancer)
	mux.HandleFunc("POST /elb/load-balancers/{name}/check", s.elbCheck)
	mux.HandleFunc("POST /elb/load-balancers/{name}/listeners/{port}/rules", s.elbAddRule)
	mux.HandleFunc("POST /elb/load-balancers/{name}/listeners/{port}/rules/{priority}", s.elbEditRule)
	mux.HandleFunc("POST /elb/load-balancers/{name}/listeners/{port}/rules/{priority}/delete", s.elbDeleteRule)
	mux.HandleFunc("POST /elb/load-balancers/{name}/listeners/{port}/default", s.elbSetDefault)
}

// elbError is an error shown on a form: the API's message and its hint
// (which names the field and the fix).
type elbError struct {
	Message, Hint string
}

// elbErrorOf turns an error into what a form shows.
func elbErrorOf(err error) *elbError {
	var ae *apiError
	if asAPIError(err, &ae) {
		return &elbError{Message: ae.Message, Hint: ae.Hint}
	}
	return &elbError{Message: err.Error()}
}

// elbFindTargetGroup returns a target group by name, or the API's 404
// (the health route answers NotFound for unknown groups).
func (s *Server) elbFindTargetGroup(ctx context.Context, name string) (v1.TargetGroup, error) {
	tgs, err := s.api.TargetGroups(ctx)
	if err != nil {
		return v1.TargetGroup{}, err
	}
	for _, tg := range tgs {
		if tg.Spec.Name == name {
			return tg, nil
		}
	}
	_, err = s.api.TargetHealth(ctx, name)
	if err == nil {
		err = &apiError{Status: http.StatusNotFound, Code: v1.CodeNotFound, Message: "no target group " + strconv.Quote(name), Hint: "see the target groups list"}
	}
	return v1.TargetGroup{}, err
}

// elbFindLoadBalancer returns a load balancer by name, or a 404 error.
func (s *Server) elbFindLoadBalancer(ctx context.Context, name string) (v1.LoadBalancer, error) {
	lbs, err := s.api.LoadBalancers(ctx)
	if err != nil {
		return v1.LoadBalancer{}, err
	}
	for _, lb := range lbs {
		if lb.Spec.Name == name {
			return lb, nil
		}
	}
	return v1.LoadBalancer{}, &apiError{Status: http.StatusNotFound, Code: v1.CodeNotFound, Kind: "load-balancer", ID: name,
		Message: "no load balancer " + strconv.Quote(name), Hint: "see the load balancers list"}
}

// elbUsedBy maps each target group to the load balancers forwarding to it.
func elbUsedBy(lbs []v1.LoadBalancer) map[string][]string {
	out := map[string][]string{}
	for _, lb := range lbs {
		fw := map[string]bool{}
		for _, li := range lb.Spec.Listeners {
			forwards(li.DefaultActions, fw)
			for _, ru := range li.Rules {
				forwards(ru.Actions, fw)
			}
		}
		for tg := range fw {
			out[tg] = append(out[tg], lb.Spec.Name)
		}
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out
}

// elbAddress is the IP a load balancer's listeners bind to.
func elbAddress(lb v1.LoadBalancer) string {
	if lb.Spec.Address == "" {
		return elbDefaultAddress
	}
	return lb.Spec.Address
}

// elbListenerURL is a listener's URL (http://127.0.0.1:8080).
func elbListenerURL(lb v1.LoadBalancer, l v1.Listener) string {
	scheme := "http"
	if strings.EqualFold(l.Protocol, "HTTPS") {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(elbAddress(lb), strconv.Itoa(l.Port))
}

// elbTargetGroupNames lists the target groups' names, for selects.
func (s *Server) elbTargetGroupNames(ctx context.Context) ([]string, error) {
	tgs, err := s.api.TargetGroups(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(tgs))
	for _, tg := range tgs {
		names = append(names, tg.Spec.Name)
	}
	sort.Strings(names)
	return names, nil
}

// elbApplyHealthDefaults fills AWS's defaults into unset health check
// settings.
func elbApplyHealthDefaults(tg *v1.TargetGroupSpec) {
	if tg.Protocol == "" {
		tg.Protocol = elbDefaultProtocol
	}
	if tg.TargetType == "" {
		tg.TargetType = elbDefaultTargetType
	}
	hc := &tg.HealthCheck
	if hc.Protocol == "" {
		hc.Protocol = elbDefaultProtocol
	}
	if hc.Path == "" {
		hc.Path = elbDefaultHCPath
	}
	if hc.Port == "" {
		hc.Port = elbDefaultHCPort
	}
	if hc.IntervalSeconds == 0 {
		hc.IntervalSeconds = elbDefaultInterval
	}
	if hc.TimeoutSeconds == 0 {
		hc.TimeoutSeconds = elbDefaultTimeout
	}
	if hc.HealthyThresholdCount == 0 {
		hc.HealthyThresholdCount = elbDefaultHealthy
	}
	if hc.UnhealthyThresholdCount == 0 {
		hc.UnhealthyThresholdCount = elbDefaultUnhealthy
	}
	if hc.Matcher == "" {
		hc.Matcher = elbDefaultMatcher
	}
}
