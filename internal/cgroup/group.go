package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bounds of Kill and Delete.
const (
	killTimeout   = 2 * time.Second
	deleteTimeout = time.Second
	pollInterval  = 10 * time.Millisecond
)

// Group is one cgroup holding an instance's processes. A Group from an
// unsupported hierarchy is valid: it holds and enforces nothing, and
// Enforcement says why. Group methods are safe for concurrent use.
type Group struct {
	h    *Hierarchy
	name string
	// cpuDir and memDir are the group's directories per controller, or ""
	// when that controller is not used; in v2 they are the same.
	cpuDir, memDir string
	enf            Enforcement
}

// Create creates the group name (such as "madang/i-0abc123") with limits
// l, or updates the limits of an existing group. Only a bad name or bad
// limits are errors: when the system does not allow a limit, the group
// is returned without it and Enforcement says why.
func (h *Hierarchy) Create(name string, l Limits) (*Group, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	g := &Group{h: h, name: name}
	cpuOK, memOK := false, false
	cpuWhy, memWhy := h.cpuWhy, h.memWhy
	switch h.version {
	case V2:
		cpuOK, memOK, cpuWhy, memWhy = g.createV2(l)
	case V1:
		if h.cpuRoot != "" {
			g.cpuDir, cpuOK, cpuWhy = setupV1(h.cpuRoot, name, func(dir string) error { return writeCPUV1(dir, l) })
		}
		if h.memRoot != "" {
			g.memDir, memOK, memWhy = setupV1(h.memRoot, name, func(dir string) error { return writeMemoryV1(dir, l) })
		}
	}
	g.enf = newEnforcement(cpuOK, memOK, cpuWhy, memWhy)
	if g.enf.Reason != "" {
		h.logger.Warn("instance limits not fully enforced", "group", name, "cpu", cpuOK, "memory", memOK, "reason", g.enf.Reason)
	} else {
		h.logger.Debug("cgroup ready", "group", name, "cpus", l.CPUs, "memory_bytes", l.MemoryBytes)
	}
	return g, nil
}

// setupV1 creates the group's directory in one v1 controller hierarchy
// and writes its limit. It returns the directory ("" if it could not be
// created), whether the limit is in force and, if not, why.
func setupV1(root, name string, write func(dir string) error) (dir string, ok bool, why string) {
	dir = filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Sprintf("create cgroup %s: %v", dir, unwrapPath(err))
	}
	if err := write(dir); err != nil {
		return dir, false, err.Error()
	}
	return dir, true, ""
}

// createV2 creates the group in the unified hierarchy, enabling the
// controllers on every ancestor.
func (g *Group) createV2(l Limits) (cpuOK, memOK bool, cpuWhy, memWhy string) {
	h := g.h
	cpuWhy, memWhy = h.cpuWhy, h.memWhy
	useCPU, useMem := h.cpuRoot != "", h.memRoot != ""
	dir := h.root
	segs := strings.Split(g.name, "/")
	for i, seg := range segs {
		// Ancestors must delegate the controllers to their children.
		if useCPU {
			if err := enableController(dir, "cpu"); err != nil {
				useCPU, cpuWhy = false, err.Error()
			}
		}
		if useMem {
			if err := enableController(dir, "memory"); err != nil {
				useMem, memWhy = false, err.Error()
			}
		}
		dir = filepath.Join(dir, seg)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			why := fmt.Sprintf("create cgroup %s: %v", dir, unwrapPath(err))
			return false, false, why, why
		}
		if i == len(segs)-1 {
			g.cpuDir, g.memDir = dir, dir
		}
	}
	if useCPU {
		quota := "max"
		if l.CPUs > 0 {
			quota = strconv.FormatInt(cpuQuota(l.CPUs), 10)
		}
		if err := writeFile(dir, "cpu.max", fmt.Sprintf("%s %d", quota, cpuPeriod)); err != nil {
			cpuWhy = err.Error()
		} else {
			cpuOK = true
		}
	}
	if useMem {
		limit, swap := "max", "max"
		if l.MemoryBytes > 0 {
			limit, swap = strconv.FormatInt(l.MemoryBytes, 10), "0"
		}
		if err := writeFile(dir, "memory.max", limit); err != nil {
			memWhy = err.Error()
		} else if err := writeOptional(dir, "memory.swap.max", swap); err != nil {
			memWhy = err.Error()
		} else {
			memOK = true
		}
	}
	return cpuOK, memOK, cpuWhy, memWhy
}

