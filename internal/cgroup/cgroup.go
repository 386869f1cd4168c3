// Package cgroup enforces the CPU and memory limits of an instance type on
// an instance's process tree with Linux control groups, either v2 (one
// unified hierarchy) or v1 (one hierarchy per controller). Where the
// system does not allow it, groups enforce nothing and say why, and
// instances still start.
package cgroup

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultRoot is where cgroup hierarchies are mounted on Linux.
const DefaultRoot = "/sys/fs/cgroup"

// cpuPeriod is the CFS bandwidth period in microseconds (the kernel
// default); a limit of N CPUs is a quota of N periods.
const cpuPeriod = 100000

// minCPUQuota is the kernel's smallest CFS quota, in microseconds.
const minCPUQuota = 1000

// Version is a cgroup hierarchy layout.
type Version int

// Versions.
const (
	// Unsupported means no writable cgroup hierarchy was found.
	Unsupported Version = iota
	// V1 is the legacy layout: one mount per controller.
	V1
	// V2 is the unified hierarchy.
	V2
)

// String returns "unsupported", "v1" or "v2".
func (v Version) String() string {
	switch v {
	case V1:
		return "v1"
	case V2:
		return "v2"
	}
	return "unsupported"
}

// Limits are the resource limits of one group. A zero field means
// unlimited.
type Limits struct {
	// CPUs is how many cores of CPU time the group may use, such as 0.5
	// or 2 (an instance type's vCPUs).
	CPUs float64
	// MemoryBytes caps the group's memory; above it the kernel reclaims
	// and then OOM-kills a process of the group. Swap is not allowed, as
	// on an EC2 instance without swap.
	MemoryBytes int64
}

// Validate reports a negative, non-finite or too small limit, naming the
// field and the fix.
func (l Limits) Validate() error {
	switch {
	case math.IsNaN(l.CPUs) || math.IsInf(l.CPUs, 0) || l.CPUs < 0:
		return fmt.Errorf("cgroup limits: CPUs = %v is invalid; use 0 for unlimited or a positive number of cores such as 0.5", l.CPUs)
	case l.CPUs > 0 && cpuQuota(l.CPUs) < minCPUQuota:
		return fmt.Errorf("cgroup limits: CPUs = %v is below the kernel minimum of %v; use 0 for unlimited or at least %v", l.CPUs, float64(minCPUQuota)/cpuPeriod, float64(minCPUQuota)/cpuPeriod)
	case l.MemoryBytes < 0:
		return fmt.Errorf("cgroup limits: MemoryBytes = %d is invalid; use 0 for unlimited or a positive number of bytes", l.MemoryBytes)
	}
	return nil
}

// cpuQuota is the CFS quota in microseconds per cpuPeriod for cpus cores.
func cpuQuota(cpus float64) int64 { return int64(math.Round(cpus * cpuPeriod)) }

// Enforcement says which limits of a group the kernel enforces, and why
// the others are not.
type Enforcement struct {
	// CPU is true when the group's CPU limit is in force.
	CPU bool
	// Memory is true when the group's memory limit is in force.
	Memory bool
	// Reason explains every limit that is not enforced; empty when both
	// are.
	Reason string
}

// Stats are a group's live resource figures.
type Stats struct {
	// MemoryBytes is the memory charged to the group now.
	MemoryBytes int64
	// OOMKills counts processes of the group killed for exceeding its
	// memory limit.
	OOMKills int64
	// CPUThrottled counts CPU periods in which the group used up its
	// quota and was paused.
	CPUThrottled int64
}

// Hierarchy is the cgroup layout of the machine, found by Detect.
type Hierarchy struct {
	logger  *slog.Logger
	root    string
	version Version
	// cpuRoot and memRoot are the directories groups are created under
	// for each controller, or "" when the controller cannot be used; in
	// v2 both are root.
	cpuRoot, memRoot string
	// cpuWhy and memWhy say why a controller cannot be used.
	cpuWhy, memWhy string
}

// Detect inspects the cgroup mounts under root (normally DefaultRoot). It
// never fails: if no hierarchy is usable, the result's Version is
// Unsupported and Enforcement().Reason says why.
func Detect(root string, logger *slog.Logger) *Hierarchy {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Hierarchy{logger: logger.With("component", "cgroup"), root: root}
	switch {
	case !isDir(root):
		why := fmt.Sprintf("cgroup root %s does not exist (cgroups not mounted)", root)
		h.cpuWhy, h.memWhy = why, why
	case exists(filepath.Join(root, "cgroup.controllers")):
		h.detectV2()
	default:
		h.detectV1()
	}
	e := h.Enforcement()
	h.logger.Info("cgroup hierarchy detected", "root", root, "version", h.version.String(),
		"cpu", e.CPU, "memory", e.Memory, "reason", e.Reason)
	return h
}

