package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
)

// fakeReset is a daemon's clean slate that counts the resets.
type fakeReset struct {
	mu sync.Mutex
	n  int
}

var slate = v1.Reset{Resources: 3, ByKind: map[string]int{"image": 1, "target-group": 2}, Stacks: []string{"web"},
	Instances: 2, MetricSeries: 40, LogStreams: 1, Records: 9}

func (f *fakeReset) ResetPlan(context.Context) (v1.Reset, error) { return slate, nil }

func (f *fakeReset) Reset(context.Context) (v1.Reset, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	r := slate
	r.DurationSeconds = 0.25
	return r, nil
}

func TestResetCommand(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		terminal   bool
		answer     string
		wantCode   int
		wantOut    string // in stdout
		wantErr    string // in stderr
		wantResets int
	}{
		{name: "no terminal, no --yes", args: []string{"reset"}, wantCode: ExitUsage, wantErr: "pass --yes", wantResets: 0},
		{name: "--yes", args: []string{"reset", "--yes"}, wantOut: "removed 3 resources (1 image; 2 target-group; stacks web), 2 instances, 40 metric series, 1 log stream in 250ms", wantResets: 1},
		{name: "--yes -o json", args: []string{"reset", "-y", "-o", "json"}, wantOut: `"durationSeconds": 0.25`, wantResets: 1},
		{name: "terminal, yes", args: []string{"reset"}, terminal: true, answer: "y\n", wantErr: "This removes 3 resources", wantOut: "removed 3 resources", wantResets: 1},
		{name: "terminal, no", args: []string{"reset"}, terminal: true, answer: "\n", wantErr: "nothing was removed", wantResets: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeReset{}
			srv := httptest.NewServer((&api.Server{Reset: f}).Handler())
			defer srv.Close()
			var stdout, stderr strings.Builder
			e := &env{stdout: &stdout, stderr: &stderr, stdin: strings.NewReader(tc.answer),
				terminal: func(io.Reader) bool { return tc.terminal },
				dial:     func() *api.Client { return api.New(api.Options{BaseURL: srv.URL}) }}
			code := report(&stderr, run(context.Background(), append([]string{"--home", t.TempDir()}, tc.args...), e))
			if code != tc.wantCode || !strings.Contains(stdout.String(), tc.wantOut) || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					code, stdout.String(), stderr.String(), tc.wantCode, tc.wantOut, tc.wantErr)
			}
			if f.n != tc.wantResets {
				t.Errorf("resets = %d, want %d", f.n, tc.wantResets)
			}
			if strings.Contains(strings.Join(tc.args, " "), "json") {
				var r v1.Reset
				if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil || r.Instances != 2 {
					t.Errorf("-o json = %q (%v)", stdout.String(), err)
				}
			}
		})
	}
}
