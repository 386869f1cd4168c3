package ec2

import (
	"slices"
	"testing"

	"github.com/madang-dev/madang/internal/compute"
)

// DescribeTags lists the tags of VPCs, subnets and security groups as well
// as instances', and its resource-type filter picks one kind.
func TestDescribeTagsNetworkResources(t *testing.T) {
	f := newNetService(t)
	vpc := f.vpc(t, "10.0.0.0/16")
	sn := f.subnet(t, vpc, "10.0.1.0/24", "local-1a")
	sg := f.group(t, vpc, "web")
	f.comp.views = append(f.comp.views, compute.View{Instance: compute.Instance{ID: "i-0000000000000001a", State: compute.StateRunning,
		Tags: map[string]string{"env": "test"}}})
	f.do(t, "CreateTags", map[string]any{"Resources": []any{vpc, sn, sg}, "Tags": []any{map[string]any{"Key": "env", "Value": "test"}}})
	inst := f.comp.views[0].ID
	cases := []struct {
		name    string
		filters []any
		want    []string // resource id/type pairs
	}{
		{name: "all", want: []string{inst + " instance", vpc + " vpc", sn + " subnet", sg + " security-group"}},
		{name: "resource-type vpc", filters: []any{filt("resource-type", "vpc")}, want: []string{vpc + " vpc"}},
		{name: "resource-type subnet", filters: []any{filt("resource-type", "subnet")}, want: []string{sn + " subnet"}},
		{name: "resource-type security-group", filters: []any{filt("resource-type", "security-group")}, want: []string{sg + " security-group"}},
		{name: "resource-type instance", filters: []any{filt("resource-type", "instance")}, want: []string{inst + " instance"}},
		{name: "two resource types", filters: []any{filt("resource-type", "vpc", "subnet")}, want: []string{vpc + " vpc", sn + " subnet"}},
		{name: "resource-id of a subnet", filters: []any{filt("resource-id", sn)}, want: []string{sn + " subnet"}},
		{name: "no match", filters: []any{filt("key", "team")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]any{}
			if tc.filters != nil {
				in["Filters"] = tc.filters
			}
			var got []string
			for _, tag := range f.do(t, "DescribeTags", in)["Tags"].([]any) {
				tag := tag.(map[string]any)
				got = append(got, tag["ResourceId"].(string)+" "+tag["ResourceType"].(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("tags of %v, want %v", got, tc.want)
			}
		})
	}
}

// DefaultSecurityGroup names the groups DescribeSecurityGroups shows as
// the VPCs' default groups.
func TestDefaultSecurityGroupID(t *testing.T) {
	f := newNetService(t)
	vpc := f.vpc(t, "10.0.0.0/16")
	for _, v := range []string{DefaultVPC("local"), vpc} {
		out := f.do(t, "DescribeSecurityGroups", map[string]any{"Filters": []any{filt("vpc-id", v), filt("group-name", "default")}})
		groups := out["SecurityGroups"].([]any)
		if len(groups) != 1 {
			t.Fatalf("%s: %d default groups", v, len(groups))
		}
		if got, want := groups[0].(map[string]any)["GroupId"], DefaultSecurityGroup("local", v); got != want {
			t.Errorf("%s: default group %v, DefaultSecurityGroup %s", v, got, want)
		}
	}
}
