package policyref

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in, group, policy string
		ok                      bool
	}{
		{"arn", "arn:aws:autoscaling:local:000000000000:scalingPolicy:1b2c:autoScalingGroupName/web:policyName/cpu-high", "web", "cpu-high", true},
		{"arn of another region", "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:autoScalingGroupName/a.b:policyName/p_1", "a.b", "p_1", true},
		{"short form", "autoscaling:web/cpu-high", "web", "cpu-high", true},
		{"short form without policy", "autoscaling:web", "", "", false},
		{"short form empty group", "autoscaling:/p", "", "", false},
		{"arn without names", "arn:aws:autoscaling:local:0:scalingPolicy:x", "", "", false},
		{"arn of a group", "arn:aws:autoscaling:local:0:autoScalingGroup:x:autoScalingGroupName/web", "", "", false},
		{"arn with an empty policy", "arn:aws:autoscaling:local:0:scalingPolicy:x:autoScalingGroupName/web:policyName/", "", "", false},
	} {
		g, p, err := Parse(tc.in)
		if (err == nil) != tc.ok || g != tc.group || p != tc.policy {
			t.Errorf("%s: Parse(%q) = %q, %q, %v", tc.name, tc.in, g, p, err)
		}
	}
}
