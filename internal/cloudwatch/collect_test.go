package cloudwatch

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/state"
)

// benchSources are 100 instances and 10 load balancers with one target
// group of 10 targets each, serving 50 requests a second spread over 50
// response-time buckets: the bench script's load.
type benchSources struct {
	n  int64
	at time.Time
}

func (b *benchSources) Samples() []compute.Sample {
	out := make([]compute.Sample, 100)
	for i := range out {
		out[i] = compute.Sample{InstanceID: fmt.Sprintf("i-%017d", i), Group: fmt.Sprintf("g%d", i%10), Running: true,
			CPUUtilization: float64(i % 7), MemoryUtilization: 3, DiskMeasured: true, DiskWriteBytes: 4096}
	}
	return out
}

func (b *benchSources) MetricsSnapshot(context.Context) (*lbmetrics.Snapshot, error) {
	b.n += 50
	s := &lbmetrics.Snapshot{Taken: b.at, Epoch: "e"}
	for l := range 10 {
		lb := fmt.Sprintf("lb%d", l)
		var c lbmetrics.LBCounters
		c[lbmetrics.LBRequestCount], c[lbmetrics.LBNewConnectionCount] = b.n, 1
		s.LoadBalancers = append(s.LoadBalancers, lbmetrics.LBSnapshot{LoadBalancer: lb, Counters: c, ActiveConnectionCount: 1})
		var g lbmetrics.GroupCounters
		g[lbmetrics.GroupRequestCount], g[lbmetrics.GroupTarget2XXCount] = b.n, b.n
		var bk lbmetrics.Buckets
		for i := range 50 {
			bk = append(bk, lbmetrics.Bucket{Index: int32(-400 + i), Count: b.n / 50})
		}
		s.Groups = append(s.Groups, lbmetrics.GroupSnapshot{LoadBalancer: lb, TargetGroup: "g" + lb, Counters: g,
			ResponseTimeCount: b.n, ResponseTimeSumMicros: b.n * 300, ResponseTimes: bk, HealthyHostCount: 10})
		for t := range 10 {
			s.Targets = append(s.Targets, lbmetrics.TargetSnapshot{TargetGroup: "g" + lb, Target: fmt.Sprintf("i-%d-%d", l, t),
				Requests: b.n / 10, BytesIn: b.n * 10, BytesOut: b.n * 20})
		}
	}
	return s, nil
}

// BenchmarkCollect measures one collection round (sampling aside: the
// sources are fakes) — datums built and stored.
func BenchmarkCollect(b *testing.B) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 20e6, time.UTC)
	src := &benchSources{at: now}
	svc, err := New(context.Background(), Options{Home: b.TempDir(), Store: state.NewMemory(), Instances: src, LoadBalancers: src,
		Interval: time.Second, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	svc.baselineLB(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		src.at = now
		svc.collect(context.Background())
	}
}
