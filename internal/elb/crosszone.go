package elb

// Cross-zone load balancing. The key is the same on target groups and
// load balancers. On an Application Load Balancer the load balancer's
// value is always true; a target group turns it off for itself with
// false, or follows the load balancer with
// use_load_balancer_configuration (the default).
const (
	// AttrCrossZone is load_balancing.cross_zone.enabled.
	AttrCrossZone = "load_balancing.cross_zone.enabled"
	// CrossZoneUseLoadBalancer is the target group value that follows the
	// load balancer's setting.
	CrossZoneUseLoadBalancer = "use_load_balancer_configuration"
	// ALBCrossZone is an Application Load Balancer's cross-zone setting,
	// which cannot be changed.
	ALBCrossZone = true
)

// CrossZoneEnabled resolves the target group's effective cross-zone load
// balancing behind a load balancer whose own setting is lb: true or
// false as the group says, else lb's.
func (a TargetGroupAttributes) CrossZoneEnabled(lb bool) bool {
	switch a.CrossZone {
	case "true":
		return true
	case "false":
		return false
	}
	return lb
}

// targetGroupCrossZoneCheck checks a target group's
// load_balancing.cross_zone.enabled.
var targetGroupCrossZoneCheck = oneOf("true", "false", CrossZoneUseLoadBalancer)

// loadBalancerCrossZoneCheck checks an Application Load Balancer's
// load_balancing.cross_zone.enabled: true is the only value.
func loadBalancerCrossZoneCheck(v string) (string, string) {
	switch v {
	case "true":
		return "", ""
	case "false":
		return CrossZoneOffProblem, CrossZoneOffFix
	}
	return "is not a boolean", "use true (an Application Load Balancer always balances across zones)"
}

// CrossZoneOffProblem and CrossZoneOffFix explain why an Application Load
// Balancer's load_balancing.cross_zone.enabled cannot be false.
const (
	CrossZoneOffProblem = "cannot be turned off on an Application Load Balancer, which always balances across zones"
	CrossZoneOffFix     = "turn cross-zone load balancing off per target group instead: set the target group's " +
		AttrCrossZone + " to false"
)
