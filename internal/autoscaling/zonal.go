package autoscaling

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/fault"
)

// Zonal deployments (CodeDeploy's ZonalConfig of a deployment
// configuration): an in-place deployment works on one availability zone
// at a time, in zone order; after a zone is done it waits the monitor
// duration (FirstZoneMonitorDurationInSeconds after the first zone) before
// the next begins, and within a zone it keeps the zone's minimum of healthy
// hosts as well as the deployment's.

// ZonalConfig is CodeDeploy's ZonalConfig.
type ZonalConfig struct {
	// FirstZoneMonitorDurationSeconds is the wait after the first zone
	// (nil: MonitorDurationSeconds).
	FirstZoneMonitorDurationSeconds *int `json:"firstZoneMonitorDurationInSeconds,omitempty"`
	// MonitorDurationSeconds is the wait after each later zone (0: the
	// next zone begins at once).
	MonitorDurationSeconds int `json:"monitorDurationInSeconds,omitempty"`
	// MinimumHealthyHostsPerZone is the zone's minimum of healthy hosts
	// (nil: 0 %).
	MinimumHealthyHostsPerZone *MinimumHealthyHosts `json:"minimumHealthyHostsPerZone,omitempty"`
}

// maxZoneMonitor bounds the monitor durations (CodeDeploy's is 2 days).
const maxZoneMonitor = 2 * 24 * 60 * 60

// ParseMinimumHealthyHosts reads a count ("1") or a percentage ("50%").
func ParseMinimumHealthyHosts(field, s string) (MinimumHealthyHosts, error) {
	mh := MinimumHealthyHosts{Type: HostCount}
	v := s
	if p, ok := strings.CutSuffix(s, "%"); ok {
		mh.Type, v = FleetPercent, p
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || (mh.Type == FleetPercent && n > 100) {
		return MinimumHealthyHosts{}, fault.Invalidf(KindGroup, "", "%s %q is not a number of hosts or a percentage", field, s).
			WithHint("give a count such as 1 or a percentage from 0% to 99% such as 50%")
	}
	mh.Value = n
	return mh, nil
}

// validate checks a zonal configuration's ranges.
func (z *ZonalConfig) validate() error {
	if z == nil {
		return nil
	}
	if f := z.FirstZoneMonitorDurationSeconds; f != nil && (*f < 0 || *f > maxZoneMonitor) {
		return fault.Invalidf(KindGroup, "", "zonalConfig.firstZoneMonitorDurationInSeconds %d is out of range", *f).WithHint("give 0 to 172800 seconds")
	}
	if z.MonitorDurationSeconds < 0 || z.MonitorDurationSeconds > maxZoneMonitor {
		return fault.Invalidf(KindGroup, "", "zonalConfig.monitorDurationInSeconds %d is out of range", z.MonitorDurationSeconds).WithHint("give 0 to 172800 seconds")
	}
	if mh := z.MinimumHealthyHostsPerZone; mh != nil {
		if (mh.Type != HostCount && mh.Type != FleetPercent) || mh.Value < 0 || (mh.Type == FleetPercent && mh.Value > 100) {
			return fault.Invalidf(KindGroup, "", "zonalConfig.minimumHealthyHostsPerZone %s %d is not a minimum of healthy hosts", mh.Type, mh.Value).
				WithHint("give type HOST_COUNT or FLEET_PERCENT and a value (a percentage from 0 to 100)")
		}
	}
	return nil
}

// minHealthy returns the minimum of healthy hosts of a zone of n.
func (z *ZonalConfig) minHealthy(n int) int {
	mh := z.MinimumHealthyHostsPerZone
	switch {
	case mh == nil:
		return 0
	case mh.Type == FleetPercent:
		return (mh.Value*n + 99) / 100
	}
	return mh.Value
}

// monitor returns the wait after zone number i (0: the first) is done.
func (z *ZonalConfig) monitor(i int) time.Duration {
	if i == 0 && z.FirstZoneMonitorDurationSeconds != nil {
		return time.Duration(*z.FirstZoneMonitorDurationSeconds) * time.Second
	}
	return time.Duration(z.MonitorDurationSeconds) * time.Second
}

// sortByZone orders a zonal deployment's targets zone by zone (in zone
// order, each zone's in the order the deployment took them).
func sortByZone(ts []*DeploymentTarget) {
	slices.SortStableFunc(ts, func(a, b *DeploymentTarget) int { return cmp.Compare(a.Zone, b.Zone) })
}

// zoneGate says whether target t may start now in a zonal deployment: its
// zone is the one under way, the wait after the previous zone is over,
// and the zone keeps its minimum of healthy hosts with one more taken out.
// The reason it may not is for the event log ("" when it is just not its
// turn).
func (d *Deployment) zoneGate(t *DeploymentTarget, now time.Time) (ok bool, wait string) {
	z := d.Zonal
	var zones []string
	for _, u := range d.Instances {
		if len(zones) == 0 || zones[len(zones)-1] != u.Zone {
			zones = append(zones, u.Zone)
		}
	}
	i := slices.Index(zones, t.Zone)
	// Earlier zones must be done.
	var prevEnd time.Time
	for _, u := range d.Instances {
		if u.Zone == t.Zone {
			continue
		}
		if j := slices.Index(zones, u.Zone); j < i {
			if u.Status == TargetPending || u.Status == TargetInProgress {
				return false, ""
			}
			if u.EndTime.After(prevEnd) {
				prevEnd = u.EndTime
			}
		}
	}
	if i > 0 {
		if until := prevEnd.Add(z.monitor(i - 1)); now.Before(until) {
			return false, fmt.Sprintf("monitoring zone %s until %s before zone %s", zones[i-1], until.UTC().Format(time.TimeOnly), t.Zone)
		}
	}
	n, down := 0, 0
	for _, u := range d.Instances {
		if u.Zone != t.Zone || u.Status == TargetSkipped {
			continue
		}
		n++
		if u.Status == TargetInProgress || u.Status == TargetFailed {
			down++
		}
	}
	if n-down-1 < z.minHealthy(n) {
		return false, ""
	}
	return true, ""
}
