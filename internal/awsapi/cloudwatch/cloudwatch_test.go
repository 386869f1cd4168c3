package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	cw "github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/metricstore"
)

var t0 = time.Date(2026, 10, 13, 10, 0, 0, 0, time.UTC)

// fake is a Monitoring and Resources over plain slices.
type fake struct {
	put        [][]metric.Datum
	alarms     []cw.AlarmView
	dashboards []cw.Dashboard
	results    []cw.MetricDataResult
	history    []alarm.HistoryItem
	puts       []any
	deletes    []string
	putErr     error
	reasonData json.RawMessage
}

func (f *fake) PutMetricData(d []metric.Datum) error { f.put = append(f.put, d); return nil }
func (f *fake) Statistics(metricstore.Query) ([]metricstore.Datapoint, error) {
	return nil, nil
}
func (f *fake) GetMetricData([]cw.MetricQuery, time.Time, time.Time, time.Duration) ([]cw.MetricDataResult, error) {
	return f.results, nil
}
func (f *fake) ListMetrics(metricstore.Filter) []metric.ID { return nil }
func (f *fake) Alarms() []cw.AlarmView                     { return f.alarms }
func (f *fake) History(context.Context, string, string, int) ([]alarm.HistoryItem, error) {
	return f.history, nil
}
func (f *fake) SetAlarmStateData(_ context.Context, _ string, _ alarm.State, _ string, data json.RawMessage) error {
	f.reasonData = data
	return nil
}
func (f *fake) Dashboards() []cw.Dashboard { return f.dashboards }
func (f *fake) Dashboard(name string) (cw.Dashboard, bool) {
	for _, d := range f.dashboards {
		if d.Spec.Name == name {
			return d, true
		}
	}
	return cw.Dashboard{}, false
}
func (f *fake) PutResource(_ context.Context, kind string, spec any) ([]string, error) {
	f.puts = append(f.puts, spec)
	return nil, f.putErr
}
func (f *fake) DeleteResource(_ context.Context, kind, name string) error {
	f.deletes = append(f.deletes, kind+"/"+name)
	return nil
}

func metricAlarm(name, state, owner string, actions ...string) cw.AlarmView {
	th := 1.0
	return cw.AlarmView{Name: name, Type: "MetricAlarm", ARN: cw.AlarmARN(name), Owner: owner,
		Metric: &cw.AlarmSpec{Name: name, Namespace: "App", MetricName: "Errors", Statistic: "Sum", Period: 60, EvaluationPeriods: 1,
			Threshold: &th, ComparisonOperator: "GreaterThanThreshold", AlarmActions: actions},
		State: cw.AlarmState{Name: name, State: alarm.State(state), Reason: "r", UpdatedAt: t0}}
}

func call(t *testing.T, f *fake, op string, in map[string]any) (map[string]any, error) {
	t.Helper()
	svc, err := New(Options{Monitoring: f, Resources: f})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Handlers[op](t.Context(), &awsapi.Call{Input: protocol.Struct(in), Region: "local"})
}

