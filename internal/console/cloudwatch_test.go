package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/console/auth"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/loggroup"
	"github.com/madang-dev/madang/internal/state"
)

// cwResources writes CloudWatch's resource kinds into the store the
// CloudWatch service follows, as the daemon's hand-made resources do:
// check, build, one put, then wait for the service to see it.
type cwResources struct {
	mu    sync.Mutex
	store state.Store
	cw    *cloudwatch.Service
	kinds map[string]kind.Kind
}

func (r *cwResources) kind(name string) (kind.Kind, error) {
	k, ok := r.kinds[name]
	if !ok {
		return nil, fault.NotFoundf("kind", name, "no resource kind %q", name)
	}
	return k, nil
}

func (r *cwResources) Kinds() []v1.Kind { return nil }

func (r *cwResources) List(ctx context.Context, kindName string) (v1.ResourceList, error) {
	return v1.ResourceList{}, nil
}

func (r *cwResources) Get(ctx context.Context, kindName, name string) (v1.Resource, error) {
	k, err := r.kind(kindName)
	if err != nil {
		return v1.Resource{}, err
	}
	rec0, err := r.store.Get(ctx, kind.Key(k, name))
	if err != nil || rec0.Value == nil {
		return v1.Resource{}, fault.NotFoundf(kindName, name, "no %s %q", kindName, name)
	}
	rec, err := k.Decode(rec0.Value)
	if err != nil {
		return v1.Resource{}, err
	}
	_, owner := k.Spec(rec)
	return v1.Resource{Kind: kindName, Name: name, Owner: owner, Record: rec0.Value}, nil
}

func (r *cwResources) Put(ctx context.Context, kindName, name string, body []byte) (v1.Resource, []string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, err := r.kind(kindName)
	if err != nil {
		return v1.Resource{}, nil, err
	}
	spec := reflect.New(k.SpecType()).Interface()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(spec); err != nil {
		return v1.Resource{}, nil, fmt.Errorf("%w: %w", api.ErrValidation, err)
	}
	if errs, _ := k.Check(spec, ""); len(errs) > 0 {
		return v1.Resource{}, nil, fault.Wrap(fault.Invalid, kindName, name, fmt.Errorf("%s %s: %w", kindName, name, errs.Err()))
	}
	var old any
	if cur, err := r.Get(ctx, kindName, name); err == nil {
		if cur.Owner != "" {
			return v1.Resource{}, nil, fault.Conflictf(kindName, name, "%s %q belongs to stack %q", kindName, name, cur.Owner)
		}
		old, _ = k.Decode(cur.Record)
	}
	rec, _, err := k.Build(ctx, kind.Env{Now: time.Now}, spec, "", old)
	if err != nil {
		return v1.Resource{}, nil, err
	}
	b, _ := json.Marshal(rec)
	rev, err := r.store.Put(ctx, kind.Key(k, name), b)
	if err != nil {
		return v1.Resource{}, nil, err
	}
	if err := r.cw.Observed(ctx, rev); err != nil {
		return v1.Resource{}, nil, err
	}
	res, err := r.Get(ctx, kindName, name)
	return res, nil, err
}

func (r *cwResources) Delete(ctx context.Context, kindName, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, err := r.kind(kindName)
	if err != nil {
		return err
	}
	cur, err := r.Get(ctx, kindName, name)
	if err != nil {
		return err
	}
	if cur.Owner != "" {
		return fault.Conflictf(kindName, name, "%s %q belongs to stack %q", kindName, name, cur.Owner)
	}
	rev, err := r.store.Delete(ctx, kind.Key(k, name))
	if err != nil {
		return err
	}
	return r.cw.Observed(ctx, rev)
}

// cwEnv is a console over the fake daemon with a real CloudWatch
// service, its resources and the fake's instance logs.
type cwEnv struct {
	s     *Server
	fake  *apitest.Fake
	cw    *cloudwatch.Service
	store state.Store
	res   *cwResources
}

