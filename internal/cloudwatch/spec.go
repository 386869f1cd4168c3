package cloudwatch

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/metricmath"
)

// MetricRef names a metric: namespace, name and dimensions.
type MetricRef struct {
	Namespace  string            `yaml:"namespace" json:"namespace"`
	MetricName string            `yaml:"metricName" json:"metricName"`
	Dimensions map[string]string `yaml:"dimensions,omitempty" json:"dimensions,omitempty"`
}

// ID returns the metric's canonical identity.
func (m MetricRef) ID() metric.ID {
	id := metric.ID{Namespace: m.Namespace, Name: m.MetricName}
	for k, v := range m.Dimensions {
		id.Dimensions = append(id.Dimensions, metric.Dimension{Name: k, Value: v})
	}
	return id.Canonical()
}

// MetricStat is a metric with the statistic and period to query it by
// (GetMetricData's MetricStat).
type MetricStat struct {
	Metric MetricRef `yaml:"metric" json:"metric"`
	// Period in seconds.
	Period int    `yaml:"period" json:"period"`
	Stat   string `yaml:"stat" json:"stat"`
	Unit   string `yaml:"unit,omitempty" json:"unit,omitempty"`
}

// MetricQuery is one entry of a metric-math alarm or a GetMetricData
// call: a metric (MetricStat) or an expression over other entries' ids.
type MetricQuery struct {
	ID         string      `yaml:"id" json:"id"`
	MetricStat *MetricStat `yaml:"metricStat,omitempty" json:"metricStat,omitempty"`
	Expression string      `yaml:"expression,omitempty" json:"expression,omitempty"`
	Label      string      `yaml:"label,omitempty" json:"label,omitempty"`
	// ReturnData marks the entry whose values are the result (nil: true
	// for GetMetricData; an alarm needs exactly one true).
	ReturnData *bool `yaml:"returnData,omitempty" json:"returnData,omitempty"`
	// Period in seconds, for expressions (default: the metrics' period).
	Period int `yaml:"period,omitempty" json:"period,omitempty"`
}

// Returns reports whether the entry's values are returned.
func (q MetricQuery) Returns() bool { return q.ReturnData == nil || *q.ReturnData }

// AlarmSpec is a metric alarm (PutMetricAlarm): one metric and statistic,
// or a metric-math expression (Metrics), compared with a threshold.
type AlarmSpec struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`

	Namespace  string            `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	MetricName string            `yaml:"metricName,omitempty" json:"metricName,omitempty"`
	Dimensions map[string]string `yaml:"dimensions,omitempty" json:"dimensions,omitempty"`
	// Statistic is SampleCount, Average, Sum, Minimum or Maximum;
	// ExtendedStatistic a percentile or trimmed statistic (p99, tm90).
	Statistic         string `yaml:"statistic,omitempty" json:"statistic,omitempty"`
	ExtendedStatistic string `yaml:"extendedStatistic,omitempty" json:"extendedStatistic,omitempty"`
	Unit              string `yaml:"unit,omitempty" json:"unit,omitempty"`
	// Period in seconds (default 60).
	Period int `yaml:"period,omitempty" json:"period,omitempty"`

	// Metrics makes a metric-math alarm: exactly one entry returns data.
	Metrics []MetricQuery `yaml:"metrics,omitempty" json:"metrics,omitempty"`

	EvaluationPeriods int `yaml:"evaluationPeriods" json:"evaluationPeriods"`
	// DatapointsToAlarm is M of "M out of N" (default EvaluationPeriods).
	DatapointsToAlarm  int      `yaml:"datapointsToAlarm,omitempty" json:"datapointsToAlarm,omitempty"`
	Threshold          *float64 `yaml:"threshold" json:"threshold"`
	ComparisonOperator string   `yaml:"comparisonOperator" json:"comparisonOperator"`
	// TreatMissingData is missing (default), notBreaching, breaching or
	// ignore.
	TreatMissingData                 string `yaml:"treatMissingData,omitempty" json:"treatMissingData,omitempty"`
	EvaluateLowSampleCountPercentile string `yaml:"evaluateLowSampleCountPercentile,omitempty" json:"evaluateLowSampleCountPercentile,omitempty"`

	// ActionsEnabled defaults to true.
	ActionsEnabled          *bool    `yaml:"actionsEnabled,omitempty" json:"actionsEnabled,omitempty"`
	AlarmActions            []string `yaml:"alarmActions,omitempty" json:"alarmActions,omitempty"`
	OKActions               []string `yaml:"okActions,omitempty" json:"okActions,omitempty"`
	InsufficientDataActions []string `yaml:"insufficientDataActions,omitempty" json:"insufficientDataActions,omitempty"`
}

