package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/state"
)

type noInstances struct{}

func (noInstances) Members(string) []compute.Instance { return nil }
func (noInstances) Instance(id string) (compute.Instance, error) {
	return compute.Instance{}, fmt.Errorf("no instance %s", id)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// backend is a target that names itself in every answer.
func backend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, name)
	}))
	t.Cleanup(s.Close)
	return s
}

func hostPort(t *testing.T, s *httptest.Server) (string, int) {
	t.Helper()
	h, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return h, n
}

func newController(t *testing.T) (*Controller, *event.Log) {
	t.Helper()
	evs := event.New(512, nil)
	c, err := New(context.Background(), Options{Home: t.TempDir(), Store: state.NewMemory(), Events: evs, Instances: noInstances{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c, evs
}

func ipGroup(t *testing.T, name string, servers ...*httptest.Server) *TargetGroup {
	t.Helper()
	spec := elb.TargetGroupSpec{Name: name, TargetType: "ip",
		HealthCheck: elb.HealthCheckSpec{Path: "/", IntervalSeconds: 5, TimeoutSeconds: 2, HealthyThresholdCount: 2, UnhealthyThresholdCount: 2},
		Attributes:  map[string]string{"deregistration_delay.timeout_seconds": "1"},
	}
	for _, s := range servers {
		h, p := hostPort(t, s)
		spec.Targets = append(spec.Targets, elb.TargetSpec{IP: h, Port: p})
	}
	spec.ApplyDefaults()
	return &TargetGroup{Spec: spec, ARN: "arn:test:" + name}
}

func lbSpec(name string, port int, group string) *LoadBalancer {
	spec := elb.LoadBalancerSpec{Name: name, Listeners: []elb.ListenerSpec{{Port: port,
		DefaultActions: []elb.ActionSpec{{Type: "forward", TargetGroup: group}}}}}
	spec.ApplyDefaults()
	return &LoadBalancer{Spec: spec, ARN: "arn:test:lb/" + name}
}

// load sends GETs on keep-alive connections from n clients until stop is
// closed, and counts answers per body and failures.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	seen       map[string]int
	errs       []string
}

func runLoad(url string, clients int, stop <-chan struct{}) (*load, *sync.WaitGroup) {
	l := &load{seen: map[string]int{}}
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer hc.CloseIdleConnections()
			for n := 0; n < 20000; n++ { // bounded
				select {
				case <-stop:
					return
				default:
				}
				resp, err := hc.Get(url)
				if err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					l.errs = append(l.errs, err.Error())
					l.mu.Unlock()
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				l.mu.Lock()
				if resp.StatusCode == 200 {
					l.ok.Add(1)
					l.seen[string(b)]++
				} else {
					l.failed.Add(1)
					l.errs = append(l.errs, fmt.Sprintf("%d %s", resp.StatusCode, b))
				}
				l.mu.Unlock()
			}
		}()
	}
	return l, &wg
}

func TestFailoverLosesNoRequest(t *testing.T) {
	c, _ := newController(t)
	a, b, dead := backend(t, "a"), backend(t, "b"), backend(t, "c")
	port := freePort(t)
	ch := &Change{TargetGroups: []*TargetGroup{ipGroup(t, "web", a, b, dead)}, LoadBalancers: []*LoadBalancer{lbSpec("web", port, "web")}}
	if err := commit(c, ch); err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	waitHealthy(t, c, "web", 3)

	stop := make(chan struct{})
	l, wg := runLoad(url, 8, stop)
	time.Sleep(300 * time.Millisecond)
	_, deadPort := hostPort(t, dead)
	dead.CloseClientConnections()
	dead.Close() // the target dies mid-load
	killed := time.Now()

	// The dead target leaves rotation well within a second.
	var outAfter time.Duration
	for time.Since(killed) < 3*time.Second {
		th, _ := c.Health("web")
		for _, h := range th {
			if strings.HasSuffix(h.Addr, ":"+strconv.Itoa(deadPort)) && h.State == "unhealthy" && outAfter == 0 {
				outAfter = time.Since(killed)
			}
		}
		if outAfter > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if outAfter == 0 || outAfter > time.Second {
		t.Errorf("dead target out of rotation after %v, want < 1s", outAfter)
	}
	if f := l.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed during failover: %v", f, f+l.ok.Load(), first(l.errs, 5))
	}
	if l.seen["a"] == 0 || l.seen["b"] == 0 {
		t.Errorf("traffic did not reach both live targets: %v", l.seen)
	}
	t.Logf("failover: %d requests, 0 failed, dead target ejected after %v", l.ok.Load(), outAfter)
}

