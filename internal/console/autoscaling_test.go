package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/console/auth"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/state"
)

// asgTestServer is a console over a fake daemon with the sample group
// "web" (stack demo: desired 2 of 1–4, i-0b waiting in hook warm-cache),
// its activities, a refresh half done and a deployment in progress, and
// the group "batch" made by hand.
func asgTestServer(t *testing.T) (*Server, *apitest.Fake) {
	t.Helper()
	f := asgFake(t)
	return asgServe(t, f), f
}

// asgServe serves the fake (with what its fields hold now) to a new
// console.
func asgServe(t *testing.T, f *apitest.Fake) *Server {
	t.Helper()
	s, err := New(Options{API: apitest.Client(f.Serve(t)), Auth: &auth.Service{}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// asgFake is the fake daemon of asgTestServer, not served yet.
func asgFake(t *testing.T) *apitest.Fake {
	t.Helper()
	now := time.Now().UTC()
	batch := autoscaling.GroupView{Name: "batch", LaunchTemplate: "batch", Version: "1", MinSize: 0, MaxSize: 3,
		Zones: []string{"local-1a"}, Instances: []autoscaling.InstanceView{}}
	f := apitest.New(t)
	f.AutoScaling = apitest.NewAutoScaling(batch, apitest.SampleGroup(now))
	f.AutoScaling.AddActivities("web", apitest.SampleActivities(now)...)
	f.AutoScaling.AddRefresh("web", autoscaling.Refresh{ID: "refresh-0", Group: "web", Status: autoscaling.RefreshInProgress,
		StatusReason: "Waiting for instances to warm up before continuing. For example: i-0b is warming up.",
		StartTime:    now.Add(-5 * time.Minute), PercentageComplete: 50, Total: 2, InstancesToUpdate: 1, FromVersion: 2, ToVersion: 3,
		Preferences: autoscaling.RefreshPreferences{CheckpointPercentages: []int{50, 100}}})
	if _, err := f.AutoScaling.StartDeployment(context.Background(), "web", autoscaling.DeploymentRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.AutoScaling.StartDeployment(context.Background(), "batch", autoscaling.DeploymentRequest{DeploymentType: autoscaling.DeploymentBlueGreen,
		TrafficRouting: &autoscaling.TrafficRouting{Type: autoscaling.RoutingCanary, Percentage: 10, IntervalSeconds: 300}}); err != nil {
		t.Fatal(err)
	}
	return f
}

// asgHTMX posts a form as htmx does and returns the status and headers.
func asgHTMX(t *testing.T, s *Server, path string, form url.Values) (int, http.Header, string) {
	t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("HX-Request", "true")
	w := httptest.NewRecorder()
	s.routes().ServeHTTP(w, r)
	return w.Code, w.Header(), w.Body.String()
}

func TestAutoScalingPages(t *testing.T) {
	s, _ := asgTestServer(t)
	for _, tc := range []struct {
		name, path string
		status     int
		want       []string
		not        []string
	}{
		{"list", "/autoscaling/groups", 200, []string{`href="/autoscaling/groups/web"`, "batch", "1/2", "local-1a, local-1b", "ELB", "$Default", "demo", "made by hand", `hx-trigger="madang:change from:body throttle:1s"`}, nil},
		{"list fragment", "/autoscaling/groups?fragment=frag-asg-groups", 200, []string{`id="asg-groups-wrap"`, "web"}, []string{"<html"}},
		{"details", "/autoscaling/groups/web", 200, []string{`aria-selected="true">Details`, "Managed by stack demo", `name="desired"`, `value="2"`, `name="confirm"`,
			`href="/elb/target-groups/web"`, "300 seconds", "Default", "team", "shop", "Stopped", "Give a value from 1 (min) to 4 (max)."}, nil},
		{"details by hand", "/autoscaling/groups/batch", 200, []string{"made by hand", `name="desired"`}, []string{`name="confirm"`, "Managed by stack"}},
		{"summary fragment", "/autoscaling/groups/web?fragment=frag-asg-summary", 200, []string{`id="asg-summary"`, "+1 Pending", "explicitly set group desired capacity"}, []string{"<html"}},
		{"activity", "/autoscaling/groups/web?tab=activity", 200, []string{"Activity history", "MidLifecycleAction", "state-successful", "Launching a new EC2 instance: i-0b",
			"an instance was started in response to a difference between desired and actual capacity", `href="/ec2/instances/i-0a"`}, nil},
		{"activity fragment", "/autoscaling/groups/web?tab=activity&fragment=frag-asg-activity", 200, []string{`id="asg-activity"`, "act", "Launching a new EC2 instance: i-0a",
			`hx-get="/autoscaling/groups/web?tab=activity&amp;fragment=frag-asg-activity"`}, []string{"<html"}},
		{"automatic scaling", "/autoscaling/groups/web?tab=scaling", 200, []string{"cpu50", "TargetTrackingScaling", "ASGAverageCPUUtilization with target value 50", "60 seconds",
			"state-enabled", "night", "0 22 * * *", "Asia/Seoul"}, nil},
		{"instance management", "/autoscaling/groups/web?tab=instances", 200, []string{`href="/ec2/instances/i-0a"`, "state-inservice", "state-pending-wait", "Pending:Wait",
			"warm-cache", "autoscaling:EC2_INSTANCE_LAUNCHING", `value="CONTINUE"`, `value="ABANDON"`, `name="instance" value="i-0b"`, "v3", "Yes", "Healthy"}, nil},
		{"instances fragment", "/autoscaling/groups/web?tab=instances&fragment=frag-asg-instances", 200, []string{`id="asg-instances"`, "i-0b"}, []string{"<html"}},
		{"instance refresh", "/autoscaling/groups/web?tab=refresh", 200, []string{"refresh-0", `<progress max="100" value="50">`, "Waiting for instances to warm up", "50%, 100%",
			"v2 → v3", "/instance-refresh/cancel", "/instance-refresh/rollback", `name="minHealthy" value="90"`, `name="maxHealthy" value="100"`, `name="checkpointDelay" value="3600"`,
			`name="skipMatching" value="yes" checked`, `hx-trigger="madang:change from:body throttle:1s, madang:tick from:body"`}, []string{`name="autoRollback" value="yes" checked`}},
		{"refresh fragment", "/autoscaling/groups/web?tab=refresh&fragment=frag-asg-refreshes", 200, []string{`id="asg-refreshes"`, "refresh-0"}, []string{"<html", "Start instance refresh"}},
		{"deployments", "/autoscaling/groups/web?tab=deployments", 200, []string{"d-TEST00001", "state-inprogress", "CodeDeployDefault.OneAtATime", "/deployments/d-TEST00001/stop", `name="rollback" value="yes"`}, nil},
		{"blue/green deployment", "/autoscaling/groups/batch?tab=deployments", 200, []string{"d-TEST00001", "Blue/green", "TimeBasedCanary 10% / 300s",
			`<progress max="100" value="10">`, "traffic on the replacement fleet", "Shifting"}, []string{"CodeDeployDefault.OneAtATime"}},
		{"deployments fragment", "/autoscaling/groups/web?tab=deployments&fragment=frag-asg-deployments", 200, []string{`id="asg-deployments"`}, []string{"<html"}},
		{"monitoring", "/autoscaling/groups/web?tab=monitoring", 200, []string{`data-src="/autoscaling/groups/web/series?metric=capacity"`, `data-src="/autoscaling/groups/web/series?metric=cpu"`, "data-live"}, nil},
		{"unknown tab is details", "/autoscaling/groups/web?tab=nope", 200, []string{`aria-selected="true">Details`}, nil},
		{"unknown group", "/autoscaling/groups/nope", 404, []string{"does not exist", "madang asg ls"}, nil},
		{"unknown group activity", "/autoscaling/groups/nope?tab=activity", 404, []string{"does not exist"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, s, tc.path)
			if status != tc.status {
				t.Fatalf("GET %s = %d, want %d:\n%s", tc.path, status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: no %q in:\n%s", tc.path, w, body)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(body, w) {
					t.Errorf("GET %s: %q should not be in the page", tc.path, w)
				}
			}
		})
	}
}

func TestAutoScalingSetDesired(t *testing.T) {
	for _, tc := range []struct {
		name, group string
		form        url.Values
		status      int
		// want is in the answer's body (400) or the redirect's target.
		want    []string
		desired int
	}{
		{"by hand", "batch", url.Values{"desired": {"3"}}, 303, []string{"/autoscaling/groups/batch?tab=activity"}, 3},
		{"stack group confirmed", "web", url.Values{"desired": {"4"}, "confirm": {"yes"}}, 303, []string{"/autoscaling/groups/web?tab=activity"}, 4},
		{"stack group unconfirmed", "web", url.Values{"desired": {"3"}}, 400, []string{"Managed by stack demo", "Change it anyway", `value="3"`}, 2},
		{"above max", "web", url.Values{"desired": {"9"}, "confirm": {"yes"}}, 400,
			[]string{"New SetDesiredCapacity value 9 is above max value 4 for the AutoScalingGroup.", "give a value from 1 to 4, or raise maxSize in the stack file", `value="9"`, "field error"}, 2},
		{"below min", "web", url.Values{"desired": {"0"}, "confirm": {"yes"}}, 400, []string{"is below min value 1"}, 2},
		{"not a number", "batch", url.Values{"desired": {"two"}}, 400, []string{"must be a whole number", `value="two"`}, 0},
		{"unknown group", "nope", url.Values{"desired": {"1"}}, 404, []string{"does not exist"}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f := asgTestServer(t)
			status, loc, body := post(t, s, "/autoscaling/groups/"+tc.group+"/desired-capacity", tc.form)
			if status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body+loc, w) {
					t.Errorf("no %q in %s\n%s", w, loc, body)
				}
			}
			if tc.desired < 0 {
				return
			}
			g, err := f.AutoScaling.Group(tc.group)
			if err != nil || g.DesiredCapacity != tc.desired {
				t.Errorf("desired %d (%v), want %d", g.DesiredCapacity, err, tc.desired)
			}
		})
	}
}