func (h *Hierarchy) detectV2() {
	b, err := os.ReadFile(filepath.Join(h.root, "cgroup.controllers"))
	if err != nil {
		why := fmt.Sprintf("cgroup v2 at %s: %v", h.root, err)
		h.cpuWhy, h.memWhy = why, why
		return
	}
	if err := writable(h.root); err != nil {
		why := fmt.Sprintf("cgroup v2 hierarchy %s is not writable (%v); run the daemon as root or give it a delegated cgroup", h.root, err)
		h.cpuWhy, h.memWhy = why, why
		return
	}
	avail := strings.Fields(string(b))
	has := func(c string) bool {
		for _, a := range avail {
			if a == c {
				return true
			}
		}
		return false
	}
	h.version = V2
	if has("cpu") {
		h.cpuRoot = h.root
	} else {
		h.cpuWhy = fmt.Sprintf("cgroup cpu controller not available: not listed in %s", filepath.Join(h.root, "cgroup.controllers"))
	}
	if has("memory") {
		h.memRoot = h.root
	} else {
		h.memWhy = fmt.Sprintf("cgroup memory controller not available: not listed in %s", filepath.Join(h.root, "cgroup.controllers"))
	}
}

func (h *Hierarchy) detectV1() {
	probe := func(controller, marker string) (string, string) {
		dir := filepath.Join(h.root, controller)
		if !exists(filepath.Join(dir, marker)) {
			return "", fmt.Sprintf("cgroup %s controller not available: %s not mounted (no %s)", controller, dir, marker)
		}
		if err := writable(dir); err != nil {
			return "", fmt.Sprintf("cgroup %s controller at %s is not writable (%v); run the daemon as root", controller, dir, err)
		}
		return dir, ""
	}
	h.cpuRoot, h.cpuWhy = probe("cpu", "cpu.cfs_quota_us")
	h.memRoot, h.memWhy = probe("memory", "memory.limit_in_bytes")
	if h.cpuRoot != "" || h.memRoot != "" {
		h.version = V1
		return
	}
	if !exists(filepath.Join(h.root, "cpu")) && !exists(filepath.Join(h.root, "memory")) {
		why := fmt.Sprintf("no cgroup v2 (no %s) and no cgroup v1 cpu or memory controller under %s",
			filepath.Join(h.root, "cgroup.controllers"), h.root)
		h.cpuWhy, h.memWhy = why, why
	}
}

// Version returns the detected layout.
func (h *Hierarchy) Version() Version { return h.version }

// Root returns the directory Detect inspected.
func (h *Hierarchy) Root() string { return h.root }

// Enforcement says which limits groups created here can enforce.
func (h *Hierarchy) Enforcement() Enforcement {
	return newEnforcement(h.cpuRoot != "", h.memRoot != "", h.cpuWhy, h.memWhy)
}

// newEnforcement joins the reasons of the controllers not in force.
func newEnforcement(cpu, mem bool, cpuWhy, memWhy string) Enforcement {
	var why []string
	if !cpu && cpuWhy != "" {
		why = append(why, cpuWhy)
	}
	if !mem && memWhy != "" && memWhy != cpuWhy {
		why = append(why, memWhy)
	}
	return Enforcement{CPU: cpu, Memory: mem, Reason: strings.Join(why, "; ")}
}

// validateName checks a group name such as "madang/i-0abc123": relative,
// slash-separated segments of letters, digits, '.', '_' and '-'.
func validateName(name string) error {
	const hint = `; use a relative path of letters, digits, '.', '_' and '-' segments such as "madang/i-0abc123"`
	if name == "" {
		return errors.New("cgroup name is empty" + hint)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("cgroup name %q has an empty, '.' or '..' segment%s", name, hint)
		}
		for _, r := range seg {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
			if !ok {
				return fmt.Errorf("cgroup name %q contains %q%s", name, r, hint)
			}
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// writable reports why the process cannot create entries in dir, or nil.
func writable(dir string) error {
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return err
	}
	return nil
}
