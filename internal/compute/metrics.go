package compute

import (
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/cgroup"
	"github.com/madang-dev/madang/internal/instancetype"
	"github.com/madang-dev/madang/internal/procstat"
	"github.com/madang-dev/madang/internal/supervisor"
)

// Sample is one instance's resource use over the last interval, for
// CloudWatch's AWS/EC2 metrics.
type Sample struct {
	// InstanceID, InstanceType and ImageID (the image's ami-… id) are the
	// instance's; Group is its instance group ("" for none), the
	// AutoScalingGroupName dimension.
	InstanceID, InstanceType, ImageID, Group string
	// At is when the sample was taken.
	At time.Time
	// Running is true while the app runs (phase running or starting).
	Running bool
	// CPUUtilization is CPU use in percent of the instance type's vCPUs,
	// 0–100 as on EC2: a process spinning one core of a 2-vCPU type
	// reads 50. 0 on an instance's first sample.
	CPUUtilization float64
	// MemoryUtilization is MemoryBytes in percent of the instance type's
	// memory.
	MemoryUtilization float64
	// MemoryBytes is the memory charged to the instance's cgroup when it
	// has one (page cache included, as the kernel charges it), otherwise
	// the summed resident set size of its processes.
	MemoryBytes uint64
	// DiskReadBytes, DiskWriteBytes, DiskReadOps and DiskWriteOps are the
	// disk I/O during the interval.
	DiskReadBytes, DiskWriteBytes, DiskReadOps, DiskWriteOps float64
	// DiskMeasured is false when no disk figure could be read.
	DiskMeasured bool
	// DiskNote says why the disk figures are not measured, or what is
	// missing when only some are (the operation counts, without a cgroup
	// with I/O counters); empty when all are.
	DiskNote string
	// DiskOpsMeasured is true when DiskReadOps and DiskWriteOps were
	// measured too (from the instance's cgroup I/O counters).
	DiskOpsMeasured bool
	// StatusCheckFailedInstance is 1 when the app is not running or not
	// ready while it should be: in backoff, exited or errored, or
	// starting again after it ended. StatusCheckFailedSystem is 1 when
	// what runs the app is gone: no supervisor knows a running instance,
	// or the app's shim died and the app was left to init. Both are 0
	// while an instance starts for the first time or stops.
	StatusCheckFailedInstance, StatusCheckFailedSystem float64
	// Restarts counts the supervisor's restarts of the app, cumulative.
	Restarts int
	// NetworkMeasured is always false: instances share the host's network
	// namespace, so per-instance NetworkIn and NetworkOut cannot be
	// measured (the load balancer's bytes per target can stand in).
	NetworkMeasured bool
}

// Disk notes of Samples.
const (
	noteNotRunning   = "the app is not running"
	noteFirst        = "first sample: no interval yet"
	noteNoProcess    = "no live process of the app"
	noteProcIO       = "from /proc/PID/io: bytes only, DiskReadOps and DiskWriteOps are not measured"
	noteNoCgroup     = noteProcIO + " (the instance has no cgroup)"
	noteNoCgroupIO   = noteProcIO + " (the instance's cgroup has no I/O counters: in cgroup v1 madang makes no blkio group, in v2 the io controller is not enabled for it)"
	noteProcIOAccess = " (reading /proc/PID/io needs the app's uid or root)"
)

// sampleInfo is what Samples needs of one instance, copied under s.mu.
type sampleInfo struct {
	id, typ, imageID, group string
	state, desired          InstanceState
	restarts                int
}

