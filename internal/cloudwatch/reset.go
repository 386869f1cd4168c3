package cloudwatch

import (
	"context"
	"errors"
	"fmt"

	"github.com/madang-dev/madang/internal/state"
)

// resetRequest is one Reset waiting for the loop.
type resetRequest struct {
	ctx  context.Context
	done chan resetResult
}

type resetResult struct {
	series int
	err    error
}

// Reset removes every metric series (the metric store's memory and
// files) and every alarm's state and history (the records under
// StatePrefix), and returns how many series there were. It runs between
// the collector's rounds and the alarm evaluations, so none of them
// writes a datapoint or a state sampled before it. Alarms, dashboards,
// log groups and metric filters are store records that the caller
// deletes; an alarm that still exists is evaluated again from
// INSUFFICIENT_DATA, as a new one is.
func (s *Service) Reset(ctx context.Context) (int, error) {
	if s.cancel == nil { // not started: no loop to interleave with
		return s.reset(ctx)
	}
	req := resetRequest{ctx: ctx, done: make(chan resetResult, 1)}
	select {
	case s.resets <- req:
	case <-ctx.Done():
		return 0, fmt.Errorf("reset CloudWatch: %w", ctx.Err())
	}
	res := <-req.done
	return res.series, res.err
}

// reset does Reset's work; the loop (or a caller before Start) runs it.
func (s *Service) reset(ctx context.Context) (int, error) {
	n, err := s.metrics.Reset()
	errs := []error{err}
	kvs, _, err := s.opts.Store.List(ctx, StatePrefix)
	errs = append(errs, err)
	var ops []state.Op
	for _, kv := range kvs {
		ops = append(ops, state.Delete(kv.Key))
	}
	if len(ops) > 0 {
		if _, err := s.opts.Store.Txn(ctx, nil, ops); err != nil {
			errs = append(errs, fmt.Errorf("delete alarm states and history: %w", err))
		}
	}
	s.mu.Lock()
	s.states = map[string]*AlarmState{}
	for name := range s.alarms {
		s.dirty[name] = true
	}
	for name := range s.composites {
		s.dirty[name] = true
	}
	s.mu.Unlock()
	return n, errors.Join(errs...)
}