func TestAutoScalingLifecycleAction(t *testing.T) {
	for _, tc := range []struct {
		name      string
		form      url.Values
		status    int
		want      string
		completed []string
	}{
		{"continue", url.Values{"hook": {"warm-cache"}, "instance": {"i-0b"}, "result": {"CONTINUE"}}, 303, "/autoscaling/groups/web?tab=instances", []string{"warm-cache i-0b CONTINUE"}},
		{"abandon", url.Values{"hook": {"warm-cache"}, "instance": {"i-0b"}, "result": {"ABANDON"}}, 303, "/autoscaling/groups/web?tab=instances", []string{"warm-cache i-0b ABANDON"}},
		{"not waiting", url.Values{"hook": {"warm-cache"}, "instance": {"i-0a"}, "result": {"CONTINUE"}}, 400, "no active lifecycle action", nil},
		{"bad result", url.Values{"hook": {"warm-cache"}, "instance": {"i-0b"}, "result": {"MAYBE"}}, 400, "is not CONTINUE or ABANDON", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f := asgTestServer(t)
			status, loc, body := post(t, s, "/autoscaling/groups/web/lifecycle-action", tc.form)
			if status != tc.status || !strings.Contains(loc+body, tc.want) {
				t.Fatalf("status %d %s, want %d with %q:\n%s", status, loc, tc.status, tc.want, body)
			}
			if got := f.AutoScaling.Completed(); !slices.Equal(got, tc.completed) {
				t.Errorf("completed %q, want %q", got, tc.completed)
			}
		})
	}
}

