package logfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// FollowInterval is how often Follow looks for new lines.
const FollowInterval = 100 * time.Millisecond

// Line is one parsed log line.
type Line struct {
	Time   time.Time
	Stream string // "out", "err" or "sys"; empty for text that is not in the log format
	Text   string
}

// String formats the line as it is stored on disk (without the newline).
func (l Line) String() string {
	if l.Stream == "" {
		return l.Text
	}
	return l.Time.UTC().Format(time.RFC3339Nano) + " " + l.Stream + " " + l.Text
}

// ParseLine parses one log line, with or without its trailing newline.
func ParseLine(b []byte) (Line, error) {
	b = bytes.TrimSuffix(b, []byte("\n"))
	ts, rest, ok := bytes.Cut(b, []byte(" "))
	if !ok {
		return Line{}, fmt.Errorf("logfile: parse line %q: want \"<timestamp> <stream> <text>\"", clip(b))
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return Line{}, fmt.Errorf("logfile: parse line %q: bad timestamp: %w", clip(b), err)
	}
	stream, text, _ := bytes.Cut(rest, []byte(" "))
	if len(stream) == 0 {
		return Line{}, fmt.Errorf("logfile: parse line %q: missing stream name", clip(b))
	}
	return Line{Time: t, Stream: string(stream), Text: string(text)}, nil
}

func clip(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// lineFilter turns raw lines into Lines and applies a since filter. Text
// that does not parse is kept as a Line with only Text set, unless since
// is set (its time is unknown).
type lineFilter struct {
	since time.Time
}

// keep parses b and reports whether it passes the filter; older is true
// when b is a parsed line from before since.
func (lf lineFilter) keep(b []byte) (l Line, ok, older bool) {
	l, err := ParseLine(b)
	if err != nil {
		return Line{Text: string(b)}, lf.since.IsZero(), false
	}
	if !lf.since.IsZero() && l.Time.Before(lf.since) {
		return l, false, true
	}
	return l, true, false
}

// files returns the existing files of the log at path, newest first:
// path, path.1, path.2, …
func files(path string) []string {
	var names []string
	if _, err := os.Stat(path); err == nil {
		names = append(names, path)
	}
	for i := 1; ; i++ {
		name := rotatedName(path, i)
		if _, err := os.Stat(name); err != nil {
			break
		}
		names = append(names, name)
	}
	return names
}

// Tail returns the last n lines (all when n <= 0) of the log at path that
// were written at or after since (any time when since is zero), oldest
// first, reading rotated files as needed. A log that does not exist yet
// has no lines. Lines are assumed to be in time order: reading stops at
// the first line older than since.
func Tail(path string, n int, since time.Time) ([]Line, error) {
	lf := lineFilter{since: since}
	var rev []Line // newest first
	for _, name := range files(path) {
		stop, err := scanReverse(name, func(b []byte) bool {
			l, ok, older := lf.keep(b)
			if older {
				return false
			}
			if ok {
				rev = append(rev, l)
			}
			return n <= 0 || len(rev) < n
		})
		if err != nil {
			return nil, err
		}
		if stop {
			break
		}
	}
	slices.Reverse(rev)
	return rev, nil
}

// scanReverse calls fn with each non-empty line of the file, last line
// first, until fn returns false (then stopped is true). The slice passed
// to fn is only valid during the call. A missing file has no lines.
func scanReverse(name string, fn func([]byte) bool) (stopped bool, err error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("logfile: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("logfile: %w", err)
	}
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	var carry []byte // the start of a line whose end has been read
	for off := fi.Size(); off > 0; {
		sz := int64(chunk)
		if off < sz {
			sz = off
		}
		off -= sz
		if _, err := f.ReadAt(buf[:sz], off); err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("logfile: read %s: %w", name, err)
		}
		data := append(buf[:sz:sz], carry...)
		for {
			i := bytes.LastIndexByte(data, '\n')
			if i < 0 {
				break
			}
			if line := data[i+1:]; len(line) > 0 && !fn(line) {
				return true, nil
			}
			data = data[:i]
		}
		carry = append(carry[:0:0], data...)
	}
	if len(carry) > 0 && !fn(carry) {
		return true, nil
	}
	return false, nil
}

