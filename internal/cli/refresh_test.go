package cli

import (
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api/v1"
)

func TestRefreshCommands(t *testing.T) {
	_, srv := asgDaemon(t)
	steps := []struct {
		name string
		args []string
		code int
		want string // in stdout or stderr
	}{
		{"status before any", []string{"refresh", "status", "web"}, 0, "no instance refreshes for web"},
		{"bad checkpoints", []string{"refresh", "start", "web", "--checkpoints", "50,x"}, 2, `"x" is not a percentage`},
		{"bad preference", []string{"refresh", "start", "web", "--min-healthy", "120"}, 1, "minHealthyPercentage"},
		{"start", []string{"refresh", "start", "web", "--min-healthy", "50", "--auto-rollback"}, 0, "instance refresh refresh-1 started"},
		{"second start", []string{"refresh", "start", "web"}, 1, "InstanceRefreshInProgress"},
		{"status", []string{"refresh", "status", "web"}, 0, "refresh-1  InProgress"},
		{"status json", []string{"refresh", "status", "web", "-o", "json"}, 0, `"instanceRefreshId": "refresh-1"`},
		{"cancel", []string{"refresh", "cancel", "web"}, 0, "instance refresh refresh-1: Cancelled"},
		{"cancel again", []string{"refresh", "cancel", "web"}, 1, "ActiveInstanceRefreshNotFound"},
		{"unknown group", []string{"refresh", "status", "nope"}, 1, "nope"},
	}
	for _, st := range steps {
		stdout, stderr, code := cli(t.Context(), t, srv, st.args...)
		if code != st.code || !strings.Contains(stdout+stderr, st.want) {
			t.Fatalf("%s: madang %s → exit %d\nstdout: %s\nstderr: %s\nwant exit %d with %q", st.name, strings.Join(st.args, " "), code, stdout, stderr, st.code, st.want)
		}
	}
}

func TestRefreshProgressLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    v1.InstanceRefresh
		want string
	}{
		{"start", v1.InstanceRefresh{Status: "InProgress", Total: 4, FromVersion: 1, ToVersion: 2},
			"  [------------------------------]   0%  InProgress         0/4 replaced, v1 → v2"},
		{"half, at a checkpoint", v1.InstanceRefresh{Status: "InProgress", PercentageComplete: 50, Replaced: 2, Total: 4, FromVersion: 1, ToVersion: 2, StatusReason: "waiting at checkpoint 50%"},
			"  [###############---------------]  50%  InProgress         2/4 replaced, v1 → v2  (waiting at checkpoint 50%)"},
		{"done", v1.InstanceRefresh{Status: "Successful", PercentageComplete: 100, Replaced: 4, Total: 4, FromVersion: 1, ToVersion: 2},
			"  [##############################] 100%  Successful         4/4 replaced, v1 → v2"},
		{"new image build", v1.InstanceRefresh{Status: "InProgress", Total: 2, FromVersion: 1, ToVersion: 1, ToImageVersion: 3},
			"  [------------------------------]   0%  InProgress         0/2 replaced, launch template v1, image v3"},
	} {
		if got := progressLine(tc.r); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
