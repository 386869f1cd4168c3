package logs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	cw "github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/loggroup"
	"github.com/madang-dev/madang/internal/logstore"
)

// world is an instance's log, the API's streams and the settings.
type world struct {
	store    *logstore.Store
	instance loggroup.StreamInfo
	groups   []cw.LogGroup
	filters  []cw.MetricFilter
	puts     []any
	deletes  []string
}

func (w *world) Streams() []loggroup.StreamInfo {
	return append([]loggroup.StreamInfo{w.instance}, w.store.Streams()...)
}
func (w *world) LogGroups() []cw.LogGroup         { return w.groups }
func (w *world) MetricFilters() []cw.MetricFilter { return w.filters }
func (w *world) PutResource(_ context.Context, kind string, spec any) ([]string, error) {
	w.puts = append(w.puts, spec)
	if g, ok := spec.(*cw.LogGroupSpec); ok {
		w.groups = append(w.groups, cw.LogGroup{Spec: *g})
	}
	return nil, nil
}
func (w *world) DeleteResource(_ context.Context, kind, name string) error {
	w.deletes = append(w.deletes, kind+"/"+name)
	return nil
}

var now = time.Now().UTC().Truncate(time.Millisecond)

func newWorld(t *testing.T) (*world, map[string]awsapi.Handler) {
	t.Helper()
	dir := t.TempDir()
	st, err := logstore.Open(logstore.Options{Dir: filepath.Join(dir, "api")})
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "instance.log")
	var lines []string
	for i, msg := range []string{"listening on :3000", "GET / 200", "GET /health 200", "GET /missing 404"} {
		lines = append(lines, now.Add(time.Duration(i-10)*time.Second).Format(time.RFC3339Nano)+" out "+msg+"\n")
	}
	if err := os.WriteFile(log, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	w := &world{store: st, instance: loggroup.InstanceStream("web", "i-0abc", log), filters: []cw.MetricFilter{
		{Spec: cw.MetricFilterSpec{Name: "errors", LogGroup: "/madang/instances/web", FilterPattern: "404"}, Owner: "web"}}}
	svc, err := New(Options{Logs: w, Settings: w, Resources: w, Streams: st})
	if err != nil {
		t.Fatal(err)
	}
	return w, svc.Handlers
}

