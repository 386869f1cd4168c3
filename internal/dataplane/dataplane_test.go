package dataplane

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/lbmetrics"
)

func TestEngineApplyIsTransactional(t *testing.T) {
	b := newBackend(t, "a")
	port := freePort(t)
	logPath := filepath.Join(t.TempDir(), "elb", "lb", "access.log")
	cfg := testConfig(port, b)
	cfg.AccessLogs = map[string]string{"lb": logPath}
	e := NewEngine(Options{})
	defer e.Shutdown(context.Background())
	ctx := ctxFor(t, 10*time.Second)
	if err := e.Apply(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	c := httpClient(t)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	waitFor(t, 5*time.Second, "the target to serve", func() bool {
		body, err := fetch(c, url)
		return err == nil && body == "backend a"
	})

	// A second listener on a port in use: rejected, the old one serves.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bad := testConfig(port, b)
	bad.Proxy.LoadBalancers[0].Listeners = append(bad.Proxy.LoadBalancers[0].Listeners, bad.Proxy.LoadBalancers[0].Listeners[0])
	bad.Proxy.LoadBalancers[0].Listeners[1].Port = busy.Addr().(*net.TCPAddr).Port
	if err := e.Apply(ctx, bad); err == nil || !strings.Contains(err.Error(), "bind") {
		t.Fatalf("Apply with a port in use: %v, want a bind error", err)
	}
	if body, err := fetch(c, url); err != nil || body != "backend a" {
		t.Fatalf("after a rejected configuration: %q, %v; want the old one serving", body, err)
	}
	if got := e.Config(); got.AccessLogs["lb"] != logPath {
		t.Fatalf("Config after a rejected Apply: access logs %v, want the old configuration", got.AccessLogs)
	}
	waitFor(t, 5*time.Second, "an access log line", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "GET http://127.0.0.1:"+strconv.Itoa(port))
	})
}

