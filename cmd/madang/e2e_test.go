package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests build the madang binary and drive it as a user would:
// `madang up` on a stack file, the CLI against the running daemon,
// kill -9 of instances and of the daemon.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "madang-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "madang")
	out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build madang: %v\n%s", err, out)
		os.Exit(1)
	}
	// Every daemon a test starts serves its AWS endpoint on a free port, so
	// the tests pass beside a user's own madang on 127.0.0.1:4566.
	os.Setenv("MADANG_AWS_LISTEN", "127.0.0.1:0")
	os.Setenv("MADANG_CONSOLE_LISTEN", "127.0.0.1:0")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stackFile writes a stack like the quickstart's into dir, with the app
// already built (so the test does not depend on the build step's speed).
func stackFile(t *testing.T, dir string, port int) string {
	t.Helper()
	buildSampleApp(t, dir)
	y := fmt.Sprintf(`name: e2e
images:
  - name: hello
    source: ./app
    command: ./hello
    port: 3000
launchTemplates:
  - name: hello
    image: hello
    env: {GREETING: Hi}
    userData: echo first-boot-marker
    supervision:
      killTimeout: 2s
instances:
  - name: web
    launchTemplate: hello
    count: 2
targetGroups:
  - name: web
    port: 3000
    healthCheck: {path: /health, intervalSeconds: 5, timeoutSeconds: 2, healthyThresholdCount: 2, unhealthyThresholdCount: 2}
    attributes: {deregistration_delay.timeout_seconds: 1}
    targets:
      - instances: web
loadBalancers:
  - name: web
    listeners:
      - port: %d
        defaultActions: [{type: forward, targetGroup: web}]
`, port)
	p := filepath.Join(dir, "madang.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// buildSampleApp builds the quickstart's app into dir/app/hello, unless it
// is there already.
func buildSampleApp(t *testing.T, dir string) {
	t.Helper()
	app := filepath.Join(dir, "app")
	if _, err := os.Stat(filepath.Join(app, "hello")); err == nil {
		return
	}
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	src, _ := filepath.Abs("../../examples/quickstart/app")
	if out, err := exec.Command("go", "build", "-C", src, "-o", filepath.Join(app, "hello"), ".").CombinedOutput(); err != nil {
		t.Fatalf("build sample app: %v\n%s", err, out)
	}
}

type runner struct {
	t    *testing.T
	home string
}

func (c runner) run(args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "MADANG_HOME="+c.home, "GORACE=atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c runner) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("madang %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

type psRow struct {
	ID       string            `json:"id"`
	Group    string            `json:"group"`
	State    string            `json:"state"`
	PID      int               `json:"pid"`
	Restarts int               `json:"restarts"`
	IP       string            `json:"privateIp"`
	Port     int               `json:"port"`
	Resolved int               `json:"resolvedVersion"`
	Tags     map[string]string `json:"tags"`
}

func (c runner) ps() []psRow {
	c.t.Helper()
	var rows []psRow
	if err := json.Unmarshal([]byte(c.must("ps", "-o", "json")), &rows); err != nil {
		c.t.Fatalf("ps -o json: %v", err)
	}
	return rows
}

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func get(url string) (string, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

func TestUpPsKillAndReadopt(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	port := freePort(t)
	file := stackFile(t, dir, port)
	c := runner{t: t, home: home}

	// madang up: daemon in the foreground, apply, wait, print endpoints.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	up := exec.CommandContext(ctx, binary, "up", "-f", file)
	up.Env = append(os.Environ(), "MADANG_HOME="+home, "GORACE=atexit_sleep_ms=0")
	up.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var upOut bytes.Buffer
	pr, pw := io.Pipe()
	mw := io.MultiWriter(&upOut, pw)
	up.Stdout, up.Stderr = mw, mw
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	deadline := time.After(90 * time.Second)
	for ready := false; !ready; {
		select {
		case l := <-lines:
			ready = strings.Contains(l, "streaming events")
		case <-deadline:
			t.Fatalf("madang up did not become ready:\n%s", upOut.String())
		}
	}

	rows := c.ps()
	if len(rows) != 2 {
		t.Fatalf("ps: got %d instances, want 2: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if r.State != "running" || r.PID == 0 || !strings.HasPrefix(r.IP, "127.") {
			t.Fatalf("instance not running on a loopback address: %+v", r)
		}
		body, err := get(fmt.Sprintf("http://%s:%d/", r.IP, r.Port))
		if err != nil || !strings.Contains(body, r.ID) {
			t.Fatalf("instance %s answers %q, %v; want its id", r.ID, body, err)
		}
	}
	table := c.must("ps")
	if !strings.Contains(table, rows[0].ID) || !strings.Contains(table, "RESTARTS") {
		t.Fatalf("ps table:\n%s", table)
	}

	// The load balancer answers with both instance ids.
	seen := map[string]bool{}
	eventually(t, "both instances behind the load balancer", 20*time.Second, func() bool {
		body, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			for _, r := range rows {
				if strings.Contains(body, r.ID) {
					seen[r.ID] = true
				}
			}
		}
		return len(seen) == 2
	})

	// kill -9 of an instance: back to running with a new pid, restart counted.
	victim := rows[0]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the killed instance to run again", 10*time.Second, func() bool {
		for _, r := range c.ps() {
			if r.ID == victim.ID {
				return r.State == "running" && r.PID != victim.PID && r.Restarts >= 1
			}
		}
		return false
	})

	// describe shows user data ran once, in the log.
	logs := c.must("logs", victim.ID, "-n", "0")
	if n := strings.Count(logs, "first-boot-marker"); n != 1 {
		t.Fatalf("user data output %d times in the log, want once:\n%s", n, logs)
	}

	// kill -9 of the daemon: instances keep their pids; a new daemon re-adopts them.
	before := map[string]int{}
	for _, r := range c.ps() {
		before[r.ID] = r.PID
	}
	if err := syscall.Kill(-up.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = up.Wait()
	for id, pid := range before {
		if syscall.Kill(pid, 0) != nil {
			t.Fatalf("instance %s (pid %d) died with the daemon", id, pid)
		}
	}
	srv := exec.Command(binary, "server")
	srv.Env = append(os.Environ(), "MADANG_HOME="+home, "GORACE=atexit_sleep_ms=0")
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	}()
	eventually(t, "the new daemon to answer", 10*time.Second, func() bool {
		_, err := c.run("ps")
		return err == nil
	})
	after := c.ps()
	for _, r := range after {
		if before[r.ID] != r.PID || r.State != "running" {
			t.Fatalf("after re-adoption %s: pid %d state %s, want pid %d running\n%s", r.ID, r.PID, r.State, before[r.ID], srvOut.String())
		}
	}
	if _, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil {
		t.Fatalf("load balancer after daemon restart: %v", err)
	}

	// Stopping an instance under load fails no request: the load balancer
	// takes it out of rotation before its process gets the stop signal.
	stop := make(chan struct{})
	var failures, oks atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 5000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil {
					failures.Add(1)
				} else {
					oks.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	c.must("stop", after[0].ID)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed while an instance stopped", f, f+oks.Load())
	}
	if out := c.must("tg", "health", "web"); !strings.Contains(out, "Target.InvalidState") {
		t.Fatalf("stopped instance's target should be unused (Target.InvalidState):\n%s", out)
	}

	// terminate everything: no orphan processes.
	c.must("destroy", "-f", file)
	eventually(t, "instances to be terminated", 20*time.Second, func() bool {
		for _, r := range c.ps() {
			if r.State != "terminated" {
				return false
			}
		}
		return true
	})
	for id, pid := range before {
		eventually(t, "process of "+id+" to be gone", 5*time.Second, func() bool { return syscall.Kill(pid, 0) != nil })
	}
}

func TestBadInputExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("images:\n  - name: x\n    sourc: ./nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
		code int
	}{
		{name: "unknown command", args: []string{"frobnicate"}, want: "unknown command", code: 2},
		{name: "bad output format", args: []string{"ps", "-o", "yaml"}, want: "not a format", code: 2},
		{name: "no daemon", args: []string{"ps"}, want: "no madang daemon is running", code: 1},
		{name: "missing stack file", args: []string{"up", "-f", filepath.Join(dir, "missing.yaml")}, want: "does not exist", code: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.run(tc.args...)
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != tc.code {
				t.Fatalf("exit: got %v, want code %d\n%s", err, tc.code, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("output %q does not contain %q", out, tc.want)
			}
		})
	}
	// A bad stack file is refused by `up` before anything starts.
	out, err := c.run("up", "-f", bad)
	if err == nil || !strings.Contains(out, "bad.yaml:3") || !strings.Contains(out, "sourc") {
		t.Fatalf("up with a bad file: %v\n%s", err, out)
	}
}

