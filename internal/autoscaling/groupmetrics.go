// Group metrics (EnableMetricsCollection): while a group collects them,
// the controller publishes its sizes and its instances' states to
// CloudWatch once a minute, as AWS does at its only granularity, 1Minute.

package autoscaling

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/metric"
)

// NamespaceAutoScaling is the CloudWatch namespace of group metrics;
// DimensionGroupName their one dimension.
const (
	NamespaceAutoScaling = "AWS/AutoScaling"
	DimensionGroupName   = "AutoScalingGroupName"
)

// Granularity1Minute is the only granularity of group metrics.
const Granularity1Minute = "1Minute"

// The group metrics, as AWS names them.
const (
	MetricGroupMinSize                    = "GroupMinSize"
	MetricGroupMaxSize                    = "GroupMaxSize"
	MetricGroupDesiredCapacity            = "GroupDesiredCapacity"
	MetricGroupInServiceInstances         = "GroupInServiceInstances"
	MetricGroupPendingInstances           = "GroupPendingInstances"
	MetricGroupStandbyInstances           = "GroupStandbyInstances"
	MetricGroupTerminatingInstances       = "GroupTerminatingInstances"
	MetricGroupTotalInstances             = "GroupTotalInstances"
	MetricGroupInServiceCapacity          = "GroupInServiceCapacity"
	MetricGroupPendingCapacity            = "GroupPendingCapacity"
	MetricGroupStandbyCapacity            = "GroupStandbyCapacity"
	MetricGroupTerminatingCapacity        = "GroupTerminatingCapacity"
	MetricGroupTotalCapacity              = "GroupTotalCapacity"
	MetricWarmPoolDesiredCapacity         = "WarmPoolDesiredCapacity"
	MetricWarmPoolWarmedCapacity          = "WarmPoolWarmedCapacity"
	MetricWarmPoolPendingCapacity         = "WarmPoolPendingCapacity"
	MetricWarmPoolTerminatingCapacity     = "WarmPoolTerminatingCapacity"
	MetricWarmPoolTotalCapacity           = "WarmPoolTotalCapacity"
	MetricWarmPoolMinSize                 = "WarmPoolMinSize"
	MetricGroupAndWarmPoolDesiredCapacity = "GroupAndWarmPoolDesiredCapacity"
	MetricGroupAndWarmPoolTotalCapacity   = "GroupAndWarmPoolTotalCapacity"
)

// GroupMetrics lists every group metric (DescribeMetricCollectionTypes),
// in AWS's order.
func GroupMetrics() []string {
	return []string{MetricGroupMinSize, MetricGroupMaxSize, MetricGroupDesiredCapacity, MetricGroupInServiceInstances,
		MetricGroupPendingInstances, MetricGroupStandbyInstances, MetricGroupTerminatingInstances, MetricGroupTotalInstances,
		MetricGroupInServiceCapacity, MetricGroupPendingCapacity, MetricGroupStandbyCapacity, MetricGroupTerminatingCapacity,
		MetricGroupTotalCapacity, MetricWarmPoolDesiredCapacity, MetricWarmPoolWarmedCapacity, MetricWarmPoolPendingCapacity,
		MetricWarmPoolTerminatingCapacity, MetricWarmPoolTotalCapacity, MetricWarmPoolMinSize,
		MetricGroupAndWarmPoolDesiredCapacity, MetricGroupAndWarmPoolTotalCapacity}
}

// MetricsCollectionSpec is a group's metrics collection (the stack file's
// metricsCollection, EnableMetricsCollection's arguments).
type MetricsCollectionSpec struct {
	// Granularity is 1Minute (the default), the only one.
	Granularity string `yaml:"granularity,omitempty" json:"granularity,omitempty"`
	// Metrics are the metrics collected; empty means all of them.
	Metrics []string `yaml:"metrics,omitempty" json:"metrics,omitempty"`
}

// ValidateMetrics checks metric names (a metrics list's path) against
// GroupMetrics.
func ValidateMetrics(path string, metrics []string) fielderr.List {
	var errs fielderr.List
	for i, m := range metrics {
		p := fielderr.Index(path, i)
		switch {
		case !slices.Contains(GroupMetrics(), m):
			errs.Add(p, m, "is not a group metric", "use "+strings.Join(GroupMetrics(), ", ")+" (or list none for all)")
		case slices.Index(metrics, m) != i:
			errs.Add(p, m, "is listed twice", "list each metric once")
		}
	}
	return errs
}

