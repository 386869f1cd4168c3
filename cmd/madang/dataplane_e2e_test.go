package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"golang.org/x/sys/unix"
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

// daemonProc is a `madang server` the test stops itself.
type daemonProc struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func startDaemonProc(t *testing.T, c runner, bin string) *daemonProc {
	t.Helper()
	cmd := exec.Command(bin, "server")
	cmd.Env = append(os.Environ(), "MADANG_HOME="+c.home, "GORACE=atexit_sleep_ms=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the daemon to answer", 15*time.Second, func() bool {
		_, err := c.run("ps")
		return err == nil
	})
	return &daemonProc{cmd: cmd, out: &out}
}

type dataplaneState struct {
	PID    int    `json:"pid"`
	Binary string `json:"binary"`
}

func readDataplane(t *testing.T, home string) dataplaneState {
	t.Helper()
	var st dataplaneState
	b, err := os.ReadFile(filepath.Join(home, "dataplane.json"))
	if err != nil {
		t.Fatalf("data plane state: %v", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("data plane state: %v", err)
	}
	return st
}

func readDataplaneIfAny(home string) dataplaneState {
	var st dataplaneState
	if b, err := os.ReadFile(filepath.Join(home, "dataplane.json")); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	return st
}

// steadyLoad drives requests at url from workers until stop is closed or
// limit passes, counting failures.
type steadyLoad struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	ok, fail atomic.Int64
	mu       sync.Mutex
	errs     []string
}

func startSteadyLoad(url string, workers int, limit time.Duration) *steadyLoad {
	l := &steadyLoad{stop: make(chan struct{})}
	deadline := time.Now().Add(limit)
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for time.Now().Before(deadline) {
				select {
				case <-l.stop:
					return
				default:
				}
				if _, err := get(url); err != nil {
					l.fail.Add(1)
					l.mu.Lock()
					if len(l.errs) < 10 {
						l.errs = append(l.errs, err.Error())
					}
					l.mu.Unlock()
				} else {
					l.ok.Add(1)
				}
			}
		}()
	}
	return l
}

// end stops the load and returns how many requests succeeded and failed.
func (l *steadyLoad) end() (ok, fail int64, errs []string) {
	close(l.stop)
	l.wg.Wait()
	return l.ok.Load(), l.fail.Load(), l.errs
}

// TestDataPlaneOutlivesDaemon: kill -9 of the daemon under load through
// the load balancer fails no request and the next daemon re-adopts the
// data plane; a daemon of another binary replaces the data plane (socket
// takeover) without failing a request either.
func TestDataPlaneOutlivesDaemon(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	port := freePort(t)
	file := stackFile(t, dir, port)
	c := runner{t: t, home: home}
	lb := fmt.Sprintf("http://127.0.0.1:%d/", port)

	d := startDaemonProc(t, c, binary)
	defer func() {
		if t.Failed() {
			t.Logf("daemon output:\n%s", d.out.String())
			if b, err := os.ReadFile(filepath.Join(home, "logs", "dataplane.log")); err == nil {
				t.Logf("data plane log:\n%s", b)
			}
		}
	}()
	c.must("apply", "-f", file)
	seen := map[string]bool{}
	eventually(t, "both instances behind the load balancer", 30*time.Second, func() bool {
		if body, err := get(lb); err == nil {
			seen[strings.TrimSpace(body)] = true
		}
		return len(seen) == 2
	})
	first := readDataplane(t, home)
	// The data plane has a process group of its own (signals to the
	// daemon's group miss it) but shares the daemon's session: alone in a
	// session it would be a scheduling group of its own under the
	// kernel's autogroup scheduling, with one group's share of the CPU.
	if pgid, err := syscall.Getpgid(first.PID); err != nil || pgid != first.PID {
		t.Errorf("data plane %d is in process group %d (%v), want its own", first.PID, pgid, err)
	}
	if dsid, err := unix.Getsid(first.PID); err != nil || dsid != mustSid(t, d.cmd.Process.Pid) {
		t.Errorf("data plane %d is in session %d (%v), want the daemon's %d", first.PID, dsid, err, mustSid(t, d.cmd.Process.Pid))
	}

	// kill -9 of the daemon under load; a new daemon comes back.
	load := startSteadyLoad(lb, 3, 30*time.Second)
	waitRequests(t, load, 50)
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Wait()
	n := load.ok.Load()
	waitRequests(t, load, n+50) // served while no daemon runs
	d = startDaemonProc(t, c, binary)
	waitRequests(t, load, load.ok.Load()+50)
	ok, fail, errs := load.end()
	if fail != 0 {
		t.Fatalf("kill -9 of the daemon: %d of %d requests failed: %v", fail, ok+fail, errs)
	}
	if again := readDataplane(t, home); again.PID != first.PID || syscall.Kill(first.PID, 0) != nil {
		t.Fatalf("data plane pid %d after the daemon restart, want %d re-adopted", again.PID, first.PID)
	}
	t.Logf("kill -9: %d requests, 0 failed; data plane pid %d re-adopted", ok, first.PID)

	// Another binary: the daemon stops, the new one replaces the data
	// plane, which hands its listening socket over.
	v2 := filepath.Join(dir, "v2", "madang")
	copyBinary(t, binary, v2)
	load = startSteadyLoad(lb, 3, 30*time.Second)
	waitRequests(t, load, 50)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Wait()
	d = startDaemonProc(t, c, v2)
	eventually(t, "the new data plane to take over", 15*time.Second, func() bool {
		st := readDataplane(t, home)
		return st.PID != first.PID && st.Binary == v2
	})
	eventually(t, "the old data plane to exit", 35*time.Second, func() bool { return syscall.Kill(first.PID, 0) != nil })
	waitRequests(t, load, load.ok.Load()+50)
	ok, fail, errs = load.end()
	if fail != 0 {
		t.Fatalf("binary replacement: %d of %d requests failed: %v", fail, ok+fail, errs)
	}
	second := readDataplane(t, home)
	t.Logf("binary replaced: %d requests, 0 failed; data plane pid %d -> %d", ok, first.PID, second.PID)

	// A data plane that dies while the daemon runs is started again with
	// the configuration it had.
	if err := syscall.Kill(second.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new data plane after kill -9 of the data plane", 15*time.Second, func() bool {
		st := readDataplaneIfAny(home)
		return st.PID != 0 && st.PID != second.PID
	})
	eventually(t, "the load balancer to serve again", 15*time.Second, func() bool {
		_, err := get(lb)
		return err == nil
	})
	second = readDataplane(t, home)

	// With no load balancer left, a stopping daemon stops the data plane.
	c.must("destroy", "-f", file)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Wait()
	eventually(t, "the data plane to exit with nothing to serve", 35*time.Second, func() bool {
		return syscall.Kill(second.PID, 0) != nil
	})
}

// waitRequests waits until the load has served n requests.
func waitRequests(t *testing.T, l *steadyLoad, n int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d requests served", n), 30*time.Second, func() bool {
		return l.ok.Load() >= n || l.fail.Load() > 0
	})
}

func copyBinary(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustSid(t *testing.T, pid int) int {
	t.Helper()
	sid, err := unix.Getsid(pid)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}
