package api_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
)

func healthIDs(t *testing.T, c *api.Client, tg string) []string {
	t.Helper()
	hs, err := c.TargetHealth(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range hs {
		ids = append(ids, h.ID)
	}
	return ids
}

func TestRegisterTargets(t *testing.T) {
	cases := []struct {
		name    string
		tg      string
		targets []v1.TargetRef
		status  int
		code    string
		want    []string // the group's target ids afterwards
	}{
		{name: "success", tg: "web", targets: []v1.TargetRef{{ID: "i-01", Port: 8080}}, want: []string{"i-01"}},
		{name: "again is a no-op", tg: "web", targets: []v1.TargetRef{{ID: "i-01", Port: 8080}}, want: []string{"i-01"}},
		{name: "unknown group", tg: "nope", targets: []v1.TargetRef{{ID: "i-01"}}, status: 404, code: v1.CodeNotFound},
		{name: "unknown instance", tg: "web", targets: []v1.TargetRef{{ID: "i-404"}}, status: 404, code: v1.CodeNotFound, want: []string{"i-01"}},
		{name: "bad port", tg: "web", targets: []v1.TargetRef{{ID: "i-01", Port: 70000}}, status: 400, code: v1.CodeValidation, want: []string{"i-01"}},
		{name: "no targets", tg: "web", status: 400, code: v1.CodeValidation, want: []string{"i-01"}},
		{name: "ip target group", tg: "ips", targets: []v1.TargetRef{{ID: "i-01"}}, status: 400, code: v1.CodeValidation},
	}
	f := fakeWithInstance(t)
	f.TargetGroups = append(f.TargetGroups, elbctl.TargetGroup{Spec: elb.TargetGroupSpec{Name: "ips", TargetType: "ip"}})
	c := apitest.Client(f.Serve(t))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.RegisterTargets(t.Context(), tc.tg, tc.targets)
			checkAPIError(t, err, tc.status, tc.code)
			if tc.tg == "web" {
				if got := healthIDs(t, c, "web"); !slices.Equal(got, tc.want) {
					t.Fatalf("targets of web = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestDeregisterTargets(t *testing.T) {
	cases := []struct {
		name   string
		tg     string
		ids    []string
		status int
		code   string
		want   []string
	}{
		{name: "unknown group", tg: "nope", ids: []string{"i-01"}, status: 404, code: v1.CodeNotFound},
		{name: "no ids", tg: "web", status: 400, code: v1.CodeValidation, want: []string{"i-01"}},
		{name: "unregistered id is ignored", tg: "web", ids: []string{"i-02"}, want: []string{"i-01"}},
		{name: "success", tg: "web", ids: []string{"i-01"}},
	}
	f := fakeWithInstance(t)
	c := apitest.Client(f.Serve(t))
	if err := c.RegisterTargets(t.Context(), "web", []v1.TargetRef{{ID: "i-01"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.DeregisterTargets(t.Context(), tc.tg, tc.ids)
			checkAPIError(t, err, tc.status, tc.code)
			if tc.tg == "web" {
				if got := healthIDs(t, c, "web"); !slices.Equal(got, tc.want) {
					t.Fatalf("targets of web = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// checkAPIError fails unless err is nil (status 0) or an API error with
// the status and code.
func checkAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
		return
	}
	ae, ok := errors.AsType[*api.Error](err)
	if !ok || ae.Status != status || ae.Code != code || ae.Message == "" {
		t.Fatalf("err = %#v, want status %d code %s with a message", err, status, code)
	}
}
