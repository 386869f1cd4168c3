package loggroup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// stamper turns a stream's lines into events, giving lines without a
// timestamp the nearest known time (see the package documentation).
type stamper struct {
	info    StreamInfo
	last    time.Time // time of the latest timestamped line
	pending []Event   // lines read before any timestamped line
	emit    func(Event) error
}

func (s *stamper) line(b []byte) error {
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	ts, msg, origin := parseLine(s.info.Format, string(b))
	ev := Event{Timestamp: ts, Group: s.info.Group, Stream: s.info.Stream, Message: msg, Origin: origin}
	if ts.IsZero() {
		if s.last.IsZero() {
			s.pending = append(s.pending, ev)
			return nil
		}
		ev.Timestamp = s.last
		return s.emit(ev)
	}
	if err := s.flush(ts); err != nil {
		return err
	}
	s.last = ts
	return s.emit(ev)
}

// flush emits the pending lines with time t.
func (s *stamper) flush(t time.Time) error {
	for _, ev := range s.pending {
		ev.Timestamp = t
		if err := s.emit(ev); err != nil {
			return err
		}
	}
	s.pending = s.pending[:0]
	return nil
}

// scanFile reads the lines of the file at path from offset from, calling
// fn for each. With wholeOnly, an unterminated last line is left unread.
// It returns the offset after the last line read.
func scanFile(path string, from int64, wholeOnly bool, fn func([]byte) error) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return from, err
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return from, fmt.Errorf("loggroup: seek %s to %d: %w", path, from, err)
	}
	r := bufio.NewReaderSize(f, 64<<10)
	off := from
	for {
		b, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(b) > 0 && !wholeOnly {
				off += int64(len(b))
				return off, fn(b)
			}
			return off, nil
		}
		if err != nil {
			return off, fmt.Errorf("loggroup: read %s: %w", path, err)
		}
		off += int64(len(b))
		if err := fn(b); err != nil {
			return off, err
		}
	}
}

// headLen is how many leading bytes of a file identify it.
const headLen = 256

// position is where a stream was read up to: a file, known by the hash
// of its first bytes, and an offset in it.
type position struct {
	// Head is the hex SHA-256 of the file's first HeadLen bytes.
	Head    string `json:"head"`
	HeadLen int    `json:"head_len"`
	// Offset is the byte offset of the first line not read yet.
	Offset int64 `json:"offset"`
	// With HeadLen 0 (an empty file, typically just after a rotation)
	// the file is the one after the file before it, known by its head
	// and size (PrevHead, PrevHeadLen, PrevSize); without that one, the
	// files modified at or after ModTime, the file's modification time
	// when the position was taken.
	PrevHead    string    `json:"prev_head,omitempty"`
	PrevHeadLen int       `json:"prev_head_len,omitempty"`
	PrevSize    int64     `json:"prev_size,omitempty"`
	ModTime     time.Time `json:"mod_time"`
}

// statFile is an existing file of a stream.
type statFile struct {
	path string
	fi   fs.FileInfo
}

func existing(paths []string) []statFile {
	var out []statFile
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, statFile{p, fi})
		}
	}
	return out
}

// head returns the hash of the first n bytes of the file at path.
func head(path string, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// positionAt identifies offset off of the last of files (the current
// file). When off is 0 the file cannot be told by its head, so the file
// before it is recorded too.
func positionAt(files []statFile, off int64) (position, error) {
	cur := files[len(files)-1]
	n := int(min(off, headLen))
	p := position{HeadLen: n, Offset: off, ModTime: cur.fi.ModTime()}
	if n > 0 {
		h, err := head(cur.path, n)
		if err != nil {
			return p, err
		}
		p.Head = h
		return p, nil
	}
	if len(files) > 1 {
		prev := files[len(files)-2]
		if pn := int(min(prev.fi.Size(), headLen)); pn > 0 {
			h, err := head(prev.path, pn)
			if err != nil {
				return p, err
			}
			p.PrevHead, p.PrevHeadLen, p.PrevSize = h, pn, prev.fi.Size()
		}
	}
	return p, nil
}

// endPosition is the position after the last whole line of the stream's
// current file (the start when the stream has no files).
func endPosition(info StreamInfo) (position, error) {
	files := existing(info.Paths)
	if len(files) == 0 {
		return position{}, nil
	}
	cur := files[len(files)-1]
	off, err := lastLineEnd(cur.path, cur.fi.Size())
	if err != nil {
		return position{}, err
	}
	return positionAt(files, off)
}

// lastLineEnd returns the offset after the last newline at or before
// size.
func lastLineEnd(path string, size int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(0, end-chunk)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("loggroup: read %s: %w", path, err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// locate finds which of files p is in and where reading resumes there.
// Without the file (rotated away), reading starts at the oldest file.
func locate(files []statFile, p position) (index int, off int64) {
	if p.HeadLen == 0 {
		// An empty file: resume after the file before it or, when that
		// is gone, with the files written since.
		if p.PrevHeadLen > 0 {
			for i := len(files) - 1; i >= 0; i-- {
				f := files[i]
				if f.fi.Size() != p.PrevSize {
					continue
				}
				if h, err := head(f.path, p.PrevHeadLen); err == nil && h == p.PrevHead {
					return i + 1, 0
				}
			}
		}
		for i, f := range files {
			if !f.fi.ModTime().Before(p.ModTime) {
				return i, 0
			}
		}
		return len(files), 0
	}
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		if f.fi.Size() < int64(p.HeadLen) {
			continue
		}
		if h, err := head(f.path, p.HeadLen); err == nil && h == p.Head {
			if f.fi.Size() < p.Offset {
				return i, 0 // truncated: read it again
			}
			return i, p.Offset
		}
	}
	return 0, 0
}

// follow reads a stream incrementally.
type follow struct {
	pos *position // nil: from the stream's first file
	st  stamper
}

// advance reads the lines written since the last call and moves the
// position past them; emit receives each event.
func (fl *follow) advance(info StreamInfo, emit func(Event) error) error {
	fl.st.info, fl.st.emit = info, emit
	files := existing(info.Paths)
	if len(files) == 0 {
		return nil
	}
	i, off := 0, int64(0)
	if fl.pos != nil {
		i, off = locate(files, *fl.pos)
	}
	if i >= len(files) {
		return nil
	}
	var end int64
	var err error
	for k := i; k < len(files); k++ {
		from := int64(0)
		if k == i {
			from = off
		}
		last := k == len(files)-1
		end, err = scanFile(files[k].path, from, last, fl.st.line)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if len(fl.st.pending) > 0 {
		if err := fl.st.flush(files[len(files)-1].fi.ModTime()); err != nil {
			return err
		}
	}
	p, err := positionAt(files, end)
	if err != nil {
		return fmt.Errorf("loggroup: stream %s %s: %w", info.Group, info.Stream, err)
	}
	fl.pos = &p
	return nil
}
