package placement

import (
	"sort"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
)

// ZoneForLaunch returns the zone for a new instance: the group's zone with
// the fewest instances, ties going to the first in the group's order. It
// returns "" when the group has no zones. Instances in zones the group no
// longer has are not counted.
func ZoneForLaunch(zones []string, instances []Instance) string {
	count := zoneCounts(instances)
	best := ""
	for _, z := range zones {
		if best == "" || count[z] < count[best] {
			best = z
		}
	}
	return best
}

func zoneCounts(instances []Instance) map[string]int {
	count := map[string]int{}
	for _, in := range instances {
		count[in.Zone]++
	}
	return count
}

// RebalanceMargin is how many instances above desired a group may run while
// it rebalances: 10 % of desired, rounded up, and at least one. AWS's zone
// rebalancing may exceed the group's maximum by a 10 % margin while it
// launches before it terminates; AWS does not say how the margin rounds, so
// it rounds up here (as Alibaba Cloud's documented clone does: 15 allows 2),
// and it is taken on desired, the capacity rebalancing holds.
func RebalanceMargin(desired int) int {
	return max(1, (desired+9)/10)
}

// Rebalance says what to do now to even out the group's desired capacity
// across its zones, launching before terminating as AWS's AZRebalance does:
//
//   - Each zone's target is desired / len(zones); the remainder goes to the
//     zones that already have the most instances (ties: group order), so the
//     fewest instances move. Instances in zones the group no longer has are
//     surplus.
//   - launch names a zone for each instance to launch now: up to the
//     shortfall, within RebalanceMargin above desired, to the zone furthest
//     below target first (ties: group order).
//   - terminate lists instances to terminate now: only while the group is
//     above desired, from the zone furthest above target first (ties: group
//     order, then zones outside the group), oldest first, ties by ID.
//     Protected instances are left alone.
//
// Called again after each launch and termination (pending instances
// included in instances), it converges on balanced zones without the group
// running more than RebalanceMargin above desired.
func Rebalance(zones []string, instances []Instance, desired int) (launch []string, terminate []Instance) {
	if len(zones) == 0 || desired < 0 {
		return nil, nil
	}
	count := zoneCounts(instances)
	inGroup := map[string]bool{}
	for _, z := range zones {
		inGroup[z] = true
	}
	target := zoneTargets(zones, count, desired)

	deficit := map[string]int{}
	short := 0
	for _, z := range zones {
		if d := target[z] - count[z]; d > 0 {
			deficit[z] = d
			short += d
		}
	}
	total := len(instances)
	k := min(short, max(0, desired+RebalanceMargin(desired)-total))
	for range k {
		best := ""
		for _, z := range zones {
			if deficit[z] > 0 && (best == "" || deficit[z] > deficit[best]) {
				best = z
			}
		}
		launch = append(launch, best)
		deficit[best]--
	}

	over := total - desired
	if over <= 0 {
		return launch, nil
	}
	// Unprotected instances of each zone above target, oldest first.
	byZone := map[string][]Instance{}
	var order []string // group zones first, then others as met
	order = append(order, zones...)
	for _, in := range instances {
		if !inGroup[in.Zone] {
			if _, seen := byZone[in.Zone]; !seen {
				order = append(order, in.Zone)
			}
		}
		if !in.Protected {
			byZone[in.Zone] = append(byZone[in.Zone], in)
		} else if _, seen := byZone[in.Zone]; !seen {
			byZone[in.Zone] = nil
		}
	}
	excess := map[string]int{}
	for _, z := range order {
		excess[z] = count[z] - target[z]
		sortByAge(byZone[z])
	}
	for range over {
		best := ""
		for _, z := range order {
			if excess[z] > 0 && len(byZone[z]) > 0 && (best == "" || excess[z] > excess[best]) {
				best = z
			}
		}
		if best == "" {
			break
		}
		terminate = append(terminate, byZone[best][0])
		byZone[best] = byZone[best][1:]
		excess[best]--
	}
	return launch, terminate
}

// zoneTargets spreads desired over zones: an equal share each, the
// remainder to the zones with the most instances now (ties: group order).
func zoneTargets(zones []string, count map[string]int, desired int) map[string]int {
	target := map[string]int{}
	for _, z := range zones {
		target[z] = desired / len(zones)
	}
	extra := map[string]bool{}
	for range desired % len(zones) {
		best := ""
		for _, z := range zones {
			if !extra[z] && (best == "" || count[z] > count[best]) {
				best = z
			}
		}
		extra[best] = true
		target[best]++
	}
	return target
}

// MinMaxInstanceLifetime is the shortest MaxInstanceLifetime AWS accepts.
const MinMaxInstanceLifetime = 86400 * time.Second

// ValidateMaxInstanceLifetime checks a group's MaxInstanceLifetime: 0 (off)
// or at least MinMaxInstanceLifetime (one day), in whole seconds.
func ValidateMaxInstanceLifetime(lifetime time.Duration) error {
	switch {
	case lifetime == 0:
		return nil
	case lifetime < MinMaxInstanceLifetime:
		return fielderr.New("MaxInstanceLifetime", int64(lifetime/time.Second),
			"is less than 86400 seconds (one day)", "use 0 to turn it off, or 86400 seconds or more")
	case lifetime%time.Second != 0:
		return fielderr.New("MaxInstanceLifetime", lifetime.String(),
			"is not a whole number of seconds", "round it to whole seconds")
	}
	return nil
}

// MaxLifetimeExpired returns the unprotected instances that have run for
// lifetime or longer at now, oldest first (ties by ID): those a group with
// that MaxInstanceLifetime replaces. A lifetime of 0 turns replacement off
// and returns none; lifetime is not checked here (see
// ValidateMaxInstanceLifetime). Protected instances are left out: AWS's
// maximum instance lifetime page names scale-in protection as the way to
// keep an instance from being replaced. AWS replaces one instance at a
// time, up to 10 % of capacity at once when the lifetime leaves no time to
// go one by one; pacing is the caller's, from the front of the list.
func MaxLifetimeExpired(instances []Instance, lifetime time.Duration, now time.Time) []Instance {
	if lifetime <= 0 {
		return nil
	}
	var out []Instance
	for _, in := range instances {
		if !in.Protected && now.Sub(in.LaunchTime) >= lifetime {
			out = append(out, in)
		}
	}
	sortByAge(out)
	return out
}

// sortByAge orders instances oldest first, ties by ID.
func sortByAge(instances []Instance) {
	sort.SliceStable(instances, func(i, j int) bool {
		a, b := instances[i], instances[j]
		if !a.LaunchTime.Equal(b.LaunchTime) {
			return a.LaunchTime.Before(b.LaunchTime)
		}
		return a.ID < b.ID
	})
}
