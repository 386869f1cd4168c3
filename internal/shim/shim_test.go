package shim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

// testShim is a shim started by a test, which plays the daemon on the
// shim's inherited control connection.
type testShim struct {
	cmd    *exec.Cmd
	out    *bytes.Buffer // read only after the shim has exited
	conn   net.Conn
	events chan Event
	done   chan struct{} // closed when the event reader returns
}

// startShim starts the test binary as a shim in its own session, holding
// one end of a control connection (unless c.ControlFD is -1).
func startShim(t *testing.T, c Config, env []string) *testShim {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ts := &testShim{out: &bytes.Buffer{}, events: make(chan Event, 64), done: make(chan struct{})}
	var theirs *os.File
	if c.ControlFD == -1 {
		c.ControlFD = 0
		close(ts.done)
	} else {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		mine := os.NewFile(uintptr(fds[0]), "control")
		theirs = os.NewFile(uintptr(fds[1]), "control")
		defer theirs.Close()
		ts.conn, err = net.FileConn(mine)
		_ = mine.Close()
		if err != nil {
			t.Fatal(err)
		}
		c.ControlFD = 3
		go ts.read(ts.conn)
	}
	cmd := exec.Command(exe, append([]string{"shim"}, c.Args()...)...)
	// A race-enabled binary sleeps a second at exit unless told not to.
	cmd.Env = append([]string{"GORACE=atexit_sleep_ms=0"}, env...)
	cmd.Stdout, cmd.Stderr = ts.out, ts.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if theirs != nil {
		cmd.ExtraFiles = []*os.File{theirs}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ts.cmd = cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
		if ts.conn != nil {
			_ = ts.conn.Close()
		}
		<-ts.done
	})
	return ts
}

// read hands the events on conn to ts.events until conn ends.
func (ts *testShim) read(conn net.Conn) {
	defer close(ts.done)
	dec := json.NewDecoder(conn)
	for {
		var ev Event
		if err := dec.Decode(&ev); err != nil {
			return
		}
		ts.events <- ev
	}
}

// next returns the next event of the given kind, skipping others.
func (ts *testShim) next(t *testing.T, kind EventKind) Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ts.events:
			if ev.Kind == kind {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within 10s", kind)
		}
	}
}

// send writes a command on the control connection.
func (ts *testShim) send(t *testing.T, cmd Command) {
	t.Helper()
	if err := json.NewEncoder(ts.conn).Encode(cmd); err != nil {
		t.Fatalf("send %+v: %v", cmd, err)
	}
}

// wait waits for the shim to exit and returns its exit code.
func (ts *testShim) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- ts.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(limit):
		_ = syscall.Kill(-ts.cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("shim did not exit within %s; output:\n%s", limit, ts.out)
	}
	return ts.cmd.ProcessState.ExitCode()
}

