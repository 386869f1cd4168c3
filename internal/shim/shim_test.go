package shim

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/procstat"
)

// TestMain lets the test binary act as the shim: `<test binary> shim …`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "shim" {
		os.Exit(Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// testConfig returns a config with fresh directories running script.
func testConfig(t *testing.T, script string) Config {
	t.Helper()
	root := t.TempDir()
	c := Config{
		StateDir: filepath.Join(root, "state"),
		Dir:      filepath.Join(root, "app"),
		LogPath:  filepath.Join(root, "logs", "instance.log"),
		Argv:     []string{"/bin/sh", "-c", script},
	}
	for _, d := range []string{c.StateDir, c.Dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// startShim starts the test binary as a shim in its own session.
func startShim(t *testing.T, c Config, env []string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"shim"}, c.Args()...)...)
	// A race-enabled binary sleeps a second at exit unless told not to.
	cmd.Env = append([]string{"GORACE=atexit_sleep_ms=0"}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// waitShim waits for a shim to exit and returns its exit code.
func waitShim(t *testing.T, cmd *exec.Cmd, out *bytes.Buffer, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(limit):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("shim did not exit within %s; output:\n%s", limit, out)
	}
	return cmd.ProcessState.ExitCode()
}

func runShim(t *testing.T, c Config, env []string) int {
	t.Helper()
	cmd, out := startShim(t, c, env)
	code := waitShim(t, cmd, out, 10*time.Second)
	if code != 0 {
		t.Logf("shim output:\n%s", out)
	}
	return code
}

func logLines(t *testing.T, path string) []string {
	t.Helper()
	lines, err := logfile.Tail(path, 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Stream + " " + l.Text
	}
	return out
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

func TestArgsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		c    Config
	}{
		{name: "minimal", c: Config{StateDir: "/s", Dir: "/w", LogPath: "/l/i.log", Argv: []string{"/bin/sh", "-c", "./app --port 3000"}}},
		{name: "everything", c: Config{StateDir: "/s", Dir: "/w", LogPath: "/l", Log: logfile.Options{MaxBytes: 1024, MaxFiles: 3}, UserData: "/s/user-data.sh", CgroupProcs: []string{"/a/cgroup.procs", "/b/cgroup.procs"}, Argv: []string{"app", "--", "-x"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseArgs(tc.c.Args())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.c) {
				t.Errorf("ParseArgs(Args()) = %+v, want %+v", got, tc.c)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no state dir", args: []string{"--dir=/w", "--log=/l", "--", "app"}, want: "--state-dir is missing"},
		{name: "no dir", args: []string{"--state-dir=/s", "--log=/l", "--", "app"}, want: "--dir is missing"},
		{name: "no log", args: []string{"--state-dir=/s", "--dir=/w", "--", "app"}, want: "--log is missing"},
		{name: "no command", args: []string{"--state-dir=/s", "--dir=/w", "--log=/l"}, want: "command is missing"},
		{name: "negative size", args: []string{"--state-dir=/s", "--dir=/w", "--log=/l", "--log-max-bytes=-5", "--", "app"}, want: "--log-max-bytes is negative (got -5)"},
		{name: "unknown flag", args: []string{"--bogus", "--", "app"}, want: "flag provided but not defined: -bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseArgs(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseArgs error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("Main exits 2", func(t *testing.T) {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(exe, "shim", "--dir=/w").CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--state-dir is missing") {
			t.Errorf("shim with bad args: %v, output %q; want exit code 2 naming --state-dir", err, out)
		}
	})
}

func TestRunRecordsExit(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		env        []string
		wantCode   int
		wantSignal string
		wantLines  []string
	}{
		{
			name:      "exit code and both streams",
			script:    "echo to-out; echo to-err >&2; printf no-newline; exit 3",
			wantCode:  3,
			wantLines: []string{"sys started pid ", "out to-out", "err to-err", "out no-newline", "sys exited with code 3 after "},
		},
		{
			name:       "killed by signal",
			script:     "kill -9 $$",
			wantCode:   -1,
			wantSignal: "SIGKILL",
			wantLines:  []string{"sys killed by SIGKILL after "},
		},
		{
			name:      "environment passed through",
			script:    "echo greeting=$GREETING",
			env:       []string{"GREETING=annyeong", "PATH=/usr/bin:/bin"},
			wantCode:  0,
			wantLines: []string{"out greeting=annyeong", "sys exited with code 0"},
		},
		{
			name:      "working directory",
			script:    "pwd",
			wantCode:  0,
			wantLines: []string{"/app"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t, tc.script)
			cmd, out := startShim(t, c, tc.env)
			if code := waitShim(t, cmd, out, 10*time.Second); code != 0 {
				t.Fatalf("shim exit code %d, want 0; output:\n%s", code, out)
			}
			st, err := ReadState(c.StateDir)
			if err != nil {
				t.Fatal(err)
			}
			if st.ShimPID != cmd.Process.Pid || st.AppPID == 0 || st.PGID != st.AppPID || st.StartedAt.IsZero() || st.ShimStartTime == 0 {
				t.Errorf("shim.json = %+v, want shimPid %d, an app pid equal to the pgid, start times", st, cmd.Process.Pid)
			}
			ex, err := ReadExit(c.StateDir)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Code != tc.wantCode || ex.Signal != tc.wantSignal || ex.AppPID != st.AppPID || ex.ExitedAt.Before(st.StartedAt) {
				t.Errorf("exit.json = %+v, want code %d signal %q appPid %d", ex, tc.wantCode, tc.wantSignal, st.AppPID)
			}
			lines := logLines(t, c.LogPath)
			for _, want := range tc.wantLines {
				if !containsLine(lines, want) {
					t.Errorf("log lacks %q; log:\n%s", want, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

func TestUserDataRunsOnce(t *testing.T) {
	tests := []struct {
		name     string
		userData string
		wantCode int
	}{
		{name: "success", userData: "echo ud-out; echo ud-err >&2; echo ran >> ../count", wantCode: 0},
		{name: "failure still runs once", userData: "echo ran >> ../count; exit 5", wantCode: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t, "echo app-ran")
			c.UserData = filepath.Join(c.StateDir, UserDataScript)
			if err := os.WriteFile(c.UserData, []byte(tc.userData), 0o700); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if code := runShim(t, c, nil); code != 0 {
					t.Fatalf("run %d: shim exit code %d", i, code)
				}
			}
			b, err := os.ReadFile(filepath.Join(filepath.Dir(c.Dir), "count"))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(b), "ran\n"); n != 1 {
				t.Errorf("user data ran %d times, want 1", n)
			}
			if _, err := os.Stat(filepath.Join(c.StateDir, UserDataDone)); err != nil {
				t.Errorf("marker: %v", err)
			}
			lines := logLines(t, c.LogPath)
			want := []string{"sys user data started", "sys user data exited with code " + strconv.Itoa(tc.wantCode)}
			if tc.wantCode == 0 {
				want = append(want, "out ud-out", "err ud-err")
			}
			for _, w := range want {
				if !containsLine(lines, w) {
					t.Errorf("log lacks %q; log:\n%s", w, strings.Join(lines, "\n"))
				}
			}
			if n := strings.Count(strings.Join(lines, "\n"), "out app-ran"); n != 3 {
				t.Errorf("app ran %d times, want 3", n)
			}
		})
	}
}

func TestCgroupProcs(t *testing.T) {
	c := testConfig(t, "true")
	good := filepath.Join(t.TempDir(), "cgroup.procs")
	if err := os.WriteFile(good, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.CgroupProcs = []string{good, filepath.Join(t.TempDir(), "missing", "cgroup.procs")}
	cmd, out := startShim(t, c, nil)
	if code := waitShim(t, cmd, out, 10*time.Second); code != 0 {
		t.Fatalf("shim exit code %d; output:\n%s", code, out)
	}
	b, _ := os.ReadFile(good)
	if got, want := string(b), strconv.Itoa(cmd.Process.Pid); got != want {
		t.Errorf("cgroup.procs = %q, want the shim pid %s", got, want)
	}
	lines := logLines(t, c.LogPath)
	if !containsLine(lines, "sys could not join cgroup") || !containsLine(lines, "sys exited with code 0") {
		t.Errorf("want a cgroup note and a normal run; log:\n%s", strings.Join(lines, "\n"))
	}
}

func waitGone(t *testing.T, pid int, start uint64) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for procstat.Alive(pid, start) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pid %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPid(t *testing.T, name string) (int, uint64) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	start, _ := procstat.StartTime(pid)
	return pid, start
}

func TestLeftoversInGroupAreKilled(t *testing.T) {
	c := testConfig(t, "sleep 30 & echo $! > ../child.pid; exit 0")
	cmd, out := startShim(t, c, nil)
	began := time.Now()
	if code := waitShim(t, cmd, out, 10*time.Second); code != 0 {
		t.Fatalf("shim exit code %d; output:\n%s", code, out)
	}
	if d := time.Since(began); d > DrainTimeout {
		t.Errorf("shim took %s, want it not to wait for the drain timeout", d)
	}
	pid, start := readPid(t, filepath.Join(filepath.Dir(c.Dir), "child.pid"))
	waitGone(t, pid, start)
}

func TestDrainGivesUpOnForeignHolders(t *testing.T) {
	// The grandchild leaves the app's process group but keeps stdout.
	c := testConfig(t, "setsid sh -c 'echo $$ > ../holder.pid; echo holder-up; exec sleep 30' & sleep 0.2; exit 0")
	cmd, out := startShim(t, c, nil)
	began := time.Now()
	code := waitShim(t, cmd, out, 10*time.Second)
	pid, start := readPid(t, filepath.Join(filepath.Dir(c.Dir), "holder.pid"))
	defer func() { _ = syscall.Kill(pid, syscall.SIGKILL) }()
	if code != 0 {
		t.Fatalf("shim exit code %d; output:\n%s", code, out)
	}
	if d := time.Since(began); d > DrainTimeout+2*time.Second {
		t.Errorf("shim took %s, want about %s", d, DrainTimeout)
	}
	if !procstat.Alive(pid, start) {
		t.Errorf("holder outside the group was killed, want it left alone")
	}
	lines := logLines(t, c.LogPath)
	if !containsLine(lines, "out holder-up") {
		t.Errorf("log lacks the holder's output; log:\n%s", strings.Join(lines, "\n"))
	}
	if _, err := ReadExit(c.StateDir); err != nil {
		t.Errorf("exit.json: %v", err)
	}
}

func TestStopDuringUserData(t *testing.T) {
	c := testConfig(t, "echo app-ran")
	c.UserData = filepath.Join(c.StateDir, UserDataScript)
	if err := os.WriteFile(c.UserData, []byte("echo ud-begin; sleep 30; echo ud-end"), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd, out := startShim(t, c, nil)
	// Wait until the user data is running.
	deadline := time.Now().Add(5 * time.Second)
	for !containsLine(logLines(t, c.LogPath), "out ud-begin") {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("user data did not start; output:\n%s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err := ReadState(c.StateDir)
	if err != nil || st.ShimPID != cmd.Process.Pid || st.AppPID != 0 {
		t.Fatalf("shim.json during user data = %+v, %v; want shim pid %d and no app", st, err, cmd.Process.Pid)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitShim(t, cmd, out, 5*time.Second); code != 0 {
		t.Fatalf("shim exit code %d; output:\n%s", code, out)
	}
	lines := logLines(t, c.LogPath)
	if containsLine(lines, "app-ran") || containsLine(lines, "ud-end") {
		t.Errorf("app or rest of user data ran after stop; log:\n%s", strings.Join(lines, "\n"))
	}
	if !containsLine(lines, "sys stop requested before the app started") {
		t.Errorf("log lacks the stop note; log:\n%s", strings.Join(lines, "\n"))
	}
}

func TestStartFailure(t *testing.T) {
	c := testConfig(t, "true")
	c.Argv = []string{filepath.Join(c.Dir, "no-such-binary")}
	cmd, out := startShim(t, c, nil)
	if code := waitShim(t, cmd, out, 10*time.Second); code != 1 {
		t.Fatalf("shim exit code %d, want 1; output:\n%s", code, out)
	}
	ex, err := ReadExit(c.StateDir)
	if err != nil || ex.Code != -1 {
		t.Errorf("exit.json = %+v, %v; want code -1", ex, err)
	}
	if lines := logLines(t, c.LogPath); !containsLine(lines, "sys could not start") {
		t.Errorf("log lacks the start failure; log:\n%s", strings.Join(lines, "\n"))
	}
}

func TestAppGetsDefaultSignals(t *testing.T) {
	// The shim handles SIGTERM itself; the app must still die of it.
	c := testConfig(t, "kill -TERM $$; sleep 5")
	if code := runShim(t, c, nil); code != 0 {
		t.Fatalf("shim exit code %d", code)
	}
	ex, err := ReadExit(c.StateDir)
	if err != nil || ex.Signal != "SIGTERM" {
		t.Errorf("exit.json = %+v, %v; want killed by SIGTERM", ex, err)
	}
}
