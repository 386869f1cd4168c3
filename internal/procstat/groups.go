package procstat

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// DefaultListEvery is how often SampleGroups lists /proc to find the
// processes that joined the requested groups. Between listings it reads
// only the processes it knows; a process found by a listing counts in
// full from its birth if it was born since the listing before, so CPU
// and I/O of new processes are late but not lost (unless a process lives
// and dies between two listings).
const DefaultListEvery = 5 * time.Second

// recheckAfter is how long SampleGroups trusts the process group it read
// for a process outside every requested group before reading it again
// (pid reuse and setpgid are the only ways it can change).
const recheckAfter = 10 * time.Second

// IO is disk input/output: bytes and operations, cumulative or during an
// interval.
type IO struct {
	ReadBytes, WriteBytes uint64
	ReadOps, WriteOps     uint64
}

// Sub returns the growth from prev to io; reset is true, and the growth
// zero, when any counter went down (its source was reset, as a cgroup
// that was made again).
func (io IO) Sub(prev IO) (growth IO, reset bool) {
	if io.ReadBytes < prev.ReadBytes || io.WriteBytes < prev.WriteBytes || io.ReadOps < prev.ReadOps || io.WriteOps < prev.WriteOps {
		return IO{}, true
	}
	return IO{
		ReadBytes: io.ReadBytes - prev.ReadBytes, WriteBytes: io.WriteBytes - prev.WriteBytes,
		ReadOps: io.ReadOps - prev.ReadOps, WriteOps: io.WriteOps - prev.WriteOps,
	}, false
}

// GroupRequest names one process group for SampleGroups.
type GroupRequest struct {
	// Key names the series: rates are the growth since the previous
	// SampleGroups call that had the same key.
	Key string
	// PGID is the process group id (the pid of the group's leader).
	PGID int
	// Files are more files to read with each sample, such as the
	// group's cgroup memory.current and io.stat: they are opened once and
	// kept open while the key is sampled (a file that cannot be opened is
	// tried again after a while), and their contents are handed to
	// GroupIO and returned in GroupSample.Files.
	Files []string
	// GroupIO, when set, returns the group's cumulative disk I/O from the
	// contents of Files (nil for a file that could not be read). Its
	// growth is reported instead of the sum of /proc/PID/io; when it
	// fails, /proc/PID/io is used and IONote says why.
	GroupIO func(files [][]byte) (IO, error)
}

// GroupSample is one process group's resource use during the interval
// since the previous sample of its key.
type GroupSample struct {
	// Key is the request's key.
	Key string
	// Files holds the contents of the request's Files, nil for one that
	// could not be read; valid until the next SampleGroups call.
	Files [][]byte
	// Processes counts the live processes of the group.
	Processes int
	// CPUPercent is CPU use in percent of one core (a process spinning on
	// two cores reads 200); 0 on a key's first sample.
	CPUPercent float64
	// RSSBytes is the summed resident set size now.
	RSSBytes uint64
	// IO is the disk I/O during the interval. From /proc/PID/io it has
	// bytes only (ReadOps and WriteOps stay 0, and OpsMeasured is false).
	IO IO
	// IOMeasured is false when IO could not be measured (a first sample,
	// no live process, or no member's /proc/PID/io readable).
	IOMeasured bool
	// OpsMeasured is true when IO has operation counts (from GroupIO).
	OpsMeasured bool
	// IONote says why IO is not measured, or where it comes from.
	IONote string
	// GroupIOError is why the request's GroupIO failed, when it did:
	// IO then comes from /proc/PID/io.
	GroupIOError error
	// Interval is the wall time since the key's previous sample; 0 on its
	// first.
	Interval time.Duration
	// LeaderPPID is the parent pid of the group leader (the process whose
	// pid is PGID), 0 when the leader is not alive.
	LeaderPPID int
	// Orphaned is true when the leader lost the parent it had when the
	// key first saw it, or its parent is pid 1: whoever started it is
	// gone. (A leader first seen after its parent died, reparented to a
	// subreaper other than pid 1, is not detected.)
	Orphaned bool
}