func TestAutoScalingRefreshActions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, path string
		form       url.Values
		// cancelFirst ends the sample refresh before the post.
		cancelFirst bool
		status      int
		want        []string
		// check inspects the fake's refreshes afterwards.
		check func(t *testing.T, rs []autoscaling.Refresh)
	}{
		{"cancel", "/instance-refresh/cancel", nil, false, 303, []string{"?tab=refresh"}, func(t *testing.T, rs []autoscaling.Refresh) {
			if rs[0].Status != autoscaling.RefreshCancelled {
				t.Errorf("status %s", rs[0].Status)
			}
		}},
		{"rollback", "/instance-refresh/rollback", nil, false, 303, []string{"?tab=refresh"}, func(t *testing.T, rs []autoscaling.Refresh) {
			if rs[0].Status != autoscaling.RefreshRollbackInProgress {
				t.Errorf("status %s", rs[0].Status)
			}
		}},
		{"cancel without refresh", "/instance-refresh/cancel", nil, true, 400, []string{"ActiveInstanceRefreshNotFound"}, nil},
		{"start defaults", "/instance-refresh", url.Values{"minHealthy": {"90"}, "maxHealthy": {"100"}, "checkpointDelay": {"3600"}, "skipMatching": {"yes"}}, true, 303,
			[]string{"?tab=refresh"}, func(t *testing.T, rs []autoscaling.Refresh) {
				p := rs[0].Preferences
				if len(rs) != 2 || rs[0].Status != autoscaling.RefreshInProgress || *p.MinHealthyPercentage != 90 || *p.MaxHealthyPercentage != 100 ||
					!*p.SkipMatching || p.AutoRollback || p.CheckpointDelay != nil || p.InstanceWarmup != nil {
					t.Errorf("refreshes %+v", rs)
				}
			}},
		{"start checkpoints", "/instance-refresh", url.Values{"minHealthy": {"50"}, "maxHealthy": {"150"}, "warmup": {"30"}, "checkpoints": {"20, 50%, 100"},
			"checkpointDelay": {"600"}, "autoRollback": {"yes"}}, true, 303, nil, func(t *testing.T, rs []autoscaling.Refresh) {
			p := rs[0].Preferences
			if !slices.Equal(p.CheckpointPercentages, []int{20, 50, 100}) || *p.CheckpointDelay != 600 || *p.InstanceWarmup != 30 || !p.AutoRollback || *p.SkipMatching {
				t.Errorf("preferences %+v", p)
			}
		}},
		{"start while one runs", "/instance-refresh", url.Values{"minHealthy": {"90"}}, false, 400, []string{"InstanceRefreshInProgress", `name="minHealthy" value="90"`}, nil},
		{"start out of range", "/instance-refresh", url.Values{"minHealthy": {"120"}, "maxHealthy": {"100"}}, true, 400,
			[]string{"is out of range 0..100", `name="minHealthy" value="120"`}, nil},
		{"start not a number", "/instance-refresh", url.Values{"minHealthy": {"ninety"}}, true, 400,
			[]string{"&#34;ninety&#34; is not a whole number", `class="field error"`, `value="ninety"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f := asgTestServer(t)
			if tc.cancelFirst {
				if _, err := f.AutoScaling.CancelRefresh(ctx, "web"); err != nil {
					t.Fatal(err)
				}
			}
			status, loc, body := post(t, s, "/autoscaling/groups/web"+tc.path, tc.form)
			if status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(loc+body, w) {
					t.Errorf("no %q in %s\n%s", w, loc, body)
				}
			}
			if tc.check != nil {
				rs, err := f.AutoScaling.Refreshes(ctx, "web")
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, rs)
			}
		})
	}
}

func TestAutoScalingHTMXActions(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		form       url.Values
		status     int
		redirect   string
		body       string
	}{
		{"cancel refresh", "/autoscaling/groups/web/instance-refresh/cancel", nil, 204, "/autoscaling/groups/web?tab=refresh", ""},
		{"stop deployment with rollback", "/autoscaling/groups/web/deployments/d-TEST00001/stop", url.Values{"rollback": {"yes"}}, 204, "/autoscaling/groups/web?tab=deployments", ""},
		{"stop unknown deployment", "/autoscaling/groups/web/deployments/d-NOPE/stop", nil, 404, "", `class="flash error"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f := asgTestServer(t)
			status, h, body := asgHTMX(t, s, tc.path, tc.form)
			if status != tc.status || h.Get("HX-Redirect") != tc.redirect || !strings.Contains(body, tc.body) {
				t.Fatalf("status %d redirect %q, want %d %q:\n%s", status, h.Get("HX-Redirect"), tc.status, tc.redirect, body)
			}
			if strings.Contains(tc.path, "/stop") && tc.status == 204 {
				ds, _ := f.AutoScaling.Deployments(context.Background(), "web")
				if ds[0].Status != autoscaling.DeploymentStopped || !ds[0].StopRollback {
					t.Errorf("deployment %+v", ds[0])
				}
			}
		})
	}
}

