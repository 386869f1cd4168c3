package autoscaling

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/autoscaling/policy"
	"github.com/madang-dev/madang/internal/autoscaling/schedule"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/metric"
)

// albSettle is how long after the controller starts it does not read
// requests per target: after a daemon restart the collector's first second
// holds every request served while the daemon was away, which would read
// as a burst and scale the group out.
const albSettle = 3 * time.Second

// Metric freshness: a metric's newest second must be this recent to be
// used (the collector writes every second).
const (
	freshInstance = 3 * time.Second
	freshCustom   = 2 * time.Minute
)

// SetDesired sets a group's desired capacity (AWS's SetDesiredCapacity).
// With honorCooldown it is refused while the group's cooldown runs.
func (s *Service) SetDesired(ctx context.Context, name string, n int, honorCooldown bool) error {
	var b batch
	s.mu.Lock()
	g := s.groups[name]
	if g == nil {
		s.mu.Unlock()
		return fault.NotFoundf(KindGroup, name, "Auto Scaling group %q does not exist", name).WithHint("madang asg ls lists the groups")
	}
	now := s.opts.Now()
	c := s.capacityLocked(&b, g, now)
	switch {
	case n > c.Max:
		s.mu.Unlock()
		return fault.Invalidf(KindGroup, name, "New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", n, c.Max).
			WithHint(fmt.Sprintf("give a value from %d to %d, or raise maxSize in the stack file", c.Min, c.Max))
	case n < c.Min:
		s.mu.Unlock()
		return fault.Invalidf(KindGroup, name, "New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", n, c.Min).
			WithHint(fmt.Sprintf("give a value from %d to %d, or lower minSize in the stack file", c.Min, c.Max))
	case honorCooldown && !c.LastScaling.IsZero() && now.Before(c.LastScaling.Add(secondsOr(g.Spec.DefaultCooldown, policy.DefaultCooldown))):
		s.mu.Unlock()
		return fault.Conflictf(KindGroup, name, "ScalingActivityInProgress: the group is in its cooldown until %s",
			stamp(c.LastScaling.Add(secondsOr(g.Spec.DefaultCooldown, policy.DefaultCooldown)))).WithHint("wait, or leave out --honor-cooldown")
	}
	s.setDesiredLocked(&b, g, c, n, fmt.Sprintf("At %s a user request explicitly set group desired capacity changing the desired capacity from %d to %d.", stamp(now), c.Desired, n), now)
	s.unlockCommit(ctx, &b)
	s.Kick()
	return nil
}

// setDesiredLocked changes the desired capacity, recording the cause for
// the activities that follow.
func (s *Service) setDesiredLocked(b *batch, g *Group, c *Capacity, n int, cause string, now time.Time) {
	if n == c.Desired {
		return
	}
	s.opts.Events.Info(KindGroup, g.Spec.Name, "desired capacity %d → %d: %s", c.Desired, n, cause)
	s.log.Debug("desired capacity", "group", g.Spec.Name, "from", c.Desired, "to", n)
	c.Desired, c.Cause, c.LastScaling = n, cause, now
	b.put(CapacityPrefix+g.Spec.Name, c)
}

// scale runs a group's due scheduled actions and its scaling policies.
func (s *Service) scale(ctx context.Context, name string, now time.Time) {
	var b batch
	s.mu.Lock()
	g := s.groups[name]
	if g == nil || s.closed {
		s.mu.Unlock()
		return
	}
	c := s.capacityLocked(&b, g, now)
	if !g.suspended(ProcessScheduledActions) {
		s.scheduleLocked(&b, g, c, now)
	}
	s.policiesLocked(&b, g, c, now)
	s.unlockCommit(ctx, &b)
}