// groupState is what SampleGroups keeps between calls: the processes it
// tracks and the series of each key.
type groupState struct {
	procs  map[int]*tracked
	series map[string]*series
	gen    uint64
	dirBuf []byte
	buf    []byte
	want   map[int]int // pgid -> index into the current requests
	uptime *os.File    // /proc/uptime, kept open
	// listedAt is when /proc was last listed, listUptime the uptime
	// then.
	listedAt   time.Time
	listUptime uint64
}

// tracked is a process SampleGroups has read.
type tracked struct {
	pid, pgrp int
	start     uint64
	checkedAt time.Time
	seen      uint64 // generation of the last /proc listing that had it
	// bornAfter is the uptime of the listing before the one that found
	// the process (0 for the first listing): born since then, all its
	// use is new.
	bornAfter uint64
	// stat and io are open while the process belongs to a requested
	// group: a pread is all a sample costs, and a read fails once the
	// process is gone, even if its pid is reused.
	stat, io *os.File
	ioErr    error
	// ioRetryAt is when a refused /proc/PID/io is tried again.
	ioRetryAt time.Time
}

func (p *tracked) close() {
	if p.stat != nil {
		_ = p.stat.Close()
		p.stat = nil
	}
	if p.io != nil {
		_ = p.io.Close()
		p.io = nil
	}
	p.ioErr = nil
}

// series is what a key's previous sample remembers.
type series struct {
	at          time.Time
	firstUptime uint64 // uptime at the key's first sample
	procs       map[procID]counters
	ticks       uint64 // tick growth summed in the current sample
	// ioRead and ioFailed count the processes whose /proc/PID/io was
	// read, or not, in the current sample; ioFailNote tells the first
	// failure.
	ioRead, ioFailed int
	ioFailNote       string
	gen              uint64
	// groupIO is the previous cumulative GroupIO, when the request had one.
	groupIO *IO
	// curIO is this sample's GroupIO, valid when curOK; ioErr is why
	// GroupIO failed.
	curIO      IO
	curOK      bool
	ioErr      error
	files      []heldFile
	fileOut    [][]byte
	leader     procID
	leaderPPID int
	// credit is, per parent process, the CPU time and I/O of its
	// children that left the group: a parent's figures grow by the whole
	// use of each child it reaps, which was counted already while the
	// child lived.
	credit map[procID]credit
}

// counters are one process's cumulative figures at a sample.
type counters struct {
	ticks  uint64
	io     IO
	ioOK   bool
	sample uint64 // generation of the sample that saw it
	ppid   int
	grew   IO // I/O growth counted in the sample that saw it
	// ioStale is set when io was carried over from an earlier sample
	// because /proc/PID/io could not be read.
	ioStale bool
	// grewTicks is the tick growth counted in the sample that saw it.
	grewTicks uint64
}

// credit is use of reaped children still to take off a parent's growth.
type credit struct {
	ticks uint64
	io    IO
}

