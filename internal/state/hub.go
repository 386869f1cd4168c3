package state

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// hub keeps a store's recent event history and fans events out to
// watchers. It is shared by the built-in backends.
//
// The owning store calls publish and watch while holding its own write
// lock, so events reach watchers in revision order and a new watcher's
// replay and its live events neither overlap nor leave a gap. Sends never
// block: a watcher whose buffer is full is closed.
type hub struct {
	logger *slog.Logger
	buffer int

	// mu guards the fields that follow.
	mu sync.Mutex
	// ring holds the most recent events in revision order, as a circular
	// buffer of len(ring) slots starting at start with n used.
	ring     []Event
	start, n int
	// compacted is the highest revision whose events may be missing from
	// ring: every event with a revision above it is in ring.
	compacted int64
	watchers  map[*watcher]struct{}
	closed    bool

	// wg counts watchers whose context callback has not finished or been
	// stopped; close waits for it.
	wg sync.WaitGroup
}

// watcher is one Watch call's subscription.
type watcher struct {
	prefix string
	after  int64
	ch     chan Event
	// stop unregisters the context callback; it reports whether the
	// callback had not started.
	stop func() bool
}

// newHub returns a hub for a store whose current revision is rev; events
// up to rev are not in its history.
func newHub(logger *slog.Logger, o options, rev int64) *hub {
	return &hub{
		logger:    logger,
		buffer:    o.watchBuffer,
		ring:      make([]Event, o.history),
		compacted: rev,
		watchers:  make(map[*watcher]struct{}),
	}
}

// publish records the events of committed transactions, in revision
// order, and delivers them to matching watchers.
func (h *hub) publish(events []Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range events {
		h.appendLocked(ev)
	}
	for w := range h.watchers {
		for _, ev := range events {
			if ev.KV.ModRevision <= w.after || !strings.HasPrefix(ev.KV.Key, w.prefix) {
				continue
			}
			select {
			case w.ch <- copyEvent(ev):
			default:
				h.logger.Warn("watcher fell behind; closing its channel so it re-lists",
					"prefix", w.prefix, "buffer", cap(w.ch), "revision", ev.KV.ModRevision)
				h.dropLocked(w)
			}
			if _, ok := h.watchers[w]; !ok {
				break
			}
		}
	}
}

// appendLocked adds ev to the ring, evicting the oldest event when full.
func (h *hub) appendLocked(ev Event) {
	size := len(h.ring)
	if h.n == size {
		old := h.ring[h.start]
		h.compacted = max(h.compacted, old.KV.ModRevision)
		h.ring[h.start] = ev
		h.start = (h.start + 1) % size
		return
	}
	h.ring[(h.start+h.n)%size] = ev
	h.n++
}

// watch subscribes to events under prefix with revision > after. The
// caller holds its store's write lock so no commit runs concurrently.
func (h *hub) watch(ctx context.Context, prefix string, after int64) (<-chan Event, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if after < 0 {
		return nil, fmt.Errorf("state: watch %q afterRev = %d is negative; use 0 for the whole history or the revision returned by List", prefix, after)
	}
	if after < h.compacted {
		return nil, fmt.Errorf("watch %q after revision %d: %w (history starts after revision %d); list again and watch from the listed revision",
			prefix, after, ErrCompacted, h.compacted)
	}
	var replay []Event
	for i := range h.n {
		ev := h.ring[(h.start+i)%len(h.ring)]
		if ev.KV.ModRevision > after && strings.HasPrefix(ev.KV.Key, prefix) {
			replay = append(replay, ev)
		}
	}
	w := &watcher{prefix: prefix, after: after, ch: make(chan Event, len(replay)+h.buffer)}
	for _, ev := range replay {
		w.ch <- copyEvent(ev)
	}
	h.watchers[w] = struct{}{}
	h.wg.Add(1)
	w.stop = context.AfterFunc(ctx, func() {
		defer h.wg.Done()
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.watchers[w]; ok {
			delete(h.watchers, w)
			close(w.ch)
		}
	})
	return w.ch, nil
}

// dropLocked closes w's channel and forgets it.
func (h *hub) dropLocked(w *watcher) {
	if _, ok := h.watchers[w]; !ok {
		return
	}
	delete(h.watchers, w)
	close(w.ch)
	if w.stop() {
		h.wg.Done()
	}
}

// close closes every watcher channel, refuses new watches and waits for
// pending context callbacks.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	for w := range h.watchers {
		h.dropLocked(w)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// copyEvent returns ev with its own copy of the value, so no two
// receivers share memory.
func copyEvent(ev Event) Event {
	if ev.KV.Value != nil {
		ev.KV.Value = cloneBytes(ev.KV.Value)
	}
	return ev
}
