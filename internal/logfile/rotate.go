package logfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// rotator appends to a file and rotates it by size. It is not safe for
// concurrent use; its owner serializes calls.
type rotator struct {
	path string
	opts Options
	f    *os.File
	size int64
}

func openRotator(path string, opts Options) (*rotator, error) {
	if path == "" {
		return nil, errors.New("logfile: path is empty; give the log file's path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("logfile: create log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("logfile: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("logfile: stat: %w", err)
	}
	// Rotated files beyond MaxFiles (left by an earlier, larger setting)
	// would otherwise stay forever.
	for i := opts.MaxFiles + 1; ; i++ {
		if err := os.Remove(rotatedName(path, i)); err != nil {
			break
		}
	}
	return &rotator{path: path, opts: opts, f: f, size: fi.Size()}, nil
}

// rotatedName is the name of the i-th rotated file (i >= 1) of path.
func rotatedName(path string, i int) string {
	return path + "." + strconv.Itoa(i)
}

// write appends p, rotating first when p would make the file larger than
// MaxBytes. p should hold whole lines. It returns how many bytes of p were
// written; when rotation fails, p still goes to the current file.
func (r *rotator) write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var rerr error
	if r.size > 0 && r.size+int64(len(p)) > r.opts.MaxBytes {
		rerr = r.rotate()
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	if err != nil {
		err = fmt.Errorf("logfile: write: %w", err)
	}
	return n, errors.Join(rerr, err)
}

// rotate shifts path.i to path.i+1 (dropping the oldest), renames path to
// path.1 and starts a new path. On failure the current file stays open.
func (r *rotator) rotate() error {
	if r.size == 0 {
		return nil
	}
	for i := r.opts.MaxFiles - 1; i >= 1; i-- {
		err := os.Rename(rotatedName(r.path, i), rotatedName(r.path, i+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("logfile: rotate: %w", err)
		}
	}
	if err := os.Rename(r.path, rotatedName(r.path, 1)); err != nil {
		return fmt.Errorf("logfile: rotate: %w", err)
	}
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		// The old descriptor now writes to path.1; keep using it.
		return fmt.Errorf("logfile: rotate: reopen: %w", err)
	}
	old := r.f
	r.f, r.size = f, 0
	if err := old.Close(); err != nil {
		return fmt.Errorf("logfile: rotate: close old file: %w", err)
	}
	return nil
}

func (r *rotator) close() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("logfile: close: %w", err)
	}
	return nil
}