// SampleGroups samples every requested process group in one pass over
// /proc, for a collector that samples many groups periodically: it lists
// /proc once and reads only the processes of requested groups (their
// stat and io files stay open between calls), so a call costs a few
// microseconds per process.
//
// Each call replaces the set of series: keys absent from reqs are
// forgotten and their files closed (SampleGroups(nil) releases all). Its
// series are apart from those of SampleGroup and SamplePIDs, so a
// periodic collector and an occasional ps never shorten each other's
// intervals; but two periodic callers of SampleGroups on one Sampler
// would, and need a Sampler each.
//
// The result has one GroupSample per request, in order. CPU and I/O
// count per process, so a process that exits between two samples never
// makes a figure negative (its use since the previous sample is lost),
// and one born since then counts in full.
func (s *Sampler) SampleGroups(reqs []GroupRequest) ([]GroupSample, error) {
	for _, r := range reqs {
		if r.PGID <= 0 {
			return nil, fmt.Errorf("sample groups: %s: pgid = %d is invalid; pass the positive process group id of the instance", r.Key, r.PGID)
		}
	}
	s.gmu.Lock()
	defer s.gmu.Unlock()
	g := &s.groups
	if g.procs == nil {
		g.procs = make(map[int]*tracked)
		g.series = make(map[string]*series)
		g.want = make(map[int]int)
		g.dirBuf = make([]byte, 32<<10)
		g.buf = make([]byte, 4096)
	}
	g.gen++
	clear(g.want)
	for i, r := range reqs {
		g.want[r.PGID] = i
	}
	now := s.now()
	uptime := s.groupUptime()
	if s.mustList(reqs, now) {
		if err := s.list(now, uptime); err != nil {
			return nil, err
		}
	}

	out := make([]GroupSample, len(reqs))
	for i, r := range reqs {
		out[i].Key = r.Key
		ser := g.series[r.Key]
		if ser == nil {
			ser = &series{procs: make(map[procID]counters)}
			g.series[r.Key] = ser
		}
		ser.gen = g.gen
		s.readFiles(r, &out[i], ser, now)
	}
	// One pass over the tracked processes fills every group.
	for _, p := range g.procs {
		i, ok := g.want[p.pgrp]
		if !ok {
			p.close()
			continue
		}
		s.sampleProc(p, reqs[i], &out[i], g.series[reqs[i].Key], now)
	}
	for i, r := range reqs {
		s.finish(&out[i], g.series[r.Key], now, uptime)
	}
	for k, ser := range g.series {
		if ser.gen != g.gen {
			ser.closeFiles(0)
			delete(g.series, k)
		}
	}
	if len(reqs) == 0 {
		for _, p := range g.procs {
			p.close()
		}
		if g.uptime != nil {
			_ = g.uptime.Close()
			g.uptime = nil
		}
	}
	return out, nil
}

// mustList reports whether SampleGroups lists /proc now: every
// listEvery, and whenever a requested group's leader is not known.
func (s *Sampler) mustList(reqs []GroupRequest, now time.Time) bool {
	g := &s.groups
	if g.listedAt.IsZero() || now.Sub(g.listedAt) >= s.listEvery || now.Before(g.listedAt) {
		return true
	}
	for _, r := range reqs {
		if p, ok := g.procs[r.PGID]; !ok || p.pgrp != r.PGID {
			return true
		}
	}
	return false
}

// list reads the /proc listing: it drops processes that are gone, reads
// the stat of new ones (and of ones whose group it has not checked for
// recheckAfter, or that lead a requested group) to learn their group.
func (s *Sampler) list(now time.Time, uptime uint64) error {
	g := &s.groups
	defer func() { g.listedAt, g.listUptime = now, uptime }()
	dir, err := os.Open(s.root)
	if err != nil {
		return fmt.Errorf("sample groups: %w", err)
	}
	defer dir.Close()
	fd := int(dir.Fd())
	for {
		n, err := syscall.Getdents(fd, g.dirBuf)
		if err != nil {
			return fmt.Errorf("sample groups: list %s: %w", s.root, err)
		}
		if n <= 0 {
			break
		}
		for b := g.dirBuf[:n]; len(b) >= 19; {
			reclen := int(b[16]) | int(b[17])<<8
			if reclen < 19 || reclen > len(b) {
				break
			}
			if pid := direntPID(b[19:reclen]); pid > 0 {
				s.note(pid, now)
			}
			b = b[reclen:]
		}
	}
	for pid, p := range g.procs {
		if p.seen != g.gen {
			p.close()
			delete(g.procs, pid)
		}
	}
	return nil
}

// direntPID parses a NUL-terminated directory entry name as a pid; 0 if
// it is not one.
func direntPID(name []byte) int {
	pid := 0
	for i, c := range name {
		if c == 0 {
			if i == 0 {
				return 0
			}
			break
		}
		if c < '0' || c > '9' || pid > 1<<30 {
			return 0
		}
		pid = pid*10 + int(c-'0')
	}
	return pid
}