func code(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestPutMetricData(t *testing.T) {
	datum := func(extra map[string]any) any {
		d := map[string]any{"MetricName": "Latency", "Value": 1.5}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	many := make([]any, 1001)
	for i := range many {
		many[i] = datum(nil)
	}
	tests := []struct {
		name  string
		in    map[string]any
		code  string
		check func(t *testing.T, d metric.Datum)
	}{
		{name: "no namespace", in: map[string]any{"MetricData": []any{datum(nil)}}, code: "MissingParameter"},
		{name: "no data", in: map[string]any{"Namespace": "App"}, code: "MissingParameter"},
		{name: "1001 datums", in: map[string]any{"Namespace": "App", "MetricData": many}, code: "InvalidParameterValue"},
		{name: "value and dimensions", in: map[string]any{"Namespace": "App", "MetricData": []any{datum(map[string]any{
			"Dimensions": []any{map[string]any{"Name": "Host", "Value": "a"}}, "Unit": "Seconds", "Timestamp": t0, "StorageResolution": int64(1)})}},
			check: func(t *testing.T, d metric.Datum) {
				if d.Value == nil || *d.Value != 1.5 || d.Unit != "Seconds" || !d.Timestamp.Equal(t0) || d.StorageResolution != 1 ||
					len(d.Dimensions) != 1 || d.Dimensions[0].Value != "a" || d.Namespace != "App" {
					t.Errorf("datum = %+v", d)
				}
			}},
		{name: "statistic set", in: map[string]any{"Namespace": "App", "MetricData": []any{map[string]any{"MetricName": "L",
			"StatisticValues": map[string]any{"SampleCount": 2.0, "Sum": 3.0, "Minimum": 1.0, "Maximum": 2.0}}}},
			check: func(t *testing.T, d metric.Datum) {
				if d.Value != nil || d.StatisticValues == nil || *d.StatisticValues != (metric.StatSet{SampleCount: 2, Sum: 3, Minimum: 1, Maximum: 2}) {
					t.Errorf("datum = %+v", d)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{}
			_, err := call(t, f, "PutMetricData", tc.in)
			if code(err) != tc.code {
				t.Fatalf("error %v, want %q", err, tc.code)
			}
			if tc.check != nil {
				tc.check(t, f.put[0][0])
			}
		})
	}
}

func TestDescribeAlarms(t *testing.T) {
	comp := cw.AlarmView{Name: "both", Type: "CompositeAlarm", ARN: cw.AlarmARN("both"),
		Composite: &cw.CompositeAlarmSpec{Name: "both", AlarmRule: `ALARM("a-1") AND ALARM("b-1")`}, State: cw.AlarmState{State: alarm.OK}}
	f := &fake{alarms: []cw.AlarmView{metricAlarm("a-1", "ALARM", "", "arn:aws:sns:local:000000000000:ops"), metricAlarm("a-2", "OK", ""),
		metricAlarm("b-1", "ALARM", "web"), comp}}
	names := func(out map[string]any, key string) string {
		var ns []string
		for _, a := range out[key].([]any) {
			ns = append(ns, a.(map[string]any)["AlarmName"].(string))
		}
		return strings.Join(ns, ",")
	}
	tests := []struct {
		name       string
		in         map[string]any
		code       string
		metric     string
		composites string
		next       string
	}{
		{name: "default: metric alarms only", in: map[string]any{}, metric: "a-1,a-2,b-1"},
		{name: "both types", in: map[string]any{"AlarmTypes": []any{"MetricAlarm", "CompositeAlarm"}}, metric: "a-1,a-2,b-1", composites: "both"},
		{name: "prefix and state", in: map[string]any{"AlarmNamePrefix": "a-", "StateValue": "ALARM"}, metric: "a-1"},
		{name: "action prefix", in: map[string]any{"ActionPrefix": "arn:aws:sns:"}, metric: "a-1"},
		{name: "names", in: map[string]any{"AlarmNames": []any{"b-1", "nope"}}, metric: "b-1"},
		{name: "children", in: map[string]any{"ChildrenOfAlarmName": "both", "AlarmTypes": []any{"MetricAlarm"}}, metric: "a-1,b-1"},
		{name: "parents", in: map[string]any{"ParentsOfAlarmName": "a-1", "AlarmTypes": []any{"CompositeAlarm"}}, composites: "both"},
		{name: "first page", in: map[string]any{"MaxRecords": int64(2)}, metric: "a-1,a-2", next: "2"},
		{name: "second page", in: map[string]any{"MaxRecords": int64(2), "NextToken": "2"}, metric: "b-1"},
		{name: "bad token", in: map[string]any{"NextToken": "x"}, code: "InvalidNextToken"},
		{name: "too many records", in: map[string]any{"MaxRecords": int64(101)}, code: "InvalidParameterValue"},
		{name: "names and prefix", in: map[string]any{"AlarmNames": []any{"a"}, "AlarmNamePrefix": "a"}, code: "InvalidParameterCombination"},
		{name: "bad type", in: map[string]any{"AlarmTypes": []any{"Other"}}, code: "InvalidParameterValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(t, f, "DescribeAlarms", tc.in)
			if code(err) != tc.code {
				t.Fatalf("error %v, want %q", err, tc.code)
			}
			if err != nil {
				return
			}
			if got := names(out, "MetricAlarms"); got != tc.metric {
				t.Errorf("MetricAlarms = %s, want %s", got, tc.metric)
			}
			if got := names(out, "CompositeAlarms"); got != tc.composites {
				t.Errorf("CompositeAlarms = %s, want %s", got, tc.composites)
			}
			if next, _ := out["NextToken"].(string); next != tc.next {
				t.Errorf("NextToken = %q, want %q", next, tc.next)
			}
		})
	}
	out, _ := call(t, f, "DescribeAlarms", map[string]any{"AlarmNames": []any{"a-1"}})
	a := out["MetricAlarms"].([]any)[0].(map[string]any)
	if a["StateValue"] != "ALARM" || a["StateReason"] != "r" || a["AlarmArn"] != "arn:aws:cloudwatch:local:000000000000:alarm:a-1" ||
		a["Threshold"] != 1.0 || a["ActionsEnabled"] != true || a["StateUpdatedTimestamp"] != t0 {
		t.Errorf("MetricAlarm = %+v", a)
	}
}

func TestPutMetricAlarm(t *testing.T) {
	base := func(extra map[string]any) map[string]any {
		in := map[string]any{"AlarmName": "high", "Namespace": "App", "MetricName": "Errors", "Statistic": "Sum", "Period": int64(60),
			"EvaluationPeriods": int64(3), "DatapointsToAlarm": int64(2), "Threshold": 5.0, "ComparisonOperator": "GreaterThanThreshold",
			"TreatMissingData": "breaching", "ActionsEnabled": false, "AlarmActions": []any{"arn:aws:sns:local:000000000000:ops"},
			"Dimensions": []any{map[string]any{"Name": "Host", "Value": "a"}}}
		for k, v := range extra {
			in[k] = v
		}
		return in
	}
	tests := []struct {
		name   string
		alarms []cw.AlarmView
		in     map[string]any
		putErr error
		code   string
		msg    string
	}{
		{name: "new", in: base(nil)},
		{name: "stack's alarm", alarms: []cw.AlarmView{metricAlarm("high", "OK", "web")}, in: base(nil), code: "InvalidParameterValue", msg: "stack 'web'"},
		{name: "metrics with a metric name", in: base(map[string]any{"Metrics": []any{map[string]any{"Id": "m1", "Expression": "1"}}}), code: "InvalidParameterCombination"},
		{name: "both statistics", in: base(map[string]any{"ExtendedStatistic": "p99"}), code: "InvalidParameterCombination"},
		{name: "anomaly band", in: base(map[string]any{"ThresholdMetricId": "ad1"}), code: "InvalidParameterValue"},
		{name: "spec refused", in: base(nil), putErr: fault.Invalidf("alarm", "high", "threshold: is missing"), code: "InvalidParameterValue", msg: "threshold"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{alarms: tc.alarms, putErr: tc.putErr}
			_, err := call(t, f, "PutMetricAlarm", tc.in)
			if code(err) != tc.code || (tc.msg != "" && !strings.Contains(err.Error(), tc.msg)) {
				t.Fatalf("error %v, want %q with %q", err, tc.code, tc.msg)
			}
			if tc.code != "" || tc.putErr != nil {
				return
			}
			sp := f.puts[0].(*cw.AlarmSpec)
			if sp.Name != "high" || sp.EvaluationPeriods != 3 || sp.DatapointsToAlarm != 2 || *sp.Threshold != 5 || sp.TreatMissingData != "breaching" ||
				*sp.ActionsEnabled || sp.Dimensions["Host"] != "a" || len(sp.AlarmActions) != 1 {
				t.Errorf("spec = %+v", sp)
			}
		})
	}
}

func TestDeleteAlarmsAndActions(t *testing.T) {
	f := &fake{alarms: []cw.AlarmView{metricAlarm("a", "OK", ""), metricAlarm("s", "OK", "web")}}
	if _, err := call(t, f, "DeleteAlarms", map[string]any{"AlarmNames": []any{"a", "gone"}}); code(err) != "ResourceNotFound" || len(f.deletes) != 0 {
		t.Errorf("DeleteAlarms with a missing name = %v, deleted %v", err, f.deletes)
	}
	if _, err := call(t, f, "DeleteAlarms", map[string]any{"AlarmNames": []any{"s"}}); code(err) != "InvalidParameterValue" {
		t.Errorf("DeleteAlarms of a stack's alarm = %v", err)
	}
	if _, err := call(t, f, "DeleteAlarms", map[string]any{"AlarmNames": []any{"a"}}); err != nil || strings.Join(f.deletes, ",") != "alarm/a" {
		t.Errorf("DeleteAlarms = %v, deleted %v", err, f.deletes)
	}
	if _, err := call(t, f, "DisableAlarmActions", map[string]any{"AlarmNames": []any{"a", "unknown"}}); err != nil || len(f.puts) != 1 ||
		*f.puts[0].(*cw.AlarmSpec).ActionsEnabled {
		t.Errorf("DisableAlarmActions = %v, puts %+v", err, f.puts)
	}
	if _, err := call(t, f, "SetAlarmState", map[string]any{"AlarmName": "gone", "StateValue": "OK", "StateReason": "x"}); code(err) != "ResourceNotFound" {
		t.Errorf("SetAlarmState of a missing alarm = %v", err)
	}
	if _, err := call(t, f, "SetAlarmState", map[string]any{"AlarmName": "a", "StateValue": "OK", "StateReason": "x", "StateReasonData": "{"}); code(err) != "InvalidFormat" {
		t.Errorf("SetAlarmState with bad JSON = %v", err)
	}
	if _, err := call(t, f, "SetAlarmState", map[string]any{"AlarmName": "a", "StateValue": "ALARM", "StateReason": "x", "StateReasonData": `{"by":"test"}`}); err != nil || string(f.reasonData) != `{"by":"test"}` {
		t.Errorf("SetAlarmState with data = %v, passed %s", err, f.reasonData)
	}
}

func TestGetMetricDataPaging(t *testing.T) {
	times := []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute)}
	f := &fake{results: []cw.MetricDataResult{{ID: "m1", Label: "L", Timestamps: times, Values: []float64{1, 2, 3}, StatusCode: "Complete"},
		{ID: "m2", Label: "M", Timestamps: times[:1], Values: []float64{9}, StatusCode: "Complete"}}}
	in := func(extra map[string]any) map[string]any {
		m := map[string]any{"StartTime": t0, "EndTime": t0.Add(time.Hour), "MetricDataQueries": []any{map[string]any{"Id": "m1", "Expression": "1"}}}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	vals := func(out map[string]any) string {
		var parts []string
		for _, r := range out["MetricDataResults"].([]any) {
			r := r.(map[string]any)
			var vs []string
			for _, v := range r["Values"].([]any) {
				vs = append(vs, strconv.FormatFloat(v.(float64), 'g', -1, 64))
			}
			parts = append(parts, r["Id"].(string)+"="+strings.Join(vs, " ")+"/"+r["StatusCode"].(string))
		}
		next, _ := out["NextToken"].(string)
		return strings.Join(parts, ";") + " next=" + next
	}
	tests := []struct {
		name string
		in   map[string]any
		want string
		code string
	}{
		{name: "all, newest first", in: in(nil), want: "m1=3 2 1/Complete;m2=9/Complete next="},
		{name: "ascending", in: in(map[string]any{"ScanBy": "TimestampAscending"}), want: "m1=1 2 3/Complete;m2=9/Complete next="},
		{name: "first page", in: in(map[string]any{"MaxDatapoints": int64(2)}), want: "m1=3 2/PartialData;m2=/PartialData next=2"},
		{name: "second page", in: in(map[string]any{"MaxDatapoints": int64(2), "NextToken": "2"}), want: "m1=1/Complete;m2=9/Complete next="},
		{name: "bad scan", in: in(map[string]any{"ScanBy": "Sideways"}), code: "InvalidParameterValue"},
		{name: "bad token", in: in(map[string]any{"NextToken": "99"}), code: "InvalidNextToken"},
		{name: "no queries", in: map[string]any{"StartTime": t0, "EndTime": t0}, code: "MissingParameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(t, f, "GetMetricData", tc.in)
			if code(err) != tc.code {
				t.Fatalf("error %v, want %q", err, tc.code)
			}
			if err == nil && vals(out) != tc.want {
				t.Errorf("got %s, want %s", vals(out), tc.want)
			}
		})
	}
}

