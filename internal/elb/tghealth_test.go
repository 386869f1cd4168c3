package elb

import (
	"strings"
	"testing"
)

// TestTargetGroupHealthAttributes checks the four target_group_health.*
// attributes: their defaults, the values each accepts, how they parse,
// and that a refusal names the key, the value and the fix.
func TestTargetGroupHealthAttributes(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]string
		// dns and routing are the parsed thresholds (with the defaults
		// where a refusal leaves a value out).
		dns, routing HealthThreshold
		// bad is the refused key; problem and fix parts of the error.
		bad          string
		problem, fix string
	}{
		{name: "defaults", dns: HealthThreshold{Count: 1}, routing: HealthThreshold{Count: 1}},
		{name: "dns count and percentage",
			attrs: map[string]string{AttrDNSFailoverMinCount: "3", AttrDNSFailoverMinPercent: "70"},
			dns:   HealthThreshold{Count: 3, Percent: 70}, routing: HealthThreshold{Count: 1}},
		{name: "dns both off", attrs: map[string]string{AttrDNSFailoverMinCount: "off"},
			dns: HealthThreshold{}, routing: HealthThreshold{Count: 1}},
		{name: "dns percentage alone",
			attrs: map[string]string{AttrDNSFailoverMinCount: "off", AttrDNSFailoverMinPercent: "100"},
			dns:   HealthThreshold{Percent: 100}, routing: HealthThreshold{Count: 1}},
		{name: "routing count and percentage",
			attrs: map[string]string{AttrUnhealthyRoutingMinCount: "2", AttrUnhealthyRoutingMinPercent: "50", AttrDNSFailoverMinCount: "2"},
			dns:   HealthThreshold{Count: 2}, routing: HealthThreshold{Count: 2, Percent: 50}},
		{name: "largest count", attrs: map[string]string{AttrUnhealthyRoutingMinCount: "1000", AttrDNSFailoverMinCount: "1000"},
			dns: HealthThreshold{Count: 1000}, routing: HealthThreshold{Count: 1000}},
		{name: "routing count off refused", attrs: map[string]string{AttrUnhealthyRoutingMinCount: "off"},
			dns: HealthThreshold{Count: 1}, routing: HealthThreshold{Count: 1},
			bad: AttrUnhealthyRoutingMinCount, problem: `cannot be off: unhealthy state routing always has a minimum healthy target count (got "off")`,
			fix: "keep the count at 1 and set " + AttrUnhealthyRoutingMinPercent},
		{name: "routing count 0 refused", attrs: map[string]string{AttrUnhealthyRoutingMinCount: "0"},
			dns: HealthThreshold{Count: 1}, routing: HealthThreshold{Count: 1},
			bad: AttrUnhealthyRoutingMinCount, problem: `is out of range (got "0")`, fix: "use a number of targets from 1 to 1000"},
		{name: "dns count above the quota", attrs: map[string]string{AttrDNSFailoverMinCount: "1001"},
			dns: HealthThreshold{Count: 1}, routing: HealthThreshold{Count: 1},
			bad: AttrDNSFailoverMinCount, problem: `is out of range (got "1001")`, fix: "use off or a number of targets from 1 to 1000"},
		{name: "dns count not a number", attrs: map[string]string{AttrDNSFailoverMinCount: "two"},
			dns: HealthThreshold{Count: 1}, routing: HealthThreshold{Count: 1},
			bad: AttrDNSFailoverMinCount, problem: `is not a whole number (got "two")`, fix: "use off or a number of targets"},
		{name: "percentage above 100", attrs: map[string]string{AttrDNSFailoverMinPercent: "101"},
			dns: HealthThreshold{Count: 1}, routing: HealthThreshold{Count: 1},
			bad: AttrDNSFailoverMinPercent, problem: `is out of range (got "101")`, fix: "use off or a percentage from 1 to 100"},
		{name: "percentage 0 refused", attrs: map[string]string{AttrUnhealthyRoutingMinPercent: "0"},
			dns: HealthThreshold{Count: 1}, routing: HealthThreshold{Count: 1},
			bad: AttrUnhealthyRoutingMinPercent, problem: `is out of range (got "0")`, fix: "use off or a percentage from 1 to 100"},
		{name: "percentage with a sign", attrs: map[string]string{AttrUnhealthyRoutingMinPercent: "50%"},
			dns: HealthThreshold{Count: 1}, routing: HealthThreshold{Count: 1},
			bad: AttrUnhealthyRoutingMinPercent, problem: `is not a whole number (got "50%")`},
		{name: "off is lower case", attrs: map[string]string{AttrDNSFailoverMinPercent: "Off"},
			dns: HealthThreshold{Count: 1}, routing: HealthThreshold{Count: 1},
			bad: AttrDNSFailoverMinPercent, problem: `is not a whole number (got "Off")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, errs := ParseTargetGroupAttributes(tc.attrs)
			if tc.bad == "" {
				checkErrs(t, errs, nil)
			} else {
				checkErrs(t, errs, []string{tc.bad})
				msg := errs.Err().Error()
				for _, part := range []string{tc.bad, tc.problem, tc.fix} {
					if !strings.Contains(msg, part) {
						t.Errorf("error %q does not contain %q", msg, part)
					}
				}
			}
			if a.DNSFailover != tc.dns {
				t.Errorf("DNSFailover = %+v, want %+v", a.DNSFailover, tc.dns)
			}
			if a.UnhealthyStateRouting != tc.routing {
				t.Errorf("UnhealthyStateRouting = %+v, want %+v", a.UnhealthyStateRouting, tc.routing)
			}
		})
	}
}

// TestTargetGroupHealthDefaults checks the described defaults: AWS's 1
// and off for both actions.
func TestTargetGroupHealthDefaults(t *testing.T) {
	eff := EffectiveAttributes(nil)
	for key, want := range map[string]string{
		AttrDNSFailoverMinCount: "1", AttrDNSFailoverMinPercent: "off",
		AttrUnhealthyRoutingMinCount: "1", AttrUnhealthyRoutingMinPercent: "off",
	} {
		if got := eff[key]; got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

// TestTargetGroupHealthThresholdOrder checks AWS's rule that DNS
// failover's threshold is at least unhealthy state routing's: count
// against count and percentage against percentage, with the defaults
// filled and off left out. A refusal names both keys, both values and
// the fix.
func TestTargetGroupHealthThresholdOrder(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]string
		// bad is the refused key; message lists parts of the error.
		bad     string
		message []string
	}{
		{name: "valid equal", attrs: map[string]string{
			AttrDNSFailoverMinCount: "3", AttrUnhealthyRoutingMinCount: "3",
			AttrDNSFailoverMinPercent: "50", AttrUnhealthyRoutingMinPercent: "50"}},
		{name: "valid greater", attrs: map[string]string{
			AttrDNSFailoverMinCount: "4", AttrUnhealthyRoutingMinCount: "2",
			AttrDNSFailoverMinPercent: "80", AttrUnhealthyRoutingMinPercent: "25"}},
		{name: "valid dns count above the default routing count", attrs: map[string]string{AttrDNSFailoverMinCount: "5"}},
		{name: "violation count", attrs: map[string]string{AttrDNSFailoverMinCount: "2", AttrUnhealthyRoutingMinCount: "3"},
			bad: AttrDNSFailoverMinCount,
			message: []string{AttrDNSFailoverMinCount + `: is below ` + AttrUnhealthyRoutingMinCount + ` (3)`, `(got "2")`,
				"DNS failover's threshold must be at least routing failover's",
				"set " + AttrDNSFailoverMinCount + " to 3 or more (or off), or " + AttrUnhealthyRoutingMinCount + " to 2 or less"}},
		{name: "routing count above a default dns count", attrs: map[string]string{AttrUnhealthyRoutingMinCount: "2"}},
		{name: "violation percentage", attrs: map[string]string{AttrDNSFailoverMinPercent: "40", AttrUnhealthyRoutingMinPercent: "60"},
			bad: AttrDNSFailoverMinPercent,
			message: []string{AttrDNSFailoverMinPercent + `: is below ` + AttrUnhealthyRoutingMinPercent + ` (60)`, `(got "40")`,
				"set " + AttrDNSFailoverMinPercent + " to 60 or more (or off), or " + AttrUnhealthyRoutingMinPercent + " to 40 or less"}},
		{name: "violation count and percentage", attrs: map[string]string{
			AttrDNSFailoverMinCount: "1", AttrUnhealthyRoutingMinCount: "2",
			AttrDNSFailoverMinPercent: "10", AttrUnhealthyRoutingMinPercent: "20"},
			bad: AttrDNSFailoverMinCount + "," + AttrDNSFailoverMinPercent},
		{name: "one side off: dns count off", attrs: map[string]string{AttrDNSFailoverMinCount: "off", AttrUnhealthyRoutingMinCount: "5"}},
		{name: "one side off: dns percentage off", attrs: map[string]string{AttrDNSFailoverMinPercent: "off", AttrUnhealthyRoutingMinPercent: "90"}},
		{name: "one side off: routing percentage off", attrs: map[string]string{AttrDNSFailoverMinPercent: "10", AttrUnhealthyRoutingMinPercent: "off"}},
		{name: "mixed kinds: dns percentage, routing count", attrs: map[string]string{
			AttrDNSFailoverMinCount: "off", AttrDNSFailoverMinPercent: "10", AttrUnhealthyRoutingMinCount: "50"}},
		{name: "mixed kinds: dns count, routing percentage", attrs: map[string]string{
			AttrDNSFailoverMinCount: "2", AttrUnhealthyRoutingMinPercent: "100"}},
		{name: "a refused value is left out", attrs: map[string]string{AttrDNSFailoverMinCount: "1001", AttrUnhealthyRoutingMinCount: "5"},
			bad: AttrDNSFailoverMinCount, message: []string{`is out of range (got "1001")`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := ParseTargetGroupAttributes(tc.attrs)
			var want []string
			if tc.bad != "" {
				want = strings.Split(tc.bad, ",")
			}
			checkErrs(t, errs, want)
			if len(errs) == 0 {
				return
			}
			msg := errs.Err().Error()
			for _, part := range tc.message {
				if !strings.Contains(msg, part) {
					t.Errorf("error %q does not contain %q", msg, part)
				}
			}
		})
	}
}