func TestAutoScalingSeries(t *testing.T) {
	f := asgFake(t)
	cw, err := cloudwatch.New(context.Background(), cloudwatch.Options{Home: t.TempDir(), Store: state.NewMemory(), Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cw.Close() })
	f.CloudWatch = cw
	s := asgServe(t, f)
	at := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Minute)
	dims := []metric.Dimension{{Name: "AutoScalingGroupName", Value: "web"}}
	if err := cw.Metrics().Put([]metric.Datum{
		{ID: metric.ID{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: dims}, Unit: "Percent", Timestamp: at, Values: []float64{20, 40}},
		{ID: metric.ID{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: dims}, Unit: "Percent", Timestamp: at.Add(time.Minute), Values: []float64{70}},
		{ID: metric.ID{Namespace: "AWS/AutoScaling", Name: "GroupDesiredCapacity", Dimensions: dims}, Unit: "None", Timestamp: at, Value: ptr(2.0)},
		{ID: metric.ID{Namespace: "AWS/AutoScaling", Name: "GroupInServiceInstances", Dimensions: dims}, Unit: "None", Timestamp: at.Add(time.Minute), Value: ptr(1.0)},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		check      func(t *testing.T, c asgChart)
	}{
		{"cpu", "/autoscaling/groups/web/series?metric=cpu", 200, func(t *testing.T, c asgChart) {
			if c.Unit != "Percent" || len(c.Timestamps) != 2 || c.Timestamps[0] != at.Unix() || len(c.Series) != 1 ||
				*c.Series[0].Values[0] != 30 || *c.Series[0].Values[1] != 70 || c.Threshold == nil || *c.Threshold != 50 {
				t.Errorf("chart %+v", c)
			}
		}},
		{"capacity", "/autoscaling/groups/web/series?metric=capacity", 200, func(t *testing.T, c asgChart) {
			if c.Unit != "Count" || len(c.Timestamps) != 2 || len(c.Series) != 2 || c.Series[0].Label != "GroupDesiredCapacity" ||
				*c.Series[0].Values[0] != 2 || c.Series[0].Values[1] != nil || c.Series[1].Values[0] != nil || *c.Series[1].Values[1] != 1 || c.Threshold != nil {
				t.Errorf("chart %+v", c)
			}
		}},
		{"no data", "/autoscaling/groups/batch/series?metric=cpu", 200, func(t *testing.T, c asgChart) {
			if len(c.Timestamps) != 0 || len(c.Series) != 1 || c.Series[0].Values == nil {
				t.Errorf("chart %+v", c)
			}
		}},
		{"unknown metric", "/autoscaling/groups/web/series?metric=disk", 400, nil},
		{"unknown group", "/autoscaling/groups/nope/series?metric=cpu", 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, s, tc.path)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.check == nil {
				if !strings.Contains(body, `"error"`) {
					t.Errorf("no error in %s", body)
				}
				return
			}
			if !strings.Contains(body, `"timestamps":[`) || !strings.Contains(body, `"values":[`) {
				t.Errorf("shape: %s", body)
			}
			var c asgChart
			if err := json.Unmarshal([]byte(body), &c); err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestAutoScalingKorean(t *testing.T) {
	s, _ := asgTestServer(t)
	for _, tc := range []struct{ name, path, want string }{
		{"tabs", "/autoscaling/groups/web", "인스턴스 새로 고침"},
		{"policy", "/autoscaling/groups/web?tab=scaling", "대상 값이 50인 ASGAverageCPUUtilization"},
		{"activity", "/autoscaling/groups/web?tab=activity", "활동 기록"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.path, nil)
			r.Header.Set("Accept-Language", "ko-KR,ko;q=0.9")
			w := httptest.NewRecorder()
			s.routes().ServeHTTP(w, r)
			if w.Code != 200 || !strings.Contains(w.Body.String(), tc.want) {
				t.Fatalf("GET %s = %d, want %q:\n%s", tc.path, w.Code, tc.want, w.Body.String())
			}
		})
	}
}
