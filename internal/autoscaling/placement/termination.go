// Package placement decides where an Auto Scaling group's instances go and
// which ones leave: the zone for a new instance, the termination order on
// scale-in (zone balance first, then the termination policies), capacity
// rebalancing across zones and the maximum instance lifetime.
//
// The functions are pure: they take the instances and the time and return a
// decision, so a controller can apply it and tests can check it.
package placement

import (
	"fmt"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
)

// Instance is what placement needs to know of one instance of a group.
type Instance struct {
	// ID identifies the instance; it also breaks the last ties.
	ID string
	// Zone is the availability zone the instance runs in.
	Zone string
	// LaunchTime is when the instance was launched.
	LaunchTime time.Time
	// LaunchTemplate and LaunchTemplateVersion are the launch template the
	// instance was launched from.
	LaunchTemplate        string
	LaunchTemplateVersion int
	// Protected is scale-in protection: the instance is never chosen for
	// termination on scale-in or rebalancing, nor replaced at the end of
	// its maximum lifetime.
	Protected bool
	// InstanceType is the instance type, e.g. "t3.micro". It is carried for
	// the caller; no policy here reads it.
	InstanceType string
}

// LaunchTemplateRef names the group's current launch template and version.
type LaunchTemplateRef struct {
	// Name is the launch template's name.
	Name string
	// Version is the version the group launches now.
	Version int
}

// The termination policies, as AWS names them.
const (
	// PolicyDefault is AWS's default policy: instances with the oldest
	// configuration first (another launch template, then the oldest version
	// of the current one), then the instance closest to the next billing
	// hour, then a tie-break. AWS breaks the last tie at random; here the
	// smallest instance ID (in byte order) goes first, so decisions repeat.
	PolicyDefault = "Default"
	// PolicyOldestInstance terminates the instance launched first.
	PolicyOldestInstance = "OldestInstance"
	// PolicyNewestInstance terminates the instance launched last.
	PolicyNewestInstance = "NewestInstance"
	// PolicyOldestLaunchTemplate terminates instances launched from a
	// template other than the current one first, then those on the oldest
	// version of the current template.
	PolicyOldestLaunchTemplate = "OldestLaunchTemplate"
	// PolicyOldestLaunchConfiguration is accepted as AWS accepts it. Groups
	// here have launch templates only, so no instance has a launch
	// configuration and the policy never decides: the next policy does.
	PolicyOldestLaunchConfiguration = "OldestLaunchConfiguration"
	// PolicyClosestToNextInstanceHour terminates the instance whose running
	// time is closest to a whole number of hours.
	PolicyClosestToNextInstanceHour = "ClosestToNextInstanceHour"
	// PolicyAllocationStrategy on AWS keeps a mixed instances group aligned
	// with its Spot and On-Demand allocation strategies. Groups here have no
	// Spot or On-Demand split, so it is treated as PolicyDefault.
	PolicyAllocationStrategy = "AllocationStrategy"
)

// Policies lists the termination policies ValidatePolicies accepts.
func Policies() []string {
	return []string{PolicyDefault, PolicyOldestInstance, PolicyNewestInstance, PolicyOldestLaunchTemplate,
		PolicyOldestLaunchConfiguration, PolicyClosestToNextInstanceHour, PolicyAllocationStrategy}
}

// ValidatePolicies checks a group's TerminationPolicies: each must be one of
// Policies, spelt as AWS spells it. An empty list means Default. Custom
// policies (Lambda function ARNs) are not supported.
func ValidatePolicies(ps []string) error {
	var errs fielderr.List
	known := strings.Join(Policies(), ", ")
	for i, p := range ps {
		path := fielderr.Index("TerminationPolicies", i)
		switch {
		case isPolicy(p):
		case strings.HasPrefix(p, "arn:"):
			errs.Add(path, p, "is a custom termination policy, which is not supported",
				"use one of "+known)
		default:
			fix := "use one of " + known
			for _, k := range Policies() {
				if strings.EqualFold(p, k) {
					fix = fmt.Sprintf("write %q (policy names are case-sensitive)", k)
				}
			}
			errs.Add(path, p, "is not a termination policy", fix)
		}
	}
	return errs.Err()
}

func isPolicy(p string) bool {
	for _, k := range Policies() {
		if p == k {
			return true
		}
	}
	return false
}

