package elb

import (
	"strings"
	"testing"
)

// TestCrossZoneAttribute checks load_balancing.cross_zone.enabled on
// target groups (true, false or use_load_balancer_configuration) and on
// Application Load Balancers (true only), and how a target group's
// setting resolves.
func TestCrossZoneAttribute(t *testing.T) {
	tests := []struct {
		name string
		// lb checks a load balancer attribute, else a target group's.
		lb    bool
		value string
		// problem is a substring of the error, "" for a valid value.
		problem string
		// enabled is the target group's effective setting behind an
		// Application Load Balancer.
		enabled bool
	}{
		{name: "target group true", value: "true", enabled: true},
		{name: "target group false", value: "false", enabled: false},
		{name: "target group follows the load balancer", value: CrossZoneUseLoadBalancer, enabled: true},
		{name: "target group not a value", value: "yes", problem: `is not a valid value (got "yes"); use true, false or use_load_balancer_configuration`, enabled: true},
		{name: "target group misspelt", value: "use_load_balancer_config", problem: `did you mean "use_load_balancer_configuration"?`, enabled: true},
		{name: "target group case matters", value: "False", problem: `is not a valid value (got "False")`, enabled: true},
		{name: "load balancer true", lb: true, value: "true"},
		{name: "load balancer false refused", lb: true, value: "false",
			problem: "cannot be turned off on an Application Load Balancer, which always balances across zones (got \"false\"); turn cross-zone load balancing off per target group instead"},
		{name: "load balancer not a boolean", lb: true, value: "off", problem: `is not a boolean (got "off")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attrs := map[string]string{AttrCrossZone: tc.value}
			var msg string
			if tc.lb {
				a, errs := ParseLoadBalancerAttributes(attrs)
				if len(errs) > 0 {
					msg = errs.Err().Error()
					checkErrs(t, errs, []string{AttrCrossZone})
				}
				if !a.CrossZone {
					t.Errorf("load balancer CrossZone false, want true (the only value)")
				}
			} else {
				a, errs := ParseTargetGroupAttributes(attrs)
				if len(errs) > 0 {
					msg = errs.Err().Error()
					checkErrs(t, errs, []string{AttrCrossZone})
				}
				if got := a.CrossZoneEnabled(ALBCrossZone); got != tc.enabled {
					t.Errorf("CrossZoneEnabled = %v, want %v", got, tc.enabled)
				}
			}
			switch {
			case tc.problem == "" && msg != "":
				t.Errorf("error %q, want none", msg)
			case tc.problem != "" && !strings.Contains(msg, tc.problem):
				t.Errorf("error %q, want it to contain %q", msg, tc.problem)
			case tc.problem != "" && !strings.Contains(msg, AttrCrossZone):
				t.Errorf("error %q does not name %s", msg, AttrCrossZone)
			}
		})
	}
}

// TestCrossZoneEnabled resolves a target group's setting against both
// load balancer settings.
func TestCrossZoneEnabled(t *testing.T) {
	tests := []struct {
		name     string
		value    string
		lb, want bool
	}{
		{"default follows an enabled load balancer", "", true, true},
		{"default follows a disabled load balancer", "", false, false},
		{"use_load_balancer_configuration follows it", CrossZoneUseLoadBalancer, false, false},
		{"true overrides the load balancer", "true", false, true},
		{"false overrides the load balancer", "false", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (TargetGroupAttributes{CrossZone: tc.value}).CrossZoneEnabled(tc.lb); got != tc.want {
				t.Errorf("CrossZoneEnabled(%v) with %q = %v, want %v", tc.lb, tc.value, got, tc.want)
			}
		})
	}
}
