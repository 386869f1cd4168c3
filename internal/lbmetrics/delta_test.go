package lbmetrics

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// lbSnap is a load balancer snapshot with RequestCount and ProcessedBytes.
func lbSnap(name string, requests, bytes, active int64) LBSnapshot {
	s := LBSnapshot{LoadBalancer: name, ActiveConnectionCount: active}
	s.Counters[LBRequestCount] = requests
	s.Counters[LBProcessedBytes] = bytes
	return s
}

// groupSnap is a group snapshot with RequestCount, 2XX and buckets.
func groupSnap(lb, tg string, requests int64, healthy int64, buckets ...Bucket) GroupSnapshot {
	g := GroupSnapshot{LoadBalancer: lb, TargetGroup: tg, HealthyHostCount: healthy, ResponseTimes: buckets}
	g.Counters[GroupRequestCount] = requests
	g.Counters[GroupTarget2XXCount] = requests
	for _, b := range buckets {
		g.ResponseTimeCount += b.Count
		g.ResponseTimeSumMicros += b.Count * 1000
	}
	return g
}

func TestDelta(t *testing.T) {
	base := &Snapshot{
		Taken: t0, Epoch: "e1",
		LoadBalancers: []LBSnapshot{lbSnap("a", 10, 1000, 3), lbSnap("gone", 5, 5, 0)},
		Groups:        []GroupSnapshot{groupSnap("a", "tg", 10, 2, Bucket{-300, 4}, Bucket{-200, 6})},
		Targets:       []TargetSnapshot{{TargetGroup: "tg", Target: "i-1", Requests: 10, BytesIn: 100, BytesOut: 900, ConnectionErrors: 1}},
	}
	tests := []struct {
		name        string
		prev        *Snapshot
		cur         Snapshot
		wantStart   time.Time
		wantLBs     []LBInterval
		wantGroups  []GroupInterval
		wantTargets []TargetInterval
	}{
		{
			name: "no previous snapshot counts from zero",
			prev: nil,
			cur:  *base,
			wantLBs: []LBInterval{
				{LoadBalancer: "a", Counters: lbSnap("", 10, 1000, 0).Counters, ActiveConnectionCount: 3},
				{LoadBalancer: "gone", Counters: lbSnap("", 5, 5, 0).Counters},
			},
			wantGroups: []GroupInterval{{
				LoadBalancer: "a", TargetGroup: "tg", Counters: groupSnap("", "", 10, 0).Counters,
				ResponseTimeCount: 10, ResponseTimeSum: 0.01, ResponseTimeBuckets: []Bucket{{-300, 4}, {-200, 6}}, HealthyHostCount: 2,
			}},
			wantTargets: []TargetInterval{{TargetGroup: "tg", Target: "i-1", Requests: 10, BytesIn: 100, BytesOut: 900, ConnectionErrors: 1}},
		},
		{
			name: "differences, gauges from cur, new and vanished entries",
			prev: base,
			cur: Snapshot{
				Taken: t0.Add(time.Second), Epoch: "e1",
				LoadBalancers: []LBSnapshot{lbSnap("a", 15, 1600, 1), lbSnap("new", 2, 20, 1)},
				Groups: []GroupSnapshot{
					groupSnap("a", "tg", 15, 3, Bucket{-300, 4}, Bucket{-250, 2}, Bucket{-200, 9}),
					groupSnap("a", "tg2", 1, 1, Bucket{0, 1}),
				},
				Targets: []TargetSnapshot{
					{TargetGroup: "tg", Target: "i-1", Requests: 12, BytesIn: 150, BytesOut: 1000, ConnectionErrors: 1},
					{TargetGroup: "tg", Target: "i-2", Requests: 3, BytesIn: 30, BytesOut: 300},
				},
			},
			wantStart: t0,
			wantLBs: []LBInterval{
				{LoadBalancer: "a", Counters: lbSnap("", 5, 600, 0).Counters, ActiveConnectionCount: 1},
				{LoadBalancer: "new", Counters: lbSnap("", 2, 20, 0).Counters, ActiveConnectionCount: 1},
			},
			wantGroups: []GroupInterval{
				{
					LoadBalancer: "a", TargetGroup: "tg", Counters: groupSnap("", "", 5, 0).Counters,
					ResponseTimeCount: 5, ResponseTimeSum: 0.005, ResponseTimeBuckets: []Bucket{{-250, 2}, {-200, 3}}, HealthyHostCount: 3,
				},
				{
					LoadBalancer: "a", TargetGroup: "tg2", Counters: groupSnap("", "", 1, 0).Counters,
					ResponseTimeCount: 1, ResponseTimeSum: 0.001, ResponseTimeBuckets: []Bucket{{0, 1}}, HealthyHostCount: 1,
				},
			},
			wantTargets: []TargetInterval{
				{TargetGroup: "tg", Target: "i-1", Requests: 2, BytesIn: 50, BytesOut: 100},
				{TargetGroup: "tg", Target: "i-2", Requests: 3, BytesIn: 30, BytesOut: 300},
			},
		},
		{
			name: "counters that went down count from zero",
			prev: base,
			cur: Snapshot{
				Taken: t0.Add(time.Second), Epoch: "e1",
				LoadBalancers: []LBSnapshot{lbSnap("a", 4, 2000, 0)},
				Groups:        []GroupSnapshot{groupSnap("a", "tg", 3, 2, Bucket{-300, 1}, Bucket{-200, 2})},
				Targets:       []TargetSnapshot{{TargetGroup: "tg", Target: "i-1", Requests: 3, BytesIn: 300, BytesOut: 300}},
			},
			wantStart: t0,
			wantLBs:   []LBInterval{{LoadBalancer: "a", Counters: lbSnap("", 4, 2000, 0).Counters}},
			wantGroups: []GroupInterval{{
				LoadBalancer: "a", TargetGroup: "tg", Counters: groupSnap("", "", 3, 0).Counters,
				ResponseTimeCount: 3, ResponseTimeSum: 0.003, ResponseTimeBuckets: []Bucket{{-300, 1}, {-200, 2}}, HealthyHostCount: 2,
			}},
			wantTargets: []TargetInterval{{TargetGroup: "tg", Target: "i-1", Requests: 3, BytesIn: 300, BytesOut: 300}},
		},
		{
			name: "another epoch counts from zero",
			prev: base,
			cur: Snapshot{
				Taken: t0.Add(time.Second), Epoch: "e2",
				LoadBalancers: []LBSnapshot{lbSnap("a", 20, 2000, 0)},
			},
			wantLBs: []LBInterval{{LoadBalancer: "a", Counters: lbSnap("", 20, 2000, 0).Counters}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Delta(tc.prev, &tc.cur)
			if !got.Start.Equal(tc.wantStart) || !got.End.Equal(tc.cur.Taken) {
				t.Errorf("interval %v–%v, want %v–%v", got.Start, got.End, tc.wantStart, tc.cur.Taken)
			}
			if !reflect.DeepEqual(got.LoadBalancers, orEmpty(tc.wantLBs)) {
				t.Errorf("load balancers\n got %+v\nwant %+v", got.LoadBalancers, tc.wantLBs)
			}
			if !reflect.DeepEqual(got.Groups, orEmpty(tc.wantGroups)) {
				t.Errorf("groups\n got %+v\nwant %+v", got.Groups, tc.wantGroups)
			}
			if !reflect.DeepEqual(got.Targets, orEmpty(tc.wantTargets)) {
				t.Errorf("targets\n got %+v\nwant %+v", got.Targets, tc.wantTargets)
			}
		})
	}
}