func run(t *testing.T, h map[string]awsapi.Handler, op string, in map[string]any) (map[string]any, error) {
	t.Helper()
	return h[op](t.Context(), &awsapi.Call{Input: protocol.Struct(in), Region: "local", Caller: awsapi.Caller{AccountID: "000000000000"}})
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

func messages(out map[string]any) string {
	var ms []string
	for _, e := range out["events"].([]any) {
		ms = append(ms, e.(map[string]any)["message"].(string))
	}
	return strings.Join(ms, "|")
}

func TestInstanceLogs(t *testing.T) {
	w, h := newWorld(t)
	out, err := run(t, h, "DescribeLogGroups", map[string]any{"logGroupNamePrefix": "/madang/"})
	if err != nil {
		t.Fatal(err)
	}
	g := out["logGroups"].([]any)[0].(map[string]any)
	if g["logGroupName"] != "/madang/instances/web" || g["metricFilterCount"] != 1 || g["storedBytes"].(int64) == 0 ||
		g["arn"] != "arn:aws:logs:local:000000000000:log-group:/madang/instances/web:*" {
		t.Errorf("log group = %+v", g)
	}
	tests := []struct {
		name, op string
		in       map[string]any
		code     string
		want     string
	}{
		{name: "filter pattern", op: "FilterLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web", "filterPattern": "GET 200"}, want: "GET / 200|GET /health 200"},
		{name: "filter time range", op: "FilterLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web",
			"startTime": now.Add(-9 * time.Second).UnixMilli(), "endTime": now.Add(-7 * time.Second).UnixMilli()}, want: "GET / 200|GET /health 200"},
		{name: "filter limit", op: "FilterLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web", "limit": int64(1)}, want: "listening on :3000"},
		{name: "filter bad pattern", op: "FilterLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web", "filterPattern": "{ $.x = "}, code: "InvalidParameterException"},
		{name: "filter names and prefix", op: "FilterLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web", "logStreamNames": []any{"a"}, "logStreamNamePrefix": "a"}, code: "InvalidParameterException"},
		{name: "filter missing group", op: "FilterLogEvents", in: map[string]any{"logGroupName": "/nope"}, code: "ResourceNotFoundException"},
		{name: "get latest", op: "GetLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web", "logStreamName": "i-0abc", "limit": int64(2)}, want: "GET /health 200|GET /missing 404"},
		{name: "get from head", op: "GetLogEvents", in: map[string]any{"logGroupIdentifier": "arn:aws:logs:local:000000000000:log-group:/madang/instances/web:*", "logStreamName": "i-0abc", "limit": int64(2), "startFromHead": true}, want: "listening on :3000|GET / 200"},
		{name: "get forward token", op: "GetLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web", "logStreamName": "i-0abc", "nextToken": "f/1", "limit": int64(2)}, want: "GET / 200|GET /health 200"},
		{name: "get backward token", op: "GetLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web", "logStreamName": "i-0abc", "nextToken": "b/1"}, want: "listening on :3000"},
		{name: "get bad token", op: "GetLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web", "logStreamName": "i-0abc", "nextToken": "z/1"}, code: "InvalidParameterException"},
		{name: "get missing stream", op: "GetLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web", "logStreamName": "i-nope"}, code: "ResourceNotFoundException"},
		{name: "put to an instance's stream", op: "PutLogEvents", in: map[string]any{"logGroupName": "/madang/instances/web", "logStreamName": "i-0abc",
			"logEvents": []any{map[string]any{"timestamp": now.UnixMilli(), "message": "x"}}}, code: "InvalidOperationException"},
		{name: "delete the instances' group", op: "DeleteLogGroup", in: map[string]any{"logGroupName": "/madang/instances/web"}, code: "InvalidOperationException"},
		{name: "retention", op: "PutRetentionPolicy", in: map[string]any{"logGroupName": "/madang/instances/web", "retentionInDays": int64(14)}},
		{name: "bad retention", op: "PutRetentionPolicy", in: map[string]any{"logGroupName": "/madang/instances/web", "retentionInDays": int64(2)}, code: "InvalidParameterException"},
		{name: "stack's metric filter", op: "DeleteMetricFilter", in: map[string]any{"logGroupName": "/madang/instances/web", "filterName": "errors"}, code: "OperationAbortedException"},
		{name: "missing metric filter", op: "DeleteMetricFilter", in: map[string]any{"logGroupName": "/madang/instances/web", "filterName": "nope"}, code: "ResourceNotFoundException"},
		{name: "metric filter on a missing group", op: "PutMetricFilter", in: map[string]any{"logGroupName": "/nope", "filterName": "x"}, code: "ResourceNotFoundException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, h, tc.op, tc.in)
			if code(err) != tc.code {
				t.Fatalf("error %v, want %q", err, tc.code)
			}
			if tc.want != "" && messages(out) != tc.want {
				t.Errorf("events %q, want %q", messages(out), tc.want)
			}
		})
	}
	if len(w.puts) != 1 || w.puts[0].(*cw.LogGroupSpec).RetentionInDays != 14 {
		t.Errorf("PutRetentionPolicy stored %+v", w.puts)
	}
}