// note marks pid as listed, reading its group when it is new, was last
// checked long ago, or leads a requested group without being in it yet
// (caught between fork and setpgid).
func (s *Sampler) note(pid int, now time.Time) {
	g := &s.groups
	p, ok := g.procs[pid]
	if ok {
		p.seen = g.gen
		_, leads := g.want[pid]
		_, member := g.want[p.pgrp]
		if member || (!leads && now.Sub(p.checkedAt) < recheckAfter) {
			return
		}
		p.close()
	} else {
		p = &tracked{pid: pid, bornAfter: g.listUptime}
		g.procs[pid] = p
	}
	p.seen = g.gen
	p.checkedAt = now
	f, err := os.Open(filepath.Join(s.root, strconv.Itoa(pid), "stat"))
	if err != nil {
		p.pgrp, p.start = 0, 0
		return
	}
	st, ok := s.preadStat(f, pid)
	if !ok {
		_ = f.Close()
		p.pgrp, p.start = 0, 0
		return
	}
	p.pgrp, p.start = st.pgrp, st.start
	if _, member := g.want[p.pgrp]; member {
		p.stat = f
	} else {
		_ = f.Close()
	}
}

// sampleProc adds one member process to its group's sample.
func (s *Sampler) sampleProc(p *tracked, r GroupRequest, out *GroupSample, ser *series, now time.Time) {
	g := &s.groups
	st, ok := procStat{}, false
	if p.stat != nil {
		st, ok = s.preadStat(p.stat, p.pid)
	}
	if !ok || st.start != p.start {
		// The open file failed (its process is gone) or none was open:
		// look at what has the pid now.
		p.close()
		f, err := os.Open(filepath.Join(s.root, strconv.Itoa(p.pid), "stat"))
		if err != nil {
			return
		}
		p.stat = f
		if st, ok = s.preadStat(f, p.pid); !ok {
			p.close()
			return
		}
		p.start = st.start
	}
	p.pgrp = st.pgrp
	if p.pgrp != r.PGID {
		p.close()
		p.checkedAt = now
		return
	}
	if st.state == 'Z' || st.state == 'X' || st.state == 'x' {
		// A zombie counts no more, but keeps its last figures while it
		// waits to be reaped: only then does its parent's I/O grow by
		// it.
		id := procID{p.pid, p.start}
		if old, seen := ser.procs[id]; seen {
			old.sample, old.grew, old.grewTicks = g.gen, IO{}, 0
			ser.procs[id] = old
		}
		return
	}
	out.Processes++
	out.RSSBytes += st.rss * s.pageSize
	if p.pid == r.PGID {
		out.LeaderPPID = st.ppid
		if ser.leader != (procID{p.pid, p.start}) {
			ser.leader, ser.leaderPPID = procID{p.pid, p.start}, st.ppid
		}
		out.Orphaned = st.ppid <= 1 || st.ppid != ser.leaderPPID
	}
	// Reaped children's times count too: a child too short-lived to be
	// seen is not lost.
	c := counters{ticks: st.ticks + st.childTicks, sample: g.gen, ppid: st.ppid}
	id := procID{p.pid, p.start}
	old, seen := ser.procs[id]
	if !ser.curOK {
		c.io, c.ioOK = s.readIO(p, now)
		switch {
		case c.ioOK:
			ser.ioRead++
		case ser.ioFailed == 0:
			// Only the first failure is described; the group's I/O is
			// not measured only when no process's could be read.
			why := p.ioErr
			if why == nil {
				why = errors.New("unreadable")
			}
			ser.ioFailNote = fmt.Sprintf("/proc/%d/io: %v", p.pid, why)
			ser.ioFailed++
		default:
			ser.ioFailed++
		}
		if !c.ioOK && seen && old.ioOK {
			// Keep the last figures read: the next read that works
			// counts the growth since them, nothing is lost.
			c.io, c.ioOK, c.ioStale = old.io, true, true
		}
	}
	defer func() { ser.procs[id] = c }()
	if ser.at.IsZero() {
		return
	}
	switch {
	case seen:
		if c.ticks >= old.ticks {
			c.grewTicks = c.ticks - old.ticks
		}
		if c.ioOK && old.ioOK && !c.ioStale {
			c.grew, _ = c.io.Sub(old.io) // a counter that went down adds nothing
		}
	case p.bornAfter > 0 && st.start >= p.bornAfter && st.start >= ser.firstUptime:
		// Born since the previous sample: all its use is new.
		c.grewTicks = c.ticks
		if c.ioOK {
			c.grew = c.io
		}
	}
	addIO(&out.IO, c.grew)
	ser.ticks += c.grewTicks
}