func TestReloadUnderLoadLosesNoRequest(t *testing.T) {
	c, _ := newController(t)
	a, b := backend(t, "a"), backend(t, "b")
	port := freePort(t)
	if err := commit(c, &Change{TargetGroups: []*TargetGroup{ipGroup(t, "web", a)}, LoadBalancers: []*LoadBalancer{lbSpec("web", port, "web")}}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, c, "web", 1)
	stop := make(chan struct{})
	l, wg := runLoad("http://127.0.0.1:"+strconv.Itoa(port)+"/", 8, stop)
	// Change targets and rules repeatedly under load.
	for i := 0; i < 10; i++ {
		var tg *TargetGroup
		if i%2 == 0 {
			tg = ipGroup(t, "web", a, b)
		} else {
			tg = ipGroup(t, "web", b)
		}
		lb := lbSpec("web", port, "web")
		lb.Spec.Listeners[0].Rules = []elb.RuleSpec{{Priority: 10 + i,
			Conditions: []elb.ConditionSpec{{Field: "path-pattern", Values: []string{"/never/*"}}},
			Actions:    []elb.ActionSpec{{Type: "fixed-response", FixedResponse: &elb.FixedResponseSpec{StatusCode: "404"}}}}}
		if err := commit(c, &Change{TargetGroups: []*TargetGroup{tg}, LoadBalancers: []*LoadBalancer{lb}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if f := l.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed across reloads: %v", f, f+l.ok.Load(), first(l.errs, 5))
	}
	// The in-process data plane's snapshot counts every request once,
	// across the reloads.
	s := waitRequests(t, c, l.ok.Load())
	if got := s.LoadBalancers[0].Counters[lbmetrics.LBRequestCount]; got != l.ok.Load() || len(s.Groups) != 1 || s.Groups[0].Counters[lbmetrics.GroupRequestCount] != got {
		t.Errorf("snapshot counts %d requests (group %+v), want %d", got, s.Groups, l.ok.Load())
	}
	t.Logf("reloads: %d requests, answers %v", l.ok.Load(), l.seen)
}

func TestPortInUseKeepsOldConfig(t *testing.T) {
	c, _ := newController(t)
	a := backend(t, "a")
	port := freePort(t)
	if err := commit(c, &Change{TargetGroups: []*TargetGroup{ipGroup(t, "web", a)}, LoadBalancers: []*LoadBalancer{lbSpec("web", port, "web")}}); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	err = commit(c, &Change{LoadBalancers: []*LoadBalancer{lbSpec("other", busyPort, "web")}})
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(busyPort)) {
		t.Fatalf("listener on a busy port: got %v, want an error naming port %d", err, busyPort)
	}
	waitHealthy(t, c, "web", 1)
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		t.Fatalf("old listener stopped serving after a failed reload: %v", err)
	}
	resp.Body.Close()
}

func waitHealthy(t *testing.T, c *Controller, group string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		th, err := c.Health(group)
		if err != nil {
			t.Fatal(err)
		}
		healthy := 0
		for _, h := range th {
			if h.State == "healthy" {
				healthy++
			}
		}
		if healthy >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	th, _ := c.Health(group)
	t.Fatalf("%s: fewer than %d healthy targets: %+v", group, n, th)
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Change is a batch of load balancer records a test commits together.
type Change struct {
	TargetGroups  []*TargetGroup
	LoadBalancers []*LoadBalancer
	DeleteTGs     []string
	DeleteLBs     []string
}

// commit stores a change the way apply does (one transaction), waits until
// the controller has reloaded after it, and returns the reload's error.
func commit(c *Controller, ch *Change) error {
	var ops []state.Op
	for _, tg := range ch.TargetGroups {
		b, _ := json.Marshal(tg)
		ops = append(ops, state.Put(TargetGroupPrefix+tg.Spec.Name, b))
	}
	for _, lb := range ch.LoadBalancers {
		b, _ := json.Marshal(lb)
		ops = append(ops, state.Put(LoadBalancerPrefix+lb.Spec.Name, b))
	}
	for _, n := range ch.DeleteTGs {
		ops = append(ops, state.Delete(TargetGroupPrefix+n))
	}
	for _, n := range ch.DeleteLBs {
		ops = append(ops, state.Delete(LoadBalancerPrefix+n))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rev, err := c.opts.Store.Txn(ctx, nil, ops)
	if err != nil {
		return err
	}
	if err := c.Observed(ctx, rev); err != nil {
		return err
	}
	return c.LastError()
}
