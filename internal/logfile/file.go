// Package logfile writes and reads instance logs: size-rotated files of
// timestamped lines, one line per line of output.
//
// Each line on disk reads
//
//	<RFC3339Nano UTC timestamp> <stream> <text>
//
// where stream is "out" or "err" for an application's standard output and
// error, and "sys" for madang's own notes about the process ("started pid
// 123: /bin/sh -c ./app", "exited with code 1 after 312ms"). When a write
// would make the file larger than Options.MaxBytes, the file is rotated:
// path becomes path.1, path.1 becomes path.2 and so on, and only
// Options.MaxFiles rotated files are kept, so one log never takes much more
// than (MaxFiles+1)×MaxBytes of disk.
//
// A log has a single writer process (the instance's shim). Readers (Tail,
// Follow) may run in other processes at the same time.
package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Stream names used in log lines.
const (
	StreamOut = "out" // the application's standard output
	StreamErr = "err" // the application's standard error
	StreamSys = "sys" // madang's own notes about the process
)

// MaxLineBytes is the longest text a log line carries; longer output lines
// are split into several log lines.
const MaxLineBytes = 64 << 10

// Defaults of Options.
const (
	DefaultMaxBytes = 10 << 20
	DefaultMaxFiles = 5
)

// ErrClosed is returned by writes to a closed log.
var ErrClosed = errors.New("logfile: closed")

// Options control rotation.
type Options struct {
	// MaxBytes is the size a file may reach before it is rotated
	// (default 10 MiB).
	MaxBytes int64
	// MaxFiles is how many rotated files (path.1 … path.N) are kept
	// (default 5).
	MaxFiles int
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if o.MaxBytes < 0 {
		return o, fmt.Errorf("logfile: MaxBytes is negative (got %d); use 0 for the default of %d or a positive size in bytes", o.MaxBytes, DefaultMaxBytes)
	}
	if o.MaxFiles < 0 {
		return o, fmt.Errorf("logfile: MaxFiles is negative (got %d); use 0 for the default of %d or a positive count", o.MaxFiles, DefaultMaxFiles)
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxFiles == 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	return o, nil
}

// File is an open instance log. Its methods are safe for concurrent use.
type File struct {
	now func() time.Time

	// mu guards the fields that follow.
	mu     sync.Mutex
	r      *rotator
	batch  []byte // scratch buffer for formatted lines
	closed bool
}

// Open opens (creating it and its directory if needed) the log at path
// for appending.
func Open(path string, opts Options) (*File, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	r, err := openRotator(path, opts)
	if err != nil {
		return nil, err
	}
	return &File{now: time.Now, r: r}, nil
}

// Stream returns a writer that splits whatever is written to it into
// lines, stamps each line with the time and name, and appends it to the
// log. Text longer than MaxLineBytes without a newline is split. Close
// flushes a final partial line; it does not close the File.
func (f *File) Stream(name string) io.WriteCloser {
	return &stream{f: f, name: name}
}

// Note appends a "sys" line (several if the text holds newlines).
func (f *File) Note(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	b := make([][]byte, len(lines))
	for i, l := range lines {
		b[i] = []byte(l)
	}
	_ = f.appendLines(StreamSys, b)
}

// Close closes the log file. Later writes fail with ErrClosed.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	return f.r.close()
}

// appendLines stamps and appends lines (without their newlines) in as few
// writes as rotation allows.
func (f *File) appendLines(name string, lines [][]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	ts := f.now().UTC().Format(time.RFC3339Nano)
	var errs []error
	batch := f.batch[:0]
	for _, l := range lines {
		n := int64(len(ts) + 1 + len(name) + 1 + len(l) + 1)
		if pending := f.r.size + int64(len(batch)); pending > 0 && pending+n > f.r.opts.MaxBytes {
			if _, err := f.r.write(batch); err != nil {
				errs = append(errs, err)
			}
			batch = batch[:0]
			if err := f.r.rotate(); err != nil {
				errs = append(errs, err)
			}
		}
		batch = append(batch, ts...)
		batch = append(batch, ' ')
		batch = append(batch, name...)
		batch = append(batch, ' ')
		batch = append(batch, l...)
		batch = append(batch, '\n')
	}
	if _, err := f.r.write(batch); err != nil {
		errs = append(errs, err)
	}
	if cap(batch) <= 4*MaxLineBytes {
		f.batch = batch[:0]
	}
	return errors.Join(errs...)
}

// stream is the line-splitting writer returned by File.Stream.
type stream struct {
	f    *File
	name string

	// mu guards the fields that follow.
	mu     sync.Mutex
	buf    []byte // start of a line not yet ended by a newline
	closed bool
}

// Write implements io.Writer. It always consumes all of p; the error
// reports a failure to append to the file.
func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	s.buf = append(s.buf, p...)
	var lines [][]byte
	rest := s.buf
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		lines = appendSplit(lines, trimCR(rest[:i]))
		rest = rest[i+1:]
	}
	for len(rest) > MaxLineBytes {
		n := cutPoint(rest, MaxLineBytes)
		lines = append(lines, rest[:n])
		rest = rest[n:]
	}
	var err error
	if len(lines) > 0 {
		err = s.f.appendLines(s.name, lines)
	}
	// Keep the unfinished line at the start of buf.
	s.buf = append(s.buf[:0], rest...)
	if cap(s.buf) > 2*MaxLineBytes {
		s.buf = bytes.Clone(s.buf)
	}
	return len(p), err
}

// Close flushes a final partial line.
func (s *stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if len(s.buf) == 0 {
		return nil
	}
	err := s.f.appendLines(s.name, [][]byte{trimCR(s.buf)})
	s.buf = nil
	return err
}

// appendSplit appends line to lines, split into pieces of at most
// MaxLineBytes.
func appendSplit(lines [][]byte, line []byte) [][]byte {
	for len(line) > MaxLineBytes {
		n := cutPoint(line, MaxLineBytes)
		lines = append(lines, line[:n])
		line = line[n:]
	}
	return append(lines, line)
}

// cutPoint returns where to cut b so the first piece is at most max bytes
// and, where possible, does not end inside a UTF-8 sequence.
func cutPoint(b []byte, max int) int {
	for n := max; n > max-utf8.UTFMax && n > 0; n-- {
		if utf8.RuneStart(b[n]) {
			return n
		}
	}
	return max
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// Interface guards.
var _ io.WriteCloser = (*stream)(nil)