// settleCredit takes the use of members that left the group off their
// parents' growth, so that a child's CPU time and I/O count once: while
// it lived, not again when its parent reaps it (the kernel adds a reaped
// child's figures to its parent's: cutime and cstime in stat, and
// /proc/PID/io). ticks is the group's summed tick growth; withIO says
// whether out.IO is summed from the processes.
func (s *Sampler) settleCredit(out *GroupSample, ser *series, ticks *uint64, withIO bool) {
	g := &s.groups
	for id, c := range ser.procs {
		if c.sample == g.gen || (c.ticks == 0 && (!c.ioOK || c.io == IO{})) {
			continue
		}
		parent, ok := g.procs[c.ppid]
		if !ok {
			continue
		}
		pid := procID{parent.pid, parent.start}
		if pc, ok := ser.procs[pid]; !ok || pc.sample != g.gen || id == pid {
			continue
		}
		if ser.credit == nil {
			ser.credit = make(map[procID]credit)
		}
		cr := ser.credit[pid]
		cr.ticks += c.ticks
		if c.ioOK {
			addIO(&cr.io, c.io)
		}
		ser.credit[pid] = cr
	}
	for pid, cr := range ser.credit {
		pc, ok := ser.procs[pid]
		if !ok || pc.sample != g.gen {
			delete(ser.credit, pid) // the parent is gone too
			continue
		}
		t := min(cr.ticks, pc.grewTicks)
		*ticks -= t
		cr.ticks -= t
		if withIO {
			take := IO{
				ReadBytes: min(cr.io.ReadBytes, pc.grew.ReadBytes), WriteBytes: min(cr.io.WriteBytes, pc.grew.WriteBytes),
				ReadOps: min(cr.io.ReadOps, pc.grew.ReadOps), WriteOps: min(cr.io.WriteOps, pc.grew.WriteOps),
			}
			out.IO, _ = out.IO.Sub(take)
			cr.io, _ = cr.io.Sub(take)
		} else {
			cr.io = IO{}
		}
		if cr == (credit{}) {
			delete(ser.credit, pid)
		} else {
			ser.credit[pid] = cr
		}
	}
}

func addIO(dst *IO, d IO) {
	dst.ReadBytes += d.ReadBytes
	dst.WriteBytes += d.WriteBytes
	dst.ReadOps += d.ReadOps
	dst.WriteOps += d.WriteOps
}

// finish turns a group's summed ticks into a rate, applies its GroupIO
// and forgets the processes that left it.
func (s *Sampler) finish(out *GroupSample, ser *series, now time.Time, uptime uint64) {
	g := &s.groups
	first := ser.at.IsZero()
	wall := now.Sub(ser.at)
	ticks := ser.ticks
	ser.ticks = 0
	s.settleCredit(out, ser, &ticks, !ser.curOK)
	if ser.curOK {
		ser.credit = nil
	}
	if !first && wall > 0 {
		out.Interval = wall
		out.CPUPercent = float64(ticks) / s.hz / wall.Seconds() * 100
	}
	switch {
	case ser.curOK:
		out.IONote = ""
		if ser.groupIO != nil && !first {
			d, reset := ser.curIO.Sub(*ser.groupIO)
			if reset {
				// The source started over within the interval.
				d = ser.curIO
			}
			out.IO = d
			out.IOMeasured, out.OpsMeasured = true, true
		} else {
			out.IONote = "first sample: no interval yet"
		}
		cur := ser.curIO
		ser.groupIO = &cur
	case first:
		out.IONote = "first sample: no interval yet"
	case ser.ioRead == 0 && ser.ioFailed > 0:
		out.IONote = ser.ioFailNote
	case out.Processes > 0:
		out.IOMeasured = true
		out.IONote = "from /proc/PID/io: bytes only, no operation counts"
	default:
		out.IONote = "no live process"
	}
	ser.ioRead, ser.ioFailed = 0, 0
	if !ser.curOK {
		ser.groupIO = nil
		out.GroupIOError = ser.ioErr
	}
	if out.LeaderPPID == 0 {
		ser.leader, ser.leaderPPID = procID{}, 0
	}
	for id, c := range ser.procs {
		if c.sample != g.gen {
			delete(ser.procs, id)
		}
	}
	if first {
		ser.firstUptime = uptime
	}
	ser.at = now
}
