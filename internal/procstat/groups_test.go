package procstat

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// gproc is a process of a fake /proc for SampleGroups: its stat fields
// and, unless noIO, its /proc/PID/io counters.
type gproc struct {
	fakeProc
	ppid  int
	child uint64 // cutime: times of reaped children
	read  uint64
	write uint64
	noIO  bool
}

// writeGroupProc lays out procs in root in place (files are rewritten,
// not replaced, as open /proc files see new figures) and removes the
// directories of processes not listed, emptying their files first.
func writeGroupProc(t *testing.T, root string, uptime float64, procs []gproc) {
	t.Helper()
	keep := map[string]bool{"uptime": true}
	for _, p := range procs {
		keep[fmt.Sprint(p.pid)] = true
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if !keep[e.Name()] {
			// Open files of a gone process read nothing, as on /proc.
			for _, f := range []string{"stat", "io"} {
				_ = os.Truncate(filepath.Join(root, e.Name(), f), 0)
			}
			if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "uptime"), fmt.Sprintf("%.2f 1.00\n", uptime))
	for _, p := range procs {
		dir := filepath.Join(root, fmt.Sprint(p.pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		state, ppid := p.state, p.ppid
		if state == "" {
			state = "S"
		}
		if ppid == 0 {
			ppid = 7
		}
		write(filepath.Join(dir, "stat"), fmt.Sprintf("%d (app) %s %d %d %d 0 -1 4194560 100 0 0 0 %d %d %d 0 20 0 1 0 %d 123456 %d 18446744073709551615 0 0\n",
			p.pid, state, ppid, p.pgrp, p.pgrp, p.utime, p.stime, p.child, p.start, p.rss))
		ioPath := filepath.Join(dir, "io")
		if p.noIO {
			_ = os.Remove(ioPath)
			continue
		}
		write(ioPath, fmt.Sprintf("rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: %d\nwrite_bytes: %d\ncancelled_write_bytes: 0\n", p.read, p.write))
	}
}

func proc(pid, pgrp, ppid int, start, ticks, read, write uint64) gproc {
	return gproc{fakeProc: fakeProc{pid: pid, pgrp: pgrp, utime: ticks, start: start, rss: 2}, ppid: ppid, read: read, write: write}
}

// fixedIO returns a GroupIO that reports io, or nil for nil.
func fixedIO(io *IO) func([][]byte) (IO, error) {
	if io == nil {
		return nil
	}
	return func([][]byte) (IO, error) { return *io, nil }
}

func TestSampleGroups(t *testing.T) {
	const pg = 500
	cum := func(r, w, ro, wo uint64) *IO { return &IO{ReadBytes: r, WriteBytes: w, ReadOps: ro, WriteOps: wo} }
	tests := []struct {
		name            string
		before, after   []gproc
		ioBefore, ioNow *IO // GroupIO of the two requests
		wantCPU         float64
		wantProcs       int
		wantIO          IO
		wantMeasured    bool
		wantOps         bool
		wantNote        string // substring
		wantOrphaned    bool
	}{
		{
			name:      "half a core and a megabyte written",
			before:    []gproc{proc(pg, pg, 7, 50, 100, 0, 1000)},
			after:     []gproc{proc(pg, pg, 7, 50, 150, 4096, 1000+1<<20)},
			wantCPU:   50,
			wantProcs: 1, wantIO: IO{ReadBytes: 4096, WriteBytes: 1 << 20}, wantMeasured: true,
			wantNote: "bytes only",
		},
		{
			name:      "an exited process never makes a figure negative",
			before:    []gproc{proc(pg, pg, 7, 50, 100, 0, 0), proc(501, pg, 600, 60, 9000, 1<<30, 1<<30)},
			after:     []gproc{proc(pg, pg, 7, 50, 110, 10, 20)},
			wantCPU:   10,
			wantProcs: 1, wantIO: IO{ReadBytes: 10, WriteBytes: 20}, wantMeasured: true,
		},
		{
			name:      "a process born since the previous sample counts in full",
			before:    []gproc{proc(pg, pg, 7, 50, 100, 0, 0)},
			after:     []gproc{proc(pg, pg, 7, 50, 100, 0, 0), proc(502, pg, pg, 1050, 30, 0, 512)},
			wantCPU:   30,
			wantProcs: 2, wantIO: IO{WriteBytes: 512}, wantMeasured: true,
		},
		{
			name:      "a reaped child's I/O counts once, not again in its parent",
			before:    []gproc{proc(pg, pg, 7, 50, 100, 0, 100), proc(503, pg, pg, 60, 0, 0, 5000)},
			after:     []gproc{proc(pg, pg, 7, 50, 100, 0, 100+5000+300)},
			wantProcs: 1, wantIO: IO{WriteBytes: 300}, wantMeasured: true,
		},
		{
			name:   "a reaped child's CPU counts once, and a short-lived one's in full",
			before: []gproc{proc(pg, pg, 7, 50, 100, 0, 0), proc(505, pg, pg, 60, 300, 0, 0)},
			// The child used 20 more ticks before it was reaped; another,
			// never seen, used 7.
			after:     []gproc{{fakeProc: fakeProc{pid: pg, pgrp: pg, utime: 110, start: 50, rss: 2}, ppid: 7, child: 320 + 7}},
			wantCPU:   10 + 20 + 7,
			wantProcs: 1, wantMeasured: true,
		},
		{
			name:      "unreadable /proc/PID/io is not measured",
			before:    []gproc{{fakeProc: fakeProc{pid: pg, pgrp: pg, start: 50, rss: 2}, noIO: true}},
			after:     []gproc{{fakeProc: fakeProc{pid: pg, pgrp: pg, start: 50, utime: 20, rss: 2}, noIO: true}},
			wantCPU:   20,
			wantProcs: 1, wantNote: fmt.Sprintf("/proc/%d/io", pg),
		},
		{
			name: "one process's unreadable /proc/PID/io leaves the others measured",
			before: []gproc{proc(pg, pg, 7, 50, 0, 0, 100),
				{fakeProc: fakeProc{pid: 506, pgrp: pg, start: 60, rss: 2}, ppid: pg, noIO: true}},
			after: []gproc{proc(pg, pg, 7, 50, 0, 0, 300),
				{fakeProc: fakeProc{pid: 506, pgrp: pg, start: 60, rss: 2}, ppid: pg, noIO: true}},
			wantProcs: 2, wantIO: IO{WriteBytes: 200}, wantMeasured: true,
		},
		{
			name:     "group I/O from a cgroup, with operations",
			before:   []gproc{proc(pg, pg, 7, 50, 0, 0, 0)},
			after:    []gproc{proc(pg, pg, 7, 50, 0, 999, 999)},
			ioBefore: cum(100, 200, 3, 4), ioNow: cum(150, 1200, 5, 14),
			wantProcs: 1, wantIO: IO{ReadBytes: 50, WriteBytes: 1000, ReadOps: 2, WriteOps: 10}, wantMeasured: true, wantOps: true,
		},
		{
			name:     "group I/O that started over counts from zero",
			before:   []gproc{proc(pg, pg, 7, 50, 0, 0, 0)},
			after:    []gproc{proc(pg, pg, 7, 50, 0, 0, 0)},
			ioBefore: cum(100, 200, 3, 4), ioNow: cum(10, 20, 1, 2),
			wantProcs: 1, wantIO: IO{ReadBytes: 10, WriteBytes: 20, ReadOps: 1, WriteOps: 2}, wantMeasured: true, wantOps: true,
		},
		{
			name:      "a leader reparented to init is orphaned",
			before:    []gproc{proc(pg, pg, 7, 50, 0, 0, 0)},
			after:     []gproc{proc(pg, pg, 1, 50, 0, 0, 0)},
			wantProcs: 1, wantMeasured: true, wantOrphaned: true,
		},
		{
			name:      "a leader whose parent changed is orphaned",
			before:    []gproc{proc(pg, pg, 7, 50, 0, 0, 0)},
			after:     []gproc{proc(pg, pg, 33, 50, 0, 0, 0)},
			wantProcs: 1, wantMeasured: true, wantOrphaned: true,
		},
		{
			name:   "zombies and other groups are left out",
			before: []gproc{proc(pg, pg, 7, 50, 100, 0, 0)},
			after: []gproc{
				proc(pg, pg, 7, 50, 110, 0, 0),
				{fakeProc: fakeProc{pid: 504, pgrp: pg, state: "Z", utime: 99, start: 1010}, ppid: pg},
				proc(600, 600, 7, 1010, 99, 99, 99),
			},
			wantCPU:   10,
			wantProcs: 1, wantMeasured: true,
		},
		{
			name:      "a group with no live process",
			before:    []gproc{proc(pg, pg, 7, 50, 100, 0, 0)},
			after:     nil,
			wantNote:  "no live process",
			wantProcs: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			now := time.Unix(1000, 0)
			s := fakeSampler(root, &now)

			writeGroupProc(t, root, 10, tc.before) // 1000 ticks since boot
			first, err := s.SampleGroups([]GroupRequest{{Key: "i-1", PGID: pg, GroupIO: fixedIO(tc.ioBefore)}})
			if err != nil {
				t.Fatal(err)
			}
			if f := first[0]; f.CPUPercent != 0 || f.IOMeasured || f.Interval != 0 || !strings.Contains(f.IONote, "first sample") {
				t.Errorf("first sample = %+v, want no CPU, no I/O, no interval and a note saying it is the first", f)
			}

			writeGroupProc(t, root, 11, tc.after)
			now = now.Add(time.Second)
			out, err := s.SampleGroups([]GroupRequest{{Key: "i-1", PGID: pg, GroupIO: fixedIO(tc.ioNow)}})
			if err != nil {
				t.Fatal(err)
			}
			got := out[0]
			if diff := got.CPUPercent - tc.wantCPU; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("CPUPercent = %v, want %v", got.CPUPercent, tc.wantCPU)
			}
			if got.Processes != tc.wantProcs || got.RSSBytes != uint64(tc.wantProcs)*2*4096 {
				t.Errorf("Processes = %d, RSS = %d; want %d processes of 2 pages", got.Processes, got.RSSBytes, tc.wantProcs)
			}
			if got.IO != tc.wantIO || got.IOMeasured != tc.wantMeasured || got.OpsMeasured != tc.wantOps {
				t.Errorf("IO = %+v measured %v ops %v (%q), want %+v measured %v ops %v", got.IO, got.IOMeasured, got.OpsMeasured, got.IONote, tc.wantIO, tc.wantMeasured, tc.wantOps)
			}
			if !strings.Contains(got.IONote, tc.wantNote) {
				t.Errorf("IONote = %q, want it to contain %q", got.IONote, tc.wantNote)
			}
			if got.Orphaned != tc.wantOrphaned {
				t.Errorf("Orphaned = %v (leader ppid %d), want %v", got.Orphaned, got.LeaderPPID, tc.wantOrphaned)
			}
			if tc.wantProcs > 0 && got.Interval != time.Second {
				t.Errorf("Interval = %v, want 1s", got.Interval)
			}
		})
	}
}