func TestAPIStreams(t *testing.T) {
	w, h := newWorld(t)
	steps := []struct {
		name, op string
		in       map[string]any
		code     string
		check    func(t *testing.T, out map[string]any)
	}{
		{name: "stream in a missing group", op: "CreateLogStream", in: map[string]any{"logGroupName": "/app", "logStreamName": "s1"}, code: "ResourceNotFoundException"},
		{name: "bad group name", op: "CreateLogGroup", in: map[string]any{"logGroupName": "has space"}, code: "InvalidParameterException"},
		{name: "group name of 513", op: "CreateLogGroup", in: map[string]any{"logGroupName": "/" + strings.Repeat("g", 512)}, code: "InvalidParameterException"},
		{name: "group name of 512", op: "CreateLogGroup", in: map[string]any{"logGroupName": "/" + strings.Repeat("g", 511)}},
		{name: "group", op: "CreateLogGroup", in: map[string]any{"logGroupName": "/app"}},
		{name: "group again", op: "CreateLogGroup", in: map[string]any{"logGroupName": "/app"}, code: "ResourceAlreadyExistsException"},
		{name: "bad stream name", op: "CreateLogStream", in: map[string]any{"logGroupName": "/app", "logStreamName": "a:b"}, code: "InvalidParameterException"},
		{name: "stream b", op: "CreateLogStream", in: map[string]any{"logGroupName": "/app", "logStreamName": "b"}},
		{name: "stream a", op: "CreateLogStream", in: map[string]any{"logGroupName": "/app", "logStreamName": "a"}},
		{name: "stream again", op: "CreateLogStream", in: map[string]any{"logGroupName": "/app", "logStreamName": "a"}, code: "ResourceAlreadyExistsException"},
		{name: "put", op: "PutLogEvents", in: map[string]any{"logGroupName": "/app", "logStreamName": "b", "logEvents": []any{
			map[string]any{"timestamp": now.Add(-time.Second).UnixMilli(), "message": "one"},
			map[string]any{"timestamp": now.UnixMilli(), "message": "two\nlines"},
			map[string]any{"timestamp": now.Add(3 * time.Hour).UnixMilli(), "message": "future"}}},
			check: func(t *testing.T, out map[string]any) {
				rej, _ := out["rejectedLogEventsInfo"].(map[string]any)
				if rej["tooNewLogEventStartIndex"] != 2 || len(out["nextSequenceToken"].(string)) != 56 {
					t.Errorf("PutLogEvents = %+v", out)
				}
			}},
		{name: "put out of order", op: "PutLogEvents", in: map[string]any{"logGroupName": "/app", "logStreamName": "b", "logEvents": []any{
			map[string]any{"timestamp": now.UnixMilli(), "message": "x"}, map[string]any{"timestamp": now.Add(-time.Second).UnixMilli(), "message": "y"}}},
			code: "InvalidParameterException"},
		{name: "put to a missing stream", op: "PutLogEvents", in: map[string]any{"logGroupName": "/app", "logStreamName": "c", "logEvents": []any{
			map[string]any{"timestamp": now.UnixMilli(), "message": "x"}}}, code: "ResourceNotFoundException"},
		{name: "read back", op: "GetLogEvents", in: map[string]any{"logGroupName": "/app", "logStreamName": "b", "startFromHead": true},
			check: func(t *testing.T, out map[string]any) {
				if messages(out) != "one|two\nlines" || out["nextForwardToken"] != "f/2" || out["nextBackwardToken"] != "b/0" {
					t.Errorf("GetLogEvents = %+v", out)
				}
			}},
		{name: "streams by last event", op: "DescribeLogStreams", in: map[string]any{"logGroupName": "/app", "orderBy": "LastEventTime", "descending": true},
			check: func(t *testing.T, out map[string]any) {
				ss := out["logStreams"].([]any)
				first := ss[0].(map[string]any)
				if len(ss) != 2 || first["logStreamName"] != "b" || first["firstEventTimestamp"] != now.Add(-time.Second).UnixMilli() || first["storedBytes"].(int64) == 0 {
					t.Errorf("DescribeLogStreams = %+v", ss)
				}
			}},
		{name: "streams by name, paged", op: "DescribeLogStreams", in: map[string]any{"logGroupName": "/app", "limit": int64(1)},
			check: func(t *testing.T, out map[string]any) {
				ss := out["logStreams"].([]any)
				if len(ss) != 1 || ss[0].(map[string]any)["logStreamName"] != "a" || out["nextToken"] != "1" {
					t.Errorf("DescribeLogStreams = %+v", out)
				}
			}},
		{name: "order by time with a prefix", op: "DescribeLogStreams", in: map[string]any{"logGroupName": "/app", "orderBy": "LastEventTime", "logStreamNamePrefix": "a"}, code: "InvalidParameterException"},
		{name: "metric filter", op: "PutMetricFilter", in: map[string]any{"logGroupName": "/app", "filterName": "lines", "filterPattern": "lines",
			"metricTransformations": []any{map[string]any{"metricName": "Lines", "metricNamespace": "App", "metricValue": "1", "defaultValue": 0.0}}},
			check: func(t *testing.T, _ map[string]any) {
				sp := w.puts[len(w.puts)-1].(*cw.MetricFilterSpec)
				if sp.LogGroup != "/app" || sp.MetricTransformations[0].DefaultValue == nil || sp.MetricTransformations[0].MetricNamespace != "App" {
					t.Errorf("metric filter spec = %+v", sp)
				}
			}},
		{name: "metric filter name taken in another group", op: "PutMetricFilter", in: map[string]any{"logGroupName": "/app", "filterName": "errors"}, code: "OperationAbortedException"},
		{name: "delete stream", op: "DeleteLogStream", in: map[string]any{"logGroupName": "/app", "logStreamName": "a"}},
		{name: "delete group", op: "DeleteLogGroup", in: map[string]any{"logGroupName": "/app"},
			check: func(t *testing.T, _ map[string]any) {
				if len(w.store.Streams()) != 0 || !strings.Contains(strings.Join(w.deletes, ","), "log-group//app") {
					t.Errorf("after DeleteLogGroup: streams %+v, deletes %v", w.store.Streams(), w.deletes)
				}
			}},
	}
	for _, st := range steps {
		out, err := run(t, h, st.op, st.in)
		if code(err) != st.code {
			t.Fatalf("%s: error %v, want %q", st.name, err, st.code)
		}
		if st.check != nil {
			st.check(t, out)
		}
	}
}
