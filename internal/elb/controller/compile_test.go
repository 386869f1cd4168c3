package controller

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/proxy"
	"github.com/madang-dev/madang/internal/route"
)

func TestCompileListener(t *testing.T) {
	two := 2
	spec := elb.ListenerSpec{
		Port: 8080,
		Rules: []elb.RuleSpec{
			{Priority: 10, Conditions: []elb.ConditionSpec{{Field: "query-string", QueryString: []elb.KeyValue{{Key: "v", Value: "2"}}}},
				Actions: []elb.ActionSpec{{Type: "forward", Forward: &elb.ForwardSpec{
					TargetGroups: []elb.WeightedTargetGroup{{Name: "blue"}, {Name: "green", Weight: &two}},
					Stickiness:   &elb.GroupStickinessSpec{Enabled: true, DurationSeconds: 600},
				}}}},
			{Priority: 20, Conditions: []elb.ConditionSpec{{Field: "path-pattern", Values: []string{"/old/*"}}},
				Actions: []elb.ActionSpec{{Type: "redirect", Redirect: &elb.RedirectSpec{Path: "/new/#{path}", StatusCode: "HTTP_302"}}}},
			{Priority: 30, Conditions: []elb.ConditionSpec{{Field: "http-header", HTTPHeaderName: "X-A", Values: []string{"b"}}},
				Actions: []elb.ActionSpec{{Type: "fixed-response", FixedResponse: &elb.FixedResponseSpec{StatusCode: "503", MessageBody: "later"}}}},
			{Priority: 40, Conditions: []elb.ConditionSpec{{Field: "path-pattern", Values: []string{"/s/*"}}},
				Actions: []elb.ActionSpec{{Type: "static", Static: &elb.StaticSpec{Root: "/srv", StripPrefix: "/s", MaxAgeSeconds: 60}}}},
		},
		DefaultActions: []elb.ActionSpec{{Type: "forward", TargetGroup: "web"}},
	}
	got, err := compileListener(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := proxy.Listener{
		Port: 8080,
		Rules: []route.RuleConfig{
			{Priority: 10, Conditions: []route.Condition{{Field: "query-string", QueryString: []route.KeyValue{{Key: "v", Value: "2"}}}},
				Actions: []route.Action{{Type: "forward", Forward: &route.Forward{
					TargetGroups: []route.WeightedTargetGroup{{Name: "blue", Weight: 1}, {Name: "green", Weight: 2}},
					Stickiness:   600 * time.Second,
				}}}},
			{Priority: 20, Conditions: []route.Condition{{Field: "path-pattern", Values: []string{"/old/*"}}},
				Actions: []route.Action{{Type: "redirect", Redirect: &route.Redirect{Path: "/new/#{path}", StatusCode: 302}}}},
			{Priority: 30, Conditions: []route.Condition{{Field: "http-header", HTTPHeaderName: "X-A", Values: []string{"b"}}},
				Actions: []route.Action{{Type: "fixed-response", FixedResponse: &route.FixedResponse{StatusCode: 503, MessageBody: "later"}}}},
			{Priority: 40, Conditions: []route.Condition{{Field: "path-pattern", Values: []string{"/s/*"}}},
				Actions: []route.Action{{Type: "static", Static: &route.Static{Root: "/srv", StripPrefix: "/s", MaxAgeSeconds: 60}}}},
		},
		DefaultActions: []route.Action{route.ForwardTo("web")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("compileListener =\n%+v\nwant\n%+v", got, want)
	}

	// The data plane's form is plain data: it survives a JSON round trip.
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back proxy.Listener
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, got) {
		t.Errorf("after a JSON round trip =\n%+v\nwant\n%+v", back, got)
	}
}

func TestCompileListenerErrors(t *testing.T) {
	tests := []struct {
		name string
		act  elb.ActionSpec
		want string
	}{
		{name: "redirect status", act: elb.ActionSpec{Type: "redirect", Redirect: &elb.RedirectSpec{StatusCode: "HTTP_307"}}, want: `redirect.statusCode "HTTP_307" is not valid`},
		{name: "fixed status", act: elb.ActionSpec{Type: "fixed-response", FixedResponse: &elb.FixedResponseSpec{StatusCode: "abc"}}, want: `fixedResponse.statusCode "abc" is not a number`},
		{name: "unknown type", act: elb.ActionSpec{Type: "authenticate-oidc"}, want: `action type "authenticate-oidc" is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileListener(elb.ListenerSpec{Port: 80, DefaultActions: []elb.ActionSpec{tc.act}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