// TestSampleGroupsSeries: each call is the whole set of series; keys left
// out start over, and SampleGroup's series under the same key do not
// shorten SampleGroups' intervals.
func TestSampleGroupsSeries(t *testing.T) {
	root := t.TempDir()
	now := time.Unix(1000, 0)
	s := fakeSampler(root, &now)
	ticks := uint64(0)
	step := func() {
		ticks += 50
		now = now.Add(time.Second)
		writeGroupProc(t, root, 10, []gproc{proc(10, 10, 7, 5, ticks, 0, 0), proc(20, 20, 7, 5, ticks, 0, 0)})
	}
	step()
	both := []GroupRequest{{Key: "a", PGID: 10}, {Key: "b", PGID: 20}}
	if _, err := s.SampleGroups(both); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		reqs    []GroupRequest
		between func()
		wantCPU []float64
	}{
		{name: "both keys see half a core", reqs: both, wantCPU: []float64{50, 50}},
		{
			name: "ps sampling the same key in between changes nothing",
			reqs: both, between: func() { _, _ = s.SampleGroup("a", 10) },
			wantCPU: []float64{50, 50},
		},
		{name: "a key left out", reqs: both[:1], wantCPU: []float64{50}},
		{name: "comes back as a first sample", reqs: both, wantCPU: []float64{50, 0}},
		{name: "results follow the order of the requests", reqs: []GroupRequest{both[1], both[0]}, wantCPU: []float64{50, 50}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			step()
			if st.between != nil {
				st.between()
			}
			out, err := s.SampleGroups(st.reqs)
			if err != nil {
				t.Fatal(err)
			}
			var got []float64
			for i, o := range out {
				if o.Key != st.reqs[i].Key {
					t.Errorf("result %d is for %q, want %q", i, o.Key, st.reqs[i].Key)
				}
				got = append(got, o.CPUPercent)
			}
			if !slices.Equal(got, st.wantCPU) {
				t.Errorf("CPU = %v, want %v", got, st.wantCPU)
			}
		})
	}
	if _, err := s.SampleGroups(nil); err != nil {
		t.Fatal(err)
	}
	for pid, p := range s.groups.procs {
		if p.stat != nil || p.io != nil {
			t.Errorf("pid %d still has open files after SampleGroups(nil)", pid)
		}
	}
	if len(s.groups.series) != 0 {
		t.Errorf("series %v left after SampleGroups(nil)", s.groups.series)
	}
	if _, err := s.SampleGroups([]GroupRequest{{Key: "bad", PGID: 0}}); err == nil || !strings.Contains(err.Error(), "pgid = 0") {
		t.Errorf("pgid 0: err = %v, want one naming pgid = 0", err)
	}
}