func cwTestServer(t *testing.T) *cwEnv {
	t.Helper()
	f := apitest.New(t)
	store := state.NewMemory()
	cw, err := cloudwatch.New(context.Background(), cloudwatch.Options{Home: t.TempDir(), Store: store, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	cw.Start()
	t.Cleanup(func() { _ = cw.Close() })
	res := &cwResources{store: store, cw: cw, kinds: map[string]kind.Kind{
		cloudwatch.KindAlarm: cloudwatch.AlarmKind(), cloudwatch.KindDashboard: cloudwatch.DashboardKind()}}
	as := f.Server()
	as.CloudWatch, as.Resources = cw, res
	as.Logs = loggroup.SourceFunc(func() []loggroup.StreamInfo {
		return []loggroup.StreamInfo{loggroup.InstanceStream("web", "i-0web1", filepath.Join(f.LogDir, "i-0web1.log"))}
	})
	srv := httptest.NewServer(as.Handler())
	t.Cleanup(srv.Close)
	s, err := New(Options{API: apitest.Client(srv), Auth: &auth.Service{}})
	if err != nil {
		t.Fatal(err)
	}
	return &cwEnv{s: s, fake: f, cw: cw, store: store, res: res}
}

// cwPutMetrics stores a CPU-like metric of web's group: one value a
// minute for the last five minutes.
func cwPutMetrics(t *testing.T, e *cwEnv) time.Time {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Minute)
	var data []v1.MetricDatum
	for i := 1; i <= 5; i++ {
		ts, v := now.Add(-time.Duration(i)*time.Minute), float64(10*i)
		data = append(data, v1.MetricDatum{MetricName: "CPU", Dimensions: []v1.Dimension{{Name: "Group", Value: "web"}},
			Timestamp: &ts, Value: &v, Unit: "Percent"})
	}
	if err := e.s.api.PutMetricData(context.Background(), v1.PutMetricDataRequest{Namespace: "MyApp", MetricData: data}); err != nil {
		t.Fatal(err)
	}
	return now
}

// cwLayout reads a stored dashboard through the API and describes its
// widgets in their stored order: "metric TITLE NS/METRIC{DIMS} STAT
// PERIOD @X,Y wWIDTH; text MARKDOWN @X,Y wWIDTH".
func cwLayout(t *testing.T, e *cwEnv, name string) string {
	t.Helper()
	d, err := e.s.api.Dashboard(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cwParseBody(d)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, w := range b.Widgets {
		p := w.Properties
		desc := w.Type
		switch w.Type {
		case "metric":
			r := p.Metrics[0]
			dims := map[string]string{}
			for _, d := range r.Dimensions {
				dims[d.Name] = d.Value
			}
			desc += fmt.Sprintf(" %s %s/%s{%s} %s %d", p.Title, r.Namespace, r.MetricName, cwDimsKey(dims), p.Stat, p.Period)
		case "text":
			desc += " " + p.Markdown
		}
		parts = append(parts, fmt.Sprintf("%s @%d,%d w%d", desc, w.X, w.Y, w.Width))
	}
	return strings.Join(parts, "; ")
}

func cwWant(t *testing.T, what string, status int, body string, wantStatus int, want ...string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d, want %d:\n%s", what, status, wantStatus, body)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("%s: body lacks %q:\n%s", what, w, body)
		}
	}
}

func TestCloudWatchSeries(t *testing.T) {
	e := cwTestServer(t)
	now := cwPutMetrics(t, e)
	for _, tc := range []struct {
		name, query string
		status      int
		want        []string
	}{
		{"one stat", "namespace=MyApp&metric=CPU&dim=Group=web&stat=Maximum&period=60&minutes=15", 200,
			[]string{`"unit":"Percent"`, `"label":"CPU Maximum"`, "50", fmt.Sprint(now.Add(-5 * time.Minute).Unix())}},
		{"several stats and a threshold", "namespace=MyApp&metric=CPU&dim=Group=web&stat=Average&stat=p90&threshold=80", 200,
			[]string{`"label":"CPU Average"`, `"label":"CPU p90"`, `"threshold":80`}},
		{"query objects", `q={"namespace":"MyApp","metric":"CPU","dims":{"Group":"web"},"stat":"Sum","label":"web cpu"}&period=300&minutes=60`, 200,
			[]string{`"label":"web cpu"`}},
		{"no data is nulls", "namespace=MyApp&metric=Nothing&minutes=15", 200, []string{"null", `"series":[{`}},
		{"no metric", "namespace=MyApp", 400, []string{`"param":"metric"`}},
		{"no namespace", "metric=CPU", 400, []string{`"param":"namespace"`}},
		{"bad dim", "namespace=MyApp&metric=CPU&dim=Group", 400, []string{`"param":"dim"`}},
		{"bad stat", "namespace=MyApp&metric=CPU&stat=Median", 400, []string{`"param":"stat"`, "Median"}},
		{"bad period", "namespace=MyApp&metric=CPU&period=7", 400, []string{`"param":"period"`}},
		{"bad minutes", "namespace=MyApp&metric=CPU&minutes=x", 400, []string{`"param":"minutes"`}},
		{"bad threshold", "namespace=MyApp&metric=CPU&threshold=high", 400, []string{`"param":"threshold"`}},
		{"too many points", "namespace=MyApp&metric=CPU&period=1&minutes=720", 400, []string{"eriod"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			status, body := get(t, e.s, "/cloudwatch/series?"+q.Encode())
			cwWant(t, tc.query, status, body, tc.status, tc.want...)
		})
	}
	// The five minutes' values sum to 150 however the periods fall.
	_, body := get(t, e.s, "/cloudwatch/series?"+url.Values{"namespace": {"MyApp"}, "metric": {"CPU"}, "dim": {"Group=web"},
		"stat": {"Sum"}, "period": {"300"}, "minutes": {"60"}}.Encode())
	var data cwChart
	if err := json.Unmarshal([]byte(body), &data); err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, v := range data.Series[0].Values {
		if v != nil {
			sum += *v
		}
	}
	if sum != 150 || len(data.Timestamps) != len(data.Series[0].Values) {
		t.Fatalf("sum %v over %d timestamps, want 150:\n%s", sum, len(data.Timestamps), body)
	}
}

