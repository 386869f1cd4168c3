package api_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api/v1"
)

func TestAutoScalingInstanceMoves(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		status           int
		// check inspects the answer and the group after.
		check func(t *testing.T, b []byte, g v1.AutoScalingGroup)
	}{
		{name: "standby with decrement", path: "standby", body: `{"instanceIds":["i-0a"],"shouldDecrementDesiredCapacity":true}`, status: 200,
			check: func(t *testing.T, b []byte, g v1.AutoScalingGroup) {
				var as []v1.ScalingActivity
				mustDecode(t, b, &as)
				if len(as) != 1 || as[0].Description != "Moving EC2 instance to Standby: i-0a" || g.DesiredCapacity != 1 || g.Instances[0].LifecycleState != "Standby" {
					t.Fatalf("answer %s, group %+v", b, g)
				}
			}},
		{name: "exit standby of an InService instance", path: "exit-standby", body: `{"instanceIds":["i-0a"]}`, status: 400,
			check: func(t *testing.T, b []byte, _ v1.AutoScalingGroup) {
				if !strings.Contains(string(b), "is not in Standby") {
					t.Fatalf("answer %s", b)
				}
			}},
		{name: "protect", path: "protection", body: `{"instanceIds":["i-0a"],"protectedFromScaleIn":true}`, status: 200,
			check: func(t *testing.T, _ []byte, g v1.AutoScalingGroup) {
				if !g.Instances[0].ProtectedFromScaleIn {
					t.Fatalf("group %+v", g)
				}
			}},
		{name: "protect an instance of another group", path: "protection", body: `{"instanceIds":["i-zz"],"protectedFromScaleIn":true}`, status: 400,
			check: func(t *testing.T, b []byte, _ v1.AutoScalingGroup) {
				if !strings.Contains(string(b), "The instance i-zz is not part of Auto Scaling group web.") {
					t.Fatalf("answer %s", b)
				}
			}},
		{name: "attach", path: "attach", body: `{"instanceIds":["i-0c"]}`, status: 200,
			check: func(t *testing.T, _ []byte, g v1.AutoScalingGroup) {
				if g.DesiredCapacity != 3 || len(g.Instances) != 3 {
					t.Fatalf("group %+v", g)
				}
			}},
		{name: "detach", path: "detach", body: `{"instanceIds":["i-0a"]}`, status: 200,
			check: func(t *testing.T, _ []byte, g v1.AutoScalingGroup) {
				if g.DesiredCapacity != 2 || len(g.Instances) != 1 {
					t.Fatalf("group %+v", g)
				}
			}},
		{name: "enable metrics", path: "metrics-collection", body: `{"enable":true,"metrics":["GroupDesiredCapacity"]}`, status: 200,
			check: func(t *testing.T, _ []byte, g v1.AutoScalingGroup) {
				if !slices.Equal(g.EnabledMetrics, []string{"GroupDesiredCapacity"}) {
					t.Fatalf("group %+v", g)
				}
			}},
		{name: "enable at 5Minute", path: "metrics-collection", body: `{"enable":true,"granularity":"5Minute"}`, status: 400,
			check: func(t *testing.T, b []byte, _ v1.AutoScalingGroup) {
				if !strings.Contains(string(b), "1Minute") {
					t.Fatalf("answer %s", b)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := autoScalingHandler(t)
			resp, b := do(t, h, "POST", "/v1/autoscaling/groups/web/"+tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			_, gb := do(t, h, "GET", "/v1/autoscaling/groups/web", "")
			var g v1.AutoScalingGroup
			mustDecode(t, gb, &g)
			tc.check(t, b, g)
		})
	}
}