func TestEngineRestoreOnlyBeforeConfigured(t *testing.T) {
	b := newBackend(t, "a")
	port := freePort(t)
	ctx := ctxFor(t, 10*time.Second)
	cfg := testConfig(port, b)
	cfg.Health[0].Settings.Interval = time.Hour // no check changes the restored state
	cfg.Health[0].Settings.Timeout = time.Second
	addr := b.Listener.Addr().String()
	since := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	rec := health.Record{Group: "web", ID: "t0", Addr: addr, State: health.StateUnhealthy,
		Reason: health.ReasonFailedHealthChecks, Description: "saved", Since: since, ConsecutiveFail: 2}

	e := NewEngine(Options{Checker: blockedChecker{}})
	defer e.Shutdown(context.Background())
	if err := e.Restore(ctx, []health.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	th, _ := e.Health(ctx, "web")
	if len(th) != 1 || th[0].State != health.StateUnhealthy || !th[0].Since.Equal(since) {
		t.Fatalf("health after Restore and Apply: %+v, want the saved unhealthy state", th)
	}
	// Once configured, saved health is older than the live one.
	rec.State, rec.Reason = health.StateHealthy, ""
	if err := e.Restore(ctx, []health.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if th, _ := e.Health(ctx, "web"); th[0].State != health.StateUnhealthy {
		t.Fatalf("Restore on a configured data plane changed health: %+v", th)
	}
}

// blockedChecker's checks never finish before their context ends.
type blockedChecker struct{}

func (blockedChecker) Check(ctx context.Context, _ health.Settings, _ string) health.Result {
	<-ctx.Done()
	return health.Result{Reason: health.ReasonTimeout}
}

func TestChangeLogSinceAndLost(t *testing.T) {
	l := newChangeLog("e1")
	got, woke := l.since("", 0, 10)
	if len(got.Changes) != 0 || got.Next != 0 || got.Lost {
		t.Fatalf("empty log: %+v", got)
	}
	l.add("g", health.TargetHealth{ID: "a"}, time.Now())
	select {
	case <-woke:
	default:
		t.Fatal("add did not wake a waiting follower")
	}
	for i := range changeCapacity + 5 {
		l.add("g", health.TargetHealth{ID: strconv.Itoa(i)}, time.Now())
	}
	got, _ = l.since("e1", 1, 3)
	if !got.Lost || len(got.Changes) != 3 || got.Changes[0].Seq != 7 || got.Next != 9 {
		t.Fatalf("since 1 after overflow: lost=%v n=%d first=%d next=%d; want lost, 3 from seq 7, next 9",
			got.Lost, len(got.Changes), got.Changes[0].Seq, got.Next)
	}
	got, _ = l.since("e1", got.Next, 3)
	if got.Lost || got.Changes[0].Seq != 10 {
		t.Fatalf("following on: lost=%v first=%d; want 10, nothing lost", got.Lost, got.Changes[0].Seq)
	}
	last := uint64(changeCapacity + 6)
	if got, _ = l.since("e1", last, 3); len(got.Changes) != 0 || got.Next != last {
		t.Fatalf("up to date: %+v, want no changes and next %d", got, last)
	}
	if got, _ = l.since("other", last, 3); got.Epoch != "e1" || got.Changes[0].Seq != 7 {
		t.Fatalf("another epoch's cursor: %+v, want the oldest kept change", got.Changes[0])
	}
}

func TestProcessControlAndFollow(t *testing.T) {
	home := t.TempDir()
	b := newBackend(t, "a")
	port := freePort(t)
	proc := startProcess(t, home, false)
	ctx := ctxFor(t, 20*time.Second)

	var mu sync.Mutex
	var seen []string
	onChange := func(group string, th health.TargetHealth) {
		mu.Lock()
		seen = append(seen, group+"/"+th.ID+"="+string(th.State))
		mu.Unlock()
	}
	seenLen := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	c, err := Dial(ctx, home, ClientOptions{OnChange: onChange})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ReadState(home)
	if err != nil || st.PID != os.Getpid() || !st.Alive() || st.Epoch != c.Status().Epoch {
		t.Fatalf("state file %+v, %v; want this process and the client's epoch %s", st, err, c.Status().Epoch)
	}
	if fi, err := os.Stat(filepath.Join(home, SocketFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v, %v; want mode 0600", fi, err)
	}
	if err := c.Apply(ctx, testConfig(port, b)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the healthy change to be followed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > 0 && seen[len(seen)-1] == "web/t0=healthy"
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	if body, err := fetch(httpClient(t), url); err != nil || body != "backend a" {
		t.Fatalf("GET: %q, %v", body, err)
	}
	th, err := c.Health(ctx, "web")
	if err != nil || len(th) != 1 || th[0].State != health.StateHealthy {
		t.Fatalf("Health: %+v, %v", th, err)
	}
	recs, err := c.Snapshot(ctx)
	if err != nil || len(recs) != 1 || recs[0].State != health.StateHealthy {
		t.Fatalf("Snapshot: %+v, %v", recs, err)
	}
	ms, err := c.Metrics(ctx)
	if err != nil || len(ms) == 0 {
		t.Fatalf("Metrics: %d, %v", len(ms), err)
	}
	var snap *lbmetrics.Snapshot
	waitFor(t, 5*time.Second, "the request in the metrics snapshot", func() bool {
		snap, err = c.MetricsSnapshot(ctx)
		return err == nil && len(snap.LoadBalancers) == 1 && snap.LoadBalancers[0].Counters[lbmetrics.LBRequestCount] == 1 && len(snap.Targets) == 1 && snap.Targets[0].BytesOut > 0
	})
	if snap.Epoch == "" || len(snap.Groups) != 1 || snap.Groups[0].TargetGroup != "web" || snap.Groups[0].HealthyHostCount != 1 ||
		len(snap.Groups[0].ResponseTimes) != 1 || len(snap.Targets) != 1 || snap.Targets[0].Requests != 1 || snap.Targets[0].BytesOut == 0 {
		t.Fatalf("MetricsSnapshot: %+v; want an epoch, group web with 1 healthy host and 1 response time, target t0 with 1 request", snap)
	}
	if n, err := c.InFlight(ctx, "t0"); err != nil || n != 0 {
		t.Fatalf("InFlight: %d, %v", n, err)
	}
	bad := testConfig(port, b)
	bad.Proxy.TargetGroups = append(bad.Proxy.TargetGroups, bad.Proxy.TargetGroups[0])
	var re *RemoteError
	if err := c.Apply(ctx, bad); !errors.As(err, &re) || !strings.Contains(err.Error(), "used twice") {
		t.Fatalf("Apply of a bad configuration: %v, want the data plane's error", err)
	}
	if _, err := fetch(httpClient(t), url); err != nil {
		t.Fatalf("after a rejected configuration: %v", err)
	}

	// A daemon that comes back gets only the changes it has not seen.
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	delivered := seenLen()
	if _, err := fetch(httpClient(t), url); err != nil {
		t.Fatalf("after the client went away: %v", err)
	}
	b.Close() // the target fails while no daemon follows
	c2, err := Dial(ctx, home, ClientOptions{OnChange: onChange})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the unhealthy change made while away", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > delivered && seen[len(seen)-1] == "web/t0=unhealthy"
	})
	mu.Lock()
	replayed := seen[delivered:]
	mu.Unlock()
	for _, s := range replayed {
		if s == "web/t0=healthy" {
			t.Fatalf("changes delivered again to the returning client: %v", replayed)
		}
	}

	if err := c2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-proc.done:
		proc.done <- err
		if err != nil {
			t.Fatalf("Run after Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Shutdown")
	}
	for _, f := range []string{SocketFile, StateFile} {
		if _, err := os.Stat(filepath.Join(home, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after shutdown: %v, want removed", f, err)
		}
	}
}

// TestTakeoverUnderLoad: a new data plane takes the listening socket,
// configuration and health over from the running one, which drains and
// exits, while requests keep flowing: none fails.
func TestTakeoverUnderLoad(t *testing.T) {
	home := t.TempDir()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	port := freePort(t)
	old := startProcess(t, home, false)
	ctx := ctxFor(t, 30*time.Second)
	c, err := Dial(ctx, home, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	oldEpoch := c.Status().Epoch
	if err := c.Apply(ctx, testConfig(port, a, b)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "both targets healthy", func() bool {
		th, _ := c.Health(ctx, "web")
		return len(th) == 2 && th[0].State == health.StateHealthy && th[1].State == health.StateHealthy
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	l := startLoad(t, url, 3)
	fresh := startLoadWith(t, freshConnClient(t), url, 2)
	l.waitOK(t, 100)
	fresh.waitOK(t, 50)
	before, err := c.MetricsSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}

	next := startProcess(t, home, true)
	select {
	case err := <-old.done:
		old.done <- err
		if err != nil {
			t.Fatalf("old data plane: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the old data plane did not exit after the takeover")
	}
	l.waitOK(t, l.ok.Load()+100)
	fresh.waitOK(t, fresh.ok.Load()+50)
	ok, fail, errs := l.end()
	if fail != 0 {
		t.Fatalf("%d of %d requests failed during the takeover: %v", fail, ok+fail, errs)
	}
	if ok, fail, errs := fresh.end(); fail != 0 {
		t.Fatalf("%d of %d requests on new connections failed during the takeover: %v", fail, ok+fail, errs)
	}

	c2, err := Dial(ctx, home, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	st := c2.Status()
	if st.Epoch == oldEpoch || !st.Configured || len(st.Listeners) != 1 || st.Listeners[0] != "127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("new data plane status %+v: want another epoch, configured, listening on the same port", st)
	}
	th, _ := c2.Health(ctx, "web")
	if len(th) != 2 || th[0].State != health.StateHealthy || th[1].State != health.StateHealthy {
		t.Fatalf("health after the takeover: %+v, want both targets still healthy", th)
	}
	// The new data plane counts from zero under another epoch, so a
	// collector's interval across the takeover is not negative.
	after, err := c2.MetricsSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Epoch == before.Epoch {
		t.Fatalf("metrics epoch %q before and after the takeover, want another", after.Epoch)
	}
	if iv := lbmetrics.Delta(before, after); len(iv.LoadBalancers) != 1 || iv.LoadBalancers[0].Counters != after.LoadBalancers[0].Counters {
		t.Fatalf("interval across the takeover %+v, want the new data plane's counts from zero", iv.LoadBalancers)
	}
	if rs, _ := ReadState(home); rs.Epoch != st.Epoch {
		t.Fatalf("state file names epoch %s, want the new data plane's %s", rs.Epoch, st.Epoch)
	}
	next.stop(t)
	if _, err := fetch(httpClient(t), url); err == nil {
		t.Fatal("the listener still answers after both data planes stopped")
	}
}
