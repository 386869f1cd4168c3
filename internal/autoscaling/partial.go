// Scale-out on the second so far: target tracking on
// ALBRequestCountPerTarget decides once a second, on the second the
// metrics collector stored last, so a load step that begins just after a
// collection waits more than a second for its decision. Between
// collections the controller therefore also reads the load balancers'
// live request counters and checks the second in progress. Its requests
// so far can only grow until the second ends: when they alone already
// breach the target, the whole second will, and the scale-out the policy
// decides on them (by the same rule, tolerance and warmup) is one the
// full second decides too, or exceeds. The check never scales in: how low
// a second ends is known only once it has.

package autoscaling

import (
	"context"
	"slices"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling/policy"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/lbmetrics"
)

// RequestCounter is implemented by a LoadBalancing that reads its load
// balancers' live counters (*elbctl.Controller does): groups with an
// ALBRequestCountPerTarget policy then also scale out on the second in
// progress. The counters are cumulative; Epoch changes when they restart.
type RequestCounter interface {
	MetricsSnapshot(ctx context.Context) (*lbmetrics.Snapshot, error)
}

var _ RequestCounter = (*elbctl.Controller)(nil)

// collectorOffset is how long after a second's boundary the metrics
// collector takes its round: the RequestCount datapoint stamped T counts
// the requests from T+collectorOffset to T+1s+collectorOffset.
const collectorOffset = 20 * time.Millisecond

// partialEvery is how often the counters are read: once in each such
// slot of the clock, by its first round. Rounds run every Interval (and
// sooner when kicked), but a read of a data-plane process costs about a
// millisecond of CPU, so 5 a second (a decision comes up to 200 ms after
// the breach).
const partialEvery = 200 * time.Millisecond

// partialBase is a target group's request counter at the first read in
// one of the collector's seconds.
type partialBase struct {
	second time.Time // when the collector's second began
	epoch  string
	count  int64
}

// collectorSecond is when the collector's second holding t began.
func collectorSecond(t time.Time) time.Time {
	return t.Add(-collectorOffset).Truncate(time.Second).Add(collectorOffset)
}

// partialDueLocked returns the target groups whose requests so far a round
// reads: those tracked by an enabled ALBRequestCountPerTarget policy of a
// group that can still grow; none when the counters were read in this
// partialEvery slot already, or the load balancers cannot read them.
func (s *Service) partialDueLocked(now time.Time) []string {
	if _, ok := s.opts.LoadBalancing.(RequestCounter); !ok || now.Truncate(partialEvery).Equal(s.lastPartial.Truncate(partialEvery)) {
		return nil
	}
	var tgs []string
	for name, g := range s.groups {
		if c := s.capacity[name]; c == nil || c.Desired >= c.Max {
			continue
		}
		for i := range g.Spec.ScalingPolicies {
			if pm := requestsPolicy(&g.Spec.ScalingPolicies[i]); pm != nil {
				if tg := requestsTargetGroup(g, pm); tg != "" && !slices.Contains(tgs, tg) {
					tgs = append(tgs, tg)
				}
			}
		}
	}
	if len(tgs) > 0 {
		s.lastPartial = now
	}
	return tgs
}

// requestsPolicy returns the metric of an enabled target tracking policy
// on ALBRequestCountPerTarget, or nil.
func requestsPolicy(p *PolicySpec) *PredefinedMetricSpec {
	if !p.enabled() || policy.PolicyType(p.PolicyType) != policy.TypeTargetTracking || p.TargetTrackingConfiguration == nil {
		return nil
	}
	pm := p.TargetTrackingConfiguration.PredefinedMetricSpecification
	if pm == nil || pm.PredefinedMetricType != policy.ALBRequestCountPerTarget {
		return nil
	}
	return pm
}

// readPartial reads the load balancers' counters and returns, per target
// group of tgs, the requests counted so far in the collector's current
// second. A group's first read in a second is the second's base and
// reports nothing; so does a read that spans the end of a second. The
// bases are the controller's own reads, so the requests served while a
// daemon was away (see albSettle) never count.
func (s *Service) readPartial(ctx context.Context, tgs []string) map[string]float64 {
	if len(tgs) == 0 {
		return nil
	}
	rc, ok := s.opts.LoadBalancing.(RequestCounter)
	if !ok {
		return nil
	}
	before := s.opts.Now()
	snap, err := rc.MetricsSnapshot(ctx)
	if err != nil || snap == nil {
		s.log.Debug("read request counters", "err", err)
		return nil
	}
	second := collectorSecond(before)
	if !collectorSecond(s.opts.Now()).Equal(second) {
		return nil
	}
	counts := map[string]int64{}
	for _, gs := range snap.Groups {
		counts[gs.TargetGroup] += gs.Counters[lbmetrics.GroupRequestCount]
	}
	out := map[string]float64{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tg := range tgs {
		n := counts[tg]
		b := s.partial[tg]
		if b == nil || !b.second.Equal(second) || b.epoch != snap.Epoch || n < b.count {
			s.partial[tg] = &partialBase{second: second, epoch: snap.Epoch, count: n}
			continue
		}
		out[tg] = float64(n - b.count)
	}
	for tg := range s.partial {
		if !slices.Contains(tgs, tg) {
			delete(s.partial, tg)
		}
	}
	return out
}

// scalePartial runs a group's ALBRequestCountPerTarget policies on the
// requests so far in the current second (readPartial) and applies the
// largest scale-out any of them decides.
func (s *Service) scalePartial(ctx context.Context, name string, now time.Time, requests map[string]float64) {
	if len(requests) == 0 {
		return
	}
	var b batch
	s.mu.Lock()
	g := s.groups[name]
	if g == nil || s.closed {
		s.mu.Unlock()
		return
	}
	c := s.capacityLocked(&b, g, now)
	s.partialPoliciesLocked(&b, g, c, requests, now)
	s.unlockCommit(ctx, &b)
}

// partialPoliciesLocked is scalePartial's decision: each policy's
// Decide on the requests so far as the second's value; only a decision
// above the desired capacity counts.
func (s *Service) partialPoliciesLocked(b *batch, g *Group, c *Capacity, requests map[string]float64, now time.Time) {
	bounds := policy.Bounds{Min: c.Min, Max: c.Max}
	var best *policy.Decision
	var seen float64
	for i := range g.Spec.ScalingPolicies {
		p := &g.Spec.ScalingPolicies[i]
		pm := requestsPolicy(p)
		if pm == nil {
			continue
		}
		n, ok := requests[requestsTargetGroup(g, pm)]
		serving := s.servingLocked(g)
		if !ok || serving == 0 {
			continue
		}
		tt, _ := p.targetTracking(&g.Spec)
		o, _ := s.observeLocked(g, c, tt.EstimatedInstanceWarmup, now)
		o.Value, o.ValueOK = perTargetPerMinute(n, serving), true
		coverInstances(&o, serving)
		if d := tt.Decide(o, bounds); d.Change && d.Desired > c.Desired && (best == nil || d.Desired > best.Desired) {
			best, seen = &d, n
		}
	}
	if best == nil {
		return
	}
	s.log.Debug("scale-out on the second so far", "group", g.Spec.Name, "policy", best.Policy, "requests", seen,
		"since", collectorSecond(now).Format("15:04:05.000"), "from", c.Desired, "to", best.Desired)
	s.setDesiredLocked(b, g, c, best.Desired, best.Reason, now)
}