// Follow calls fn with the lines of the log at path written at or after
// since (any time when since is zero), oldest first, and then with new
// lines as they are written, until ctx is done; then it returns nil. It
// follows the log across rotations (a new file under path) and waits for
// the log to appear if it does not exist yet. fn is called from Follow's
// goroutine.
func Follow(ctx context.Context, path string, since time.Time, fn func(Line)) error {
	tick := time.NewTicker(FollowInterval)
	defer tick.Stop()
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
			return true
		}
	}
	fw := &follower{lf: lineFilter{since: since}, fn: fn}
	var cur *os.File
	for {
		f, err := os.Open(path)
		if err == nil {
			cur = f
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("logfile: follow: %w", err)
		}
		if !wait() {
			return nil
		}
	}
	defer func() { _ = cur.Close() }()
	curInfo, err := cur.Stat()
	if err != nil {
		return fmt.Errorf("logfile: follow: %w", err)
	}
	// Rotated files older than the current one, oldest first.
	var older []string
	for i := 1; ; i++ {
		name := rotatedName(path, i)
		fi, err := os.Stat(name)
		if err != nil {
			break
		}
		if !os.SameFile(fi, curInfo) {
			older = append(older, name)
		}
	}
	for _, name := range slices.Backward(older) {
		if err := fw.emitFile(name); err != nil {
			return err
		}
	}
	var off int64
	for {
		n, err := fw.readFrom(cur, off)
		off += n
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		fi, err := os.Stat(path)
		switch {
		case err == nil && !os.SameFile(fi, curInfo):
			// Rotated: finish the old file, then read any files rotated
			// in between before switching to the new one.
			n, err := fw.readFrom(cur, off)
			off += n
			if err != nil {
				return err
			}
			fw.flush()
			next, err := os.Open(path)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					break // between rename and create; try again next tick
				}
				return fmt.Errorf("logfile: follow: %w", err)
			}
			nextInfo, err := next.Stat()
			if err != nil {
				_ = next.Close()
				return fmt.Errorf("logfile: follow: %w", err)
			}
			var between []string
			for i := 1; ; i++ {
				name := rotatedName(path, i)
				fi, err := os.Stat(name)
				if err != nil || os.SameFile(fi, curInfo) {
					break
				}
				if !os.SameFile(fi, nextInfo) {
					between = append(between, name)
				}
			}
			for _, name := range slices.Backward(between) {
				if err := fw.emitFile(name); err != nil {
					_ = next.Close()
					return err
				}
			}
			_ = cur.Close()
			cur, curInfo, off = next, nextInfo, 0
			continue
		case err == nil && fi.Size() < off:
			// Truncated in place: start over.
			fw.flush()
			off = 0
			continue
		}
		if !wait() {
			return nil
		}
	}
}

// follower turns bytes read from log files into calls of fn.
type follower struct {
	lf      lineFilter
	fn      func(Line)
	partial []byte // a line read without its newline yet
	buf     []byte
}

// readFrom reads f from off to its end, emitting complete lines, and
// returns how many bytes it read.
func (fw *follower) readFrom(f *os.File, off int64) (int64, error) {
	if fw.buf == nil {
		fw.buf = make([]byte, 64<<10)
	}
	var total int64
	for {
		n, err := f.ReadAt(fw.buf, off+total)
		total += int64(n)
		fw.feed(fw.buf[:n])
		if errors.Is(err, io.EOF) || n == 0 {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("logfile: follow: read: %w", err)
		}
	}
}

// emitFile emits all lines of the named file.
func (fw *follower) emitFile(name string) error {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logfile: follow: %w", err)
	}
	defer f.Close()
	if _, err := fw.readFrom(f, 0); err != nil {
		return err
	}
	fw.flush()
	return nil
}

func (fw *follower) feed(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			fw.partial = append(fw.partial, b...)
			return
		}
		line := b[:i]
		if len(fw.partial) > 0 {
			line = append(fw.partial, line...)
			fw.partial = fw.partial[:0]
		}
		fw.emit(line)
		b = b[i+1:]
	}
}

// flush emits a pending partial line (the end of a file that was rotated
// or truncated).
func (fw *follower) flush() {
	if len(fw.partial) > 0 {
		fw.emit(fw.partial)
		fw.partial = fw.partial[:0]
	}
}

func (fw *follower) emit(b []byte) {
	if len(b) == 0 {
		return
	}
	if l, ok, _ := fw.lf.keep(b); ok {
		fw.fn(l)
	}
}