// scheduleLocked applies the scheduled actions due since the last round
// (only each action's latest run after a long stop).
func (s *Service) scheduleLocked(b *batch, g *Group, c *Capacity, now time.Time) {
	if len(g.Spec.ScheduledActions) == 0 {
		return
	}
	last := c.ScheduleChecked
	if last.IsZero() || now.Sub(last) > 24*time.Hour {
		last = now.Add(-time.Second)
	}
	actions := make([]schedule.Action, 0, len(g.Spec.ScheduledActions))
	for i := range g.Spec.ScheduledActions {
		actions = append(actions, g.Spec.ScheduledActions[i].scheduleAction())
	}
	fired := schedule.Due(actions, last, now)
	latest := map[string]schedule.Fired{}
	var order []string
	for _, f := range fired {
		if _, ok := latest[f.Action.Name]; !ok {
			order = append(order, f.Action.Name)
		}
		latest[f.Action.Name] = f
	}
	for _, n := range order {
		f := latest[n]
		a := f.Action
		from := c.Desired
		if a.MinSize != nil {
			c.Min = *a.MinSize
		}
		if a.MaxSize != nil {
			c.Max = *a.MaxSize
		}
		if a.DesiredCapacity != nil {
			c.Desired = *a.DesiredCapacity
		}
		c.Desired = min(max(c.Desired, c.Min), c.Max)
		cause := fmt.Sprintf("At %s a scheduled action update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d changing the desired capacity from %d to %d.",
			stamp(f.At), c.Min, c.Max, c.Desired, from, c.Desired)
		s.opts.Events.Info(KindGroup, g.Spec.Name, "scheduled action %s: min %d, max %d, desired %d", a.Name, c.Min, c.Max, c.Desired)
		if c.Desired != from {
			c.Cause, c.LastScaling = cause, now
		} else {
			s.recordActivityLocked(b, g.Spec.Name, fmt.Sprintf("Executing scheduled action %s", a.Name), cause, StatusSuccessful, "", now)
		}
	}
	// Saved when something ran, and otherwise every minute: a restart
	// replays at most a minute of schedule (and only each action's
	// latest run).
	if len(order) > 0 || now.Sub(c.ScheduleChecked) >= time.Minute {
		c.ScheduleChecked = now
		b.put(CapacityPrefix+g.Spec.Name, c)
	} else {
		c.ScheduleChecked = now
	}
}

// observe measures the group for a policy decision.
func (s *Service) observeLocked(g *Group, c *Capacity, warmup time.Duration, now time.Time) (o policy.Observation, counted []*Member) {
	o = policy.Observation{Now: now, Desired: c.Desired}
	for _, m := range s.membersLocked(g.Spec.Name) {
		if !counts(m) {
			continue
		}
		if m.Lifecycle == InService && now.Sub(m.InServiceAt) >= warmup {
			o.InService++
			counted = append(counted, m)
		} else {
			o.Warming++
		}
	}
	o.Warming += s.inflight[g.Spec.Name]
	return o, counted
}

// policiesLocked makes every enabled policy's decision and applies the
// winner (the largest capacity), as AWS combines several policies.
func (s *Service) policiesLocked(b *batch, g *Group, c *Capacity, now time.Time) {
	if len(g.Spec.ScalingPolicies) == 0 {
		return
	}
	bounds := policy.Bounds{Min: c.Min, Max: c.Max}
	var ds []policy.Decision
	alarmsOn := !g.suspended(ProcessAlarmNotification)
	var views map[string][]alarmBreach
	if alarmsOn && s.opts.Alarms != nil {
		views = s.breaches(g)
	}
	if c.Recommendations == nil {
		c.Recommendations = map[string][]policy.Recommendation{}
	}
	if c.AlarmsSeen == nil {
		c.AlarmsSeen = map[string]time.Time{}
	}
	for i := range g.Spec.ScalingPolicies {
		p := &g.Spec.ScalingPolicies[i]
		if !p.enabled() {
			continue
		}
		switch policy.PolicyType(p.PolicyType) {
		case policy.TypeTargetTracking:
			tt, spec := p.targetTracking(&g.Spec)
			o, counted := s.observeLocked(g, c, tt.EstimatedInstanceWarmup, now)
			var over int
			o.Value, over, o.ValueOK = s.measureLocked(g, spec, counted, now)
			coverInstances(&o, over)
			d := tt.Decide(o, bounds)
			window := secondsOr(spec.ScaleInStabilizationSeconds, policy.DefaultScaleInStabilization)
			recs := append(c.Recommendations[p.Name], policy.Recommendation{At: now, Desired: d.Desired})
			for len(recs) > 0 && now.Sub(recs[0].At) > window {
				recs = recs[1:]
			}
			if len(recs) > recommendationsKeep {
				recs = recs[len(recs)-recommendationsKeep:]
			}
			c.Recommendations[p.Name] = recs
			if d.Change && d.Desired < o.Desired {
				// Scale in only to the highest wish of the window, and only
				// once the window is full (after a restart it is not).
				stable, _ := policy.Stabilize(now, window, recs)
				if full := len(recs) > 0 && now.Sub(recs[0].At) >= window-2*time.Second; !full || stable >= o.Desired {
					d = policy.Decision{Policy: p.Name, Type: policy.TypeTargetTracking, Desired: o.Desired,
						Reason: fmt.Sprintf("scale-in to %d waits for the %s stabilization window", d.Desired, window)}
				} else {
					d.Desired = stable
					d.Reason = policy.Cause(now, "a monitor alarm TargetTracking-"+p.Name+"-AlarmLow in state ALARM", p.Name, o.Desired, stable)
				}
			}
			ds = append(ds, d)
		case policy.TypeStepScaling, policy.TypeSimpleScaling:
			for _, br := range views[p.Name] {
				if !br.evaluated.After(c.AlarmsSeen[p.Name]) {
					continue
				}
				c.AlarmsSeen[p.Name] = br.evaluated
				b.put(CapacityPrefix+g.Spec.Name, c)
				ds = append(ds, s.alarmDecisionLocked(g, c, p, br, c.LastScaling, bounds, now))
			}
		}
	}
	d := policy.Combine(c.Desired, ds)
	if d.Change {
		s.setDesiredLocked(b, g, c, d.Desired, d.Reason, now)
	}
}

