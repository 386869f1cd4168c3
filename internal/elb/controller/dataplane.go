package controller

import (
	"context"
	"os"

	"github.com/madang-dev/madang/internal/dataplane"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/proxy"
)

// DataPlane is what the controller drives: the proxy and health checks of
// every load balancer, in the daemon's process (*dataplane.Engine) or in
// a data-plane process of its own (*dataplane.Client).
//
// Contract:
//   - Apply installs a complete configuration transactionally: when it
//     returns an error, the previous configuration still serves, untouched.
//     Listeners whose address is unchanged keep their sockets and
//     connections; in-flight requests and WebSockets are never dropped.
//   - Health, Snapshot, Metrics, MetricsSnapshot and InFlight read the
//     live state; they do not touch the request path's locks for long and
//     may be called often (BeforeStop polls InFlight every few
//     milliseconds, a metrics collector takes a MetricsSnapshot every
//     second).
//   - Restore loads saved health into a data plane that has not been
//     configured yet and is ignored by one that already serves (its live
//     health is newer).
//   - Health changes reach the controller through the callback given to
//     its constructor (see NewDataPlane), in order, from one goroutine,
//     including changes made while no daemon was connected.
//   - Close releases the controller's hold: a data-plane process keeps
//     serving its last configuration; an in-process one stops. Shutdown
//     stops accepting, drains in-flight requests until ctx ends, and
//     stops the data plane wherever it runs.
//
// Errors of the remote implementation other than Apply's rejection of a
// configuration mean the data plane could not be reached.
type DataPlane interface {
	Apply(ctx context.Context, cfg dataplane.Config) error
	Health(ctx context.Context, group string) ([]health.TargetHealth, error)
	Snapshot(ctx context.Context) ([]health.Record, error)
	Restore(ctx context.Context, recs []health.Record) error
	Metrics(ctx context.Context) ([]proxy.Metric, error)
	MetricsSnapshot(ctx context.Context) (*lbmetrics.Snapshot, error)
	InFlight(ctx context.Context, targetID string) (int64, error)
	Close(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// NewDataPlane returns the data plane a Controller drives; onChange must
// receive every health change (see DataPlane).
type NewDataPlane func(ctx context.Context, onChange func(group string, th health.TargetHealth)) (DataPlane, error)

// inProcess is the NewDataPlane that runs the data plane inside the
// controller's process; it stops with the controller.
func inProcess(opts Options) NewDataPlane {
	return func(_ context.Context, onChange func(string, health.TargetHealth)) (DataPlane, error) {
		return dataplane.NewEngine(dataplane.Options{Logger: opts.Logger, Now: opts.Now, OnChange: onChange}), nil
	}
}

var (
	_ DataPlane = (*dataplane.Engine)(nil)
	_ DataPlane = (*dataplane.Client)(nil)
)

// DataPlanePID returns the pid of the process that serves the listeners:
// the data-plane process, or this one when the data plane runs in-process.
func (c *Controller) DataPlanePID() int {
	if cl, ok := c.dp.(*dataplane.Client); ok {
		return cl.Status().PID
	}
	return os.Getpid()
}
