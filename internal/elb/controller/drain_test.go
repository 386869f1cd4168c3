package controller

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/state"
)

// fakeClock is an injected clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// holdBackend is a target that names itself in every answer, except that
// requests for /hold wait until release is called (or the client goes).
func holdBackend(t *testing.T, name string) (s *httptest.Server, release func()) {
	t.Helper()
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	s = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		}
		fmt.Fprint(w, name)
	}))
	t.Cleanup(s.Close)
	t.Cleanup(release) // before s.Close, which waits for handlers
	return s, release
}

// holdRequest sends GET /hold through the listener on port until target
// id has a request in flight (requests that reach other targets return at
// once); it returns a channel that gets each request's error once it is
// answered (nil for a 200).
func holdRequest(t *testing.T, c *Controller, port int, id string) <-chan error {
	t.Helper()
	answered := make(chan error, 64)
	hc := &http.Client{Timeout: 60 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for sent := 0; ; {
		n, err := c.dp.InFlight(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return answered
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request in flight to %s after %d sent", id, sent)
		}
		if sent < cap(answered) {
			sent++
			go func() {
				resp, err := hc.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/hold")
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				answered <- err
			}()
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not a timing assumption
	}
}

func hasEvent(evs *event.Log, text string) bool {
	evl, _ := evs.Since(0)
	for _, e := range evl {
		if strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}

// A deregistered target with a request in flight drains for exactly its
// group's deregistration delay, on the controller's clock: still draining
// a second before the delay ends, gone (with an event) once it has. One
// with no request in flight finishes draining at once, as on AWS.
func TestDeregisteredTargetDrainsForTheDelay(t *testing.T) {
	for _, tc := range []struct {
		name string
		held bool // a request to the target is in flight while it drains
	}{
		{"request in flight", true},
		{"idle", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1_000_000, 0)}
			evs := event.New(512, nil)
			c, err := New(context.Background(), Options{Home: t.TempDir(), Store: state.NewMemory(), Events: evs, Instances: noInstances{}, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = c.Close(ctx)
			})
			a := backend(t, "a")
			b, release := holdBackend(t, "b")
			both := ipGroup(t, "web", a, b)
			both.Spec.Attributes["deregistration_delay.timeout_seconds"] = "30"
			port := freePort(t)
			if err := commit(c, &Change{TargetGroups: []*TargetGroup{both}, LoadBalancers: []*LoadBalancer{lbSpec("web", port, "web")}}); err != nil {
				t.Fatal(err)
			}
			_, bPort := hostPort(t, b)
			bAddr := "127.0.0.1:" + strconv.Itoa(bPort)
			if tc.held {
				holdRequest(t, c, port, bAddr)
			}
			onlyA := ipGroup(t, "web", a)
			onlyA.Spec.Attributes["deregistration_delay.timeout_seconds"] = "30"
			if err := commit(c, &Change{TargetGroups: []*TargetGroup{onlyA}}); err != nil {
				t.Fatal(err)
			}
			stateOf := func() string {
				th, err := c.Health("web")
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range th {
					if h.Addr == bAddr {
						return string(h.State)
					}
				}
				return "gone"
			}
			if !tc.held {
				// No request in flight: the drain ends well before the
				// delay, which the clock never reaches.
				deadline := time.Now().Add(2 * time.Second)
				for stateOf() != "gone" {
					if time.Now().After(deadline) {
						t.Fatalf("idle deregistered target still %s after 2s, want gone at once", stateOf())
					}
					time.Sleep(5 * time.Millisecond)
				}
				if !hasEvent(evs, "target "+bAddr+" deregistered: finished draining (no requests in flight)") {
					t.Error("no event says the target finished draining early")
				}
				return
			}
			if got := stateOf(); got != "draining" {
				t.Fatalf("deregistered target is %s, want draining", got)
			}
			clock.add(29 * time.Second)
			if err := c.Reload(); err != nil {
				t.Fatal(err)
			}
			if got := stateOf(); got != "draining" {
				t.Fatalf("a second before the delay ends the target is %s, want draining", got)
			}
			clock.add(time.Second)
			if err := c.Reload(); err != nil {
				t.Fatal(err)
			}
			if got := stateOf(); got != "gone" {
				t.Fatalf("after the delay the target is %s, want gone", got)
			}
			if !hasEvent(evs, "target "+bAddr+" deregistered") {
				t.Error("no event says the target was deregistered")
			}
			release()
		})
	}
}
