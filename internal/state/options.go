package state

import "time"

// Defaults for the tunables of the built-in backends.
const (
	// DefaultHistory is how many recent events a store keeps for Watch
	// replay.
	DefaultHistory = 4096
	// DefaultWatchBuffer is how many undelivered live events a watcher may
	// have pending before its channel is closed.
	DefaultWatchBuffer = 1024
	// DefaultLockTimeout is how long OpenBolt waits for another process to
	// release the state file.
	DefaultLockTimeout = time.Second
)

// Option configures a built-in backend (OpenBolt, NewMemory).
type Option func(*options)

type options struct {
	history     int
	watchBuffer int
	lockTimeout time.Duration
}

func defaultOptions() options {
	return options{
		history:     DefaultHistory,
		watchBuffer: DefaultWatchBuffer,
		lockTimeout: DefaultLockTimeout,
	}
}

func buildOptions(opts []Option) options {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	d := defaultOptions()
	if o.history < 1 {
		o.history = d.history
	}
	if o.watchBuffer < 1 {
		o.watchBuffer = d.watchBuffer
	}
	if o.lockTimeout <= 0 {
		o.lockTimeout = d.lockTimeout
	}
	return o
}

// WithHistory sets how many recent events the store keeps in memory for
// Watch replay (default DefaultHistory; values below 1 mean the default).
// Watches from older revisions get ErrCompacted.
func WithHistory(events int) Option { return func(o *options) { o.history = events } }

// WithWatchBuffer sets how many live events may wait undelivered on one
// watcher before its channel is closed (default DefaultWatchBuffer; values
// below 1 mean the default).
func WithWatchBuffer(events int) Option { return func(o *options) { o.watchBuffer = events } }

// WithLockTimeout sets how long OpenBolt waits for the state file's lock
// (default DefaultLockTimeout; values of 0 or less mean the default).
// Ignored by NewMemory.
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }
