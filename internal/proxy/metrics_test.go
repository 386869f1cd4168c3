package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/route"
)

func TestHealthyHostCount(t *testing.T) {
	a := newBackend(t, "a", nil)
	b := newBackend(t, "b", nil)
	c := newBackend(t, "c", nil)
	d := newBackend(t, "d", nil)
	ts := targetsOf(a, b, c, d)
	ts[3].Draining = true
	h := newHarness(t, simpleConfig(TargetGroup{Name: "tg", Targets: ts}), Options{})
	now := time.Now()
	h.p.SetHealthy("tg", "a", true, now)
	h.p.SetHealthy("tg", "b", true, now)
	h.p.SetHealthy("tg", "c", false, now)
	h.p.SetHealthy("tg", "d", true, now)

	got := map[string]float64{}
	h.p.Collect(func(m Metric) {
		if (m.Name == "HealthyHostCount" || m.Name == "UnHealthyHostCount") && m.Dimensions["LoadBalancer"] == "lb" && m.Dimensions["TargetGroup"] == "tg" {
			if m.Kind != "gauge" {
				t.Errorf("%s kind = %q, want gauge", m.Name, m.Kind)
			}
			got[m.Name] = m.Value
		}
	})
	if got["HealthyHostCount"] != 2 || got["UnHealthyHostCount"] != 1 {
		t.Errorf("HealthyHostCount %v, UnHealthyHostCount %v; want 2 and 1 (the draining target counts in neither)", got["HealthyHostCount"], got["UnHealthyHostCount"])
	}
}

// delayBackend answers /fast at once, /err with 503 and /slow after
// delay, and records how long each handler ran before it answered (a
// lower bound of the response time the proxy measures).
type delayBackend struct {
	*backend
	delay time.Duration
	mu    sync.Mutex
	ran   []time.Duration
}

func newDelayBackend(t *testing.T, name string, delay time.Duration) *delayBackend {
	d := &delayBackend{delay: delay}
	d.backend = newBackend(t, name, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status := http.StatusOK
		switch r.URL.Path {
		case "/slow":
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		case "/err":
			status = http.StatusServiceUnavailable
		}
		ran := time.Since(start)
		d.mu.Lock()
		d.ran = append(d.ran, ran)
		d.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, "body")
	})
	return d
}

// take returns the handler durations recorded so far and forgets them.
func (d *delayBackend) take() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	ran := d.ran
	d.ran = nil
	return ran
}

// quantileOf is the response at rank q·(n-1) of ds, which it sorts.
func quantileOf(ds []time.Duration, q float64) float64 {
	slices.Sort(ds)
	return ds[int(q*float64(len(ds)-1))].Seconds()
}