// runShim runs the app once under a shim: it waits for the exit, tells
// the shim to quit and returns the shim's exit code.
func runShim(t *testing.T, c Config, env []string) int {
	t.Helper()
	ts := startShim(t, c, env)
	ts.next(t, EventExited)
	ts.send(t, Command{Op: OpQuit})
	code := ts.wait(t, 10*time.Second)
	if code != 0 {
		t.Logf("shim output:\n%s", ts.out)
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
		{name: "everything", c: Config{StateDir: "/s", Dir: "/w", LogPath: "/l", Log: logfile.Options{MaxBytes: 1024, MaxFiles: 3}, UserData: "/s/user-data.sh", CgroupProcs: []string{"/a/cgroup.procs", "/b/cgroup.procs"}, Fingerprint: "f00d", ControlFD: 3, Argv: []string{"app", "--", "-x"}}},
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
		{name: "standard descriptor as control", args: []string{"--state-dir=/s", "--dir=/w", "--log=/l", "--control-fd=1", "--", "app"}, want: "--control-fd is 1; pass an inherited descriptor of 3 or more"},
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
			c.Fingerprint = "fp-1"
			ts := startShim(t, c, tc.env)
			started := ts.next(t, EventStarted)
			exited := ts.next(t, EventExited)
			pid := ts.cmd.Process.Pid
			time.Sleep(20 * time.Millisecond)
			if !procstat.Alive(pid, started.State.ShimStartTime) {
				t.Errorf("shim exited after its app; want it waiting")
			}
			ts.send(t, Command{Op: OpQuit})
			if code := ts.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("shim exit code %d, want 0; output:\n%s", code, ts.out)
			}
			if conn, err := Dial(c.StateDir, time.Second); err == nil {
				conn.Close()
				t.Errorf("control socket %s still answers after the shim exited", ControlAddress(c.StateDir))
			}
			// The files say what the events said.
			st, err := ReadState(c.StateDir)
			if err != nil {
				t.Fatal(err)
			}
			if st.ShimPID != pid || st.AppPID == 0 || st.PGID != st.AppPID || st.StartedAt.IsZero() || st.ShimStartTime == 0 || st.Run != 1 || st.Fingerprint != "fp-1" {
				t.Errorf("shim.json = %+v, want shimPid %d, an app pid equal to the pgid, start times, run 1, fingerprint fp-1", st, pid)
			}
			if !reflect.DeepEqual(started.State, st) || !reflect.DeepEqual(exited.State, st) {
				t.Errorf("events carry state %+v and %+v, want shim.json's %+v", started.State, exited.State, st)
			}
			ex, err := ReadExit(c.StateDir)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Code != tc.wantCode || ex.Signal != tc.wantSignal || ex.AppPID != st.AppPID || ex.Run != 1 || ex.ExitedAt.Before(st.StartedAt) {
				t.Errorf("exit.json = %+v, want code %d signal %q appPid %d run 1", ex, tc.wantCode, tc.wantSignal, st.AppPID)
			}
			if exited.Exit == nil || *exited.Exit != ex || exited.Final {
				t.Errorf("exited event = %+v, want exit.json's %+v, not final", exited, ex)
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
	ts := startShim(t, c, nil)
	ts.next(t, EventExited)
	ts.send(t, Command{Op: OpQuit})
	if code := ts.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("shim exit code %d; output:\n%s", code, ts.out)
	}
	b, _ := os.ReadFile(good)
	if got, want := string(b), strconv.Itoa(ts.cmd.Process.Pid); got != want {
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

func readPID(t *testing.T, name string) (int, uint64) {
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
	ts := startShim(t, c, nil)
	began := time.Now()
	ts.next(t, EventExited)
	if d := time.Since(began); d > DrainTimeout {
		t.Errorf("the exit took %s to report, want it not to wait for the drain timeout", d)
	}
	ts.send(t, Command{Op: OpQuit})
	if code := ts.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("shim exit code %d; output:\n%s", code, ts.out)
	}
	pid, start := readPID(t, filepath.Join(filepath.Dir(c.Dir), "child.pid"))
	waitGone(t, pid, start)
}

func TestDrainGivesUpOnForeignHolders(t *testing.T) {
	// The grandchild leaves the app's process group but keeps stdout.
	c := testConfig(t, "setsid sh -c 'echo $$ > ../holder.pid; echo holder-up; exec sleep 30' & sleep 0.2; exit 0")
	ts := startShim(t, c, nil)
	began := time.Now()
	ts.next(t, EventExited)
	took := time.Since(began)
	ts.send(t, Command{Op: OpQuit})
	code := ts.wait(t, 10*time.Second)
	pid, start := readPID(t, filepath.Join(filepath.Dir(c.Dir), "holder.pid"))
	defer func() { _ = syscall.Kill(pid, syscall.SIGKILL) }()
	if code != 0 {
		t.Fatalf("shim exit code %d; output:\n%s", code, ts.out)
	}
	if took < DrainTimeout || took > DrainTimeout+2*time.Second {
		t.Errorf("the exit took %s to report, want about %s", took, DrainTimeout)
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
	ts := startShim(t, c, nil)
	cmd := ts.cmd
	if ev := ts.next(t, EventStarting); ev.State.AppPID != 0 {
		t.Errorf("first event %+v, want no app yet", ev)
	}
	// Wait until the user data is running.
	deadline := time.Now().Add(5 * time.Second)
	for !containsLine(logLines(t, c.LogPath), "out ud-begin") {
		if time.Now().After(deadline) {
			t.Fatal("user data did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		st, err := ReadState(c.StateDir)
		if err == nil && st.ShimPID == cmd.Process.Pid && st.AppPID == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim.json during user data = %+v, %v; want shim pid %d and no app", st, err, cmd.Process.Pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := ts.wait(t, 5*time.Second); code != 0 {
		t.Fatalf("shim exit code %d; output:\n%s", code, ts.out)
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
	ts := startShim(t, c, nil)
	if code := ts.wait(t, 10*time.Second); code != 1 {
		t.Fatalf("shim exit code %d, want 1; output:\n%s", code, ts.out)
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

func TestStartAgainInSameShim(t *testing.T) {
	c := testConfig(t, "echo run-output; exit 3")
	ts := startShim(t, c, nil)
	shimPID := ts.cmd.Process.Pid
	var pids []int
	for run := 1; run <= 3; run++ {
		started := ts.next(t, EventStarted)
		exited := ts.next(t, EventExited)
		if started.State.Run != run || started.State.ShimPID != shimPID {
			t.Fatalf("run %d: started %+v, want run %d in shim %d", run, started.State, run, shimPID)
		}
		if exited.Exit == nil || exited.Exit.Run != run || exited.Exit.Code != 3 || exited.Exit.AppPID != started.State.AppPID {
			t.Fatalf("run %d: exited %+v, want run %d code 3 of pid %d", run, exited.Exit, run, started.State.AppPID)
		}
		pids = append(pids, started.State.AppPID)
		if run < 3 {
			ts.send(t, Command{Op: OpStart, Run: run})
		}
	}
	if pids[0] == pids[1] || pids[1] == pids[2] {
		t.Errorf("app pids %v, want a new process each run", pids)
	}
	// A stale start (for an earlier run) is answered, not obeyed.
	ts.send(t, Command{Op: OpStart, Run: 1})
	if ev := ts.next(t, EventExited); ev.State.Run != 3 {
		t.Errorf("answer to a stale start: %+v, want the state of run 3", ev)
	}
	ts.send(t, Command{Op: OpQuit})
	if code := ts.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("shim exit code %d; output:\n%s", code, ts.out)
	}
	st, err := ReadState(c.StateDir)
	if err != nil || st.Run != 3 || st.AppPID != pids[2] {
		t.Errorf("shim.json = %+v, %v; want run 3 with pid %d", st, err, pids[2])
	}
	lines := strings.Join(logLines(t, c.LogPath), "\n")
	if n := strings.Count(lines, "out run-output"); n != 3 {
		t.Errorf("app ran %d times, want 3; log:\n%s", n, lines)
	}
}

func TestControlSocketReplacesConnection(t *testing.T) {
	tests := []struct {
		name    string
		longDir bool
	}{
		{name: "short state dir"},
		// Longer than a socket address holds: reached through /proc/self/fd.
		{name: "long state dir", longDir: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t, "echo up; exec sleep 30")
			if tc.longDir {
				c.StateDir = filepath.Join(c.StateDir, strings.Repeat("d", 60), strings.Repeat("e", 60))
				if err := os.MkdirAll(c.StateDir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			ts := startShim(t, c, nil)
			first := ts.next(t, EventStarted)

			// A second daemon connects: it gets the current state, and the
			// first connection is closed.
			conn, err := Dial(c.StateDir, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := os.Stat(filepath.Join(c.StateDir, SocketFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket file %v; want none (the socket is abstract)", err)
			}
			dec := json.NewDecoder(conn)
			var ev Event
			if err := dec.Decode(&ev); err != nil || ev.Kind != EventStarted || ev.State.AppPID != first.State.AppPID {
				t.Fatalf("first event on the socket = %+v, %v; want started pid %d", ev, err, first.State.AppPID)
			}
			select {
			case <-ts.done:
			case <-time.After(5 * time.Second):
				t.Errorf("first connection still open after a second one")
			}
			// Quit while the app runs: the shim waits for the app.
			if err := json.NewEncoder(conn).Encode(Command{Op: OpQuit}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			if !procstat.Alive(first.State.AppPID, first.State.AppStartTime) || !procstat.Alive(ts.cmd.Process.Pid, first.State.ShimStartTime) {
				t.Fatalf("quit stopped the app or the shim; want both running until the app ends")
			}
			if err := syscall.Kill(first.State.AppPID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if err := dec.Decode(&ev); err != nil || ev.Kind != EventExited || !ev.Final || ev.Exit == nil || ev.Exit.Signal != "SIGKILL" {
				t.Errorf("event after the kill = %+v, %v; want a final exit by SIGKILL (the app is exec'd by sh)", ev, err)
			}
			if code := ts.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("shim exit code %d; output:\n%s", code, ts.out)
			}
		})
	}
}

func TestShimQuits(t *testing.T) {
	tests := []struct {
		name string
		// quit tells the shim to quit while its app runs.
		quit func(t *testing.T, c Config, ts *testShim)
	}{
		{name: "SIGTERM", quit: func(t *testing.T, c Config, ts *testShim) {
			_ = syscall.Kill(ts.cmd.Process.Pid, syscall.SIGTERM)
		}},
		{name: "stop file", quit: func(t *testing.T, c Config, ts *testShim) {
			if err := os.WriteFile(filepath.Join(c.StateDir, StopFile), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "quit command", quit: func(t *testing.T, c Config, ts *testShim) {
			ts.send(t, Command{Op: OpQuit})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t, "exec sleep 30")
			ts := startShim(t, c, nil)
			started := ts.next(t, EventStarted)
			tc.quit(t, c, ts)
			time.Sleep(20 * time.Millisecond)
			if !procstat.Alive(started.State.AppPID, started.State.AppStartTime) {
				t.Fatalf("the app died when the shim was told to quit")
			}
			_ = syscall.Kill(started.State.AppPID, syscall.SIGTERM)
			if ev := ts.next(t, EventExited); !ev.Final {
				t.Errorf("exited event %+v, want final", ev)
			}
			if code := ts.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("shim exit code %d; output:\n%s", code, ts.out)
			}
		})
	}
	t.Run("SIGTERM between runs", func(t *testing.T) {
		c := testConfig(t, "exit 0")
		ts := startShim(t, c, nil)
		ts.next(t, EventExited)
		_ = syscall.Kill(ts.cmd.Process.Pid, syscall.SIGTERM)
		if code := ts.wait(t, 10*time.Second); code != 0 {
			t.Fatalf("shim exit code %d; output:\n%s", code, ts.out)
		}
	})
	t.Run("without a daemon the shim waits", func(t *testing.T) {
		c := testConfig(t, "exit 0")
		c.ControlFD = -1
		ts := startShim(t, c, nil)
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := ReadExit(c.StateDir); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no exit.json")
			}
			time.Sleep(5 * time.Millisecond)
		}
		conn, err := Dial(c.StateDir, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var ev Event
		if err := json.NewDecoder(conn).Decode(&ev); err != nil || ev.Kind != EventExited || ev.Exit == nil || ev.Exit.Code != 0 {
			t.Fatalf("event = %+v, %v; want the recorded exit", ev, err)
		}
		if err := json.NewEncoder(conn).Encode(Command{Op: OpQuit}); err != nil {
			t.Fatal(err)
		}
		if code := ts.wait(t, 10*time.Second); code != 0 {
			t.Fatalf("shim exit code %d; output:\n%s", code, ts.out)
		}
	})
}

func TestRecorderWritesLatestInOrder(t *testing.T) {
	dir := t.TempDir()
	var errs []error
	r := newRecorder(dir, func(err error) { errs = append(errs, err) })
	for run := 1; run <= 3; run++ {
		r.record(StateFile, State{ShimPID: 7, Run: run})
		r.record(ExitFile, ExitStatus{AppPID: 100 + run, Run: run})
	}
	// Nothing is written before recordDelay has passed.
	if _, err := ReadState(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("shim.json right after recording: %v, want it not yet written", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := ReadState(dir)
		if err == nil && st.Run == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim.json = %+v, %v; want run 3 after recordDelay", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.record(ExitFile, ExitStatus{AppPID: 104, Run: 4})
	r.close() // writes what is pending at once
	ex, err := ReadExit(dir)
	if err != nil || ex.Run != 4 || ex.AppPID != 104 {
		t.Errorf("exit.json = %+v, %v; want run 4 written by close", ex, err)
	}
	if len(errs) > 0 {
		t.Errorf("write errors: %v", errs)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}