// alarmDecisionLocked is a step or simple scaling policy's decision when
// its alarm fires (or ExecutePolicy runs it, execute.go): br names the
// alarm and carries its metric's value and threshold, for a step policy's
// step; a simple policy ignores the alarm during the cooldown that began at
// lastActivity (the zero time: no cooldown).
func (s *Service) alarmDecisionLocked(g *Group, c *Capacity, p *PolicySpec, br alarmBreach, lastActivity time.Time, bounds policy.Bounds, now time.Time) policy.Decision {
	if policy.PolicyType(p.PolicyType) == policy.TypeSimpleScaling {
		o, _ := s.observeLocked(g, c, 0, now)
		o.Alarm = br.alarm
		return p.simpleScaling(&g.Spec).Decide(o, lastActivity, bounds)
	}
	st, _ := p.stepScaling(&g.Spec)
	o, _ := s.observeLocked(g, c, st.EstimatedInstanceWarmup, now)
	o.Alarm, o.Value, o.ValueOK = br.alarm, br.value, br.valueOK
	return st.Decide(o, br.threshold, bounds)
}

// measureLocked reads a target tracking policy's metric: its value, how
// many instances it covers (0: not per instance), and whether there is
// data.
func (s *Service) measureLocked(g *Group, spec *TargetTrackingSpec, counted []*Member, now time.Time) (float64, int, bool) {
	if s.opts.Metrics == nil {
		return 0, 0, false
	}
	latest := func(id metric.ID, fresh time.Duration) (metric.StatSet, bool) {
		t, st, ok := s.opts.Metrics.Latest(id)
		if !ok || now.Sub(t) > fresh {
			return metric.StatSet{}, false
		}
		return st, true
	}
	if pm := spec.PredefinedMetricSpecification; pm != nil {
		switch pm.PredefinedMetricType {
		case policy.ASGAverageCPUUtilization:
			if len(counted) == 0 {
				return 0, 0, false
			}
			sum, n := 0.0, 0
			for _, m := range counted {
				st, ok := latest(metric.ID{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: []metric.Dimension{{Name: "InstanceId", Value: m.InstanceID}}}, freshInstance)
				if ok && st.SampleCount > 0 {
					sum += st.Sum / st.SampleCount
					n++
				}
			}
			if n == 0 {
				return 0, 0, false
			}
			return sum / float64(n), n, true
		case policy.ALBRequestCountPerTarget:
			if now.Sub(s.started) < albSettle {
				return 0, 0, false
			}
			serving := s.servingLocked(g)
			if serving == 0 {
				return 0, 0, false
			}
			// A second without requests reports no RequestCount (as
			// AWS); for the tracked group it means zero requests.
			st, ok := latest(metric.ID{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: []metric.Dimension{{Name: "TargetGroup", Value: requestsTargetGroup(g, pm)}}}, 2*time.Second)
			count := 0.0
			if ok {
				count = st.Sum
			}
			return perTargetPerMinute(count, serving), serving, true
		}
		return 0, 0, false // ASGAverageNetworkIn/Out: not measured per instance
	}
	cm := spec.CustomizedMetricSpecification
	if cm == nil {
		return 0, 0, false
	}
	id := metric.ID{Namespace: cm.Namespace, Name: cm.MetricName}
	for _, d := range cm.Dimensions {
		id.Dimensions = append(id.Dimensions, metric.Dimension{Name: d.Name, Value: d.Value})
	}
	st, ok := latest(id, freshCustom)
	if !ok || st.SampleCount == 0 {
		return 0, 0, false
	}
	switch cm.Statistic {
	case "Sum":
		return st.Sum, 0, true
	case "Minimum":
		return st.Minimum, 0, true
	case "Maximum":
		return st.Maximum, 0, true
	case "SampleCount":
		return st.SampleCount, 0, true
	}
	return st.Sum / st.SampleCount, 0, true
}

