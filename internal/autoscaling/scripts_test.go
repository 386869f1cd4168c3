package autoscaling

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/logfile"
)

// TestExecScripts runs real hook scripts: output captured and appended
// to the instance's log, a non-zero exit and the timeout are errors, and
// a script that is not executable runs with /bin/sh.
func TestExecScripts(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "logs", "instance.log")
	for _, tc := range []struct {
		name, body string
		mode       os.FileMode
		timeout    time.Duration
		// wantErr is a substring of the error ("" none); deadline asks for
		// context.DeadlineExceeded in its chain.
		wantErr  string
		deadline bool
		wantOut  string
	}{
		{name: "succeeds", body: "#!/bin/sh\necho \"in $(basename \"$PWD\") for $LIFECYCLE_EVENT\"\n", mode: 0o755, timeout: 5 * time.Second, wantOut: "in work for ValidateService"},
		{name: "not executable runs with sh", body: "echo plain\n", mode: 0o644, timeout: 5 * time.Second, wantOut: "plain"},
		{name: "non-zero exit", body: "#!/bin/sh\necho broken >&2\nexit 3\n", mode: 0o755, timeout: 5 * time.Second, wantErr: "exit status 3", wantOut: "broken"},
		{name: "timeout kills the process group", body: "#!/bin/sh\necho waiting\nsleep 30 &\nsleep 30\n", mode: 0o755, timeout: 300 * time.Millisecond,
			wantErr: "timed out after 300ms", deadline: true, wantOut: "waiting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := filepath.Join(dir, "work")
			if err := os.MkdirAll(work, 0o755); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".sh")
			if err := os.WriteFile(p, []byte(tc.body), tc.mode); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			out, err := ExecScripts{}.Run(context.Background(), Script{Path: p, Location: "scripts/x.sh", Dir: work, Timeout: tc.timeout,
				Env: []string{"PATH=" + os.Getenv("PATH"), "LIFECYCLE_EVENT=ValidateService"}, LogPath: logPath, Event: "ValidateService", Deployment: "d-TEST00001"})
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("took %s", took)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			case tc.deadline && !errors.Is(err, context.DeadlineExceeded):
				t.Fatalf("err %v is not a deadline", err)
			}
			if !strings.Contains(string(out), tc.wantOut) {
				t.Fatalf("output %q lacks %q", out, tc.wantOut)
			}
			lines, lerr := logfile.Tail(logPath, 100, time.Time{})
			if lerr != nil {
				t.Fatal(lerr)
			}
			var all []string
			for _, l := range lines {
				all = append(all, l.Text)
			}
			if joined := strings.Join(all, "\n"); !strings.Contains(joined, "deployment d-TEST00001 ValidateService scripts/x.sh: "+tc.wantOut) {
				t.Fatalf("log lacks the output:\n%s", joined)
			}
		})
	}
}
