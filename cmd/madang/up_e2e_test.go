package main

import (
	"bufio"
	"encoding/json"
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
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			_ = p.cmd.Wait()
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
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-done
		for l := range p.lines {
			p.text.WriteString(l + "\n")
		}
		t.Fatalf("madang up did not exit within %s:\n%s", timeout, p.text.String())
		return "", nil
	}
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
