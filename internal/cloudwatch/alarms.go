package cloudwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/state"
)

// AlarmState is an alarm's live state, stored under StatePrefix so it
// survives restarts.
type AlarmState struct {
	Name   string      `json:"name"`
	State  alarm.State `json:"state"`
	Reason string      `json:"reason"`
	// ReasonData is AWS's StateReasonData JSON.
	ReasonData json.RawMessage `json:"reasonData,omitempty"`
	// UpdatedAt is when the state last changed.
	UpdatedAt time.Time `json:"updatedAt"`
	// EvaluatedAt is the last evaluation.
	EvaluatedAt time.Time `json:"evaluatedAt"`
	// ConfigUpdatedAt is the spec's UpdatedAt that was last evaluated.
	ConfigUpdatedAt time.Time `json:"configUpdatedAt"`
}

// historyKeep bounds each alarm's stored history (CloudWatch keeps 30
// days).
const (
	historyKeep    = 200
	historyMaxAge  = 30 * 24 * time.Hour
	statesPrefix   = StatePrefix + "alarms/"
	historyPrefix  = StatePrefix + "history/"
	actionsTimeout = 30 * time.Second
)

func (s *Service) loadStates(ctx context.Context) error {
	kvs, _, err := s.opts.Store.List(ctx, statesPrefix)
	if err != nil {
		return fmt.Errorf("load alarm states: %w", err)
	}
	for _, kv := range kvs {
		var st AlarmState
		if err := json.Unmarshal(kv.Value, &st); err != nil {
			s.log.Warn("decode alarm state", "key", kv.Key, "err", err)
			continue
		}
		s.states[st.Name] = &st
	}
	return nil
}

// evaluation is one alarm's evaluation, decided under mu and stored and
// acted on after.
type evaluation struct {
	name    string
	prev    alarm.State
	res     alarm.Result
	spec    any // *AlarmSpec or *CompositeAlarmSpec
	updated time.Time
	initial bool
	// config marks an alarm created or changed since its last evaluation.
	config bool
	// reasonData, when set, is stored as the StateReasonData instead of
	// res.ReasonData (SetAlarmState's own).
	reasonData json.RawMessage
}

// evaluate evaluates every metric alarm whose period has ended since its
// last evaluation (or whose spec changed, or all when forced), then the
// composite alarms, stores state changes and history, and runs actions.
func (s *Service) evaluate(ctx context.Context, kicked bool) {
	now := s.opts.Now()
	s.mu.Lock()
	rev := s.seenRev
	alarms := make([]*Alarm, 0, len(s.alarms))
	for _, a := range s.alarms {
		alarms = append(alarms, a)
	}
	composites := make([]*CompositeAlarm, 0, len(s.composites))
	for _, c := range s.composites {
		composites = append(composites, c)
	}
	dirty := s.dirty
	s.dirty = map[string]bool{}
	states := make(map[string]AlarmState, len(s.states))
	for k, v := range s.states {
		states[k] = *v
	}
	s.mu.Unlock()
	sort.Slice(alarms, func(i, j int) bool { return alarms[i].Spec.Name < alarms[j].Spec.Name })
	sort.Slice(composites, func(i, j int) bool { return composites[i].Spec.Name < composites[j].Spec.Name })

	var evs []evaluation
	var gone []string
	for name := range dirty {
		s.mu.Lock()
		_, a := s.alarms[name]
		_, c := s.composites[name]
		s.mu.Unlock()
		if !a && !c {
			gone = append(gone, name)
		}
	}
	cur := map[string]alarm.State{}
	for _, a := range alarms {
		st, known := states[a.Spec.Name]
		changed := !known || !st.ConfigUpdatedAt.Equal(a.UpdatedAt)
		if !changed && !due(a.Spec.EffectivePeriod(), st.EvaluatedAt, now) {
			cur[a.Spec.Name] = st.State
			continue
		}
		prev := st.State
		if !known {
			prev = alarm.InsufficientData
		}
		res := s.evaluateAlarm(&a.Spec, prev, now)
		ev := evaluation{name: a.Spec.Name, prev: prev, res: res, spec: &a.Spec, updated: a.UpdatedAt, initial: !known, config: changed}
		if !known && res.State == alarm.InsufficientData {
			ev.res.Changed = true
		}
		evs = append(evs, ev)
		cur[a.Spec.Name] = res.State
	}
	for _, c := range composites {
		st, known := states[c.Spec.Name]
		prev := st.State
		if !known {
			prev = alarm.InsufficientData
		}
		e, err := alarm.ParseRule(c.Spec.AlarmRule)
		if err != nil {
			continue
		}
		view := map[string]alarm.State{}
		for _, r := range e.Refs() {
			if v, ok := cur[r]; ok {
				view[r] = v
			} else if v, ok := states[r]; ok {
				view[r] = v.State
			}
		}
		res := alarm.EvaluateComposite(e, view, prev, now)
		if known && !res.Changed && st.ConfigUpdatedAt.Equal(c.UpdatedAt) && !due(60, st.EvaluatedAt, now) {
			continue
		}
		ev := evaluation{name: c.Spec.Name, prev: prev, res: res, spec: &c.Spec, updated: c.UpdatedAt, initial: !known,
			config: !known || !st.ConfigUpdatedAt.Equal(c.UpdatedAt)}
		if !known {
			ev.res.Changed = true
		}
		evs = append(evs, ev)
	}
	s.commit(ctx, evs, gone, now)
	if kicked || len(dirty) > 0 {
		s.evaluated.Advance(rev)
	}
}

