package console

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/health"
)

// Instance ids of the elb fixture.
const (
	elbI1 = "i-0000000000000001" // running, healthy in web
	elbI2 = "i-0000000000000002" // running, not registered
	elbI3 = "i-0000000000000003" // stopped, unhealthy in web
)

// elbFixture is a console over a fake with target groups web (by hand)
// and api (stack demo), load balancers front (by hand, :18080) and
// stacked (stack demo, :18081), and three instances.
func elbFixture(t *testing.T) (*Server, *apitest.Fake) {
	t.Helper()
	s, f := newTestServer(t)
	for _, in := range []compute.Instance{
		{ID: elbI1, Group: "web", State: compute.StateRunning, PrivateIP: "127.16.0.2", Port: 3000, Zone: "ap-northeast-2a"},
		{ID: elbI2, Group: "web", State: compute.StateRunning, PrivateIP: "127.16.0.3", Port: 3000, Zone: "ap-northeast-2b"},
		{ID: elbI3, Group: "web", State: compute.StateStopped, PrivateIP: "127.16.0.4", Port: 3000, Zone: "ap-northeast-2c"},
	} {
		f.AddInstance(compute.View{Instance: in})
	}
	f.TargetGroups = []elbctl.TargetGroup{
		{Spec: elb.TargetGroupSpec{Name: "web", Protocol: "HTTP", Port: 3000, TargetType: "instance",
			HealthCheck: elb.HealthCheckSpec{Path: "/health"}, Attributes: map[string]string{"slow_start.duration_seconds": "30"},
			Tags: map[string]string{"team": "shop"}}},
		{Spec: elb.TargetGroupSpec{Name: "api", Protocol: "HTTP", Port: 4000}, Owner: "demo"},
	}
	f.Health = map[string][]health.TargetHealth{"web": {
		{ID: elbI1, Addr: "127.16.0.2:3000", State: health.StateHealthy},
		{ID: elbI3, Addr: "127.16.0.4:3000", State: health.StateUnhealthy, Reason: health.ReasonFailedHealthChecks, Description: "Health checks failed"},
	}}
	ten := 10
	f.LoadBalancers = []elbctl.LoadBalancer{
		{Spec: elb.LoadBalancerSpec{Name: "front", Type: "application", Address: "127.0.0.1", Listeners: []elb.ListenerSpec{{
			Port: 18080, DefaultActions: []elb.ActionSpec{{Type: "forward", TargetGroup: "web"}},
			Rules: []elb.RuleSpec{{Priority: 10, Conditions: []elb.ConditionSpec{{Field: "path-pattern", Values: []string{"/api/*"}}},
				Actions: []elb.ActionSpec{{Type: "forward", Forward: &elb.ForwardSpec{TargetGroups: []elb.WeightedTargetGroup{{Name: "api", Weight: &ten}}}}}}},
		}}}},
		{Spec: elb.LoadBalancerSpec{Name: "stacked", Address: "127.0.0.1", Listeners: []elb.ListenerSpec{{
			Port: 18081, DefaultActions: []elb.ActionSpec{{Type: "fixed-response", FixedResponse: &elb.FixedResponseSpec{StatusCode: "404", MessageBody: "nothing here"}}},
		}}}, Owner: "demo"},
	}
	return s, f
}

// elbHealthIDs are a target group's target ids in the fake.
func elbHealthIDs(f *apitest.Fake, tg string) []string {
	var ids []string
	for _, h := range f.Health[tg] {
		ids = append(ids, h.ID)
	}
	return ids
}

// elbPostHX posts a form as htmx does.
func elbPostHX(t *testing.T, s *Server, path string, form url.Values) (int, http.Header, string) {
	t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("HX-Request", "true")
	w := httptest.NewRecorder()
	s.routes().ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, w.Header(), string(b)
}

// elbWant fails unless body contains every want.
func elbWant(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("body does not contain %q:\n%s", w, body)
		}
	}
}

