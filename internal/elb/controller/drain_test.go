package controller

import (
	"context"
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

// A deregistered target drains for exactly its group's deregistration
// delay, on the controller's clock: still draining a second before the
// delay ends, gone (with an event) once it has.
func TestDeregisteredTargetDrainsForTheDelay(t *testing.T) {
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
	a, b := backend(t, "a"), backend(t, "b")
	both := ipGroup(t, "web", a, b)
	both.Spec.Attributes["deregistration_delay.timeout_seconds"] = "30"
	port := freePort(t)
	if err := commit(c, &Change{TargetGroups: []*TargetGroup{both}, LoadBalancers: []*LoadBalancer{lbSpec("web", port, "web")}}); err != nil {
		t.Fatal(err)
	}
	onlyA := ipGroup(t, "web", a)
	onlyA.Spec.Attributes["deregistration_delay.timeout_seconds"] = "30"
	if err := commit(c, &Change{TargetGroups: []*TargetGroup{onlyA}}); err != nil {
		t.Fatal(err)
	}
	_, bPort := hostPort(t, b)
	bAddr := "127.0.0.1:" + strconv.Itoa(bPort)
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
	found := false
	evl, _ := evs.Since(0)
	for _, e := range evl {
		found = found || strings.Contains(e.Message, "target "+bAddr+" deregistered")
	}
	if !found {
		t.Error("no event says the target was deregistered")
	}
}
