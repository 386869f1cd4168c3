package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// IOStats are a group's cumulative disk I/O, summed over devices.
type IOStats struct {
	ReadBytes, WriteBytes uint64
	ReadOps, WriteOps     uint64
}

// ErrNoIOStats is wrapped by the errors of IOStats and StatFiles.ParseIO
// when the group has no I/O counters: in v2 the io controller is not
// enabled for it, in v1 it has no blkio group (Create makes cpu and
// memory groups only). It wraps errors.ErrUnsupported.
var ErrNoIOStats = fmt.Errorf("cgroup has no io counters: %w", errors.ErrUnsupported)

// StatFiles names the files a periodic reader of a group's figures keeps
// open, so that each reading is one read per file.
type StatFiles struct {
	// Version is the layout the files are in.
	Version Version
	// Memory holds the memory charged to the group (memory.current, or
	// memory.usage_in_bytes in v1); "" when the memory controller is not
	// used.
	Memory string
	// IO are the disk I/O counter files, for ParseIO: io.stat in v2;
	// blkio.throttle.io_service_bytes and blkio.throttle.io_serviced in
	// v1. Empty when the hierarchy has none.
	IO []string
}

// StatFiles returns the files of group name's live figures without
// touching the file system: they may not exist (a missing group, or one
// without the io controller).
func (h *Hierarchy) StatFiles(name string) StatFiles {
	f := StatFiles{Version: h.version}
	switch h.version {
	case V2:
		dir := filepath.Join(h.root, name)
		if h.memRoot != "" {
			f.Memory = filepath.Join(dir, "memory.current")
		}
		f.IO = []string{filepath.Join(dir, "io.stat")}
	case V1:
		if h.memRoot != "" {
			f.Memory = filepath.Join(h.memRoot, name, "memory.usage_in_bytes")
		}
		dir := filepath.Join(h.root, "blkio", name)
		f.IO = []string{filepath.Join(dir, "blkio.throttle.io_service_bytes"), filepath.Join(dir, "blkio.throttle.io_serviced")}
	}
	return f
}

// ParseIO parses the contents of f.IO, in order (nil for a file that
// could not be read: the error then wraps ErrNoIOStats).
func (f StatFiles) ParseIO(contents [][]byte) (IOStats, error) {
	if len(contents) != len(f.IO) || len(f.IO) == 0 {
		return IOStats{}, ErrNoIOStats
	}
	for _, c := range contents {
		if c == nil {
			return IOStats{}, ErrNoIOStats
		}
	}
	if f.Version == V2 {
		return parseIOStatV2(contents[0])
	}
	var s IOStats
	var err error
	if s.ReadBytes, s.WriteBytes, err = parseBlkioV1(contents[0]); err != nil {
		return IOStats{}, fmt.Errorf("%s: %w", f.IO[0], err)
	}
	if s.ReadOps, s.WriteOps, err = parseBlkioV1(contents[1]); err != nil {
		return IOStats{}, fmt.Errorf("%s: %w", f.IO[1], err)
	}
	return s, nil
}

// ParseMemory parses the contents of StatFiles.Memory: bytes charged to
// the group.
func ParseMemory(b []byte) (uint64, error) {
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroup memory usage: %w", err)
	}
	return v, nil
}

// IOStats reads the group's cumulative disk I/O. In v1 only I/O the
// kernel charges to the group counts: direct and synchronous I/O, and
// reads, but not buffered writes, which the kernel's flusher threads
// write back on the root group's account. The error wraps ErrNoIOStats
// when the group has no I/O counters.
func (g *Group) IOStats() (IOStats, error) {
	if g.h.version == Unsupported {
		return IOStats{}, fmt.Errorf("io stats of cgroup %s: %w: %s", g.name, ErrNoIOStats, g.enf.Reason)
	}
	f := g.h.StatFiles(g.name)
	contents := make([][]byte, len(f.IO))
	for i, p := range f.IO {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			return IOStats{}, fmt.Errorf("io stats of cgroup %s: %w (no %s)", g.name, ErrNoIOStats, p)
		}
		if err != nil {
			return IOStats{}, fmt.Errorf("io stats of cgroup %s: %w", g.name, err)
		}
		contents[i] = b
	}
	s, err := f.ParseIO(contents)
	if err != nil {
		return IOStats{}, fmt.Errorf("io stats of cgroup %s: %w", g.name, err)
	}
	return s, nil
}

// parseIOStatV2 sums io.stat's rbytes, wbytes, rios and wios over its
// device lines ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0").
func parseIOStatV2(b []byte) (IOStats, error) {
	var s IOStats
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		fields := bytes.Fields(line)
		if len(fields) == 0 {
			continue
		}
		for _, kv := range fields[1:] {
			k, v, ok := bytes.Cut(kv, []byte("="))
			if !ok {
				return IOStats{}, fmt.Errorf("io.stat: bad field %q", kv)
			}
			var dst *uint64
			switch string(k) {
			case "rbytes":
				dst = &s.ReadBytes
			case "wbytes":
				dst = &s.WriteBytes
			case "rios":
				dst = &s.ReadOps
			case "wios":
				dst = &s.WriteOps
			default:
				continue
			}
			n, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				return IOStats{}, fmt.Errorf("io.stat: bad %s value %q: %w", k, v, err)
			}
			*dst += n
		}
	}
	return s, nil
}

// parseBlkioV1 sums the Read and Write lines of a v1 blkio file over
// devices ("8:0 Read 4096" ... "Total 8192").
func parseBlkioV1(b []byte) (read, write uint64, err error) {
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) != 3 {
			continue // blank, or the "Total N" line
		}
		var dst *uint64
		switch string(f[1]) {
		case "Read":
			dst = &read
		case "Write":
			dst = &write
		default:
			continue
		}
		n, err := strconv.ParseUint(string(f[2]), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bad %s value %q: %w", f[1], f[2], err)
		}
		*dst += n
	}
	return read, write, nil
}