func TestCloudWatchMetricsExplorer(t *testing.T) {
	e := cwTestServer(t)
	cwPutMetrics(t, e)
	sel := url.Values{"namespace": {"MyApp"}, "sel": {"CPU|Group=web"}, "stat": {"p99"}, "period": {"1"}, "minutes": {"60"}}
	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"namespaces", "/cloudwatch/metrics", []string{`href="/cloudwatch/metrics?namespace=MyApp"`, "MyApp"}},
		{"metrics of a namespace", "/cloudwatch/metrics?namespace=MyApp", []string{"CPU", "Group=web", `value="CPU|Group=web"`}},
		{"selection draws a chart", "/cloudwatch/metrics?" + sel.Encode(),
			[]string{`class="chart" data-src="/cloudwatch/series?`, "checked", "p99", "period was lengthened"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, e.s, tc.path)
			cwWant(t, tc.path, status, body, 200, tc.want...)
		})
	}
	// The chart's source is a working series URL.
	_, body := get(t, e.s, "/cloudwatch/metrics?"+sel.Encode())
	i := strings.Index(body, `data-src="`) + len(`data-src="`)
	src := strings.ReplaceAll(body[i:i+strings.Index(body[i:], `"`)], "&amp;", "&")
	src = strings.ReplaceAll(src, "&#34;", `"`)
	status, sb := get(t, e.s, src)
	cwWant(t, "chart source "+src, status, sb, 200, `"label":"CPU p99"`, `"timestamps":[`)
}

