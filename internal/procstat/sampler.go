package procstat

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultClockTicks is the kernel's USER_HZ (sysconf(_SC_CLK_TCK)) on every
// mainstream Linux architecture: /proc reports CPU times in 1/100 s. The
// Sampler asks the kernel (the AT_CLKTCK auxiliary vector entry) and falls
// back to this value.
const DefaultClockTicks = 100

// atClkTck is the auxiliary vector key of the clock tick rate.
const atClkTck = 17

// Sample is the resource use of a set of processes at one moment.
type Sample struct {
	// PIDs are the live processes counted, in ascending order.
	PIDs []int
	// CPUPercent is CPU use since the previous sample of the same key, in
	// percent of one core as top and pm2 show it: a process spinning on two
	// cores reads 200. The first sample of a key reads 0.
	CPUPercent float64
	// RSSBytes is the summed resident set size.
	RSSBytes uint64
	// Threads is the summed thread count.
	Threads int
}

// Sampler computes CPU and memory use of process sets from /proc. CPU
// use is the growth of user+system time between two samples of the same
// key divided by the wall time between them, counted per process, so a
// process that exits or joins between samples never makes the figure
// negative or jump. A Sampler is safe for concurrent use.
type Sampler struct {
	now      func() time.Time
	root     string // procfs mount point
	hz       float64
	pageSize uint64
	// listEvery is SampleGroups' listing period (DefaultListEvery).
	listEvery time.Duration

	// mu guards the fields that follow.
	mu   sync.Mutex
	last map[string]snapshot

	// gmu guards groups, the state of SampleGroups.
	gmu    sync.Mutex
	groups groupState
}

// snapshot is what a key's previous sample remembers.
type snapshot struct {
	at time.Time
	// uptime is the boot-relative time of the sample in clock ticks, to
	// tell processes born since then from ones seen for the first time.
	uptime uint64
	ticks  map[procID]uint64
}

// procID names a process across pid reuse.
type procID struct {
	pid   int
	start uint64
}

// procStat is the part of /proc/PID/stat the sampler uses.
type procStat struct {
	pid   int
	state byte
	ppid  int
	pgrp  int
	ticks uint64 // utime + stime
	// childTicks is cutime + cstime: the times of reaped children.
	childTicks uint64
	threads    int
	start      uint64
	rss        uint64 // pages
}

// NewSampler returns a Sampler reading /proc. now supplies wall time for
// CPU rates; nil means time.Now.
func NewSampler(now func() time.Time) *Sampler {
	if now == nil {
		now = time.Now
	}
	return &Sampler{
		now:      now,
		root:     "/proc",
		hz:       float64(clockTicks()),
		pageSize: uint64(os.Getpagesize()),

		listEvery: DefaultListEvery,
		last:      make(map[string]snapshot),
	}
}

// clockTicks returns the kernel's clock tick rate for /proc times.
func clockTicks() uint64 {
	auxv, err := unix.Auxv()
	if err != nil {
		return DefaultClockTicks
	}
	for _, kv := range auxv {
		if kv[0] == atClkTck && kv[1] > 0 {
			return uint64(kv[1])
		}
	}
	return DefaultClockTicks
}

// SampleGroup samples every live process whose process group id is pgid
// (as set by setpgid; madang starts each instance in its own group). A
// group with no live process gives an empty Sample and no error. key
// names the series for CPU rates; Forget it when done.
func (s *Sampler) SampleGroup(key string, pgid int) (Sample, error) {
	if pgid <= 0 {
		return Sample{}, fmt.Errorf("sample group: pgid = %d is invalid; pass the positive process group id of the instance", pgid)
	}
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return Sample{}, fmt.Errorf("sample group %d: %w", pgid, err)
	}
	var procs []procStat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		st, ok := s.read(pid)
		if ok && st.pgrp == pgid {
			procs = append(procs, st)
		}
	}
	return s.record(key, procs), nil
}

// SamplePIDs samples the given processes; pids that no longer exist are
// left out. key names the series for CPU rates; Forget it when done.
func (s *Sampler) SamplePIDs(key string, pids []int) (Sample, error) {
	var procs []procStat
	for _, pid := range pids {
		if pid <= 0 {
			return Sample{}, fmt.Errorf("sample pids: pid = %d is invalid; pass positive process ids", pid)
		}
		if st, ok := s.read(pid); ok {
			procs = append(procs, st)
		}
	}
	return s.record(key, procs), nil
}

// Forget drops the CPU history of key.
func (s *Sampler) Forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.last, key)
}

// read returns the stat of a live (non-zombie) process; ok is false if it
// is gone, is a zombie or its stat cannot be parsed.
func (s *Sampler) read(pid int) (procStat, bool) {
	b, err := os.ReadFile(filepath.Join(s.root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, false
	}
	st, err := parseStat(pid, b)
	if err != nil || st.state == 'Z' || st.state == 'X' || st.state == 'x' {
		return procStat{}, false
	}
	return st, true
}

// record turns the processes of one sample into a Sample and remembers
// them as key's previous sample.
func (s *Sampler) record(key string, procs []procStat) Sample {
	now := s.now()
	uptime := s.uptime()
	cur := snapshot{at: now, uptime: uptime, ticks: make(map[procID]uint64, len(procs))}
	var out Sample
	for _, p := range procs {
		out.PIDs = append(out.PIDs, p.pid)
		out.RSSBytes += p.rss * s.pageSize
		out.Threads += p.threads
		cur.ticks[procID{p.pid, p.start}] = p.ticks
	}
	slices.Sort(out.PIDs)

	s.mu.Lock()
	prev, seen := s.last[key]
	s.last[key] = cur
	s.mu.Unlock()
	if !seen {
		return out
	}
	wall := now.Sub(prev.at).Seconds()
	if wall <= 0 {
		return out
	}
	var used uint64
	for _, p := range procs {
		old, ok := prev.ticks[procID{p.pid, p.start}]
		switch {
		case ok && p.ticks >= old:
			used += p.ticks - old
		case !ok && prev.uptime > 0 && p.start >= prev.uptime:
			// Born since the previous sample: all its time is new.
			used += p.ticks
		}
	}
	out.CPUPercent = float64(used) / s.hz / wall * 100
	return out
}

// uptime returns the time since boot in clock ticks, or 0 if unknown.
func (s *Sampler) uptime() uint64 {
	b, err := os.ReadFile(filepath.Join(s.root, "uptime"))
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0
	}
	sec, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil || sec < 0 {
		return 0
	}
	return uint64(sec * s.hz)
}

// parseStat parses /proc/PID/stat (see proc(5)).
func parseStat(pid int, b []byte) (procStat, error) {
	f, err := statFields(b)
	if err != nil {
		return procStat{}, err
	}
	// f[0] is field 3; field n is f[n-3].
	if len(f) < 24-3+1 {
		return procStat{}, fmt.Errorf("short /proc stat line (%d fields)", len(f))
	}
	num := func(field int) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = strconv.ParseUint(string(f[field-3]), 10, 64)
		return v
	}
	pgrp, perr := strconv.Atoi(string(f[5-3]))
	st := procStat{
		pid:     pid,
		state:   f[0][0],
		pgrp:    pgrp,
		ticks:   num(14) + num(15),
		threads: int(num(20)),
		start:   num(22),
		rss:     num(24),
	}
	if err == nil {
		err = perr
	}
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc stat of pid %d: %w", pid, err)
	}
	return st, nil
}
