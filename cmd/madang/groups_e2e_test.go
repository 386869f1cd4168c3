package main

import (
	"bytes"
	"fmt"
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

// groupStack writes a stack with one instance group of count instances
// behind a load balancer on port; the app waits startDelay before it
// listens (so a rollout takes a while) and greets with greeting.
func groupStack(t *testing.T, dir string, port, count int, startDelay, greeting string) string {
	t.Helper()
	buildSampleApp(t, dir)
	y := fmt.Sprintf(`name: groups
images:
  - name: hello
    source: ./app
    command: sleep %s && exec ./hello
    port: 3000
launchTemplates:
  - name: hello
    image: hello
    env: {GREETING: %s}
    supervision: {killTimeout: 2s}
instances:
  - name: web
    launchTemplate: hello
    count: %d
targetGroups:
  - name: web
    port: 3000
    healthCheck: {path: /health, intervalSeconds: 5, timeoutSeconds: 2, healthyThresholdCount: 2, unhealthyThresholdCount: 2}
    attributes: {deregistration_delay.timeout_seconds: 2}
    targets:
      - instances: web
loadBalancers:
  - name: web
    listeners:
      - port: %d
        defaultActions: [{type: forward, targetGroup: web}]
`, startDelay, greeting, count, port)
	p := filepath.Join(dir, "madang.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// daemon runs `madang server` for a test, stopping it at cleanup.
type daemon struct {
	t   *testing.T
	cmd *exec.Cmd
	out *bytes.Buffer
}

func runServer(t *testing.T, c runner) *daemon {
	t.Helper()
	cmd := exec.Command(binary, "server")
	cmd.Env = append(os.Environ(), "MADANG_HOME="+c.home, "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, cmd: cmd, out: &out}
	t.Cleanup(d.stop)
	eventually(t, "the daemon to answer", 15*time.Second, func() bool {
		_, err := c.run("ps")
		return err == nil
	})
	return d
}

func (d *daemon) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	_ = d.cmd.Wait()
}

func (d *daemon) kill9() {
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	_ = d.cmd.Wait()
}

// rolloutLoad sends requests through url from a few clients until stop is
// called (bounded in requests), counting failures.
type rolloutLoad struct {
	oks, failures atomic.Int64
	mu            sync.Mutex
	errs          []string
	done          chan struct{}
	wg            sync.WaitGroup
}

func startRolloutLoad(url string, clients int) *rolloutLoad {
	l := &rolloutLoad{done: make(chan struct{})}
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 0; n < 50000; n++ {
				select {
				case <-l.done:
					return
				default:
				}
				if body, err := get(url); err != nil {
					l.failures.Add(1)
					l.mu.Lock()
					if len(l.errs) < 10 {
						l.errs = append(l.errs, fmt.Sprintf("%v %s", err, body))
					}
					l.mu.Unlock()
				} else {
					l.oks.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *rolloutLoad) stop() (ok, failed int64, errs []string) {
	close(l.done)
	l.wg.Wait()
	return l.oks.Load(), l.failures.Load(), l.errs
}

func running(rows []psRow) []psRow {
	var out []psRow
	for _, r := range rows {
		if r.State == "running" {
			out = append(out, r)
		}
	}
	return out
}

// A member terminated by hand is replaced, the replacement is registered
// in the group's target group, and the events say why.
func TestGroupReplacesTerminatedMember(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	port := freePort(t)
	file := groupStack(t, dir, port, 2, "0", "Hi")
	runServer(t, c)
	destroyAtCleanup(t, c, file)
	c.must("apply", "-f", file)
	eventually(t, "two running members", 30*time.Second, func() bool { return len(running(c.ps())) == 2 })
	members := running(c.ps())
	victim, survivor := members[0], members[1]
	c.must("terminate", victim.ID)

	// The replacement is the member that is neither the victim nor the
	// one that stayed (the listing's order says nothing).
	var replacement psRow
	eventually(t, "a replacement member", 30*time.Second, func() bool {
		rows := running(c.ps())
		for _, r := range rows {
			if r.ID != victim.ID && r.ID != survivor.ID && r.Group == "web" {
				replacement = r
			}
		}
		return len(rows) == 2 && !containsID(rows, victim.ID)
	})
	events := c.must("events")
	want := "launching a new instance: " + replacement.ID + " in response to instance " + victim.ID + " being taken out of service by a user request"
	if !strings.Contains(events, want) {
		t.Fatalf("events do not say why %s was launched (want %q):\n%s", replacement.ID, want, events)
	}
	eventually(t, "the replacement to be a healthy target", 30*time.Second, func() bool {
		out, _ := c.run("tg", "health", "web")
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, replacement.ID) && strings.Contains(line, "healthy") && !strings.Contains(line, "unhealthy") {
				return true
			}
		}
		return false
	})
	// Re-applying the unchanged file changes nothing: the group is whole.
	if out := c.must("diff", "-f", file); !strings.Contains(strings.ToLower(out), "no changes") {
		t.Fatalf("diff after replacement:\n%s", out)
	}
}

// destroyAtCleanup removes the stack (its instances and its load
// balancer's data plane) before the daemon stops at the test's end; a
// stopped daemon leaves instances running by design.
func destroyAtCleanup(t *testing.T, c runner, file string) {
	t.Cleanup(func() {
		if out, err := c.run("destroy", "-f", file); err != nil {
			t.Errorf("destroy: %v\n%s", err, out)
		}
	})
}

func containsID(rows []psRow, id string) bool {
	for _, r := range rows {
		if r.ID == id {
			return true
		}
	}
	return false
}

// kill -9 of the daemon during a rolling update of three instances: the
// next daemon finishes the rollout, and no request through the load
// balancer fails meanwhile.
func TestRolloutSurvivesDaemonKill(t *testing.T) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	port := freePort(t)
	file := groupStack(t, dir, port, 3, "0.5", "Hi")
	d := runServer(t, c)
	c.must("apply", "-f", file)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	eventually(t, "three members serving", 60*time.Second, func() bool {
		if len(running(c.ps())) != 3 {
			return false
		}
		_, err := get(url)
		return err == nil
	})
	// Wait until every target is healthy, so the load starts on a whole group.
	eventually(t, "three healthy targets", 30*time.Second, func() bool {
		out, _ := c.run("tg", "health", "web")
		return strings.Count(out, " healthy") >= 3
	})
	load := startRolloutLoad(url, 3)

	groupStack(t, dir, port, 3, "0.5", "Hello-v2")
	c.must("apply", "-f", file)
	eventually(t, "the rollout to reach the first instance", 30*time.Second, func() bool {
		return strings.Contains(c.must("events"), "rebooting to launch template hello v2")
	})
	d.kill9()
	time.Sleep(300 * time.Millisecond)
	runServer(t, c)
	destroyAtCleanup(t, c, file)
	eventually(t, "every member on version 2", 60*time.Second, func() bool {
		rows := running(c.ps())
		if len(rows) != 3 {
			return false
		}
		for _, r := range rows {
			if r.Resolved != 2 {
				return false
			}
		}
		return true
	})
	eventually(t, "the rollout to complete", 30*time.Second, func() bool {
		return strings.Contains(c.must("events"), "rollout complete")
	})
	if out := c.must("describe", "web"); !strings.Contains(out, "group web: launch template hello v2, image v1; 3/3 instances updated, 1 at a time; last rollout successful") {
		t.Errorf("describe of the group does not show the rollout:\n%s", out)
	}
	time.Sleep(500 * time.Millisecond)
	ok, failed, errs := load.stop()
	if failed != 0 || ok == 0 {
		t.Fatalf("%d of %d requests failed during the rollout and the daemon's kill -9: %v", failed, ok+failed, errs)
	}
	t.Logf("%d requests through the rollout and the daemon's kill -9, 0 failed", ok)
}
