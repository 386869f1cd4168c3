package controller

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/dataplane"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/proxy"
	"github.com/madang-dev/madang/internal/state"
)

// blockChecker is a health checker whose checks never finish, so targets
// stay initial.
type blockChecker struct{}

func (blockChecker) Check(ctx context.Context, _ health.Settings, _ string) health.Result {
	<-ctx.Done()
	return health.Result{}
}

// okChecker is a health checker whose checks pass at once.
type okChecker struct{}

func (okChecker) Check(context.Context, health.Settings, string) health.Result {
	return health.Result{OK: true, Latency: time.Millisecond}
}

// fakeDataPlane is an in-process data plane (a real Engine) that counts
// Health calls, can be replaced like a restarted data-plane process, can
// become unreachable, and keeps every drain busy (one request in flight).
type fakeDataPlane struct {
	healthCalls atomic.Int64
	down        atomic.Bool
	changes     chan health.TargetHealth

	mu       sync.Mutex
	eng      *dataplane.Engine
	cfg      *dataplane.Config
	onChange func(string, health.TargetHealth)
}

var errUnreachable = errors.New("dataplane: connection refused")

func newFakeDataPlane(checker health.Checker) (*fakeDataPlane, NewDataPlane) {
	f := &fakeDataPlane{changes: make(chan health.TargetHealth, 1024)}
	return f, func(_ context.Context, onChange func(string, health.TargetHealth)) (DataPlane, error) {
		f.onChange = func(g string, th health.TargetHealth) {
			onChange(g, th)
			select {
			case f.changes <- th:
			default:
			}
		}
		f.eng = dataplane.NewEngine(dataplane.Options{OnChange: f.onChange, Checker: checker})
		return f, nil
	}
}

func (f *fakeDataPlane) engine() *dataplane.Engine {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.eng
}

// restart replaces the engine by a new one with the last configuration
// and none of the old one's health, as a restarted data plane.
func (f *fakeDataPlane) restart(t *testing.T, checker health.Checker) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f.eng = dataplane.NewEngine(dataplane.Options{OnChange: f.onChange, Checker: checker})
	if f.cfg != nil {
		if err := f.eng.Apply(ctx, *f.cfg); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fakeDataPlane) Apply(ctx context.Context, cfg dataplane.Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.eng.Apply(ctx, cfg); err != nil {
		return err
	}
	f.cfg = &cfg
	return nil
}

func (f *fakeDataPlane) Health(ctx context.Context, group string) ([]health.TargetHealth, error) {
	f.healthCalls.Add(1)
	if f.down.Load() {
		return nil, errUnreachable
	}
	return f.engine().Health(ctx, group)
}

func (f *fakeDataPlane) Snapshot(ctx context.Context) ([]health.Record, error) {
	return f.engine().Snapshot(ctx)
}

func (f *fakeDataPlane) Restore(ctx context.Context, recs []health.Record) error {
	return f.engine().Restore(ctx, recs)
}

func (f *fakeDataPlane) Metrics(ctx context.Context) ([]proxy.Metric, error) {
	return f.engine().Metrics(ctx)
}

func (f *fakeDataPlane) MetricsSnapshot(ctx context.Context) (*lbmetrics.Snapshot, error) {
	return f.engine().MetricsSnapshot(ctx)
}

func (f *fakeDataPlane) InFlight(context.Context, string) (int64, error) { return 1, nil }

func (f *fakeDataPlane) Close(ctx context.Context) error { return f.engine().Close(ctx) }

func (f *fakeDataPlane) Shutdown(ctx context.Context) error { return f.engine().Shutdown(ctx) }

// Epoch names the current engine, as Client.Status().Epoch names the
// current data-plane process.
func (f *fakeDataPlane) Epoch() string { return f.engine().Epoch() }