// ChooseForTermination picks up to n instances to terminate on scale-in, in
// the order they should go, as AWS does for each instance in turn:
//
//  1. Zone balance first: among the zones that have at least one instance
//     without scale-in protection, take those with the most instances
//     (protected ones count). When several zones tie, the policies apply
//     across all of them, as AWS does when zones are balanced.
//  2. Protected instances are never chosen.
//  3. The policies apply in order, each narrowing the candidates, until one
//     candidate is left; if several remain after the list (or the list is
//     empty), Default decides.
//
// The current launch template decides which instances are "old". Unknown
// policy names are skipped (see ValidatePolicies). Fewer than n instances
// are returned when fewer are unprotected.
func ChooseForTermination(instances []Instance, n int, policies []string, current LaunchTemplateRef, now time.Time) []Instance {
	remaining := append([]Instance(nil), instances...)
	var chosen []Instance
	for len(chosen) < n {
		pool := zoneCandidates(remaining)
		if len(pool) == 0 {
			break
		}
		for _, p := range policies {
			if len(pool) == 1 {
				break
			}
			pool = applyPolicy(p, pool, current, now)
		}
		pool = applyPolicy(PolicyDefault, pool, current, now)
		pick := pool[0]
		chosen = append(chosen, pick)
		for i := range remaining {
			if remaining[i].ID == pick.ID {
				remaining = append(remaining[:i], remaining[i+1:]...)
				break
			}
		}
	}
	return chosen
}

// zoneCandidates returns the unprotected instances of the zones with the
// most instances among those that have an unprotected one.
func zoneCandidates(instances []Instance) []Instance {
	count := map[string]int{}
	open := map[string]bool{}
	for _, in := range instances {
		count[in.Zone]++
		if !in.Protected {
			open[in.Zone] = true
		}
	}
	most := -1
	for z := range open {
		most = max(most, count[z])
	}
	var pool []Instance
	for _, in := range instances {
		if !in.Protected && count[in.Zone] == most {
			pool = append(pool, in)
		}
	}
	return pool
}

// applyPolicy narrows pool (never to nothing) by one policy.
func applyPolicy(p string, pool []Instance, current LaunchTemplateRef, now time.Time) []Instance {
	switch p {
	case PolicyDefault, PolicyAllocationStrategy:
		pool = oldestConfiguration(pool, current)
		pool = closestToNextHour(pool, now)
		return smallestID(pool)
	case PolicyOldestInstance:
		return keepMin(pool, func(in Instance) int64 { return in.LaunchTime.UnixNano() })
	case PolicyNewestInstance:
		return keepMin(pool, func(in Instance) int64 { return -in.LaunchTime.UnixNano() })
	case PolicyOldestLaunchTemplate:
		return oldestConfiguration(pool, current)
	case PolicyClosestToNextInstanceHour:
		return closestToNextHour(pool, now)
	}
	return pool // OldestLaunchConfiguration, or a name ValidatePolicies refuses
}

// oldestConfiguration keeps the instances launched from a template other
// than the current one if there are any, else those on the oldest version
// of the current template.
func oldestConfiguration(pool []Instance, current LaunchTemplateRef) []Instance {
	var other []Instance
	for _, in := range pool {
		if in.LaunchTemplate != current.Name {
			other = append(other, in)
		}
	}
	if len(other) > 0 {
		return other
	}
	return keepMin(pool, func(in Instance) int64 { return int64(in.LaunchTemplateVersion) })
}

// closestToNextHour keeps the instances with the least time left until
// their running time reaches the next whole hour. An instance launched
// after now counts as just started.
func closestToNextHour(pool []Instance, now time.Time) []Instance {
	return keepMin(pool, func(in Instance) int64 {
		up := max(now.Sub(in.LaunchTime), 0)
		return int64(time.Hour - up%time.Hour)
	})
}

// smallestID keeps the one instance with the smallest ID.
func smallestID(pool []Instance) []Instance {
	best := pool[0]
	for _, in := range pool[1:] {
		if in.ID < best.ID {
			best = in
		}
	}
	return []Instance{best}
}

// keepMin keeps the instances whose key is the smallest, in pool order.
func keepMin(pool []Instance, key func(Instance) int64) []Instance {
	if len(pool) == 0 {
		return pool
	}
	keys := make([]int64, len(pool))
	lo := key(pool[0])
	for i, in := range pool {
		keys[i] = key(in)
		lo = min(lo, keys[i])
	}
	var out []Instance
	for i, in := range pool {
		if keys[i] == lo {
			out = append(out, in)
		}
	}
	return out
}