// startServer runs `madang server` for the test's lifetime.
// startServer starts `madang server` with args on c's home; the daemon
// stops when the test ends.
func startServer(t *testing.T, c runner, args ...string) {
	t.Helper()
	srv := exec.Command(binary, append([]string{"server"}, args...)...)
	srv.Env = append(os.Environ(), "MADANG_HOME="+c.home, "GORACE=atexit_sleep_ms=0")
	var out bytes.Buffer
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
		if t.Failed() {
			t.Logf("daemon output:\n%s", out.String())
			if b, err := os.ReadFile(filepath.Join(c.home, "shimhost.log")); err == nil {
				t.Logf("shim host log:\n%s", b)
			}
		}
	})
	eventually(t, "the daemon to answer", 30*time.Second, func() bool {
		_, err := c.run("ps")
		return err == nil
	})
}

func TestLifecycleAndCrashLoop(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	buildSampleApp(t, dir)
	file := filepath.Join(dir, "madang.yaml")
	if err := os.WriteFile(file, []byte(`name: life
images:
  - name: hello
    source: ./app
    command: ./hello
    port: 3000
  - name: crasher
    source: ./app
    command: echo boom-before-exit; exit 3
    port: 3000
launchTemplates:
  - name: hello
    image: hello
    supervision: {killTimeout: 2s}
  - name: crasher
    image: crasher
    supervision: {maxRestarts: 2, backoffInitial: 50ms}
instances:
  - name: one
    launchTemplate: hello
  - name: crash
    launchTemplate: crasher
`), 0o644); err != nil {
		t.Fatal(err)
	}
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)

	find := func(group string) psRow {
		for _, r := range c.ps() {
			if r.Group == group && r.State != "terminated" {
				return r
			}
		}
		return psRow{}
	}
	eventually(t, "instance one running", 20*time.Second, func() bool { return find("one").State == "running" })
	one := find("one")

	// A crash-looping app ends errored, with its exit code and last
	// output in describe.
	eventually(t, "crasher errored", 20*time.Second, func() bool {
		out, _ := c.run("describe", "crash")
		return strings.Contains(out, "errored")
	})
	desc := c.must("describe", "crash")
	for _, want := range []string{"exit code 3", "boom-before-exit"} {
		if !strings.Contains(desc, want) {
			t.Errorf("describe crash does not show %q:\n%s", want, desc)
		}
	}

	// stop: the process is gone, the address kept.
	c.must("stop", one.ID)
	if r := find("one"); r.State != "stopped" || r.PID != 0 || r.IP != one.IP {
		t.Fatalf("after stop: %+v", r)
	}
	if syscall.Kill(one.PID, 0) == nil {
		t.Fatalf("pid %d still alive after stop", one.PID)
	}
	// start: running again on the same address.
	c.must("start", one.ID)
	started := find("one")
	if started.State != "running" || started.IP != one.IP || started.PID == one.PID {
		t.Fatalf("after start: %+v (before %+v)", started, one)
	}
	// reboot: same instance, new process.
	c.must("reboot", one.ID)
	rebooted := find("one")
	if rebooted.ID != one.ID || rebooted.State != "running" || rebooted.PID == started.PID {
		t.Fatalf("after reboot: %+v (before %+v)", rebooted, started)
	}
	// git pull && madang restart: the source changed but was not built;
	// the restart says so and names the command that builds it.
	if err := os.WriteFile(filepath.Join(dir, "app", "CHANGES"), []byte("new code\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := c.must("restart", one.ID)
	for _, want := range []string{"warning: " + one.ID + ": the source of image hello", "madang apply -f " + file} {
		if !strings.Contains(out, want) {
			t.Errorf("restart after the source changed does not say %q:\n%s", want, out)
		}
	}
	rebooted = find("one")
	// terminate: gone for good, no orphan left.
	c.must("terminate", one.ID)
	eventually(t, "terminated pid to exit", 5*time.Second, func() bool { return syscall.Kill(rebooted.PID, 0) != nil })
	if out, err := c.run("start", one.ID); err == nil || !strings.Contains(out, "terminated") {
		t.Fatalf("start of a terminated instance: %v\n%s", err, out)
	}
	// Unknown instances are a clear error.
	if out, err := c.run("describe", "i-0000000000000000"); err == nil || !strings.Contains(out, "no instance") {
		t.Fatalf("describe unknown: %v\n%s", err, out)
	}
}

// TestRestoreAfterMachineReboot kills the daemon, the shims and the apps
// at once (what a reboot does) and checks that the next `madang server`
// starts again what was running.
func TestRestoreAfterMachineReboot(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	file := stackFile(t, dir, freePort(t))
	srv := exec.Command(binary, "server")
	srv.Env = append(os.Environ(), "MADANG_HOME="+c.home, "GORACE=atexit_sleep_ms=0")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the daemon to answer", 30*time.Second, func() bool { _, err := c.run("ps"); return err == nil })
	c.must("apply", "-f", file)
	eventually(t, "two running instances", 20*time.Second, func() bool {
		rows := c.ps()
		return len(rows) == 2 && rows[0].State == "running" && rows[1].State == "running"
	})
	before := c.ps()

	// "Reboot": everything dies at once.
	_ = srv.Process.Kill()
	_ = srv.Wait()
	for _, r := range before {
		b, err := os.ReadFile(filepath.Join(c.home, "instances", r.ID, "state", "shim.json"))
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			ShimPID int `json:"shimPid"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		_ = syscall.Kill(st.ShimPID, syscall.SIGKILL)
		_ = syscall.Kill(r.PID, syscall.SIGKILL)
	}
	for _, r := range before {
		eventually(t, "app to die", 5*time.Second, func() bool { return syscall.Kill(r.PID, 0) != nil })
	}

	startServer(t, c)
	eventually(t, "instances restored", 20*time.Second, func() bool {
		rows := c.ps()
		if len(rows) != 2 {
			return false
		}
		for _, r := range rows {
			if r.State != "running" {
				return false
			}
		}
		return true
	})
	for _, r := range c.ps() {
		for _, b := range before {
			if r.ID == b.ID && (r.PID == b.PID || r.IP != b.IP) {
				t.Fatalf("restored %s: pid %d ip %s (before pid %d ip %s)", r.ID, r.PID, r.IP, b.PID, b.IP)
			}
			if r.ID == b.ID && r.Restarts != b.Restarts {
				t.Errorf("restored %s: %d restarts, was %d (a restore is not a restart)", r.ID, r.Restarts, b.Restarts)
			}
		}
	}
	c.must("destroy", "-f", file)
}

func TestStartupPrintsSystemdUnit(t *testing.T) {
	c := runner{t: t, home: t.TempDir()}
	out := c.must("startup")
	for _, want := range []string{"ExecStart=", " server", "KillMode=process", "MADANG_HOME=" + c.home, "WantedBy=multi-user.target"} {
		if !strings.Contains(out, want) {
			t.Errorf("unit lacks %q:\n%s", want, out)
		}
	}
}