// coverInstances makes the over instances a metric covers (0: not per
// instance) the proportional rule's current capacity. Counted ones without
// data yet are warming; for ALBRequestCountPerTarget, requests are spread
// over every InService target, warm or not.
func coverInstances(o *policy.Observation, over int) {
	if over <= 0 {
		return
	}
	o.Warming += o.InService - over
	o.InService = over
	o.Warming = max(o.Warming, 0)
}

// requestsTargetGroup is the target group whose requests an
// ALBRequestCountPerTarget policy tracks: its resource label's, or the
// group's first.
func requestsTargetGroup(g *Group, pm *PredefinedMetricSpec) string {
	tg := labelTargetGroup(pm.ResourceLabel)
	if tg == "" && len(g.Spec.TargetGroups) > 0 {
		tg = g.Spec.TargetGroups[0]
	}
	return tg
}

// servingLocked counts the group's targets that share its requests:
// InService and healthy.
func (s *Service) servingLocked(g *Group) int {
	serving := 0
	for _, m := range s.membersLocked(g.Spec.Name) {
		if m.Lifecycle == InService && m.Health == HealthHealthy {
			serving++
		}
	}
	return serving
}

// perTargetPerMinute is ALBRequestCountPerTarget from a second's requests
// over serving targets: per target and per minute, as AWS's 1-minute
// metric.
func perTargetPerMinute(requests float64, serving int) float64 {
	return requests * 60 / float64(serving)
}

// alarmBreach is an alarm in state ALARM whose actions run a policy.
type alarmBreach struct {
	alarm     string
	evaluated time.Time
	value     float64
	valueOK   bool
	threshold float64
}

// breaches returns, per policy of g, the alarms in ALARM that name it.
// While an alarm stays in ALARM, each of its evaluations runs the policy
// again, as CloudWatch invokes Auto Scaling actions every period.
func (s *Service) breaches(g *Group) map[string][]alarmBreach {
	out := map[string][]alarmBreach{}
	for _, v := range s.opts.Alarms.Alarms() {
		if v.State.State != alarm.Alarm {
			continue
		}
		var actions []string
		switch {
		case v.Metric != nil:
			if v.Metric.ActionsEnabled != nil && !*v.Metric.ActionsEnabled {
				continue
			}
			actions = v.Metric.AlarmActions
		case v.Composite != nil:
			actions = v.Composite.AlarmActions
		}
		for _, a := range actions {
			group, pol, err := ParsePolicyRef(a)
			if err != nil || group != g.Spec.Name {
				continue
			}
			if !slices.ContainsFunc(g.Spec.ScalingPolicies, func(p PolicySpec) bool { return p.Name == pol }) {
				continue
			}
			br := alarmBreach{alarm: v.Name, evaluated: v.State.EvaluatedAt}
			if br.evaluated.IsZero() {
				br.evaluated = v.State.UpdatedAt
			}
			var rd struct {
				Recent    []float64 `json:"recentDatapoints"`
				Threshold *float64  `json:"threshold"`
			}
			if json.Unmarshal(v.State.ReasonData, &rd) == nil {
				if len(rd.Recent) > 0 {
					br.value, br.valueOK = rd.Recent[len(rd.Recent)-1], true
				}
				if rd.Threshold != nil {
					br.threshold = *rd.Threshold
				}
			}
			if v.Metric != nil && rd.Threshold == nil && v.Metric.Threshold != nil {
				br.threshold = *v.Metric.Threshold
			}
			if math.IsNaN(br.value) {
				br.valueOK = false
			}
			out[pol] = append(out[pol], br)
		}
	}
	return out
}