// due reports whether an alarm with the given period (seconds) is due for
// evaluation: CloudWatch evaluates every period, at most every minute for
// periods of a minute or more.
func due(period int, last, now time.Time) bool {
	every := time.Duration(period) * time.Second
	if every > time.Minute {
		every = time.Minute
	}
	if every <= 0 {
		every = time.Minute
	}
	return now.Truncate(every).After(last.Truncate(every)) || last.IsZero()
}

// evaluateAlarm queries the alarm's datapoints and decides its state.
func (s *Service) evaluateAlarm(a *AlarmSpec, prev alarm.State, now time.Time) alarm.Result {
	rule := a.Rule()
	start, end := rule.Window(now)
	points, err := s.alarmPoints(a, start, end)
	if err != nil {
		return alarm.Result{State: prev, Reason: "Unchecked: " + err.Error()}
	}
	return alarm.Evaluate(rule, points, prev, now)
}

// alarmPoints returns the datapoints of the alarm's statistic or
// expression per period over [start, end).
func (s *Service) alarmPoints(a *AlarmSpec, start, end time.Time) ([]alarm.Datapoint, error) {
	period := time.Duration(a.EffectivePeriod()) * time.Second
	if len(a.Metrics) > 0 {
		res, err := s.GetMetricData(a.Metrics, start, end, period)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			if !r.returned {
				continue
			}
			out := make([]alarm.Datapoint, len(r.Timestamps))
			for i := range r.Timestamps {
				out[i] = alarm.Datapoint{Timestamp: r.Timestamps[i], Value: r.Values[i], SampleCount: 1}
			}
			return out, nil
		}
		return nil, nil
	}
	st, err := metric.ParseStatistic(a.StatName())
	if err != nil {
		return nil, err
	}
	id := MetricRef{Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: a.Dimensions}.ID()
	times, values, counts, err := s.metrics.Series(id, st, start, end, period)
	if err != nil {
		return nil, err
	}
	out := make([]alarm.Datapoint, len(times))
	for i := range times {
		out[i] = alarm.Datapoint{Timestamp: times[i], Value: values[i], SampleCount: counts[i]}
	}
	return out, nil
}