// validate checks a defaulted metrics collection.
func (m *MetricsCollectionSpec) validate() fielderr.List {
	var errs fielderr.List
	if m.Granularity != Granularity1Minute {
		errs.Add("metricsCollection.granularity", m.Granularity, "is not a granularity of group metrics", "use 1Minute, the only one")
	}
	return append(errs, ValidateMetrics("metricsCollection.metrics", m.Metrics)...)
}

// enabledMetrics returns the metrics a collection enables, in
// GroupMetrics' order (nil: collection is off).
func enabledMetrics(m *MetricsCollectionSpec) []string {
	if m == nil {
		return nil
	}
	if len(m.Metrics) == 0 {
		return GroupMetrics()
	}
	return sortMetrics(m.Metrics)
}

// sortMetrics returns metrics without duplicates, in GroupMetrics' order.
func sortMetrics(ms []string) []string {
	out := []string{}
	for _, n := range GroupMetrics() {
		if slices.Contains(ms, n) {
			out = append(out, n)
		}
	}
	return out
}

// groupCounts are a group's instances by the states group metrics count.
type groupCounts struct {
	InService, Pending, Standby, Terminating int
	// Warmed are warm pool instances ready to enter the group; WarmPending
	// and WarmTerminating those on their way in or out of the pool.
	Warmed, WarmPending, WarmTerminating int
}

// countMembers sorts members into the states of group metrics. Launches
// in flight (no member yet) are pending, in the group or the pool.
func countMembers(ms []*Member, inflight, inflightWarm int) groupCounts {
	c := groupCounts{Pending: inflight, WarmPending: inflightWarm}
	for _, m := range ms {
		switch m.Lifecycle {
		case InService, Deploying:
			c.InService++
		case Pending, PendingWait, PendingProceed:
			c.Pending++
		case Standby, EnteringStandby:
			c.Standby++
		case Terminating, TerminatingWait, TerminatingProceed, Detaching:
			c.Terminating++
		case WarmedStopped, WarmedRunning:
			c.Warmed++
		case WarmedPending, WarmedPendingWait, WarmedPendingProc:
			c.WarmPending++
		case WarmedTerminating:
			c.WarmTerminating++
		}
	}
	return c
}

// metricValues returns the value of every group metric for a group's
// sizes and counts. Capacities are instance counts (every instance
// weighs 1). Total counts InService, Pending and Terminating instances,
// as AWS defines GroupTotalInstances; warm pool metrics are present only
// when the group has a warm pool (pool is its desired size).
func metricValues(min, max, desired int, c groupCounts, hasPool bool, poolMin, pool int) map[string]float64 {
	total := c.InService + c.Pending + c.Terminating
	v := map[string]float64{
		MetricGroupMinSize: float64(min), MetricGroupMaxSize: float64(max), MetricGroupDesiredCapacity: float64(desired),
		MetricGroupInServiceInstances: float64(c.InService), MetricGroupPendingInstances: float64(c.Pending),
		MetricGroupStandbyInstances: float64(c.Standby), MetricGroupTerminatingInstances: float64(c.Terminating),
		MetricGroupTotalInstances:    float64(total),
		MetricGroupInServiceCapacity: float64(c.InService), MetricGroupPendingCapacity: float64(c.Pending),
		MetricGroupStandbyCapacity: float64(c.Standby), MetricGroupTerminatingCapacity: float64(c.Terminating),
		MetricGroupTotalCapacity: float64(total),
	}
	if hasPool {
		poolTotal := c.Warmed + c.WarmPending + c.WarmTerminating
		v[MetricWarmPoolMinSize] = float64(poolMin)
		v[MetricWarmPoolDesiredCapacity] = float64(pool)
		v[MetricWarmPoolWarmedCapacity] = float64(c.Warmed)
		v[MetricWarmPoolPendingCapacity] = float64(c.WarmPending)
		v[MetricWarmPoolTerminatingCapacity] = float64(c.WarmTerminating)
		v[MetricWarmPoolTotalCapacity] = float64(poolTotal)
		v[MetricGroupAndWarmPoolDesiredCapacity] = float64(desired + pool)
		v[MetricGroupAndWarmPoolTotalCapacity] = float64(total + poolTotal)
	}
	return v
}

