package compute

import (
	"reflect"
	"testing"
)

// A launch that names no security group gets its launch template
// version's; one that names some keeps them.
func TestWithTemplateGroups(t *testing.T) {
	tmpl := []SecurityGroupRef{{ID: "sg-0a", Name: "web"}}
	own := []SecurityGroupRef{{ID: "sg-0b", Name: "app"}}
	cases := []struct {
		name   string
		p      *Placement
		groups []SecurityGroupRef
		want   *Placement
	}{
		{name: "no groups anywhere", want: nil},
		{name: "template groups, default subnet", groups: tmpl, want: &Placement{SecurityGroups: tmpl}},
		{name: "template groups, created subnet", p: &Placement{SubnetID: "subnet-0a", VpcID: "vpc-0a"}, groups: tmpl,
			want: &Placement{SubnetID: "subnet-0a", VpcID: "vpc-0a", SecurityGroups: tmpl}},
		{name: "the launch's own groups win", p: &Placement{VpcID: "vpc-0a", SecurityGroups: own}, groups: tmpl,
			want: &Placement{VpcID: "vpc-0a", SecurityGroups: own}},
		{name: "subnet without template groups", p: &Placement{SubnetID: "subnet-0a", VpcID: "vpc-0a"},
			want: &Placement{SubnetID: "subnet-0a", VpcID: "vpc-0a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before Placement
			if tc.p != nil {
				before = *tc.p
			}
			got := withTemplateGroups(tc.p, tc.groups)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("withTemplateGroups = %+v, want %+v", got, tc.want)
			}
			if tc.p != nil && !reflect.DeepEqual(*tc.p, before) {
				t.Errorf("the launch's placement changed to %+v", *tc.p)
			}
		})
	}
}
