package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/state"
)

// setWeightsAttempts bounds how often SetWeights reads and writes again
// when a registration it read changed before its transaction committed.
const setWeightsAttempts = 3

// SetWeights sets the weights of instances registered at run time in
// target group tg (see Register): weights maps an instance id to its new
// weight, 0–1000 (elb.MaxTargetWeight), and a nil weight resets it to
// elb.DefaultWeight. A target of weight 0 stays registered and
// health-checked but gets no new requests; requests in flight finish.
// Changing a weight neither drains a target nor resets its health. The
// targets a group's stack names keep the stack's weights.
//
// Every entry is checked first: an unknown target group, or an id that is
// not registered in tg at run time (a stack's target, an instance never
// registered, or one deregistered and draining), is a NotFound fault
// error, a weight out of range is Invalid. Then all weights are stored in
// one transaction, so an error writes nothing. SetWeights returns once
// the data plane serves the new weights (or ctx ends).
func (c *Controller) SetWeights(ctx context.Context, tg string, weights map[string]*int) error {
	c.mu.Lock()
	_, ok := c.tgs[tg]
	c.mu.Unlock()
	if !ok {
		return noTargetGroup(tg)
	}
	ids := sortedKeys(weights)
	for _, id := range ids {
		if err := checkWeight(tg, id, weights[id]); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		cmps, ops, err := c.weightOps(ctx, tg, ids, weights)
		if err != nil {
			return err
		}
		err = c.commitRegistrations(ctx, cmps, ops)
		if !errors.Is(err, state.ErrConflict) {
			return err
		}
		if attempt == setWeightsAttempts {
			return fault.Wrap(fault.Conflict, fault.KindTargetGroup, tg,
				fmt.Errorf("set target weights in target group %s: its registrations kept changing: %w", tg, err))
		}
	}
}

// weightOps reads the stored registrations of ids in tg and returns the
// writes that give them their new weights, each guarded by the revision
// it was read at, so a registration deregistered meanwhile is not
// written back.
func (c *Controller) weightOps(ctx context.Context, tg string, ids []string, weights map[string]*int) ([]state.Compare, []state.Op, error) {
	var cmps []state.Compare
	var ops []state.Op
	for _, id := range ids {
		key := registrationKey(tg, id)
		kv, err := c.opts.Store.Get(ctx, key)
		if errors.Is(err, state.ErrNotFound) {
			return nil, nil, fault.NotFoundf(fault.KindInstance, id, "set the weight of target %s in target group %s: %s is not registered there", id, tg, id).
				WithHint("register it first; see madang tg health " + tg)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read registration of %s in %s: %w", id, tg, err)
		}
		var r Registration
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return nil, nil, fmt.Errorf("decode registration of %s in %s: %w", id, tg, err)
		}
		if sameWeight(r.Weight, weights[id]) {
			continue
		}
		r.Weight = weights[id]
		b, err := json.Marshal(r)
		if err != nil {
			return nil, nil, fmt.Errorf("encode registration of %s in %s: %w", id, tg, err)
		}
		cmps = append(cmps, state.Compare{Key: key, ModRevision: kv.ModRevision})
		ops = append(ops, state.Put(key, b))
	}
	return cmps, ops, nil
}

// checkWeight refuses a weight outside 0..elb.MaxTargetWeight for target
// id in target group tg; nil (the default) is fine.
func checkWeight(tg, id string, w *int) error {
	if w == nil || (*w >= 0 && *w <= elb.MaxTargetWeight) {
		return nil
	}
	return fault.Invalidf(fault.KindInstance, id, "target %s in target group %s: weight %d is out of range 0..%d", id, tg, *w, elb.MaxTargetWeight).
		WithHint(fmt.Sprintf("use a weight from 0 to %d (0 sends no new requests), or none for the default, %d", elb.MaxTargetWeight, elb.DefaultWeight))
}

// weightOf is the data plane's weight for a registration's Weight.
func weightOf(w *int) int {
	if w == nil {
		return elb.DefaultWeight
	}
	return *w
}

// sameWeight reports whether two stored weights are the same (both nil,
// or equal).
func sameWeight(a, b *int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
