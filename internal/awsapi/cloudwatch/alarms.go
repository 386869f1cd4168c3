package cloudwatch

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	cw "github.com/madang-dev/madang/internal/cloudwatch"
)

// CloudWatch's limits on alarm calls.
const (
	maxAlarmNames       = 100
	describeAlarmsPage  = 50
	maxDescribeAlarms   = 100
	historyPage         = 100
	typeMetricAlarm     = "MetricAlarm"
	typeCompositeAlarm  = "CompositeAlarm"
	defaultAlarmTypeMsg = "MetricAlarm or CompositeAlarm"
)

func (s *Service) putMetricAlarm(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	if in.String("ThresholdMetricId") != "" {
		return nil, protocol.Errorf("InvalidParameterValue", "ThresholdMetricId (anomaly detection bands) is not supported by madang; give a Threshold")
	}
	dims, err := dimensions(in, "Dimensions")
	if err != nil {
		return nil, err
	}
	spec := cw.AlarmSpec{
		Name: in.String("AlarmName"), Description: in.String("AlarmDescription"),
		Namespace: in.String("Namespace"), MetricName: in.String("MetricName"), Dimensions: dims,
		Statistic: in.String("Statistic"), ExtendedStatistic: in.String("ExtendedStatistic"), Unit: in.String("Unit"),
		Period: int(in.Int("Period")), EvaluationPeriods: int(in.Int("EvaluationPeriods")), DatapointsToAlarm: int(in.Int("DatapointsToAlarm")),
		ComparisonOperator: in.String("ComparisonOperator"), TreatMissingData: in.String("TreatMissingData"),
		EvaluateLowSampleCountPercentile: in.String("EvaluateLowSampleCountPercentile"),
		AlarmActions:                     in.Strings("AlarmActions"), OKActions: in.Strings("OKActions"), InsufficientDataActions: in.Strings("InsufficientDataActions"),
	}
	if in.Has("Threshold") {
		t := in.Float("Threshold")
		spec.Threshold = &t
	}
	if in.Has("ActionsEnabled") {
		b := in.Bool("ActionsEnabled")
		spec.ActionsEnabled = &b
	}
	if in.Has("Metrics") {
		if spec.Metrics, err = metricQueries(in.Structs("Metrics"), "Metrics"); err != nil {
			return nil, err
		}
		if spec.Namespace != "" || spec.MetricName != "" || spec.Statistic != "" || spec.ExtendedStatistic != "" || spec.Period != 0 {
			return nil, protocol.Errorf("InvalidParameterCombination", "Metrics is given together with MetricName, Namespace, Statistic, ExtendedStatistic or Period; give either one metric or Metrics (metric math)")
		}
	}
	if spec.Statistic != "" && spec.ExtendedStatistic != "" {
		return nil, protocol.Errorf("InvalidParameterCombination", "Statistic and ExtendedStatistic are both given; give one of them")
	}
	if err := s.putAlarm(ctx, cw.KindAlarm, spec.Name, typeMetricAlarm, &spec); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (s *Service) putCompositeAlarm(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	spec := cw.CompositeAlarmSpec{
		Name: in.String("AlarmName"), Description: in.String("AlarmDescription"), AlarmRule: in.String("AlarmRule"),
		AlarmActions: in.Strings("AlarmActions"), OKActions: in.Strings("OKActions"), InsufficientDataActions: in.Strings("InsufficientDataActions"),
	}
	if in.Has("ActionsEnabled") {
		b := in.Bool("ActionsEnabled")
		spec.ActionsEnabled = &b
	}
	if in.Has("ActionsSuppressor") {
		return nil, protocol.Errorf("InvalidParameterValue", "ActionsSuppressor is not supported by madang; leave it out")
	}
	if err := s.putAlarm(ctx, cw.KindCompositeAlarm, spec.Name, typeCompositeAlarm, &spec); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// putAlarm creates or replaces a hand-made alarm, refusing a stack's and
// an alarm of the other type of that name.
func (s *Service) putAlarm(ctx context.Context, kind, name, typ string, spec any) error {
	if v, ok := s.alarm(name); ok {
		if err := notOwned("alarm", name, v.Owner); err != nil {
			return err
		}
		if v.Type != typ {
			return protocol.Errorf("InvalidParameterCombination", "An alarm named '%s' exists already as a %s; delete it first or give this one another name", name, v.Type)
		}
	}
	_, err := s.resources.PutResource(ctx, kind, spec)
	return cwError(err)
}

// alarm finds an alarm by name.
func (s *Service) alarm(name string) (cw.AlarmView, bool) {
	for _, a := range s.mon.Alarms() {
		if a.Name == name {
			return a, true
		}
	}
	return cw.AlarmView{}, false
}

// stateFields are the state members both alarm types share.
func stateFields(m map[string]any, a cw.AlarmView) {
	st := a.State
	m["StateValue"] = string(st.State)
	m["StateReason"] = st.Reason
	if len(st.ReasonData) > 0 && string(st.ReasonData) != "null" {
		m["StateReasonData"] = string(st.ReasonData)
	}
	updated := st.UpdatedAt
	if updated.IsZero() {
		updated = st.EvaluatedAt
	}
	if !updated.IsZero() {
		m["StateUpdatedTimestamp"] = updated
		m["StateTransitionedTimestamp"] = updated
	}
	if !st.ConfigUpdatedAt.IsZero() {
		m["AlarmConfigurationUpdatedTimestamp"] = st.ConfigUpdatedAt
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// metricAlarmOf renders a metric alarm as MetricAlarm.
func metricAlarmOf(a cw.AlarmView) map[string]any {
	sp := a.Metric
	m := map[string]any{
		"AlarmName": a.Name, "AlarmArn": a.ARN, "ActionsEnabled": sp.ActionsEnabled == nil || *sp.ActionsEnabled,
		"AlarmActions": orEmpty(sp.AlarmActions), "OKActions": orEmpty(sp.OKActions), "InsufficientDataActions": orEmpty(sp.InsufficientDataActions),
		"EvaluationPeriods": sp.EvaluationPeriods, "ComparisonOperator": sp.ComparisonOperator, "Dimensions": dimensionList(sp.Dimensions),
	}
	if sp.Description != "" {
		m["AlarmDescription"] = sp.Description
	}
	for k, v := range map[string]string{"Namespace": sp.Namespace, "MetricName": sp.MetricName, "Statistic": sp.Statistic,
		"ExtendedStatistic": sp.ExtendedStatistic, "Unit": sp.Unit, "TreatMissingData": sp.TreatMissingData,
		"EvaluateLowSampleCountPercentile": sp.EvaluateLowSampleCountPercentile} {
		if v != "" {
			m[k] = v
		}
	}
	if sp.Period > 0 {
		m["Period"] = sp.Period
	}
	if sp.DatapointsToAlarm > 0 {
		m["DatapointsToAlarm"] = sp.DatapointsToAlarm
	}
	if sp.Threshold != nil {
		m["Threshold"] = *sp.Threshold
	}
	if len(sp.Metrics) > 0 {
		m["Metrics"] = metricQueryList(sp.Metrics)
	}
	stateFields(m, a)
	return m
}

// compositeAlarmOf renders a composite alarm as CompositeAlarm.
func compositeAlarmOf(a cw.AlarmView) map[string]any {
	sp := a.Composite
	m := map[string]any{
		"AlarmName": a.Name, "AlarmArn": a.ARN, "AlarmRule": sp.AlarmRule, "ActionsEnabled": sp.ActionsEnabled == nil || *sp.ActionsEnabled,
		"AlarmActions": orEmpty(sp.AlarmActions), "OKActions": orEmpty(sp.OKActions), "InsufficientDataActions": orEmpty(sp.InsufficientDataActions),
	}
	if sp.Description != "" {
		m["AlarmDescription"] = sp.Description
	}
	stateFields(m, a)
	return m
}

// alarmTypes reads AlarmTypes; CloudWatch's default is metric alarms only.
func alarmTypes(in protocol.Struct) (map[string]bool, error) {
	types := map[string]bool{}
	for _, t := range in.Strings("AlarmTypes") {
		if t != typeMetricAlarm && t != typeCompositeAlarm {
			return nil, protocol.Errorf("InvalidParameterValue", "The parameter AlarmTypes '%s' is not valid; use %s", t, defaultAlarmTypeMsg)
		}
		types[t] = true
	}
	if len(types) == 0 {
		types[typeMetricAlarm] = true
	}
	return types, nil
}

// actions returns all of an alarm's actions.
func actions(a cw.AlarmView) []string {
	if a.Metric != nil {
		return slices.Concat(a.Metric.AlarmActions, a.Metric.OKActions, a.Metric.InsufficientDataActions)
	}
	return slices.Concat(a.Composite.AlarmActions, a.Composite.OKActions, a.Composite.InsufficientDataActions)
}

// ruleRefs returns the alarms a composite alarm's rule names.
func ruleRefs(a cw.AlarmView) []string {
	if a.Composite == nil {
		return nil
	}
	e, err := alarm.ParseRule(a.Composite.AlarmRule)
	if err != nil {
		return nil
	}
	return e.Refs()
}

func (s *Service) describeAlarms(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	names, prefix := in.Strings("AlarmNames"), in.String("AlarmNamePrefix")
	children, parents := in.String("ChildrenOfAlarmName"), in.String("ParentsOfAlarmName")
	switch {
	case len(names) > 0 && prefix != "":
		return nil, protocol.Errorf("InvalidParameterCombination", "AlarmNames and AlarmNamePrefix are both given; give one of them")
	case len(names) > maxAlarmNames:
		return nil, protocol.Errorf("InvalidParameterValue", "The collection AlarmNames must not have a size greater than %d", maxAlarmNames)
	case children != "" && parents != "":
		return nil, protocol.Errorf("InvalidParameterCombination", "ChildrenOfAlarmName and ParentsOfAlarmName are both given; give one of them")
	case (children != "" || parents != "") && (len(names) > 0 || prefix != "" || in.Has("StateValue") || in.Has("ActionPrefix")):
		return nil, protocol.Errorf("InvalidParameterCombination", "ChildrenOfAlarmName and ParentsOfAlarmName cannot be combined with AlarmNames, AlarmNamePrefix, StateValue or ActionPrefix")
	}
	types, err := alarmTypes(in)
	if err != nil {
		return nil, err
	}
	size, err := maxRecords(in, "MaxRecords", describeAlarmsPage, maxDescribeAlarms)
	if err != nil {
		return nil, err
	}
	all := s.mon.Alarms()
	var childSet map[string]bool
	if children != "" {
		childSet = map[string]bool{}
		for _, a := range all {
			if a.Name == children {
				for _, r := range ruleRefs(a) {
					childSet[r] = true
				}
			}
		}
	}
	state, action := in.String("StateValue"), in.String("ActionPrefix")
	var sel []cw.AlarmView
	for _, a := range all {
		switch {
		case !types[a.Type],
			len(names) > 0 && !slices.Contains(names, a.Name),
			!strings.HasPrefix(a.Name, prefix),
			state != "" && string(a.State.State) != state,
			action != "" && !slices.ContainsFunc(actions(a), func(x string) bool { return strings.HasPrefix(x, action) }),
			childSet != nil && !childSet[a.Name],
			parents != "" && !slices.Contains(ruleRefs(a), parents):
			continue
		}
		sel = append(sel, a)
	}
	sel, next, err := page(sel, in.String("NextToken"), size)
	if err != nil {
		return nil, err
	}
	metricAlarms, composites := []any{}, []any{}
	for _, a := range sel {
		if a.Type == typeCompositeAlarm {
			composites = append(composites, compositeAlarmOf(a))
		} else {
			metricAlarms = append(metricAlarms, metricAlarmOf(a))
		}
	}
	out := map[string]any{"MetricAlarms": metricAlarms, "CompositeAlarms": composites}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *Service) describeAlarmsForMetric(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	dims, err := dimensions(in, "Dimensions")
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, a := range s.mon.Alarms() {
		sp := a.Metric
		switch {
		case sp == nil || len(sp.Metrics) > 0,
			sp.Namespace != in.String("Namespace") || sp.MetricName != in.String("MetricName"),
			in.Has("Statistic") && sp.Statistic != in.String("Statistic"),
			in.Has("ExtendedStatistic") && sp.ExtendedStatistic != in.String("ExtendedStatistic"),
			in.Has("Period") && sp.Period != int(in.Int("Period")),
			in.Has("Unit") && sp.Unit != in.String("Unit"),
			in.Has("Dimensions") && !maps.Equal(sp.Dimensions, dims):
			continue
		}
		out = append(out, metricAlarmOf(a))
	}
	return map[string]any{"MetricAlarms": out}, nil
}

func (s *Service) describeAlarmHistory(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	typ := in.String("HistoryItemType")
	switch typ {
	case "", alarm.HistoryStateUpdate, alarm.HistoryConfigurationUpdate, alarm.HistoryAction, "AlarmContributorStateUpdate", "AlarmContributorAction":
	default:
		return nil, protocol.Errorf("InvalidParameterValue", "The parameter HistoryItemType '%s' is not valid; use ConfigurationUpdate, StateUpdate or Action", typ)
	}
	scan := in.String("ScanBy")
	switch scan {
	case "", "TimestampDescending", "TimestampAscending":
	default:
		return nil, protocol.Errorf("InvalidParameterValue", "The parameter ScanBy '%s' is not valid; use TimestampDescending or TimestampAscending", scan)
	}
	types, err := alarmTypes(in)
	if err != nil {
		return nil, err
	}
	size, err := maxRecords(in, "MaxRecords", historyPage, historyPage)
	if err != nil {
		return nil, err
	}
	start, end := in.Time("StartDate"), in.Time("EndDate")
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return nil, protocol.Errorf("InvalidParameterValue", "The parameter EndDate %s is before StartDate %s; swap them", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	name := in.String("AlarmName")
	items, err := s.mon.History(ctx, name, typ, 0)
	if err != nil {
		return nil, err
	}
	typeOf := map[string]string{}
	for _, a := range s.mon.Alarms() {
		typeOf[a.Name] = a.Type
	}
	var sel []alarm.HistoryItem
	for _, h := range items {
		t := typeOf[h.AlarmName]
		if t == "" {
			t = typeMetricAlarm
		}
		if !types[t] || (!start.IsZero() && h.Timestamp.Before(start)) || (!end.IsZero() && h.Timestamp.After(end)) {
			continue
		}
		sel = append(sel, h)
	}
	if scan == "TimestampAscending" {
		slices.Reverse(sel)
	}
	sel, next, err := page(sel, in.String("NextToken"), size)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(sel))
	for _, h := range sel {
		t := typeOf[h.AlarmName]
		if t == "" {
			t = typeMetricAlarm
		}
		out = append(out, map[string]any{"AlarmName": h.AlarmName, "AlarmType": t, "Timestamp": h.Timestamp,
			"HistoryItemType": h.Type, "HistorySummary": h.Summary, "HistoryData": h.Data})
	}
	resp := map[string]any{"AlarmHistoryItems": out}
	if next != "" {
		resp["NextToken"] = next
	}
	return resp, nil
}

func (s *Service) setAlarmState(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name := in.String("AlarmName")
	if _, ok := s.alarm(name); !ok {
		return nil, protocol.Errorf("ResourceNotFound", "Alarm %s not found", name)
	}
	if d := in.String("StateReasonData"); d != "" && !json.Valid([]byte(d)) {
		return nil, protocol.Errorf("InvalidFormat", "The parameter StateReasonData is not valid JSON; give a JSON object or leave it out")
	}
	st := alarm.State(in.String("StateValue"))
	switch st {
	case alarm.OK, alarm.Alarm, alarm.InsufficientData:
	default:
		return nil, protocol.Errorf("InvalidParameterValue", "The parameter StateValue '%s' is not valid; use OK, ALARM or INSUFFICIENT_DATA", st)
	}
	var data json.RawMessage
	if d := in.String("StateReasonData"); d != "" {
		data = json.RawMessage(d)
	}
	if err := s.mon.SetAlarmStateData(ctx, name, st, in.String("StateReason"), data); err != nil {
		return nil, cwError(err)
	}
	return map[string]any{}, nil
}

func (s *Service) enableAlarmActions(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.setActionsEnabled(ctx, call.Input.Strings("AlarmNames"), true)
}

func (s *Service) disableAlarmActions(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.setActionsEnabled(ctx, call.Input.Strings("AlarmNames"), false)
}

// setActionsEnabled switches the named alarms' actions; unknown names are
// skipped, as CloudWatch does.
func (s *Service) setActionsEnabled(ctx context.Context, names []string, on bool) (map[string]any, error) {
	if len(names) > maxAlarmNames {
		return nil, protocol.Errorf("InvalidParameterValue", "The collection AlarmNames must not have a size greater than %d", maxAlarmNames)
	}
	views, err := s.named(names, false)
	if err != nil {
		return nil, err
	}
	for _, a := range views {
		if a.Metric != nil {
			sp := *a.Metric
			if sp.ActionsEnabled != nil && *sp.ActionsEnabled == on {
				continue
			}
			sp.ActionsEnabled = &on
			err = s.putAlarm(ctx, cw.KindAlarm, a.Name, a.Type, &sp)
		} else {
			sp := *a.Composite
			if sp.ActionsEnabled != nil && *sp.ActionsEnabled == on {
				continue
			}
			sp.ActionsEnabled = &on
			err = s.putAlarm(ctx, cw.KindCompositeAlarm, a.Name, a.Type, &sp)
		}
		if err != nil {
			return nil, err
		}
	}
	return map[string]any{}, nil
}

// named returns the alarms of names, refusing a stack's; with strict, a
// missing one is ResourceNotFound (and nothing is returned).
func (s *Service) named(names []string, strict bool) ([]cw.AlarmView, error) {
	byName := map[string]cw.AlarmView{}
	for _, a := range s.mon.Alarms() {
		byName[a.Name] = a
	}
	var out []cw.AlarmView
	var missing []string
	for _, n := range names {
		a, ok := byName[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		if err := notOwned("alarm", n, a.Owner); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if strict && len(missing) > 0 {
		return nil, protocol.Errorf("ResourceNotFound", "%d of the alarms given were not found: %s; nothing was deleted", len(missing), strings.Join(missing, ", "))
	}
	return out, nil
}

func (s *Service) deleteAlarms(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	names := call.Input.Strings("AlarmNames")
	if len(names) > maxAlarmNames {
		return nil, protocol.Errorf("InvalidParameterValue", "The collection AlarmNames must not have a size greater than %d", maxAlarmNames)
	}
	views, err := s.named(names, true)
	if err != nil {
		return nil, err
	}
	for _, a := range views {
		kind := cw.KindAlarm
		if a.Type == typeCompositeAlarm {
			kind = cw.KindCompositeAlarm
		}
		if err := s.resources.DeleteResource(ctx, kind, a.Name); err != nil {
			return nil, cwError(err)
		}
	}
	return map[string]any{}, nil
}
