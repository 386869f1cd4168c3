package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/state"
)

func weight(w int) *int { return &w }

// storedRegistrations returns the registration records in store, key to
// value and revision, so a test can tell that nothing was written.
func storedRegistrations(t *testing.T, store state.Store) map[string]string {
	t.Helper()
	kvs, _, err := store.List(context.Background(), RegistrationPrefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range kvs {
		out[kv.Key] = fmt.Sprintf("%d %s", kv.ModRevision, kv.Value)
	}
	return out
}

// storedWeight returns the Weight of the registration record of id in tg.
func storedWeight(t *testing.T, store state.Store, tg, id string) *int {
	t.Helper()
	kv, err := store.Get(context.Background(), registrationKey(tg, id))
	if err != nil {
		t.Fatalf("registration of %s in %s: %v", id, tg, err)
	}
	var r Registration
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		t.Fatal(err)
	}
	return r.Weight
}

// servedWeight returns the weight the data plane was last given for id in tg.
func servedWeight(t *testing.T, c *Controller, tg, id string) int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, pt := range c.registered[tg] {
		if pt.ID == id {
			return pt.Weight
		}
	}
	t.Fatalf("%s is not a target of %s", id, tg)
	return 0
}

func fmtWeight(w *int) string {
	if w == nil {
		return "nil"
	}
	return fmt.Sprint(*w)
}