// orEmpty is s, or an empty slice for nil (Delta's lists are never nil).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func TestIntervalMetrics(t *testing.T) {
	lb := LBInterval{LoadBalancer: "a", Counters: lbSnap("", 7, 70, 0).Counters, ActiveConnectionCount: 4}
	lb.Counters[LBAccessLogDroppedCount] = 1
	g := GroupInterval{Counters: groupSnap("", "", 9, 0).Counters, HealthyHostCount: 3, UnHealthyHostCount: 1}
	tests := []struct {
		name   string
		values []Value
		want   map[string]float64
		absent []string
	}{
		{
			name:   "load balancer",
			values: lb.Metrics(),
			want:   map[string]float64{"RequestCount": 7, "ProcessedBytes": 70, "ActiveConnectionCount": 4, "HTTPCode_ELB_504_Count": 0, "DesyncMitigationMode_NonCompliant_Request_Count": 0},
			absent: []string{"AccessLogDroppedCount"},
		},
		{
			name:   "target group",
			values: g.Metrics(),
			want:   map[string]float64{"RequestCount": 9, "HTTPCode_Target_2XX_Count": 9, "TargetConnectionErrorCount": 0, "HealthyHostCount": 3, "UnHealthyHostCount": 1, "RequestCountPerTarget": 3},
		},
		{
			name:   "fail-open target group",
			values: GroupInterval{Counters: groupSnap("", "", 8, 0).Counters, UnHealthyHostCount: 2}.Metrics(),
			want:   map[string]float64{"RequestCountPerTarget": 4},
		},
		{
			name:   "target",
			values: TargetInterval{Requests: 2, BytesIn: 10, BytesOut: 20, ConnectionErrors: 1}.Metrics(),
			want:   map[string]float64{"RequestCount": 2, "BytesIn": 10, "BytesOut": 20, "TargetConnectionErrorCount": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]float64{}
			for _, v := range tc.values {
				if _, dup := got[v.Name]; dup {
					t.Errorf("%s reported twice", v.Name)
				}
				got[v.Name] = v.Value
			}
			for name, want := range tc.want {
				if v, ok := got[name]; !ok || v != want {
					t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
				}
			}
			for _, name := range tc.absent {
				if _, ok := got[name]; ok {
					t.Errorf("%s reported, want it left out", name)
				}
			}
		})
	}
	if n := len(lb.Metrics()); n != 19 {
		t.Errorf("load balancer reports %d metrics, want the 18 AWS counters and ActiveConnectionCount", n)
	}
}

