package dashboard

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
)

// The body of CloudWatch's "Overall Structure" documentation example: one
// metric widget and one text widget.
const awsOverallExample = `{
   "start": "-PT6H",
   "periodOverride": "inherit",
   "widgets": [
      {
         "type":"metric", "x":0, "y":0, "width":12, "height":6,
         "properties":{
            "metrics":[ [ "AWS/EC2", "CPUUtilization", "InstanceId", "i-012345" ] ],
            "period":300, "stat":"Average", "region":"us-east-1",
            "title":"EC2 Instance CPU", "liveData": false,
            "legend": { "position": "right" }
         }
      },
      {
         "type":"text", "x":0, "y":7, "width":3, "height":3,
         "properties":{ "markdown":"Hello world" }
      }
   ]
}`

// A body in the style of CloudWatch's metric math documentation examples:
// two hidden metrics and an expression over them, with "." shorthand.
const mathExample = `{
  "widgets": [{
    "type": "metric", "x": 0, "y": 0, "width": 24, "height": 6,
    "properties": {
      "view": "timeSeries", "stacked": false, "yAxis": {"left": {"min": 0, "label": "%"}},
      "metrics": [
        ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", "app/web/1", {"id": "m1", "stat": "Sum", "visible": false}],
        [".", "RequestCount", ".", ".", {"id": "m2", "stat": "Sum", "visible": false}],
        [{"expression": "100*m1/m2", "label": "5XX rate", "id": "e1"}]
      ],
      "period": 60, "title": "Error rate"
    }
  }, {
    "type": "alarm", "x": 0, "y": 6, "width": 6, "height": 3,
    "properties": {"title": "Alarms", "alarms": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:high-cpu"],
      "sortBy": "stateUpdatedTimestamp", "states": ["ALARM", "OK"]}
  }, {
    "type": "log", "x": 6, "y": 6, "width": 18, "height": 6,
    "properties": {"query": "SOURCE 'web' | fields @timestamp, @message | sort @timestamp desc", "view": "table"}
  }]
}`