func TestCloudWatchDashboards(t *testing.T) {
	e := cwTestServer(t)
	cwPutMetrics(t, e)
	ctx := context.Background()
	steps := []struct {
		name, path string
		form       url.Values
		status     int
		location   string
		layout     string
	}{
		{"create", "/cloudwatch/dashboards", url.Values{"name": {"ops"}}, 303, "/cloudwatch/dashboards/ops", ""},
		{"add line", "/cloudwatch/dashboards/ops/widgets", url.Values{"type": {"line"}, "title": {"Web CPU"}, "namespace": {"MyApp"},
			"metric": {"CPU"}, "dimension": {"Group=web"}, "stat": {"Maximum"}, "period": {"60"}, "width": {"12"}}, 303, "/cloudwatch/dashboards/ops",
			"metric Web CPU MyApp/CPU{Group=web} Maximum 60 @0,0 w12"},
		{"add text", "/cloudwatch/dashboards/ops/widgets", url.Values{"type": {"text"}, "text": {"# Shop"}, "width": {"24"}}, 303, "/cloudwatch/dashboards/ops",
			"metric Web CPU MyApp/CPU{Group=web} Maximum 60 @0,0 w12; text # Shop @0,6 w24"},
		{"move text up", "/cloudwatch/dashboards/ops/widgets/1", url.Values{"action": {"up"}}, 303, "/cloudwatch/dashboards/ops",
			"text # Shop @0,0 w24; metric Web CPU MyApp/CPU{Group=web} Maximum 60 @0,3 w12"},
		{"resize", "/cloudwatch/dashboards/ops/widgets/1", url.Values{"action": {"width"}, "width": {"6"}}, 303, "/cloudwatch/dashboards/ops",
			"text # Shop @0,0 w24; metric Web CPU MyApp/CPU{Group=web} Maximum 60 @0,3 w6"},
		{"delete text", "/cloudwatch/dashboards/ops/widgets/0", url.Values{"action": {"delete"}}, 303, "/cloudwatch/dashboards/ops",
			"metric Web CPU MyApp/CPU{Group=web} Maximum 60 @0,0 w6"},
		{"bad widget keeps the form", "/cloudwatch/dashboards/ops/widgets", url.Values{"type": {"line"}, "title": {"kept"}, "metric": {"CPU"},
			"stat": {"Average"}, "period": {"60"}, "width": {"12"}}, 400, "", ""},
		{"bad name", "/cloudwatch/dashboards", url.Values{"name": {"bad/name"}}, 400, "", ""},
		{"unknown widget", "/cloudwatch/dashboards/ops/widgets/9", url.Values{"action": {"up"}}, 404, "", ""},
		{"unknown dashboard", "/cloudwatch/dashboards/nope/widgets", url.Values{"type": {"text"}, "text": {"x"}, "width": {"6"}}, 404, "", ""},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			status, loc, body := post(t, e.s, tc.path, tc.form)
			if status != tc.status || loc != tc.location {
				t.Fatalf("POST %s = %d %q, want %d %q:\n%s", tc.path, status, loc, tc.status, tc.location, body)
			}
			if tc.status == 400 && !strings.Contains(body, `class="flash error"`) && !strings.Contains(body, `class="msg"`) {
				t.Fatalf("no error shown:\n%s", body)
			}
			if tc.layout != "" {
				if got := cwLayout(t, e, "ops"); got != tc.layout {
					t.Fatalf("stored widgets\n%s\nwant\n%s", got, tc.layout)
				}
			}
		})
	}
	_, _, body := post(t, e.s, "/cloudwatch/dashboards/ops/widgets", url.Values{"type": {"line"}, "title": {"kept"}, "metric": {"CPU"},
		"stat": {"Average"}, "period": {"60"}, "width": {"12"}})
	cwWant(t, "bad widget", 400, body, 400, `value="kept"`, "namespace")

	// A number widget and an alarm widget, then the pages.
	th := 80.0
	if _, err := e.s.api.PutResource(ctx, "alarm", "web-cpu", map[string]any{"name": "web-cpu", "namespace": "MyApp", "metricName": "CPU",
		"statistic": "Average", "period": 60, "evaluationPeriods": 1, "threshold": th, "comparisonOperator": "GreaterThanThreshold"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []url.Values{
		{"type": {"number"}, "title": {"Now"}, "namespace": {"MyApp"}, "metric": {"CPU"}, "dimension": {"Group=web"}, "stat": {"Maximum"}, "period": {"60"}, "width": {"6"}},
		{"type": {"alarm"}, "title": {"Alarms"}, "alarm": {"web-cpu"}, "width": {"8"}},
	} {
		if status, _, body := post(t, e.s, "/cloudwatch/dashboards/ops/widgets", f); status != 303 {
			t.Fatalf("add %s: %d\n%s", f.Get("type"), status, body)
		}
	}
	for _, tc := range []struct {
		name, path string
		status     int
		want       []string
	}{
		{"list", "/cloudwatch/dashboards", 200, []string{`href="/cloudwatch/dashboards/ops"`, `<td class="num">3</td>`, "made by hand"}},
		{"list fragment", "/cloudwatch/dashboards?fragment=frag-dashboards", 200, []string{`id="dashboards"`, "ops"}},
		{"dashboard", "/cloudwatch/dashboards/ops", 200, []string{`class="dash-grid"`, "span-3", "span-4",
			`data-src="/cloudwatch/series?`, "Web CPU", `<p class="num">10 <span class="muted">Percent`, "web-cpu", "state-insufficient-data"}},
		{"widget fragment", "/cloudwatch/dashboards/ops/widgets/1", 200, []string{`id="widget-1"`, "madang:tick", `<p class="num">10`}},
		{"unknown dashboard", "/cloudwatch/dashboards/nope", 404, []string{"nope"}},
		{"unknown widget fragment", "/cloudwatch/dashboards/ops/widgets/7", 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, e.s, tc.path)
			cwWant(t, tc.path, status, body, tc.status, tc.want...)
		})
	}

	// A stack's dashboard warns and refuses changes; a hand-made one is deleted.
	rec, _ := json.Marshal(cloudwatch.Dashboard{Spec: cloudwatch.DashboardSpec{Name: "shop", Body: map[string]any{"widgets": []any{}}}, Owner: "shop-stack"})
	rev, err := e.store.Put(ctx, cloudwatch.DashboardPrefix+"shop", rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cw.Observed(ctx, rev); err != nil {
		t.Fatal(err)
	}
	status, body := get(t, e.s, "/cloudwatch/dashboards/shop")
	cwWant(t, "stack dashboard", status, body, 200, "Managed by stack shop-stack", "hx-confirm")
	if status, _, _ := post(t, e.s, "/cloudwatch/dashboards/shop/widgets", url.Values{"type": {"text"}, "text": {"x"}, "width": {"6"}}); status != 400 {
		t.Fatalf("change of a stack's dashboard: %d, want 400 with the conflict", status)
	}
	if status, loc, body := post(t, e.s, "/cloudwatch/dashboards/ops/delete", nil); status != 303 || loc != "/cloudwatch/dashboards" {
		t.Fatalf("delete: %d %q\n%s", status, loc, body)
	}
	if _, err := e.s.api.Dashboard(ctx, "ops"); err == nil {
		t.Fatal("the dashboard is still there")
	}
}

