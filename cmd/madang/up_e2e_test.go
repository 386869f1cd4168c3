package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// upProcess is a `madang up` whose stdout and stderr go to a pipe the
// test reads (and may close, as `| tee` does when Ctrl-C ends it).
type upProcess struct {
	cmd   *exec.Cmd
	out   *os.File      // read end of the pipe
	lines chan string   // every line up wrote, until out is closed
	read  chan struct{} // closed when the reader stops
	text  strings.Builder
}

func startUp(t *testing.T, home string, args ...string) *upProcess {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, append([]string{"up"}, args...)...)
	cmd.Env = append(os.Environ(), "MADANG_HOME="+home, "GORACE=atexit_sleep_ms=0")
	cmd.Stdout, cmd.Stderr = pw, pw
	// Its own process group, so a signal to it reaches nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	p := &upProcess{cmd: cmd, out: pr, lines: make(chan string, 1000), read: make(chan struct{})}
	go func() {
		defer close(p.read)
		defer close(p.lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			stopUp(p.cmd)
		}
		pr.Close()
		<-p.read
	})
	return p
}

// until returns once up wrote a line containing marker; it fails the test
// if up ends first or timeout passes.
func (p *upProcess) until(t *testing.T, marker string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("madang up ended before %q:\n%s", marker, p.text.String())
			}
			p.text.WriteString(l + "\n")
			if strings.Contains(l, marker) {
				return
			}
		case <-deadline:
			t.Fatalf("madang up did not print %q within %s:\n%s", marker, timeout, p.text.String())
		}
	}
}

// wait waits for up to exit and returns everything it wrote and how it
// exited.
func (p *upProcess) wait(t *testing.T, timeout time.Duration) (string, error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		for l := range p.lines {
			p.text.WriteString(l + "\n")
		}
		return p.text.String(), err
	case <-time.After(timeout):
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		for l := range p.lines {
			p.text.WriteString(l + "\n")
		}
		t.Fatalf("madang up did not exit within %s:\n%s", timeout, p.text.String())
		return "", nil
	}
}

// stopUp ends an up that a test is done with: SIGINT, so it stops the
// instances it started, and SIGKILL only if it does not exit in 30s.
func stopUp(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// upCommand is `madang up ARGS` that a test runs to the end; when ctx
// ends it is interrupted (so it stops what it started) rather than
// killed.
func upCommand(ctx context.Context, home string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, append([]string{"up"}, args...)...)
	cmd.Env = append(os.Environ(), "MADANG_HOME="+home, "GORACE=atexit_sleep_ms=0")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 30 * time.Second
	return cmd
}

// processes returns the pids of the stack's apps and their shims.
func processes(t *testing.T, c runner) map[string]int {
	t.Helper()
	pids := map[string]int{}
	for _, r := range c.ps() {
		pids["app of "+r.ID] = r.PID
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
		pids["shim of "+r.ID] = st.ShimPID
	}
	return pids
}

// TestUpInterruptAfterStdoutCloses is `madang up | tee up.log`, then
// Ctrl-C: tee goes first and closes the pipe. up must still stop the load
// balancer and the instances, and exit normally.
func TestUpInterruptAfterStdoutCloses(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	port := freePort(t)
	file := stackFile(t, dir, port)
	c := runner{t: t, home: home}

	up := startUp(t, home, "-f", file)
	up.until(t, "streaming events", 90*time.Second)
	// Only endpoints that work: the listener's URL, not a DNS name that
	// resolves nowhere.
	shown := up.text.String()
	if want := fmt.Sprintf("● load balancer web: http://127.0.0.1:%d\n", port); !strings.Contains(shown, want) {
		t.Errorf("up does not show %q:\n%s", want, shown)
	}
	if strings.Contains(shown, ".elb.madang.local") {
		t.Errorf("up shows a DNS name that does not resolve:\n%s", shown)
	}
	pids := processes(t, c)
	if len(pids) != 4 {
		t.Fatalf("want 2 apps and 2 shims, got %v", pids)
	}

	up.out.Close()
	<-up.read
	if err := up.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_, err := up.wait(t, 60*time.Second)
	if err != nil {
		t.Fatalf("up after Ctrl-C with its stdout closed: %v; want exit status 0", err)
	}
	stopped(t, pids, port)
}

// stopped checks that the stack's processes are gone and its load
// balancer no longer listens.
func stopped(t *testing.T, pids map[string]int, port int) {
	t.Helper()
	for what, pid := range pids {
		eventually(t, what+" (pid "+fmt.Sprint(pid)+") to be gone", 5*time.Second, func() bool {
			return syscall.Kill(pid, 0) != nil
		})
	}
	if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		conn.Close()
		t.Fatalf("the load balancer still listens on port %d after up stopped", port)
	}
}