// enableController adds controller to dir's cgroup.subtree_control if it
// is not there yet.
func enableController(dir, controller string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cgroup %s controller not available: %w", controller, err)
	}
	if slices.Contains(strings.Fields(string(b)), controller) {
		return nil
	}
	if err := writeFile(dir, "cgroup.subtree_control", "+"+controller); err != nil {
		return fmt.Errorf("cgroup %s controller not available: enable it for %s: %w", controller, dir, err)
	}
	return nil
}

func writeCPUV1(dir string, l Limits) error {
	quota := int64(-1)
	if l.CPUs > 0 {
		quota = cpuQuota(l.CPUs)
	}
	if err := writeFile(dir, "cpu.cfs_period_us", strconv.Itoa(cpuPeriod)); err != nil {
		return err
	}
	return writeFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10))
}

// writeMemoryV1 sets the memory limit and, where swap accounting exists,
// the memory+swap limit to the same value so the group cannot swap. The
// kernel requires memory <= memory+swap at every step, so the order of
// the two writes depends on whether the limit goes up or down.
func writeMemoryV1(dir string, l Limits) error {
	limit := "-1"
	if l.MemoryBytes > 0 {
		limit = strconv.FormatInt(l.MemoryBytes, 10)
	}
	if !exists(filepath.Join(dir, "memory.memsw.limit_in_bytes")) {
		return writeFile(dir, "memory.limit_in_bytes", limit)
	}
	if err := writeFile(dir, "memory.limit_in_bytes", limit); err == nil {
		return writeFile(dir, "memory.memsw.limit_in_bytes", limit)
	}
	if err := writeFile(dir, "memory.memsw.limit_in_bytes", limit); err != nil {
		return err
	}
	return writeFile(dir, "memory.limit_in_bytes", limit)
}

// Open returns the existing group name, as left by Create before a daemon
// restart. If the group does not exist, the returned Group enforces
// nothing and Enforcement says so; Create makes it again.
func (h *Hierarchy) Open(name string) *Group {
	g := &Group{h: h, name: name}
	if err := validateName(name); err != nil {
		g.enf = Enforcement{Reason: err.Error()}
		return g
	}
	missing := func(dir string) string {
		return fmt.Sprintf("cgroup %s does not exist; create it again", dir)
	}
	cpuWhy, memWhy := h.cpuWhy, h.memWhy
	switch h.version {
	case V2:
		dir := filepath.Join(h.root, name)
		if !isDir(dir) {
			g.enf = newEnforcement(false, false, missing(dir), missing(dir))
			return g
		}
		g.cpuDir, g.memDir = dir, dir
		cpu := h.cpuRoot != "" && exists(filepath.Join(dir, "cpu.max"))
		mem := h.memRoot != "" && exists(filepath.Join(dir, "memory.max"))
		if h.cpuRoot != "" && !cpu {
			cpuWhy = "cgroup cpu controller not enabled for " + dir
		}
		if h.memRoot != "" && !mem {
			memWhy = "cgroup memory controller not enabled for " + dir
		}
		g.enf = newEnforcement(cpu, mem, cpuWhy, memWhy)
	case V1:
		if h.cpuRoot != "" {
			if dir := filepath.Join(h.cpuRoot, name); isDir(dir) {
				g.cpuDir = dir
			} else {
				cpuWhy = missing(dir)
			}
		}
		if h.memRoot != "" {
			if dir := filepath.Join(h.memRoot, name); isDir(dir) {
				g.memDir = dir
			} else {
				memWhy = missing(dir)
			}
		}
		g.enf = newEnforcement(g.cpuDir != "", g.memDir != "", cpuWhy, memWhy)
	default:
		g.enf = h.Enforcement()
	}
	return g
}

// Name returns the group's name.
func (g *Group) Name() string { return g.name }

