package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/api/v1"
)

// lbEdit is a change to one listener of a load balancer's spec; it
// returns a message key when the form's input is wrong.
type lbEdit func(l *v1.Listener, form url.Values) string

// elbEditListener applies edit to the listener {port} of load balancer
// {name} and re-PUTs the spec through the generic resource API. Bad input
// and the API's refusals re-render the page with the error.
func (s *Server) elbEditListener(w http.ResponseWriter, r *http.Request, edit lbEdit, done string) {
	name := r.PathValue("name")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, err := s.lbPageData(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := langOf(r)
	spec := p.LB.Spec
	port, _ := strconv.Atoi(r.PathValue("port"))
	i := slices.IndexFunc(spec.Listeners, func(li v1.Listener) bool { return li.Port == port })
	if i < 0 {
		s.notFound(w, r)
		return
	}
	spec.Listeners = slices.Clone(spec.Listeners)
	li := spec.Listeners[i]
	li.Rules = slices.Clone(li.Rules)
	if p.LB.Owner != "" && r.PostForm.Get("confirm") != "yes" {
		p.Error = &elbError{Message: l.T("elb.err.confirm")}
	} else if msg := edit(&li, r.PostForm); msg != "" {
		p.Error = &elbError{Message: l.T(msg)}
	} else {
		spec.Listeners[i] = li
		if _, err := s.api.PutResource(r.Context(), "load-balancer", name, spec); err != nil {
			p.Error = elbErrorOf(err)
		} else {
			s.redirect(w, r, "/elb/load-balancers/"+url.PathEscape(name), "ok", done)
			return
		}
	}
	s.renderStatus(w, r, http.StatusBadRequest, "elb/load-balancer", name, p)
}

// ruleFromForm builds a rule from the rule form: priority, a condition
// (path-pattern or host-header with comma-separated values) and a forward
// target group.
func ruleFromForm(form url.Values) (v1.Rule, string) {
	prio, err := strconv.Atoi(strings.TrimSpace(form.Get("priority")))
	if err != nil || prio < 1 || prio > 50000 {
		return v1.Rule{}, "elb.rule.err.priority"
	}
	field := form.Get("field")
	if field != "path-pattern" && field != "host-header" {
		return v1.Rule{}, "elb.rule.err.field"
	}
	var values []string
	for _, v := range strings.Split(form.Get("values"), ",") {
		if v = strings.TrimSpace(v); v != "" {
			values = append(values, v)
		}
	}
	if len(values) == 0 || len(values) > 3 {
		return v1.Rule{}, "elb.rule.err.values"
	}
	tg := form.Get("targetGroup")
	if tg == "" {
		return v1.Rule{}, "elb.rule.err.tg"
	}
	return v1.Rule{Priority: prio, Conditions: []v1.Condition{{Field: field, Values: values}},
		Actions: []v1.Action{{Type: "forward", TargetGroup: tg}}}, ""
}

func hasPriority(rules []v1.Rule, prio int) bool {
	return slices.ContainsFunc(rules, func(r v1.Rule) bool { return r.Priority == prio })
}

func sortRules(rules []v1.Rule) {
	slices.SortFunc(rules, func(a, b v1.Rule) int { return a.Priority - b.Priority })
}

func (s *Server) elbAddRule(w http.ResponseWriter, r *http.Request) {
	s.elbEditListener(w, r, func(l *v1.Listener, form url.Values) string {
		ru, msg := ruleFromForm(form)
		if msg != "" {
			return msg
		}
		if hasPriority(l.Rules, ru.Priority) {
			return "elb.rule.err.taken"
		}
		l.Rules = append(l.Rules, ru)
		sortRules(l.Rules)
		return ""
	}, "elb.rule.added")
}

func (s *Server) elbEditRule(w http.ResponseWriter, r *http.Request) {
	old, _ := strconv.Atoi(r.PathValue("priority"))
	s.elbEditListener(w, r, func(l *v1.Listener, form url.Values) string {
		i := slices.IndexFunc(l.Rules, func(ru v1.Rule) bool { return ru.Priority == old })
		if i < 0 {
			return "elb.rule.err.missing"
		}
		ru, msg := ruleFromForm(form)
		if msg != "" {
			return msg
		}
		if ru.Priority != old && hasPriority(l.Rules, ru.Priority) {
			return "elb.rule.err.taken"
		}
		l.Rules[i] = ru
		sortRules(l.Rules)
		return ""
	}, "elb.rule.saved")
}

func (s *Server) elbDeleteRule(w http.ResponseWriter, r *http.Request) {
	old, _ := strconv.Atoi(r.PathValue("priority"))
	s.elbEditListener(w, r, func(l *v1.Listener, _ url.Values) string {
		n := len(l.Rules)
		l.Rules = slices.DeleteFunc(l.Rules, func(ru v1.Rule) bool { return ru.Priority == old })
		if len(l.Rules) == n {
			return "elb.rule.err.missing"
		}
		return ""
	}, "elb.rule.deleted")
}

// elbSetDefault changes a listener's default action: forward to a target
// group, or a fixed response with a status code.
func (s *Server) elbSetDefault(w http.ResponseWriter, r *http.Request) {
	s.elbEditListener(w, r, func(l *v1.Listener, form url.Values) string {
		switch form.Get("type") {
		case "forward":
			tg := form.Get("targetGroup")
			if tg == "" {
				return "elb.rule.err.tg"
			}
			l.DefaultActions = []v1.Action{{Type: "forward", TargetGroup: tg}}
		case "fixed-response":
			code := strings.TrimSpace(form.Get("statusCode"))
			if n, err := strconv.Atoi(code); err != nil || n < 200 || n > 599 || n/100 == 3 {
				return "elb.default.err.code"
			}
			l.DefaultActions = []v1.Action{{Type: "fixed-response", FixedResponse: &v1.FixedResponse{
				StatusCode: code, ContentType: "text/plain", MessageBody: form.Get("body")}}}
		default:
			return "elb.default.err.type"
		}
		return ""
	}, "elb.default.saved")
}
