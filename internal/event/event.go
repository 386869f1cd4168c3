// Package event is the daemon's in-memory event log: what happened to which
// resource and why ("i-0abc running", "target i-0abc unhealthy: GET /health
// returned 404"). `madang up` and `madang events` stream it.
package event

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Event is one thing that happened.
type Event struct {
	// Seq increases by one per event, starting at 1.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Kind is the resource kind: instance, image, launch-template,
	// target-group, load-balancer, stack, daemon.
	Kind string `json:"kind"`
	// Resource is the resource's id or name.
	Resource string `json:"resource"`
	// Level is info, warn or error.
	Level   string `json:"level"`
	Message string `json:"message"`
}

// String formats the event as one log line.
func (e Event) String() string {
	return fmt.Sprintf("%s %-5s %s %s: %s", e.Time.Format("15:04:05.000"), e.Level, e.Kind, e.Resource, e.Message)
}

// Log keeps the last events in a ring and fans new ones out to
// subscribers. The zero value is not usable; call New.
type Log struct {
	now func() time.Time

	// mu guards the fields that follow.
	mu     sync.Mutex
	ring   []Event
	next   int // ring index of the next write
	seq    uint64
	notify chan struct{} // closed and replaced on every append
}

// New returns a Log keeping the last size events.
func New(size int, now func() time.Time) *Log {
	if size <= 0 {
		size = 1024
	}
	if now == nil {
		now = time.Now
	}
	return &Log{now: now, ring: make([]Event, 0, size), notify: make(chan struct{})}
}

// Add records an event.
func (l *Log) Add(kind, resource, level, format string, args ...any) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e := Event{Seq: l.seq, Time: l.now(), Kind: kind, Resource: resource, Level: level, Message: fmt.Sprintf(format, args...)}
	if len(l.ring) < cap(l.ring) {
		l.ring = append(l.ring, e)
	} else {
		l.ring[l.next] = e
	}
	l.next = (l.next + 1) % cap(l.ring)
	close(l.notify)
	l.notify = make(chan struct{})
	return e
}

// Info records an informational event.
func (l *Log) Info(kind, resource, format string, args ...any) {
	l.Add(kind, resource, "info", format, args...)
}

// Warn records a warning.
func (l *Log) Warn(kind, resource, format string, args ...any) {
	l.Add(kind, resource, "warn", format, args...)
}

// Error records an error.
func (l *Log) Error(kind, resource, format string, args ...any) {
	l.Add(kind, resource, "error", format, args...)
}

// Since returns the kept events with Seq > after, oldest first, and a
// channel closed when a newer event arrives.
func (l *Log) Since(after uint64) ([]Event, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	n := len(l.ring)
	start := 0
	if n == cap(l.ring) {
		start = l.next
	}
	for i := 0; i < n; i++ {
		e := l.ring[(start+i)%n]
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out, l.notify
}

// Follow calls fn for every event with Seq > after, then for new events as
// they arrive, until ctx is done or fn returns an error.
func (l *Log) Follow(ctx context.Context, after uint64, fn func(Event) error) error {
	for {
		evs, ch := l.Since(after)
		for _, e := range evs {
			if err := fn(e); err != nil {
				return err
			}
			after = e.Seq
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