func TestCloudWatchAlarms(t *testing.T) {
	e := cwTestServer(t)
	cwPutMetrics(t, e)
	ctx := context.Background()
	good := url.Values{"namespace": {"MyApp"}, "metric": {"CPU"}, "dimensions": {"Group=web"}, "stat": {"Average"}, "period": {"60"},
		"operator": {"GreaterThanOrEqualToThreshold"}, "threshold": {"80"}, "m": {"2"}, "n": {"2"}, "missing": {"notBreaching"},
		"name": {"web-cpu-high"}, "description": {"CPU ≥ 80 % → add instances"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range good {
			f[key] = vs
		}
		f.Set(k, v)
		return f
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   []string
	}{
		{"create", good, 303, nil},
		{"bad threshold", with("threshold", "lots"), 400, []string{"threshold", `value="lots"`, `value="web-cpu-high"`}},
		{"no name", with("name", ""), 400, []string{"is missing"}},
		{"M over N", with("m", "3"), 400, []string{"datapointsToAlarm", `class="field error"`}},
		{"bad period", with("period", "7"), 400, []string{"eriod"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, loc, body := post(t, e.s, "/cloudwatch/alarms", tc.form)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%s):\n%s", status, tc.status, loc, body)
			}
			cwWant(t, tc.name, status, body, tc.status, tc.want...)
		})
	}
	a, err := e.s.api.Alarm(ctx, "web-cpu-high")
	if err != nil {
		t.Fatal(err)
	}
	if a.Spec["threshold"] != 80.0 || a.Spec["datapointsToAlarm"] != 2.0 || a.Spec["treatMissingData"] != "notBreaching" {
		t.Fatalf("stored alarm %+v", a.Spec)
	}
	if status, loc, body := post(t, e.s, "/cloudwatch/alarms/web-cpu-high/state", url.Values{"state": {"ALARM"}, "reason": {"testing the policy"}}); status != 303 {
		t.Fatalf("set state: %d %s\n%s", status, loc, body)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		want       []string
	}{
		{"list", "/cloudwatch/alarms", 200, []string{`href="/cloudwatch/alarms/web-cpu-high"`, "CPU &gt;= 80 for 2 datapoints within 2 minutes", "badge state-"}},
		{"list fragment", "/cloudwatch/alarms?fragment=frag-alarms", 200, []string{`id="alarms"`, "madang:alarm", "web-cpu-high"}},
		{"detail", "/cloudwatch/alarms/web-cpu-high", 200, []string{"threshold=80", `data-src="/cloudwatch/series?`, "Group=web",
			"CPU ≥ 80 % → add instances", "testing the policy", "state-alarm"}},
		{"history fragment", "/cloudwatch/alarms/web-cpu-high?fragment=frag-history", 200, []string{`id="alarm-history"`, "StateUpdate", "state-insufficient-data", "→", "state-alarm"}},
		{"new with the explorer's metric", "/cloudwatch/alarms/new?namespace=MyApp&metric=CPU&dimensions=Group%3Dweb", 200, []string{`value="MyApp"`, `value="Group=web"`, "p99"}},
		{"unknown", "/cloudwatch/alarms/nope", 404, []string{"nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, e.s, tc.path)
			cwWant(t, tc.path, status, body, tc.status, tc.want...)
		})
	}
	r := httptest.NewRequest("GET", "/cloudwatch/alarms?fragment=frag-alarms", nil)
	r.Header.Set("Accept-Language", "ko-KR")
	w := httptest.NewRecorder()
	e.s.routes().ServeHTTP(w, r)
	if want := "2분 내 2개의 데이터 포인트에 대한 CPU &gt;= 80"; !strings.Contains(w.Body.String(), want) {
		t.Fatalf("Korean list lacks %q:\n%s", want, w.Body.String())
	}
	if status, _, _ := post(t, e.s, "/cloudwatch/alarms/web-cpu-high/state", url.Values{"state": {"PANIC"}}); status != 400 {
		t.Fatalf("bad state: %d, want 400", status)
	}
	if status, loc, _ := post(t, e.s, "/cloudwatch/alarms/web-cpu-high/delete", nil); status != 303 || loc != "/cloudwatch/alarms" {
		t.Fatalf("delete: %d %q", status, loc)
	}
	if status, _ := get(t, e.s, "/cloudwatch/alarms/web-cpu-high"); status != 404 {
		t.Fatalf("deleted alarm: %d, want 404", status)
	}
}