// TestMetricsSnapshotDelta sends a known mix of requests through the
// proxy and checks the Delta of the snapshots before and after: counts,
// statuses and TargetResponseTime's quantiles within RelativeAccuracy of
// the delays, which lie between what the targets measured and what the
// client measured.
func TestMetricsSnapshotDelta(t *testing.T) {
	const delay = 20 * time.Millisecond
	a := newDelayBackend(t, "a", delay)
	b := newDelayBackend(t, "b", delay)
	h := newHarness(t, simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a.backend, b.backend)}), Options{})
	now := time.Now()
	h.p.SetHealthy("tg", "a", true, now)
	h.p.SetHealthy("tg", "b", true, now)
	c := newClient(t)
	get(t, c, h.url+"/fast") // opens the connections: not in the interval
	waitFor(t, 3*time.Second, "the first request counted", func() bool {
		return h.p.MetricsSnapshot(nil).LoadBalancers[0].Counters[lbmetrics.LBRequestCount] == 1
	})
	a.take()
	b.take()
	before := h.p.MetricsSnapshot(nil)

	pattern := []struct {
		path   string
		n      int
		status int
	}{{"/fast", 50, 200}, {"/err", 10, 503}, {"/slow", 20, 200}}
	var client []time.Duration
	total := 0
	for _, p := range pattern {
		for range p.n {
			start := time.Now()
			resp, _ := get(t, c, h.url+p.path)
			client = append(client, time.Since(start))
			if resp.StatusCode != p.status {
				t.Fatalf("GET %s: %d, want %d", p.path, resp.StatusCode, p.status)
			}
			total++
		}
	}
	var after *lbmetrics.Snapshot
	waitFor(t, 3*time.Second, "every request counted", func() bool {
		after = h.p.MetricsSnapshot(nil)
		return after.LoadBalancers[0].Counters[lbmetrics.LBRequestCount] == int64(total+1)
	})
	if after.Epoch != before.Epoch || after.Epoch == "" {
		t.Fatalf("epoch %q then %q, want one non-empty epoch", before.Epoch, after.Epoch)
	}
	iv := lbmetrics.Delta(before, after)
	if len(iv.LoadBalancers) != 1 || len(iv.Groups) != 1 || len(iv.Targets) != 2 {
		t.Fatalf("interval has %d load balancers, %d groups, %d targets; want 1, 1, 2", len(iv.LoadBalancers), len(iv.Groups), len(iv.Targets))
	}
	lb, g := iv.LoadBalancers[0], iv.Groups[0]
	var bucketTotal int64
	for _, bk := range g.ResponseTimeBuckets {
		bucketTotal += bk.Count
	}
	var targetReqs, bytesIn, bytesOut int64
	for _, tg := range iv.Targets {
		targetReqs += tg.Requests
		bytesIn += tg.BytesIn
		bytesOut += tg.BytesOut
	}
	counts := []struct {
		name      string
		got, want int64
	}{
		{"load balancer RequestCount", lb.Counters[lbmetrics.LBRequestCount], 80},
		{"HTTPCode_ELB_5XX_Count", lb.Counters[lbmetrics.LBELB5XXCount], 0},
		{"group RequestCount", g.Counters[lbmetrics.GroupRequestCount], 80},
		{"HTTPCode_Target_2XX_Count", g.Counters[lbmetrics.GroupTarget2XXCount], 70},
		{"HTTPCode_Target_5XX_Count", g.Counters[lbmetrics.GroupTarget5XXCount], 10},
		{"TargetConnectionErrorCount", g.Counters[lbmetrics.GroupTargetConnectionErrorCount], 0},
		{"TargetResponseTime count", g.ResponseTimeCount, 80},
		{"TargetResponseTime bucket total", bucketTotal, 80},
		{"HealthyHostCount", g.HealthyHostCount, 2},
		{"target requests", targetReqs, 80},
		{"target a requests", iv.Targets[0].Requests, 40},
		{"ActiveConnectionCount (a client and at least one target connection)", min(lb.ActiveConnectionCount, 2), 2},
	}
	for _, tc := range counts {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	if bytesIn <= 0 || bytesOut <= 0 || bytesIn+bytesOut != lb.Counters[lbmetrics.LBProcessedBytes] {
		t.Errorf("target bytes in %d + out %d, want positive and summing to ProcessedBytes %d", bytesIn, bytesOut, lb.Counters[lbmetrics.LBProcessedBytes])
	}
	if rpt := g.RequestCountPerTarget(); rpt != 40 {
		t.Errorf("RequestCountPerTarget = %v, want 40", rpt)
	}

	ran := append(a.take(), b.take()...)
	if len(ran) != 80 {
		t.Fatalf("targets ran %d requests, want 80", len(ran))
	}
	const alpha = lbmetrics.RelativeAccuracy
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p99", 0.99}} {
		got := g.Quantile(q.q)
		lo, hi := quantileOf(ran, q.q)*(1-alpha), quantileOf(client, q.q)*(1+alpha)
		if got < lo || got > hi {
			t.Errorf("TargetResponseTime %s = %.6fs, want within %v of a value between the targets' %.6fs and the client's %.6fs", q.name, got, alpha, lo/(1-alpha), hi/(1+alpha))
		}
	}
	if p50, p99 := g.Quantile(0.5), g.Quantile(0.99); p50 >= delay.Seconds()*(1-alpha) || p99 < delay.Seconds()*(1-alpha) {
		t.Errorf("p50 %.6fs, p99 %.6fs: want p50 among the fast responses and p99 among the %v ones", p50, p99, delay)
	}
	values, weights := g.ResponseTimes()
	var sum float64
	for i := range values {
		sum += values[i] * weights[i]
	}
	if relErr := math.Abs(sum-g.ResponseTimeSum) / g.ResponseTimeSum; relErr > alpha+0.001 {
		t.Errorf("buckets' weighted sum %.6fs vs ResponseTimeSum %.6fs: relative error %v", sum, g.ResponseTimeSum, relErr)
	}
}