// Register and SetWeights refuse bad weights, unknown groups and targets
// that are not registered at run time, writing nothing; valid calls store
// the weight, keep it across a re-registration without one, reset it
// with nil and forget it with Deregister.
func TestWeightValidation(t *testing.T) {
	inst := &fakeInstances{}
	for _, id := range []string{"i-1", "i-2", "i-spec", "i-gone"} {
		inst.add(t, id, backend(t, id))
	}
	store := state.NewMemory()
	c := openController(t, store, inst)
	if err := commit(c, &Change{TargetGroups: []*TargetGroup{instanceGroup("web", 30, "i-spec")}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-1", Weight: weight(5)}, {TargetGroup: "web", ID: "i-gone"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Deregister(ctx, "web", []string{"i-gone"}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		call func() error
		want fault.Code
		says []string // the error names these
	}{
		{"register negative weight", func() error {
			return c.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-2"}, {TargetGroup: "web", ID: "i-1", Weight: weight(-1)}})
		}, fault.Invalid, []string{"weight", "-1", "0..1000"}},
		{"register weight too big", func() error {
			return c.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-2", Weight: weight(1001)}})
		}, fault.Invalid, []string{"weight", "1001", "0..1000"}},
		{"set weight out of range", func() error {
			return c.SetWeights(ctx, "web", map[string]*int{"i-1": weight(2), "i-gone": nil, "i-2": weight(1001)})
		}, fault.Invalid, []string{"weight", "1001", "0..1000"}},
		{"set in unknown target group", func() error {
			return c.SetWeights(ctx, "nope", map[string]*int{"i-1": weight(2)})
		}, fault.NotFound, []string{"nope"}},
		{"set unregistered instance", func() error {
			return c.SetWeights(ctx, "web", map[string]*int{"i-1": weight(2), "i-2": weight(3)})
		}, fault.NotFound, []string{"i-2", "web"}},
		{"set the stack's target", func() error {
			return c.SetWeights(ctx, "web", map[string]*int{"i-1": weight(2), "i-spec": weight(3)})
		}, fault.NotFound, []string{"i-spec"}},
		{"set deregistered instance", func() error {
			return c.SetWeights(ctx, "web", map[string]*int{"i-1": weight(2), "i-gone": nil})
		}, fault.NotFound, []string{"i-gone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := storedRegistrations(t, store)
			err := tc.call()
			if err == nil || fault.CodeOf(err) != tc.want {
				t.Fatalf("got %v (code %s), want code %s", err, fault.CodeOf(err), tc.want)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if after := storedRegistrations(t, store); !reflect.DeepEqual(before, after) {
				t.Errorf("a refused call wrote registrations:\nbefore %v\nafter  %v", before, after)
			}
			if w := servedWeight(t, c, "web", "i-1"); w != 5 {
				t.Errorf("after a refused call i-1 is served at weight %d, want 5", w)
			}
		})
	}
	if err := c.SetWeights(ctx, "nope", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetWeights in an unknown target group = %v, want an error matching ErrNotFound", err)
	}

	// Valid changes, each checked in the store and in the data plane.
	for _, step := range []struct {
		name   string
		call   func() error
		stored *int
		served int
	}{
		{"set", func() error { return c.SetWeights(ctx, "web", map[string]*int{"i-1": weight(7)}) }, weight(7), 7},
		{"set zero", func() error { return c.SetWeights(ctx, "web", map[string]*int{"i-1": weight(0)}) }, weight(0), 0},
		{"register again without weight", func() error {
			return c.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-1"}})
		}, weight(0), 0},
		{"register again with weight", func() error {
			return c.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-1", Weight: weight(9)}})
		}, weight(9), 9},
		{"reset with nil", func() error { return c.SetWeights(ctx, "web", map[string]*int{"i-1": nil}) }, nil, 1},
		{"set again", func() error { return c.SetWeights(ctx, "web", map[string]*int{"i-1": weight(4)}) }, weight(4), 4},
		{"deregister and register", func() error {
			if err := c.Deregister(ctx, "web", []string{"i-1"}); err != nil {
				return err
			}
			return c.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-1"}})
		}, nil, 1},
	} {
		if err := step.call(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := storedWeight(t, store, "web", "i-1"); fmtWeight(got) != fmtWeight(step.stored) {
			t.Errorf("%s: stored weight %s, want %s", step.name, fmtWeight(got), fmtWeight(step.stored))
		}
		if got := servedWeight(t, c, "web", "i-1"); got != step.served {
			t.Errorf("%s: served at weight %d, want %d", step.name, got, step.served)
		}
	}

	// Setting the weight a target has already rewrites nothing.
	before := storedRegistrations(t, store)
	if err := c.SetWeights(ctx, "web", map[string]*int{"i-1": nil}); err != nil {
		t.Fatal(err)
	}
	if after := storedRegistrations(t, store); !reflect.DeepEqual(before, after) {
		t.Errorf("setting an unchanged weight rewrote the record:\nbefore %v\nafter  %v", before, after)
	}
}

// split sends n GETs through the listener on port, one after another, and
// counts the answers per backend.
func split(t *testing.T, port, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		seen[get(t, port)]++
	}
	return seen
}

// checkSplit fails unless a and b got about wantA:wantB of the requests
// counted in seen (within 5 % of them).
func checkSplit(t *testing.T, what string, seen map[string]int, wantA, wantB int) {
	t.Helper()
	n := seen["a"] + seen["b"]
	want := n * wantB / (wantA + wantB)
	if d := seen["b"] - want; d < -n/20 || d > n/20 {
		t.Errorf("%s: a got %d, b got %d of %d requests, want about %d:%d", what, seen["a"], seen["b"], n, wantA, wantB)
	}
}

// healthOf returns each target's health, as the data plane's health
// checker has it (not the controller's cache, which may lag it).
func healthOf(t *testing.T, c *Controller, tg string) map[string]health.TargetHealth {
	t.Helper()
	ths, err := c.dp.Health(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]health.TargetHealth{}
	for _, th := range ths {
		out[th.ID] = th
	}
	return out
}

// Weights steer the split of new requests between two registered
// instances (0 gets none, 1:3 with round robin, nil:nil even) without
// draining them or resetting their health.
func TestWeightsSplitTraffic(t *testing.T) {
	inst := &fakeInstances{}
	inst.add(t, "i-a", backend(t, "a"))
	inst.add(t, "i-b", backend(t, "b"))
	store := state.NewMemory()
	c := openController(t, store, inst)
	port := freePort(t)
	if err := commit(c, &Change{TargetGroups: []*TargetGroup{instanceGroup("web", 30)}, LoadBalancers: []*LoadBalancer{lbSpec("web", port, "web")}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-a", Weight: weight(0)}, {TargetGroup: "web", ID: "i-b", Weight: weight(1)}}); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, "web", "i-a", "healthy", 15*time.Second)
	waitState(t, c, "web", "i-b", "healthy", 15*time.Second)
	healthy := healthOf(t, c, "web")

	const n = 200
	for _, step := range []struct {
		name         string
		weights      map[string]*int
		wantA, wantB int
	}{
		{"weights 0 and 1", nil, 0, 1},
		{"weights 1 and 3", map[string]*int{"i-a": weight(1), "i-b": weight(3)}, 1, 3},
		{"default weights", map[string]*int{"i-a": nil, "i-b": nil}, 1, 1},
	} {
		if step.weights != nil {
			if err := c.SetWeights(ctx, "web", step.weights); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		}
		seen := split(t, port, n)
		t.Logf("%s: %d requests: a %d, b %d", step.name, n, seen["a"], seen["b"])
		if seen["a"]+seen["b"] != n {
			t.Errorf("%s: answers %v, want only a and b", step.name, seen)
		}
		if step.wantA == 0 && seen["a"] != 0 {
			t.Errorf("%s: the weight-0 target got %d of %d requests, want none", step.name, seen["a"], n)
		}
		checkSplit(t, step.name, seen, step.wantA, step.wantB)
		for id, was := range healthy {
			st, ok := c.TargetState("web", id)
			now := healthOf(t, c, "web")[id]
			if !ok || st != "healthy" || !now.Since.Equal(was.Since) {
				t.Errorf("%s: %s is %q (ok=%v), health %+v, want healthy as in %+v", step.name, id, st, ok, now, was)
			}
		}
		c.mu.Lock()
		drains := len(c.draining["web"])
		c.mu.Unlock()
		if drains != 0 || hasEvent(c.opts.Events, "draining") {
			t.Errorf("%s: %d targets draining, want none", step.name, drains)
		}
	}
}

// Weights are stored with the registrations: a restarted controller over
// the same store serves them.
func TestWeightsSurviveRestart(t *testing.T) {
	inst := &fakeInstances{}
	inst.add(t, "i-a", backend(t, "a"))
	inst.add(t, "i-b", backend(t, "b"))
	store := state.NewMemory()
	port := freePort(t)
	c1, err := New(context.Background(), Options{Home: t.TempDir(), Store: store, Events: event.New(512, nil), Instances: inst})
	if err != nil {
		t.Fatal(err)
	}
	if err := commit(c1, &Change{TargetGroups: []*TargetGroup{instanceGroup("web", 1)}, LoadBalancers: []*LoadBalancer{lbSpec("web", port, "web")}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c1.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-a", Weight: weight(1)}, {TargetGroup: "web", ID: "i-b"}}); err != nil {
		t.Fatal(err)
	}
	if err := c1.SetWeights(ctx, "web", map[string]*int{"i-b": weight(3)}); err != nil {
		t.Fatal(err)
	}
	waitState(t, c1, "web", "i-a", "healthy", 15*time.Second)
	waitState(t, c1, "web", "i-b", "healthy", 15*time.Second)
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c1.Close(cctx); err != nil {
		t.Fatal(err)
	}

	c2 := openController(t, store, inst)
	waitState(t, c2, "web", "i-a", "healthy", 15*time.Second)
	waitState(t, c2, "web", "i-b", "healthy", 15*time.Second)
	if a, b := servedWeight(t, c2, "web", "i-a"), servedWeight(t, c2, "web", "i-b"); a != 1 || b != 3 {
		t.Fatalf("after a restart the weights served are %d and %d, want 1 and 3", a, b)
	}
	seen := split(t, port, 200)
	t.Logf("after a restart: 200 requests: a %d, b %d", seen["a"], seen["b"])
	checkSplit(t, "after a restart", seen, 1, 3)
}
