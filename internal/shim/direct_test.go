package shim

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDirectCommand(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		argv []string
		want []string // the direct command's Args; nil: the shell runs it
	}{
		{name: "relative program", argv: []string{"/bin/sh", "-c", "exec ./hello"}, want: []string{"./hello"}},
		{name: "arguments", argv: []string{"/bin/sh", "-c", "exec ./app --port=3000 -v a,b x:y@z%1+2"}, want: []string{"./app", "--port=3000", "-v", "a,b", "x:y@z%1+2"}},
		{name: "looked up in PATH", argv: []string{"/bin/sh", "-c", "exec sh -x"}, want: []string{"sh", "-x"}},
		{name: "tabs and spaces", argv: []string{"/bin/sh", "-c", "exec \t./a  b"}, want: []string{"./a", "b"}},
		{name: "not in PATH", argv: []string{"/bin/sh", "-c", "exec no-such-program-here"}},
		{name: "variable", argv: []string{"/bin/sh", "-c", "exec ./app $PORT"}},
		{name: "quotes", argv: []string{"/bin/sh", "-c", "exec './my app'"}},
		{name: "glob", argv: []string{"/bin/sh", "-c", "exec ./app *.conf"}},
		{name: "tilde", argv: []string{"/bin/sh", "-c", "exec ~/app"}},
		{name: "redirection", argv: []string{"/bin/sh", "-c", "exec ./app >out"}},
		{name: "comment", argv: []string{"/bin/sh", "-c", "exec ./app #x"}},
		{name: "braces", argv: []string{"/bin/sh", "-c", "exec ./app {a,b}"}},
		{name: "assignment as the program", argv: []string{"/bin/sh", "-c", "exec A=1 ./app"}},
		{name: "two lines", argv: []string{"/bin/sh", "-c", "exec ./app\n./other"}},
		{name: "without exec", argv: []string{"/bin/sh", "-c", "./app"}},
		{name: "exec alone", argv: []string{"/bin/sh", "-c", "exec "}},
		{name: "not the shell", argv: []string{"./app"}},
		{name: "another shell", argv: []string{"/bin/bash", "-c", "exec ./app"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, ok := directCommand(tc.argv, dir, os.Environ())
			if tc.want == nil {
				if ok {
					t.Fatalf("directCommand(%q) = %q, want the shell to run it", tc.argv, cmd.Args)
				}
				return
			}
			if !ok {
				t.Fatalf("directCommand(%q) = not ok, want %q", tc.argv, tc.want)
			}
			if !slices.Equal(cmd.Args, tc.want) {
				t.Errorf("Args = %q, want %q", cmd.Args, tc.want)
			}
			if n := countPWD(cmd.Env, dir); n != 1 {
				t.Errorf("env has %d PWD=%s entries, want exactly 1: %q", n, dir, cmd.Env)
			}
		})
	}
}

func countPWD(env []string, dir string) int {
	n := 0
	for _, kv := range env {
		if strings.HasPrefix(kv, "PWD=") {
			if kv != "PWD="+dir {
				return -1
			}
			n++
		}
	}
	return n
}

// TestDirectStartAsTheShell runs commands under a shim that the shim
// starts without the shell, or with it after a direct start failed, and
// checks that the app sees and does what the shell would have had it.
func TestDirectStartAsTheShell(t *testing.T) {
	tests := []struct {
		name      string
		command   string
		setup     func(t *testing.T, dir string)
		wantCode  int
		wantLines func(dir string) []string
	}{
		{
			name:     "direct: environment and PWD",
			command:  "exec env",
			wantCode: 0,
			wantLines: func(dir string) []string {
				return []string{"out GREETING=annyeong", "out PWD=" + dir}
			},
		},
		{
			name:      "direct: arguments",
			command:   "exec echo a,b --c=d",
			wantCode:  0,
			wantLines: func(string) []string { return []string{"out a,b --c=d"} },
		},
		{
			name:      "shell after all: no such program",
			command:   "exec ./no-such-program",
			wantCode:  127,
			wantLines: func(string) []string { return []string{"not found", "sys exited with code 127"} },
		},
		{
			name:    "shell after all: a script without #!",
			command: "exec ./script",
			setup: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "script"), []byte("echo from-the-script\nexit 4\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantCode:  4,
			wantLines: func(string) []string { return []string{"out from-the-script", "sys exited with code 4"} },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t, tc.command)
			dir, err := filepath.EvalSymlinks(c.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(t, c.Dir)
			}
			ts := startShim(t, c, []string{"GREETING=annyeong", "PATH=/usr/bin:/bin", "PWD=/somewhere/else"})
			ex := ts.next(t, EventExited)
			ts.send(t, Command{Op: OpQuit})
			if code := ts.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("shim exit code %d, want 0; output:\n%s", code, ts.out)
			}
			if ex.Exit == nil || ex.Exit.Code != tc.wantCode {
				t.Errorf("exit %+v, want code %d", ex.Exit, tc.wantCode)
			}
			lines := logLines(t, c.LogPath)
			for _, want := range tc.wantLines(dir) {
				if !containsLine(lines, want) {
					t.Errorf("log lacks %q; log:\n%s", want, strings.Join(lines, "\n"))
				}
			}
		})
	}
}
