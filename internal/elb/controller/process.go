package controller

import (
	"context"

	"github.com/madang-dev/madang/internal/dataplane"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/health"
)

// DataPlaneProcess is the NewDataPlane of a daemon whose load balancers
// outlive it: it adopts the home's data-plane process, replaces it when it
// runs another binary (taking its listening sockets over, so no connection
// is refused), or starts one (see dataplane.Launch). If no process can be
// started, the data plane runs inside the daemon and an error event says
// why.
func DataPlaneProcess(opts dataplane.LaunchOptions, events *event.Log) NewDataPlane {
	return func(ctx context.Context, onChange func(string, health.TargetHealth)) (DataPlane, error) {
		opts.OnChange = onChange
		c, err := dataplane.Launch(ctx, opts)
		if err != nil {
			events.Error("load-balancer", "-", "data plane process: %v; serving load balancers inside the daemon instead", err)
			return dataplane.NewEngine(dataplane.Options{Logger: opts.Logger, OnChange: onChange}), nil
		}
		st := c.Status()
		if c.Adopted() {
			events.Info("load-balancer", "-", "adopted the data plane (pid %d, madang %s)", st.PID, st.Version)
		} else {
			events.Info("load-balancer", "-", "started the data plane (pid %d, madang %s)", st.PID, st.Version)
		}
		return c, nil
	}
}
