package cli

import (
	"strings"
	"testing"
)

func TestASGExecutePolicy(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // in stdout, or stderr when code is not 0
		// desired is the group's desired capacity after (0: not checked).
		desired int
	}{
		{name: "simple", args: []string{"asg", "execute-policy", "web", "add1"}, desired: 3,
			want: []string{"policy add1 of web executed: desired capacity 2 → 3\n", "a user request executed policy add1 changing the desired capacity from 2 to 3."}},
		{name: "step", args: []string{"asg", "execute-policy", "web", "cpu-steps", "--metric-value", "85", "--breach-threshold", "70"}, desired: 4,
			want: []string{"policy cpu-steps of web executed: desired capacity 2 → 4"}},
		{name: "honoring the cooldown", args: []string{"asg", "execute-policy", "web", "add1", "--honor-cooldown"}, desired: 3,
			want: []string{"desired capacity 2 → 3"}},
		{name: "as json", args: []string{"asg", "execute-policy", "web", "add1", "-o", "json"},
			want: []string{`"previousDesiredCapacity": 2`, `"desiredCapacity": 3`, `"policyType": "SimpleScaling"`}},
		{name: "help", args: []string{"asg", "execute-policy", "--help"},
			want: []string{"execute-policy NAME POLICY", "--honor-cooldown", "--metric-value", "--breach-threshold", "as if its alarm had fired"}},
		{name: "target tracking refused", args: []string{"asg", "execute-policy", "web", "cpu50"}, code: ExitFailure,
			want: []string{"madang: ExecutePolicy is not supported for target tracking scaling policies"}},
		{name: "unknown policy", args: []string{"asg", "execute-policy", "web", "nope"}, code: ExitFailure,
			want: []string{"madang: Policy nope not found in AutoScalingGroup web"}},
		{name: "step without a metric value", args: []string{"asg", "execute-policy", "web", "cpu-steps"}, code: ExitFailure,
			want: []string{"MetricValue is required for policies of type StepScaling"}},
		{name: "metric value without a threshold", args: []string{"asg", "execute-policy", "web", "cpu-steps", "--metric-value", "85"}, code: ExitUsage,
			want: []string{"madang: --metric-value and --breach-threshold go together", "hint: run 'madang asg execute-policy --help' for usage"}},
		{name: "metric value not a number", args: []string{"asg", "execute-policy", "web", "cpu-steps", "--metric-value", "x", "--breach-threshold", "1"}, code: ExitUsage,
			want: []string{`invalid argument "x"`}},
		{name: "without a policy", args: []string{"asg", "execute-policy", "web"}, code: ExitUsage, want: []string{"accepts 2 arg(s), received 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asg, srv := asgDaemon(t)
			stdout, stderr, code := cli(t.Context(), t, srv, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s%s", code, tc.code, stdout, stderr)
			}
			out := stdout
			if tc.code != 0 {
				out = stderr
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			g, err := asg.Group("web")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.desired != 0 && g.DesiredCapacity != tc.desired:
				t.Errorf("desired capacity %d, want %d", g.DesiredCapacity, tc.desired)
			case tc.code != 0 && g.DesiredCapacity != 2:
				t.Errorf("a refused call changed the desired capacity to %d", g.DesiredCapacity)
			}
		})
	}
}