func TestELBPages(t *testing.T) {
	s, _ := elbFixture(t)
	cases := []struct {
		name, path string
		status     int
		want       []string
		notWant    []string
	}{
		{name: "target groups", path: "/elb/target-groups", status: 200,
			want: []string{`href="/elb/target-groups/web"`, "HTTP:3000", "/health", "1/2", `href="/elb/load-balancers/front"`, "demo", "Create target group"}},
		{name: "target groups fragment", path: "/elb/target-groups?fragment=frag-tgs", status: 200, want: []string{`id="tgs"`}, notWant: []string{"<html"}},
		{name: "target group targets", path: "/elb/target-groups/web", status: 200,
			want: []string{elbI1, elbI3, "state-unhealthy", "Target.FailedHealthChecks", "Health checks failed", "ap-northeast-2c",
				`href="/ec2/instances/` + elbI1 + `"`, "Include as pending below", `value="` + elbI2 + `"`, "made by hand"}},
		{name: "targets fragment", path: "/elb/target-groups/web?fragment=frag-targets", status: 200,
			want: []string{`id="targets"`, "madang:target-group from:body", "madang:instance from:body", "Target.FailedHealthChecks"}, notWant: []string{"<html"}},
		{name: "health checks tab", path: "/elb/target-groups/web?tab=health", status: 200,
			want: []string{"/health", "traffic-port", "30 seconds", "5 seconds", "<dd>5</dd>", "<dd>2</dd>", "200"}},
		{name: "attributes tab", path: "/elb/target-groups/web?tab=attributes", status: 200,
			want: []string{"slow_start.duration_seconds", "30", "deregistration_delay.timeout_seconds", "300", "(default)"}},
		{name: "tags tab", path: "/elb/target-groups/web?tab=tags", status: 200, want: []string{"team", "shop"}},
		{name: "stack-owned target group", path: "/elb/target-groups/api", status: 200, want: []string{"Managed by stack demo", `name="confirm"`}},
		{name: "unknown target group", path: "/elb/target-groups/nope", status: 404, want: []string{"no target group"}},
		{name: "new target group", path: "/elb/target-groups/new", status: 200,
			want: []string{`name="interval" type="number" value="30"`, `name="timeout" type="number" value="5"`, `name="healthy" type="number" value="5"`,
				`name="unhealthy" type="number" value="2"`, `name="matcher" value="200"`, `name="hcPort" value="traffic-port"`, `aria-current="step"`}},
		{name: "load balancers", path: "/elb/load-balancers", status: 200,
			want: []string{`href="/elb/load-balancers/front"`, `href="http://127.0.0.1:18080"`, "HTTP:18080", "application", "demo", "Create load balancer"}},
		{name: "load balancers fragment", path: "/elb/load-balancers?fragment=frag-lbs", status: 200, want: []string{`id="lbs"`}, notWant: []string{"<html"}},
		{name: "load balancer", path: "/elb/load-balancers/front", status: 200,
			want: []string{"http://127.0.0.1:18080", "path-pattern: /api/*", `href="/elb/target-groups/api"`, "(weight 10)", `href="/elb/target-groups/web"`,
				"Send a test request", "Add rule", "made by hand"}},
		{name: "listeners fragment", path: "/elb/load-balancers/front?fragment=frag-listeners", status: 200,
			want: []string{`id="listeners"`, "madang:load-balancer from:body"}, notWant: []string{"<html"}},
		{name: "stack-owned load balancer", path: "/elb/load-balancers/stacked", status: 200,
			want: []string{"Managed by stack demo", "fixed-response", `404 &#34;nothing here&#34;`, `name="confirm"`}},
		{name: "unknown load balancer", path: "/elb/load-balancers/nope", status: 404, want: []string{"no load balancer"}},
		{name: "new load balancer", path: "/elb/load-balancers/new", status: 200,
			want: []string{"internet-facing", `<option value="web">web</option>`, `name="listenerPort" type="number" min="1" max="65535" value="80"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, s, tc.path)
			if status != tc.status {
				t.Fatalf("GET %s = %d, want %d:\n%s", tc.path, status, tc.status, body)
			}
			elbWant(t, body, tc.want...)
			for _, nw := range tc.notWant {
				if strings.Contains(body, nw) {
					t.Errorf("body contains %q", nw)
				}
			}
		})
	}
}

func TestELBRegisterTargets(t *testing.T) {
	cases := []struct {
		name     string
		tg       string
		form     url.Values
		status   int
		location string
		want     []string
		ids      []string // web's targets afterwards
	}{
		{name: "include as pending", tg: "web", form: url.Values{"op": {"pending"}, "pick": {elbI2}, "port": {"3100"}}, status: 200,
			want: []string{`name="pending" value="` + elbI2 + `:3100"`, "Register pending targets"}, ids: []string{elbI1, elbI3}},
		{name: "include nothing", tg: "web", form: url.Values{"op": {"pending"}}, status: 400, want: []string{"Select at least one instance"}, ids: []string{elbI1, elbI3}},
		{name: "bad port", tg: "web", form: url.Values{"op": {"pending"}, "pick": {elbI2}, "port": {"0"}}, status: 400, want: []string{"1 to 65535"}, ids: []string{elbI1, elbI3}},
		{name: "remove a pending target", tg: "web", form: url.Values{"pending": {elbI2 + ":3100"}, "remove": {elbI2 + ":3100"}}, status: 200,
			want: []string{"No pending targets yet"}, ids: []string{elbI1, elbI3}},
		{name: "register without pending", tg: "web", form: url.Values{"op": {"register"}}, status: 400, want: []string{"No pending targets"}, ids: []string{elbI1, elbI3}},
		{name: "register an unknown instance", tg: "web", form: url.Values{"op": {"register"}, "pending": {"i-0404:0"}}, status: 400,
			want: []string{"no instance i-0404", "see madang ps"}, ids: []string{elbI1, elbI3}},
		{name: "stack-owned without confirmation", tg: "api", form: url.Values{"op": {"register"}, "pending": {elbI2 + ":0"}}, status: 400,
			want: []string{"tick the confirmation"}, ids: []string{elbI1, elbI3}},
		{name: "register", tg: "web", form: url.Values{"op": {"register"}, "pending": {elbI2 + ":3100"}}, status: 303,
			location: "/elb/target-groups/web", ids: []string{elbI1, elbI3, elbI2}},
		{name: "unknown target group", tg: "nope", form: url.Values{"op": {"register"}, "pending": {elbI2 + ":0"}}, status: 404, ids: []string{elbI1, elbI3, elbI2}},
	}
	s, f := elbFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, loc, body := post(t, s, "/elb/target-groups/"+tc.tg+"/targets", tc.form)
			if status != tc.status || loc != tc.location {
				t.Fatalf("status %d location %q, want %d %q:\n%s", status, loc, tc.status, tc.location, body)
			}
			elbWant(t, body, tc.want...)
			if got := elbHealthIDs(f, "web"); !slices.Equal(got, tc.ids) {
				t.Fatalf("web's targets = %v, want %v", got, tc.ids)
			}
		})
	}
	// The registered target shows on the page in its first state.
	_, body := get(t, s, "/elb/target-groups/web?fragment=frag-targets")
	elbWant(t, body, elbI2, "Elb.RegistrationInProgress", "state-initial")
}

func TestELBDeregisterTargets(t *testing.T) {
	cases := []struct {
		name   string
		tg     string
		form   url.Values
		status int
		want   string
		ids    []string
	}{
		{name: "nothing selected", tg: "web", form: url.Values{}, status: 400, want: "Select the targets", ids: []string{elbI1, elbI3}},
		{name: "stack-owned without confirmation", tg: "api", form: url.Values{"id": {elbI1}}, status: 400, want: "tick the confirmation", ids: []string{elbI1, elbI3}},
		{name: "unknown target group", tg: "nope", form: url.Values{"id": {elbI1}}, status: 404, ids: []string{elbI1, elbI3}},
		{name: "deregister", tg: "web", form: url.Values{"id": {elbI3}}, status: 204, ids: []string{elbI1}},
	}
	s, f := elbFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := elbPostHX(t, s, "/elb/target-groups/"+tc.tg+"/targets/deregister", tc.form)
			if status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", status, tc.status, body)
			}
			if status == 204 && h.Get("HX-Redirect") != "/elb/target-groups/web" {
				t.Errorf("HX-Redirect = %q", h.Get("HX-Redirect"))
			}
			elbWant(t, body, tc.want)
			if got := elbHealthIDs(f, "web"); !slices.Equal(got, tc.ids) {
				t.Fatalf("web's targets = %v, want %v", got, tc.ids)
			}
		})
	}
}

// elbTGForm is a filled "Create target group" form.
func elbTGForm(name string, extra url.Values) url.Values {
	v := url.Values{"targetType": {"instance"}, "name": {name}, "protocol": {"HTTP"}, "port": {"3000"}, "hcProtocol": {"HTTP"},
		"hcPath": {"/health"}, "hcPort": {"traffic-port"}, "healthy": {"5"}, "unhealthy": {"2"}, "timeout": {"5"}, "interval": {"30"}, "matcher": {"200"}}
	for k, vs := range extra {
		v[k] = vs
	}
	return v
}

func TestELBCreateTargetGroup(t *testing.T) {
	cases := []struct {
		name     string
		form     url.Values
		status   int
		location string
		want     []string
	}{
		{name: "next shows the instances", form: elbTGForm("shop", url.Values{"op": {"next"}}), status: 200,
			want: []string{`name="pick" value="` + elbI1 + `"`, `name="pick" value="` + elbI2 + `"`, `type="hidden" name="name" value="shop"`}},
		{name: "include as pending", form: elbTGForm("shop", url.Values{"op": {"pending"}, "pick": {elbI1, elbI2}, "pickPort": {"3000"}}), status: 200,
			want: []string{`name="pending" value="` + elbI1 + `:3000"`, `name="pending" value="` + elbI2 + `:3000"`}},
		{name: "no name", form: elbTGForm("", url.Values{"op": {"next"}}), status: 400, want: []string{"Enter a target group name", "field error"}},
		{name: "timeout not below interval", form: elbTGForm("shop", url.Values{"op": {"next"}, "timeout": {"30"}}), status: 400,
			want: []string{"less than the interval", `value="30"`}},
		{name: "threshold out of range", form: elbTGForm("shop", url.Values{"op": {"next"}, "healthy": {"11"}}), status: 400, want: []string{"allowed range"}},
		{name: "the API refuses a bad name", form: elbTGForm("bad_name", url.Values{"op": {"create"}}), status: 400, want: []string{"flash error", "bad_name"}},
		{name: "create with pending targets", form: elbTGForm("shop", url.Values{"op": {"create"}, "pending": {elbI1 + ":3000", elbI2 + ":0"}}), status: 303,
			location: "/elb/target-groups/shop"},
		{name: "the API refuses a stack's group", form: elbTGForm("api", url.Values{"op": {"create"}}), status: 400, want: []string{"belongs to stack demo"}},
	}
	s, f := elbFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, loc, body := post(t, s, "/elb/target-groups", tc.form)
			if status != tc.status || loc != tc.location {
				t.Fatalf("status %d location %q, want %d %q:\n%s", status, loc, tc.status, tc.location, body)
			}
			elbWant(t, body, tc.want...)
		})
	}
	i := slices.IndexFunc(f.TargetGroups, func(tg elbctl.TargetGroup) bool { return tg.Spec.Name == "shop" })
	if i < 0 {
		t.Fatalf("target group shop was not created: %+v", f.TargetGroups)
	}
	if hc := f.TargetGroups[i].Spec.HealthCheck; hc.Path != "/health" || hc.IntervalSeconds != 30 || hc.Matcher != "200" || f.TargetGroups[i].Owner != "" {
		t.Errorf("shop = %+v", f.TargetGroups[i])
	}
	if got := elbHealthIDs(f, "shop"); !slices.Equal(got, []string{elbI1, elbI2}) {
		t.Errorf("shop's targets = %v, want %s and %s", got, elbI1, elbI2)
	}
}

func TestELBCreateLoadBalancer(t *testing.T) {
	lbForm := func(name string, ports, tgs []string) url.Values {
		return url.Values{"name": {name}, "scheme": {"internet-facing"}, "listenerPort": ports, "listenerTargetGroup": tgs, "op": {"create"}}
	}
	cases := []struct {
		name     string
		form     url.Values
		status   int
		location string
		want     []string
	}{
		{name: "add a listener row", form: url.Values{"name": {"shop"}, "listenerPort": {"18090"}, "listenerTargetGroup": {"web"}, "op": {"add"}}, status: 200,
			want: []string{`id="lis-port-1"`, `value="18090"`}},
		{name: "no name", form: lbForm("", []string{"18090"}, []string{"web"}), status: 400, want: []string{"Enter a load balancer name"}},
		{name: "no target group", form: lbForm("shop", []string{"18090"}, []string{""}), status: 400, want: []string{"Choose the target group"}},
		{name: "bad port", form: lbForm("shop", []string{"x"}, []string{"web"}), status: 400, want: []string{"1 to 65535"}},
		{name: "port in use", form: lbForm("shop", []string{"18080"}, []string{"web"}), status: 400, want: []string{"in use by load balancer front", "choose another port"}},
		{name: "unknown target group", form: lbForm("shop", []string{"18090"}, []string{"ghost"}), status: 400, want: []string{`no target group &#34;ghost&#34;`}},
		{name: "create", form: lbForm("shop", []string{"18090", "18091"}, []string{"web", "api"}), status: 303, location: "/elb/load-balancers/shop"},
	}
	s, f := elbFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, loc, body := post(t, s, "/elb/load-balancers", tc.form)
			if status != tc.status || loc != tc.location {
				t.Fatalf("status %d location %q, want %d %q:\n%s", status, loc, tc.status, tc.location, body)
			}
			elbWant(t, body, tc.want...)
		})
	}
	i := slices.IndexFunc(f.LoadBalancers, func(lb elbctl.LoadBalancer) bool { return lb.Spec.Name == "shop" })
	if i < 0 {
		t.Fatal("load balancer shop was not created")
	}
	ls := f.LoadBalancers[i].Spec.Listeners
	if len(ls) != 2 || ls[0].Port != 18090 || ls[0].DefaultActions[0].TargetGroup != "web" || ls[1].DefaultActions[0].TargetGroup != "api" {
		t.Errorf("shop's listeners = %+v", ls)
	}
}

