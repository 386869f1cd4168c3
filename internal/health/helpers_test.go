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
	"testing/synctest"
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

// testClock is a Clock that tests move forward.
type testClock interface {
	Clock
	// Advance moves time forward by d and lets what falls due run.
	Advance(d time.Duration)
	// pending returns how many timers are armed.
	pending() int
}

// harness is a Manager with a test clock and recording hooks.
type harness struct {
	m       *Manager
	clock   testClock
	sink    *sinkRecorder
	changes *changeRecorder
	// net is the in-memory network of a harness in a synctest bubble;
	// nil for a harness on the loopback network.
	net *fakeNet
}

// newHarness returns a harness for a test running in a synctest bubble:
// time is the bubble's fake time, and checks are real HTTP checks over an
// in-memory network (h.backend), so intervals, thresholds, timeouts and
// ejection backoff take no wall time and no scheduling luck.
func newHarness(t *testing.T, opts ...func(*Options)) *harness {
	t.Helper()
	n := newFakeNet()
	h := &harness{clock: newBubbleClock(), sink: &sinkRecorder{}, changes: &changeRecorder{}, net: n}
	return h.start(t, append([]func(*Options){func(o *Options) { o.Checker = NewHTTPChecker(n.dial) }}, opts...))
}

// newRealHarness returns a harness on the loopback network (newBackend)
// whose intervals run on a fake clock that only Advance moves.
func newRealHarness(t *testing.T, opts ...func(*Options)) *harness {
	t.Helper()
	h := &harness{clock: newFakeClock(), sink: &sinkRecorder{}, changes: &changeRecorder{}}
	return h.start(t, opts)
}

func (h *harness) start(t *testing.T, opts []func(*Options)) *harness {
	t.Helper()
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

// backend returns a backend on the harness's network.
func (h *harness) backend(t *testing.T, status int) *backend {
	t.Helper()
	if h.net != nil {
		return h.net.backend(t, status)
	}
	return newBackend(t, status)
}

// settle waits until everything the Manager started has run as far as it
// can without time passing (in a bubble), or briefly (on the loopback
// network, where cond says when it is done).
func (h *harness) settle(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if h.net != nil {
		synctest.Wait()
		if !cond() {
			t.Fatalf("%s: not so once the Manager settled", what)
		}
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after 5s", what)
		}
		time.Sleep(time.Millisecond)
	}
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
// In a bubble, time moves a millisecond at a time while it waits, so a
// check that hangs until its timeout ends exactly at the timeout.
func (h *harness) waitChecks(t *testing.T, group, id string, n int) {
	t.Helper()
	got := func() int {
		if g := h.group(group); g != nil {
			return g.checksOf(id)
		}
		return -1
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if h.net != nil {
			synctest.Wait()
		}
		if got() >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("target %s/%s applied %d checks, want %d", group, id, got(), n)
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

// backend is an HTTP server whose answer tests switch: a real loopback
// server (newBackend), or one on a harness's in-memory network
// (harness.backend in a synctest bubble).
type backend struct {
	srv      *httptest.Server // nil on the in-memory network
	addr     string
	behave   atomic.Int32
	reqs     atomic.Int32
	newConns atomic.Int32
	quit     chan struct{}

	mu      sync.Mutex
	last    *http.Request
	latency time.Duration // before an in-memory answer
	pipes   []net.Conn    // in-memory connections served
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

// testSettings are the settings of most tests. In a synctest bubble the
// interval and the timeout run on fake time; on the loopback network the
// interval runs on the fake clock and the timeout on the wall clock.
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
