package procstat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeProc is one process written into a fake /proc.
type fakeProc struct {
	pid     int
	comm    string
	state   string
	pgrp    int
	utime   uint64
	stime   uint64
	threads int
	start   uint64
	rss     uint64
}

// writeProc lays out procs and uptime (in seconds) as a /proc tree in
// root, replacing what was there.
func writeProc(t *testing.T, root string, uptime float64, procs []fakeProc) {
	t.Helper()
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "uptime"), fmt.Appendf(nil, "%.2f 1.00\n", uptime), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		dir := filepath.Join(root, fmt.Sprint(p.pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		comm, state, threads := p.comm, p.state, p.threads
		if comm == "" {
			comm = "node"
		}
		if state == "" {
			state = "R"
		}
		if threads == 0 {
			threads = 1
		}
		// Fields 3..24 of proc(5), then a few trailing ones.
		line := fmt.Sprintf("%d (%s) %s 1 %d %d 0 -1 4194560 100 0 0 0 %d %d 0 0 20 0 %d 0 %d 123456 %d 18446744073709551615 0 0\n",
			p.pid, comm, state, p.pgrp, p.pgrp, p.utime, p.stime, threads, p.start, p.rss)
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func fakeSampler(root string, now *time.Time) *Sampler {
	s := NewSampler(func() time.Time { return *now })
	s.root = root
	s.hz = 100
	s.pageSize = 4096
	s.listEvery = 0 // SampleGroups lists /proc at every call
	return s
}

func TestSamplerCPU(t *testing.T) {
	const pg = 500
	tests := []struct {
		name          string
		before, after []fakeProc
		wall          time.Duration
		wantCPU       float64
		wantPIDs      []int
		wantRSS       uint64
		wantThreads   int
	}{
		{
			name:     "half a core",
			before:   []fakeProc{{pid: 10, pgrp: pg, utime: 80, stime: 20, start: 50, rss: 10}},
			after:    []fakeProc{{pid: 10, pgrp: pg, utime: 120, stime: 30, start: 50, rss: 12}},
			wall:     time.Second,
			wantCPU:  50,
			wantPIDs: []int{10},
			wantRSS:  12 * 4096, wantThreads: 1,
		},
		{
			name:   "two processes spinning on two cores",
			before: []fakeProc{{pid: 10, pgrp: pg, start: 50}, {pid: 11, pgrp: pg, start: 60}},
			after: []fakeProc{
				{pid: 10, pgrp: pg, utime: 200, start: 50, threads: 3, rss: 1},
				{pid: 11, pgrp: pg, stime: 200, start: 60, threads: 2, rss: 2},
			},
			wall:     2 * time.Second,
			wantCPU:  200,
			wantPIDs: []int{10, 11},
			wantRSS:  3 * 4096, wantThreads: 5,
		},
		{
			name:     "exited process does not make CPU negative",
			before:   []fakeProc{{pid: 10, pgrp: pg, utime: 100, start: 50}, {pid: 11, pgrp: pg, utime: 5000, start: 60}},
			after:    []fakeProc{{pid: 10, pgrp: pg, utime: 150, start: 50}},
			wall:     time.Second,
			wantCPU:  50,
			wantPIDs: []int{10}, wantThreads: 1,
		},
		{
			name:     "process born since the previous sample counts in full",
			before:   []fakeProc{{pid: 10, pgrp: pg, utime: 100, start: 50}},
			after:    []fakeProc{{pid: 10, pgrp: pg, utime: 150, start: 50}, {pid: 12, pgrp: pg, utime: 30, start: 1050}},
			wall:     time.Second,
			wantCPU:  80,
			wantPIDs: []int{10, 12}, wantThreads: 2,
		},
		{
			name:     "process first seen but born earlier is a baseline",
			before:   []fakeProc{{pid: 10, pgrp: pg, utime: 100, start: 50}},
			after:    []fakeProc{{pid: 10, pgrp: pg, utime: 150, start: 50}, {pid: 12, pgrp: pg, utime: 3000, start: 500}},
			wall:     time.Second,
			wantCPU:  50,
			wantPIDs: []int{10, 12}, wantThreads: 2,
		},
		{
			name:     "reused pid is a new process",
			before:   []fakeProc{{pid: 10, pgrp: pg, utime: 900, start: 50}},
			after:    []fakeProc{{pid: 10, pgrp: pg, utime: 20, start: 1010}},
			wall:     time.Second,
			wantCPU:  20,
			wantPIDs: []int{10}, wantThreads: 1,
		},
		{
			name:     "zombies and other groups are left out",
			before:   []fakeProc{{pid: 10, pgrp: pg, utime: 100, start: 50}},
			after:    []fakeProc{{pid: 10, pgrp: pg, utime: 110, start: 50}, {pid: 11, pgrp: pg, state: "Z", utime: 99, start: 1010}, {pid: 13, pgrp: pg + 1, utime: 99, start: 1010}},
			wall:     time.Second,
			wantCPU:  10,
			wantPIDs: []int{10}, wantThreads: 1,
		},
		{
			name:     "command names with spaces and parentheses",
			before:   []fakeProc{{pid: 10, comm: "my app) (x", pgrp: pg, utime: 100, start: 50}},
			after:    []fakeProc{{pid: 10, comm: "my app) (x", pgrp: pg, utime: 125, start: 50}},
			wall:     500 * time.Millisecond,
			wantCPU:  50,
			wantPIDs: []int{10}, wantThreads: 1,
		},
		{
			name:     "no wall time passed",
			before:   []fakeProc{{pid: 10, pgrp: pg, utime: 100, start: 50}},
			after:    []fakeProc{{pid: 10, pgrp: pg, utime: 150, start: 50}},
			wall:     0,
			wantCPU:  0,
			wantPIDs: []int{10}, wantThreads: 1,
		},
		{
			name:   "empty group",
			before: []fakeProc{{pid: 10, pgrp: pg, utime: 100, start: 50}},
			after:  nil,
			wall:   time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			now := time.Unix(1000, 0)
			s := fakeSampler(root, &now)

			writeProc(t, root, 10.00, tc.before) // 1000 ticks since boot
			first, err := s.SampleGroup("i-1", pg)
			if err != nil {
				t.Fatal(err)
			}
			if first.CPUPercent != 0 {
				t.Errorf("first sample CPU = %v, want 0", first.CPUPercent)
			}

			writeProc(t, root, 10.00+tc.wall.Seconds(), tc.after)
			now = now.Add(tc.wall)
			got, err := s.SampleGroup("i-1", pg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := got.CPUPercent - tc.wantCPU; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("CPUPercent = %v, want %v", got.CPUPercent, tc.wantCPU)
			}
			if fmt.Sprint(got.PIDs) != fmt.Sprint(tc.wantPIDs) {
				t.Errorf("PIDs = %v, want %v", got.PIDs, tc.wantPIDs)
			}
			if got.RSSBytes != tc.wantRSS {
				t.Errorf("RSSBytes = %d, want %d", got.RSSBytes, tc.wantRSS)
			}
			if got.Threads != tc.wantThreads {
				t.Errorf("Threads = %d, want %d", got.Threads, tc.wantThreads)
			}
		})
	}
}

func TestSamplerKeysAndForget(t *testing.T) {
	root := t.TempDir()
	now := time.Unix(1000, 0)
	s := fakeSampler(root, &now)
	writeProc(t, root, 10, []fakeProc{{pid: 10, pgrp: 10, utime: 100, start: 5}, {pid: 20, pgrp: 20, utime: 100, start: 5}})
	for _, key := range []string{"a", "b"} {
		if _, err := s.SamplePIDs(key, []int{10, 20}); err != nil {
			t.Fatal(err)
		}
	}
	writeProc(t, root, 11, []fakeProc{{pid: 10, pgrp: 10, utime: 150, start: 5}, {pid: 20, pgrp: 20, utime: 125, start: 5}})
	now = now.Add(time.Second)

	steps := []struct {
		name    string
		forget  string
		key     string
		pids    []int
		wantCPU float64
	}{
		{name: "key a sees both pids", key: "a", pids: []int{10, 20}, wantCPU: 75},
		{name: "forgotten key starts over", forget: "b", key: "b", pids: []int{10, 20}, wantCPU: 0},
		{name: "missing pids are left out", key: "c", pids: []int{10, 99}, wantCPU: 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.forget != "" {
				s.Forget(st.forget)
			}
			got, err := s.SamplePIDs(st.key, st.pids)
			if err != nil {
				t.Fatal(err)
			}
			if got.CPUPercent != st.wantCPU {
				t.Errorf("CPUPercent = %v, want %v", got.CPUPercent, st.wantCPU)
			}
			if st.key == "c" && fmt.Sprint(got.PIDs) != "[10]" {
				t.Errorf("PIDs = %v, want [10]", got.PIDs)
			}
		})
	}
}

func TestSamplerBadInput(t *testing.T) {
	s := NewSampler(nil)
	tests := []struct {
		name    string
		call    func() error
		wantMsg string
	}{
		{"zero pgid", func() error { _, err := s.SampleGroup("k", 0); return err }, "pgid = 0"},
		{"negative pid", func() error { _, err := s.SamplePIDs("k", []int{1, -4}); return err }, "pid = -4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantMsg)
			}
		})
	}
}

func TestClockTicks(t *testing.T) {
	if got := clockTicks(); got != DefaultClockTicks {
		t.Logf("kernel clock tick rate is %d", got)
	}
	if got := clockTicks(); got == 0 {
		t.Error("clockTicks() = 0")
	}
}