// metricsDueLocked reports whether a group's metrics are due: at once
// when collection starts, then once each minute.
func (s *Service) metricsDueLocked(name string, now time.Time) bool {
	last, ok := s.published[name]
	return !ok || now.Truncate(time.Minute) != last.Truncate(time.Minute)
}

// publishLocked writes a group's enabled metrics, once a minute, through
// the metric store (AWS/ namespaces are madang's own, not PutMetricData's).
func (s *Service) publishLocked(g *Group, c *Capacity, now time.Time) []metric.Datum {
	name := g.Spec.Name
	if len(c.Metrics) == 0 || s.opts.Metrics == nil {
		delete(s.published, name)
		return nil
	}
	if !s.metricsDueLocked(name, now) {
		return nil
	}
	s.published[name] = now
	counts := countMembers(s.membersLocked(name), s.inflight[name], s.inflightWarm[name])
	poolMin := 0
	if g.Spec.WarmPool != nil {
		poolMin = g.Spec.WarmPool.MinSize
	}
	vals := metricValues(c.Min, c.Max, c.Desired, counts, g.Spec.WarmPool != nil, poolMin, poolSize(g, c))
	dims := []metric.Dimension{{Name: DimensionGroupName, Value: name}}
	var out []metric.Datum
	for _, m := range c.Metrics {
		v, ok := vals[m]
		if !ok {
			continue
		}
		out = append(out, metric.Datum{ID: metric.ID{Namespace: NamespaceAutoScaling, Name: m, Dimensions: dims},
			Unit: "None", Timestamp: now, Value: &v})
	}
	return out
}

// SetMetricsCollection enables (EnableMetricsCollection) or disables
// (DisableMetricsCollection) group metrics: enabling adds metrics (none
// named: all), disabling removes them (none named: all). Collection is a
// runtime setting beside the stack, as the desired capacity: an apply that
// changes the stack's metricsCollection sets it.
func (s *Service) SetMetricsCollection(ctx context.Context, group string, enable bool, granularity string, metrics []string) error {
	if enable && granularity != Granularity1Minute {
		return fault.Invalidf(KindGroup, group, "Granularity %q is not valid; 1Minute is the only granularity of group metrics", granularity).
			WithHint("give Granularity 1Minute")
	}
	if errs := ValidateMetrics("Metrics", metrics); len(errs) > 0 {
		return fault.Invalidf(KindGroup, group, "%s", errs.Error()).WithHint("DescribeMetricCollectionTypes lists the metrics")
	}
	var b batch
	s.mu.Lock()
	g := s.groups[group]
	if g == nil {
		s.mu.Unlock()
		return groupMissing(group)
	}
	c := s.capacityLocked(&b, g, s.opts.Now())
	switch {
	case enable && len(metrics) == 0:
		c.Metrics = GroupMetrics()
	case enable:
		c.Metrics = sortMetrics(append(slices.Clone(c.Metrics), metrics...))
	case len(metrics) == 0:
		c.Metrics = nil
	default:
		c.Metrics = slices.DeleteFunc(slices.Clone(c.Metrics), func(m string) bool { return slices.Contains(metrics, m) })
	}
	if len(c.Metrics) == 0 {
		c.Metrics = nil
	}
	b.put(CapacityPrefix+group, c)
	verb := "disabled"
	if enable {
		verb = "enabled"
	}
	s.opts.Events.Info(KindGroup, group, "metrics collection %s: %d metric(s) collected", verb, len(c.Metrics))
	s.unlockCommit(ctx, &b)
	s.Kick()
	return nil
}

// groupMissing is the fault of a group that does not exist.
func groupMissing(name string) error {
	return fault.NotFoundf(KindGroup, name, "Auto Scaling group %q does not exist", name).WithHint("madang asg ls lists the groups")
}

// followMetricsSpec makes an apply that changed the stack's
// metricsCollection set the group's collection.
func followMetricsSpec(c *Capacity, sp *MetricsCollectionSpec) bool {
	want := enabledMetrics(sp)
	if slices.Equal(c.SpecMetrics, want) {
		return false
	}
	c.SpecMetrics, c.Metrics = want, slices.Clone(want)
	return true
}

// describeMetrics is the metric list of a view (EnabledMetrics).
func describeMetrics(c *Capacity) []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.Metrics)
}