func TestCloudWatchLogs(t *testing.T) {
	e := cwTestServer(t)
	now := time.Now().UTC()
	e.fake.WriteLog(t, "i-0web1",
		logfile.Line{Time: now.Add(-2 * time.Minute), Stream: "out", Text: "GET /health 200"},
		logfile.Line{Time: now.Add(-time.Minute), Stream: "err", Text: "ERROR database timed out"},
	)
	for _, tc := range []struct {
		name, path string
		status     int
		want, not  []string
	}{
		{"groups", "/cloudwatch/logs", 200, []string{`href="/cloudwatch/logs/madang/instances/web"`, "/madang/instances/web", "Never expire"}, nil},
		{"group", "/cloudwatch/logs/madang/instances/web", 200, []string{"i-0web1", "GET /health 200", "ERROR database timed out",
			`data-tail="/cloudwatch/logs/stream?group=%2Fmadang%2Finstances%2Fweb"`}, nil},
		{"filter", "/cloudwatch/logs/madang/instances/web?pattern=ERROR", 200, []string{"ERROR database timed out"}, []string{"GET /health"}},
		{"bad pattern", "/cloudwatch/logs/madang/instances/web?pattern=%7B+%24.status+%3E%3D", 400, []string{`class="field error"`, "filter"}, []string{"data-tail"}},
		{"unknown group", "/cloudwatch/logs/madang/instances/nope", 404, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, e.s, tc.path)
			cwWant(t, tc.path, status, body, tc.status, tc.want...)
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Fatalf("body has %q:\n%s", n, body)
				}
			}
		})
	}
}

func TestCloudWatchLogTail(t *testing.T) {
	e := cwTestServer(t)
	e.fake.WriteLog(t, "i-0web1", logfile.Line{Time: time.Now().UTC(), Stream: "err", Text: "ERROR first"})
	for _, tc := range []struct {
		name, query, want string
	}{
		{"matching events", "group=/madang/instances/web&pattern=ERROR", `"text":"ERROR first"`},
		{"bad pattern", "group=/madang/instances/web&pattern=%7B", `"stream":"sys"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			r := httptest.NewRequest("GET", "/cloudwatch/logs/stream?"+tc.query, nil).WithContext(ctx)
			w := &cwFlushRecorder{ResponseRecorder: httptest.NewRecorder(), want: tc.want, done: cancel}
			e.s.routes().ServeHTTP(w, r)
			if !strings.Contains(w.body(), tc.want) {
				t.Fatalf("tail lacks %s:\n%s", tc.want, w.body())
			}
		})
	}
	if status, _ := get(t, e.s, "/cloudwatch/logs/stream"); status != http.StatusBadRequest {
		t.Fatalf("tail without a group: %d", status)
	}
}

// cwFlushRecorder records a stream and ends it once want was written.
type cwFlushRecorder struct {
	*httptest.ResponseRecorder
	mu   sync.Mutex
	want string
	done func()
}

func (w *cwFlushRecorder) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.ResponseRecorder.Write(b)
	if strings.Contains(w.ResponseRecorder.Body.String(), w.want) {
		w.done()
	}
	return n, err
}

func (w *cwFlushRecorder) Flush() {}

func (w *cwFlushRecorder) body() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ResponseRecorder.Body.String()
}