// CompositeAlarmSpec is a composite alarm (PutCompositeAlarm): a rule over
// other alarms' states.
type CompositeAlarmSpec struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// AlarmRule is e.g. `ALARM("high-cpu") AND NOT OK("errors")`.
	AlarmRule               string   `yaml:"alarmRule" json:"alarmRule"`
	ActionsEnabled          *bool    `yaml:"actionsEnabled,omitempty" json:"actionsEnabled,omitempty"`
	AlarmActions            []string `yaml:"alarmActions,omitempty" json:"alarmActions,omitempty"`
	OKActions               []string `yaml:"okActions,omitempty" json:"okActions,omitempty"`
	InsufficientDataActions []string `yaml:"insufficientDataActions,omitempty" json:"insufficientDataActions,omitempty"`
}

// alarmName is CloudWatch's alarm name rule: 1–255 printable characters.
func validName(path, kindTitle, name string, errs *fielderr.List) {
	switch {
	case strings.TrimSpace(name) == "":
		errs.Add(path, nil, "is missing", "give the "+kindTitle+" a name")
	case len(name) > 255:
		errs.Add(path, name, "is longer than 255 characters", "use a shorter name")
	case strings.ContainsAny(name, "\x00\n\r\t/"):
		errs.Add(path, name, "contains a control character or a slash", "use letters, digits, '-', '_' and '.'")
	}
}

// Defaults fills unset fields with CloudWatch's defaults.
func (s *AlarmSpec) Defaults() {
	if s.Period == 0 && len(s.Metrics) == 0 {
		s.Period = 60
	}
	if s.DatapointsToAlarm == 0 {
		s.DatapointsToAlarm = s.EvaluationPeriods
	}
	if s.TreatMissingData == "" {
		s.TreatMissingData = "missing"
	}
	if s.ActionsEnabled == nil {
		t := true
		s.ActionsEnabled = &t
	}
}

// Rule returns the alarm's evaluation rule.
func (s *AlarmSpec) Rule() alarm.Rule {
	r := alarm.Rule{
		Period:                           time.Duration(s.EffectivePeriod()) * time.Second,
		EvaluationPeriods:                s.EvaluationPeriods,
		DatapointsToAlarm:                s.DatapointsToAlarm,
		Operator:                         alarm.Operator(s.ComparisonOperator),
		TreatMissingData:                 alarm.Missing(s.TreatMissingData),
		EvaluateLowSampleCountPercentile: s.EvaluateLowSampleCountPercentile,
		Statistic:                        s.StatName(),
	}
	if len(s.Metrics) > 0 {
		r.Statistic = ""
	}
	if s.Threshold != nil {
		r.Threshold = *s.Threshold
	}
	if st, err := metric.ParseStatistic(s.StatName()); err == nil {
		r.Percentile = st.Extended()
	}
	return r
}

// StatName is the alarm's statistic: Statistic or ExtendedStatistic.
func (s *AlarmSpec) StatName() string {
	if s.ExtendedStatistic != "" {
		return s.ExtendedStatistic
	}
	return s.Statistic
}

// EffectivePeriod is the alarm's period in seconds: Period, or for a
// metric-math alarm the returned entry's period.
func (s *AlarmSpec) EffectivePeriod() int {
	if len(s.Metrics) == 0 {
		return s.Period
	}
	p := 0
	for _, q := range s.Metrics {
		if q.Returns() && q.Period > 0 {
			return q.Period
		}
		if q.MetricStat != nil && (p == 0 || q.MetricStat.Period < p) {
			p = q.MetricStat.Period
		}
	}
	return p
}

var queryIDPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// Validate returns the alarm's problems with paths relative to the spec.
func (s *AlarmSpec) Validate() fielderr.List {
	var errs fielderr.List
	validName("name", "alarm", s.Name, &errs)
	single := s.MetricName != "" || s.Namespace != "" || len(s.Dimensions) > 0 || s.Statistic != "" || s.ExtendedStatistic != ""
	switch {
	case single && len(s.Metrics) > 0:
		errs.Add("metrics", nil, "is set together with metricName/namespace/statistic", "give either one metric (namespace, metricName, statistic) or metrics (metric math), not both")
	case len(s.Metrics) > 0:
		validateQueries("metrics", s.Metrics, true, &errs)
	default:
		ref := MetricRef{Namespace: s.Namespace, MetricName: s.MetricName, Dimensions: s.Dimensions}
		validateMetricRef("", ref, &errs)
		switch {
		case s.Statistic != "" && s.ExtendedStatistic != "":
			errs.Add("extendedStatistic", s.ExtendedStatistic, "is set together with statistic", "give one of statistic and extendedStatistic")
		case s.Statistic == "" && s.ExtendedStatistic == "":
			errs.Add("statistic", nil, "is missing", "give statistic (SampleCount, Average, Sum, Minimum, Maximum) or extendedStatistic (p99, tm90…)")
		case s.Statistic != "":
			if !slices.Contains(simpleStatistics, s.Statistic) {
				errs.Add("statistic", s.Statistic, "is not a statistic", "use one of "+strings.Join(simpleStatistics, ", ")+fielderr.DidYouMean(s.Statistic, simpleStatistics)+"; percentiles go in extendedStatistic")
			}
		default:
			if st, err := metric.ParseStatistic(s.ExtendedStatistic); err != nil {
				errs.Add("extendedStatistic", s.ExtendedStatistic, err.Error(), "use a percentile such as p99 or a trimmed statistic such as tm90")
			} else if !st.Extended() {
				errs.Add("extendedStatistic", s.ExtendedStatistic, "is a simple statistic", "put it in statistic")
			}
		}
		validatePeriod("period", s.Period, &errs)
	}
	if s.Unit != "" && !slices.Contains(metric.Units(), s.Unit) {
		errs.Add("unit", s.Unit, "is not a CloudWatch unit", "use one of "+strings.Join(metric.Units(), ", ")+fielderr.DidYouMean(s.Unit, metric.Units()))
	}
	if s.Threshold == nil {
		errs.Add("threshold", nil, "is missing", "give the value the statistic is compared with")
	}
	if s.EvaluationPeriods < 1 {
		errs.Add("evaluationPeriods", s.EvaluationPeriods, "must be at least 1", "give the number of periods evaluated (N of M-out-of-N)")
	}
	if err := s.Rule().Validate(); err != nil {
		for _, e := range flatten(err) {
			fe, ok := e.(*alarm.FieldError)
			if !ok {
				errs.Add("", nil, e.Error(), "")
				continue
			}
			path := ruleFieldPath[fe.Field]
			if path == "" {
				path = lowerFirst(fe.Field)
			}
			if path == "period" && len(s.Metrics) > 0 {
				path = "metrics"
			}
			if !hasPath(errs, path) {
				// The value comes formatted already.
				errs = append(errs, &fielderr.Error{Path: path, Value: fe.Value, Problem: fe.Msg})
			}
		}
	}
	validateActions(s.AlarmActions, "alarmActions", true, s.Dimensions, &errs)
	validateActions(s.OKActions, "okActions", true, s.Dimensions, &errs)
	validateActions(s.InsufficientDataActions, "insufficientDataActions", true, s.Dimensions, &errs)
	return errs
}

var simpleStatistics = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}

// validatePeriod checks a period in seconds: 1, 5, 10, 30 or a multiple
// of 60, the periods high-resolution data can be queried at (madang's
// alarms go down to 1 s).
func validatePeriod(path string, p int, errs *fielderr.List) {
	switch {
	case p <= 0:
		errs.Add(path, p, "must be positive", "give the period in seconds: 1, 5, 10, 30 or a multiple of 60")
	case p < 60 && p != 1 && p != 5 && p != 10 && p != 30, p > 60 && p%60 != 0:
		errs.Add(path, p, "is not a valid period", "use 1, 5, 10, 30 or a multiple of 60 seconds")
	case p > 86400*7:
		errs.Add(path, p, "is longer than a week", "use at most 604800 seconds")
	}
}

func validateMetricRef(prefix string, m MetricRef, errs *fielderr.List) {
	if m.Namespace == "" {
		errs.Add(fielderr.Join(prefix, "namespace"), nil, "is missing", "give the metric's namespace, e.g. AWS/EC2")
	}
	if m.MetricName == "" {
		errs.Add(fielderr.Join(prefix, "metricName"), nil, "is missing", "give the metric's name, e.g. CPUUtilization")
	}
	if len(m.Dimensions) > 30 {
		errs.Add(fielderr.Join(prefix, "dimensions"), len(m.Dimensions), "has more than 30 dimensions", "use at most 30")
	}
	keys := make([]string, 0, len(m.Dimensions))
	for k := range m.Dimensions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" || m.Dimensions[k] == "" {
			errs.Add(fielderr.Join(prefix, "dimensions."+k), m.Dimensions[k], "has an empty name or value", "give both")
		}
	}
}