// commit stores the evaluations' states (one transaction), appends history
// for changes and runs the actions of changed states.
func (s *Service) commit(ctx context.Context, evs []evaluation, gone []string, now time.Time) {
	if len(evs) == 0 && len(gone) == 0 {
		return
	}
	var ops []state.Op
	var hist []alarm.HistoryItem
	// New states are built on copies and become visible (to the API, to
	// the next evaluation) only once stored: a state the API showed is
	// never lost by a crash right after.
	installs := make([]*AlarmState, 0, len(evs))
	s.mu.Lock()
	for _, ev := range evs {
		st := &AlarmState{Name: ev.name}
		if cur := s.states[ev.name]; cur != nil {
			*st = *cur
		}
		installs = append(installs, st)
		st.EvaluatedAt = now
		st.ConfigUpdatedAt = ev.updated
		if ev.config {
			hist = append(hist, alarm.ConfigurationUpdate(ev.name, ev.initial, now))
		}
		if ev.res.Changed || ev.initial {
			st.State, st.Reason, st.UpdatedAt = ev.res.State, ev.res.Reason, now
			st.ReasonData, _ = json.Marshal(ev.res.ReasonData)
			if ev.reasonData != nil {
				st.ReasonData = ev.reasonData
			}
			// A new alarm starts in INSUFFICIENT_DATA: staying there is no
			// state update.
			if ev.res.State != ev.prev {
				hist = append(hist, alarm.StateUpdate(ev.name, ev.prev, ev.res, now))
			}
		}
		b, _ := json.Marshal(st)
		ops = append(ops, state.Op{Type: state.OpPut, Key: statesPrefix + ev.name, Value: b})
	}
	for _, name := range gone {
		ops = append(ops, state.Op{Type: state.OpDelete, Key: statesPrefix + name})
	}
	s.mu.Unlock()
	for _, h := range hist {
		ops = append(ops, s.historyOp(h))
	}
	if _, err := s.opts.Store.Txn(ctx, nil, ops); err != nil {
		// Nothing changes: the next evaluation tries again.
		s.log.Warn("store alarm states", "err", err)
		return
	}
	s.mu.Lock()
	for _, st := range installs {
		s.states[st.Name] = st
	}
	for _, name := range gone {
		delete(s.states, name)
	}
	s.mu.Unlock()
	for _, name := range gone {
		s.trimHistory(ctx, name, 0)
	}
	for _, ev := range evs {
		if !ev.res.Changed || ev.res.State == ev.prev {
			continue
		}
		if s.opts.Events != nil {
			s.opts.Events.Info("alarm", ev.name, "%s → %s: %s", ev.prev, ev.res.State, ev.res.Reason)
		}
		s.runActions(ev.name, ev.spec, ev.prev, ev.res, now)
		s.trimHistory(ctx, ev.name, historyKeep)
	}
}

// historyOp stores a history item under its time and a sequence number,
// so items of the same instant keep their order.
func (s *Service) historyOp(h alarm.HistoryItem) state.Op {
	b, _ := json.Marshal(h)
	seq := s.historySeq.Add(1)
	return state.Op{Type: state.OpPut, Key: fmt.Sprintf("%s%s/%020d-%08d", historyPrefix, h.AlarmName, h.Timestamp.UnixNano(), seq%100000000), Value: b}
}

// trimHistory keeps an alarm's newest keep items younger than 30 days.
func (s *Service) trimHistory(ctx context.Context, name string, keep int) {
	kvs, _, err := s.opts.Store.List(ctx, historyPrefix+name+"/")
	if err != nil {
		return
	}
	cutoff := fmt.Sprintf("%020d", s.opts.Now().Add(-historyMaxAge).UnixNano())
	var ops []state.Op
	for i, kv := range kvs {
		if i < len(kvs)-keep || kv.Key[strings.LastIndexByte(kv.Key, '/')+1:] < cutoff {
			ops = append(ops, state.Op{Type: state.OpDelete, Key: kv.Key})
		}
	}
	if len(ops) > 0 {
		if _, err := s.opts.Store.Txn(ctx, nil, ops); err != nil {
			s.log.Warn("trim alarm history", "alarm", name, "err", err)
		}
	}
}

// History returns an alarm's history, newest first (all alarms when name
// is empty), of the given type ("" for all).
func (s *Service) History(ctx context.Context, name, typ string, limit int) ([]alarm.HistoryItem, error) {
	prefix := historyPrefix
	if name != "" {
		prefix += name + "/"
	}
	kvs, _, err := s.opts.Store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []alarm.HistoryItem
	// Keys sort by time then sequence: newest last.
	for i := len(kvs) - 1; i >= 0; i-- {
		var h alarm.HistoryItem
		if json.Unmarshal(kvs[i].Value, &h) != nil {
			continue
		}
		if typ == "" || strings.EqualFold(h.Type, typ) {
			out = append(out, h)
		}
	}
	if name == "" {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp.After(out[j].Timestamp) })
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// AlarmView is an alarm with its live state, for the API.
type AlarmView struct {
	Name      string              `json:"name"`
	Type      string              `json:"type"` // MetricAlarm or CompositeAlarm
	ARN       string              `json:"arn"`
	Metric    *AlarmSpec          `json:"metric,omitempty"`
	Composite *CompositeAlarmSpec `json:"composite,omitempty"`
	Owner     string              `json:"owner,omitempty"`
	State     AlarmState          `json:"state"`
}

