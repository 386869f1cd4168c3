package console

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/api/v1"
)

// TestHubFollowsOnlyWhileListened: the console streams the daemon's events
// only while a page subscribes, and a page gets the events made from its
// subscription on, also those made before the stream was connected.
func TestHubFollowsOnlyWhileListened(t *testing.T) {
	f := apitest.New(t)
	var streams, opened atomic.Int64
	h := f.Server().Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/events" && r.URL.Query().Get("follow") == "1" {
			opened.Add(1)
			streams.Add(1)
			defer streams.Add(-1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s := newConsoleOver(t, srv)
	s.Start(t.Context())
	t.Cleanup(s.Close)

	waitStreams := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); streams.Load() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("%d event streams open, want %d", streams.Load(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	next := func(evs <-chan v1.Event, want string) {
		t.Helper()
		select {
		case e := <-evs:
			if e.Message != want {
				t.Fatalf("page got event %q, want %q", e.Message, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("page got no event, want %q", want)
		}
	}

	f.Events.Info("instance", "i-1", "before any page")
	time.Sleep(20 * time.Millisecond)
	if n := opened.Load(); n != 0 {
		t.Fatalf("%d event streams opened with no page listening", n)
	}
	for round, msg := range []string{"first page", "second page"} {
		time.Sleep(time.Millisecond) // the event before is older than the page
		evs, done := s.hub.subscribe()
		f.Events.Info("instance", "i-1", "%s", msg) // likely before the stream connects
		next(evs, msg)
		f.Events.Info("instance", "i-1", "%s again", msg)
		next(evs, msg+" again")
		waitStreams(1)
		done()
		waitStreams(0)
		f.Events.Info("instance", "i-1", "after page %d", round+1)
	}
	if n := opened.Load(); n != 2 {
		t.Errorf("%d event streams opened for two listened periods, want 2", n)
	}
}