// TestUpHangupStopsTheStack: closing the terminal (SIGHUP) stops the load
// balancer and the instances as Ctrl-C does, instead of killing up and
// leaving the apps without their load balancer.
func TestUpHangupStopsTheStack(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	port := freePort(t)
	file := stackFile(t, dir, port)
	up := startUp(t, home, "-f", file)
	up.until(t, "streaming events", 90*time.Second)
	pids := processes(t, runner{t: t, home: home})
	if err := up.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	out, err := up.wait(t, 60*time.Second)
	if err != nil {
		t.Fatalf("up after SIGHUP: %v; want exit status 0\n%s", err, out)
	}
	if !strings.Contains(out, "● stopped") {
		t.Errorf("up did not report the stop:\n%s", out)
	}
	stopped(t, pids, port)
}

// TestUpShowsWhyAnInstanceDoesNotComeUp: an app that exits 3 makes up show
// the exit and the app's last line while it waits, then exit non-zero.
func TestUpShowsWhyAnInstanceDoesNotComeUp(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "madang.yaml")
	if err := os.WriteFile(file, []byte(`name: crashy
images:
  - name: crasher
    source: ./app
    command: echo boom-before-exit; exit 3
    port: 3000
launchTemplates:
  - name: crasher
    image: crasher
    supervision: {maxRestarts: 2, backoffInitial: 50ms}
instances:
  - name: crash
    launchTemplate: crasher
`), 0o644); err != nil {
		t.Fatal(err)
	}
	up := startUp(t, home, "-f", file)
	out, err := up.wait(t, 60*time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("up of a stack whose instance crashes: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{"exited with code 3", "last log line: boom-before-exit", "errored", "cannot come up", "● stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("up does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "streaming events") {
		t.Errorf("up streams events of a stack that cannot come up:\n%s", out)
	}
}

// TestUpListenerPortTaken: a listener port that another program holds is
// an error on screen naming the port and the fix, with a non-zero exit —
// on the first up, on an up that resumes a kept stack, and when another
// stack's load balancer serves the port.
func TestUpListenerPortTaken(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	file := stackFile(t, dir, port)
	exitsWith := func(t *testing.T, home string, wants ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		b, err := upCommand(ctx, home, "-f", file).CombinedOutput()
		out := string(b)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("up with port %d taken: %v, want exit status 1\n%s", port, err, out)
		}
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("up does not show %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "streaming events") {
			t.Errorf("up streams events of a stack that cannot come up:\n%s", out)
		}
	}
	takePort := func(t *testing.T) {
		t.Helper()
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
	}
	portText := fmt.Sprintf("listener port %d", port)

	t.Run("first up", func(t *testing.T) {
		takePort(t)
		exitsWith(t, filepath.Join(dir, "first"), portText, "pick a free port")
	})

	t.Run("resumed up", func(t *testing.T) {
		home := filepath.Join(dir, "resumed")
		up := startUp(t, home, "-f", file)
		up.until(t, "streaming events", 90*time.Second)
		if err := up.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		if out, err := up.wait(t, 60*time.Second); err != nil {
			t.Fatalf("first up: %v\n%s", err, out)
		}
		takePort(t)
		exitsWith(t, home, portText, "taken by pid "+fmt.Sprint(os.Getpid()), "pick a free port")
	})

	t.Run("another stack", func(t *testing.T) {
		c := runner{t: t, home: filepath.Join(dir, "shared")}
		startServer(t, c)
		c.must("apply", "-f", file)
		t.Cleanup(func() { _, _ = c.run("destroy", "-f", file) })
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		other := strings.NewReplacer("name: e2e", "name: other", "name: web", "name: web2",
			"instances: web", "instances: web2", "targetGroup: web", "targetGroup: web2",
			"name: hello", "name: hello2", "image: hello", "image: hello2", "launchTemplate: hello", "launchTemplate: hello2").Replace(string(b))
		otherFile := filepath.Join(dir, "other.yaml")
		if err := os.WriteFile(otherFile, []byte(other), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := upCommand(ctx, c.home, "-f", otherFile).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("up of a stack whose port another stack serves: %v, want exit status 1\n%s", err, out)
		}
		for _, want := range []string{portText, "already served by load balancer web (of stack e2e)", "pick another port"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("up does not show %q:\n%s", want, out)
			}
		}
		// Nothing of the other stack was applied.
		if lbs := c.must("lb", "ls"); strings.Contains(lbs, "web2") {
			t.Errorf("the refused stack's load balancer exists:\n%s", lbs)
		}
	})
}
