package compute

import (
	"context"
	"testing"
)

// RunInstances' own launch data: without a launch template an instance runs
// from the image alone; with one, the request's fields win over the
// template's, and the instance keeps them across a stop and start.
func TestRunWithLaunchData(t *testing.T) {
	tc := newTestCompute(t)
	ctx := context.Background()
	cases := []struct {
		name     string
		req      RunRequest
		wantType string
		wantLT   string
	}{
		{"image alone", RunRequest{Count: 1, Launch: &LaunchTemplateData{Image: "app", InstanceType: "t3.small", Env: map[string]string{"GORACE": "atexit_sleep_ms=0"}}}, "t3.small", ""},
		{"template with overrides", RunRequest{LaunchTemplate: "app", Count: 1, Launch: &LaunchTemplateData{InstanceType: "t3.medium"}}, "t3.medium", "app"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ins, err := tc.svc.Run(ctx, c.req)
			if err != nil {
				t.Fatal(err)
			}
			id := ins[0].ID
			v := tc.waitRunning(id)
			if v.InstanceType != c.wantType || v.LaunchTemplate != c.wantLT || v.Image != "app" {
				t.Fatalf("instance = type %q template %q image %q; want %q %q app", v.InstanceType, v.LaunchTemplate, v.Image, c.wantType, c.wantLT)
			}
			if err := tc.svc.Stop(ctx, id); err != nil {
				t.Fatal(err)
			}
			tc.wait(id, "stopped", func(v View) bool { return v.State == StateStopped })
			if err := tc.svc.Start(ctx, id); err != nil {
				t.Fatal(err)
			}
			if v := tc.waitRunning(id); v.InstanceType != c.wantType {
				t.Fatalf("after stop and start: type %q, want %q", v.InstanceType, c.wantType)
			}
		})
	}
	bad := []struct {
		name string
		req  RunRequest
	}{
		{"nothing to launch from", RunRequest{Count: 1}},
		{"unknown image", RunRequest{Count: 1, Launch: &LaunchTemplateData{Image: "nope"}}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, err := tc.svc.Run(ctx, c.req); err == nil {
				t.Fatal("Run succeeded; want an error")
			}
		})
	}
}
