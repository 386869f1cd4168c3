package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/procstat"
)

// hogEnv makes the test binary a memory hog child for TestRealMemoryLimit.
const hogEnv = "MADANG_CGROUP_TEST_HOG"

func TestMain(m *testing.M) {
	if os.Getenv(hogEnv) != "" {
		hog()
		return
	}
	os.Exit(m.Run())
}

// hog waits for a line on stdin (sent once it is in the group), then
// touches 256 MiB and reports if it survived.
func hog() {
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		os.Exit(2)
	}
	var keep [][]byte
	for range 256 {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		keep = append(keep, b)
	}
	fmt.Println("survived", len(keep))
	os.Exit(0)
}

// realHierarchy returns the machine's hierarchy, skipping the test when
// it cannot enforce both limits.
func realHierarchy(t *testing.T) *Hierarchy {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("real cgroup tests need root (creating cgroups); run as root to enable")
	}
	h := Detect(DefaultRoot, discard())
	if e := h.Enforcement(); !e.CPU || !e.Memory {
		t.Skipf("real cgroup tests need writable cpu and memory controllers: %s", e.Reason)
	}
	return h
}

// testGroup returns a group name unique to this test process and removes
// the group and its parent when the test ends.
func testGroup(t *testing.T, h *Hierarchy, leaf string) string {
	t.Helper()
	parent := fmt.Sprintf("madang-test-%d", os.Getpid())
	name := parent + "/" + leaf
	t.Cleanup(func() {
		if err := h.Open(name).Delete(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, root := range []string{h.cpuRoot, h.memRoot} {
			if err := rmdir(filepath.Join(root, parent)); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return name
}

// startChild starts cmd and makes sure it is killed and reaped by the
// end of the test.
func startChild(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

func TestRealGroupLifecycle(t *testing.T) {
	h := realHierarchy(t)
	name := testGroup(t, h, "i-lifecycle")

	steps := []struct {
		name   string
		limits Limits
		// raw file contents: file name relative to the controller's
		// group directory, and the value the kernel reports
		wantV1 map[string]string
		wantV2 map[string]string
	}{
		{
			name: "create with 0.5 CPU and 64 MiB", limits: Limits{CPUs: 0.5, MemoryBytes: 64 << 20},
			wantV1: map[string]string{"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "50000", "memory.limit_in_bytes": "67108864"},
			wantV2: map[string]string{"cpu.max": "50000 100000", "memory.max": "67108864"},
		},
		{
			name: "update to 1 CPU and 128 MiB", limits: Limits{CPUs: 1, MemoryBytes: 128 << 20},
			wantV1: map[string]string{"cpu.cfs_quota_us": "100000", "memory.limit_in_bytes": "134217728"},
			wantV2: map[string]string{"cpu.max": "100000 100000", "memory.max": "134217728"},
		},
		{
			name: "update to unlimited", limits: Limits{},
			wantV1: map[string]string{"cpu.cfs_quota_us": "-1"},
			wantV2: map[string]string{"cpu.max": "max 100000", "memory.max": "max"},
		},
		{
			name: "back to 0.5 CPU and 64 MiB", limits: Limits{CPUs: 0.5, MemoryBytes: 64 << 20},
			wantV1: map[string]string{"cpu.cfs_quota_us": "50000", "memory.limit_in_bytes": "67108864"},
			wantV2: map[string]string{"cpu.max": "50000 100000", "memory.max": "67108864"},
		},
	}
	var g *Group
	for _, st := range steps {
		var err error
		if g, err = h.Create(name, st.limits); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if e := g.Enforcement(); !e.CPU || !e.Memory {
			t.Fatalf("%s: Enforcement = %+v, want both", st.name, e)
		}
		want := st.wantV2
		if h.Version() == V1 {
			want = st.wantV1
		}
		for file, v := range want {
			dir := g.cpuDir
			if strings.HasPrefix(file, "memory.") {
				dir = g.memDir
			}
			if got := read(t, filepath.Join(dir, file)); got != v {
				t.Errorf("%s: %s = %q, want %q", st.name, file, got, v)
			}
		}
		if got, err := g.Limits(); err != nil || got != st.limits {
			t.Errorf("%s: Limits() = %+v, %v; want %+v", st.name, got, err, st.limits)
		}
	}

	cmd := exec.Command("/bin/sleep", "30")
	startChild(t, cmd)
	pid := cmd.Process.Pid
	if err := g.AddProc(pid); err != nil {
		t.Fatal(err)
	}
	if pids, err := g.PIDs(); err != nil || len(pids) != 1 || pids[0] != pid {
		t.Fatalf("PIDs() = %v, %v; want [%d]", pids, err, pid)
	}
	if got := read(t, fmt.Sprintf("/proc/%d/cgroup", pid)); !strings.Contains(got, "/"+name) {
		t.Errorf("/proc/%d/cgroup = %q, want it to name %s", pid, got, name)
	}

	// After a daemon restart the group is found again.
	o := h.Open(name)
	if o.Enforcement() != g.Enforcement() || strings.Join(o.ProcsFiles(), " ") != strings.Join(g.ProcsFiles(), " ") {
		t.Errorf("Open = %+v %v, want %+v %v", o.Enforcement(), o.ProcsFiles(), g.Enforcement(), g.ProcsFiles())
	}
	if pids, _ := o.PIDs(); len(pids) != 1 {
		t.Errorf("Open(...).PIDs() = %v, want [%d]", pids, pid)
	}

	if err := o.Kill(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want killed by SIGKILL", err)
	}
	if pids, err := g.PIDs(); err != nil || len(pids) != 0 {
		t.Errorf("PIDs() after Kill = %v, %v; want none", pids, err)
	}
	if err := g.Delete(); err != nil {
		t.Fatal(err)
	}
	for _, f := range g.ProcsFiles() {
		if _, err := os.Stat(filepath.Dir(f)); !os.IsNotExist(err) {
			t.Errorf("%s still exists after Delete (err %v)", filepath.Dir(f), err)
		}
	}
	if err := g.Delete(); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
}

func TestRealKillForkingTree(t *testing.T) {
	h := realHierarchy(t)
	g, err := h.Create(testGroup(t, h, "i-tree"), Limits{CPUs: 1, MemoryBytes: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	// A shell that waits to be in the group, then forks sleepers in a
	// loop; none of them are its process group's leader's children
	// alone, so only the cgroup finds them all.
	cmd := exec.Command("/bin/sh", "-c", `read x; while :; do (sleep 30 &) ; sleep 0.01; done`)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	startChild(t, cmd)
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, _ := g.PIDs()
		if len(pids) >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group has %d processes after 5s, want the tree to grow", len(pids))
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed a forking tree in %s", time.Since(start))
	if pids, _ := g.PIDs(); len(pids) != 0 {
		t.Errorf("PIDs() after Kill = %v, want none", pids)
	}
}

func TestRealCPULimit(t *testing.T) {
	h := realHierarchy(t)
	g, err := h.Create(testGroup(t, h, "i-cpu"), Limits{CPUs: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", "while :; do :; done")
	startChild(t, cmd)
	pid := cmd.Process.Pid
	if err := g.AddProc(pid); err != nil {
		t.Fatal(err)
	}
	// Give the group the largest CPU weight, so that on a busy machine
	// the quota, not competition, is what holds the spinner back.
	file, value := "cpu.weight", "10000"
	if h.Version() == V1 {
		file, value = "cpu.shares", "262144"
	}
	for _, dir := range []string{filepath.Dir(g.cpuDir), g.cpuDir} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
			t.Logf("cannot raise the CPU weight of %s: %v", dir, err)
		}
	}
	s := procstat.NewSampler(nil)
	if _, err := s.SamplePIDs("spin", []int{pid}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	got, err := s.SamplePIDs("spin", []int{pid})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("spinning process limited to 0.5 CPU used %.1f%% CPU, throttled in %d periods", got.CPUPercent, stats.CPUThrottled)
	if got.CPUPercent > 60 || got.CPUPercent < 30 {
		t.Errorf("CPU = %.1f%%, want about 50%% under a 0.5 CPU limit", got.CPUPercent)
	}
	if stats.CPUThrottled == 0 {
		t.Error("CPUThrottled = 0, want the spinning process throttled")
	}
	if err := g.Delete(); err != nil {
		t.Fatal(err)
	}
}

func TestRealMemoryLimit(t *testing.T) {
	h := realHierarchy(t)
	g, err := h.Create(testGroup(t, h, "i-mem"), Limits{MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), hogEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout = &out
	startChild(t, cmd)
	if err := g.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("memory hog neither finished nor was killed within 20s")
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("hog touching 256 MiB under a 64 MiB limit ended with %v (output %q), want OOM-killed", err, out.String())
	}
	stats, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.OOMKills < 1 {
		t.Errorf("OOMKills = %d, want at least 1", stats.OOMKills)
	}
	t.Logf("hog OOM-killed; group stats %+v", stats)
}

// TestRealKillSparesAVisitingThread: in v1 a single thread of another
// process may be in the group (a process host starting an instance's app
// there); PIDs leaves that process out and Kill does not kill it.
func TestRealKillSparesAVisitingThread(t *testing.T) {
	h := realHierarchy(t)
	if h.Version() != V1 {
		t.Skip("threads join groups on their own only in cgroup v1")
	}
	g, err := h.Create(testGroup(t, h, "i-visit"), Limits{CPUs: 1, MemoryBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "30")
	startChild(t, child)
	if err := g.AddProc(child.Process.Pid); err != nil {
		t.Fatal(err)
	}
	errMainThread := errors.New("on the main thread")
	leave := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	for try := 0; ; try++ {
		visited := make(chan error)
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			if syscall.Gettid() == os.Getpid() {
				// The main thread never ends: keep it busy so that the
				// next try gets another thread.
				visited <- errMainThread
				<-leave
				runtime.UnlockOSThread()
				return
			}
			// Never unlocked: the thread ends with the goroutine, as a
			// process host's does.
			tid := []byte(strconv.Itoa(syscall.Gettid()))
			for _, d := range g.dirs() {
				if err := os.WriteFile(filepath.Join(d, "tasks"), tid, 0); err != nil {
					visited <- err
					return
				}
			}
			visited <- nil
			<-leave
		}()
		err := <-visited
		if err == nil {
			break
		}
		if err != errMainThread || try == 3 {
			close(leave)
			t.Fatalf("no visiting thread: %v", err)
		}
	}
	pids, err := g.PIDs()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(pids, os.Getpid()) || !slices.Contains(pids, child.Process.Pid) {
		t.Errorf("PIDs = %v, want the child %d and not the visited process %d", pids, child.Process.Pid, os.Getpid())
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("the group's own process ended with %v, want killed", err)
	}
	close(leave)
	wg.Wait()
	// The thread has ended: the group can go.
	deadline := time.Now().Add(2 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(g.dirs()[0], "tasks"))
		if len(strings.TrimSpace(string(b))) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks still %q after the visiting thread ended", b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
