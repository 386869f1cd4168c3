package shim

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLauncherJoinsOnce: a launcher's thread joins the v1 hierarchies once
// and starts every command in them; it leaves with close.
func TestLauncherJoinsOnce(t *testing.T) {
	procs := testCgroups(t)
	tasks, v2 := splitCgroups(procs)
	if len(tasks) == 0 || v2 != "" {
		t.Skip("not a cgroup v1 machine")
	}
	var failures []string
	l := newLauncher(tasks, func(f string, err error) { failures = append(failures, f+": "+err.Error()) })
	closed := false
	defer func() {
		if !closed {
			l.close()
		}
	}()
	read := func(name string) []string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(b))
	}
	var launcherTID string
	for i := range 3 {
		cmd := exec.Command("sleep", "30")
		if err := l.run(cmd.Start); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		if len(failures) > 0 {
			t.Fatalf("cgroups not joined: %q", failures)
		}
		for _, p := range procs {
			if !slices.Contains(read(p), strconv.Itoa(cmd.Process.Pid)) {
				t.Errorf("start %d: %s lacks the child %d", i, p, cmd.Process.Pid)
			}
		}
		// The tasks files hold each child and one thread of this process,
		// the same one every time.
		var ours []string
		for _, tid := range read(tasks[0]) {
			if tid != strconv.Itoa(cmd.Process.Pid) && threadOf(tid) == os.Getpid() {
				ours = append(ours, tid)
			}
		}
		if len(ours) != 1 || (launcherTID != "" && ours[0] != launcherTID) {
			t.Fatalf("start %d: threads of this process in %s: %v, want the one launcher thread %q", i, tasks[0], ours, launcherTID)
		}
		launcherTID = ours[0]
	}
	l.close()
	closed = true
	deadline := time.Now().Add(2 * time.Second)
	for slices.Contains(read(tasks[0]), launcherTID) {
		if time.Now().After(deadline) {
			t.Fatalf("the launcher thread %s is still in %s after close", launcherTID, tasks[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// threadOf returns the process the thread tid belongs to (0 if unknown).
func threadOf(tid string) int {
	b, err := os.ReadFile("/proc/" + tid + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Tgid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// startInCgroups starts cmd as a member of the cgroups whose cgroup.procs
// files are procs without moving the calling process, as a hosted shim
// does (startIn), with a launcher of its own that ends afterwards. failed is told of each cgroup that could
// not be joined; cmd then starts without it.
func startInCgroups(cmd *exec.Cmd, procs []string, failed func(file string, err error)) error {
	tasks, v2 := splitCgroups(procs)
	start := cgroupStart(cmd, v2, failed)
	if len(tasks) == 0 {
		return start()
	}
	l := newLauncher(tasks, failed)
	defer l.close()
	return l.run(start)
}
