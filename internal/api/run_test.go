package api_test

import (
	"context"
	"errors"
	"testing"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/compute"
)

// TestRunWithLaunchData runs instances from launch data alone (an image,
// an instance type, user data), with a zone and a Name tag, and checks
// the request's errors.
func TestRunWithLaunchData(t *testing.T) {
	f := fakeWithInstance(t)
	f.Catalog.Images = []compute.Image{{Spec: compute.ImageSpec{Name: "shop"}, ID: "ami-01"}}
	c := apitest.Client(f.Serve(t))
	ctx := context.Background()
	cases := []struct {
		name   string
		req    v1.RunRequest
		status int
		check  func(t *testing.T, ins []v1.Instance)
	}{
		{name: "image only", req: v1.RunRequest{Count: 2, Name: "shop-1", Zone: "local-1b",
			Launch: &v1.LaunchTemplateData{Image: "shop", InstanceType: "t3.small", UserData: "echo hi"}},
			check: func(t *testing.T, ins []v1.Instance) {
				if len(ins) != 2 {
					t.Fatalf("got %d instances, want 2", len(ins))
				}
				in := ins[0]
				if in.Image != "shop" || in.Zone != "local-1b" || in.Tags["Name"] != "shop-1" || in.InstanceType != "t3.small" ||
					in.Launch == nil || in.Launch.UserData != "echo hi" || in.LaunchTemplate != "" {
					t.Fatalf("instance %+v, want image shop in local-1b named shop-1 with the launch data", in)
				}
			}},
		{name: "template with an override", req: v1.RunRequest{LaunchTemplate: "web", Count: 1, Launch: &v1.LaunchTemplateData{Image: "shop"}},
			check: func(t *testing.T, ins []v1.Instance) {
				if len(ins) != 1 || ins[0].LaunchTemplate != "web" || ins[0].Image != "shop" {
					t.Fatalf("instances %+v, want one from web running shop", ins)
				}
			}},
		{name: "neither template nor image", req: v1.RunRequest{Count: 1}, status: 400},
		{name: "unknown image", req: v1.RunRequest{Count: 1, Launch: &v1.LaunchTemplateData{Image: "nope"}}, status: 404},
		{name: "bad duration", req: v1.RunRequest{Count: 1, Launch: &v1.LaunchTemplateData{Image: "shop",
			Supervision: v1.Supervision{KillTimeout: "soon"}}}, status: 400},
		{name: "unknown zone", req: v1.RunRequest{Count: 1, Zone: "us-east-1a", Launch: &v1.LaunchTemplateData{Image: "shop"}}, status: 400},
		{name: "count out of range", req: v1.RunRequest{Count: 0, Launch: &v1.LaunchTemplateData{Image: "shop"}}, status: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ins, err := c.Run(ctx, tc.req)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("Run = %v", err)
				}
				tc.check(t, ins)
				return
			}
			ae, ok := errors.AsType[*api.Error](err)
			if !ok || ae.Status != tc.status || ae.Hint == "" {
				t.Fatalf("Run = %v, want a %d error with a hint", err, tc.status)
			}
		})
	}
}

func TestInstanceTypesAndZones(t *testing.T) {
	c := apitest.Client(fakeWithInstance(t).Serve(t))
	ctx := context.Background()
	types, err := c.InstanceTypes(ctx)
	if err != nil || len(types) == 0 {
		t.Fatalf("InstanceTypes = %v, %v", types, err)
	}
	defaults := 0
	for _, it := range types {
		if it.Default {
			defaults++
			if it.Name != "t3.micro" || it.VCPUs != 2 || it.MemoryMiB != 1024 {
				t.Errorf("default type %+v, want t3.micro with 2 vCPUs and 1024 MiB", it)
			}
		}
	}
	if defaults != 1 {
		t.Errorf("%d default types, want 1", defaults)
	}
	zones, err := c.AvailabilityZones(ctx)
	if err != nil || len(zones) == 0 || zones[0] != "local-1a" {
		t.Fatalf("AvailabilityZones = %v, %v; want local-1a first", zones, err)
	}
}