func TestParseStatFast(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		wantErr bool
	}{
		{name: "plain", line: "42 (node) S 7 42 42 0 -1 4194560 100 0 0 0 120 30 0 0 20 0 11 0 5000 123456 789 18446744073709551615 0 0\n"},
		{name: "command with spaces and parentheses", line: "42 (my app) (x) R 7 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5 1 2 3\n"},
		{name: "short", line: "42 (node) S 7 42 42\n", wantErr: true},
		{name: "not a number", line: "42 (node) S 7 4x2 42 0 -1 4194560 100 0 0 0 120 30 0 0 20 0 11 0 5000 123456 789 1\n", wantErr: true},
		{name: "no command", line: "42 node S\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatFast(42, []byte(tc.line))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", got)
				}
				return
			}
			want, werr := parseStat(42, []byte(tc.line))
			if err != nil || werr != nil {
				t.Fatalf("errors %v, %v", err, werr)
			}
			if got.ppid != 7 {
				t.Errorf("ppid = %d, want 7", got.ppid)
			}
			got.ppid, got.childTicks = 0, 0
			if got != want {
				t.Errorf("parseStatFast = %+v, parseStat = %+v", got, want)
			}
		})
	}
}

func TestParseIO(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    IO
		wantErr bool
	}{
		{name: "kernel layout", text: "rchar: 9\nwchar: 8\nsyscr: 1\nsyscw: 1\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n", want: IO{ReadBytes: 4096, WriteBytes: 8192}},
		{name: "no trailing newline", text: "read_bytes: 1\nwrite_bytes: 2", want: IO{ReadBytes: 1, WriteBytes: 2}},
		{name: "missing write_bytes", text: "read_bytes: 1\n", wantErr: true},
		{name: "bad number", text: "read_bytes: x\nwrite_bytes: 2\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseIO([]byte(tc.text))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseIO = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestIOSub(t *testing.T) {
	tests := []struct {
		name      string
		cur, prev IO
		want      IO
		wantReset bool
	}{
		{name: "growth", cur: IO{10, 20, 3, 4}, prev: IO{5, 5, 1, 1}, want: IO{5, 15, 2, 3}},
		{name: "no change", cur: IO{10, 20, 3, 4}, prev: IO{10, 20, 3, 4}},
		{name: "one counter went down", cur: IO{10, 20, 3, 4}, prev: IO{5, 5, 9, 1}, wantReset: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reset := tc.cur.Sub(tc.prev)
			if got != tc.want || reset != tc.wantReset {
				t.Errorf("Sub = %+v, %v; want %+v, %v", got, reset, tc.want, tc.wantReset)
			}
		})
	}
}

