package elbv2

import (
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/elb"
)

// TestTargetGroupHealthAttributes modifies the target_group_health.*
// attributes and describes them back (defaults 1 and off before any
// change); a bad value, or a DNS failover threshold below unhealthy
// state routing's, is a ValidationError that names the keys, the values
// and the fix, and changes nothing, even beside a good value.
func TestTargetGroupHealthAttributes(t *testing.T) {
	attr := func(k, v string) any { return map[string]any{"Key": k, "Value": v} }
	cases := []struct {
		name       string
		attributes []any
		code       string
		// want are described values; message parts of a refusal.
		want    map[string]string
		message []string
	}{
		{name: "unhealthy state routing count and percentage",
			attributes: []any{attr(elb.AttrUnhealthyRoutingMinCount, "2"), attr(elb.AttrUnhealthyRoutingMinPercent, "50"),
				attr(elb.AttrDNSFailoverMinCount, "2")},
			want: map[string]string{elb.AttrUnhealthyRoutingMinCount: "2", elb.AttrUnhealthyRoutingMinPercent: "50",
				elb.AttrDNSFailoverMinCount: "2", elb.AttrDNSFailoverMinPercent: "off"}},
		{name: "dns failover threshold above routing failover's",
			attributes: []any{attr(elb.AttrDNSFailoverMinPercent, "80"), attr(elb.AttrUnhealthyRoutingMinPercent, "25")},
			want:       map[string]string{elb.AttrDNSFailoverMinPercent: "80", elb.AttrUnhealthyRoutingMinPercent: "25"}},
		{name: "dns failover count below routing failover's beside a good value",
			attributes: []any{attr(elb.AttrDNSFailoverMinCount, "2"), attr(elb.AttrUnhealthyRoutingMinCount, "3"),
				attr(elb.AttrDeregistrationDelay, "60")}, code: "ValidationError",
			message: []string{elb.AttrDNSFailoverMinCount, `"2"`, elb.AttrUnhealthyRoutingMinCount + " (3)",
				"set " + elb.AttrDNSFailoverMinCount + " to 3 or more (or off), or " + elb.AttrUnhealthyRoutingMinCount + " to 2 or less"}},
		{name: "routing failover count above a default dns failover count",
			attributes: []any{attr(elb.AttrUnhealthyRoutingMinCount, "2")},
			want: map[string]string{elb.AttrDNSFailoverMinCount: "1", elb.AttrDNSFailoverMinPercent: "off",
				elb.AttrUnhealthyRoutingMinCount: "2", elb.AttrUnhealthyRoutingMinPercent: "off"}},
		{name: "dns failover on a percentage alone",
			attributes: []any{attr(elb.AttrDNSFailoverMinCount, "off"), attr(elb.AttrDNSFailoverMinPercent, "70")},
			want: map[string]string{elb.AttrDNSFailoverMinCount: "off", elb.AttrDNSFailoverMinPercent: "70",
				elb.AttrUnhealthyRoutingMinCount: "1", elb.AttrUnhealthyRoutingMinPercent: "off"}},
		{name: "unhealthy state routing count off refused",
			attributes: []any{attr(elb.AttrUnhealthyRoutingMinCount, "off")}, code: "ValidationError",
			message: []string{elb.AttrUnhealthyRoutingMinCount, `"off"`, "cannot be off", "keep the count at 1 and set " + elb.AttrUnhealthyRoutingMinPercent}},
		{name: "percentage above 100 beside a good value",
			attributes: []any{attr(elb.AttrDNSFailoverMinCount, "3"), attr(elb.AttrDNSFailoverMinPercent, "150")}, code: "ValidationError",
			message: []string{elb.AttrDNSFailoverMinPercent, `"150"`, "use off or a percentage from 1 to 100"}},
		{name: "count not a number",
			attributes: []any{attr(elb.AttrUnhealthyRoutingMinCount, "two")}, code: "ValidationError",
			message: []string{elb.AttrUnhealthyRoutingMinCount, `"two"`, "use a number of targets from 1 to 1000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := crossZoneLBs()
			call := newNetService(t, m)
			desc, err := call("DescribeTargetGroupAttributes", map[string]any{"TargetGroupArn": "arn:tg/web"})
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]string{elb.AttrDNSFailoverMinCount: "1", elb.AttrDNSFailoverMinPercent: "off",
				elb.AttrUnhealthyRoutingMinCount: "1", elb.AttrUnhealthyRoutingMinPercent: "off"} {
				if got := attrs(t, desc)[k]; got != want {
					t.Errorf("described before any change: %s = %q, want %q", k, got, want)
				}
			}
			was := stored(t, m)
			out, err := call("ModifyTargetGroupAttributes", map[string]any{"TargetGroupArn": "arn:tg/web", "Attributes": tc.attributes})
			if got := errCode(err); got != tc.code {
				t.Fatalf("error %q (%v), want %q", got, err, tc.code)
			}
			if tc.code != "" {
				for _, part := range tc.message {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q does not contain %q", err, part)
					}
				}
				if now := stored(t, m); now != was {
					t.Errorf("a refused call changed the resources:\nbefore %s\nafter  %s", was, now)
				}
				return
			}
			encodes(t, "ModifyTargetGroupAttributes", out)
			desc, err = call("DescribeTargetGroupAttributes", map[string]any{"TargetGroupArn": "arn:tg/web"})
			if err != nil {
				t.Fatal(err)
			}
			for what, got := range map[string]map[string]string{"answer": attrs(t, out), "DescribeTargetGroupAttributes": attrs(t, desc)} {
				for k, want := range tc.want {
					if got[k] != want {
						t.Errorf("%s: %s = %q, want %q", what, k, got[k], want)
					}
				}
				if got[elb.AttrDeregistrationDelay] != "30" {
					t.Errorf("%s: %s = %q, want the 30 set before", what, elb.AttrDeregistrationDelay, got[elb.AttrDeregistrationDelay])
				}
			}
		})
	}
}
