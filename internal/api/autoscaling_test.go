package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/api/v1"
)

// autoScalingHandler serves a fake daemon with group "web" and its
// activities.
func autoScalingHandler(t *testing.T) (http.Handler, *apitest.AutoScaling) {
	t.Helper()
	now := time.Now().UTC()
	asg := apitest.NewAutoScaling(apitest.SampleGroup(now))
	asg.AddActivities("web", apitest.SampleActivities(now)...)
	f := apitest.New(t)
	f.AutoScaling = asg
	return f.Server().Handler(), asg
}

func TestAutoScalingReads(t *testing.T) {
	h, _ := autoScalingHandler(t)
	cases := []struct {
		name, path string
		// check inspects the decoded answer.
		check func(t *testing.T, b []byte)
	}{
		{name: "list", path: "/v1/autoscaling/groups", check: func(t *testing.T, b []byte) {
			var gs []v1.AutoScalingGroup
			mustDecode(t, b, &gs)
			if len(gs) != 1 || gs[0].Name != "web" || gs[0].DesiredCapacity != 2 || len(gs[0].Instances) != 2 {
				t.Fatalf("groups %s", b)
			}
		}},
		{name: "describe", path: "/v1/autoscaling/groups/web", check: func(t *testing.T, b []byte) {
			var g v1.AutoScalingGroup
			mustDecode(t, b, &g)
			in := g.Instances[1]
			if in.LifecycleState != "Pending:Wait" || in.LifecycleHook != "warm-cache" || in.LifecycleActionToken != "tok-1" ||
				!in.ProtectedFromScaleIn || in.AvailabilityZone != "local-1b" || in.LaunchTemplateVersion != 3 {
				t.Fatalf("instance %+v", in)
			}
			if len(g.ScalingPolicies) != 3 || !strings.Contains(g.ScalingPolicies[0].PolicyARN, ":scalingPolicy:") ||
				len(g.ScalingPolicies[2].StepAdjustments) != 2 || g.ScalingPolicies[1].ScalingAdjustment != 1 {
				t.Fatalf("policies %+v", g.ScalingPolicies)
			}
			if p := g.ScalingPolicies[0]; !p.Enabled || p.TargetTracking == nil || p.TargetTracking.TargetValue != 50 ||
				p.TargetTracking.PredefinedMetricType != "ASGAverageCPUUtilization" || p.EstimatedInstanceWarmup == nil {
				t.Fatalf("policy settings %+v", p)
			}
			if g.HealthCheckGracePeriod != 300 || g.DefaultCooldown != 300 || !slices.Equal(g.TerminationPolicies, []string{"Default"}) ||
				g.Tags["team"] != "shop" || g.ScheduledActions[0].TimeZone != "Asia/Seoul" || g.ScheduledActions[0].DesiredCapacity == nil {
				t.Fatalf("group settings %s", b)
			}
			if len(g.ScheduledActions) != 1 || g.ScheduledActions[0].NextRun.IsZero() || g.ScheduledActions[0].Recurrence != "0 22 * * *" {
				t.Fatalf("scheduled actions %+v", g.ScheduledActions)
			}
			if g.WarmPool == nil || g.WarmPool.MinSize != 1 || g.Cause == "" || g.ActivitiesInProgress != 1 || g.HealthCheckType != "ELB" {
				t.Fatalf("group %s", b)
			}
			for _, field := range []string{`"autoScalingGroupName"`, `"desiredCapacity"`, `"lifecycleState"`, `"healthStatus"`, `"policyARN"`} {
				if !strings.Contains(string(b), field) {
					t.Errorf("no %s in %s", field, b)
				}
			}
		}},
		{name: "activities", path: "/v1/autoscaling/groups/web/activities", check: func(t *testing.T, b []byte) {
			var as []v1.ScalingActivity
			mustDecode(t, b, &as)
			if len(as) != 2 || as[0].ActivityID != "act-2" || as[0].StatusCode != "MidLifecycleAction" || as[1].EndTime.IsZero() {
				t.Fatalf("activities %s", b)
			}
			for _, field := range []string{`"activityId"`, `"statusCode"`, `"cause"`, `"startTime"`, `"endTime"`, `"progress"`} {
				if !strings.Contains(string(b), field) {
					t.Errorf("no %s in %s", field, b)
				}
			}
		}},
		{name: "activities with max", path: "/v1/autoscaling/groups/web/activities?max=1", check: func(t *testing.T, b []byte) {
			var as []v1.ScalingActivity
			mustDecode(t, b, &as)
			if len(as) != 1 || as[0].ActivityID != "act-2" {
				t.Fatalf("activities %s", b)
			}
		}},
		{name: "activities up to madang's max", path: "/v1/autoscaling/groups/web/activities?max=500", check: func(t *testing.T, b []byte) {
			var as []v1.ScalingActivity
			mustDecode(t, b, &as)
			if len(as) != 2 {
				t.Fatalf("activities %s", b)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := do(t, h, "GET", tc.path, "")
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d %s", tc.path, resp.StatusCode, b)
			}
			tc.check(t, b)
		})
	}
}

func mustDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

func TestAutoScalingActions(t *testing.T) {
	cases := []struct {
		name, path, body string
		status           int
		// want is in the answer's body; completed the fake's record.
		want      string
		completed []string
	}{
		{name: "set desired", path: "/v1/autoscaling/groups/web/desired-capacity", body: `{"desiredCapacity":3}`, status: 200, want: `"desiredCapacity":3`},
		{name: "set desired honoring no cooldown", path: "/v1/autoscaling/groups/web/desired-capacity", body: `{"desiredCapacity":1,"honorCooldown":true}`, status: 200, want: `"desiredCapacity":1`},
		{name: "complete by instance", path: "/v1/autoscaling/groups/web/lifecycle-actions",
			body: `{"lifecycleHookName":"warm-cache","instanceId":"i-0b","lifecycleActionResult":"CONTINUE"}`, status: 204, completed: []string{"warm-cache i-0b CONTINUE"}},
		{name: "complete by token", path: "/v1/autoscaling/groups/web/lifecycle-actions",
			body: `{"lifecycleHookName":"warm-cache","lifecycleActionToken":"tok-1","lifecycleActionResult":"ABANDON"}`, status: 204, completed: []string{"warm-cache i-0b ABANDON"}},
		{name: "heartbeat", path: "/v1/autoscaling/groups/web/lifecycle-heartbeats",
			body: `{"lifecycleHookName":"warm-cache","instanceId":"i-0b"}`, status: 204, completed: []string{"warm-cache i-0b heartbeat"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, asg := autoScalingHandler(t)
			resp, b := do(t, h, "POST", tc.path, tc.body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Fatalf("POST %s: %d %s, want %d with %q", tc.path, resp.StatusCode, b, tc.status, tc.want)
			}
			if got := asg.Completed(); !slices.Equal(got, tc.completed) {
				t.Fatalf("completed %q, want %q", got, tc.completed)
			}
		})
	}
}

func TestAutoScalingErrors(t *testing.T) {
	h, _ := autoScalingHandler(t)
	const hook = `"lifecycleHookName":"warm-cache"`
	cases := []struct {
		name, method, path, body string
		status                   int
		code, message            string // message is a substring
	}{
		{"unknown group", "GET", "/v1/autoscaling/groups/nope", "", 404, v1.CodeNotFound, `"nope" does not exist`},
		{"activities of an unknown group", "GET", "/v1/autoscaling/groups/nope/activities", "", 404, v1.CodeNotFound, `"nope" does not exist`},
		{"max not a number", "GET", "/v1/autoscaling/groups/web/activities?max=x", "", 400, v1.CodeValidation, `max "x"`},
		{"max zero", "GET", "/v1/autoscaling/groups/web/activities?max=0", "", 400, v1.CodeValidation, "from 1 to 500"},
		{"max beyond 500", "GET", "/v1/autoscaling/groups/web/activities?max=501", "", 400, v1.CodeValidation, "from 1 to 500"},
		{"desired missing", "POST", "/v1/autoscaling/groups/web/desired-capacity", `{"honorCooldown":true}`, 400, v1.CodeValidation, "desiredCapacity is required"},
		{"desired negative", "POST", "/v1/autoscaling/groups/web/desired-capacity", `{"desiredCapacity":-1}`, 400, v1.CodeValidation, "desiredCapacity -1 is negative"},
		{"desired not a number", "POST", "/v1/autoscaling/groups/web/desired-capacity", `{"desiredCapacity":"3"}`, 400, v1.CodeValidation, "request body"},
		{"desired unknown field", "POST", "/v1/autoscaling/groups/web/desired-capacity", `{"desired":3}`, 400, v1.CodeValidation, "request body"},
		{"desired above max", "POST", "/v1/autoscaling/groups/web/desired-capacity", `{"desiredCapacity":5}`, 400, v1.CodeValidation, "above max value 4"},
		{"desired below min", "POST", "/v1/autoscaling/groups/web/desired-capacity", `{"desiredCapacity":0}`, 400, v1.CodeValidation, "below min value 1"},
		{"desired of an unknown group", "POST", "/v1/autoscaling/groups/nope/desired-capacity", `{"desiredCapacity":1}`, 404, v1.CodeNotFound, "does not exist"},
		{"complete without a hook", "POST", "/v1/autoscaling/groups/web/lifecycle-actions", `{"instanceId":"i-0b","lifecycleActionResult":"CONTINUE"}`, 400, v1.CodeValidation, "lifecycleHookName is required"},
		{"complete without an instance", "POST", "/v1/autoscaling/groups/web/lifecycle-actions", `{` + hook + `,"lifecycleActionResult":"CONTINUE"}`, 400, v1.CodeValidation, "instanceId or lifecycleActionToken is required"},
		{"complete without a result", "POST", "/v1/autoscaling/groups/web/lifecycle-actions", `{` + hook + `,"instanceId":"i-0b"}`, 400, v1.CodeValidation, "lifecycleActionResult is required"},
		{"complete with a bad result", "POST", "/v1/autoscaling/groups/web/lifecycle-actions", `{` + hook + `,"instanceId":"i-0b","lifecycleActionResult":"MAYBE"}`, 400, v1.CodeValidation, `"MAYBE" is not CONTINUE or ABANDON`},
		{"complete an instance not waiting", "POST", "/v1/autoscaling/groups/web/lifecycle-actions", `{` + hook + `,"instanceId":"i-0a","lifecycleActionResult":"CONTINUE"}`, 404, v1.CodeNotFound, "no active lifecycle action"},
		{"heartbeat without a hook", "POST", "/v1/autoscaling/groups/web/lifecycle-heartbeats", `{"instanceId":"i-0b"}`, 400, v1.CodeValidation, "lifecycleHookName is required"},
		{"heartbeat without an instance", "POST", "/v1/autoscaling/groups/web/lifecycle-heartbeats", `{` + hook + `}`, 400, v1.CodeValidation, "instanceId or lifecycleActionToken is required"},
		{"heartbeat with a result", "POST", "/v1/autoscaling/groups/web/lifecycle-heartbeats", `{` + hook + `,"instanceId":"i-0b","lifecycleActionResult":"CONTINUE"}`, 400, v1.CodeValidation, "request body"},
		{"execute a target tracking policy", "POST", "/v1/autoscaling/groups/web/policies/cpu50/execute", `{}`, 400, v1.CodeValidation, "not supported for target tracking scaling policies"},
		{"execute an unknown policy", "POST", "/v1/autoscaling/groups/web/policies/nope/execute", `{}`, 404, v1.CodeNotFound, "Policy nope not found in AutoScalingGroup web"},
		{"execute in an unknown group", "POST", "/v1/autoscaling/groups/nope/policies/add1/execute", `{}`, 404, v1.CodeNotFound, "does not exist"},
		{"execute a step policy without a metric value", "POST", "/v1/autoscaling/groups/web/policies/cpu-steps/execute", `{"breachThreshold":70}`, 400, v1.CodeValidation, "MetricValue is required"},
		{"execute with an unknown field", "POST", "/v1/autoscaling/groups/web/policies/add1/execute", `{"metric":1}`, 400, v1.CodeValidation, "request body"},
		{"execute without a body", "POST", "/v1/autoscaling/groups/web/policies/add1/execute", ``, 400, v1.CodeValidation, "request body"},
		{"heartbeat with a wrong token", "POST", "/v1/autoscaling/groups/web/lifecycle-heartbeats", `{` + hook + `,"lifecycleActionToken":"nope"}`, 404, v1.CodeNotFound, "no active lifecycle action"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := do(t, h, tc.method, tc.path, tc.body)
			var body v1.ErrorBody
			_ = json.Unmarshal(b, &body)
			if resp.StatusCode != tc.status || body.Error.Code != tc.code || !strings.Contains(body.Error.Message, tc.message) {
				t.Fatalf("%s %s: %d %s, want %d %s with %q", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.code, tc.message)
			}
		})
	}
}

