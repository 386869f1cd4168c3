package controller

import (
	"context"
	"fmt"

	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/proxy"
)

// The controller's read side: the stored resources, target health and
// the data plane's counters.

// TargetGroups returns the stored target groups sorted by name.
func (c *Controller) TargetGroups() []TargetGroup {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]TargetGroup, 0, len(c.tgs))
	for _, k := range sortedKeys(c.tgs) {
		out = append(out, *c.tgs[k])
	}
	return out
}

// LoadBalancers returns the stored load balancers sorted by name.
func (c *Controller) LoadBalancers() []LoadBalancer {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]LoadBalancer, 0, len(c.lbs))
	for _, k := range sortedKeys(c.lbs) {
		out = append(out, *c.lbs[k])
	}
	return out
}

// Health returns the health of a target group's targets, as the data
// plane reports it, from the controller's cache (see healthCache): no
// round trip to the data plane unless the cache must be rebuilt (the
// data plane was replaced, or could not be read). Last check times and
// latencies, consecutive counts and descriptions that change without a
// state change may be up to Options.HealthRefresh (a second) old; states, reasons and the rest
// follow every change.
func (c *Controller) Health(group string) ([]health.TargetHealth, error) {
	c.mu.Lock()
	_, ok := c.tgs[group]
	c.mu.Unlock()
	if !ok {
		return nil, fault.NotFoundf(fault.KindTargetGroup, group, "no target group %q", group).WithHint("see madang tg ls")
	}
	if th, ok := c.hc.get(group, c.dataPlaneEpoch()); ok {
		return th, nil
	}
	if err := c.rebuildHealth(context.Background(), c.groupNames(), false); err != nil {
		c.log.Debug("rebuild target health", "err", err)
	}
	if th, ok := c.hc.get(group, c.dataPlaneEpoch()); ok {
		return th, nil
	}
	// A group stored since the last rebuild, or a data plane that could
	// not be read: ask it, and return its error.
	return c.dp.Health(context.Background(), group)
}

// Metrics returns the data plane's current counters and gauges.
func (c *Controller) Metrics() []proxy.Metric {
	out, err := c.dp.Metrics(context.Background())
	if err != nil {
		c.log.Warn("read data plane metrics", "err", err)
	}
	return out
}

// MetricsSnapshot returns the data plane's counters and gauges for a
// collector to diff with lbmetrics.Delta, from the in-process engine or
// the data-plane process alike. Its Epoch changes when the data plane's
// counters restart (a new data-plane process).
func (c *Controller) MetricsSnapshot(ctx context.Context) (*lbmetrics.Snapshot, error) {
	s, err := c.dp.MetricsSnapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("read data plane metrics snapshot: %w", err)
	}
	return s, nil
}

// LastError is the last data plane configuration error, if any.
func (c *Controller) LastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}
