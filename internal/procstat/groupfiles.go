package procstat

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// heldFile is one of a request's Files, open while its key is sampled.
type heldFile struct {
	path    string
	f       *os.File
	retryAt time.Time
	buf     []byte
}

// groupUptime is uptime with /proc/uptime kept open.
func (s *Sampler) groupUptime() uint64 {
	g := &s.groups
	if g.uptime == nil {
		f, err := os.Open(filepath.Join(s.root, "uptime"))
		if err != nil {
			return 0
		}
		g.uptime = f
	}
	n, ok := pread(g.uptime, g.buf)
	if !ok {
		_ = g.uptime.Close()
		g.uptime = nil
		return 0
	}
	return parseUptime(g.buf[:n], s.hz)
}

// readFiles reads a request's Files into its series' buffers and works
// out its GroupIO.
func (s *Sampler) readFiles(r GroupRequest, out *GroupSample, ser *series, now time.Time) {
	// Files are matched by position; a changed list starts over.
	for i := range ser.files {
		if i >= len(r.Files) || ser.files[i].path != r.Files[i] {
			ser.closeFiles(i)
			break
		}
	}
	for i := len(ser.files); i < len(r.Files); i++ {
		ser.files = append(ser.files, heldFile{path: r.Files[i]})
	}
	if len(r.Files) > 0 {
		if cap(ser.fileOut) < len(r.Files) {
			ser.fileOut = make([][]byte, len(r.Files))
		}
		ser.fileOut = ser.fileOut[:len(r.Files)]
		clear(ser.fileOut)
		out.Files = ser.fileOut
	}
	for i := range ser.files {
		hf := &ser.files[i]
		if hf.f == nil && !now.Before(hf.retryAt) {
			f, err := os.Open(hf.path)
			if err != nil {
				hf.retryAt = now.Add(recheckAfter)
				continue
			}
			hf.f = f
			if hf.buf == nil {
				hf.buf = make([]byte, 4096)
			}
		}
		if hf.f == nil {
			continue
		}
		n, ok := pread(hf.f, hf.buf)
		if !ok {
			_ = hf.f.Close()
			hf.f, hf.retryAt = nil, now.Add(recheckAfter)
			continue
		}
		out.Files[i] = hf.buf[:n]
	}
	ser.curOK, ser.ioErr = false, nil
	if r.GroupIO != nil {
		io, err := r.GroupIO(out.Files)
		if err != nil {
			ser.ioErr = err
		} else {
			ser.curIO, ser.curOK = io, true
		}
	}
}

// closeFiles closes the series' files from the i-th on and drops them.
func (ser *series) closeFiles(i int) {
	for j := i; j < len(ser.files); j++ {
		if f := ser.files[j].f; f != nil {
			_ = f.Close()
		}
	}
	ser.files = ser.files[:i]
}

// preadStat reads and parses a process's open stat file: one pread.
func (s *Sampler) preadStat(f *os.File, pid int) (procStat, bool) {
	n, ok := pread(f, s.groups.buf)
	if !ok {
		return procStat{}, false
	}
	st, err := parseStatFast(pid, s.groups.buf[:n])
	return st, err == nil
}

// pread reads a /proc or cgroup file from its start in one system call
// (os.File.ReadAt makes a second one to see the end).
func pread(f *os.File, buf []byte) (int, bool) {
	n, err := syscall.Pread(int(f.Fd()), buf, 0)
	return n, err == nil && n > 0
}

// readIO reads a process's cumulative storage I/O from /proc/PID/io
// (read_bytes and write_bytes: bytes that reached or came from storage,
// not the page cache). It needs the same uid as the process, or root: a
// refusal is tried again after recheckAfter, other failures (a process
// that is exiting) at the next sample.
func (s *Sampler) readIO(p *tracked, now time.Time) (IO, bool) {
	if p.ioErr != nil && now.Before(p.ioRetryAt) {
		return IO{}, false
	}
	p.ioErr = nil
	fail := func(err error) (IO, bool) {
		p.ioErr = err
		if errors.Is(err, os.ErrPermission) {
			p.ioRetryAt = now.Add(recheckAfter)
		} else {
			p.ioRetryAt = now
		}
		if p.io != nil {
			_ = p.io.Close()
			p.io = nil
		}
		return IO{}, false
	}
	if p.io == nil {
		f, err := os.Open(filepath.Join(s.root, strconv.Itoa(p.pid), "io"))
		if err != nil {
			return fail(unwrapPath(err))
		}
		p.io = f
	}
	n, err := syscall.Pread(int(p.io.Fd()), s.groups.buf, 0)
	if err != nil {
		return fail(err)
	}
	v, err := parseIO(s.groups.buf[:n])
	if err != nil {
		return fail(err)
	}
	return v, true
}