func TestELBListenerRules(t *testing.T) {
	const base = "/elb/load-balancers/front/listeners/18080"
	rule := func(prio, field, values, tg string) url.Values {
		return url.Values{"priority": {prio}, "field": {field}, "values": {values}, "targetGroup": {tg}}
	}
	cases := []struct {
		name, path string
		form       url.Values
		status     int
		want       string
		prios      []int // front's rule priorities afterwards
	}{
		{name: "add a rule", path: base + "/rules", form: rule("5", "host-header", "shop.example.com", "web"), status: 303, prios: []int{5, 10}},
		{name: "priority taken", path: base + "/rules", form: rule("10", "path-pattern", "/x", "web"), status: 400, want: "has that priority", prios: []int{5, 10}},
		{name: "bad priority", path: base + "/rules", form: rule("0", "path-pattern", "/x", "web"), status: 400, want: "1 to 50000", prios: []int{5, 10}},
		{name: "no values", path: base + "/rules", form: rule("20", "path-pattern", " , ", "web"), status: 400, want: "1 to 3 values", prios: []int{5, 10}},
		{name: "unknown target group", path: base + "/rules", form: rule("20", "path-pattern", "/x", "ghost"), status: 400, want: "ghost", prios: []int{5, 10}},
		{name: "edit a rule", path: base + "/rules/10", form: rule("30", "path-pattern", "/api/*, /v2/*", "api"), status: 303, prios: []int{5, 30}},
		{name: "edit a missing rule", path: base + "/rules/99", form: rule("40", "path-pattern", "/x", "web"), status: 400, want: "no longer exists", prios: []int{5, 30}},
		{name: "delete a rule", path: base + "/rules/5/delete", status: 303, prios: []int{30}},
		{name: "default to fixed response", path: base + "/default", form: url.Values{"type": {"fixed-response"}, "statusCode": {"503"}, "body": {"down"}}, status: 303, prios: []int{30}},
		{name: "default with a bad code", path: base + "/default", form: url.Values{"type": {"fixed-response"}, "statusCode": {"302"}}, status: 400, want: "2XX, 4XX or 5XX", prios: []int{30}},
		{name: "unknown listener", path: "/elb/load-balancers/front/listeners/9/rules", form: rule("1", "path-pattern", "/x", "web"), status: 404, prios: []int{30}},
		{name: "unknown load balancer", path: "/elb/load-balancers/nope/listeners/18080/rules", form: rule("1", "path-pattern", "/x", "web"), status: 404, prios: []int{30}},
		{name: "stack-owned without confirmation", path: "/elb/load-balancers/stacked/listeners/18081/rules", form: rule("1", "path-pattern", "/x", "web"),
			status: 400, want: "tick the confirmation", prios: []int{30}},
		{name: "stack-owned, confirmed: the API refuses", path: "/elb/load-balancers/stacked/listeners/18081/rules",
			form:   url.Values{"priority": {"1"}, "field": {"path-pattern"}, "values": {"/x"}, "targetGroup": {"web"}, "confirm": {"yes"}},
			status: 400, want: "belongs to stack demo", prios: []int{30}},
	}
	s, f := elbFixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := post(t, s, tc.path, tc.form)
			if status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", status, tc.status, body)
			}
			elbWant(t, body, tc.want)
			var prios []int
			for _, r := range f.LoadBalancers[0].Spec.Listeners[0].Rules {
				prios = append(prios, r.Priority)
			}
			if !slices.Equal(prios, tc.prios) {
				t.Fatalf("front's rules = %v, want %v", prios, tc.prios)
			}
		})
	}
	l := f.LoadBalancers[0].Spec.Listeners[0]
	if c := l.Rules[0].Conditions[0]; c.Field != "path-pattern" || !slices.Equal(c.Values, []string{"/api/*", "/v2/*"}) || l.Rules[0].Actions[0].TargetGroup != "api" {
		t.Errorf("edited rule = %+v", l.Rules[0])
	}
	if a := l.DefaultActions[0]; a.Type != "fixed-response" || a.FixedResponse.StatusCode != "503" || a.FixedResponse.MessageBody != "down" {
		t.Errorf("default action = %+v", a)
	}
}