// Enforcement says which of the group's limits are in force.
func (g *Group) Enforcement() Enforcement { return g.enf }

// dirs returns the group's distinct directories.
func (g *Group) dirs() []string {
	var d []string
	if g.cpuDir != "" {
		d = append(d, g.cpuDir)
	}
	if g.memDir != "" && g.memDir != g.cpuDir {
		d = append(d, g.memDir)
	}
	return d
}

// ProcsFiles returns the cgroup.procs files a process joins the group
// through, by writing its pid to each: one per controller in v1, one in
// v2, none when nothing is enforced. A launcher can have the new process
// join before it execs the instance's command.
func (g *Group) ProcsFiles() []string {
	var files []string
	for _, d := range g.dirs() {
		files = append(files, filepath.Join(d, "cgroup.procs"))
	}
	return files
}

// AddProc moves process pid into the group; its future children are born
// in it. On a group that enforces nothing it does nothing.
func (g *Group) AddProc(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("cgroup %s: pid = %d is invalid; pass a positive process id", g.name, pid)
	}
	var errs []error
	for _, d := range g.dirs() {
		if err := writeFile(d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("add pid %d to cgroup %s: %w", pid, g.name, err)
	}
	return nil
}

// PIDs returns the processes in the group, in ascending order. A group
// that enforces nothing, or has been deleted, has none. In v1, where
// single threads join a group, a process counts only when its main thread
// is in the group: a process host whose thread joins for a moment to
// start an instance's app there (package shim) is not one of the
// instance's processes, and Kill leaves it alone.
func (g *Group) PIDs() ([]int, error) {
	var pids []int
	for _, d := range g.dirs() {
		procs, err := readIDs(filepath.Join(d, "cgroup.procs"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list cgroup %s: %w", g.name, err)
		}
		if g.h.version == V1 {
			tasks, err := readIDs(filepath.Join(d, "tasks"))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("list cgroup %s: %w", g.name, err)
			}
			if err == nil {
				procs = slices.DeleteFunc(procs, func(pid int) bool { _, found := slices.BinarySearch(tasks, pid); return !found })
			}
		}
		pids = append(pids, procs...)
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil
}

// readIDs reads a cgroup.procs or tasks file, sorted.
func readIDs(name string) ([]int, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var ids []int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		id, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err != nil {
			return nil, fmt.Errorf("bad id %q in %s", sc.Text(), name)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// Kill SIGKILLs every process in the group, including ones forked while
// it runs, and waits until the group is empty (at most 2s).
func (g *Group) Kill() error {
	if len(g.dirs()) == 0 {
		return nil
	}
	if g.h.version == V2 && exists(filepath.Join(g.cpuDir, "cgroup.kill")) {
		if err := writeFile(g.cpuDir, "cgroup.kill", "1"); err != nil {
			return fmt.Errorf("kill cgroup %s: %w", g.name, err)
		}
	}
	deadline := time.Now().Add(killTimeout)
	for {
		pids, err := g.PIDs()
		if err != nil {
			return fmt.Errorf("kill cgroup %s: %w", g.name, err)
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kill cgroup %s: %d processes (%v) still running %s after SIGKILL", g.name, len(pids), pids, killTimeout)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("kill cgroup %s: pid %d: %w", g.name, pid, err)
			}
		}
		time.Sleep(pollInterval)
	}
}

// Delete kills the group's processes and removes its directories (not
// its parents, which other groups share). Deleting a missing group is
// not an error.
func (g *Group) Delete() error {
	if err := g.Kill(); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	for _, d := range g.dirs() {
		if err := rmdir(d); err != nil {
			return fmt.Errorf("delete cgroup %s: %w", g.name, err)
		}
	}
	g.h.logger.Debug("cgroup deleted", "group", g.name)
	return nil
}

// rmdir removes a cgroup directory, retrying while the kernel still
// counts exiting processes in it.
func rmdir(dir string) error {
	deadline := time.Now().Add(deleteTimeout)
	for {
		err := syscall.Rmdir(dir)
		switch {
		case err == nil || errors.Is(err, syscall.ENOENT):
			return nil
		case errors.Is(err, syscall.EBUSY) && time.Now().Before(deadline):
			time.Sleep(pollInterval)
		default:
			return fmt.Errorf("remove %s: %w", dir, err)
		}
	}
}

// Limits reads back the limits in force: what the kernel holds, which
// may be rounded (memory to whole pages). Limits not in force read as 0.
func (g *Group) Limits() (Limits, error) {
	var l Limits
	if g.enf.CPU {
		var quota, period int64
		var err error
		if g.h.version == V2 {
			var f []string
			if f, err = readFields(g.cpuDir, "cpu.max"); err == nil && len(f) == 2 {
				quota, _ = parseLimit(f[0])
				period, err = strconv.ParseInt(f[1], 10, 64)
			}
		} else if quota, err = readLimit(g.cpuDir, "cpu.cfs_quota_us"); err == nil {
			period, err = readLimit(g.cpuDir, "cpu.cfs_period_us")
		}
		if err != nil {
			return Limits{}, fmt.Errorf("read limits of cgroup %s: %w", g.name, err)
		}
		if quota > 0 && period > 0 {
			l.CPUs = float64(quota) / float64(period)
		}
	}
	if g.enf.Memory {
		file := "memory.limit_in_bytes"
		if g.h.version == V2 {
			file = "memory.max"
		}
		m, err := readLimit(g.memDir, file)
		if err != nil {
			return Limits{}, fmt.Errorf("read limits of cgroup %s: %w", g.name, err)
		}
		l.MemoryBytes = m
	}
	return l, nil
}

// Stats reads the group's live figures. It fails with an error wrapping
// errors.ErrUnsupported when the memory controller is not in use.
func (g *Group) Stats() (Stats, error) {
	if g.memDir == "" {
		return Stats{}, fmt.Errorf("stats of cgroup %s: %w: %s", g.name, errors.ErrUnsupported, g.enf.Reason)
	}
	var s Stats
	var err error
	if g.h.version == V2 {
		s.MemoryBytes, err = readLimit(g.memDir, "memory.current")
		if err == nil {
			s.OOMKills, err = readKey(g.memDir, "memory.events", "oom_kill")
		}
		if err == nil && g.cpuDir != "" {
			s.CPUThrottled, err = readKey(g.cpuDir, "cpu.stat", "nr_throttled")
		}
	} else {
		s.MemoryBytes, err = readLimit(g.memDir, "memory.usage_in_bytes")
		if err == nil {
			s.OOMKills, err = readKey(g.memDir, "memory.oom_control", "oom_kill")
		}
		if err == nil && g.cpuDir != "" {
			s.CPUThrottled, err = readKey(g.cpuDir, "cpu.stat", "nr_throttled")
		}
	}
	if err != nil {
		return Stats{}, fmt.Errorf("stats of cgroup %s: %w", g.name, err)
	}
	return s, nil
}

// writeFile writes value to dir/file, creating the file if the directory
// is an ordinary one.
func writeFile(dir, file, value string) error {
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, unwrapPath(err))
	}
	return nil
}

// writeOptional is writeFile for a file that only some kernels have; a
// missing file is skipped.
func writeOptional(dir, file, value string) error {
	p := filepath.Join(dir, file)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, unwrapPath(err))
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, p, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the *PathError wrapper whose path the message already
// names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func readFields(dir, file string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// readLimit reads a single-number file; "max", "-1" and the kernel's
// page-counter maximum read as 0 (unlimited).
func readLimit(dir, file string) (int64, error) {
	f, err := readFields(dir, file)
	if err != nil {
		return 0, err
	}
	if len(f) != 1 {
		return 0, fmt.Errorf("%s: want one value, got %q", filepath.Join(dir, file), strings.Join(f, " "))
	}
	v, err := parseLimit(f[0])
	if err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Join(dir, file), err)
	}
	return v, nil
}

func parseLimit(s string) (int64, error) {
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if v < 0 || v >= 1<<62 {
		return 0, nil
	}
	return v, nil
}

// readKey reads the value of "key value" line in a flat-keyed file; a
// missing key reads as 0.
func readKey(dir, file, key string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, nil
}
