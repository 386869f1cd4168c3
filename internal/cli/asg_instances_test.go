package cli

import (
	"strings"
	"testing"
)

func TestASGInstanceMoves(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // in stdout, or stderr when code is not 0
	}{
		{name: "standby", args: []string{"asg", "standby", "web", "i-0a", "--decrement"},
			want: []string{"web: moving i-0a to Standby", "Moving EC2 instance to Standby: i-0a"}},
		{name: "exit-standby of an InService instance", args: []string{"asg", "exit-standby", "web", "i-0a"}, code: 1,
			want: []string{"is not in Standby"}},
		{name: "protect", args: []string{"asg", "protect", "web", "i-0a", "i-0b"}, want: []string{"web: i-0a, i-0b protected from scale-in"}},
		{name: "protect off", args: []string{"asg", "protect", "web", "i-0a", "--off"}, want: []string{"i-0a no longer protected from scale-in"}},
		{name: "attach", args: []string{"asg", "attach", "web", "i-0c"}, want: []string{"Attaching an existing EC2 instance: i-0c"}},
		{name: "attach as json", args: []string{"asg", "attach", "web", "i-0c", "-o", "json"}, want: []string{`"description": "Attaching an existing EC2 instance: i-0c"`}},
		{name: "detach", args: []string{"asg", "detach", "web", "i-0a"}, want: []string{"Detaching EC2 instance: i-0a"}},
		{name: "metrics", args: []string{"asg", "metrics", "web", "--enable", "--metric", "GroupDesiredCapacity"},
			want: []string{"web: collecting GroupDesiredCapacity every minute (AWS/AutoScaling)"}},
		{name: "metrics off", args: []string{"asg", "metrics", "web", "--disable"}, want: []string{"web: no group metrics collected"}},
		{name: "metrics needs a switch", args: []string{"asg", "metrics", "web"}, code: 2, want: []string{"give --enable or --disable"}},
		{name: "standby needs an id", args: []string{"asg", "standby", "web"}, code: 2, want: []string{"requires at least 2 arg"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := asgDaemon(t)
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
		})
	}
}
