package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/proxy"
	"github.com/madang-dev/madang/internal/state"
)

// RegistrationPrefix starts the store keys of dynamic registrations: one
// record per registration at RegistrationPrefix + target group + "/" +
// instance id.
const RegistrationPrefix = "/elb/registrations/"

// drainPoll is how often, while some target drains, the controller asks
// the data plane whether a draining target still has requests in flight
// (a target with none finishes draining at once, as on AWS).
const drainPoll = 50 * time.Millisecond

// Registration is an instance registered in a target group at run time
// (AWS's RegisterTargets), by an Auto Scaling group or an API call, rather
// than by the stack that owns the group (TargetGroupSpec.Targets).
type Registration struct {
	// TargetGroup is the name of the target group.
	TargetGroup string `json:"targetGroup"`
	// ID is the instance id (i-…).
	ID string `json:"id"`
	// Port is the traffic port; 0 means the instance's own port, as for
	// instance targets of a stack.
	Port int `json:"port,omitempty"`
	// Weight is madang's per-target weight for the registration, 0–1000
	// (elb.MaxTargetWeight); nil means elb.DefaultWeight. A target of
	// weight 0 stays registered and health-checked but gets no new
	// requests (those in flight finish). AWS has no per-target weight.
	Weight *int `json:"weight,omitempty"`
	// RegisteredBy says who registered the target, free text such as
	// "autoscaling:web".
	RegisteredBy string `json:"registeredBy,omitempty"`
	// RegisteredAt is when the target was registered (set by Register
	// when zero).
	RegisteredAt time.Time `json:"registeredAt"`
}

func registrationKey(tg, id string) string { return RegistrationPrefix + tg + "/" + id }

// Register registers targets in their target groups, like AWS's
// RegisterTargets. Every entry is checked first — its target group and
// instance exist (else a NotFound fault error), its port is 0 or 1..65535
// and its weight, if given, 0..1000 (else Invalid) — and then all are
// stored in one transaction, so an error writes nothing. Registering a
// target again is a no-op success unless its port or weight changes; a
// nil Weight keeps the weight it has (see SetWeights). Register returns
// once the data plane serves the new targets (or ctx ends).
func (c *Controller) Register(ctx context.Context, regs []Registration) error {
	now := c.opts.Now()
	var ops []state.Op
	seen := map[string]bool{}
	c.mu.Lock()
	for _, r := range regs {
		if _, ok := c.tgs[r.TargetGroup]; !ok {
			c.mu.Unlock()
			return noTargetGroup(r.TargetGroup)
		}
		if r.Port < 0 || r.Port > 65535 {
			c.mu.Unlock()
			return fault.Invalidf(fault.KindInstance, r.ID, "target %s in target group %s: port %d is not 0 (the instance's port) or 1..65535", r.ID, r.TargetGroup, r.Port)
		}
		if err := checkWeight(r.TargetGroup, r.ID, r.Weight); err != nil {
			c.mu.Unlock()
			return err
		}
		key := registrationKey(r.TargetGroup, r.ID)
		if seen[key] {
			c.mu.Unlock()
			return fault.Invalidf(fault.KindInstance, r.ID, "target %s is given twice for target group %s", r.ID, r.TargetGroup)
		}
		seen[key] = true
		if old, ok := c.regs[r.TargetGroup][r.ID]; ok {
			if r.Weight == nil {
				r.Weight = old.Weight
			}
			if old.Port == r.Port {
				if sameWeight(old.Weight, r.Weight) {
					continue // already registered: AWS's RegisterTargets is idempotent
				}
				// The same target with a new weight: it stays
				// registered since it was.
				old.Weight = r.Weight
				r = old
			}
		}
		if r.RegisteredAt.IsZero() {
			r.RegisteredAt = now
		}
		b, err := json.Marshal(r)
		if err != nil {
			c.mu.Unlock()
			return fmt.Errorf("encode registration of %s in %s: %w", r.ID, r.TargetGroup, err)
		}
		ops = append(ops, state.Put(key, b))
	}
	c.mu.Unlock()
	// Instances are looked up without c.mu: compute may call the
	// controller's hooks while holding its own locks.
	for _, r := range regs {
		if r.ID == "" || strings.Contains(r.ID, "/") {
			return fault.Invalidf(fault.KindInstance, r.ID, "target id %q is not an instance id", r.ID)
		}
		if _, err := c.opts.Instances.Instance(r.ID); err != nil {
			return fault.NotFoundf(fault.KindInstance, r.ID, "register target %s in target group %s: no instance %s", r.ID, r.TargetGroup, r.ID).WithHint("see madang ps")
		}
	}
	return c.commitRegistrations(ctx, nil, ops)
}

