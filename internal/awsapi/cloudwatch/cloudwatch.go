// Package cloudwatch serves CloudWatch (metrics, alarms and dashboards) on
// madang's AWS endpoint, backed by madang's CloudWatch service: custom
// metrics go into the same metric store as the AWS/EC2 and
// AWS/ApplicationELB metrics madang collects, alarms are evaluated and act
// as the stack file's do, and dashboards are validated as the stack file's
// are. Alarms and dashboards created here belong to no stack; a stack's
// can be read but not changed or deleted.
package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	cw "github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/metricstore"
)

// Monitoring is what CloudWatch's operations need of madang's CloudWatch
// service; *cloudwatch.Service implements it. Validation errors are
// *metric.Error (with CloudWatch's code), fielderr lists or fault errors.
type Monitoring interface {
	PutMetricData(data []metric.Datum) error
	Statistics(q metricstore.Query) ([]metricstore.Datapoint, error)
	GetMetricData(queries []cw.MetricQuery, start, end time.Time, period time.Duration) ([]cw.MetricDataResult, error)
	ListMetrics(f metricstore.Filter) []metric.ID
	// Alarms returns every metric and composite alarm with its state,
	// sorted by name.
	Alarms() []cw.AlarmView
	// History returns an alarm's history (every alarm's when name is
	// empty) of a type ("" for all), newest first, at most limit items
	// (0: all).
	History(ctx context.Context, name, typ string, limit int) ([]alarm.HistoryItem, error)
	// SetAlarmStateData sets an alarm's state until its next evaluation,
	// with the caller's StateReasonData (nil: none given).
	SetAlarmStateData(ctx context.Context, name string, st alarm.State, reason string, data json.RawMessage) error
	Dashboards() []cw.Dashboard
	Dashboard(name string) (cw.Dashboard, bool)
}

// Resources creates, replaces and deletes resources made outside stack
// files; the daemon implements it. A resource of a stack is refused with a
// Conflict fault, one in use with InUse. It returns once the controllers
// have seen the change.
type Resources interface {
	PutResource(ctx context.Context, kind string, spec any) ([]string, error)
	DeleteResource(ctx context.Context, kind, name string) error
}

// Options configure the CloudWatch service.
type Options struct {
	Monitoring Monitoring
	Resources  Resources
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the CloudWatch service of the endpoint.
type Service struct {
	mon       Monitoring
	resources Resources
	now       func() time.Time
}

// New returns the CloudWatch service for the endpoint.
func New(opts Options) (awsapi.Service, error) {
	m, err := model.Load("monitoring")
	if err != nil {
		return awsapi.Service{}, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{mon: opts.Monitoring, resources: opts.Resources, now: opts.Now}
	return awsapi.Service{Name: "monitoring", Model: m, Handlers: map[string]awsapi.Handler{
		"PutMetricData":           s.putMetricData,
		"GetMetricStatistics":     s.getMetricStatistics,
		"GetMetricData":           s.getMetricData,
		"ListMetrics":             s.listMetrics,
		"PutMetricAlarm":          s.putMetricAlarm,
		"PutCompositeAlarm":       s.putCompositeAlarm,
		"DescribeAlarms":          s.describeAlarms,
		"DescribeAlarmsForMetric": s.describeAlarmsForMetric,
		"DescribeAlarmHistory":    s.describeAlarmHistory,
		"SetAlarmState":           s.setAlarmState,
		"EnableAlarmActions":      s.enableAlarmActions,
		"DisableAlarmActions":     s.disableAlarmActions,
		"DeleteAlarms":            s.deleteAlarms,
		"PutDashboard":            s.putDashboard,
		"GetDashboard":            s.getDashboard,
		"ListDashboards":          s.listDashboards,
		"DeleteDashboards":        s.deleteDashboards,
	}}, nil
}

// cwError maps madang's errors onto CloudWatch's codes.
func cwError(err error) error {
	if err == nil {
		return nil
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe
	}
	var me *metric.Error
	if errors.As(err, &me) {
		return protocol.Errorf(me.Code, "%s", strings.TrimPrefix(err.Error(), "metricstore: "))
	}
	if f, ok := fault.As(err); ok {
		switch f.Code {
		case fault.NotFound:
			return protocol.Errorf("ResourceNotFound", "%s", f.Error())
		case fault.Conflict, fault.InUse, fault.AlreadyExists:
			return protocol.Errorf("InvalidParameterCombination", "%s", f.Error())
		case fault.Invalid:
			return protocol.Errorf("InvalidParameterValue", "%s", f.Error())
		}
		return err
	}
	var fl fielderr.List
	var fe *fielderr.Error
	if errors.As(err, &fl) || errors.As(err, &fe) {
		return protocol.Errorf("InvalidParameterValue", "%s", err.Error())
	}
	return err
}

// notOwned refuses changes to a resource a stack owns.
func notOwned(title, name, owner string) error {
	if owner == "" {
		return nil
	}
	return protocol.Errorf("InvalidParameterValue", "%s '%s' belongs to madang stack '%s'; change it in that stack's file (madang apply), not through the API", title, name, owner)
}

// page cuts items to one page of size after the NextToken (an offset).
func page[T any](items []T, token string, size int) ([]T, string, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", protocol.Errorf("InvalidNextToken", "The NextToken '%s' is not valid; pass the NextToken of the previous page unchanged", token)
		}
		start = n
	}
	items = items[start:]
	if len(items) <= size {
		return items, "", nil
	}
	return items[:size], strconv.Itoa(start + size), nil
}

// maxRecords reads MaxRecords (1 to max, def when absent).
func maxRecords(in protocol.Struct, name string, def, most int) (int, error) {
	if !in.Has(name) {
		return def, nil
	}
	n := int(in.Int(name))
	if n < 1 || n > most {
		return 0, protocol.Errorf("InvalidParameterValue", "The parameter %s must be between 1 and %d; %d was given", name, most, n)
	}
	return n, nil
}

// dimensions reads a Dimensions list into a map, refusing duplicates and
// more than 30.
func dimensions(in protocol.Struct, field string) (map[string]string, error) {
	ds := in.Structs("Dimensions")
	if len(ds) > metric.MaxDimensions {
		return nil, protocol.Errorf("InvalidParameterValue", "The collection %s must not have a size greater than %d; %d were given", field, metric.MaxDimensions, len(ds))
	}
	if len(ds) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(ds))
	for i, d := range ds {
		name := d.String("Name")
		if _, dup := out[name]; dup {
			return nil, protocol.Errorf("InvalidParameterValue", "The dimension %s.member.%d name '%s' is given twice; give each dimension once", field, i+1, name)
		}
		out[name] = d.String("Value")
	}
	return out, nil
}

// dimensionList renders dimensions sorted by name, as CloudWatch returns
// them.
func dimensionList(dims map[string]string) []any {
	id := cw.MetricRef{Dimensions: dims}.ID()
	out := make([]any, 0, len(id.Dimensions))
	for _, d := range id.Dimensions {
		out = append(out, map[string]any{"Name": d.Name, "Value": d.Value})
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(s string) (int, error) { return strconv.Atoi(s) }