// Alarms returns every alarm with its state, sorted by name.
func (s *Service) Alarms() []AlarmView {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AlarmView
	stateOf := func(name string) AlarmState {
		if st, ok := s.states[name]; ok {
			return *st
		}
		return AlarmState{Name: name, State: alarm.InsufficientData, Reason: "Unchecked: Initial alarm creation"}
	}
	for _, a := range s.alarms {
		spec := a.Spec
		out = append(out, AlarmView{Name: a.Spec.Name, Type: "MetricAlarm", ARN: a.ARN, Metric: &spec, Owner: a.Owner, State: stateOf(a.Spec.Name)})
	}
	for _, c := range s.composites {
		spec := c.Spec
		out = append(out, AlarmView{Name: c.Spec.Name, Type: "CompositeAlarm", ARN: c.ARN, Composite: &spec, Owner: c.Owner, State: stateOf(c.Spec.Name)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SetAlarmState sets an alarm's state until its next evaluation, as
// CloudWatch's SetAlarmState (for testing actions): the change is stored,
// recorded in history and acts.
func (s *Service) SetAlarmState(ctx context.Context, name string, st alarm.State, reason string) error {
	return s.SetAlarmStateData(ctx, name, st, reason, nil)
}

// SetAlarmStateData is SetAlarmState with the caller's StateReasonData
// (a JSON object; nil for CloudWatch's {"version":"1.0"}).
func (s *Service) SetAlarmStateData(ctx context.Context, name string, st alarm.State, reason string, data json.RawMessage) error {
	if data != nil && !json.Valid(data) {
		return fault.Invalidf("alarm", name, "stateReasonData is not valid JSON").WithHint("give a JSON object or leave it out")
	}
	switch st {
	case alarm.OK, alarm.Alarm, alarm.InsufficientData:
	default:
		return fault.Invalidf("alarm", name, "stateValue %q is not an alarm state", st).WithHint("use OK, ALARM or INSUFFICIENT_DATA")
	}
	if strings.TrimSpace(reason) == "" {
		return fault.Invalidf("alarm", name, "stateReason is missing").WithHint("say why the state is set (--reason)")
	}
	now := s.opts.Now()
	s.mu.Lock()
	var spec any
	var updated time.Time
	if a, ok := s.alarms[name]; ok {
		spec, updated = &a.Spec, a.UpdatedAt
	} else if c, ok := s.composites[name]; ok {
		spec, updated = &c.Spec, c.UpdatedAt
	}
	prev := alarm.InsufficientData
	if cur, ok := s.states[name]; ok {
		prev = cur.State
	}
	s.mu.Unlock()
	if spec == nil {
		return fault.NotFoundf("alarm", name, "no alarm named %q", name).WithHint("list alarms with: madang alarms")
	}
	res := alarm.Result{State: st, Reason: reason, Changed: st != prev,
		ReasonData: alarm.ReasonData{Version: "1.0"}}
	s.commit(ctx, []evaluation{{name: name, prev: prev, res: res, spec: spec, updated: updated, reasonData: data}}, nil, now)
	return nil
}

// runActions starts the actions for a state change in the background.
func (s *Service) runActions(name string, spec any, prev alarm.State, res alarm.Result, now time.Time) {
	var actions []string
	var enabled bool
	var n Notification
	var dims map[string]string
	switch sp := spec.(type) {
	case *AlarmSpec:
		enabled = sp.ActionsEnabled == nil || *sp.ActionsEnabled
		actions = actionsFor(res.State, sp.AlarmActions, sp.OKActions, sp.InsufficientDataActions)
		n = notification(name, sp.Description, prev, res, now, sp.AlarmActions, sp.OKActions, sp.InsufficientDataActions)
		n.Trigger = triggerOf(sp)
		dims = sp.Dimensions
	case *CompositeAlarmSpec:
		enabled = sp.ActionsEnabled == nil || *sp.ActionsEnabled
		actions = actionsFor(res.State, sp.AlarmActions, sp.OKActions, sp.InsufficientDataActions)
		n = notification(name, sp.Description, prev, res, now, sp.AlarmActions, sp.OKActions, sp.InsufficientDataActions)
		n.AlarmRule = sp.AlarmRule
	}
	if !enabled || len(actions) == 0 {
		return
	}
	for _, raw := range actions {
		a, err := ParseAction(raw)
		if err != nil {
			continue
		}
		s.actions.Add(1)
		go func() {
			defer s.actions.Done()
			ctx, cancel := context.WithTimeout(context.Background(), actionsTimeout)
			defer cancel()
			err := s.exec.run(ctx, a, n, dims)
			h := alarm.HistoryItem{Timestamp: s.opts.Now(), AlarmName: name, Type: "Action"}
			if err != nil {
				h.Summary = "Failed to execute action " + raw
				h.Data = mustJSON(map[string]string{"actionState": "Failed", "stateUpdateTimestamp": now.UTC().Format(time.RFC3339Nano), "notificationResource": raw, "error": err.Error()})
				if s.opts.Events != nil {
					s.opts.Events.Warn("alarm", name, "action %s failed: %v", raw, err)
				}
			} else {
				h.Summary = "Successfully executed action " + raw
				h.Data = mustJSON(map[string]string{"actionState": "Succeeded", "stateUpdateTimestamp": now.UTC().Format(time.RFC3339Nano), "notificationResource": raw})
			}
			if _, err := s.opts.Store.Txn(ctx, nil, []state.Op{s.historyOp(h)}); err != nil {
				s.log.Warn("store alarm history", "err", err)
			}
		}()
	}
}

func actionsFor(st alarm.State, alarmA, okA, insA []string) []string {
	switch st {
	case alarm.Alarm:
		return alarmA
	case alarm.OK:
		return okA
	}
	return insA
}

func notification(name, desc string, prev alarm.State, res alarm.Result, now time.Time, a, ok, ins []string) Notification {
	n := Notification{
		AlarmName: name, AWSAccountID: AccountID, NewStateValue: res.State, NewStateReason: res.Reason,
		StateChangeTime: now.UTC().Format("2006-01-02T15:04:05.000+0000"), Region: Region, AlarmARN: AlarmARN(name),
		OldStateValue: prev, AlarmActions: orEmpty(a), OKActions: orEmpty(ok), InsufficientDataActions: orEmpty(ins),
		AlarmConfigurationUpdatedTimestamp: now.UTC().Format("2006-01-02T15:04:05.000+0000"),
	}
	if desc != "" {
		n.AlarmDescription = &desc
	}
	return n
}

func triggerOf(sp *AlarmSpec) *Trigger {
	t := &Trigger{MetricName: sp.MetricName, Namespace: sp.Namespace, Period: sp.EffectivePeriod(),
		EvaluationPeriods: sp.EvaluationPeriods, DatapointsToAlarm: sp.DatapointsToAlarm,
		ComparisonOperator: sp.ComparisonOperator, TreatMissingData: sp.TreatMissingData,
		EvaluateLowSampleCountPercentile: sp.EvaluateLowSampleCountPercentile, Dimensions: []TriggerDim{}, Metrics: sp.Metrics}
	if sp.Threshold != nil {
		t.Threshold = *sp.Threshold
	}
	if sp.ExtendedStatistic != "" {
		t.StatisticType, t.ExtendedStatistic = "ExtendedStatistic", sp.ExtendedStatistic
	} else if sp.Statistic != "" {
		t.StatisticType, t.Statistic = "Statistic", strings.ToUpper(sp.Statistic)
	}
	if sp.Unit != "" {
		u := sp.Unit
		t.Unit = &u
	}
	for _, d := range (MetricRef{Dimensions: sp.Dimensions}).ID().Dimensions {
		t.Dimensions = append(t.Dimensions, TriggerDim{Name: d.Name, Value: d.Value})
	}
	return t
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