func TestAutoScalingExecutePolicy(t *testing.T) {
	for _, tc := range []struct {
		name, policy, body string
		want               v1.PolicyExecution
	}{
		{name: "simple", policy: "add1", body: `{}`, want: v1.PolicyExecution{AutoScalingGroupName: "web", PolicyName: "add1",
			PolicyType: "SimpleScaling", PreviousDesiredCapacity: 2, DesiredCapacity: 3}},
		{name: "step", policy: "cpu-steps", body: `{"metricValue":85,"breachThreshold":70}`, want: v1.PolicyExecution{AutoScalingGroupName: "web",
			PolicyName: "cpu-steps", PolicyType: "StepScaling", PreviousDesiredCapacity: 2, DesiredCapacity: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := autoScalingHandler(t)
			resp, b := do(t, h, "POST", "/v1/autoscaling/groups/web/policies/"+tc.policy+"/execute", tc.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			var got v1.PolicyExecution
			mustDecode(t, b, &got)
			if !strings.Contains(got.Cause, "a user request executed policy "+tc.policy) {
				t.Errorf("cause %q", got.Cause)
			}
			got.Cause = ""
			if got != tc.want {
				t.Errorf("answer %+v, want %+v", got, tc.want)
			}
			_, gb := do(t, h, "GET", "/v1/autoscaling/groups/web", "")
			var g v1.AutoScalingGroup
			mustDecode(t, gb, &g)
			if g.DesiredCapacity != tc.want.DesiredCapacity {
				t.Errorf("group's desired capacity %d, want %d", g.DesiredCapacity, tc.want.DesiredCapacity)
			}
		})
	}
}

func TestAutoScalingRoutesNeedTheController(t *testing.T) {
	h := apitest.New(t).Server().Handler()
	resp, b := do(t, h, "GET", "/v1/autoscaling/groups", "")
	if resp.StatusCode != 404 || !strings.Contains(string(b), "no API route") {
		t.Fatalf("without a controller: %d %s", resp.StatusCode, b)
	}
}
