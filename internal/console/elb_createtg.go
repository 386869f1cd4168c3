package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/api/v1"
)

// tgForm is the "Create target group" form: step 1 the group's details
// and health check, step 2 the targets to register.
type tgForm struct {
	Step                                           int
	TargetType, Name, Protocol, Port               string
	HCProtocol, HCPath, HCPort                     string
	Healthy, Unhealthy, Timeout, Interval, Matcher string
	// Instances are the running instances to pick from; Pending the
	// targets included as pending; PickPort the port field.
	Instances []v1.Instance
	Pending   []pendingTarget
	PickPort  string
	// Errors are the fields' problems by field name; Error the API's.
	Errors map[string]string
	Error  *elbError
}

// newTGForm is the form with AWS's defaults filled in.
func newTGForm() *tgForm {
	return &tgForm{
		Step: 1, TargetType: elbDefaultTargetType, Protocol: elbDefaultProtocol, Port: strconv.Itoa(elbDefaultListenerPort),
		HCProtocol: elbDefaultProtocol, HCPath: elbDefaultHCPath, HCPort: elbDefaultHCPort,
		Healthy: strconv.Itoa(elbDefaultHealthy), Unhealthy: strconv.Itoa(elbDefaultUnhealthy),
		Timeout: strconv.Itoa(elbDefaultTimeout), Interval: strconv.Itoa(elbDefaultInterval), Matcher: elbDefaultMatcher,
		Errors: map[string]string{},
	}
}

// tgFormFrom reads the form's values.
func tgFormFrom(form url.Values) *tgForm {
	f := &tgForm{Step: 1, Errors: map[string]string{}}
	get := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	f.TargetType, f.Name, f.Protocol, f.Port = get("targetType"), get("name"), get("protocol"), get("port")
	f.HCProtocol, f.HCPath, f.HCPort = get("hcProtocol"), get("hcPath"), get("hcPort")
	f.Healthy, f.Unhealthy, f.Timeout, f.Interval, f.Matcher = get("healthy"), get("unhealthy"), get("timeout"), get("interval"), get("matcher")
	f.PickPort = get("pickPort")
	if f.PickPort == "" {
		f.PickPort = f.Port
	}
	f.Pending = parsePending(form)
	return f
}

// spec checks the form's fields and builds the target group's spec (the
// stack file's fields); problems go to f.Errors as message keys.
func (f *tgForm) spec() v1.TargetGroupSpec {
	num := func(field, v string, lo, hi int) int {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			f.Errors[field] = "elb.tg.err.range"
			return 0
		}
		return n
	}
	if f.Name == "" {
		f.Errors["name"] = "elb.tg.err.name"
	}
	spec := v1.TargetGroupSpec{
		Name: f.Name, Protocol: f.Protocol, TargetType: f.TargetType, Port: num("port", f.Port, 1, 65535),
		HealthCheck: v1.HealthCheckSpec{
			Protocol: f.HCProtocol, Path: f.HCPath, Port: f.HCPort, Matcher: f.Matcher,
			HealthyThresholdCount:   num("healthy", f.Healthy, 2, 10),
			UnhealthyThresholdCount: num("unhealthy", f.Unhealthy, 2, 10),
			TimeoutSeconds:          num("timeout", f.Timeout, 2, 120),
			IntervalSeconds:         num("interval", f.Interval, 5, 300),
		},
	}
	if f.Errors["timeout"] == "" && f.Errors["interval"] == "" && spec.HealthCheck.TimeoutSeconds >= spec.HealthCheck.IntervalSeconds {
		f.Errors["timeout"] = "elb.tg.err.timeout"
	}
	if f.HCPath == "" || !strings.HasPrefix(f.HCPath, "/") {
		f.Errors["hcPath"] = "elb.tg.err.path"
	}
	return spec
}

func (s *Server) elbNewTargetGroup(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "elb/create-target-group", "elb.createtg.title", newTGForm())
}

// elbCreateTargetGroup serves the create form's buttons: op=next checks
// step 1 and shows step 2, op=back returns to step 1, op=pending and
// remove edit the pending targets, op=create creates the group through
// the generic resource API and registers the pending targets.
func (s *Server) elbCreateTargetGroup(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := tgFormFrom(r.PostForm)
	spec := f.spec()
	op := r.PostForm.Get("op")
	if r.PostForm.Get("remove") != "" {
		op = "remove"
	}
	status := http.StatusOK
	switch {
	case len(f.Errors) > 0:
		status = http.StatusBadRequest
	case op == "back":
	case op == "pending":
		f.Step = 2
		var msg string
		if f.Pending, msg = includePending(url.Values{"pick": r.PostForm["pick"], "port": {f.PickPort}}, f.Pending); msg != "" {
			f.Error, status = &elbError{Message: langOf(r).T(msg)}, http.StatusBadRequest
		}
	case op == "create":
		f.Step = 2
		if s.elbPutTargetGroup(w, r, f, spec) {
			return
		}
		status = http.StatusBadRequest
	default: // next, remove
		f.Step = 2
	}
	if f.Step == 2 {
		ins, err := s.api.Instances(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, in := range ins {
			if in.State == v1.StateRunning {
				f.Instances = append(f.Instances, in)
			}
		}
	}
	s.renderStatus(w, r, status, "elb/create-target-group", "elb.createtg.title", f)
}

// elbPutTargetGroup creates the group and registers the pending targets;
// it answers and returns true, or sets f.Error and returns false.
func (s *Server) elbPutTargetGroup(w http.ResponseWriter, r *http.Request, f *tgForm, spec v1.TargetGroupSpec) bool {
	ctx := r.Context()
	if _, err := s.api.PutResource(ctx, "target-group", spec.Name, spec); err != nil {
		f.Error = elbErrorOf(err)
		return false
	}
	target := "/elb/target-groups/" + url.PathEscape(spec.Name)
	if len(f.Pending) > 0 {
		if err := s.api.RegisterTargets(ctx, spec.Name, targetRefs(f.Pending)); err != nil {
			s.redirect(w, r, target, "warn", langOf(r).T("elb.createtg.regfailed")+" "+err.Error())
			return true
		}
	}
	s.redirect(w, r, target, "ok", "elb.createtg.done")
	return true
}
