package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
)

func TestMinHealthyPercent(t *testing.T) {
	for _, tc := range []struct {
		name, config, custom string
		desired, want        int
		err                  string
	}{
		{name: "all at once", config: deployAllAtOnce, desired: 4, want: 0},
		{name: "half at a time", config: deployHalfAtTime, desired: 4, want: 50},
		{name: "one at a time of 4", config: deployOneAtATime, desired: 4, want: 75},
		{name: "one at a time of 3", config: deployOneAtATime, desired: 3, want: 66},
		{name: "one at a time of 1", config: deployOneAtATime, desired: 1, want: 0},
		{name: "custom percent", custom: "80%", desired: 5, want: 80},
		{name: "custom count", custom: "3", desired: 4, want: 75},
		{name: "custom count rounds up", custom: "2", desired: 3, want: 67},
		{name: "count as large as the group", custom: "4", desired: 4, err: "no instance could be replaced"},
		{name: "bad percent", custom: "120%", desired: 4, err: "0% to 100%"},
		{name: "bad count", custom: "x", desired: 4, err: "75%"},
		{name: "unknown config", config: "CodeDeployDefault.Fast", desired: 4, err: "is not a deployment configuration"},
	} {
		got, err := minHealthyPercent(tc.config, tc.custom, tc.desired)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s: %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

func TestRefreshGroups(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"none", "autoScalingGroups:\n  - name: web\n", nil},
		{"one of two", "autoScalingGroups:\n  - name: web\n    instanceRefresh: {minHealthyPercentage: 50}\n  - name: api\n", []string{"web"}},
		{"empty preferences count", "autoScalingGroups:\n  - name: web\n    instanceRefresh: {}\n", []string{"web"}},
		{"not YAML", "autoScalingGroups: [", nil},
	} {
		got := refreshGroups(tc.yaml)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		for _, g := range tc.want {
			if !got[g] {
				t.Errorf("%s: %v lacks %s", tc.name, got, g)
			}
		}
	}
}

func TestInstanceLine(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ev := func(name, status string, ms int) v1.LifecycleEvent {
		e := v1.LifecycleEvent{Name: name, Status: status}
		if status != "Skipped" && status != "Pending" {
			e.StartTime, e.EndTime = t0, t0.Add(time.Duration(ms)*time.Millisecond)
		}
		return e
	}
	failed := ev("ValidateService", "Failed", 20)
	failed.Diagnostics = &struct {
		ErrorCode  string `json:"errorCode"`
		ScriptName string `json:"scriptName,omitempty"`
		Message    string `json:"message,omitempty"`
		LogTail    string `json:"logTail,omitempty"`
	}{ErrorCode: "ScriptFailed", ScriptName: "scripts/check.sh", Message: "exit status 1", LogTail: "checking\nnot ready"}
	tgt := v1.DeploymentTarget{InstanceID: "i-1", Status: "Failed", StartTime: t0, EndTime: t0.Add(1500 * time.Millisecond),
		Events: []v1.LifecycleEvent{ev("BlockTraffic", "Succeeded", 120), ev("ApplicationStop", "Skipped", 0), failed, ev("AllowTraffic", "Skipped", 0)}}
	want := "i-1 Failed in 1.5s: BlockTraffic 120ms, ValidateService FAILED\n      ValidateService: scripts/check.sh: ScriptFailed: exit status 1: last lines: checking | not ready"
	if got := instanceLine(tgt); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