func TestELBTrafficCheck(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello from i-0123456789abcdef0\n")
	}))
	t.Cleanup(app.Close)
	_, port, _ := net.SplitHostPort(app.Listener.Addr().String())
	appPort, _ := strconv.Atoi(port)
	s, f := elbFixture(t)
	f.LoadBalancers = append(f.LoadBalancers,
		elbctl.LoadBalancer{Spec: elb.LoadBalancerSpec{Name: "live", Address: "127.0.0.1", Listeners: []elb.ListenerSpec{{Port: appPort}}}},
		elbctl.LoadBalancer{Spec: elb.LoadBalancerSpec{Name: "wide", Address: "192.0.2.1", Listeners: []elb.ListenerSpec{{Port: appPort}}}})
	cases := []struct {
		name, path string
		hx         bool
		status     int
		want       []string
	}{
		{name: "fragment", path: "/elb/load-balancers/live/check?port=" + port, hx: true, status: 200,
			want: []string{`id="check-` + port + `"`, "state-200", "OK", `href="/ec2/instances/i-0123456789abcdef0"`, " ms"}},
		{name: "full page without htmx", path: "/elb/load-balancers/live/check?port=" + port, status: 200, want: []string{"<html", "i-0123456789abcdef0"}},
		{name: "not a listener's port", path: "/elb/load-balancers/live/check?port=1", hx: true, status: 400, want: []string{"no listener on that port"}},
		{name: "not a loopback address", path: "/elb/load-balancers/wide/check?port=" + port, hx: true, status: 400, want: []string{"not a loopback address"}},
		{name: "unknown load balancer", path: "/elb/load-balancers/nope/check?port=" + port, hx: true, status: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var body string
			if tc.hx {
				status, _, body = elbPostHX(t, s, tc.path, url.Values{})
			} else {
				status, _, body = post(t, s, tc.path, url.Values{})
			}
			if status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", status, tc.status, body)
			}
			elbWant(t, body, tc.want...)
			if tc.hx && strings.Contains(body, "<html") {
				t.Errorf("an htmx check answered with the whole page")
			}
		})
	}
}
