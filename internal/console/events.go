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
// stream from the API however many pages are open.
type hub struct {
	mu     sync.Mutex
	subs   map[chan v1.Event]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[chan v1.Event]struct{}{}} }

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
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
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
		delete(h.subs, ch)
		close(ch)
	}
}

// follow streams the daemon's events into the hub, from the newest one on,
// reconnecting after an error, until ctx ends.
func (s *Server) follow(ctx context.Context) {
	var after uint64
	first := true
	for ctx.Err() == nil {
		if first {
			// Start after the events that happened before the console.
			_ = s.api.Events(ctx, 0, false, func(e v1.Event) { after = e.Seq })
			first = false
		}
		err := s.api.Events(ctx, after, true, func(e v1.Event) {
			after = e.Seq
			s.hub.publish(e)
		})
		if ctx.Err() != nil {
			return
		}
		s.log.Debug("console: event stream ended; reconnecting", "err", err)
		select {
		case <-ctx.Done():
			return
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
