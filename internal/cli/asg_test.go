package cli

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api/apitest"
)

// asgDaemon is a fake daemon with the Auto Scaling group "web" and its
// activities.
func asgDaemon(t *testing.T) (*apitest.AutoScaling, *httptest.Server) {
	t.Helper()
	now := time.Now().UTC()
	f := apitest.New(t)
	f.AutoScaling = apitest.NewAutoScaling(apitest.SampleGroup(now))
	f.AutoScaling.AddActivities("web", apitest.SampleActivities(now)...)
	return f.AutoScaling, f.Serve(t)
}

func TestASGOutput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string // in stdout
		// completed is what the fake recorded of lifecycle calls.
		completed []string
	}{
		{name: "ls", args: []string{"asg", "ls"}, want: []string{
			"NAME  DESIRED  MIN  MAX  IN SERVICE  PENDING  WARM  INSTANCES  LAUNCH TEMPLATE  ZONES              STACK",
			"web   2        1    4    1           1        0     2          web:$Default     local-1a,local-1b  demo"}},
		{name: "list alias", args: []string{"asg", "list"}, want: []string{"web:$Default"}},
		{name: "describe", args: []string{"asg", "describe", "web"}, want: []string{
			"Desired / min / max:", "2 / 1 / 4", "Cause:", "from 1 to 2.",
			"INSTANCE", "LT VERSION", "PROTECTED", "HOOK", "i-0a", "InService", "i-0b", "Pending:Wait", "warm-cache (times out in",
			"cpu50", "TargetTrackingScaling", ":scalingPolicy:", "autoScalingGroupName/web:policyName/cpu50",
			"night", "0 22 * * *", "Warm pool:", "min 1", "Lifecycle hooks:"}},
		{name: "activities", args: []string{"asg", "activities", "web"}, want: []string{
			"START", "STATUS", "DESCRIPTION", "MidLifecycleAction 30%  Launching a new EC2 instance: i-0b",
			"\n    At 2026-01-02T03:04:05Z a user request", "Successful", "Launching a new EC2 instance: i-0a"}},
		{name: "set-desired", args: []string{"asg", "set-desired", "web", "3"}, want: []string{"desired capacity of web: 2 → 3\n"}},
		{name: "set-desired honoring the cooldown", args: []string{"asg", "set-desired", "web", "1", "--honor-cooldown"}, want: []string{"desired capacity of web: 2 → 1\n"}},
		{name: "complete", args: []string{"asg", "complete-lifecycle-action", "web", "--hook", "warm-cache", "--instance-id", "i-0b", "--result", "CONTINUE"},
			want: []string{"lifecycle action of instance i-0b in hook warm-cache completed: CONTINUE"}, completed: []string{"warm-cache i-0b CONTINUE"}},
		{name: "complete by token", args: []string{"asg", "complete-lifecycle-action", "web", "--hook", "warm-cache", "--token", "tok-1", "--result", "ABANDON"},
			want: []string{"token tok-1"}, completed: []string{"warm-cache i-0b ABANDON"}},
		{name: "heartbeat", args: []string{"asg", "record-heartbeat", "web", "--hook", "warm-cache", "--instance-id", "i-0b"},
			want: []string{"heartbeat recorded for instance i-0b in hook warm-cache"}, completed: []string{"warm-cache i-0b heartbeat"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			asg, srv := asgDaemon(t)
			stdout, stderr, code := cli(t.Context(), t, srv, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, stdout)
				}
			}
			if got := asg.Completed(); !slices.Equal(got, tc.completed) {
				t.Errorf("completed %q, want %q", got, tc.completed)
			}
		})
	}
}

func TestASGActivitiesWrapCauses(t *testing.T) {
	_, srv := asgDaemon(t)
	stdout, stderr, code := cli(t.Context(), t, srv, "asg", "activities", "web", "--max", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) < 4 || strings.Contains(stdout, "i-0a") {
		t.Fatalf("want a header, one activity and its wrapped cause:\n%s", stdout)
	}
	for _, l := range lines[2:] {
		if !strings.HasPrefix(l, "    ") || len([]rune(l)) > 104 {
			t.Errorf("cause line %q is not indented or wider than 100", l)
		}
	}
}

func TestASGJSON(t *testing.T) {
	cases := []struct {
		name          string
		args          []string
		array, object bool
		length        int
		field, value  string
	}{
		{name: "ls", args: []string{"asg", "ls", "-o", "json"}, array: true, length: 1, field: "autoScalingGroupName", value: "web"},
		{name: "describe", args: []string{"asg", "describe", "web", "-o", "json"}, object: true, field: "autoScalingGroupARN", value: "arn:aws:autoscaling:"},
		{name: "activities", args: []string{"asg", "activities", "web", "-o", "json"}, array: true, length: 2, field: "activityId", value: "act-2"},
		{name: "set-desired", args: []string{"asg", "set-desired", "web", "4", "-o", "json"}, object: true, field: "cause", value: "a user request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := asgDaemon(t)
			stdout, stderr, code := cli(t.Context(), t, srv, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var first map[string]any
			switch v := jsonDoc(t, stdout).(type) {
			case []any:
				if !tc.array || len(v) != tc.length {
					t.Fatalf("got an array of %d, want array=%v of %d:\n%s", len(v), tc.array, tc.length, stdout)
				}
				first, _ = v[0].(map[string]any)
			case map[string]any:
				if !tc.object {
					t.Fatalf("got an object, want an array:\n%s", stdout)
				}
				first = v
			}
			if got, _ := first[tc.field].(string); !strings.HasPrefix(got, tc.value) {
				t.Errorf("%s = %q, want %q…", tc.field, got, tc.value)
			}
		})
	}
}

func TestASGErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want []string // lines of stderr start with these, in order
	}{
		{name: "set-desired not an integer", args: []string{"asg", "set-desired", "web", "three"}, code: ExitUsage,
			want: []string{`madang: N (the desired capacity) "three" is not an integer`, "hint: run 'madang asg set-desired --help' for usage"}},
		{name: "set-desired negative", args: []string{"asg", "set-desired", "web", "-1"}, code: ExitUsage, want: []string{"madang: unknown shorthand flag: '1'"}},
		{name: "set-desired negative after --", args: []string{"asg", "set-desired", "web", "--", "-1"}, code: ExitUsage,
			want: []string{"madang: N (the desired capacity) -1 is negative"}},
		{name: "set-desired without N", args: []string{"asg", "set-desired", "web"}, code: ExitUsage, want: []string{"madang: accepts 2 arg(s), received 1"}},
		{name: "set-desired above max", args: []string{"asg", "set-desired", "web", "9"}, code: ExitFailure,
			want: []string{"madang: New SetDesiredCapacity value 9 is above max value 4 for the AutoScalingGroup.", "hint: give a value from 1 to 4, or raise maxSize in the stack file"}},
		{name: "set-desired of an unknown group", args: []string{"asg", "set-desired", "nope", "1"}, code: ExitFailure,
			want: []string{`madang: Auto Scaling group "nope" does not exist`, "hint: madang asg ls lists the groups"}},
		{name: "describe an unknown group", args: []string{"asg", "describe", "nope"}, code: ExitFailure,
			want: []string{`madang: Auto Scaling group "nope" does not exist`, "hint: madang asg ls lists the groups"}},
		{name: "activities of an unknown group", args: []string{"asg", "activities", "nope"}, code: ExitFailure,
			want: []string{`madang: Auto Scaling group "nope" does not exist`}},
		{name: "activities max too large", args: []string{"asg", "activities", "web", "--max", "501"}, code: ExitUsage,
			want: []string{"madang: --max 501 is not from 1 to 500"}},
		{name: "activities max not a number", args: []string{"asg", "activities", "web", "--max", "x"}, code: ExitUsage,
			want: []string{`madang: invalid argument "x"`}},
		{name: "complete without a hook", args: []string{"asg", "complete-lifecycle-action", "web", "--instance-id", "i-0b", "--result", "CONTINUE"}, code: ExitUsage,
			want: []string{"madang: --hook is required"}},
		{name: "complete without an instance", args: []string{"asg", "complete-lifecycle-action", "web", "--hook", "h", "--result", "CONTINUE"}, code: ExitUsage,
			want: []string{"madang: give --instance-id or --token"}},
		{name: "complete with a bad result", args: []string{"asg", "complete-lifecycle-action", "web", "--hook", "h", "--instance-id", "i-0b", "--result", "YES"}, code: ExitUsage,
			want: []string{`madang: --result "YES" is not CONTINUE or ABANDON`}},
		{name: "complete an instance not waiting", args: []string{"asg", "complete-lifecycle-action", "web", "--hook", "warm-cache", "--instance-id", "i-0a", "--result", "CONTINUE"}, code: ExitFailure,
			want: []string{`madang: no active lifecycle action for instance "i-0a"`, "hint: madang asg describe web lists"}},
		{name: "heartbeat without an instance", args: []string{"asg", "record-heartbeat", "web", "--hook", "h"}, code: ExitUsage,
			want: []string{"madang: give --instance-id or --token"}},
		{name: "unknown sub-command", args: []string{"asg", "scale"}, code: ExitUsage, want: []string{`madang: unknown command "scale" for "madang asg"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := asgDaemon(t)
			stdout, stderr, code := cli(t.Context(), t, srv, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) < len(tc.want) {
				t.Fatalf("stderr %q, want lines starting %q", stderr, tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("stderr line %d = %q, want it to start with %q", i+1, lines[i], w)
				}
			}
		})
	}
}

// TestASGActivitiesFollow: -f prints the activities, then each new one and
// each status change, until the context ends.
func TestASGActivitiesFollow(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"text", []string{"asg", "activities", "web", "-f"}, []string{
			"Launching a new EC2 instance: i-0a", "Launching a new EC2 instance: i-0c", "Launching a new EC2 instance: i-0b → Successful"}},
		{"json lines", []string{"asg", "activities", "web", "-f", "-o", "json"}, []string{
			`"activityId":"act-1"`, `"activityId":"act-3"`, `"statusCode":"Successful"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asg, srv := asgDaemon(t)
			now := time.Now().UTC()
			acts := apitest.SampleActivities(now)
			go func() {
				time.Sleep(300 * time.Millisecond)
				done := acts[0]
				done.StatusCode, done.Progress, done.EndTime = "Successful", 100, now
				added := acts[1]
				added.ID, added.Description, added.InstanceID, added.StartTime = "act-3", "Launching a new EC2 instance: i-0c", "i-0c", now
				asg.SetActivities("web", added, done, acts[1])
			}()
			ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
			defer cancel()
			stdout, stderr, code := cli(ctx, t, srv, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}
