package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/iam"
	"github.com/madang-dev/madang/internal/state"
)

// resetTimeout bounds a reset: the instances' kill timeouts and the
// controllers' convergence.
const resetTimeout = 2 * time.Minute

// kept reports whether a store key survives a reset: the access keys and
// the account settings, so clients keep their credentials.
func kept(key string) bool { return strings.HasPrefix(key, iam.Prefix) }

// ResetPlan returns what Reset would remove now.
func (d *Daemon) ResetPlan(ctx context.Context) (v1.Reset, error) {
	plan, _, err := d.resetPlan(ctx)
	return plan, err
}

// resetPlan counts what a reset removes, and returns the store records
// to delete first: all but the kept ones and the instances' (which
// compute deletes once they are terminated).
func (d *Daemon) resetPlan(ctx context.Context) (v1.Reset, []state.Op, error) {
	plan := v1.Reset{ByKind: map[string]int{}, Stacks: []string{}}
	snap, err := stacks{d}.snapshot(ctx)
	if err != nil {
		return plan, nil, err
	}
	for kindName, m := range snap {
		for _, st := range m {
			plan.Resources++
			plan.ByKind[kindName]++
			if st.owner != "" && !slices.Contains(plan.Stacks, st.owner) {
				plan.Stacks = append(plan.Stacks, st.owner)
			}
		}
	}
	slices.Sort(plan.Stacks)
	kvs, _, err := d.store.List(ctx, "/")
	if err != nil {
		return plan, nil, fmt.Errorf("list records: %w", err)
	}
	var ops []state.Op
	for _, kv := range kvs {
		if kept(kv.Key) {
			continue
		}
		plan.Records++
		if !strings.HasPrefix(kv.Key, compute.InstancePrefix) {
			ops = append(ops, state.Delete(kv.Key))
		}
	}
	plan.Instances = len(d.compute.AllInstances())
	plan.MetricSeries = d.cw.Metrics().SeriesCount()
	plan.LogStreams = len(d.apiLogs.Streams())
	return plan, ops, nil
}

// Reset gives a clean slate: it removes every resource of every kind
// whatever its owner (stack files' resources too), every instance (its
// process, record, directory and address lease), the load balancers'
// registrations and access logs, the Auto Scaling groups' runtime records,
// the alarms' states and history, every metric series and the log
// streams written through the API, and the image directories. It keeps
// the access keys, the account settings and the daemon's event log.
// Afterwards the daemon is as usable as a fresh one.
//
// It holds the apply lock, so no apply or resource write interleaves,
// and works in few steps: one store transaction deletes every record but
// the instances'; once the controllers have followed it (listeners closed,
// groups gone), the instances are terminated in parallel and forgotten;
// then the stores outside the state store are emptied, and a last
// transaction deletes what the controllers wrote while they converged.
func (d *Daemon) Reset(ctx context.Context) (v1.Reset, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, resetTimeout)
	defer cancel()
	d.applyMu.Lock()
	defer d.applyMu.Unlock()
	plan, ops, err := d.resetPlan(ctx)
	if err != nil {
		return plan, err
	}
	var errs []error
	phase := time.Now()
	var took []string
	mark := func(name string) {
		took = append(took, name+" "+time.Since(phase).Round(time.Millisecond).String())
		phase = time.Now()
	}
	if len(ops) > 0 {
		rev, err := d.store.Txn(ctx, nil, ops)
		if err != nil {
			return plan, fmt.Errorf("reset: delete records: %w", err)
		}
		for _, w := range d.observe(ctx, rev, ops) {
			d.events.Warn("daemon", "-", "reset: %s", w)
		}
	}
	mark("records and controllers")
	if _, err := d.asg.Purge(ctx); err != nil {
		errs = append(errs, err)
	}
	n, err := d.compute.Purge(ctx)
	plan.Instances = n
	errs = append(errs, err, d.elb.Purge())
	mark("instances")
	plan.MetricSeries, err = d.cw.Reset(ctx)
	errs = append(errs, err)
	plan.LogStreams, err = d.apiLogs.Reset()
	errs = append(errs, err)
	errs = append(errs, d.sweep(ctx))
	mark("metrics, logs and sweep")
	plan.DurationSeconds = time.Since(start).Seconds()
	if err := errors.Join(errs...); err != nil {
		d.events.Error("daemon", "-", "reset: %v", err)
		return plan, fmt.Errorf("reset: %w", err)
	}
	d.events.Info("daemon", "-", "reset: removed %d resources, %d instances, %d metric series, %d log streams (%d records) in %s (%s)",
		plan.Resources, plan.Instances, plan.MetricSeries, plan.LogStreams, plan.Records, time.Since(start).Round(time.Millisecond), strings.Join(took, ", "))
	return plan, nil
}

// sweep deletes the records (but the kept ones) that the controllers
// wrote while they followed the reset's deletes: the activities of the
// groups' last terminations, the target health they saved.
func (d *Daemon) sweep(ctx context.Context) error {
	kvs, _, err := d.store.List(ctx, "/")
	if err != nil {
		return fmt.Errorf("list records: %w", err)
	}
	var ops []state.Op
	for _, kv := range kvs {
		if !kept(kv.Key) {
			ops = append(ops, state.Delete(kv.Key))
		}
	}
	if len(ops) == 0 {
		return nil
	}
	if _, err := d.store.Txn(ctx, nil, ops); err != nil {
		return fmt.Errorf("delete records: %w", err)
	}
	return nil
}

// Interface guards.
var _ cloudwatch.ConfiguredLoadBalancers = (*elbctl.Controller)(nil)
