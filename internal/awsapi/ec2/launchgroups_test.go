package ec2

import (
	"context"
	"slices"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/network"
)

// A launch template's SecurityGroupIds and SecurityGroups are resolved to
// the groups its instances get, and DescribeLaunchTemplateVersions shows
// their ids.
func TestLaunchTemplateSecurityGroups(t *testing.T) {
	res := newStoreResources()
	s, svc, err := build(Options{Compute: &fakeCompute{}, Resources: res, Network: network.Store{State: res.st},
		Region: "local", AccountID: "000000000000", Zones: []string{"local-1a", "local-1b"}})
	if err != nil {
		t.Fatal(err)
	}
	f := &netFixture{svc: svc}
	vpc := f.vpc(t, "10.0.0.0/16")
	web := f.group(t, vpc, "web")
	app := f.group(t, "", "app")
	cases := []struct {
		name  string
		data  map[string]any
		code  string
		want  []compute.SecurityGroupRef
		shown []any
	}{
		{name: "none", data: map[string]any{}},
		{name: "a created VPC's group by id", data: map[string]any{"SecurityGroupIds": []any{web}},
			want: []compute.SecurityGroupRef{{ID: web, Name: "web"}}, shown: []any{web}},
		{name: "a default VPC group by name", data: map[string]any{"SecurityGroups": []any{"APP"}},
			want: []compute.SecurityGroupRef{{ID: app, Name: "app"}}, shown: []any{app}},
		{name: "the same group twice", data: map[string]any{"SecurityGroupIds": []any{app}, "SecurityGroups": []any{"app"}},
			want: []compute.SecurityGroupRef{{ID: app, Name: "app"}}, shown: []any{app}},
		{name: "a VPC's default group", data: map[string]any{"SecurityGroupIds": []any{DefaultSecurityGroup("local", vpc)}},
			want: []compute.SecurityGroupRef{{ID: DefaultSecurityGroup("local", vpc), Name: "default"}}, shown: []any{DefaultSecurityGroup("local", vpc)}},
		{name: "an unknown id", data: map[string]any{"SecurityGroupIds": []any{"sg-0123456789abcdef0"}}, code: "InvalidGroup.NotFound"},
		{name: "a created VPC's group by name", data: map[string]any{"SecurityGroups": []any{"web"}}, code: "InvalidGroup.NotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.data["ImageId"] = "ami-0aaa"
			cat := s.catalog()
			data, err := s.launchData(context.Background(), protocol.Struct(tc.data), compute.LaunchTemplateData{}, cat)
			if got := codeOf(err); got != tc.code {
				t.Fatalf("error %v, want %q", err, tc.code)
			}
			if tc.code != "" {
				return
			}
			if !slices.Equal(data.SecurityGroups, tc.want) {
				t.Errorf("groups %v, want %v", data.SecurityGroups, tc.want)
			}
			lt := compute.LaunchTemplate{ID: "lt-0aaa", Name: "app", DefaultVersion: 1}
			shape := s.versionShape(lt, compute.LaunchTemplateVersion{Number: 1, Data: data}, cat)["LaunchTemplateData"].(map[string]any)
			got, _ := shape["SecurityGroupIds"].([]any)
			if !slices.Equal(got, tc.shown) {
				t.Errorf("SecurityGroupIds %v, want %v", got, tc.shown)
			}
		})
	}
}
