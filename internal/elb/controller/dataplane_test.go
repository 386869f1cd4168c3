package controller

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/dataplane"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/state"
)

// dataPlaneRun is a data-plane process's loop (dataplane.Run) on a
// goroutine of the test; done is closed when it returns, with err.
type dataPlaneRun struct {
	done chan struct{}
	err  error
}

// runDataPlane serves home's control socket until the test ends.
func runDataPlane(t testing.TB, home string) *dataPlaneRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	r := &dataPlaneRun{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = dataplane.Run(ctx, dataplane.RunOptions{Home: home, Version: "test", Binary: "/test/madang",
			ShutdownGrace: 5 * time.Second, Ready: func() { close(ready) }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("data plane did not stop")
		}
	})
	select {
	case <-ready:
	case <-r.done:
		t.Fatalf("data plane: %v", r.err)
	}
	return r
}

func putJSON(t testing.TB, s state.Store, key string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), key, b); err != nil {
		t.Fatal(err)
	}
}

// TestRemoteDataPlaneOutlivesController: with a data-plane process, a
// controller that closes leaves the load balancer serving, the next one
// takes it over without failing a request (same listener, health kept),
// target health reaches the store, and StopDataPlane stops the process.
func TestRemoteDataPlaneOutlivesController(t *testing.T) {
	home := t.TempDir()
	exited := runDataPlane(t, home)
	store := state.NewMemory()
	a, b := backend(t, "a"), backend(t, "b")
	port := freePort(t)
	putJSON(t, store, TargetGroupPrefix+"web", ipGroup(t, "web", a, b))
	putJSON(t, store, LoadBalancerPrefix+"web", lbSpec("web", port, "web"))
	remote := func(ctx context.Context, onChange func(string, health.TargetHealth)) (DataPlane, error) {
		return dataplane.Dial(ctx, home, dataplane.ClientOptions{OnChange: onChange})
	}
	open := func(stop bool) *Controller {
		c, err := New(context.Background(), Options{Home: home, Store: store, Events: event.New(512, nil),
			Instances: noInstances{}, DataPlane: remote, StopDataPlane: stop})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c1 := open(false)
	waitHealthy(t, c1, "web", 2)
	stop := make(chan struct{})
	l, wg := runLoad("http://127.0.0.1:"+strconv.Itoa(port)+"/", 4, stop)
	waitLoad(t, l, 100)
	before := waitRequests(t, c1, 100)
	if err := c1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	kv, err := store.Get(ctx, healthKey)
	if err != nil {
		t.Fatalf("target health not saved: %v", err)
	}
	var recs []health.Record
	if err := json.Unmarshal(kv.Value, &recs); err != nil || len(recs) != 2 {
		t.Fatalf("saved health %s, %v: want 2 records", kv.Value, err)
	}
	waitLoad(t, l, l.ok.Load()+100) // served with no controller

	c2 := open(true)
	th, err := c2.Health("web")
	if err != nil || len(th) != 2 || th[0].State != health.StateHealthy || th[1].State != health.StateHealthy {
		t.Fatalf("health right after the next controller started: %+v, %v; want both still healthy", th, err)
	}
	if ms := c2.Metrics(); len(ms) == 0 {
		t.Fatal("no metrics from the data plane")
	}
	// The data-plane process keeps its counters across controllers.
	after := waitRequests(t, c2, before.LoadBalancers[0].Counters[lbmetrics.LBRequestCount]+1)
	if iv := lbmetrics.Delta(before, after); after.Epoch != before.Epoch || iv.LoadBalancers[0].Counters[lbmetrics.LBRequestCount] <= 0 || len(iv.Groups) != 1 {
		t.Fatalf("metrics epoch %q then %q, interval %+v: want one epoch and the requests since", before.Epoch, after.Epoch, iv)
	}
	waitLoad(t, l, l.ok.Load()+100)
	close(stop)
	wg.Wait()
	if f := l.failed.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed across controllers: %v", f, f+l.ok.Load(), first(l.errs, 5))
	}
	if err := c2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited.done:
		if exited.err != nil {
			t.Fatalf("data plane: %v", exited.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("StopDataPlane: the data plane still runs after Close")
	}
}

// waitRequests polls c's MetricsSnapshot until its one load balancer has
// counted n requests, and returns that snapshot.
func waitRequests(t *testing.T, c *Controller, n int64) *lbmetrics.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		s, err := c.MetricsSnapshot(ctx)
		if err != nil {
			t.Fatalf("MetricsSnapshot: %v", err)
		}
		if len(s.LoadBalancers) != 1 {
			t.Fatalf("MetricsSnapshot has %d load balancers, want 1", len(s.LoadBalancers))
		}
		if got := s.LoadBalancers[0].Counters[lbmetrics.LBRequestCount]; got >= n {
			return s
		} else if ctx.Err() != nil {
			t.Fatalf("the snapshot counts %d requests, want %d", got, n)
		}
		<-poll.C
	}
}

func waitLoad(t *testing.T, l *load, n int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for l.ok.Load() < n && l.failed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("load reached %d requests, want %d", l.ok.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