// TestMetricsSnapshotReuse checks that a snapshot taken into an earlier
// one does not allocate, and that another proxy has another epoch.
func TestMetricsSnapshotReuse(t *testing.T) {
	p, _ := newSnapshotProxy(t, 2, 2, 3)
	s := p.MetricsSnapshot(nil)
	if n := testing.AllocsPerRun(100, func() { s = p.MetricsSnapshot(s) }); n != 0 {
		t.Errorf("MetricsSnapshot into a used snapshot allocates %v times, want 0", n)
	}
	if len(s.LoadBalancers) != 2 || len(s.Groups) != 4 || len(s.Targets) != 12 || len(s.Groups[0].ResponseTimes) == 0 {
		t.Errorf("snapshot has %d load balancers, %d groups, %d targets, %d buckets in the first group; want 2, 4, 12 and some",
			len(s.LoadBalancers), len(s.Groups), len(s.Targets), len(s.Groups[0].ResponseTimes))
	}
	if len(s.Zones) != 12 || len(s.Zones[0].ResponseTimes) == 0 || s.Zones[0].UnHealthyHostCount != 2 {
		t.Errorf("snapshot has %d zones, %d buckets and %d unhealthy hosts in the first; want 12 (4 groups × 3 zones), some and 2",
			len(s.Zones), len(s.Zones[0].ResponseTimes), s.Zones[0].UnHealthyHostCount)
	}
	other, _ := newSnapshotProxy(t, 1, 1, 1)
	if e := other.MetricsSnapshot(nil).Epoch; e == s.Epoch {
		t.Errorf("two proxies share epoch %q", e)
	}
}

// newSnapshotProxy returns a proxy with lbs load balancers in three
// zones, each forwarding to groups target groups of targets targets (not
// reachable) spread over two of the zones, every group and its targets'
// zones with a spread of response times counted.
func newSnapshotProxy(t testing.TB, lbs, groups, targets int) (*Proxy, Config) {
	var cfg Config
	for l := range lbs {
		fwd := &route.Forward{}
		for g := range groups {
			name := fmt.Sprintf("tg-%d-%d", l, g)
			tg := TargetGroup{Name: name}
			for i := range targets {
				tg.Targets = append(tg.Targets, Target{ID: fmt.Sprintf("i-%d", i), Addr: fmt.Sprintf("127.0.0.1:%d", 1+i), Weight: 1,
					Zone: []string{"local-1a", "local-1b"}[i%2]})
			}
			cfg.TargetGroups = append(cfg.TargetGroups, tg)
			fwd.TargetGroups = append(fwd.TargetGroups, route.WeightedTargetGroup{Name: name, Weight: 1})
		}
		cfg.LoadBalancers = append(cfg.LoadBalancers, LoadBalancer{
			Name: fmt.Sprintf("lb-%d", l), Address: "127.0.0.1", Zones: []string{"local-1a", "local-1b", "local-1c"},
			Listeners: []Listener{{Port: freePort(t), DefaultActions: []route.Action{{Type: route.ActionForward, Forward: fwd}}}},
		})
	}
	p := New(testOptions(Options{Logger: slog.New(slog.DiscardHandler)}))
	if err := p.Update(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Shutdown(ctx)
	})
	// Response times from 100 µs to about 2 s: a few hundred buckets,
	// in the groups and in their targets' zones.
	count := func(s *lbmetrics.GroupStats) {
		for i := range 1000 {
			s.CountTarget(200, time.Duration(100*math.Pow(1.01, float64(i)))*time.Microsecond)
		}
	}
	for _, s := range p.tgStats {
		count(s)
	}
	for k, s := range p.zoneStats {
		if k.zone != "local-1c" {
			count(s)
		}
	}
	return p, cfg
}

// BenchmarkMetricsSnapshot measures a snapshot of 10 load balancers × 2
// target groups × 10 targets in 2 of 3 zones, each group and zone with
// targets with a few hundred non-empty response-time buckets: "new" into a new snapshot, "reuse" into the
// previous one, as a collector alternating two snapshots does.
func BenchmarkMetricsSnapshot(b *testing.B) {
	p, _ := newSnapshotProxy(b, 10, 2, 10)
	s := p.MetricsSnapshot(nil)
	nb := 0
	for _, g := range s.Groups {
		nb += len(g.ResponseTimes)
	}
	b.Logf("%d groups, %d targets, %d non-empty buckets", len(s.Groups), len(s.Targets), nb)
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.MetricsSnapshot(nil)
		}
	})
	b.Run("reuse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s = p.MetricsSnapshot(s)
		}
	})
}