// TestSampleGroupsFiles: a request's Files are read with each sample and
// feed its GroupIO; a missing file is tried again after a while, and a
// failing GroupIO falls back to /proc/PID/io.
func TestSampleGroupsFiles(t *testing.T) {
	const pg = 500
	root := t.TempDir()
	cg := t.TempDir()
	now := time.Unix(1000, 0)
	s := fakeSampler(root, &now)
	stat := filepath.Join(cg, "io.stat")
	// groupIO reads "READ WRITE" from the first file.
	groupIO := func(files [][]byte) (IO, error) {
		if files[0] == nil {
			return IO{}, fmt.Errorf("no io.stat")
		}
		var v IO
		if _, err := fmt.Sscan(string(files[0]), &v.ReadBytes, &v.WriteBytes); err != nil {
			return IO{}, err
		}
		return v, nil
	}
	req := []GroupRequest{{Key: "i-1", PGID: pg, Files: []string{stat, filepath.Join(cg, "absent")}, GroupIO: groupIO}}
	writeIO := func(content string) {
		if err := os.WriteFile(stat, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var procWrite uint64
	steps := []struct {
		name         string
		file         string // "" removes io.stat
		advance      time.Duration
		wantIO       IO
		wantMeasured bool
		wantOps      bool
		wantFile     string
		wantGroupErr bool
	}{
		{name: "first sample", file: "10 20", wantFile: "10 20", wantOps: false},
		{name: "growth of the file's counters", file: "15 120", advance: time.Second, wantIO: IO{ReadBytes: 5, WriteBytes: 100}, wantMeasured: true, wantOps: true, wantFile: "15 120"},
		{name: "an open file that was removed still reads", file: "", advance: time.Second, wantMeasured: true, wantOps: true, wantFile: "15 120"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.file != "" {
				writeIO(st.file)
			} else if err := os.Remove(stat); err != nil {
				t.Fatal(err)
			}
			procWrite += 1000
			now = now.Add(st.advance)
			writeGroupProc(t, root, 10, []gproc{proc(pg, pg, 7, 50, 0, 0, procWrite)})
			out, err := s.SampleGroups(req)
			if err != nil {
				t.Fatal(err)
			}
			got := out[0]
			if got.IO != st.wantIO || got.IOMeasured != st.wantMeasured || got.OpsMeasured != st.wantOps || (got.GroupIOError != nil) != st.wantGroupErr {
				t.Errorf("IO = %+v measured %v ops %v group error %v (%q); want %+v measured %v ops %v", got.IO, got.IOMeasured, got.OpsMeasured, got.GroupIOError, got.IONote, st.wantIO, st.wantMeasured, st.wantOps)
			}
			if len(got.Files) != 2 || string(got.Files[0]) != st.wantFile || got.Files[1] != nil {
				t.Errorf("Files = %q, want [%q nil]", got.Files, st.wantFile)
			}
		})
	}

	// A key seen afresh opens its files again: io.stat is gone, GroupIO
	// fails, and /proc/PID/io counts instead.
	if _, err := s.SampleGroups(nil); err != nil {
		t.Fatal(err)
	}
	for _, advance := range []time.Duration{0, time.Second} {
		now = now.Add(advance)
		procWrite += 1000
		writeGroupProc(t, root, 10, []gproc{proc(pg, pg, 7, 50, 0, 0, procWrite)})
		out, err := s.SampleGroups(req)
		if err != nil {
			t.Fatal(err)
		}
		if out[0].GroupIOError == nil || out[0].Files[0] != nil {
			t.Errorf("without io.stat: group error %v, files %q; want an error and no contents", out[0].GroupIOError, out[0].Files)
		}
		if advance > 0 && (out[0].IO != IO{WriteBytes: 1000} || out[0].OpsMeasured) {
			t.Errorf("fallback to /proc/PID/io: IO = %+v ops %v, want 1000 bytes written and no operations", out[0].IO, out[0].OpsMeasured)
		}
	}
	// The missing file is tried again after a while.
	writeIO("1 2")
	now = now.Add(recheckAfter)
	out, err := s.SampleGroups(req)
	if err != nil {
		t.Fatal(err)
	}
	if string(out[0].Files[0]) != "1 2" || out[0].GroupIOError != nil {
		t.Errorf("after the retry: files %q, group error %v; want io.stat read", out[0].Files, out[0].GroupIOError)
	}
}

func TestParseUptime(t *testing.T) {
	tests := []struct {
		name string
		text string
		want uint64
	}{
		{name: "kernel layout", text: "9123.45 17000.10\n", want: 912345},
		{name: "one decimal", text: "10.5 1.0\n", want: 1050},
		{name: "whole seconds", text: "7\n", want: 700},
		{name: "garbage", text: "x.5 1\n", want: 0},
		{name: "empty", text: "", want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseUptime([]byte(tc.text), 100); got != tc.want {
				t.Errorf("parseUptime(%q) = %d, want %d", tc.text, got, tc.want)
			}
		})
	}
}

