package procstat

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// startGroup starts script under /bin/sh in a process group of its own,
// killed with the group when tb ends.
func startGroup(tb testing.TB, script string) int {
	tb.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	pgid := cmd.Process.Pid
	tb.Cleanup(func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return pgid
}

// TestSampleGroupsReal samples a spinning group, an idle one and one
// whose child writes 20 MiB to disk and is reaped: CPU tells the spinner
// from the idle group, and the child's writes count once.
func TestSampleGroupsReal(t *testing.T) {
	const size = 20 << 20
	spin := startGroup(t, "while :; do :; done")
	boost(t, spin)
	idle := startGroup(t, "exec sleep 60")
	dir := t.TempDir()
	// The writer starts writing once the first sample is taken.
	writer := startGroup(t, fmt.Sprintf("cd %s && while [ ! -e go ]; do sleep 0.01; done; dd if=/dev/zero of=f bs=1M count=20 conv=fsync 2>/dev/null; exec sleep 60", dir))
	reqs := []GroupRequest{{Key: "spin", PGID: spin}, {Key: "idle", PGID: idle}, {Key: "writer", PGID: writer}}

	s := NewSampler(nil)
	defer func() { _, _ = s.SampleGroups(nil) }()
	var cpu [3]float64
	var wall time.Duration
	var written uint64
	var note string
	deadline := time.Now().Add(15 * time.Second)
	for wall < time.Second || written < size {
		out, err := s.SampleGroups(reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range out {
			cpu[i] += o.CPUPercent * o.Interval.Seconds()
		}
		wall += out[0].Interval
		written += out[2].IO.WriteBytes
		if out[2].Interval == 0 {
			if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		note = out[2].IONote
		if !out[2].IOMeasured && out[2].Interval > 0 {
			t.Skipf("disk I/O is not measurable here: %s", note)
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	secs := wall.Seconds()
	t.Logf("over %.2fs: spinner %.1f%%, idle %.1f%%, writer %.1f%% CPU; writer wrote %d bytes (%s)", secs, cpu[0]/secs, cpu[1]/secs, cpu[2]/secs, written, note)
	if cpu[0]/secs < 30 {
		t.Errorf("spinning group used %.1f%% of a core, want well above 30%%", cpu[0]/secs)
	}
	if cpu[1]/secs > 5 {
		t.Errorf("idle group used %.1f%% of a core, want about 0", cpu[1]/secs)
	}
	if written < size || written > size+size/4 {
		t.Errorf("writer group wrote %d bytes, want about %d (its child's writes counted once)", written, size)
	}
}

// BenchmarkSampleGroups samples 100 groups of one sleeping process each,
// as a collector does once a second.
func BenchmarkSampleGroups(b *testing.B) {
	reqs := make([]GroupRequest, 100)
	for i := range reqs {
		reqs[i] = GroupRequest{Key: fmt.Sprintf("g%d", i), PGID: startGroup(b, "exec sleep 60")}
	}
	s := NewSampler(nil)
	defer func() { _, _ = s.SampleGroups(nil) }()
	// Wait until every shell has become sleep.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := s.SampleGroups(reqs)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, o := range out {
			n += o.Processes
		}
		if n == len(reqs) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d groups have a live process", n, len(reqs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SampleGroups(reqs); err != nil {
			b.Fatal(err)
		}
	}
}
