package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// parseIO parses /proc/PID/io (see proc(5)) for read_bytes and
// write_bytes without allocating.
func parseIO(b []byte) (IO, error) {
	var v IO
	var found int
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		var dst *uint64
		switch string(line[:colon]) {
		case "read_bytes":
			dst = &v.ReadBytes
		case "write_bytes":
			dst = &v.WriteBytes
		default:
			continue
		}
		n, ok := parseUint(bytes.TrimSpace(line[colon+1:]))
		if !ok {
			return IO{}, fmt.Errorf("parse /proc io: bad %s value %q", line[:colon], line[colon+1:])
		}
		*dst = n
		found++
	}
	if found != 2 {
		return IO{}, errors.New("parse /proc io: no read_bytes and write_bytes lines")
	}
	return v, nil
}

// parseStatFast parses /proc/PID/stat like parseStat, without
// allocating.
func parseStatFast(pid int, b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, fmt.Errorf("parse /proc stat of pid %d: malformed line", pid)
	}
	st := procStat{pid: pid}
	field := 3
	rest := b[i+2:]
	for field <= 24 {
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		if len(rest) == 0 {
			return procStat{}, fmt.Errorf("parse /proc stat of pid %d: short line (%d fields)", pid, field-1)
		}
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		f := bytes.TrimSpace(rest[:end])
		rest = rest[end:]
		if field == 3 {
			st.state = f[0]
			field++
			continue
		}
		var n uint64
		switch field {
		case 4, 5, 14, 15, 16, 17, 20, 22, 24:
			var ok bool
			if n, ok = parseUint(f); !ok {
				return procStat{}, fmt.Errorf("parse /proc stat of pid %d: field %d is %q", pid, field, f)
			}
		}
		switch field {
		case 4:
			st.ppid = int(n)
		case 5:
			st.pgrp = int(n)
		case 14, 15:
			st.ticks += n
		case 16, 17:
			st.childTicks += n
		case 20:
			st.threads = int(n)
		case 22:
			st.start = n
		case 24:
			st.rss = n
		}
		field++
	}
	return st, nil
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// unwrapPath drops the *PathError wrapper, whose path the caller names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseUptime parses /proc/uptime into clock ticks since boot; 0 if it
// cannot.
func parseUptime(b []byte, hz float64) uint64 {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		b = b[:i]
	}
	whole, frac, _ := bytes.Cut(bytes.TrimSpace(b), []byte("."))
	sec, ok := parseUint(whole)
	if !ok {
		return 0
	}
	ticks := float64(sec) * hz
	if f, ok := parseUint(frac); ok && len(frac) > 0 && len(frac) < 10 {
		div := 1.0
		for range frac {
			div *= 10
		}
		ticks += float64(f) / div * hz
	}
	return uint64(ticks)
}
