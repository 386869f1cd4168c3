package logfile

import (
	"io"
	"sync"
)

// Raw is a size-rotated file that stores the caller's bytes unchanged,
// for logs whose lines are already formatted (load balancer access logs,
// for example). Its methods are safe for concurrent use.
type Raw struct {
	// mu guards the fields that follow.
	mu     sync.Mutex
	r      *rotator
	closed bool
}

// OpenRaw opens (creating it and its directory if needed) the file at
// path for appending, with the same rotation as Open.
func OpenRaw(path string, opts Options) (*Raw, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	r, err := openRotator(path, opts)
	if err != nil {
		return nil, err
	}
	return &Raw{r: r}, nil
}

// Write appends p in one write, rotating first when p would make the file
// larger than MaxBytes. p should hold whole lines, so rotation never
// splits a line.
func (w *Raw) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	return w.r.write(p)
}

// Close closes the file. Later writes fail with ErrClosed.
func (w *Raw) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.r.close()
}

// Interface guards.
var _ io.WriteCloser = (*Raw)(nil)
