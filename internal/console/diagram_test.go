package console

import (
	"strings"
	"testing"
)

func TestDrawArchitecture(t *testing.T) {
	a := architecture{
		LoadBalancers: []archLB{{Name: "web", Listeners: []string{"HTTP:8080"}, Forwards: []string{"web"}}},
		TargetGroups: []archTG{{Name: "web", Targets: []archTarget{
			{ID: "i-1", State: "healthy"}, {ID: "i-2", State: "unhealthy", Reason: "Target.Timeout"}}}},
		Instances: []archInstance{{ID: "i-1", State: "running", Group: "asg"}, {ID: "i-2", Name: "<b>x</b>", State: "running", Group: "asg"}},
		Groups:    []archASG{{Name: "asg", InService: 2, Desired: 2, Min: 1, Max: 4, Instances: []string{"i-1", "i-2"}}},
	}
	svg := string(drawArchitecture(lang{code: "en"}, a))
	for _, tc := range []struct{ name, want string }{
		{"load balancer node links to its page", `href="/elb/load-balancers/web"`},
		{"the listener", "HTTP:8080"},
		{"target group health summary", "1/2 healthy"},
		{"a healthy edge", `class="edge healthy"`},
		{"an unhealthy edge with its reason", "i-2: unhealthy Target.Timeout"},
		{"the worst health colours the group", `node node-tg unhealthy`},
		{"the Auto Scaling group's box", `class="node node-asg"`},
		{"the group's capacity", "2/2 InService · 1–4"},
		{"names are escaped", "&lt;b&gt;x&lt;/b&gt;"},
		{"a named instance shows its id", "i-2 · running"},
	} {
		if !strings.Contains(svg, tc.want) {
			t.Errorf("%s: the diagram lacks %q:\n%s", tc.name, tc.want, svg)
		}
	}
	if strings.Contains(svg, "<b>x</b>") {
		t.Error("an instance name reached the SVG unescaped")
	}
}