func TestDashboards(t *testing.T) {
	f := &fake{dashboards: []cw.Dashboard{{Spec: cw.DashboardSpec{Name: "ops", Body: map[string]any{"widgets": []any{}}}, Owner: "web", ARN: "arn:d/ops"}}}
	tests := []struct {
		name, op string
		in       map[string]any
		code     string
		msg      string
	}{
		{name: "valid", op: "PutDashboard", in: map[string]any{"DashboardName": "mine", "DashboardBody": `{"widgets":[]}`}},
		{name: "bad name", op: "PutDashboard", in: map[string]any{"DashboardName": "a b", "DashboardBody": `{"widgets":[]}`}, code: "InvalidParameterInput"},
		{name: "name of 256", op: "PutDashboard", in: map[string]any{"DashboardName": strings.Repeat("d", 256), "DashboardBody": `{"widgets":[]}`}, code: "InvalidParameterInput"},
		{name: "name of 255", op: "PutDashboard", in: map[string]any{"DashboardName": strings.Repeat("d", 255), "DashboardBody": `{"widgets":[]}`}},
		{name: "not JSON", op: "PutDashboard", in: map[string]any{"DashboardName": "x", "DashboardBody": `{`}, code: "InvalidParameterInput", msg: "dataPath"},
		{name: "bad widget", op: "PutDashboard", in: map[string]any{"DashboardName": "x", "DashboardBody": `{"widgets":[{"type":"metric","width":99}]}`}, code: "InvalidParameterInput", msg: "width"},
		{name: "stack's", op: "PutDashboard", in: map[string]any{"DashboardName": "ops", "DashboardBody": `{"widgets":[]}`}, code: "InvalidParameterValue", msg: "stack 'web'"},
		{name: "get missing", op: "GetDashboard", in: map[string]any{"DashboardName": "nope"}, code: "DashboardNotFoundError"},
		{name: "get", op: "GetDashboard", in: map[string]any{"DashboardName": "ops"}},
		{name: "delete missing", op: "DeleteDashboards", in: map[string]any{"DashboardNames": []any{"nope"}}, code: "DashboardNotFoundError"},
		{name: "delete stack's", op: "DeleteDashboards", in: map[string]any{"DashboardNames": []any{"ops"}}, code: "InvalidParameterValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(t, f, tc.op, tc.in)
			if code(err) != tc.code || (tc.msg != "" && !strings.Contains(err.Error(), tc.msg)) {
				t.Fatalf("error %v, want %q with %q", err, tc.code, tc.msg)
			}
			if tc.op == "GetDashboard" && err == nil && out["DashboardBody"] != `{"widgets":[]}` {
				t.Errorf("body = %v", out["DashboardBody"])
			}
		})
	}
}