// Deregister removes dynamic registrations from a target group, like
// AWS's DeregisterTargets: the targets drain (see TargetState) and leave.
// An unknown target group is a NotFound fault error; ids that are not
// registered are ignored. Deregister returns once the data plane has taken
// the targets out of rotation (or ctx ends).
func (c *Controller) Deregister(ctx context.Context, tg string, ids []string) error {
	c.mu.Lock()
	if _, ok := c.tgs[tg]; !ok {
		c.mu.Unlock()
		return noTargetGroup(tg)
	}
	var ops []state.Op
	seen := map[string]bool{}
	for _, id := range ids {
		if _, ok := c.regs[tg][id]; ok && !seen[id] {
			seen[id] = true
			ops = append(ops, state.Delete(registrationKey(tg, id)))
		}
	}
	c.mu.Unlock()
	return c.commitRegistrations(ctx, nil, ops)
}

// noTargetGroup is the error for an unknown target group.
func noTargetGroup(name string) error {
	return fault.NotFoundf(fault.KindTargetGroup, name, "no target group %q", name).WithHint("see madang tg ls")
}

// commitRegistrations writes ops in one transaction guarded by cmps and
// waits until the controller has reloaded after it.
func (c *Controller) commitRegistrations(ctx context.Context, cmps []state.Compare, ops []state.Op) error {
	if len(ops) == 0 {
		return nil
	}
	rev, err := c.opts.Store.Txn(ctx, cmps, ops)
	if err != nil {
		return fmt.Errorf("store target registrations: %w", err)
	}
	if err := c.Observed(ctx, rev); err != nil {
		return fmt.Errorf("wait for the load balancer to apply the registrations: %w", err)
	}
	return nil
}

// Registrations returns a target group's dynamic registrations sorted by
// instance id.
func (c *Controller) Registrations(tg string) []Registration {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.regs[tg]
	out := make([]Registration, 0, len(m))
	for _, id := range sortedKeys(m) {
		r := m[id]
		if r.Weight != nil {
			w := *r.Weight // the caller's copy, not the controller's
			r.Weight = &w
		}
		out = append(out, r)
	}
	return out
}

// TargetState returns the health state of instance id in target group tg
// ("initial", "healthy", "unhealthy", "unused", "draining",
// "unavailable"); ok is false when the instance is neither registered in
// the group (by its stack or dynamically) nor draining from it. The
// state is empty when the data plane cannot be reached.
//
// After Deregister, polling until ok is false tells when the instance has
// finished draining.
func (c *Controller) TargetState(tg, id string) (st string, ok bool) {
	c.mu.Lock()
	registered := false
	for _, t := range c.registered[tg] {
		registered = registered || t.ID == id
	}
	draining := false
	for _, d := range c.draining[tg] {
		draining = draining || d.target.ID == id
	}
	c.mu.Unlock()
	switch {
	case !registered && !draining:
		return "", false
	case !registered:
		return string(health.StateDraining), true
	}
	ths, err := c.dp.Health(context.Background(), tg)
	if err != nil {
		c.log.Warn("read target health", "group", tg, "target", id, "err", err)
		return "", true
	}
	// The health checker keeps one target per id and group: the
	// registered one, which Reload lists before draining ones.
	for _, th := range ths {
		if th.ID == id {
			return string(th.State), true
		}
	}
	return string(health.StateInitial), true
}

