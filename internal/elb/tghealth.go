package elb

import (
	"strconv"

	"github.com/madang-dev/madang/internal/fielderr"
)

// Target group health thresholds (AWS's target_group_health.*
// attributes). Each action has a minimum count and a minimum percentage
// of healthy targets; the action is taken when either bound that is on
// is not met.
//
//   - DNS failover: a zone whose healthy targets of the group fall below
//     the threshold is taken out of DNS, so its load balancer node gets no
//     requests for the group and the other zones' nodes share them. When
//     every zone is below, every zone stays in. The count and the
//     percentage can each be off; both off, no zone ever leaves.
//   - Unhealthy state routing: when the group's healthy targets fall
//     below the threshold, the group fails open: requests go to every
//     target that is not draining, healthy or not. The count cannot be
//     off (AWS: 1 to the maximum number of targets), so a group with no
//     healthy target always fails open.
//
// Percentages are of the registered targets that are not draining (of
// the group, or of the zone for DNS failover), rounded up.
//
// As on AWS, DNS failover's threshold must be at least unhealthy state
// routing's, count against count and percentage against percentage, so
// that DNS failover happens with or before routing failover (see
// checkThresholdOrder).
const (
	// AttrDNSFailoverMinCount is
	// target_group_health.dns_failover.minimum_healthy_targets.count.
	AttrDNSFailoverMinCount = "target_group_health.dns_failover.minimum_healthy_targets.count"
	// AttrDNSFailoverMinPercent is
	// target_group_health.dns_failover.minimum_healthy_targets.percentage.
	AttrDNSFailoverMinPercent = "target_group_health.dns_failover.minimum_healthy_targets.percentage"
	// AttrUnhealthyRoutingMinCount is
	// target_group_health.unhealthy_state_routing.minimum_healthy_targets.count.
	AttrUnhealthyRoutingMinCount = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count"
	// AttrUnhealthyRoutingMinPercent is
	// target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage.
	AttrUnhealthyRoutingMinPercent = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage"
	// ThresholdOff is the value that turns a bound off.
	ThresholdOff = "off"
	// MaxTargetsPerGroup is AWS's quota of targets per target group, the
	// largest minimum healthy target count.
	MaxTargetsPerGroup = 1000
)

// HealthThreshold is one action's minimum healthy targets: Count targets
// and Percent percent of the targets, 0 meaning that bound is off.
type HealthThreshold struct {
	Count   int
	Percent int
}

// thresholdCountCheck checks a DNS failover minimum count: off or 1 to
// MaxTargetsPerGroup.
func thresholdCountCheck(v string) (string, string) {
	fix := "use off or a number of targets from 1 to " + strconv.Itoa(MaxTargetsPerGroup)
	if v == ThresholdOff {
		return "", ""
	}
	return wholeIn(v, 1, MaxTargetsPerGroup, fix)
}

// routingCountCheck checks an unhealthy state routing minimum count: 1 to
// MaxTargetsPerGroup; AWS does not accept off.
func routingCountCheck(v string) (string, string) {
	fix := "use a number of targets from 1 to " + strconv.Itoa(MaxTargetsPerGroup)
	if v == ThresholdOff {
		return "cannot be off: unhealthy state routing always has a minimum healthy target count",
			fix + " (1, the default, fails open only when no target is healthy); to fail open on a share of the targets, keep the count at 1 and set " + AttrUnhealthyRoutingMinPercent
	}
	return wholeIn(v, 1, MaxTargetsPerGroup, fix)
}

// thresholdPercentCheck checks a minimum percentage: off or 1 to 100.
func thresholdPercentCheck(v string) (string, string) {
	if v == ThresholdOff {
		return "", ""
	}
	return wholeIn(v, 1, 100, "use off or a percentage from 1 to 100")
}

// wholeIn checks that v is a whole number from lo to hi; fix is the
// advice when it is not.
func wholeIn(v string, lo, hi int, fix string) (string, string) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return "is not a whole number", fix
	}
	if n < lo || n > hi {
		return "is out of range", fix
	}
	return "", ""
}

// threshold parses a checked count and percentage, off as 0.
func threshold(count, percent string) HealthThreshold {
	return HealthThreshold{Count: offOrInt(count), Percent: offOrInt(percent)}
}

func offOrInt(v string) int {
	if v == ThresholdOff {
		return 0
	}
	return integer(v)
}

// checkThresholdOrder refuses a DNS failover threshold below unhealthy
// state routing's: AWS's "the threshold for DNS failover must be greater
// than or equal to the threshold for routing failover, so that DNS
// failover occurs with or before routing failover". Counts are compared
// with counts and percentages with percentages, with the defaults filled
// (both counts 1, both percentages off), where both actions have that
// bound on; a bound whose value is already refused is left out. The
// problem is on the DNS failover key when attrs sets it, else on the
// routing key (the DNS failover count is then its default).
func checkThresholdOrder(errs *fielderr.List, attrs map[string]string, a TargetGroupAttributes) {
	bounds := []struct {
		dnsKey, routingKey string
		dns, routing       int
	}{
		{AttrDNSFailoverMinCount, AttrUnhealthyRoutingMinCount, a.DNSFailover.Count, a.UnhealthyStateRouting.Count},
		{AttrDNSFailoverMinPercent, AttrUnhealthyRoutingMinPercent, a.DNSFailover.Percent, a.UnhealthyStateRouting.Percent},
	}
	const why = ": DNS failover's threshold must be at least routing failover's, so that DNS failover happens with or before routing failover"
	for _, b := range bounds {
		// AWS's rule is for thresholds specified for both actions: a DNS
		// failover threshold left at its default (count 1) is not one.
		if _, written := attrs[b.dnsKey]; !written && b.dnsKey == AttrDNSFailoverMinCount && b.dns == 1 {
			continue
		}
		if b.dns == 0 || b.routing == 0 || b.dns >= b.routing ||
			hasKeyError(*errs, b.dnsKey) || hasKeyError(*errs, b.routingKey) {
			continue
		}
		dns, routing := strconv.Itoa(b.dns), strconv.Itoa(b.routing)
		fix := "set " + b.dnsKey + " to " + routing + " or more (or off), or " + b.routingKey + " to " + dns + " or less"
		if v, ok := attrs[b.dnsKey]; ok {
			errs.Add(b.dnsKey, v, "is below "+b.routingKey+" ("+routing+")"+why, fix)
		} else {
			errs.Add(b.routingKey, attrs[b.routingKey], "is above "+b.dnsKey+" ("+dns+")"+why, fix)
		}
	}
}
