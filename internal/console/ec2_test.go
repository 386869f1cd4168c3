package console

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/console/auth"
	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/state"
)

// ec2TestServer returns a console over a fake daemon with two images, a
// launch template, four instances (running, stopped, stack-owned,
// terminated) and, with metrics, a CloudWatch holding CPU and memory
// utilization of i-0run.
func ec2TestServer(t *testing.T, metrics bool) (*Server, *apitest.Fake) {
	t.Helper()
	f := apitest.New(t)
	built := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Catalog.Images = []compute.Image{
		{Spec: compute.ImageSpec{Name: "shop", Source: "./shop", Command: "node server.js", Port: 3000}, ID: "ami-0shop",
			Versions: []compute.ImageVersion{{Number: 1, SourceHash: "sha256:0123456789abcdef0123", BuiltAt: built},
				{Number: 2, SourceHash: "sha256:fedcba9876543210fedc", BuiltAt: built.Add(time.Hour)}}},
		{Spec: compute.ImageSpec{Name: "api", Source: "./api"}, ID: "ami-0api", Owner: "prod"},
	}
	f.Catalog.LaunchTemplates = []compute.LaunchTemplate{{Name: "web", ID: "lt-0web", DefaultVersion: 1, Owner: "prod",
		Versions: []compute.LaunchTemplateVersion{
			{Number: 1, Data: compute.LaunchTemplateData{Image: "shop", InstanceType: "t3.small", UserData: "#!/bin/sh\necho booted\n"}},
			{Number: 2, Data: compute.LaunchTemplateData{Image: "api"}},
		}}}
	f.AddInstance(compute.View{Instance: compute.Instance{ID: "i-0run", Group: "web", State: compute.StateRunning, InstanceType: "t3.small",
		Image: "shop", ImageVersion: 2, LaunchTemplate: "web", Resolved: 1, Zone: "local-1a", PrivateIP: "127.16.0.5", Port: 3000,
		Tags: map[string]string{"Name": "web", "team": "shop"}, Restarts: 3}, UptimeSeconds: 125, CPUPercent: 12.5, MemoryBytes: 64 << 20,
		Limits: &compute.LimitsView{VCPUs: 2, MemoryMiB: 2048, Note: "cgroups are not available"}})
	f.AddInstance(compute.View{Instance: compute.Instance{ID: "i-0stop", State: compute.StateStopped, Detail: "errored",
		StateReason: "Client.InstanceInitiatedShutdown: exited with code 1", Image: "shop", ImageVersion: 1},
		LastExit: &compute.ExitView{Code: 1, At: built}})
	f.AddInstance(compute.View{Instance: compute.Instance{ID: "i-0stack", Group: "api", State: compute.StateRunning, Owner: "prod", Image: "api"}})
	f.AddInstance(compute.View{Instance: compute.Instance{ID: "i-0gone", State: compute.StateTerminated, Image: "shop",
		TerminatedAt: built, TerminationReason: "User initiated", ReplacedBy: "i-0run"}})
	apiServer := f.Server()
	if metrics {
		cw, err := cloudwatch.New(context.Background(), cloudwatch.Options{Home: t.TempDir(), Store: state.NewMemory(), Interval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cw.Close() })
		now := time.Now()
		var data []metric.Datum
		for i, v := range []float64{10, 30, 20} {
			at := now.Add(time.Duration(i-3) * 30 * time.Second)
			for _, m := range []string{ec2MetricCPU, ec2MetricMem} {
				data = append(data, metric.Datum{ID: metric.ID{Namespace: ec2Namespace, Name: m,
					Dimensions: []metric.Dimension{{Name: "InstanceId", Value: "i-0run"}}}, Unit: "Percent", Timestamp: at, Value: &v, StorageResolution: 1})
			}
		}
		if err := cw.Metrics().Put(data); err != nil {
			t.Fatal(err)
		}
		apiServer.CloudWatch = cw
	}
	srv := httptest.NewServer(apiServer.Handler())
	t.Cleanup(srv.Close)
	s, err := New(Options{API: apitest.Client(srv), Auth: &auth.Service{}})
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// ec2Post submits a form and returns the recorder, for its status,
// location and flash cookie.
func ec2Post(t *testing.T, s *Server, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.routes().ServeHTTP(w, r)
	return w
}

// ec2Flash is the flash message a response carries to the next page.
func ec2Flash(w *httptest.ResponseRecorder) string {
	for _, c := range w.Result().Cookies() {
		if c.Name == flashCookie {
			_, msg := flashDecode(c.Value)
			return msg
		}
	}
	return ""
}

func TestEC2Pages(t *testing.T) {
	s, _ := ec2TestServer(t, true)
	cases := []struct {
		name, path string
		status     int
		want, not  []string
	}{
		{name: "instances list", path: "/ec2/instances", status: 200,
			want: []string{`href="/ec2/instances/i-0run"`, "i-0stop", "i-0stack", "state-running", "state-stopped",
				`title="Client.InstanceInitiatedShutdown: exited with code 1"`, "127.16.0.5:3000", "local-1a", "shop:2", "t3.small",
				`data-filter-table="instances"`, "data-search", `href="/ec2/launch"`, "12.5%", "64.0 MiB", "2m05s",
				`<svg class="spark"`, "<polyline", "1 terminated instances are hidden", `?terminated=1`},
			not: []string{"i-0gone"}},
		{name: "instances with terminated", path: "/ec2/instances?terminated=1", status: 200,
			want: []string{"i-0gone", "state-terminated", "fragment=frag-instances&amp;terminated=1"}},
		{name: "instances fragment", path: "/ec2/instances?fragment=frag-instances", status: 200,
			want: []string{`id="frag-instances"`, "madang:instance from:body", "madang:tick from:body", "i-0run"},
			not:  []string{"<html", "i-0gone"}},
		{name: "instance details", path: "/ec2/instances/i-0stop", status: 200,
			want: []string{"i-0stop", "Client.InstanceInitiatedShutdown: exited with code 1", "errored", "exit code 1",
				`action="/ec2/instances/i-0stop/start"`, `hx-confirm="Terminate i-0stop?`, `aria-selected="true"`, "Create image"},
			not: []string{`/ec2/instances/i-0stop/stop"`}},
		{name: "running instance limits", path: "/ec2/instances/i-0run", status: 200,
			want: []string{"cgroups are not available", "2048 MiB", "t3.small", `action="/ec2/instances/i-0run/stop"`, `hx-confirm="Stop i-0run?`,
				`action="/ec2/instances/i-0run/reboot"`}},
		{name: "terminated instance", path: "/ec2/instances/i-0gone", status: 200,
			want: []string{"User initiated", `href="/ec2/instances/i-0run"`, "state-terminated"},
			not:  []string{"/ec2/instances/i-0gone/terminate", "create-image"}},
		{name: "stack-owned instance", path: "/ec2/instances/i-0stack", status: 200,
			want: []string{"Managed by stack prod", `hx-post="/ec2/instances/i-0stack/reboot"`}},
		{name: "state fragment", path: "/ec2/instances/i-0run?fragment=frag-instance-state", status: 200,
			want: []string{`id="frag-instance-state"`, "madang:instance from:body", "state-running"}, not: []string{"<html"}},
		{name: "monitoring tab", path: "/ec2/instances/i-0run?tab=monitoring", status: 200,
			want: []string{`data-src="/ec2/instances/i-0run/series?metric=CPUUtilization"`, "data-live", "MemoryUtilization"}},
		{name: "logs tab", path: "/ec2/instances/i-0run?tab=logs", status: 200,
			want: []string{`data-tail="/ec2/instances/i-0run/logs/stream"`, "data-tail-toggle"}},
		{name: "tags tab", path: "/ec2/instances/i-0run?tab=tags", status: 200,
			want: []string{"team", "shop", `name="remove" value="team"`, `name="key"`}},
		{name: "unknown instance", path: "/ec2/instances/i-0404", status: 404, want: []string{"i-0404", "see madang ps"}},
		{name: "create image form", path: "/ec2/instances/i-0run/create-image", status: 200,
			want: []string{`name="name"`, `name="noReboot"`, `action="/ec2/instances/i-0run/create-image"`}},
		{name: "launch wizard", path: "/ec2/launch", status: 200,
			want: []string{`class="steps"`, "Name and tags", "Application and OS Images", "Key pair (login)", "madang instances need no key pair",
				`<option value="shop"`, "ami-0shop", `<option value="web"`, "lt-0web", `<option value="t3.micro"`, "2 vCPU, 1024 MiB",
				`<option value="local-1a"`, `<option value="local-1c"`, `name="userData"`, `name="count"`}},
		{name: "launch wizard from a template", path: "/ec2/launch?template=web", status: 200,
			want: []string{`<option value="web" selected`, `value="template" checked`}},
		{name: "images", path: "/ec2/images", status: 200,
			want: []string{"ami-0shop", "./shop", "v2", "0123456789ab", "fedcba987654", "2026-01-02 03:04:05Z", "ami-0api", "prod",
				"made by hand", `href="/ec2/launch?image=shop"`, `id="frag-images"`}},
		{name: "images fragment", path: "/ec2/images?fragment=frag-images", status: 200, want: []string{"ami-0shop"}, not: []string{"<html"}},
		{name: "launch templates", path: "/ec2/launch-templates", status: 200,
			want: []string{"lt-0web", "web", "v1", "v2", "shop", "t3.small", "#!/bin/sh", "(2 lines)", "prod", `href="/ec2/launch?template=web"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, s, tc.path)
			if status != tc.status {
				t.Fatalf("GET %s = %d, want %d:\n%s", tc.path, status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %q", tc.path, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("GET %s has %q", tc.path, n)
				}
			}
		})
	}
}

func TestEC2Actions(t *testing.T) {
	cases := []struct {
		name, path string
		form       url.Values
		status     int
		location   string
		flash      string
		// check inspects the fake afterwards.
		check func(t *testing.T, f *apitest.Fake)
		body  string
	}{
		{name: "stop", path: "/ec2/instances/i-0run/stop", status: 303, location: "/ec2/instances/i-0run", flash: "Instance i-0run is stopping.",
			check: ec2WantState("i-0run", compute.StateStopped)},
		{name: "start", path: "/ec2/instances/i-0stop/start", status: 303, location: "/ec2/instances/i-0stop", flash: "is starting",
			check: ec2WantState("i-0stop", compute.StateRunning)},
		{name: "reboot", path: "/ec2/instances/i-0run/reboot", status: 303, flash: "is rebooting", check: ec2WantState("i-0run", compute.StateRunning)},
		{name: "terminate", path: "/ec2/instances/i-0stop/terminate", status: 303, flash: "is terminating",
			check: ec2WantState("i-0stop", compute.StateTerminated)},
		{name: "terminate unknown", path: "/ec2/instances/i-0404/terminate", status: 404, body: "i-0404"},
		{name: "start terminated", path: "/ec2/instances/i-0gone/start", status: 400, body: "terminated"},
		{name: "unknown action", path: "/ec2/instances/i-0run/explode", status: 404, check: ec2WantState("i-0run", compute.StateRunning)},
		{name: "tag set", path: "/ec2/instances/i-0run/tags", form: url.Values{"key": {"env"}, "value": {"prod"}}, status: 303,
			location: "/ec2/instances/i-0run?tab=tags", flash: "Tags of i-0run saved.", check: ec2WantTag("i-0run", "env", "prod")},
		{name: "tag replace", path: "/ec2/instances/i-0run/tags", form: url.Values{"key": {"team"}, "value": {"payments"}}, status: 303,
			check: ec2WantTag("i-0run", "team", "payments")},
		{name: "tag remove", path: "/ec2/instances/i-0run/tags", form: url.Values{"remove": {"team"}}, status: 303,
			check: ec2WantTag("i-0run", "team", "")},
		{name: "tag without key", path: "/ec2/instances/i-0run/tags", form: url.Values{"value": {"lost"}}, status: 400,
			body: "The tag key is empty."},
		{name: "tags of unknown", path: "/ec2/instances/i-0404/tags", form: url.Values{"key": {"a"}}, status: 404},
		{name: "create image", path: "/ec2/instances/i-0run/create-image", form: url.Values{"name": {"shop-v3"}, "description": {"after the fix"}, "noReboot": {"1"}},
			status: 303, location: "/ec2/images", flash: "Image ami-shop-v3 created from i-0run.", check: ec2WantImage("shop-v3")},
		{name: "create image without name", path: "/ec2/instances/i-0run/create-image", form: url.Values{"description": {"kept"}}, status: 400,
			body: "The image name is empty."},
		{name: "launch with image", path: "/ec2/launch", form: url.Values{"name": {"cart"}, "source": {"image"}, "image": {"shop"},
			"instanceType": {"t3.small"}, "zone": {"local-1b"}, "userData": {"echo hi"}, "count": {"2"}, "tags": {"team=cart\n"}},
			status: 303, location: "/ec2/instances", flash: "Launched i-", check: ec2WantLaunched("shop", "local-1b", "cart", 2)},
		{name: "launch with template", path: "/ec2/launch", form: url.Values{"source": {"template"}, "template": {"web"}, "version": {"$Latest"}, "count": {"1"}},
			status: 303, location: "/ec2/instances", flash: "Launched i-"},
		{name: "launch with bad count", path: "/ec2/launch", form: url.Values{"name": {"cart"}, "source": {"image"}, "image": {"shop"}, "count": {"500"}, "userData": {"echo kept"}},
			status: 400, body: "count 500 is out of range"},
		{name: "launch with no image", path: "/ec2/launch", form: url.Values{"source": {"image"}, "count": {"1"}}, status: 400,
			body: "neither a launch template nor an image was given"},
		{name: "launch with unknown image", path: "/ec2/launch", form: url.Values{"source": {"image"}, "image": {"nope"}, "count": {"1"}}, status: 400,
			body: `image &#34;nope&#34; does not exist`},
		{name: "launch with text count", path: "/ec2/launch", form: url.Values{"source": {"image"}, "image": {"shop"}, "count": {"two"}}, status: 400,
			body: "is not a whole number"},
		{name: "launch with bad tags", path: "/ec2/launch", form: url.Values{"source": {"image"}, "image": {"shop"}, "count": {"1"}, "tags": {"oops"}}, status: 400,
			body: "is not KEY=VALUE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, f := ec2TestServer(t, false)
			w := ec2Post(t, s, tc.path, tc.form)
			body := w.Body.String()
			if w.Code != tc.status {
				t.Fatalf("POST %s = %d, want %d:\n%s", tc.path, w.Code, tc.status, body)
			}
			if tc.location != "" && w.Header().Get("Location") != tc.location {
				t.Errorf("Location %q, want %q", w.Header().Get("Location"), tc.location)
			}
			if tc.flash != "" && !strings.Contains(ec2Flash(w), tc.flash) {
				t.Errorf("flash %q, want it to contain %q", ec2Flash(w), tc.flash)
			}
			if tc.body != "" && !strings.Contains(body, tc.body) {
				t.Errorf("body lacks %q:\n%s", tc.body, body)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}

func TestEC2FormsKeepValues(t *testing.T) {
	s, _ := ec2TestServer(t, false)
	w := ec2Post(t, s, "/ec2/launch", url.Values{"name": {"cart"}, "source": {"image"}, "image": {"shop"}, "count": {"0"},
		"userData": {"echo kept"}, "zone": {"local-1b"}, "instanceType": {"t3.small"}})
	body := w.Body.String()
	for _, want := range []string{`value="cart"`, `<option value="shop" selected`, "echo kept", `<option value="local-1b" selected`,
		`<option value="t3.small" selected`, `value="0"`, "use 1 to 100", `class="field error"`, `li aria-current="step"><a href="#step-summary"`} {
		if !strings.Contains(body, want) {
			t.Errorf("re-rendered launch form lacks %q", want)
		}
	}
	status, _, body := post(t, s, "/ec2/instances/i-0run/create-image", url.Values{"description": {"kept text"}, "noReboot": {"1"}})
	if status != http.StatusBadRequest || !strings.Contains(body, `value="kept text"`) || !strings.Contains(body, "checked") {
		t.Errorf("re-rendered image form = %d, lost its values:\n%s", status, body)
	}
}

func ec2WantState(id string, want compute.InstanceState) func(*testing.T, *apitest.Fake) {
	return func(t *testing.T, f *apitest.Fake) {
		t.Helper()
		v, err := f.Describe(id)
		if err != nil || v.State != want {
			t.Errorf("%s is %q (%v), want %q", id, v.State, err, want)
		}
	}
}

func ec2WantTag(id, key, want string) func(*testing.T, *apitest.Fake) {
	return func(t *testing.T, f *apitest.Fake) {
		t.Helper()
		v, err := f.Describe(id)
		if err != nil || v.Tags[key] != want {
			t.Errorf("%s tag %s = %q (%v), want %q", id, key, v.Tags[key], err, want)
		}
	}
}

func ec2WantImage(name string) func(*testing.T, *apitest.Fake) {
	return func(t *testing.T, f *apitest.Fake) {
		t.Helper()
		for _, im := range f.Images() {
			if im.Spec.Name == name {
				return
			}
		}
		t.Errorf("no image %s in %+v", name, f.Images())
	}
}

// ec2WantLaunched checks that n instances were launched from image in
// zone, named name.
func ec2WantLaunched(image, zone, name string, n int) func(*testing.T, *apitest.Fake) {
	return func(t *testing.T, f *apitest.Fake) {
		t.Helper()
		got := 0
		for _, v := range f.Instances() {
			if v.Image == image && v.Zone == zone && v.Tags["Name"] == name {
				got++
				if v.Launch == nil || v.Launch.UserData != "echo hi" || v.InstanceType != "t3.small" || v.Tags["team"] != "cart" {
					t.Errorf("instance %s launched with %+v, type %q, tags %v", v.ID, v.Launch, v.InstanceType, v.Tags)
				}
			}
		}
		if got != n {
			t.Errorf("%d instances of %s in %s named %s, want %d", got, image, zone, name, n)
		}
	}
}

func TestEC2Series(t *testing.T) {
	cases := []struct {
		name, path string
		metrics    bool
		status     int
		points     int
		unit       string
		errText    bool
	}{
		{name: "cpu", path: "/ec2/instances/i-0run/series?metric=CPUUtilization", metrics: true, status: 200, points: 3, unit: "Percent"},
		{name: "memory", path: "/ec2/instances/i-0run/series?metric=MemoryUtilization", metrics: true, status: 200, points: 3, unit: "Percent"},
		{name: "default metric", path: "/ec2/instances/i-0run/series", metrics: true, status: 200, points: 3, unit: "Percent"},
		{name: "no data", path: "/ec2/instances/i-0stop/series", metrics: true, status: 200, points: 0, unit: "Percent"},
		{name: "no cloudwatch", path: "/ec2/instances/i-0run/series", metrics: false, status: 200, points: 0, unit: "Percent", errText: true},
		{name: "unknown metric", path: "/ec2/instances/i-0run/series?metric=Bogus", metrics: true, status: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := ec2TestServer(t, tc.metrics)
			status, body := get(t, s, tc.path)
			if status != tc.status {
				t.Fatalf("GET %s = %d, want %d: %s", tc.path, status, tc.status, body)
			}
			if status != 200 {
				return
			}
			var c struct {
				Unit       string  `json:"unit"`
				Timestamps []int64 `json:"timestamps"`
				Series     []struct {
					Label  string     `json:"label"`
					Values []*float64 `json:"values"`
				} `json:"series"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &c); err != nil {
				t.Fatalf("not chart JSON: %v\n%s", err, body)
			}
			if c.Unit != tc.unit || len(c.Series) != 1 || len(c.Timestamps) != tc.points || len(c.Series[0].Values) != tc.points || c.Timestamps == nil {
				t.Fatalf("chart %+v, want %d points in %s", c, tc.points, tc.unit)
			}
			for i := 1; i < len(c.Timestamps); i++ {
				if c.Timestamps[i] <= c.Timestamps[i-1] {
					t.Fatalf("timestamps %v are not ascending", c.Timestamps)
				}
			}
			if tc.points == 3 && (c.Series[0].Values[1] == nil || *c.Series[0].Values[1] != 30) {
				t.Fatalf("values %v, want 10, 30, 20", body)
			}
			if (c.Error != "") != tc.errText {
				t.Fatalf("error %q, want one: %v", c.Error, tc.errText)
			}
		})
	}
}

func TestEC2LogStream(t *testing.T) {
	cases := []struct {
		name, id string
		status   int
		want     []string
	}{
		{name: "tail", id: "i-0run", status: 200, want: []string{`"text":"listening on 3000"`, `"stream":"err"`, `"text":"boom"`}},
		{name: "unknown instance", id: "i-0404", status: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, f := ec2TestServer(t, false)
			t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			f.WriteLog(t, "i-0run", logfile.Line{Time: t0, Stream: "out", Text: "listening on 3000"},
				logfile.Line{Time: t0.Add(time.Second), Stream: "err", Text: "boom"})
			srv := httptest.NewServer(s.routes())
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/ec2/instances/"+tc.id+"/logs/stream", nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				_, _ = io.Copy(io.Discard, resp.Body)
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Fatalf("Content-Type %q", ct)
			}
			var seen strings.Builder
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() && !ec2ContainsAll(seen.String(), tc.want) {
				if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					seen.WriteString(line + "\n")
				}
			}
			cancel()
			if !ec2ContainsAll(seen.String(), tc.want) {
				t.Fatalf("stream %q lacks %q", seen.String(), tc.want)
			}
		})
	}
}

func ec2ContainsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
