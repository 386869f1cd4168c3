package lbmetrics

import (
	"math"
	"testing"
	"time"
)

// collect keys a snapshot's emitted metrics by name, Statistic and the
// dimension that tells the levels apart.
func collect(s *Snapshot) map[string]Metric {
	out := map[string]Metric{}
	s.Emit(func(m Metric) {
		k := m.Name
		switch {
		case m.Dimensions["Target"] != "":
			k = "target/" + k
		case m.Dimensions["TargetGroup"] != "":
			k = "group/" + k
		default:
			k = "lb/" + k
		}
		if st := m.Dimensions["Statistic"]; st != "" {
			k += "/" + st
		}
		if _, dup := out[k]; dup {
			panic("emitted twice: " + k)
		}
		out[k] = m
	})
	return out
}

func TestEmit(t *testing.T) {
	lb := NewLBStats()
	for _, st := range []int{502, 503, 404, 301, 502} {
		lb.CountELB(st)
	}
	lb.ActiveConns.Add(2)
	g := NewGroupStats()
	for range 100 {
		g.CountTarget(200, 3*time.Millisecond)
	}
	g.CountTarget(503, 2*time.Second)
	g.Requests.Add(101)
	s := &Snapshot{
		LoadBalancers: []LBSnapshot{{LoadBalancer: "web", Counters: lb.Counters(), ActiveConnectionCount: lb.ActiveConns.Load()}},
		Groups: []GroupSnapshot{{
			LoadBalancer: "web", TargetGroup: "api", Counters: g.Counters(),
			ResponseTimeCount: g.RTCount.Load(), ResponseTimeSumMicros: g.RTSumMicros.Load(), ResponseTimes: g.AppendResponseTimes(nil),
			HealthyHostCount: 3, UnHealthyHostCount: 1,
		}},
		Targets: []TargetSnapshot{{TargetGroup: "api", Target: "i-1", Requests: 101, BytesIn: 10, BytesOut: 20}},
	}
	got := collect(s)
	tests := []struct {
		key  string
		want float64
		kind string
		dims map[string]string
	}{
		{key: "lb/HTTPCode_ELB_5XX_Count", want: 3, kind: "counter", dims: map[string]string{"LoadBalancer": "web"}},
		{key: "lb/HTTPCode_ELB_502_Count", want: 2, kind: "counter"},
		{key: "lb/HTTPCode_ELB_503_Count", want: 1, kind: "counter"},
		{key: "lb/HTTPCode_ELB_4XX_Count", want: 1, kind: "counter"},
		{key: "lb/HTTPCode_ELB_3XX_Count", want: 1, kind: "counter"},
		{key: "lb/RequestCount", want: 0, kind: "counter"},
		{key: "lb/AccessLogDroppedCount", want: 0, kind: "counter"},
		{key: "lb/ActiveConnectionCount", want: 2, kind: "gauge"},
		{key: "group/RequestCount", want: 101, kind: "counter", dims: map[string]string{"LoadBalancer": "web", "TargetGroup": "api"}},
		{key: "group/HTTPCode_Target_2XX_Count", want: 100, kind: "counter"},
		{key: "group/HTTPCode_Target_5XX_Count", want: 1, kind: "counter"},
		{key: "group/HealthyHostCount", want: 3, kind: "gauge"},
		{key: "group/UnHealthyHostCount", want: 1, kind: "gauge"},
		{key: "group/TargetResponseTime/SampleCount", want: 101, kind: "counter"},
		{key: "group/TargetResponseTime/Sum", want: 2.3, kind: "counter"},
		{key: "group/TargetResponseTime/p50", want: 0.003, kind: "gauge"},
		{key: "group/TargetResponseTime/p99", want: 0.003, kind: "gauge"},
		{key: "target/RequestCountPerTarget", want: 101, kind: "counter", dims: map[string]string{"TargetGroup": "api", "Target": "i-1"}},
		{key: "target/BytesOut", want: 20, kind: "counter"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			m, ok := got[tc.key]
			if !ok {
				t.Fatalf("%s not emitted", tc.key)
			}
			if math.Abs(m.Value-tc.want) > tc.want*tolerance+1e-12 || m.Kind != tc.kind {
				t.Errorf("%s = %v (%s), want %v (%s)", tc.key, m.Value, m.Kind, tc.want, tc.kind)
			}
			for k, v := range tc.dims {
				if m.Dimensions[k] != v {
					t.Errorf("%s dimension %s = %q, want %q", tc.key, k, m.Dimensions[k], v)
				}
			}
		})
	}
}