// putRegistrationLocked records a registration from the store.
func (c *Controller) putRegistrationLocked(kv state.KV) {
	var r Registration
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		c.log.Warn("decode record", "key", kv.Key, "err", err)
		return
	}
	if checkWeight(r.TargetGroup, r.ID, r.Weight) != nil {
		// Register and SetWeights never store one: the data plane would
		// refuse the whole configuration for it.
		c.log.Warn("registration weight out of range; using the default", "key", kv.Key, "weight", *r.Weight)
		r.Weight = nil
	}
	if c.regs[r.TargetGroup] == nil {
		c.regs[r.TargetGroup] = map[string]Registration{}
	}
	c.regs[r.TargetGroup][r.ID] = r
}

// deleteRegistrationLocked forgets the registration stored at key.
func (c *Controller) deleteRegistrationLocked(key string) {
	tg, id, ok := strings.Cut(strings.TrimPrefix(key, RegistrationPrefix), "/")
	if !ok {
		return
	}
	delete(c.regs[tg], id)
	if len(c.regs[tg]) == 0 {
		delete(c.regs, tg)
	}
}

// addRegistered appends tg's dynamic registrations to ts (its spec'd
// targets), as instance targets of their Registration's weight: a target
// already in ts (same id and address) is not added twice (the stack's
// weight wins), and terminated or leaving instances are skipped.
func (c *Controller) addRegistered(tg string, ts []proxy.Target, unavailable map[string]string) []proxy.Target {
	regs := c.regs[tg]
	if len(regs) == 0 {
		return ts
	}
	have := make(map[string]bool, len(ts))
	for _, t := range ts {
		have[targetKey(t)] = true
	}
	for _, id := range sortedKeys(regs) {
		r := regs[id]
		in, err := c.opts.Instances.Instance(r.ID)
		if err != nil || in.Desired == compute.StateTerminated || c.leaving[in.ID] {
			continue
		}
		port := r.Port
		if port == 0 {
			port = in.Port
		}
		t := proxy.Target{ID: in.ID, Addr: net.JoinHostPort(in.PrivateIP, strconv.Itoa(port)), Weight: weightOf(r.Weight), Zone: c.zoneOf(in)}
		if have[targetKey(t)] {
			continue
		}
		have[targetKey(t)] = true
		ts = append(ts, t)
		if in.State != compute.StateRunning {
			unavailable[in.ID] = fmt.Sprintf("instance %s is %s", in.ID, in.State)
		}
	}
	return ts
}

// anyDraining reports whether some target is draining.
func (c *Controller) anyDraining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.draining {
		if len(m) > 0 {
			return true
		}
	}
	return false
}

// checkIdleDrains marks the draining targets that have no request in
// flight as idle, so the next reload completes their deregistration
// early (as AWS does), and reports whether it marked any. A target id
// counts its requests in every target group, so a target still serving
// elsewhere keeps draining until the delay ends.
func (c *Controller) checkIdleDrains(ctx context.Context) bool {
	type ref struct {
		group, key, id string
		until          time.Time
	}
	c.mu.Lock()
	var refs []ref
	for g, m := range c.draining {
		for k, d := range m {
			if !d.idle {
				refs = append(refs, ref{g, k, d.target.ID, d.until})
			}
		}
	}
	c.mu.Unlock()
	sort.Slice(refs, func(i, j int) bool { return refs[i].group+refs[i].key < refs[j].group+refs[j].key })
	var idle []ref
	counts := map[string]int64{}
	for _, r := range refs {
		n, done := counts[r.id]
		if !done {
			var err error
			n, err = c.dp.InFlight(ctx, r.id)
			if err != nil {
				c.log.Warn("requests in flight to a draining target", "target", r.id, "err", err)
				return false
			}
			counts[r.id] = n
		}
		if n == 0 {
			idle = append(idle, r)
		}
	}
	if len(idle) == 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	marked := false
	for _, r := range idle {
		if d, ok := c.draining[r.group][r.key]; ok && d.until.Equal(r.until) {
			d.idle = true
			c.draining[r.group][r.key] = d
			marked = true
		}
	}
	return marked
}