// Samples returns a sample of every instance that is pending, running,
// stopping or shutting down (not of stopped or terminated ones), sorted
// by instance id, for a metrics collector that calls it periodically
// (once a second). Rates are over the time since the previous call:
// Samples keeps its own series apart from those of ps and describe, but
// two periodic callers would shorten each other's intervals. It lists
// /proc every few seconds (and when an app starts); otherwise it reads
// the one or two files it keeps open per process, plus one per cgroup
// counter: about 13 µs per instance on a small virtual machine.
func (s *Service) Samples() []Sample {
	now := s.opts.Now()
	s.mu.Lock()
	infos := make([]sampleInfo, 0, len(s.instances))
	for _, in := range s.instances {
		switch in.State {
		case StatePending, StateRunning, StateStopping, StateShuttingDown:
		default:
			continue
		}
		info := sampleInfo{id: in.ID, typ: in.InstanceType, group: in.Group, state: in.State, desired: in.Desired, restarts: in.Restarts}
		if im, ok := s.images[in.Image]; ok {
			info.imageID = im.ID
		}
		infos = append(infos, info)
	}
	s.mu.Unlock()
	slices.SortFunc(infos, func(a, b sampleInfo) int { return strings.Compare(a.id, b.id) })

	out := make([]Sample, len(infos))
	statuses := make([]supervisor.Status, len(infos))
	known := make([]bool, len(infos))
	reqs := make([]procstat.GroupRequest, 0, len(infos))
	reqOf := make([]int, len(infos)) // index into reqs, or -1
	memFile := make([]bool, len(infos))
	for i, info := range infos {
		out[i] = Sample{InstanceID: info.id, InstanceType: info.typ, ImageID: info.imageID, Group: info.group, At: now, Restarts: info.restarts}
		statuses[i], known[i] = s.sup.Status(info.id)
		st := statuses[i]
		out[i].Restarts = max(out[i].Restarts, st.Restarts)
		out[i].Running = known[i] && (st.Phase == supervisor.PhaseRunning || st.Phase == supervisor.PhaseStarting)
		reqOf[i] = -1
		if !out[i].Running || st.PGID <= 0 {
			continue
		}
		req := procstat.GroupRequest{Key: info.id, PGID: st.PGID}
		if s.opts.Cgroups != nil {
			req, memFile[i] = cgroupRequest(req, s.opts.Cgroups.StatFiles("madang/"+info.id))
		}
		reqOf[i] = len(reqs)
		reqs = append(reqs, req)
	}
	groups, err := s.sample.SampleGroups(reqs)
	if err != nil {
		s.log.Warn("sample instances", "err", err)
		groups = nil
	}
	for i, info := range infos {
		smp := &out[i]
		var gs *procstat.GroupSample
		if j := reqOf[i]; j >= 0 && j < len(groups) {
			gs = &groups[j]
		}
		orphaned := gs != nil && gs.Orphaned
		smp.StatusCheckFailedInstance, smp.StatusCheckFailedSystem = statusChecks(info.state, info.desired, statuses[i], known[i], orphaned)
		if gs == nil {
			smp.DiskNote = noteNotRunning
			continue
		}
		t, terr := instancetype.Lookup(info.typ)
		if terr != nil {
			t = instancetype.Type{VCPUs: 1}
		}
		smp.CPUUtilization = cpuUtilization(gs.CPUPercent, t.VCPUs)
		smp.MemoryBytes = gs.RSSBytes
		if memFile[i] && len(gs.Files) > 0 && gs.Files[0] != nil {
			if m, err := cgroup.ParseMemory(gs.Files[0]); err == nil {
				smp.MemoryBytes = m
			}
		}
		if mem := t.MemoryBytes(); mem > 0 {
			smp.MemoryUtilization = min(100, float64(smp.MemoryBytes)/float64(mem)*100)
		}
		fillDisk(smp, gs, s.opts.Cgroups != nil)
	}
	return out
}

// cgroupRequest adds the instance's cgroup files to req: its memory
// usage first (when the hierarchy has one; hasMem says so), then its I/O
// counters, which GroupIO parses.
func cgroupRequest(req procstat.GroupRequest, f cgroup.StatFiles) (_ procstat.GroupRequest, hasMem bool) {
	off := 0
	if f.Memory != "" {
		req.Files = append(req.Files, f.Memory)
		off, hasMem = 1, true
	}
	if len(f.IO) == 0 {
		return req, hasMem
	}
	req.Files = append(req.Files, f.IO...)
	req.GroupIO = func(contents [][]byte) (procstat.IO, error) {
		io, err := f.ParseIO(contents[off:])
		return procstat.IO(io), err
	}
	return req, hasMem
}

// fillDisk sets a sample's disk figures and note from its group sample.
func fillDisk(smp *Sample, gs *procstat.GroupSample, cgroups bool) {
	switch {
	case gs.Interval == 0:
		smp.DiskNote = noteFirst
		return
	case gs.Processes == 0 && !gs.OpsMeasured:
		smp.DiskNote = noteNoProcess
		return
	case !gs.IOMeasured:
		smp.DiskNote = gs.IONote
		if strings.Contains(gs.IONote, "permission denied") {
			smp.DiskNote += noteProcIOAccess
		}
		return
	}
	smp.DiskMeasured = true
	smp.DiskReadBytes, smp.DiskWriteBytes = float64(gs.IO.ReadBytes), float64(gs.IO.WriteBytes)
	switch {
	case gs.OpsMeasured:
		smp.DiskOpsMeasured = true
		smp.DiskReadOps, smp.DiskWriteOps = float64(gs.IO.ReadOps), float64(gs.IO.WriteOps)
	case cgroups:
		smp.DiskNote = noteNoCgroupIO
	default:
		smp.DiskNote = noteNoCgroup
	}
}

// cpuUtilization turns CPU use in percent of one core into percent of
// vcpus cores, within 0–100.
func cpuUtilization(percentOfCore, vcpus float64) float64 {
	if vcpus <= 0 {
		vcpus = 1
	}
	return min(100, max(0, percentOfCore/vcpus))
}

// statusChecks maps an instance's state and its supervisor status to
// EC2's StatusCheckFailed_Instance and StatusCheckFailed_System (0 or
// 1). known is false when the supervisor has no status for it; orphaned
// is true when its app's shim is gone.
func statusChecks(state, desired InstanceState, st supervisor.Status, known, orphaned bool) (instance, system float64) {
	if desired != StateRunning || state == StateStopping || state == StateShuttingDown {
		return 0, 0 // stopping or stopped on request: nothing should run
	}
	if !known {
		if state == StateRunning {
			return 1, 1 // running, but nothing supervises it
		}
		return 0, 0 // being launched
	}
	switch st.Phase {
	case supervisor.PhaseBackoff, supervisor.PhaseExited, supervisor.PhaseErrored, supervisor.PhaseStopped:
		instance = 1
	case supervisor.PhaseStarting:
		if st.LastExit != nil {
			instance = 1 // starting again after the app ended
		}
	}
	if orphaned {
		system = 1
	}
	return instance, system
}