// TestSampleGroupsListing: /proc is listed every listEvery, or at once
// when a requested group's leader is unknown; a process found late
// counts in full from its birth when it was born since the listing
// before.
func TestSampleGroupsListing(t *testing.T) {
	const pg = 500
	root := t.TempDir()
	now := time.Unix(1000, 0)
	s := fakeSampler(root, &now)
	s.listEvery = 5 * time.Second
	req := []GroupRequest{{Key: "i-1", PGID: pg}}
	leader := proc(pg, pg, 7, 50, 0, 0, 0)
	steps := []struct {
		name    string
		procs   []gproc
		reqs    []GroupRequest
		wantCPU float64
		wantN   int
	}{
		{name: "first sample lists /proc", procs: []gproc{leader}, reqs: req, wantN: 1},
		{name: "a child born between listings is not seen yet", procs: []gproc{leader, proc(501, pg, pg, 1050, 40, 0, 0)}, reqs: req, wantN: 1},
		{
			name:  "a new group's leader makes a listing, which finds the child and counts it in full",
			procs: []gproc{leader, proc(501, pg, pg, 1050, 80, 0, 0), proc(600, 600, 7, 1150, 0, 0, 0)},
			reqs:  []GroupRequest{req[0], {Key: "i-2", PGID: 600}}, wantCPU: 80, wantN: 2,
		},
		{name: "between listings the known child is read", procs: []gproc{leader, proc(501, pg, pg, 1050, 100, 0, 0)}, reqs: req, wantCPU: 20, wantN: 2},
		{name: "a child gone between listings reads nothing", procs: []gproc{leader}, reqs: req, wantN: 1},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if i > 0 {
				now = now.Add(time.Second)
			}
			writeGroupProc(t, root, 10+float64(i), st.procs)
			out, err := s.SampleGroups(st.reqs)
			if err != nil {
				t.Fatal(err)
			}
			if got := out[0]; got.CPUPercent != st.wantCPU || got.Processes != st.wantN {
				t.Errorf("CPU %v over %d processes, want %v over %d", got.CPUPercent, got.Processes, st.wantCPU, st.wantN)
			}
		})
	}
}