// cacheGroup is target group web with ip targets on the given ports (no
// one listens: checks are the fake checker's) and a long deregistration
// delay.
func cacheGroup(ports ...int) *TargetGroup {
	spec := elb.TargetGroupSpec{Name: "web", TargetType: "ip",
		HealthCheck: elb.HealthCheckSpec{Path: "/", IntervalSeconds: 5, TimeoutSeconds: 2, HealthyThresholdCount: 2, UnhealthyThresholdCount: 2},
		Attributes:  map[string]string{"deregistration_delay.timeout_seconds": "300"},
	}
	for _, p := range ports {
		spec.Targets = append(spec.Targets, elb.TargetSpec{IP: "127.0.0.1", Port: p})
	}
	spec.ApplyDefaults()
	return &TargetGroup{Spec: spec, ARN: "arn:test:web"}
}

// newCacheController returns a controller on a fake data plane serving
// load balancer web, which forwards to group web of two targets.
func newCacheController(t *testing.T, checker health.Checker) (*Controller, *fakeDataPlane) {
	t.Helper()
	store := state.NewMemory()
	putJSON(t, store, TargetGroupPrefix+"web", cacheGroup(40001, 40002))
	putJSON(t, store, LoadBalancerPrefix+"web", lbSpec("web", freePort(t), "web"))
	f, newDP := newFakeDataPlane(checker)
	c, err := New(context.Background(), Options{Home: t.TempDir(), Store: store, Events: event.New(512, nil),
		Instances: noInstances{}, DataPlane: newDP, HealthRefresh: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c, f
}

// byAddr returns the health of the target at addr, failing when there is
// none.
func byAddr(t *testing.T, ths []health.TargetHealth, addr string) health.TargetHealth {
	t.Helper()
	for _, th := range ths {
		if th.Addr == addr {
			return th
		}
	}
	t.Fatalf("no target %s in %+v", addr, ths)
	return health.TargetHealth{}
}

// sameHealth fails unless the controller's answer is the data plane's.
func sameHealth(t *testing.T, c *Controller, f *fakeDataPlane) []health.TargetHealth {
	t.Helper()
	got, err := c.Health("web")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.engine().Health(context.Background(), "web")
	if len(got) != len(want) {
		t.Fatalf("Health = %+v; the data plane says %+v", got, want)
	}
	for i := range got {
		if g, w := got[i], want[i]; g.ID != w.ID || g.Addr != w.Addr || g.State != w.State || g.Reason != w.Reason ||
			g.Description != w.Description || !g.Since.Equal(w.Since) || !g.LastCheck.Equal(w.LastCheck) ||
			g.LastLatency != w.LastLatency || g.ConsecutiveOK != w.ConsecutiveOK || g.ConsecutiveFail != w.ConsecutiveFail || g.Passive != w.Passive {
			t.Fatalf("target %d: Health = %+v; the data plane says %+v", i, g, w)
		}
	}
	return got
}

func TestHealthCacheFollowsChanges(t *testing.T) {
	const a, b, d = "127.0.0.1:40001", "127.0.0.1:40002", "127.0.0.1:40003"
	cases := []struct {
		name string
		// change changes the controller or the data plane; it returns
		// whether Health may call the data plane afterwards.
		change func(t *testing.T, c *Controller, f *fakeDataPlane) (mayCall bool)
		check  func(t *testing.T, c *Controller, f *fakeDataPlane, ths []health.TargetHealth, err error)
	}{{
		name:   "no change: answers as the data plane",
		change: func(*testing.T, *Controller, *fakeDataPlane) bool { return false },
		check: func(t *testing.T, c *Controller, f *fakeDataPlane, ths []health.TargetHealth, err error) {
			if len(ths) != 2 || ths[0].State != health.StateInitial {
				t.Fatalf("Health = %+v, %v; want two initial targets", ths, err)
			}
			sameHealth(t, c, f)
		},
	}, {
		name: "transition replaces the target's entry",
		change: func(t *testing.T, c *Controller, f *fakeDataPlane) bool {
			th := byAddr(t, sameHealth(t, c, f), a)
			th.State, th.Reason, th.Description = health.StateUnhealthy, health.ReasonTimeout, "GET / timed out after 2s"
			th.Since, th.LastCheck, th.LastLatency, th.ConsecutiveFail = th.Since.Add(time.Second), th.Since.Add(time.Second), 2*time.Second, 2
			f.onChange("web", th)
			return false
		},
		check: func(t *testing.T, _ *Controller, _ *fakeDataPlane, ths []health.TargetHealth, err error) {
			th := byAddr(t, ths, a)
			if err != nil || th.State != health.StateUnhealthy || th.Reason != health.ReasonTimeout ||
				th.Description != "GET / timed out after 2s" || th.ConsecutiveFail != 2 || th.LastLatency != 2*time.Second {
				t.Fatalf("after a transition: %+v, %v; want unhealthy, Target.Timeout", th, err)
			}
			if o := byAddr(t, ths, b); o.State != health.StateInitial {
				t.Fatalf("other target %+v changed", o)
			}
		},
	}, {
		name: "older transition is ignored",
		change: func(t *testing.T, c *Controller, f *fakeDataPlane) bool {
			th := byAddr(t, sameHealth(t, c, f), a)
			th.State, th.Since = health.StateHealthy, th.Since.Add(-time.Minute)
			f.onChange("web", th)
			return false
		},
		check: func(t *testing.T, c *Controller, f *fakeDataPlane, _ []health.TargetHealth, _ error) {
			sameHealth(t, c, f)
		},
	}, {
		name: "registered target is initial at once",
		change: func(t *testing.T, c *Controller, _ *fakeDataPlane) bool {
			if err := commit(c, &Change{TargetGroups: []*TargetGroup{cacheGroup(40001, 40002, 40003)}}); err != nil {
				t.Fatal(err)
			}
			return false
		},
		check: func(t *testing.T, c *Controller, f *fakeDataPlane, ths []health.TargetHealth, err error) {
			if th := byAddr(t, ths, d); err != nil || th.State != health.StateInitial || th.Reason != health.ReasonInitialHealthChecking {
				t.Fatalf("new target: %+v, %v; want initial, Elb.InitialHealthChecking", th, err)
			}
			sameHealth(t, c, f)
		},
	}, {
		name: "deregistered target is draining at once",
		change: func(t *testing.T, c *Controller, _ *fakeDataPlane) bool {
			if err := commit(c, &Change{TargetGroups: []*TargetGroup{cacheGroup(40001)}}); err != nil {
				t.Fatal(err)
			}
			return false
		},
		check: func(t *testing.T, c *Controller, f *fakeDataPlane, ths []health.TargetHealth, err error) {
			if th := byAddr(t, ths, b); err != nil || th.State != health.StateDraining || th.Reason != health.ReasonDeregistrationInProgress {
				t.Fatalf("deregistered target: %+v, %v; want draining, Target.DeregistrationInProgress", th, err)
			}
			sameHealth(t, c, f)
		},
	}, {
		name: "removed group is not found",
		change: func(t *testing.T, c *Controller, _ *fakeDataPlane) bool {
			if err := commit(c, &Change{DeleteTGs: []string{"web"}, DeleteLBs: []string{"web"}}); err != nil {
				t.Fatal(err)
			}
			return false
		},
		check: func(t *testing.T, _ *Controller, _ *fakeDataPlane, ths []health.TargetHealth, err error) {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Health of a removed group = %+v, %v; want NotFound", ths, err)
			}
		},
	}, {
		name: "unreachable data plane: the error, once a refresh failed",
		change: func(_ *testing.T, c *Controller, f *fakeDataPlane) bool {
			f.down.Store(true)
			c.hc.read.Store(true)
			c.refreshHealth()
			return true
		},
		check: func(t *testing.T, _ *Controller, _ *fakeDataPlane, ths []health.TargetHealth, err error) {
			if !errors.Is(err, errUnreachable) {
				t.Fatalf("Health = %+v, %v; want the data plane's error", ths, err)
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, f := newCacheController(t, blockChecker{})
			mayCall := tc.change(t, c, f)
			calls := f.healthCalls.Load()
			var ths []health.TargetHealth
			var err error
			for range 100 {
				ths, err = c.Health("web")
			}
			if n := f.healthCalls.Load() - calls; !mayCall && n != 0 {
				t.Fatalf("100 Health calls asked the data plane %d times; want 0", n)
			}
			tc.check(t, c, f, ths, err)
		})
	}
}

// TestHealthCacheRebuiltAfterDataPlaneRestart: a replaced data plane's
// health, not the old one's, is what Health answers.
func TestHealthCacheRebuiltAfterDataPlaneRestart(t *testing.T) {
	c, f := newCacheController(t, okChecker{})
	for healthy := 0; healthy < 2; {
		select {
		case th := <-f.changes:
			if th.State == health.StateHealthy {
				healthy++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("targets did not become healthy")
		}
	}
	for _, th := range sameHealth(t, c, f) {
		if th.State != health.StateHealthy {
			t.Fatalf("before the restart: %+v; want healthy", th)
		}
	}
	f.restart(t, blockChecker{})
	for _, th := range sameHealth(t, c, f) {
		if th.State != health.StateInitial {
			t.Fatalf("after the restart: %+v; want initial (the new data plane's)", th)
		}
	}
	calls := f.healthCalls.Load()
	for range 100 {
		if _, err := c.Health("web"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.healthCalls.Load() - calls; n != 0 {
		t.Fatalf("once rebuilt, 100 Health calls asked the data plane %d times; want 0", n)
	}
}

// TestHealthCacheConcurrentReads runs readers against transitions,
// reloads and refreshes (run with -race).
func TestHealthCacheConcurrentReads(t *testing.T) {
	c, f := newCacheController(t, blockChecker{})
	base := byAddr(t, sameHealth(t, c, f), "127.0.0.1:40001")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ths, err := c.Health("web")
				if err != nil || len(ths) < 2 {
					t.Errorf("Health = %+v, %v", ths, err)
					return
				}
				ths[0].State = "scribbled" // callers own their copy
			}
		})
	}
	for i := range 200 {
		th := base
		th.LastCheck = base.Since.Add(time.Duration(i+1) * time.Millisecond)
		th.ConsecutiveFail = i
		f.onChange("web", th)
		if i%50 == 0 {
			c.hc.read.Store(true)
			c.refreshHealth()
			if err := c.Reload(); err != nil {
				t.Error(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	c.hc.read.Store(true)
	c.refreshHealth()
	sameHealth(t, c, f)
}

// TestHealthCacheRemoteDataPlane: over a data plane's control socket the
// cache is built in one call (HealthOf) and answers as Health does.
func TestHealthCacheRemoteDataPlane(t *testing.T) {
	home := t.TempDir()
	runDataPlane(t, home)
	store := state.NewMemory()
	putJSON(t, store, TargetGroupPrefix+"web", hundredTargets())
	var client *dataplane.Client
	c, err := New(context.Background(), Options{Home: home, Store: store, Events: event.New(512, nil), Instances: noInstances{},
		StopDataPlane: true, HealthRefresh: -1,
		DataPlane: func(ctx context.Context, onChange func(string, health.TargetHealth)) (DataPlane, error) {
			cl, err := dataplane.Dial(ctx, home, dataplane.ClientOptions{OnChange: onChange})
			client = cl
			return cl, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	got, err := c.Health("web")
	if err != nil {
		t.Fatal(err)
	}
	want, err := client.Health(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 || !reflect.DeepEqual(got, want) {
		t.Fatalf("Health = %d targets %+v…; the data plane says %d targets %+v…", len(got), got[:min(1, len(got))], len(want), want[:min(1, len(want))])
	}
}
