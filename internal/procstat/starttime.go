// Package procstat reads live process facts from /proc: identity (start
// time), CPU and memory use of single processes and process trees, and,
// for periodic collectors, CPU, memory and disk I/O of many process
// groups at once (SampleGroups).
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// StartTime returns the process's start time in clock ticks since boot
// (field 22 of /proc/PID/stat). Together with the pid it identifies a
// process across pid reuse.
func StartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	fields, err := statFields(b)
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", pid, err)
	}
	// fields[0] is field 3 (state); start time is field 22.
	return strconv.ParseUint(string(fields[22-3]), 10, 64)
}

// Alive reports whether pid is a live (non-zombie) process whose start
// time is start.
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields, err := statFields(b)
	if err != nil || string(fields[0]) == "Z" || string(fields[0]) == "X" {
		return false
	}
	st, err := strconv.ParseUint(string(fields[22-3]), 10, 64)
	return err == nil && st == start
}

// statFields splits /proc/PID/stat after the command name, which may
// contain spaces and parentheses; the first returned field is field 3.
func statFields(b []byte) ([][]byte, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return nil, fmt.Errorf("malformed /proc stat line")
	}
	f := bytes.Fields(b[i+2:])
	if len(f) < 22-3+1 {
		return nil, fmt.Errorf("short /proc stat line (%d fields)", len(f))
	}
	return f, nil
}