// TestSampleGroupsIOReadFails: a /proc/PID/io that cannot be read for a
// sample loses nothing: the next read counts the growth since the last
// one that worked.
func TestSampleGroupsIOReadFails(t *testing.T) {
	const pg = 500
	root := t.TempDir()
	now := time.Unix(1000, 0)
	s := fakeSampler(root, &now)
	req := []GroupRequest{{Key: "i-1", PGID: pg}}
	ioPath := filepath.Join(root, fmt.Sprint(pg), "io")
	steps := []struct {
		name         string
		written      uint64
		garbage      bool
		wantWrite    uint64
		wantMeasured bool
	}{
		{name: "first sample", written: 100},
		{name: "growth", written: 150, wantWrite: 50, wantMeasured: true},
		{name: "unreadable", garbage: true},
		{name: "readable again: the growth since the last good read", written: 400, wantWrite: 250, wantMeasured: true},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if i > 0 {
				now = now.Add(time.Second)
			}
			writeGroupProc(t, root, 10+float64(i), []gproc{proc(pg, pg, 7, 50, 0, 0, st.written)})
			if st.garbage {
				if err := os.WriteFile(ioPath, []byte("garbage\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := s.SampleGroups(req)
			if err != nil {
				t.Fatal(err)
			}
			got := out[0]
			if got.IO.WriteBytes != st.wantWrite || got.IOMeasured != st.wantMeasured {
				t.Errorf("wrote %d, measured %v (%q); want %d, %v", got.IO.WriteBytes, got.IOMeasured, got.IONote, st.wantWrite, st.wantMeasured)
			}
		})
	}
}
