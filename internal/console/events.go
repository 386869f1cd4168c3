package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
)

// hub fans the daemon's events out to the open pages' event streams: one
// stream from the API however many pages are open, and none while no page
// is open (a launch of 50 instances makes hundreds of events that nobody
// would read).
type hub struct {
	mu     sync.Mutex
	subs   map[chan v1.Event]struct{}
	closed bool
	// on is closed while a page subscribes, off while none does; each is
	// replaced by an open one when its turn ends.
	on, off chan struct{}
	// onAt is when the first of the current subscribers came.
	onAt time.Time
}

func newHub() *hub {
	off := make(chan struct{})
	close(off)
	return &hub{subs: map[chan v1.Event]struct{}{}, on: make(chan struct{}), off: off}
}

// subscribe returns a channel of new events and a function that ends the
// subscription. A page that does not keep up misses events (it refreshes
// on the next one).
func (h *hub) subscribe() (<-chan v1.Event, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan v1.Event, 64)
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	if len(h.subs) == 0 {
		close(h.on)
		h.off = make(chan struct{})
		h.onAt = time.Now()
	}
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			h.removeLocked(ch)
		}
	}
}

func (h *hub) removeLocked(ch chan v1.Event) {
	delete(h.subs, ch)
	close(ch)
	if len(h.subs) == 0 {
		close(h.off)
		h.on = make(chan struct{})
	}
}

// listened waits until a page subscribes and returns a channel closed
// when the last one has left and when the first one came; ok is false if
// ctx ended first.
func (h *hub) listened(ctx context.Context) (off <-chan struct{}, since time.Time, ok bool) {
	for {
		h.mu.Lock()
		if len(h.subs) > 0 {
			off, since := h.off, h.onAt
			h.mu.Unlock()
			return off, since, true
		}
		on := h.on
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, time.Time{}, false
		case <-on:
		}
	}
}

func (h *hub) publish(e v1.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default: // a slow page misses this one
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		h.removeLocked(ch)
	}
}

// follow streams the daemon's events into the hub while a page listens,
// those since the first page came, reconnecting after an error, until ctx
// ends.
func (s *Server) follow(ctx context.Context) {
	var after uint64 // the newest event published
	for {
		off, since, ok := s.hub.listened(ctx)
		if !ok {
			return
		}
		sctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-off:
				cancel()
			case <-sctx.Done():
			}
		}()
		err := s.api.FollowEventsSince(sctx, after, since, func(e v1.Event) {
			after = e.Seq
			s.hub.publish(e)
		})
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-off:
			continue // nobody listens: wait for the next page
		default:
		}
		s.log.Debug("console: event stream ended; reconnecting", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-off:
		case <-time.After(time.Second):
		}
	}
}

// mountEvents serves GET /events, the pages' server-sent event stream:
// "change" for every daemon event and "tick" every TickEvery for charts.
func (s *Server) mountEvents(mux *http.ServeMux) {
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		fl, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming is not supported", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Accel-Buffering", "no")
		evs, done := s.hub.subscribe()
		defer done()
		tick := time.NewTicker(s.tick)
		defer tick.Stop()
		// Tell the browser to retry after 2 s if the stream breaks.
		fmt.Fprint(w, "retry: 2000\n\n")
		fl.Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case e, ok := <-evs:
				if !ok {
					return
				}
				writeSSE(w, "change", fmt.Sprint(e.Seq), e)
			case t := <-tick.C:
				writeSSE(w, "tick", "", map[string]string{"time": t.UTC().Format(time.RFC3339)})
			}
			fl.Flush()
		}
	})
}

// writeSSE writes one server-sent event with JSON data.
func writeSSE(w http.ResponseWriter, event, id string, data any) {
	b, _ := json.Marshal(data)
	if id != "" {
		fmt.Fprintf(w, "id: %s\n", id)
	}
	if event != "" {
		fmt.Fprintf(w, "event: %s\n", event)
	}
	fmt.Fprintf(w, "data: %s\n\n", b)
}

// streamSSE answers with a server-sent event stream: run calls send for
// each event until it returns (the request's context ends when the page
// goes away). Pages' live tails use it.
func streamSSE(w http.ResponseWriter, r *http.Request, run func(send func(event string, data any)) error) error {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported", http.StatusInternalServerError)
		return nil
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	return run(func(event string, data any) {
		writeSSE(w, event, "", data)
		fl.Flush()
	})
}
