package cloudwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/dashboard"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/logfilter"
	"github.com/madang-dev/madang/internal/loggroup"
)

// Kind names of CloudWatch resources.
const (
	KindAlarm          = "alarm"
	KindCompositeAlarm = "composite-alarm"
	KindDashboard      = "dashboard"
	KindLogGroup       = "log-group"
	KindMetricFilter   = "metric-filter"
)

// Store prefixes of CloudWatch records. Everything under Prefix is a
// resource record the controller follows; alarm states and history live
// under StatePrefix.
const (
	Prefix               = "/cloudwatch/"
	AlarmPrefix          = Prefix + "alarms/"
	CompositeAlarmPrefix = Prefix + "composite-alarms/"
	DashboardPrefix      = Prefix + "dashboards/"
	LogGroupPrefix       = Prefix + "log-groups/"
	MetricFilterPrefix   = Prefix + "metric-filters/"
	StatePrefix          = "/cloudwatch-state/"
)

// Alarm is a stored metric alarm.
type Alarm struct {
	Spec      AlarmSpec `json:"spec"`
	Owner     string    `json:"owner,omitempty"`
	ARN       string    `json:"arn"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// CompositeAlarm is a stored composite alarm.
type CompositeAlarm struct {
	Spec      CompositeAlarmSpec `json:"spec"`
	Owner     string             `json:"owner,omitempty"`
	ARN       string             `json:"arn"`
	UpdatedAt time.Time          `json:"updatedAt"`
}

// DashboardSpec is a dashboard: a name and CloudWatch's dashboard body,
// written in the stack file as a mapping (or a JSON string).
type DashboardSpec struct {
	Name string `yaml:"name" json:"name"`
	// Body is the DashboardBody (widgets, start, periodOverride…).
	Body any `yaml:"body" json:"body"`
}

// BodyJSON returns the dashboard body as JSON.
func (s *DashboardSpec) BodyJSON() ([]byte, error) {
	if str, ok := s.Body.(string); ok {
		return []byte(str), nil
	}
	return json.Marshal(normalizeYAML(s.Body))
}

// normalizeYAML turns YAML's map[any]any (if any) into JSON-encodable maps.
func normalizeYAML(v any) any {
	switch t := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[fmt.Sprint(k)] = normalizeYAML(v)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, v := range t {
			m[k] = normalizeYAML(v)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			out[i] = normalizeYAML(v)
		}
		return out
	}
	return v
}

// Dashboard is a stored dashboard.
type Dashboard struct {
	Spec      DashboardSpec `json:"spec"`
	Owner     string        `json:"owner,omitempty"`
	ARN       string        `json:"arn"`
	UpdatedAt time.Time     `json:"updatedAt"`
}

// LogGroupSpec sets a log group's retention. madang's log groups exist
// by themselves (one per instance group and load balancer); a spec
// only configures one.
type LogGroupSpec struct {
	Name string `yaml:"name" json:"name"`
	// RetentionInDays is one of CloudWatch Logs' values; 0 never expires.
	RetentionInDays int `yaml:"retentionInDays,omitempty" json:"retentionInDays,omitempty"`
}

// LogGroup is a stored log group setting.
type LogGroup struct {
	Spec  LogGroupSpec `json:"spec"`
	Owner string       `json:"owner,omitempty"`
}

// TransformationSpec is a metric filter's metric transformation.
type TransformationSpec struct {
	MetricName      string            `yaml:"metricName" json:"metricName"`
	MetricNamespace string            `yaml:"metricNamespace" json:"metricNamespace"`
	MetricValue     string            `yaml:"metricValue" json:"metricValue"`
	DefaultValue    *float64          `yaml:"defaultValue,omitempty" json:"defaultValue,omitempty"`
	Unit            string            `yaml:"unit,omitempty" json:"unit,omitempty"`
	Dimensions      map[string]string `yaml:"dimensions,omitempty" json:"dimensions,omitempty"`
}

func (t TransformationSpec) transformation() logfilter.Transformation {
	return logfilter.Transformation{MetricName: t.MetricName, MetricNamespace: t.MetricNamespace, MetricValue: t.MetricValue,
		DefaultValue: t.DefaultValue, Unit: t.Unit, Dimensions: t.Dimensions}
}

// MetricFilterSpec turns a log group's matching lines into a metric
// (PutMetricFilter).
type MetricFilterSpec struct {
	Name                  string               `yaml:"name" json:"name"`
	LogGroup              string               `yaml:"logGroup" json:"logGroup"`
	FilterPattern         string               `yaml:"filterPattern" json:"filterPattern"`
	MetricTransformations []TransformationSpec `yaml:"metricTransformations" json:"metricTransformations"`
}

// Validate returns the metric filter's problems.
func (s *MetricFilterSpec) Validate() fielderr.List {
	var errs fielderr.List
	validName("name", "metric filter", s.Name, &errs)
	if s.LogGroup == "" {
		errs.Add("logGroup", nil, "is missing", "give the log group, e.g. /madang/instances/web")
	}
	p, err := logfilter.Parse(s.FilterPattern)
	if err != nil {
		errs.Add("filterPattern", s.FilterPattern, err.Error(), "see CloudWatch Logs' filter pattern syntax")
	}
	if len(s.MetricTransformations) != 1 {
		errs.Add("metricTransformations", len(s.MetricTransformations), "must have exactly one entry", "give one metric transformation, as CloudWatch")
	}
	for i, t := range s.MetricTransformations {
		path := fielderr.Index("metricTransformations", i)
		if t.MetricName == "" {
			errs.Add(path+".metricName", nil, "is missing", "name the metric")
		}
		if t.MetricNamespace == "" {
			errs.Add(path+".metricNamespace", nil, "is missing", "give a namespace, e.g. MyApp")
		} else if strings.HasPrefix(t.MetricNamespace, "AWS/") {
			errs.Add(path+".metricNamespace", t.MetricNamespace, "starts with AWS/", "AWS/ namespaces are reserved; use your own")
		}
		if p != nil {
			if err := t.transformation().Validate(p); err != nil {
				errs.Add(path, nil, err.Error(), "")
			}
		}
	}
	return errs
}

// Validate returns the log group's problems.
func (s *LogGroupSpec) Validate() fielderr.List {
	var errs fielderr.List
	if s.Name == "" {
		errs.Add("name", nil, "is missing", "give the log group, e.g. /madang/instances/web")
	}
	if s.RetentionInDays != 0 {
		if err := loggroup.ValidateRetention(s.RetentionInDays); err != nil {
			errs.Add("retentionInDays", s.RetentionInDays, err.Error(), "")
		}
	}
	return errs
}

// Validate returns the dashboard's problems: its name and body, the body's
// problems with paths inside it.
func (s *DashboardSpec) Validate() fielderr.List {
	var errs fielderr.List
	validName("name", "dashboard", s.Name, &errs)
	if s.Body == nil {
		errs.Add("body", nil, "is missing", "give the dashboard body: widgets with type, x, y, width, height, properties")
		return errs
	}
	b, err := s.BodyJSON()
	if err != nil {
		errs.Add("body", nil, err.Error(), "")
		return errs
	}
	if _, err := dashboard.Parse(b); err != nil {
		errs.Add("body", nil, err.Error(), "")
	}
	return errs
}

// build implements the Build of kinds whose record is the spec with
// an owner and time: unchanged when the spec and owner are equal.
func build[S any, R any](env kind.Env, spec *S, owner string, old *R, specOf func(*R) (S, string), fresh func(old *R) *R) (*R, bool, error) {
	if old != nil {
		oldSpec, oldOwner := specOf(old)
		if reflect.DeepEqual(oldSpec, *spec) && oldOwner == owner {
			return old, false, nil
		}
	}
	return fresh(old), true, nil
}

// AlarmKind is the metric alarm resource kind.
func AlarmKind() kind.Kind {
	specOf := func(r *Alarm) (AlarmSpec, string) { return r.Spec, r.Owner }
	return &kind.Def[AlarmSpec, Alarm]{
		Meta: kind.Info{Name: KindAlarm, Title: "alarm", StackKey: "alarms", Prefix: AlarmPrefix,
			Aliases: []string{"alarms", "metric-alarm"}},
		NameOf:   func(s *AlarmSpec) string { return s.Name },
		Defaults: func(s *AlarmSpec) { s.Defaults() },
		Validate: func(s *AlarmSpec) fielderr.List { return s.Validate() },
		SpecOf:   specOf,
		BuildOf: func(_ context.Context, env kind.Env, s *AlarmSpec, owner string, old *Alarm) (*Alarm, bool, error) {
			return build(env, s, owner, old, specOf, func(*Alarm) *Alarm {
				return &Alarm{Spec: *s, Owner: owner, ARN: env.ARN("cloudwatch", "alarm:"+s.Name), UpdatedAt: env.Now()}
			})
		},
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*Alarm).Spec.Name }},
			{Header: "METRIC", Value: func(r any) string { return MetricOf(&r.(*Alarm).Spec) }},
			{Header: "CONDITION", Value: func(r any) string { return Condition(&r.(*Alarm).Spec) }},
			{Header: "ACTIONS", Value: func(r any) string {
				s := r.(*Alarm).Spec
				return strconv.Itoa(len(s.AlarmActions) + len(s.OKActions) + len(s.InsufficientDataActions))
			}},
			{Header: "STACK", Value: func(r any) string { return r.(*Alarm).Owner }},
		},
	}
}

// CompositeAlarmKind is the composite alarm resource kind.
func CompositeAlarmKind() kind.Kind {
	specOf := func(r *CompositeAlarm) (CompositeAlarmSpec, string) { return r.Spec, r.Owner }
	return &kind.Def[CompositeAlarmSpec, CompositeAlarm]{
		Meta: kind.Info{Name: KindCompositeAlarm, Title: "composite alarm", StackKey: "compositeAlarms", Prefix: CompositeAlarmPrefix,
			Aliases: []string{"composite-alarms"}},
		NameOf:   func(s *CompositeAlarmSpec) string { return s.Name },
		Defaults: func(s *CompositeAlarmSpec) { s.Defaults() },
		Validate: func(s *CompositeAlarmSpec) fielderr.List { return s.Validate() },
		SpecOf:   specOf,
		BuildOf: func(_ context.Context, env kind.Env, s *CompositeAlarmSpec, owner string, old *CompositeAlarm) (*CompositeAlarm, bool, error) {
			return build(env, s, owner, old, specOf, func(*CompositeAlarm) *CompositeAlarm {
				return &CompositeAlarm{Spec: *s, Owner: owner, ARN: env.ARN("cloudwatch", "alarm:"+s.Name), UpdatedAt: env.Now()}
			})
		},
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*CompositeAlarm).Spec.Name }},
			{Header: "RULE", Value: func(r any) string { return r.(*CompositeAlarm).Spec.AlarmRule }},
			{Header: "STACK", Value: func(r any) string { return r.(*CompositeAlarm).Owner }},
		},
	}
}

// DashboardKind is the dashboard resource kind.
func DashboardKind() kind.Kind {
	specOf := func(r *Dashboard) (DashboardSpec, string) { return r.Spec, r.Owner }
	return &kind.Def[DashboardSpec, Dashboard]{
		Meta: kind.Info{Name: KindDashboard, Title: "dashboard", StackKey: "dashboards", Prefix: DashboardPrefix,
			Aliases: []string{"dashboards"}},
		NameOf:   func(s *DashboardSpec) string { return s.Name },
		Validate: func(s *DashboardSpec) fielderr.List { return s.Validate() },
		// The body compares as normalized JSON.
		Comparable: func(s *DashboardSpec) {
			if b, err := s.BodyJSON(); err == nil {
				var v any
				if json.Unmarshal(b, &v) == nil {
					s.Body = v
				}
			}
		},
		SpecOf: specOf,
		BuildOf: func(_ context.Context, env kind.Env, s *DashboardSpec, owner string, old *Dashboard) (*Dashboard, bool, error) {
			cp := *s
			if b, err := s.BodyJSON(); err == nil {
				var v any
				if json.Unmarshal(b, &v) == nil {
					cp.Body = v
				}
			}
			return build(env, &cp, owner, old, specOf, func(*Dashboard) *Dashboard {
				return &Dashboard{Spec: cp, Owner: owner, UpdatedAt: env.Now(),
					ARN: "arn:aws:cloudwatch::" + AccountID + ":dashboard/" + s.Name}
			})
		},
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*Dashboard).Spec.Name }},
			{Header: "WIDGETS", Value: func(r any) string {
				d := r.(*Dashboard)
				b, err := d.Spec.BodyJSON()
				if err != nil {
					return "?"
				}
				body, err := dashboard.Parse(b)
				if err != nil {
					return "?"
				}
				return strconv.Itoa(len(body.Widgets))
			}},
			{Header: "UPDATED", Value: func(r any) string { return r.(*Dashboard).UpdatedAt.Format(time.RFC3339) }},
			{Header: "STACK", Value: func(r any) string { return r.(*Dashboard).Owner }},
		},
	}
}

// LogGroupKind is the log group (retention setting) resource kind.
func LogGroupKind() kind.Kind {
	specOf := func(r *LogGroup) (LogGroupSpec, string) { return r.Spec, r.Owner }
	return &kind.Def[LogGroupSpec, LogGroup]{
		Meta: kind.Info{Name: KindLogGroup, Title: "log group", StackKey: "logGroups", Prefix: LogGroupPrefix,
			Aliases: []string{"log-groups"}},
		NameOf:   func(s *LogGroupSpec) string { return s.Name },
		Validate: func(s *LogGroupSpec) fielderr.List { return s.Validate() },
		SpecOf:   specOf,
		BuildOf: func(_ context.Context, env kind.Env, s *LogGroupSpec, owner string, old *LogGroup) (*LogGroup, bool, error) {
			return build(env, s, owner, old, specOf, func(*LogGroup) *LogGroup { return &LogGroup{Spec: *s, Owner: owner} })
		},
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*LogGroup).Spec.Name }},
			{Header: "RETENTION", Value: func(r any) string {
				if d := r.(*LogGroup).Spec.RetentionInDays; d > 0 {
					return strconv.Itoa(d) + " days"
				}
				return "never expire"
			}},
			{Header: "STACK", Value: func(r any) string { return r.(*LogGroup).Owner }},
		},
	}
}

// MetricFilterKind is the metric filter resource kind.
func MetricFilterKind() kind.Kind {
	specOf := func(r *MetricFilter) (MetricFilterSpec, string) { return r.Spec, r.Owner }
	return &kind.Def[MetricFilterSpec, MetricFilter]{
		Meta: kind.Info{Name: KindMetricFilter, Title: "metric filter", StackKey: "metricFilters", Prefix: MetricFilterPrefix,
			Aliases: []string{"metric-filters"}},
		NameOf:   func(s *MetricFilterSpec) string { return s.Name },
		Validate: func(s *MetricFilterSpec) fielderr.List { return s.Validate() },
		SpecOf:   specOf,
		BuildOf: func(_ context.Context, env kind.Env, s *MetricFilterSpec, owner string, old *MetricFilter) (*MetricFilter, bool, error) {
			return build(env, s, owner, old, specOf, func(*MetricFilter) *MetricFilter { return &MetricFilter{Spec: *s, Owner: owner} })
		},
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*MetricFilter).Spec.Name }},
			{Header: "LOG GROUP", Value: func(r any) string { return r.(*MetricFilter).Spec.LogGroup }},
			{Header: "PATTERN", Value: func(r any) string { return r.(*MetricFilter).Spec.FilterPattern }},
			{Header: "METRIC", Value: func(r any) string {
				if t := r.(*MetricFilter).Spec.MetricTransformations; len(t) > 0 {
					return t[0].MetricNamespace + "/" + t[0].MetricName
				}
				return ""
			}},
			{Header: "STACK", Value: func(r any) string { return r.(*MetricFilter).Owner }},
		},
	}
}

// MetricFilter is a stored metric filter.
type MetricFilter struct {
	Spec  MetricFilterSpec `json:"spec"`
	Owner string           `json:"owner,omitempty"`
}

// MetricOf names an alarm's metric (namespace/name{dims}) or expression.
func MetricOf(s *AlarmSpec) string {
	if len(s.Metrics) > 0 {
		for _, q := range s.Metrics {
			if q.Returns() {
				if q.Expression != "" {
					return q.Expression
				}
				if q.MetricStat != nil {
					return q.MetricStat.Metric.Namespace + "/" + q.MetricStat.Metric.MetricName
				}
			}
		}
		return "metric math"
	}
	m := s.Namespace + "/" + s.MetricName
	if len(s.Dimensions) > 0 {
		var parts []string
		for _, d := range (MetricRef{Dimensions: s.Dimensions}).ID().Dimensions {
			parts = append(parts, d.Name+"="+d.Value)
		}
		m += "{" + strings.Join(parts, ",") + "}"
	}
	return m
}

var operatorSymbols = map[string]string{
	"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">",
	"LessThanThreshold": "<", "LessThanOrEqualToThreshold": "<=",
}

// Condition renders an alarm's rule: "Average > 80 for 2 of 3 × 60s".
func Condition(s *AlarmSpec) string {
	th := ""
	if s.Threshold != nil {
		th = strconv.FormatFloat(*s.Threshold, 'g', -1, 64)
	}
	stat := s.StatName()
	if len(s.Metrics) > 0 {
		stat = "value"
	}
	return fmt.Sprintf("%s %s %s for %d of %d × %ds", stat, operatorSymbols[s.ComparisonOperator], th,
		s.DatapointsToAlarm, s.EvaluationPeriods, s.EffectivePeriod())
}
