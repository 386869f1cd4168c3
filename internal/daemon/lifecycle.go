package daemon

import (
	"context"
	"errors"
	"fmt"
)

// component is one part of the daemon. Components start in order and
// stop in reverse (Prometheus's run.Group, Caddy's Provision → Start →
// Stop): a component may use every component started before it. If one
// fails to start, those already started stop, in reverse, and nothing is
// left running.
type component struct {
	name string
	// start brings the component up; it must not leave goroutines
	// running when it returns an error.
	start func(ctx context.Context) error
	// stop shuts it down, within ctx; nil when there is nothing to stop.
	stop func(ctx context.Context) error
}

// group runs components.
type group struct {
	started []component
	// failAt, when set, makes the component of that name fail to start
	// (tests of the error paths).
	failAt string
}

// start starts comps in order; on an error it stops what started and
// returns the error.
func (g *group) start(ctx context.Context, comps []component) error {
	for _, c := range comps {
		err := errors.New("injected start failure")
		if c.name != g.failAt {
			err = c.start(ctx)
		}
		if err != nil {
			stopErr := g.stop(context.WithoutCancel(ctx))
			return errors.Join(fmt.Errorf("start %s: %w", c.name, err), stopErr)
		}
		g.started = append(g.started, c)
	}
	return nil
}

// stop stops the started components in reverse order and joins their
// errors.
func (g *group) stop(ctx context.Context) error {
	var errs []error
	for i := len(g.started) - 1; i >= 0; i-- {
		c := g.started[i]
		if c.stop == nil {
			continue
		}
		if err := c.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.name, err))
		}
	}
	g.started = nil
	return errors.Join(errs...)
}
