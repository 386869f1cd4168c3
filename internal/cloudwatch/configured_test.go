package cloudwatch

import (
	"slices"
	"testing"

	"github.com/madang-dev/madang/internal/lbmetrics"
)

type configured struct{ lbs, tgs map[string]bool }

func (c configured) Configured() (map[string]bool, map[string]bool) { return c.lbs, c.tgs }

func TestConfiguredOnly(t *testing.T) {
	iv := lbmetrics.Interval{
		LoadBalancers: []lbmetrics.LBInterval{{LoadBalancer: "web"}, {LoadBalancer: "old"}},
		Groups: []lbmetrics.GroupInterval{{LoadBalancer: "web", TargetGroup: "web"}, {LoadBalancer: "old", TargetGroup: "web"},
			{LoadBalancer: "web", TargetGroup: "gone"}, {TargetGroup: "web"}},
		Zones: []lbmetrics.GroupInterval{{LoadBalancer: "web", TargetGroup: "web", AvailabilityZone: "local-1a"},
			{LoadBalancer: "old", TargetGroup: "web", AvailabilityZone: "local-1a"}, {LoadBalancer: "web", TargetGroup: "gone", AvailabilityZone: "local-1b"}},
		Targets: []lbmetrics.TargetInterval{{TargetGroup: "web", Target: "i-1"}, {TargetGroup: "gone", Target: "i-2"}},
	}
	tests := []struct {
		name             string
		lbs, tgs         map[string]bool
		wantLBs          []string
		wantGroups       [][2]string
		wantTargetGroups []string
		wantZones        []string
	}{
		{name: "all removed (a reset)", wantLBs: nil, wantGroups: nil, wantTargetGroups: nil},
		{name: "some removed", lbs: map[string]bool{"web": true}, tgs: map[string]bool{"web": true},
			wantLBs: []string{"web"}, wantGroups: [][2]string{{"web", "web"}, {"", "web"}}, wantTargetGroups: []string{"web"},
			wantZones: []string{"web/web/local-1a"}},
		{name: "none removed", lbs: map[string]bool{"web": true, "old": true}, tgs: map[string]bool{"web": true, "gone": true},
			wantLBs: []string{"web", "old"}, wantGroups: [][2]string{{"web", "web"}, {"old", "web"}, {"web", "gone"}, {"", "web"}},
			wantTargetGroups: []string{"web", "gone"}, wantZones: []string{"web/web/local-1a", "old/web/local-1a", "web/gone/local-1b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := iv
			in.LoadBalancers = slices.Clone(iv.LoadBalancers)
			in.Groups = slices.Clone(iv.Groups)
			in.Targets = slices.Clone(iv.Targets)
			in.Zones = slices.Clone(iv.Zones)
			got := configuredOnly(in, configured{tc.lbs, tc.tgs})
			var lbs []string
			for _, x := range got.LoadBalancers {
				lbs = append(lbs, x.LoadBalancer)
			}
			var groups [][2]string
			for _, x := range got.Groups {
				groups = append(groups, [2]string{x.LoadBalancer, x.TargetGroup})
			}
			var tgs []string
			for _, x := range got.Targets {
				tgs = append(tgs, x.TargetGroup)
			}
			var zones []string
			for _, x := range got.Zones {
				zones = append(zones, x.LoadBalancer+"/"+x.TargetGroup+"/"+x.AvailabilityZone)
			}
			if !slices.Equal(zones, tc.wantZones) {
				t.Errorf("kept zones %v, want %v", zones, tc.wantZones)
			}
			if !slices.Equal(lbs, tc.wantLBs) || !slices.Equal(groups, tc.wantGroups) || !slices.Equal(tgs, tc.wantTargetGroups) {
				t.Errorf("kept %v / %v / %v, want %v / %v / %v", lbs, groups, tgs, tc.wantLBs, tc.wantGroups, tc.wantTargetGroups)
			}
		})
	}
}
