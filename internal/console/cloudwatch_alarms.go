package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
)

// kindAlarm is the resource kind of metric alarms in the API.
const kindAlarm = "alarm"

// alarmsPage is the data of the alarm list.
type alarmsPage struct {
	Alarms []alarmRow
}

// alarmRow is one alarm as the list and detail pages show it.
type alarmRow struct {
	Name, Type, State, Reason, Owner, ARN string
	Metric, Condition, Description        string
	UpdatedAt                             time.Time
	ActionsEnabled                        bool
	Actions                               []string
}

// alarmPage is the data of one alarm.
type alarmPage struct {
	Alarm    alarmRow
	Details  []cwKV
	ChartSrc string
	History  []cwHistoryRow
}

type cwKV struct{ Key, Value string }

type cwHistoryRow struct {
	Time                    time.Time
	Type, Summary, Old, New string
	Reason                  string
}

// cwOperators are comparison operators as the console writes them.
var cwOperators = map[string]string{
	"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">",
	"LessThanThreshold": "<", "LessThanOrEqualToThreshold": "<=",
	"LessThanLowerOrGreaterThanUpperThreshold": "<>", "GreaterThanUpperThreshold": ">", "LessThanLowerThreshold": "<",
}

// cwSpecString, cwSpecInt and cwSpecFloat read an alarm spec's fields.
func cwSpecString(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func cwSpecInt(m map[string]any, k string) int { f, _ := m[k].(float64); return int(f) }

func cwSpecFloat(m map[string]any, k string) (float64, bool) { f, ok := m[k].(float64); return f, ok }

// cwPeriodWords is a number of seconds in words: "2 minutes", "30 seconds".
func cwPeriodWords(l lang, seconds int) string {
	n, unit := seconds, "cw.seconds"
	switch {
	case seconds%3600 == 0 && seconds >= 3600:
		n, unit = seconds/3600, "cw.hours"
	case seconds%60 == 0 && seconds >= 60:
		n, unit = seconds/60, "cw.minutes"
	}
	if n == 1 {
		unit = strings.TrimSuffix(unit, "s")
	}
	return fmt.Sprintf(l.T(unit), n)
}

// conditionWords is an alarm's condition as CloudWatch's console says it:
// "CPUUtilization >= 80 for 2 datapoints within 2 minutes".
func conditionWords(l lang, a v1.Alarm) string {
	sp := a.Spec
	if a.Type != "MetricAlarm" || sp == nil {
		return a.Condition
	}
	th, ok := cwSpecFloat(sp, "threshold")
	if !ok || cwSpecString(sp, "metricName") == "" {
		return a.Condition
	}
	n, m, per := cwSpecInt(sp, "evaluationPeriods"), datapointsToAlarm(sp), cwSpecInt(sp, "period")
	op := cwOperators[cwSpecString(sp, "comparisonOperator")]
	return fmt.Sprintf(l.T("cw.alarm.condition"), cwSpecString(sp, "metricName"), op, strconv.FormatFloat(th, 'g', -1, 64),
		m, cwPeriodWords(l, n*per))
}

// datapointsToAlarm is M of an alarm's "M out of N" (N when unset).
func datapointsToAlarm(sp map[string]any) int {
	if m := cwSpecInt(sp, "datapointsToAlarm"); m > 0 {
		return m
	}
	return cwSpecInt(sp, "evaluationPeriods")
}

// cwStateChange reads a StateUpdate history item's data: the old and new
// states and the new state's reason.
func cwStateChange(data string) (old, new, reason string) {
	var d struct {
		OldState struct {
			StateValue string `json:"stateValue"`
		} `json:"oldState"`
		NewState struct {
			StateValue  string `json:"stateValue"`
			StateReason string `json:"stateReason"`
		} `json:"newState"`
	}
	if json.Unmarshal([]byte(data), &d) != nil {
		return "", "", ""
	}
	return d.OldState.StateValue, d.NewState.StateValue, d.NewState.StateReason
}

func alarmRowOf(l lang, a v1.Alarm) alarmRow {
	row := alarmRow{Name: a.Name, Type: a.Type, State: a.State.State, Reason: a.State.Reason, Owner: a.Owner, ARN: a.ARN,
		Metric: a.Metric, Condition: conditionWords(l, a), UpdatedAt: a.State.UpdatedAt, ActionsEnabled: true,
		Description: cwSpecString(a.Spec, "description")}
	if b, ok := a.Spec["actionsEnabled"].(bool); ok {
		row.ActionsEnabled = b
	}
	for _, k := range []string{"alarmActions", "okActions", "insufficientDataActions"} {
		if list, ok := a.Spec[k].([]any); ok {
			for _, x := range list {
				row.Actions = append(row.Actions, fmt.Sprint(x))
			}
		}
	}
	return row
}

func (s *Server) alarms(w http.ResponseWriter, r *http.Request) {
	all, err := s.api.Alarms(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := langOf(r)
	var p alarmsPage
	for _, a := range all {
		p.Alarms = append(p.Alarms, alarmRowOf(l, a))
	}
	s.page(w, r, "cloudwatch/alarms", "cw.alarms.title", p)
}

func (s *Server) alarmView(w http.ResponseWriter, r *http.Request) {
	p, err := s.alarmData(r.Context(), langOf(r), r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, "cloudwatch/alarm", "cw.alarm.title", p)
}

func (s *Server) alarmData(ctx context.Context, l lang, name string) (alarmPage, error) {
	a, err := s.api.Alarm(ctx, name)
	if err != nil {
		return alarmPage{}, err
	}
	p := alarmPage{Alarm: alarmRowOf(l, a)}
	sp := a.Spec
	if a.Type == "MetricAlarm" && cwSpecString(sp, "metricName") != "" {
		dims := map[string]string{}
		if dm, ok := sp["dimensions"].(map[string]any); ok {
			for k, v := range dm {
				dims[k] = fmt.Sprint(v)
			}
		}
		stat := cwSpecString(sp, "extendedStatistic")
		if stat == "" {
			stat = cwSpecString(sp, "statistic")
		}
		per := max(cwSpecInt(sp, "period"), 1)
		var th *float64
		if f, ok := cwSpecFloat(sp, "threshold"); ok {
			th = &f
		}
		minutes := max(180, per*cwSpecInt(sp, "evaluationPeriods")*3/60)
		p.ChartSrc = seriesURL(cwSpecString(sp, "namespace"), cwSpecString(sp, "metricName"), dims, []string{stat},
			cwChartPeriod(per, minutes), minutes, th)
		p.Details = []cwKV{
			{l.T("cw.alarm.namespace"), cwSpecString(sp, "namespace")},
			{l.T("cw.alarm.metric"), cwSpecString(sp, "metricName")},
			{l.T("cw.alarm.dimensions"), cwDimsKey(dims)},
			{l.T("cw.alarm.statistic"), stat},
			{l.T("cw.alarm.period"), cwPeriodWords(l, per)},
			{l.T("cw.alarm.datapoints"), fmt.Sprintf("%d / %d", datapointsToAlarm(sp), cwSpecInt(sp, "evaluationPeriods"))},
			{l.T("cw.alarm.missing"), cwSpecString(sp, "treatMissingData")},
		}
	} else {
		p.Details = []cwKV{{l.T("cw.alarm.rule"), a.Condition}}
	}
	hist, err := s.api.AlarmHistory(ctx, name, "", 100)
	if err != nil {
		return alarmPage{}, err
	}
	for _, h := range hist {
		row := cwHistoryRow{Time: h.Timestamp, Type: h.Type, Summary: h.Summary}
		if h.Type == "StateUpdate" {
			row.Old, row.New, row.Reason = cwStateChange(h.Data)
		}
		p.History = append(p.History, row)
	}
	return p, nil
}

// setAlarmState serves POST /cloudwatch/alarms/{name}/state (state,
// reason), as `aws cloudwatch set-alarm-state`.
func (s *Server) setAlarmState(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	reason := strings.TrimSpace(r.FormValue("reason"))
	if reason == "" {
		reason = "Set from the console"
	}
	if err := s.api.SetAlarmState(r.Context(), name, r.FormValue("state"), reason); err != nil {
		s.fail(w, r, err)
		return
	}
	s.redirect(w, r, "/cloudwatch/alarms/"+url.PathEscape(name), "ok", "cw.alarm.stateset")
}

// deleteAlarm serves POST /cloudwatch/alarms/{name}/delete.
func (s *Server) deleteAlarm(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.api.DeleteResource(r.Context(), kindAlarm, name); err != nil {
		s.fail(w, r, err)
		return
	}
	s.redirect(w, r, "/cloudwatch/alarms", "ok", "cw.alarm.deleted")
}
