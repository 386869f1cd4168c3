package console

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/api/v1"
)

// tgRow is one row of the target groups list.
type tgRow struct {
	TG             v1.TargetGroup
	Healthy, Total int
	LoadBalancers  []string
}

func (s *Server) elbTargetGroups(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tgs, err := s.api.TargetGroups(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lbs, err := s.api.LoadBalancers(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	used := elbUsedBy(lbs)
	rows := make([]tgRow, 0, len(tgs))
	for _, tg := range tgs {
		elbApplyHealthDefaults(&tg.Spec)
		row := tgRow{TG: tg, LoadBalancers: used[tg.Spec.Name]}
		if hs, err := s.api.TargetHealth(ctx, tg.Spec.Name); err == nil {
			row.Total = len(hs)
			for _, h := range hs {
				if h.State == "healthy" {
					row.Healthy++
				}
			}
		}
		rows = append(rows, row)
	}
	s.page(w, r, "elb/target-groups", "elb.tgs.title", rows)
}

// tgTarget is one registered target on a target group's page.
type tgTarget struct {
	v1.TargetHealth
	Port int
	Zone string
}

// pendingTarget is a target chosen to register, not registered yet.
type pendingTarget struct {
	ID   string
	Port int
}

// Value is the pending target as a form value ("i-0abc:8080").
func (p pendingTarget) Value() string { return p.ID + ":" + strconv.Itoa(p.Port) }

// tgAttr is one attribute of a target group, with whether it is AWS's
// default (not set on the group).
type tgAttr struct {
	Key, Value string
	Default    bool
}

// tgPage is the data of a target group's page.
type tgPage struct {
	TG            v1.TargetGroup
	Tab           string
	Targets       []tgTarget
	LoadBalancers []string
	// Available are the running instances not registered yet; Pending
	// the targets included as pending; PickPort the port field's value.
	Available []v1.Instance
	Pending   []pendingTarget
	PickPort  string
	Attrs     []tgAttr
	// Tabs are the page's tabs; HCEnabled whether health checks run.
	Tabs      []string
	HCEnabled bool
	Error     *elbError
}

// tgTabs are the target group page's tabs, in order.
var tgTabs = []string{"targets", "health", "attributes", "tags"}

// tgAttrDefaults are AWS's target group attribute defaults.
var tgAttrDefaults = map[string]string{
	"deregistration_delay.timeout_seconds":  "300",
	"slow_start.duration_seconds":           "0",
	"load_balancing.algorithm.type":         "round_robin",
	"stickiness.enabled":                    "false",
	"stickiness.type":                       "lb_cookie",
	"stickiness.lb_cookie.duration_seconds": "86400",
}

func (s *Server) elbTargetGroup(w http.ResponseWriter, r *http.Request) {
	p, err := s.tgPageData(r, r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, "elb/target-group", p.TG.Spec.Name, p)
}

// tgPageData reads a target group's page from the API.
func (s *Server) tgPageData(r *http.Request, name string) (*tgPage, error) {
	ctx := r.Context()
	tg, err := s.elbFindTargetGroup(ctx, name)
	if err != nil {
		return nil, err
	}
	hs, err := s.api.TargetHealth(ctx, name)
	if err != nil {
		return nil, err
	}
	ins, err := s.api.Instances(ctx)
	if err != nil {
		return nil, err
	}
	lbs, err := s.api.LoadBalancers(ctx)
	if err != nil {
		return nil, err
	}
	elbApplyHealthDefaults(&tg.Spec)
	p := &tgPage{TG: tg, Tab: r.URL.Query().Get("tab"), LoadBalancers: elbUsedBy(lbs)[name], PickPort: tgPortText(tg)}
	if !slices.Contains(tgTabs, p.Tab) {
		p.Tab = "targets"
	}
	zone := map[string]string{}
	for _, in := range ins {
		zone[in.ID] = in.Zone
	}
	registered := map[string]bool{}
	for _, h := range hs {
		registered[h.ID] = true
		t := tgTarget{TargetHealth: h, Zone: zone[h.ID]}
		if _, port, err := net.SplitHostPort(h.Addr); err == nil {
			t.Port, _ = strconv.Atoi(port)
		}
		p.Targets = append(p.Targets, t)
	}
	for _, in := range ins {
		if in.State == v1.StateRunning && !registered[in.ID] {
			p.Available = append(p.Available, in)
		}
	}
	p.Attrs = tgAttrs(tg.Spec.Attributes)
	p.Tabs = tgTabs
	p.HCEnabled = tg.Spec.HealthCheck.Enabled == nil || *tg.Spec.HealthCheck.Enabled
	return p, nil
}

// tgPortText is a target group's port as the register form's default.
func tgPortText(tg v1.TargetGroup) string {
	if tg.Spec.Port == 0 {
		return ""
	}
	return strconv.Itoa(tg.Spec.Port)
}

// tgAttrs merges a group's attributes with AWS's defaults, sorted by key.
func tgAttrs(set map[string]string) []tgAttr {
	var out []tgAttr
	for k, v := range set {
		out = append(out, tgAttr{Key: k, Value: v})
	}
	for k, v := range tgAttrDefaults {
		if _, ok := set[k]; !ok {
			out = append(out, tgAttr{Key: k, Value: v, Default: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// parsePending reads the pending targets of a form ("pending" values
// "ID:PORT"), dropping the one named by "remove".
func parsePending(form url.Values) []pendingTarget {
	var out []pendingTarget
	for _, v := range form["pending"] {
		if v == form.Get("remove") {
			continue
		}
		id, port, _ := strings.Cut(v, ":")
		n, _ := strconv.Atoi(port)
		if id != "" {
			out = append(out, pendingTarget{ID: id, Port: n})
		}
	}
	return out
}

// includePending adds the picked instances ("pick") with the port field
// to pending, skipping ones already there; the message key says what is
// wrong with the input ("" when nothing is).
func includePending(form url.Values, pending []pendingTarget) ([]pendingTarget, string) {
	picks := form["pick"]
	if len(picks) == 0 {
		return pending, "elb.reg.err.nopick"
	}
	port := 0
	if v := strings.TrimSpace(form.Get("port")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return pending, "elb.reg.err.port"
		}
		port = n
	}
	for _, id := range picks {
		if !slices.ContainsFunc(pending, func(p pendingTarget) bool { return p.ID == id }) {
			pending = append(pending, pendingTarget{ID: id, Port: port})
		}
	}
	return pending, ""
}

func targetRefs(pending []pendingTarget) []v1.TargetRef {
	out := make([]v1.TargetRef, 0, len(pending))
	for _, p := range pending {
		out = append(out, v1.TargetRef{ID: p.ID, Port: p.Port})
	}
	return out
}

// elbRegisterTargets serves the Targets tab's register form: "Include as
// pending below" (op=pending) and removing a pending target re-render the
// page with the pending list; "Register pending targets" (op=register)
// registers them.
func (s *Server) elbRegisterTargets(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, err := s.tgPageData(r, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := langOf(r)
	p.Tab = "targets"
	p.Pending = parsePending(r.PostForm)
	if v := r.PostForm.Get("port"); v != "" {
		p.PickPort = v
	}
	status := http.StatusOK
	switch r.PostForm.Get("op") {
	case "pending":
		var msg string
		if p.Pending, msg = includePending(r.PostForm, p.Pending); msg != "" {
			p.Error, status = &elbError{Message: l.T(msg)}, http.StatusBadRequest
		}
	case "register":
		switch {
		case len(p.Pending) == 0:
			p.Error = &elbError{Message: l.T("elb.reg.err.nopending")}
		case p.TG.Owner != "" && r.PostForm.Get("confirm") != "yes":
			p.Error = &elbError{Message: l.T("elb.err.confirm")}
		default:
			if err := s.api.RegisterTargets(r.Context(), name, targetRefs(p.Pending)); err != nil {
				p.Error = elbErrorOf(err)
			} else {
				s.redirect(w, r, "/elb/target-groups/"+url.PathEscape(name), "ok", "elb.reg.done")
				return
			}
		}
		status = http.StatusBadRequest
	}
	s.renderStatus(w, r, status, "elb/target-group", name, p)
}

// elbDeregisterTargets deregisters the targets checked in the Targets
// table ("id" values).
func (s *Server) elbDeregisterTargets(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, err := s.tgPageData(r, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := langOf(r)
	ids := r.PostForm["id"]
	switch {
	case len(ids) == 0:
		p.Error = &elbError{Message: l.T("elb.dereg.err.none")}
	case p.TG.Owner != "" && r.PostForm.Get("confirm") != "yes":
		p.Error = &elbError{Message: l.T("elb.err.confirm")}
	default:
		if err := s.api.DeregisterTargets(r.Context(), name, ids); err != nil {
			p.Error = elbErrorOf(err)
		} else {
			s.redirect(w, r, "/elb/target-groups/"+url.PathEscape(name), "ok", "elb.dereg.done")
			return
		}
	}
	p.Tab = "targets"
	s.renderStatus(w, r, http.StatusBadRequest, "elb/target-group", name, p)
}
