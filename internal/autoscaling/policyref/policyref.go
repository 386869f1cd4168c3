// Package policyref parses the names an alarm action gives an Auto Scaling
// policy: its ARN (arn:aws:autoscaling:…:scalingPolicy:ID:
// autoScalingGroupName/GROUP:policyName/POLICY, any id, region or account)
// or madang's short form autoscaling:GROUP/POLICY. Both CloudWatch (which
// accepts the action) and the Auto Scaling controller (which runs the
// policy) read them here.
package policyref

import (
	"errors"
	"strings"
)

// IsPolicy reports whether an action names an Auto Scaling policy (well
// formed or not).
func IsPolicy(action string) bool {
	return strings.HasPrefix(action, "autoscaling:") || strings.HasPrefix(action, "arn:aws:autoscaling:")
}

// Parse returns the group and policy an action names.
func Parse(action string) (group, policy string, err error) {
	if rest, ok := strings.CutPrefix(action, "autoscaling:"); ok {
		if g, p, ok := strings.Cut(rest, "/"); ok && g != "" && p != "" {
			return g, p, nil
		}
		return "", "", errors.New("names no group and policy; write autoscaling:GROUP/POLICY")
	}
	const gk, pk = ":autoScalingGroupName/", ":policyName/"
	gi, pi := strings.Index(action, gk), strings.Index(action, pk)
	if !strings.HasPrefix(action, "arn:aws:autoscaling:") || !strings.Contains(action, ":scalingPolicy:") || gi < 0 || pi < gi {
		return "", "", errors.New("is not a scaling policy ARN; write arn:aws:autoscaling:local:000000000000:scalingPolicy:ID:autoScalingGroupName/GROUP:policyName/POLICY (madang asg describe GROUP shows it) or autoscaling:GROUP/POLICY")
	}
	group, policy = action[gi+len(gk):pi], action[pi+len(pk):]
	if group == "" || policy == "" {
		return "", "", errors.New("names an empty group or policy")
	}
	return group, policy, nil
}
