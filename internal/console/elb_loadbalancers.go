package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/api/v1"
)

// lbRow is one row of the load balancers list.
type lbRow struct {
	LB        v1.LoadBalancer
	URLs      []string
	Listeners []string
}

func (s *Server) elbLoadBalancers(w http.ResponseWriter, r *http.Request) {
	lbs, err := s.api.LoadBalancers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]lbRow, 0, len(lbs))
	for _, lb := range lbs {
		row := lbRow{LB: lb}
		for _, l := range lb.Spec.Listeners {
			row.URLs = append(row.URLs, elbListenerURL(lb, l))
			row.Listeners = append(row.Listeners, listenerProtocol(l)+":"+strconv.Itoa(l.Port))
		}
		rows = append(rows, row)
	}
	s.page(w, r, "elb/load-balancers", "elb.lbs.title", rows)
}

func listenerProtocol(l v1.Listener) string {
	if l.Protocol == "" {
		return "HTTP"
	}
	return l.Protocol
}

// lbForm is the "Create Application Load Balancer" form: a name, a scheme
// and listeners, each forwarding to a target group.
type lbForm struct {
	Name, Scheme string
	Listeners    []lbFormListener
	TargetGroups []string
	Errors       map[string]string
	Error        *elbError
}

// lbFormListener is one listener row of the form.
type lbFormListener struct {
	Port, TargetGroup string
}

func (s *Server) elbNewLoadBalancer(w http.ResponseWriter, r *http.Request) {
	tgs, err := s.elbTargetGroupNames(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := &lbForm{Scheme: "internet-facing", TargetGroups: tgs, Errors: map[string]string{},
		Listeners: []lbFormListener{{Port: strconv.Itoa(elbDefaultListenerPort)}}}
	s.page(w, r, "elb/create-load-balancer", "elb.createlb.title", f)
}

// lbFormFrom reads the form; listener rows are the index-aligned
// "listenerPort" and "listenerTargetGroup" values.
func lbFormFrom(form url.Values) *lbForm {
	f := &lbForm{Name: strings.TrimSpace(form.Get("name")), Scheme: form.Get("scheme"), Errors: map[string]string{}}
	ports, tgs := form["listenerPort"], form["listenerTargetGroup"]
	for i, p := range ports {
		l := lbFormListener{Port: strings.TrimSpace(p)}
		if i < len(tgs) {
			l.TargetGroup = tgs[i]
		}
		f.Listeners = append(f.Listeners, l)
	}
	if len(f.Listeners) == 0 {
		f.Listeners = []lbFormListener{{}}
	}
	return f
}

// spec checks the form and builds the load balancer's spec.
func (f *lbForm) spec() v1.LoadBalancerSpec {
	spec := v1.LoadBalancerSpec{Name: f.Name, Type: "application"}
	if f.Name == "" {
		f.Errors["name"] = "elb.lb.err.name"
	}
	seen := map[int]bool{}
	for i, l := range f.Listeners {
		key := "listener" + strconv.Itoa(i)
		n, err := strconv.Atoi(l.Port)
		switch {
		case err != nil || n < 1 || n > 65535:
			f.Errors[key] = "elb.lb.err.port"
		case seen[n]:
			f.Errors[key] = "elb.lb.err.dupport"
		case l.TargetGroup == "":
			f.Errors[key] = "elb.lb.err.tg"
		}
		seen[n] = true
		spec.Listeners = append(spec.Listeners, v1.Listener{Protocol: "HTTP", Port: n,
			DefaultActions: []v1.Action{{Type: "forward", TargetGroup: l.TargetGroup}}})
	}
	return spec
}

// elbCreateLoadBalancer creates a load balancer through the generic
// resource API; op=add adds a listener row instead.
func (s *Server) elbCreateLoadBalancer(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := lbFormFrom(r.PostForm)
	tgs, err := s.elbTargetGroupNames(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.TargetGroups = tgs
	if r.PostForm.Get("op") == "add" {
		f.Listeners = append(f.Listeners, lbFormListener{})
		s.page(w, r, "elb/create-load-balancer", "elb.createlb.title", f)
		return
	}
	spec := f.spec()
	if len(f.Errors) == 0 {
		_, err := s.api.PutResource(r.Context(), "load-balancer", spec.Name, spec)
		if err == nil {
			s.redirect(w, r, "/elb/load-balancers/"+url.PathEscape(spec.Name), "ok", "elb.createlb.done")
			return
		}
		f.Error = elbErrorOf(err)
	}
	s.renderStatus(w, r, http.StatusBadRequest, "elb/create-load-balancer", "elb.createlb.title", f)
}
