package lbmetrics

import (
	"reflect"
	"testing"
	"time"
)

// zoneSnap is groupSnap of the group's targets in one zone.
func zoneSnap(lb, tg, zone string, requests, healthy, unhealthy int64, buckets ...Bucket) GroupSnapshot {
	g := groupSnap(lb, tg, requests, healthy, buckets...)
	g.AvailabilityZone = zone
	g.UnHealthyHostCount = unhealthy
	return g
}

func TestDeltaZones(t *testing.T) {
	prev := &Snapshot{Taken: t0, Epoch: "e", Zones: []GroupSnapshot{
		zoneSnap("lb", "tg", "local-1a", 10, 2, 0, Bucket{-300, 10}),
		zoneSnap("lb", "tg", "local-1b", 4, 1, 1, Bucket{-200, 4}),
		zoneSnap("lb", "tg", "local-1c", 0, 0, 0),
	}}
	tests := []struct {
		name string
		prev *Snapshot
		cur  Snapshot
		want []GroupInterval
	}{
		{
			name: "each zone against the same zone",
			prev: prev,
			cur: Snapshot{Taken: t0.Add(time.Second), Epoch: "e", Zones: []GroupSnapshot{
				zoneSnap("lb", "tg", "local-1a", 13, 2, 0, Bucket{-300, 13}),
				zoneSnap("lb", "tg", "local-1b", 4, 0, 2, Bucket{-200, 4}),
				zoneSnap("lb", "tg", "local-1c", 0, 0, 0),
			}},
			want: []GroupInterval{
				{LoadBalancer: "lb", TargetGroup: "tg", AvailabilityZone: "local-1a", Counters: groupSnap("", "", 3, 0).Counters,
					ResponseTimeCount: 3, ResponseTimeSum: 0.003, ResponseTimeBuckets: []Bucket{{-300, 3}}, HealthyHostCount: 2},
				{LoadBalancer: "lb", TargetGroup: "tg", AvailabilityZone: "local-1b", UnHealthyHostCount: 2},
				{LoadBalancer: "lb", TargetGroup: "tg", AvailabilityZone: "local-1c"},
			},
		},
		{
			name: "a zone new in cur counts from zero",
			prev: prev,
			cur: Snapshot{Taken: t0.Add(time.Second), Epoch: "e", Zones: []GroupSnapshot{
				zoneSnap("lb", "tg", "local-1d", 2, 1, 0, Bucket{0, 2}),
			}},
			want: []GroupInterval{
				{LoadBalancer: "lb", TargetGroup: "tg", AvailabilityZone: "local-1d", Counters: groupSnap("", "", 2, 0).Counters,
					ResponseTimeCount: 2, ResponseTimeSum: 0.002, ResponseTimeBuckets: []Bucket{{0, 2}}, HealthyHostCount: 1},
			},
		},
		{
			name: "a snapshot without zones has none",
			prev: prev,
			cur:  Snapshot{Taken: t0.Add(time.Second), Epoch: "e"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Delta(tc.prev, &tc.cur).Zones
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("zones\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestZoneIntervalMetrics(t *testing.T) {
	z := GroupInterval{AvailabilityZone: "local-1a", Counters: groupSnap("", "", 6, 0).Counters, HealthyHostCount: 2, UnHealthyHostCount: 1}
	got := map[string]float64{}
	for _, v := range z.Metrics() {
		got[v.Name] = v.Value
	}
	want := map[string]float64{"RequestCount": 6, "HTTPCode_Target_2XX_Count": 6, "TargetConnectionErrorCount": 0,
		"HTTPCode_Target_3XX_Count": 0, "HTTPCode_Target_4XX_Count": 0, "HTTPCode_Target_5XX_Count": 0,
		"HealthyHostCount": 2, "UnHealthyHostCount": 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("zone metrics %v, want %v (no RequestCountPerTarget: AWS has none per zone)", got, want)
	}
}

func TestEmitZones(t *testing.T) {
	s := &Snapshot{Zones: []GroupSnapshot{
		zoneSnap("web", "api", "local-1a", 5, 2, 1, Bucket{int32(BucketIndex(0.003)), 5}),
		zoneSnap("web", "api", "local-1c", 0, 0, 0),
	}}
	type key struct{ zone, name, stat string }
	got := map[key]Metric{}
	s.Emit(func(m Metric) {
		if m.Dimensions["LoadBalancer"] != "web" || m.Dimensions["TargetGroup"] != "api" {
			t.Errorf("%s dimensions %v, want LoadBalancer=web TargetGroup=api", m.Name, m.Dimensions)
		}
		got[key{m.Dimensions["AvailabilityZone"], m.Name, m.Dimensions["Statistic"]}] = m
	})
	tests := []struct {
		key  key
		want float64
		kind string
	}{
		{key{"local-1a", "RequestCount", ""}, 5, "counter"},
		{key{"local-1a", "HealthyHostCount", ""}, 2, "gauge"},
		{key{"local-1a", "UnHealthyHostCount", ""}, 1, "gauge"},
		{key{"local-1a", "TargetResponseTime", "SampleCount"}, 5, "counter"},
		{key{"local-1c", "HealthyHostCount", ""}, 0, "gauge"},
		{key{"local-1c", "UnHealthyHostCount", ""}, 0, "gauge"},
	}
	for _, tc := range tests {
		m, ok := got[tc.key]
		if !ok {
			t.Errorf("%+v not emitted", tc.key)
			continue
		}
		if m.Value != tc.want || m.Kind != tc.kind {
			t.Errorf("%+v = %v (%s), want %v (%s)", tc.key, m.Value, m.Kind, tc.want, tc.kind)
		}
	}
	if _, ok := got[key{"", "HealthyHostCount", ""}]; ok {
		t.Error("a zone was emitted without its AvailabilityZone dimension")
	}
}