// validateQueries checks metric-math entries: unique lowercase ids, one of
// metricStat and expression each, expressions that parse and reference
// known ids without cycles, and (for alarms) exactly one returned entry.
func validateQueries(path string, qs []MetricQuery, forAlarm bool, errs *fielderr.List) {
	ids := map[string]bool{}
	exprs := map[string]*metricmath.Expr{}
	var metricIDs []string
	returned := 0
	for i, q := range qs {
		p := fielderr.Index(path, i)
		switch {
		case q.ID == "":
			errs.Add(p+".id", nil, "is missing", "give the entry an id starting with a lowercase letter, e.g. m1")
		case !queryIDPattern.MatchString(q.ID):
			errs.Add(p+".id", q.ID, "is not a valid id", "start with a lowercase letter, then letters, digits or '_'")
		case ids[q.ID]:
			errs.Add(p+".id", q.ID, "is used twice", "give every entry its own id")
		}
		ids[q.ID] = true
		if q.Returns() {
			returned++
		}
		switch {
		case q.MetricStat != nil && q.Expression != "":
			errs.Add(p, nil, "has both metricStat and expression", "give one of them")
		case q.MetricStat != nil:
			validateMetricRef(p+".metricStat.metric", q.MetricStat.Metric, errs)
			validatePeriod(p+".metricStat.period", q.MetricStat.Period, errs)
			if _, err := metric.ParseStatistic(q.MetricStat.Stat); err != nil {
				errs.Add(p+".metricStat.stat", q.MetricStat.Stat, err.Error(), "use Average, Sum, Maximum, p99…")
			}
			metricIDs = append(metricIDs, q.ID)
		case q.Expression != "":
			e, err := metricmath.Parse(q.Expression)
			if err != nil {
				errs.Add(p+".expression", q.Expression, err.Error(), "see CloudWatch's metric math syntax")
				continue
			}
			exprs[q.ID] = e
			if q.Period != 0 {
				validatePeriod(p+".period", q.Period, errs)
			}
		default:
			errs.Add(p, nil, "has neither metricStat nor expression", "give one of them")
		}
	}
	if forAlarm && returned != 1 {
		errs.Add(path, returned, "must have exactly one entry that returns data", "set returnData: false on every entry but the one the alarm compares")
	}
	if len(*errs) == 0 && len(exprs) > 0 {
		if _, err := metricmath.Order(exprs, metricIDs); err != nil {
			errs.Add(path, nil, err.Error(), "reference only ids of this list, without cycles")
		}
	}
}

// Validate returns the composite alarm's problems.
func (s *CompositeAlarmSpec) Validate() fielderr.List {
	var errs fielderr.List
	validName("name", "composite alarm", s.Name, &errs)
	if strings.TrimSpace(s.AlarmRule) == "" {
		errs.Add("alarmRule", nil, "is missing", `give a rule such as ALARM("high-cpu") AND NOT OK("errors")`)
	} else if e, err := alarm.ParseRule(s.AlarmRule); err != nil {
		errs.Add("alarmRule", s.AlarmRule, err.Error(), `use ALARM(name), OK(name), INSUFFICIENT_DATA(name), TRUE, FALSE with AND, OR, NOT and parentheses`)
	} else if slices.Contains(e.Refs(), s.Name) {
		errs.Add("alarmRule", s.AlarmRule, "refers to the composite alarm itself", "refer to other alarms")
	}
	validateActions(s.AlarmActions, "alarmActions", false, nil, &errs)
	validateActions(s.OKActions, "okActions", false, nil, &errs)
	validateActions(s.InsufficientDataActions, "insufficientDataActions", false, nil, &errs)
	return errs
}

// Defaults fills unset fields.
func (s *CompositeAlarmSpec) Defaults() {
	if s.ActionsEnabled == nil {
		t := true
		s.ActionsEnabled = &t
	}
}

func validateActions(actions []string, path string, metricAlarm bool, dims map[string]string, errs *fielderr.List) {
	if len(actions) > 5 {
		errs.Add(path, len(actions), "has more than 5 actions", "use at most 5, as CloudWatch")
	}
	for i, a := range actions {
		act, err := ParseAction(a)
		p := fielderr.Index(path, i)
		if err != nil {
			errs.Add(p, a, err.Error(), actionHelp)
			continue
		}
		if act.Kind == ActionEC2 {
			if !metricAlarm {
				errs.Add(p, a, "is an EC2 action on a composite alarm", "EC2 actions need a metric alarm with an InstanceId dimension")
			} else if dims["InstanceId"] == "" {
				errs.Add(p, a, "is an EC2 action but the alarm has no InstanceId dimension", "add dimensions: {InstanceId: i-…} or use another action")
			}
		}
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// ruleFieldPath maps alarm.Rule's field names to the stack file's.
var ruleFieldPath = map[string]string{
	"Operator": "comparisonOperator", "Period": "period", "EvaluationPeriods": "evaluationPeriods",
	"DatapointsToAlarm": "datapointsToAlarm", "Threshold": "threshold", "TreatMissingData": "treatMissingData",
	"EvaluateLowSampleCountPercentile": "evaluateLowSampleCountPercentile", "Statistic": "statistic",
}

// flatten returns the errors joined in err (errors.Join), or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func hasPath(errs fielderr.List, path string) bool {
	for _, e := range errs {
		if e.Path == path {
			return true
		}
	}
	return false
}
