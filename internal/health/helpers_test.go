package health

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := leakcheck.Check(5*time.Second, managerGoroutines()); err != nil {
			fmt.Fprintf(os.Stderr, "after all tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// managerGoroutines selects goroutines that must not outlive a Manager.
func managerGoroutines() leakcheck.Matcher {
	return leakcheck.Contains(
		"internal/health.(*target).run",
		"internal/health.(*notifier).run",
		"net/http.(*persistConn)",
	)
}

// fakeClock is a Clock that moves only when Advance is called; due
// AfterFunc callbacks run synchronously inside Advance, in time order.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	when time.Time
	seq  int
	f    func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, when: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	return true
}

// Advance moves the clock by d, running the callbacks that fall due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.when.After(end) && (next == nil || t.when.Before(next.when) || (t.when.Equal(next.when) && t.seq < next.seq)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool { return t == next })
		c.now = next.when
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// pending returns how many timers are armed.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

var _ Clock = (*fakeClock)(nil)

// sinkCall is one SetHealthy call.
type sinkCall struct {
	group, id string
	healthy   bool
	since     time.Time
}

// sinkRecorder is a Sink that records every call.
type sinkRecorder struct {
	mu    sync.Mutex
	calls []sinkCall
}

func (s *sinkRecorder) SetHealthy(group, id string, healthy bool, since time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, sinkCall{group, id, healthy, since})
}

// last returns the last call for a target.
func (s *sinkRecorder) last(group, id string) (sinkCall, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.calls) - 1; i >= 0; i-- {
		if c := s.calls[i]; c.group == group && c.id == id {
			return c, true
		}
	}
	return sinkCall{}, false
}

// count returns how many calls there were.
func (s *sinkRecorder) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// since returns the calls after the first n.
func (s *sinkRecorder) since(n int) []sinkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls[n:])
}

var _ Sink = (*sinkRecorder)(nil)

// changeRecorder collects OnChange calls.
type changeRecorder struct {
	mu      sync.Mutex
	changes []TargetHealth
}

func (c *changeRecorder) add(_ string, th TargetHealth) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes = append(c.changes, th)
}

// states returns the states reported for one target, in order.
func (c *changeRecorder) states(id string) []State {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []State
	for _, th := range c.changes {
		if th.ID == id {
			out = append(out, th.State)
		}
	}
	return out
}

// harness is a Manager with a fake clock and recording hooks.
type harness struct {
	m       *Manager
	clock   *fakeClock
	sink    *sinkRecorder
	changes *changeRecorder
}

func newHarness(t *testing.T, opts ...func(*Options)) *harness {
	t.Helper()
	h := &harness{clock: newFakeClock(), sink: &sinkRecorder{}, changes: &changeRecorder{}}
	o := Options{Sink: h.sink, Clock: h.clock, OnChange: h.changes.add}
	for _, f := range opts {
		f(&o)
	}
	h.m = New(o)
	t.Cleanup(func() {
		if err := h.m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := leakcheck.Check(3*time.Second, managerGoroutines()); err != nil {
			t.Errorf("after Close: %v", err)
		}
	})
	return h
}

// group returns the runtime of a group.
func (h *harness) group(name string) *group { return (*h.m.index.Load())[name] }

// target returns the runtime of a target.
func (h *harness) target(t *testing.T, group, id string) *target {
	t.Helper()
	g := h.group(group)
	if g == nil {
		t.Fatalf("group %q does not exist", group)
	}
	tg := (*g.targets.Load())[id]
	if tg == nil {
		t.Fatalf("target %q of group %q does not exist", id, group)
	}
	return tg
}

// waitChecks waits until the target has applied at least n check results.
func (h *harness) waitChecks(t *testing.T, group, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g := h.group(group)
		got := -1
		if g != nil {
			got = g.checksOf(id)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("target %s/%s applied %d checks, want %d", group, id, got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// health returns one target's health.
func (h *harness) health(t *testing.T, group, id string) TargetHealth {
	t.Helper()
	for _, th := range h.m.Health(group) {
		if th.ID == id {
			return th
		}
	}
	t.Fatalf("target %s/%s not in Health", group, id)
	return TargetHealth{}
}

// routable returns the last routability the Sink heard for a target.
func (h *harness) routable(t *testing.T, group, id string) bool {
	t.Helper()
	c, ok := h.sink.last(group, id)
	if !ok {
		t.Fatalf("sink never heard of %s/%s", group, id)
	}
	return c.healthy
}

// Backend behaviours besides plain status codes.
const (
	behaveHang    = -1 // never answer
	behaveGarbage = -2 // answer with a malformed response
	behaveClose   = -3 // close the connection without a response
)

// backend is a real loopback HTTP server whose answer tests switch.
type backend struct {
	srv      *httptest.Server
	addr     string
	behave   atomic.Int32
	reqs     atomic.Int32
	newConns atomic.Int32
	quit     chan struct{}

	mu   sync.Mutex
	last *http.Request
}

func newBackend(t *testing.T, status int) *backend {
	t.Helper()
	b := &backend{quit: make(chan struct{})}
	b.behave.Store(int32(status))
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	b.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.newConns.Add(1)
		}
	}
	b.srv.Start()
	b.addr = b.srv.Listener.Addr().String()
	t.Cleanup(func() {
		close(b.quit)
		b.srv.Close()
	})
	return b
}

func (b *backend) set(behave int) { b.behave.Store(int32(behave)) }

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.reqs.Add(1)
	b.mu.Lock()
	b.last = r.Clone(context.Background())
	b.mu.Unlock()
	switch s := int(b.behave.Load()); s {
	case behaveHang:
		select {
		case <-r.Context().Done():
		case <-b.quit:
		}
	case behaveGarbage, behaveClose:
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		if s == behaveGarbage {
			_, _ = buf.WriteString("garbage\r\n\r\n")
			_ = buf.Flush()
		}
		_ = conn.Close()
	default:
		w.WriteHeader(s)
	}
}

func (b *backend) lastRequest() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// testSettings are fast settings for tests: the interval runs on the fake
// clock, the timeout on the wall clock.
func testSettings() Settings {
	s := DefaultSettings()
	s.Path = "/health"
	s.Interval = 10 * time.Second
	s.Timeout = 2 * time.Second
	s.HealthyThreshold = 3
	s.UnhealthyThreshold = 2
	return s
}

// oneGroup returns a used group "web" with the given targets.
func oneGroup(s Settings, targets ...Target) []Group {
	return []Group{{Name: "web", InUse: true, Settings: s, Targets: targets}}
}
