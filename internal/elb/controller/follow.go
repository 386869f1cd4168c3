package controller

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/madang-dev/madang/internal/state"
)

// follower is the controller's informer handler: it keeps the target
// group, load balancer and registration maps equal to the store's records
// and asks for a reload. Target health (healthKey), written by the controller itself, is
// not followed.
type follower struct{ c *Controller }

// Reset implements informer.Handler.
func (f follower) Reset(kvs []state.KV, rev int64) {
	c := f.c
	c.mu.Lock()
	c.seenRev = max(c.seenRev, rev)
	c.tgs = map[string]*TargetGroup{}
	c.lbs = map[string]*LoadBalancer{}
	c.regs = map[string]map[string]Registration{}
	for _, kv := range kvs {
		c.putLocked(kv)
	}
	c.mu.Unlock()
	c.Kick()
}

// Apply implements informer.Handler.
func (f follower) Apply(events []state.Event) {
	c := f.c
	c.mu.Lock()
	c.seenRev = max(c.seenRev, events[len(events)-1].KV.ModRevision)
	relevant := false
	for _, ev := range events {
		if ev.KV.Key == healthKey {
			continue
		}
		relevant = true
		if ev.Type == state.EventPut {
			c.putLocked(ev.KV)
			continue
		}
		switch key := ev.KV.Key; {
		case strings.HasPrefix(key, TargetGroupPrefix):
			delete(c.tgs, strings.TrimPrefix(key, TargetGroupPrefix))
		case strings.HasPrefix(key, LoadBalancerPrefix):
			delete(c.lbs, strings.TrimPrefix(key, LoadBalancerPrefix))
		case strings.HasPrefix(key, RegistrationPrefix):
			c.deleteRegistrationLocked(key)
		}
	}
	c.mu.Unlock()
	if relevant {
		c.Kick()
	}
}

func (c *Controller) putLocked(kv state.KV) {
	switch {
	case strings.HasPrefix(kv.Key, TargetGroupPrefix):
		var tg TargetGroup
		if err := json.Unmarshal(kv.Value, &tg); err != nil {
			c.log.Warn("decode record", "key", kv.Key, "err", err)
			return
		}
		c.tgs[tg.Spec.Name] = &tg
	case strings.HasPrefix(kv.Key, LoadBalancerPrefix):
		var lb LoadBalancer
		if err := json.Unmarshal(kv.Value, &lb); err != nil {
			c.log.Warn("decode record", "key", kv.Key, "err", err)
			return
		}
		c.lbs[lb.Spec.Name] = &lb
	case strings.HasPrefix(kv.Key, RegistrationPrefix):
		c.putRegistrationLocked(kv)
	}
}

// Observed waits until the controller has seen every change up to store
// revision rev and reloaded the data plane after it, or ctx ends. The
// reload's error, if any, is LastError.
func (c *Controller) Observed(ctx context.Context, rev int64) error {
	if err := c.inf.Wait(ctx, rev); err != nil {
		return err
	}
	c.Kick()
	return c.reloaded.Wait(ctx, rev)
}