func TestResponseTimes(t *testing.T) {
	g := GroupInterval{ResponseTimeBuckets: []Bucket{{-300, 4}, {0, 1}}}
	values, counts := g.ResponseTimes()
	if len(values) != 2 || values[0] != BucketValue(-300) || values[1] != BucketValue(0) || counts[0] != 4 || counts[1] != 1 {
		t.Errorf("ResponseTimes = %v, %v", values, counts)
	}
	if q := g.Quantile(0.5); q != BucketValue(-300) {
		t.Errorf("p50 = %v, want %v", q, BucketValue(-300))
	}
}

// benchSnapshot is a snapshot of lbs load balancers × groups target
// groups × targets targets, each group with buckets non-empty buckets.
func benchSnapshot(lbs, groups, targets, buckets int, scale int64) *Snapshot {
	s := &Snapshot{Taken: t0, Epoch: "e"}
	for l := range lbs {
		lb := fmt.Sprintf("app/lb-%d/0123456789abcdef", l)
		s.LoadBalancers = append(s.LoadBalancers, lbSnap(lb, 1000*scale, 100000*scale, 10))
		for g := range groups {
			tg := fmt.Sprintf("targetgroup/tg-%d-%d/0123456789abcdef", l, g)
			var bs Buckets
			for b := range buckets {
				bs = append(bs, Bucket{Index: int32(-500 + b), Count: int64(b+1) * scale})
			}
			s.Groups = append(s.Groups, groupSnap(lb, tg, 1000*scale, int64(targets), bs...))
			for i := range targets {
				s.Targets = append(s.Targets, TargetSnapshot{TargetGroup: tg, Target: fmt.Sprintf("i-%017d", i), Requests: 100 * scale, BytesIn: 1e4 * scale, BytesOut: 1e5 * scale})
			}
		}
	}
	return s
}

// BenchmarkSnapshotJSON measures a snapshot's trip over the data plane's
// control socket (10 load balancers × 2 groups × 10 targets, 300
// non-empty buckets per group): its size, encoding and decoding.
func BenchmarkSnapshotJSON(b *testing.B) {
	s := benchSnapshot(10, 2, 10, 300, 1)
	data, err := json.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.ReportMetric(float64(len(data)), "bytes/snapshot")
		for b.Loop() {
			json.Marshal(s)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out Snapshot
			if err := json.Unmarshal(data, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDelta measures Delta of two such snapshots.
func BenchmarkDelta(b *testing.B) {
	prev, cur := benchSnapshot(10, 2, 10, 300, 1), benchSnapshot(10, 2, 10, 300, 2)
	b.ReportAllocs()
	for b.Loop() {
		Delta(prev, cur)
	}
}

func TestSnapshotJSON(t *testing.T) {
	s := benchSnapshot(2, 2, 2, 5, 1)
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got Snapshot
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, s) {
		t.Errorf("round trip through JSON changed the snapshot:\n got %+v\nwant %+v", got, s)
	}
}
