package elbv2

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/health"
)

// healthXML answers DescribeTargetHealth of the group through an endpoint
// over svc, with a fixed request id.
func healthXML(t *testing.T, svc awsapi.Service, params string) string {
	t.Helper()
	ep, err := awsapi.New(awsapi.Options{Services: []awsapi.Service{svc}, Authenticator: awsapi.AllowAll{},
		NewRequestID: func() string { return "00000000-0000-4000-8000-000000000001" }})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader("Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn="+benchARN+params))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	ep.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("HTTP %d: %s", w.Code, w.Body.String())
	}
	return w.Body.String()
}

// Targets whose health changes are described as they are now, never from
// an earlier call's description, and the answer is the same as one made
// without a cache.
func TestHealthCacheFollowsChanges(t *testing.T) {
	cases := []struct {
		name   string
		change func(lb *fakeLB)
		want   string
		gone   string
	}{
		{"unhealthy", func(lb *fakeLB) {
			lb.health[0].State, lb.health[0].Reason, lb.health[0].Description = health.StateUnhealthy, "Target.Timeout", "Request timed out"
		}, "<Reason>Target.Timeout</Reason><Description>Request timed out</Description>", ""},
		{"healthy again", func(lb *fakeLB) {
			lb.health[9].State, lb.health[9].Reason, lb.health[9].Description = health.StateHealthy, "", ""
		}, "", "Health checks failed"},
		{"draining", func(lb *fakeLB) { lb.health[1].State = health.StateDraining }, "<State>draining</State>", ""},
		{"port", func(lb *fakeLB) { lb.health[2].Addr = "127.16.0.4:3001" }, "<Port>3001</Port>", ""},
		{"deregistered", func(lb *fakeLB) { lb.health = lb.health[1:] }, "", "<Id>i-00000000000000001</Id>"},
		{"last check only", func(lb *fakeLB) { lb.health[0].ConsecutiveOK++ }, "<Id>i-00000000000000001</Id>", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lb := targets(10)
			svc := newTestService(t, lb)
			healthXML(t, svc, "")
			before := healthXML(t, svc, "")
			if c.want != "" && strings.Contains(before, c.want) && c.name != "last check only" {
				t.Fatalf("%q already in the answer before the change", c.want)
			}
			c.change(lb)
			got := healthXML(t, svc, "")
			if c.want != "" && !strings.Contains(got, c.want) {
				t.Fatalf("%q not in the answer after the change:\n%s", c.want, got)
			}
			if c.gone != "" && strings.Contains(got, c.gone) {
				t.Fatalf("%q still in the answer after the change:\n%s", c.gone, got)
			}
			if want := healthXML(t, newTestService(t, lb), ""); got != want {
				t.Fatalf("cached answer differs from a fresh one:\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// DescribeTargetHealth of named targets answers for each, registered or
// not, and an empty group answers with no descriptions.
func TestDescribeTargetHealthTargets(t *testing.T) {
	cases := []struct {
		name    string
		targets int
		params  string
		want    []string
	}{
		{"named targets", 10, "&Targets.member.1.Id=i-00000000000000002&Targets.member.2.Id=i-0ffffffffffffffff&Targets.member.2.Port=80",
			[]string{"<Id>i-00000000000000002</Id><Port>3000</Port>", "<Id>i-0ffffffffffffffff</Id><Port>80</Port>", "<State>unused</State><Reason>Target.NotRegistered</Reason>"}},
		{"empty group", 0, "", []string{"<TargetHealthDescriptions></TargetHealthDescriptions>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := healthXML(t, newTestService(t, targets(c.targets)), c.params)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q not in\n%s", w, got)
				}
			}
		})
	}
}
