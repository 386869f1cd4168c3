package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/state"
)

// fakeInstances is a compute service of running instances whose apps are
// test servers.
type fakeInstances struct {
	mu sync.Mutex
	m  map[string]compute.Instance
}

func (f *fakeInstances) Members(group string) []compute.Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []compute.Instance
	for _, in := range f.m {
		if in.Group == group && in.Desired != compute.StateTerminated {
			out = append(out, in)
		}
	}
	return out
}

func (f *fakeInstances) Instance(id string) (compute.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.m[id]
	if !ok {
		return compute.Instance{}, fmt.Errorf("no instance %s", id)
	}
	return in, nil
}

// add makes s the app of running instance id.
func (f *fakeInstances) add(t *testing.T, id string, s *httptest.Server) {
	t.Helper()
	h, p := hostPort(t, s)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]compute.Instance{}
	}
	f.m[id] = compute.Instance{ID: id, Group: "app", PrivateIP: h, Port: p,
		State: compute.StateRunning, Desired: compute.StateRunning}
}

func openController(t *testing.T, store state.Store, inst Instances) *Controller {
	t.Helper()
	c, err := New(context.Background(), Options{Home: t.TempDir(), Store: store, Events: event.New(512, nil), Instances: inst})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// instanceGroup is an instance target group, checked on /health, whose
// targets drain for delay; ids are its spec'd id: targets.
func instanceGroup(name string, delay int, ids ...string) *TargetGroup {
	spec := elb.TargetGroupSpec{Name: name, TargetType: "instance",
		HealthCheck: elb.HealthCheckSpec{Path: "/health", IntervalSeconds: 5, TimeoutSeconds: 4, HealthyThresholdCount: 2, UnhealthyThresholdCount: 2},
		Attributes:  map[string]string{"deregistration_delay.timeout_seconds": strconv.Itoa(delay)},
	}
	for _, id := range ids {
		spec.Targets = append(spec.Targets, elb.TargetSpec{ID: id})
	}
	spec.ApplyDefaults()
	return &TargetGroup{Spec: spec, ARN: "arn:test:" + name}
}

// gatedApp is an instance's app: it names itself, holds /hold requests
// until release, and answers health checks (/health) only once healthy
// is called (until then a check waits, so the target stays initial).
func gatedApp(t *testing.T, name string) (s *httptest.Server, healthy, release func()) {
	t.Helper()
	hgate, rgate := make(chan struct{}), make(chan struct{})
	var h1, r1 sync.Once
	healthy = func() { h1.Do(func() { close(hgate) }) }
	release = func() { r1.Do(func() { close(rgate) }) }
	s = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gate := map[string]chan struct{}{"/health": hgate, "/hold": rgate}[r.URL.Path]
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprint(w, name)
	}))
	t.Cleanup(s.Close)
	t.Cleanup(release)
	t.Cleanup(healthy)
	return s, healthy, release
}

