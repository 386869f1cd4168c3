package console

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// alarmForm is the create-alarm wizard's values and problem.
type alarmForm struct {
	// 1. metric
	Namespace, Metric, Dimensions, Stat string
	Period                              int
	// 2. conditions
	Operator, Threshold, Missing string
	M, N                         int
	// 3. actions: the chosen scaling policies' ARNs
	Actions []string
	// 4. name and description
	Name, Description string

	Field, Error, Hint string
}

// createAlarmPage is the data of the create-alarm page.
type createAlarmPage struct {
	Form      alarmForm
	Stats     []string
	Periods   []cwOption
	Operators []string
	Missing   []string
	Policies  []cwPolicyOption
}

type cwPolicyOption struct {
	ARN, Group, Name, Type string
	Checked                bool
}

var (
	alarmOperators = []string{"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"}
	cwMissingData  = []string{"missing", "notBreaching", "breaching", "ignore"}
	alarmPeriods   = []int{10, 30, 60, 300, 900, 3600}
)

func alarmPeriodOptions(l lang, cur int) []cwOption {
	out := make([]cwOption, 0, len(alarmPeriods))
	for _, p := range alarmPeriods {
		out = append(out, cwOption{Value: p, Label: cwPeriodWords(l, p), Selected: p == cur})
	}
	return out
}

// alarmFormOf reads the wizard's fields from the form or, for the first
// GET, the query (the metrics explorer links here with its metric).
func alarmFormOf(r *http.Request) alarmForm {
	v := func(k string) string { return strings.TrimSpace(r.FormValue(k)) }
	f := alarmForm{Namespace: v("namespace"), Metric: v("metric"), Dimensions: v("dimensions"), Stat: v("stat"),
		Operator: v("operator"), Threshold: v("threshold"), Missing: v("missing"), Name: v("name"),
		Description: v("description"), Actions: r.Form["actions"]}
	f.Period, _ = strconv.Atoi(v("period"))
	f.M, _ = strconv.Atoi(v("m"))
	f.N, _ = strconv.Atoi(v("n"))
	if f.Stat == "" {
		f.Stat = "Average"
	}
	if f.Period == 0 {
		f.Period = 60
	}
	if f.Operator == "" {
		f.Operator = "GreaterThanOrEqualToThreshold"
	}
	if f.Missing == "" {
		f.Missing = "missing"
	}
	if f.N == 0 {
		f.N = 1
	}
	if f.M == 0 {
		f.M = f.N
	}
	return f
}

// spec builds the alarm's spec (the stack file's fields) from the form.
func (f alarmForm) spec() (map[string]any, error) {
	if f.Name == "" {
		return nil, &cwFieldError{"name", "is missing: give the alarm a name, e.g. web-cpu-high"}
	}
	th, err := strconv.ParseFloat(f.Threshold, 64)
	if err != nil || math.IsNaN(th) || math.IsInf(th, 0) {
		return nil, &cwFieldError{"threshold", "is not a number: give the value to compare with, e.g. 80"}
	}
	if !slices.Contains(alarmOperators, f.Operator) {
		return nil, &cwFieldError{"operator", "choose a comparison"}
	}
	sp := map[string]any{"name": f.Name, "namespace": f.Namespace, "metricName": f.Metric, "period": f.Period,
		"evaluationPeriods": f.N, "datapointsToAlarm": f.M, "threshold": th, "comparisonOperator": f.Operator,
		"treatMissingData": f.Missing}
	if f.Description != "" {
		sp["description"] = f.Description
	}
	if slices.Contains(cwSimpleStats, f.Stat) {
		sp["statistic"] = f.Stat
	} else {
		sp["extendedStatistic"] = f.Stat
	}
	if f.Dimensions != "" {
		dims := map[string]string{}
		for _, part := range strings.Split(f.Dimensions, ",") {
			name, value, err := cwParseDim(strings.TrimSpace(part))
			if err != nil {
				return nil, &cwFieldError{"dimensions", err.(*cwParamError).Message}
			}
			dims[name] = value
		}
		sp["dimensions"] = dims
	}
	if len(f.Actions) > 0 {
		sp["alarmActions"] = f.Actions
	}
	return sp, nil
}

// alarmFields map the spec's field names, as the API's errors name them,
// to the wizard's fields.
var alarmFields = []struct{ spec, form string }{
	{"metricName", "metric"}, {"namespace", "namespace"}, {"dimensions", "dimensions"},
	{"extendedStatistic", "stat"}, {"statistic", "stat"}, {"evaluationPeriods", "n"}, {"datapointsToAlarm", "m"},
	{"period", "period"}, {"threshold", "threshold"}, {"comparisonOperator", "operator"},
	{"treatMissingData", "missing"}, {"alarmActions", "actions"}, {"name", "name"},
}

// cwFieldOf finds the wizard field an API error message names.
func cwFieldOf(msg string) string {
	for _, f := range alarmFields {
		if strings.Contains(msg, f.spec) {
			return f.form
		}
	}
	return ""
}

func (s *Server) createAlarmData(ctx context.Context, l lang, f alarmForm) createAlarmPage {
	p := createAlarmPage{Form: f, Stats: cwStats, Periods: alarmPeriodOptions(l, f.Period),
		Operators: alarmOperators, Missing: cwMissingData}
	if !slices.Contains(p.Stats, f.Stat) {
		p.Stats = append(slices.Clone(p.Stats), f.Stat)
	}
	groups, err := s.api.AutoScalingGroups(ctx)
	if err != nil {
		return p // Auto Scaling may be absent: no actions to offer
	}
	for _, g := range groups {
		for _, pol := range g.ScalingPolicies {
			if pol.PolicyType == "TargetTrackingScaling" {
				continue // target tracking makes its own alarms
			}
			p.Policies = append(p.Policies, cwPolicyOption{ARN: pol.PolicyARN, Group: g.Name, Name: pol.PolicyName,
				Type: pol.PolicyType, Checked: slices.Contains(f.Actions, pol.PolicyARN)})
		}
	}
	return p
}

func (s *Server) newAlarm(w http.ResponseWriter, r *http.Request) {
	s.page(w, r, "cloudwatch/create-alarm", "cw.createalarm.title", s.createAlarmData(r.Context(), langOf(r), alarmFormOf(r)))
}

// createAlarm serves POST /cloudwatch/alarms: the wizard's alarm, written
// as a metric alarm resource.
func (s *Server) createAlarm(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f := alarmFormOf(r)
	sp, err := f.spec()
	if err == nil {
		_, err = s.api.PutResource(r.Context(), kindAlarm, f.Name, sp)
	}
	if err != nil {
		var fe *cwFieldError
		if errors.As(err, &fe) {
			f.Field, f.Error = fe.Field, fe.Message
		} else {
			f.Error, f.Hint = cwErrorText(err)
			f.Field = cwFieldOf(f.Error)
		}
		s.renderStatus(w, r, http.StatusBadRequest, "cloudwatch/create-alarm", "cw.createalarm.title",
			s.createAlarmData(r.Context(), langOf(r), f))
		return
	}
	s.redirect(w, r, "/cloudwatch/alarms/"+url.PathEscape(f.Name), "ok", "cw.alarm.created")
}