func TestParseValid(t *testing.T) {
	falseRow := func(r MetricRow) MetricRow { r.Visible = false; return r }
	tests := []struct {
		name string
		body string
		want *Body
	}{
		{
			name: "AWS overall structure example",
			body: awsOverallExample,
			want: &Body{Start: "-PT6H", PeriodOverride: "inherit", Widgets: []Widget{
				{Type: "metric", X: 0, Y: 0, Width: 12, Height: 6, Properties: Properties{
					Title: "EC2 Instance CPU", Region: "us-east-1", Stat: "Average", Period: 300,
					Metrics: []MetricRow{{Namespace: "AWS/EC2", MetricName: "CPUUtilization",
						Dimensions: []Dim{{"InstanceId", "i-012345"}}, Visible: true}},
				}},
				{Type: "text", X: 0, Y: 7, Width: 3, Height: 3, Properties: Properties{Markdown: "Hello world"}},
			}},
		},
		{
			name: "metric math with shorthand, alarm and log widgets",
			body: mathExample,
			want: &Body{Widgets: []Widget{
				{Type: "metric", Width: 24, Height: 6, Properties: Properties{
					Title: "Error rate", View: "timeSeries", Period: 60,
					YAxis: &YAxis{Left: &Axis{Min: new(float64), Label: "%"}},
					Metrics: []MetricRow{
						falseRow(MetricRow{Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count",
							Dimensions: []Dim{{"LoadBalancer", "app/web/1"}}, ID: "m1", Stat: "Sum"}),
						falseRow(MetricRow{Namespace: "AWS/ApplicationELB", MetricName: "RequestCount",
							Dimensions: []Dim{{"LoadBalancer", "app/web/1"}}, ID: "m2", Stat: "Sum"}),
						{Expression: "100*m1/m2", Label: "5XX rate", ID: "e1", Visible: true},
					},
				}},
				{Type: "alarm", Y: 6, Width: 6, Height: 3, Properties: Properties{Title: "Alarms",
					Alarms: []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:high-cpu"},
					SortBy: "stateUpdatedTimestamp", States: []string{"ALARM", "OK"}}},
				{Type: "log", X: 6, Y: 6, Width: 18, Height: 6, Properties: Properties{
					Query: "SOURCE 'web' | fields @timestamp, @message | sort @timestamp desc", View: "table"}},
			}},
		},
		{
			name: "empty widgets array",
			body: `{"widgets": []}`,
			want: &Body{Widgets: []Widget{}},
		},
		{
			name: "default size",
			body: `{"widgets": [{"type": "text", "properties": {"markdown": "# hi"}}]}`,
			want: &Body{Widgets: []Widget{{Type: "text", Width: 6, Height: 6, Properties: Properties{Markdown: "# hi"}}}},
		},
		{
			name: "extended statistics and high-resolution periods",
			body: `{"widgets": [{"type": "metric", "properties": {"view": "singleValue", "metrics": [
				["A", "B", {"stat": "p99.9", "period": 1}], ["A", "C", {"stat": "tm90", "period": 10}],
				["A", "D", {"stat": "TM(10%:90%)", "period": 3600}]]}}]}`,
			want: &Body{Widgets: []Widget{{Type: "metric", Width: 6, Height: 6, Properties: Properties{View: "singleValue",
				Metrics: []MetricRow{
					{Namespace: "A", MetricName: "B", Stat: "p99.9", Period: 1, Visible: true},
					{Namespace: "A", MetricName: "C", Stat: "tm90", Period: 10, Visible: true},
					{Namespace: "A", MetricName: "D", Stat: "TM(10%:90%)", Period: 3600, Visible: true},
				}}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
			// Marshalling gives back a body that parses to the same.
			data, err := json.Marshal(got)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			again, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse(Marshal): %v\n%s", err, data)
			}
			if !reflect.DeepEqual(again, got) {
				t.Errorf("round trip =\n%+v\nwant\n%+v\n%s", again, got, data)
			}
		})
	}
}

func TestDotShorthand(t *testing.T) {
	tests := []struct {
		name    string
		metrics string
		want    []MetricRow
	}{
		{
			name: "dot repeats namespace and dimension name",
			metrics: `[["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"],
			           [".", ".", ".", "i-2"]]`,
			want: []MetricRow{
				{Namespace: "AWS/EC2", MetricName: "CPUUtilization", Dimensions: []Dim{{"InstanceId", "i-1"}}, Visible: true},
				{Namespace: "AWS/EC2", MetricName: "CPUUtilization", Dimensions: []Dim{{"InstanceId", "i-2"}}, Visible: true},
			},
		},
		{
			name:    "dot after an expression row refers to the last metric row",
			metrics: `[["N", "M", "D", "v"], [{"expression": "m1*2"}], [".", "M2", ".", "."]]`,
			want: []MetricRow{
				{Namespace: "N", MetricName: "M", Dimensions: []Dim{{"D", "v"}}, Visible: true},
				{Expression: "m1*2", Visible: true},
				{Namespace: "N", MetricName: "M2", Dimensions: []Dim{{"D", "v"}}, Visible: true},
			},
		},
		{
			name:    "dot chains through expanded rows",
			metrics: `[["N", "M", "D", "a"], [".", ".", ".", "b"], [".", ".", "E", "."]]`,
			want: []MetricRow{
				{Namespace: "N", MetricName: "M", Dimensions: []Dim{{"D", "a"}}, Visible: true},
				{Namespace: "N", MetricName: "M", Dimensions: []Dim{{"D", "b"}}, Visible: true},
				{Namespace: "N", MetricName: "M", Dimensions: []Dim{{"E", "b"}}, Visible: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse([]byte(`{"widgets": [{"type": "metric", "properties": {"metrics": ` + tt.metrics + `}}]}`))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := b.Widgets[0].Properties.Metrics; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("metrics =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestRows(t *testing.T) {
	b, err := Parse([]byte(`{"widgets": [
		{"type": "metric", "properties": {"stat": "Maximum", "period": 60, "metrics": [
			["N", "M", "D", "v"], [".", ".", ".", "w", {"stat": "p50", "period": 10}], [{"expression": "m1"}]]}},
		{"type": "metric", "properties": {"metrics": [["N", "M"]]}},
		{"type": "text", "properties": {"markdown": "x"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		widget int
		want   []MetricRow
	}{
		{name: "widget defaults fill rows", widget: 0, want: []MetricRow{
			{Namespace: "N", MetricName: "M", Dimensions: []Dim{{"D", "v"}}, Stat: "Maximum", Period: 60, Visible: true},
			{Namespace: "N", MetricName: "M", Dimensions: []Dim{{"D", "w"}}, Stat: "p50", Period: 10, Visible: true},
			{Expression: "m1", Visible: true},
		}},
		{name: "package defaults", widget: 1, want: []MetricRow{
			{Namespace: "N", MetricName: "M", Stat: DefaultStat, Period: DefaultPeriod, Visible: true}}},
		{name: "text widget has no rows", widget: 2, want: nil},
		{name: "out of range", widget: 3, want: nil},
		{name: "negative", widget: -1, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := b.Rows(tt.widget); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Rows(%d) =\n%+v\nwant\n%+v", tt.widget, got, tt.want)
			}
		})
	}
	// Rows hands out copies.
	b.Rows(0)[0].Dimensions[0].Value = "changed"
	if v := b.Widgets[0].Properties.Metrics[0].Dimensions[0].Value; v != "v" {
		t.Errorf("Rows shares dimensions with the body: value became %q", v)
	}
}

// metricWidget wraps a metrics array in a body with one metric widget.
func metricWidget(metrics string) string {
	return `{"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 6, "height": 6, "properties": {"metrics": ` + metrics + `}}]}`
}

func TestParseErrors(t *testing.T) {
	many := `{"widgets": [` + strings.Repeat(`{"type": "text", "properties": {"markdown": "x"}},`, MaxWidgets) +
		`{"type": "text", "properties": {"markdown": "x"}}]}`
	tests := []struct {
		name    string
		body    string
		path    string
		value   string
		problem string
	}{
		{name: "not JSON", body: `{"widgets": [`, path: "", problem: "is not a JSON object"},
		{name: "trailing data", body: `{"widgets": []} {}`, path: "", problem: "trailing data"},
		{name: "widgets missing", body: `{}`, path: "widgets", problem: "is missing"},
		{name: "widgets not an array", body: `{"widgets": {}}`, path: "widgets", value: `"{}"`, problem: "is not an array"},
		{name: "too many widgets", body: many, path: "widgets", value: "501", problem: "more than 500"},
		{name: "widget not an object", body: `{"widgets": [3]}`, path: "widgets[0]", problem: "is not a widget object"},
		{name: "type missing", body: `{"widgets": [{"properties": {}}]}`, path: "widgets[0].type", problem: "is missing"},
		{name: "unknown type", body: `{"widgets": [{"type": "metrics", "properties": {}}]}`, path: "widgets[0].type", value: `"metrics"`, problem: "not a known widget type"},
		{name: "type not a string", body: `{"widgets": [{"type": 1, "properties": {}}]}`, path: "widgets[0].type", value: `"1"`, problem: "is not a string"},
		{name: "x off the grid", body: `{"widgets": [{"type": "text", "x": 24, "width": 1, "properties": {"markdown": ""}}]}`, path: "widgets[0].x", value: "24", problem: "off the grid"},
		{name: "negative x", body: `{"widgets": [{"type": "text", "x": -1, "properties": {"markdown": ""}}]}`, path: "widgets[0].x", value: "-1", problem: "off the grid"},
		{name: "negative y", body: `{"widgets": [{"type": "text", "y": -2, "properties": {"markdown": ""}}]}`, path: "widgets[0].y", value: "-2", problem: "is negative"},
		{name: "width zero", body: `{"widgets": [{"type": "text", "width": 0, "properties": {"markdown": ""}}]}`, path: "widgets[0].width", value: "0", problem: "out of range"},
		{name: "width too wide", body: `{"widgets": [{"type": "text", "width": 25, "properties": {"markdown": ""}}]}`, path: "widgets[0].width", value: "25", problem: "out of range"},
		{name: "runs past the grid", body: `{"widgets": [{"type": "text", "x": 20, "width": 6, "properties": {"markdown": ""}}]}`, path: "widgets[0].width", value: "6", problem: "runs past the grid"},
		{name: "width not whole", body: `{"widgets": [{"type": "text", "width": 6.5, "properties": {"markdown": ""}}]}`, path: "widgets[0].width", value: `"6.5"`, problem: "not a whole number"},
		{name: "height zero", body: `{"widgets": [{"type": "text", "height": 0, "properties": {"markdown": ""}}]}`, path: "widgets[0].height", value: "0", problem: "out of range"},
		{name: "height too tall", body: `{"widgets": [{"type": "text", "height": 1001, "properties": {"markdown": ""}}]}`, path: "widgets[0].height", value: "1001", problem: "out of range"},
		{name: "properties missing", body: `{"widgets": [{"type": "text"}]}`, path: "widgets[0].properties", problem: "is missing"},
		{name: "properties not an object", body: `{"widgets": [{"type": "text", "properties": []}]}`, path: "widgets[0].properties", problem: "is not an object"},
		{name: "metrics missing", body: `{"widgets": [{"type": "metric", "properties": {}}]}`, path: "widgets[0].properties.metrics", problem: "is missing"},
		{name: "metrics not an array", body: metricWidget(`"cpu"`), path: "widgets[0].properties.metrics", problem: "not an array of rows"},
		{name: "row not an array", body: metricWidget(`["AWS/EC2"]`), path: "widgets[0].properties.metrics[0]", problem: "is not an array"},
		{name: "empty row", body: metricWidget(`[[]]`), path: "widgets[0].properties.metrics[0]", problem: "is empty"},
		{name: "number in row", body: metricWidget(`[["AWS/EC2", 5]]`), path: "widgets[0].properties.metrics[0][1]", value: `"5"`, problem: "is not a string"},
		{name: "no metric name", body: metricWidget(`[["AWS/EC2"]]`), path: "widgets[0].properties.metrics[0]", problem: "no metric name"},
		{name: "empty namespace", body: metricWidget(`[["", "CPU"]]`), path: "widgets[0].properties.metrics[0][0]", problem: "empty namespace"},
		{name: "empty metric name", body: metricWidget(`[["N", ""]]`), path: "widgets[0].properties.metrics[0][1]", problem: "empty metric name"},
		{name: "dimension without value", body: metricWidget(`[["N", "M", "InstanceId"]]`), path: "widgets[0].properties.metrics[0][2]", value: `"InstanceId"`, problem: "without a value"},
		{name: "dot in first row", body: metricWidget(`[[".", "M"]]`), path: "widgets[0].properties.metrics[0][0]", value: `"."`, problem: "no metric row comes before"},
		{name: "dot past previous row", body: metricWidget(`[["N", "M"], ["N", "M", "D", "."]]`), path: "widgets[0].properties.metrics[1][3]", value: `"."`, problem: "has only 2 values"},
		{name: "options not last", body: metricWidget(`[["N", {"id": "m1"}, "M"]]`), path: "widgets[0].properties.metrics[0][1]", problem: "before the end"},
		{name: "unknown option", body: metricWidget(`[["N", "M", {"colour": "#000000"}]]`), path: "widgets[0].properties.metrics[0][2]", problem: "unknown field"},
		{name: "options only", body: metricWidget(`[[{"label": "x"}]]`), path: "widgets[0].properties.metrics[0]", problem: "neither a metric nor an expression"},
		{name: "expression with metric", body: metricWidget(`[["N", {"expression": "m1"}]]`), path: "widgets[0].properties.metrics[0][0]", value: `"N"`, problem: "in an expression row"},
		{name: "bad id", body: metricWidget(`[["N", "M", {"id": "M1"}]]`), path: "widgets[0].properties.metrics[0][2].id", value: `"M1"`, problem: "not a valid id"},
		{name: "duplicate id", body: metricWidget(`[["N", "M", {"id": "m1"}], [{"expression": "m1", "id": "m1"}]]`), path: "widgets[0].properties.metrics[1][0].id", value: `"m1"`, problem: "already the id of metrics[0]"},
		{name: "bad row stat", body: metricWidget(`[["N", "M", {"stat": "Avg"}]]`), path: "widgets[0].properties.metrics[0][2].stat", value: `"Avg"`, problem: "not a statistic"},
		{name: "bad row period", body: metricWidget(`[["N", "M", {"period": 45}]]`), path: "widgets[0].properties.metrics[0][2].period", value: "45", problem: "not a valid period"},
		{name: "bad colour", body: metricWidget(`[["N", "M", {"color": "red"}]]`), path: "widgets[0].properties.metrics[0][2].color", value: `"red"`, problem: "not a colour"},
		{name: "bad row axis", body: metricWidget(`[["N", "M", {"yAxis": "top"}]]`), path: "widgets[0].properties.metrics[0][2].yAxis", value: `"top"`, problem: "not an axis"},
		{name: "too many rows", body: metricWidget(`[` + strings.Repeat(`["N", "M"],`, MaxMetricRows) + `["N", "M"]]`), path: "widgets[0].properties.metrics", value: "501", problem: "more than 500 rows"},
		{name: "bad view", body: `{"widgets": [{"type": "metric", "properties": {"view": "line", "metrics": []}}]}`, path: "widgets[0].properties.view", value: `"line"`, problem: "not a metric widget view"},
		{name: "bad widget stat", body: `{"widgets": [{"type": "metric", "properties": {"stat": "Mean", "metrics": []}}]}`, path: "widgets[0].properties.stat", value: `"Mean"`, problem: "not a statistic"},
		{name: "bad widget period", body: `{"widgets": [{"type": "metric", "properties": {"period": 61, "metrics": []}}]}`, path: "widgets[0].properties.period", value: "61", problem: "not a valid period"},
		{name: "stacked not a bool", body: `{"widgets": [{"type": "metric", "properties": {"stacked": "yes", "metrics": []}}]}`, path: "widgets[0].properties.stacked", problem: "not true or false"},
		{name: "bad yAxis", body: `{"widgets": [{"type": "metric", "properties": {"yAxis": {"top": {}}, "metrics": []}}]}`, path: "widgets[0].properties.yAxis", problem: "not a y-axis object"},
		{name: "markdown missing", body: `{"widgets": [{"type": "text", "properties": {}}]}`, path: "widgets[0].properties.markdown", problem: "is missing"},
		{name: "bad background", body: `{"widgets": [{"type": "text", "properties": {"markdown": "", "background": "none"}}]}`, path: "widgets[0].properties.background", value: `"none"`, problem: "not a text background"},
		{name: "alarms missing", body: `{"widgets": [{"type": "alarm", "properties": {}}]}`, path: "widgets[0].properties.alarms", problem: "is missing"},
		{name: "alarms empty", body: `{"widgets": [{"type": "alarm", "properties": {"alarms": []}}]}`, path: "widgets[0].properties.alarms", problem: "is empty"},
		{name: "alarm ARN empty", body: `{"widgets": [{"type": "alarm", "properties": {"alarms": [""]}}]}`, path: "widgets[0].properties.alarms[0]", problem: "is empty"},
		{name: "bad sortBy", body: `{"widgets": [{"type": "alarm", "properties": {"alarms": ["a"], "sortBy": "name"}}]}`, path: "widgets[0].properties.sortBy", value: `"name"`, problem: "not an alarm sort order"},
		{name: "bad state", body: `{"widgets": [{"type": "alarm", "properties": {"alarms": ["a"], "states": ["ALARMING"]}}]}`, path: "widgets[0].properties.states[0]", value: `"ALARMING"`, problem: "not an alarm state"},
		{name: "query missing", body: `{"widgets": [{"type": "log", "properties": {}}]}`, path: "widgets[0].properties.query", problem: "is missing"},
		{name: "bad log view", body: `{"widgets": [{"type": "log", "properties": {"query": "q", "view": "gauge"}}]}`, path: "widgets[0].properties.view", value: `"gauge"`, problem: "not a log widget view"},
		{name: "bad periodOverride", body: `{"periodOverride": "always", "widgets": []}`, path: "periodOverride", value: `"always"`, problem: "not a period override"},
		{name: "bad start", body: `{"start": "3 hours ago", "widgets": []}`, path: "start", value: `"3 hours ago"`, problem: "neither a duration"},
		{name: "bad end", body: `{"end": "-PTXH", "widgets": []}`, path: "end", value: `"-PTXH"`, problem: "not an ISO 8601 duration"},
		{name: "start after end", body: `{"start": "-PT1H", "end": "-PT2H", "widgets": []}`, path: "start", value: `"-PT1H"`, problem: "not before the end"},
		{name: "absolute start after end", body: `{"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z", "widgets": []}`, path: "start", problem: "not before the end"},
		{name: "start not a string", body: `{"start": 3, "widgets": []}`, path: "start", problem: "is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse([]byte(tt.body))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error at %q", b, tt.path)
			}
			var list fielderr.List
			if !errors.As(err, &list) {
				t.Fatalf("Parse error %T is not a fielderr.List: %v", err, err)
			}
			for _, e := range list {
				if e.Path == tt.path && strings.Contains(e.Problem, tt.problem) {
					if tt.value != "" && e.Value != tt.value {
						t.Errorf("value = %s, want %s", e.Value, tt.value)
					}
					if e.Fix == "" {
						t.Errorf("%v: no fix given", e)
					}
					return
				}
			}
			t.Errorf("no error at %q containing %q in:\n%v", tt.path, tt.problem, err)
		})
	}
}

func TestParseCollectsEveryError(t *testing.T) {
	_, err := Parse([]byte(`{"widgets": [{"type": "txt", "width": 30, "properties": {}},
		{"type": "metric", "properties": {"metrics": [["N"]]}}]}`))
	var list fielderr.List
	if !errors.As(err, &list) {
		t.Fatalf("err = %v, want a fielderr.List", err)
	}
	want := []string{"widgets[0].type", "widgets[0].width", "widgets[1].properties.metrics[0]"}
	var got []string
	for _, e := range list {
		got = append(got, e.Path)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths = %q, want %q\n%v", got, want, err)
	}
	if !strings.Contains(err.Error(), `did you mean "text"?`) {
		t.Errorf("error does not suggest the type: %v", err)
	}
}

func TestMetricRowString(t *testing.T) {
	tests := []struct {
		name string
		row  MetricRow
		want string
	}{
		{name: "metric", row: MetricRow{Namespace: "AWS/EC2", MetricName: "CPUUtilization",
			Dimensions: []Dim{{"InstanceId", "i-1"}}, Stat: "p99", Period: 60},
			want: "AWS/EC2 CPUUtilization InstanceId=i-1 p99 60s"},
		{name: "expression", row: MetricRow{Expression: "m1+m2"}, want: "m1+m2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.row.String(); got != tt.want {
				t.Errorf("String = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		start, end string
		wantStart  time.Time
		wantEnd    time.Time
		wantErr    string
	}{
		{name: "defaults", wantStart: now.Add(-3 * time.Hour), wantEnd: now},
		{name: "three hours", start: "-PT3H", wantStart: now.Add(-3 * time.Hour), wantEnd: now},
		{name: "one day", start: "-P1D", wantStart: now.Add(-24 * time.Hour), wantEnd: now},
		{name: "one week", start: "-P1W", wantStart: now.Add(-7 * 24 * time.Hour), wantEnd: now},
		{name: "minutes and seconds", start: "-PT15M30S", wantStart: now.Add(-15*time.Minute - 30*time.Second), wantEnd: now},
		{name: "fractional seconds", start: "-PT0.5S", wantStart: now.Add(-500 * time.Millisecond), wantEnd: now},
		{name: "days and hours", start: "-P1DT12H", wantStart: now.Add(-36 * time.Hour), wantEnd: now},
		{name: "months are 30 days", start: "-P1M", wantStart: now.Add(-30 * 24 * time.Hour), wantEnd: now},
		{name: "relative end", start: "-PT2H", end: "-PT1H", wantStart: now.Add(-2 * time.Hour), wantEnd: now.Add(-time.Hour)},
		{name: "absolute", start: "2026-03-10T10:00:00Z", end: "2026-03-10T11:00:00+00:00",
			wantStart: now.Add(-2 * time.Hour), wantEnd: now.Add(-time.Hour)},
		{name: "absolute end, default start", end: "2026-03-10T11:00:00Z", wantStart: now.Add(-4 * time.Hour), wantEnd: now.Add(-time.Hour)},
		{name: "garbage start", start: "yesterday", wantErr: `start: is neither a duration before now nor an RFC 3339 time (got "yesterday")`},
		{name: "no minus", start: "PT3H", wantErr: `start: is neither`},
		{name: "empty duration", start: "-P", wantErr: `start: is not an ISO 8601 duration`},
		{name: "dangling T", start: "-P1DT", wantErr: `start: is not an ISO 8601 duration`},
		{name: "zero duration", start: "-PT0S", wantErr: `start: is an empty duration`},
		{name: "hours before T", start: "-P3H", wantErr: `start: is not an ISO 8601 duration`},
		{name: "bad end", end: "soon", wantErr: `end: is neither`},
		{name: "start after end", start: "-PT1H", end: "-PT2H", wantErr: "start: is not before the end"},
		{name: "start equals end", start: "2026-03-10T10:00:00Z", end: "2026-03-10T10:00:00Z", wantErr: "start: is not before the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, e, err := ParseRange(tt.start, tt.end, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRange: %v", err)
			}
			if !s.Equal(tt.wantStart) || !e.Equal(tt.wantEnd) {
				t.Errorf("range = %v – %v, want %v – %v", s, e, tt.wantStart, tt.wantEnd)
			}
		})
	}
}