func get(t *testing.T, port int) string {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		t.Fatalf("GET through the listener: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET through the listener: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// waitState polls TargetState until it reports want (ok=false for "").
func waitState(t *testing.T, c *Controller, tg, id, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, ok := c.TargetState(tg, id)
		if (want == "" && !ok) || (want != "" && ok && st == want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("target %s in %s is %q (ok=%v) after %v, want %q", id, tg, st, ok, within, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A registered instance is served and checked (initial, then healthy); a
// deregistered one drains while a request is in flight, and finishes
// draining as soon as it has none, long before the 30 s delay.
func TestRegisterServesAndDeregisterDrainsWhileBusy(t *testing.T) {
	inst := &fakeInstances{}
	app, healthy, release := gatedApp(t, "a")
	inst.add(t, "i-1", app)
	store := state.NewMemory()
	c := openController(t, store, inst)
	port := freePort(t)
	if err := commit(c, &Change{TargetGroups: []*TargetGroup{instanceGroup("web", 30)}, LoadBalancers: []*LoadBalancer{lbSpec("web", port, "web")}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.TargetState("web", "i-1"); ok {
		t.Fatal("TargetState of an unregistered instance: ok, want not ok")
	}
	ctx := context.Background()
	if err := c.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-1", RegisteredBy: "autoscaling:web"}}); err != nil {
		t.Fatal(err)
	}
	if st, ok := c.TargetState("web", "i-1"); !ok || st != "initial" {
		t.Fatalf("right after Register the target is %q (ok=%v), want initial", st, ok)
	}
	if got := get(t, port); got != "a" {
		t.Fatalf("GET through the listener answered %q, want a", got)
	}
	healthy()
	waitState(t, c, "web", "i-1", "healthy", 10*time.Second)
	regs := c.Registrations("web")
	if len(regs) != 1 || regs[0].ID != "i-1" || regs[0].RegisteredBy != "autoscaling:web" || regs[0].RegisteredAt.IsZero() {
		t.Fatalf("Registrations = %+v", regs)
	}

	// Registering again changes nothing, not even the record.
	kv, err := store.Get(ctx, RegistrationPrefix+"web/i-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-1"}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := store.Get(ctx, RegistrationPrefix+"web/i-1"); again.ModRevision != kv.ModRevision {
		t.Errorf("registering again rewrote the record (revision %d, then %d)", kv.ModRevision, again.ModRevision)
	}

	answered := holdRequest(t, c, port, "i-1")
	if err := c.Deregister(ctx, "web", []string{"i-1", "i-never-registered"}); err != nil {
		t.Fatal(err)
	}
	if st, ok := c.TargetState("web", "i-1"); !ok || st != "draining" {
		t.Fatalf("after Deregister with a request in flight the target is %q (ok=%v), want draining", st, ok)
	}
	if regs := c.Registrations("web"); len(regs) != 0 {
		t.Fatalf("Registrations after Deregister = %+v", regs)
	}
	released := time.Now()
	release()
	if err := <-answered; err != nil {
		t.Errorf("the request in flight while the target drained: %v", err)
	}
	waitState(t, c, "web", "i-1", "", 2*time.Second)
	t.Logf("drain ended %v after the last request", time.Since(released))
}

// Register and Deregister check every entry before writing any: an
// unknown target group or instance is NotFound, a bad port Invalid, and
// nothing is stored.
func TestRegisterValidation(t *testing.T) {
	inst := &fakeInstances{}
	inst.add(t, "i-1", backend(t, "a"))
	store := state.NewMemory()
	c := openController(t, store, inst)
	if err := commit(c, &Change{TargetGroups: []*TargetGroup{instanceGroup("web", 1)}}); err != nil {
		t.Fatal(err)
	}
	ok := Registration{TargetGroup: "web", ID: "i-1"}
	for _, tc := range []struct {
		name string
		regs []Registration
		want fault.Code
	}{
		{"unknown target group", []Registration{ok, {TargetGroup: "nope", ID: "i-1"}}, fault.NotFound},
		{"unknown instance", []Registration{ok, {TargetGroup: "web", ID: "i-404"}}, fault.NotFound},
		{"negative port", []Registration{ok, {TargetGroup: "web", ID: "i-1", Port: -1}}, fault.Invalid},
		{"port too big", []Registration{{TargetGroup: "web", ID: "i-1", Port: 65536}}, fault.Invalid},
		{"no id", []Registration{{TargetGroup: "web"}}, fault.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Register(context.Background(), tc.regs)
			if err == nil || fault.CodeOf(err) != tc.want {
				t.Fatalf("Register = %v (code %s), want code %s", err, fault.CodeOf(err), tc.want)
			}
			kvs, _, err := store.List(context.Background(), RegistrationPrefix)
			if err != nil || len(kvs) != 0 {
				t.Fatalf("after a refused Register the store has %d registrations (%v), want none", len(kvs), err)
			}
		})
	}
	if err := c.Deregister(context.Background(), "nope", []string{"i-1"}); fault.CodeOf(err) != fault.NotFound {
		t.Errorf("Deregister from an unknown target group = %v, want NotFound", err)
	}
	if err := c.Register(context.Background(), []Registration{{TargetGroup: "nope", ID: "i-1"}}); err == nil || !errors.Is(err, ErrNotFound) {
		t.Errorf("Register in an unknown target group = %v, want an error matching ErrNotFound", err)
	}
}

// Registrations live in the store: the next controller serves them.
func TestRegistrationsSurviveRestart(t *testing.T) {
	inst := &fakeInstances{}
	inst.add(t, "i-1", backend(t, "a"))
	store := state.NewMemory()
	port := freePort(t)
	c1, err := New(context.Background(), Options{Home: t.TempDir(), Store: store, Events: event.New(512, nil), Instances: inst})
	if err != nil {
		t.Fatal(err)
	}
	if err := commit(c1, &Change{TargetGroups: []*TargetGroup{instanceGroup("web", 1)}, LoadBalancers: []*LoadBalancer{lbSpec("web", port, "web")}}); err != nil {
		t.Fatal(err)
	}
	if err := c1.Register(context.Background(), []Registration{{TargetGroup: "web", ID: "i-1"}}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, port); got != "a" {
		t.Fatalf("GET answered %q, want a", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c1.Close(ctx); err != nil {
		t.Fatal(err)
	}

	c2 := openController(t, store, inst)
	if regs := c2.Registrations("web"); len(regs) != 1 || regs[0].ID != "i-1" {
		t.Fatalf("Registrations after a restart = %+v", regs)
	}
	if _, ok := c2.TargetState("web", "i-1"); !ok {
		t.Fatal("the registered target is not in the group after a restart")
	}
	if got := get(t, port); got != "a" {
		t.Fatalf("GET after a restart answered %q, want a", got)
	}
}

// A dynamic registration of an instance the stack already names (id:) is
// one target, and deregistering it leaves the stack's target serving.
func TestRegistrationDedupesWithSpecTarget(t *testing.T) {
	inst := &fakeInstances{}
	inst.add(t, "i-1", backend(t, "a"))
	c := openController(t, state.NewMemory(), inst)
	port := freePort(t)
	if err := commit(c, &Change{TargetGroups: []*TargetGroup{instanceGroup("web", 30, "i-1")}, LoadBalancers: []*LoadBalancer{lbSpec("web", port, "web")}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Register(ctx, []Registration{{TargetGroup: "web", ID: "i-1"}}); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	n := len(c.registered["web"])
	c.mu.Unlock()
	th, err := c.Health("web")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(th) != 1 {
		t.Fatalf("spec'd and registered i-1: %d data-plane targets, %d health entries, want 1", n, len(th))
	}
	if err := c.Deregister(ctx, "web", []string{"i-1"}); err != nil {
		t.Fatal(err)
	}
	if st, ok := c.TargetState("web", "i-1"); !ok || st == "draining" {
		t.Fatalf("after deregistering the dynamic copy the spec'd target is %q (ok=%v), want still registered", st, ok)
	}
	c.mu.Lock()
	drains := len(c.draining["web"])
	c.mu.Unlock()
	if drains != 0 {
		t.Fatalf("%d targets draining, want none", drains)
	}
	if got := get(t, port); got != "a" {
		t.Fatalf("GET answered %q, want a", got)
	}
}
