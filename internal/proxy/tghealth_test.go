package proxy

import (
	"maps"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"
)

// shares sends n requests through h and checks each backend's share of
// them against want (±40 %; a backend expected to get nothing must get
// nothing), and that every request was answered 200.
func shares(t *testing.T, h *harness, backends map[string]*backend, n int, want map[string]float64) {
	t.Helper()
	before := map[string]int{}
	for id, b := range backends {
		before[id] = b.count()
	}
	cl := newClient(t)
	for i := range n {
		if resp, body := get(t, cl, h.url+"/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d (%s), want 200", i, resp.StatusCode, body)
		}
	}
	total := 0
	for _, id := range slices.Sorted(maps.Keys(backends)) {
		got := backends[id].count() - before[id]
		total += got
		w := want[id] * float64(n)
		if math.Abs(float64(got)-w) > 0.4*w || (w == 0 && got != 0) {
			t.Errorf("target %s served %d of %d requests, want about %.0f", id, got, n, w)
		}
	}
	if total != n {
		t.Errorf("targets served %d requests, want %d", total, n)
	}
}

// TestUnhealthyStateRouting checks target_group_health.unhealthy_state_routing:
// with fewer healthy targets than the count or the percentage (of the
// targets not draining, rounded up) the group fails open to every target
// that is not draining; at the threshold only the healthy ones serve.
func TestUnhealthyStateRouting(t *testing.T) {
	const n = 360
	tests := []struct {
		name           string
		count, percent int
		ids            []string
		healthy        []string
		draining       []string
		want           map[string]float64
	}{
		{name: "count 2, 1 of 3 healthy: fails open to all 3", count: 2,
			ids: []string{"t1", "t2", "t3"}, healthy: []string{"t1"},
			want: map[string]float64{"t1": 1.0 / 3, "t2": 1.0 / 3, "t3": 1.0 / 3}},
		{name: "count 2, 2 of 3 healthy: only the healthy ones", count: 2,
			ids: []string{"t1", "t2", "t3"}, healthy: []string{"t1", "t2"},
			want: map[string]float64{"t1": 1.0 / 2, "t2": 1.0 / 2, "t3": 0}},
		{name: "50 %, 1 of 4 healthy: fails open to all 4", percent: 50,
			ids: []string{"t1", "t2", "t3", "t4"}, healthy: []string{"t1"},
			want: map[string]float64{"t1": 1.0 / 4, "t2": 1.0 / 4, "t3": 1.0 / 4, "t4": 1.0 / 4}},
		{name: "50 %, 2 of 4 healthy: only the healthy ones", percent: 50,
			ids: []string{"t1", "t2", "t3", "t4"}, healthy: []string{"t1", "t2"},
			want: map[string]float64{"t1": 1.0 / 2, "t2": 1.0 / 2, "t3": 0, "t4": 0}},
		{name: "51 % of 4 rounds up to 3: 2 healthy fail open", percent: 51,
			ids: []string{"t1", "t2", "t3", "t4"}, healthy: []string{"t1", "t2"},
			want: map[string]float64{"t1": 1.0 / 4, "t2": 1.0 / 4, "t3": 1.0 / 4, "t4": 1.0 / 4}},
		{name: "count 3 and 50 %, 2 of 4 healthy: the count is not met, fails open", count: 3, percent: 50,
			ids: []string{"t1", "t2", "t3", "t4"}, healthy: []string{"t1", "t2"},
			want: map[string]float64{"t1": 1.0 / 4, "t2": 1.0 / 4, "t3": 1.0 / 4, "t4": 1.0 / 4}},
		{name: "count 1 and 75 %, 2 of 4 healthy: the percentage is not met, fails open", count: 1, percent: 75,
			ids: []string{"t1", "t2", "t3", "t4"}, healthy: []string{"t1", "t2"},
			want: map[string]float64{"t1": 1.0 / 4, "t2": 1.0 / 4, "t3": 1.0 / 4, "t4": 1.0 / 4}},
		{name: "60 % of the 3 not draining is 2: 2 healthy serve, the draining one gets nothing", percent: 60,
			ids: []string{"t1", "t2", "t3", "t4"}, healthy: []string{"t1", "t2", "t4"}, draining: []string{"t4"},
			want: map[string]float64{"t1": 1.0 / 2, "t2": 1.0 / 2, "t3": 0, "t4": 0}},
		{name: "60 %, 1 of the 3 not draining healthy: fails open, not to the draining one", percent: 60,
			ids: []string{"t1", "t2", "t3", "t4"}, healthy: []string{"t1"}, draining: []string{"t4"},
			want: map[string]float64{"t1": 1.0 / 3, "t2": 1.0 / 3, "t3": 1.0 / 3, "t4": 0}},
		{name: "both off, none healthy: still fails open",
			ids:  []string{"t1", "t2"},
			want: map[string]float64{"t1": 1.0 / 2, "t2": 1.0 / 2}},
		{name: "both off, 1 of 2 healthy: only the healthy one",
			ids: []string{"t1", "t2"}, healthy: []string{"t1"},
			want: map[string]float64{"t1": 1, "t2": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			backends := map[string]*backend{}
			var ts []Target
			for _, id := range tc.ids {
				b := newBackend(t, id, nil)
				backends[id] = b
				tg := targetsOf(b)[0]
				tg.Draining = slices.Contains(tc.draining, id)
				ts = append(ts, tg)
			}
			cfg := simpleConfig(TargetGroup{Name: "tg", Targets: ts, FailOpenMinCount: tc.count, FailOpenMinPercent: tc.percent})
			h := newHarness(t, cfg, Options{})
			for _, id := range tc.ids {
				h.p.SetHealthy("tg", id, slices.Contains(tc.healthy, id), time.Now())
			}
			shares(t, h, backends, n, tc.want)
		})
	}
}

// TestUnhealthyStateRoutingHealthChanges follows a group with count 2 as
// its targets' health changes: the threshold is evaluated again on each
// change, so the group fails open and closes again.
func TestUnhealthyStateRoutingHealthChanges(t *testing.T) {
	const n = 240
	ids := []string{"t1", "t2", "t3"}
	backends := map[string]*backend{}
	var ts []Target
	for _, id := range ids {
		b := newBackend(t, id, nil)
		backends[id] = b
		ts = append(ts, targetsOf(b)...)
	}
	h := newHarness(t, simpleConfig(TargetGroup{Name: "tg", Targets: ts, FailOpenMinCount: 2}), Options{})
	phases := []struct {
		name    string
		healthy []string
		want    map[string]float64
	}{
		{name: "2 healthy", healthy: []string{"t1", "t2"}, want: map[string]float64{"t1": 1.0 / 2, "t2": 1.0 / 2, "t3": 0}},
		{name: "t2 unhealthy: fails open", healthy: []string{"t1"}, want: map[string]float64{"t1": 1.0 / 3, "t2": 1.0 / 3, "t3": 1.0 / 3}},
		{name: "t3 healthy: closes again", healthy: []string{"t1", "t3"}, want: map[string]float64{"t1": 1.0 / 2, "t2": 0, "t3": 1.0 / 2}},
	}
	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			for _, id := range ids {
				h.p.SetHealthy("tg", id, slices.Contains(ph.healthy, id), time.Now())
			}
			shares(t, h, backends, n, ph.want)
		})
	}
}

// TestDNSFailover checks target_group_health.dns_failover with cross-zone
// off: a zone node whose healthy targets miss the count or the
// percentage (of its targets not draining) gets no requests and the
// other zone's node takes them all; when every zone misses it, every
// zone serves.
func TestDNSFailover(t *testing.T) {
	const n = 480
	tests := []struct {
		name           string
		count, percent int
		// zones maps each target to its zone.
		zones   map[string]string
		healthy []string
		want    map[string]float64
	}{
		{name: "count 2, zone a 1 healthy, zone b 2: zone b takes everything", count: 2,
			zones:   map[string]string{"a1": "local-1a", "b1": "local-1b", "b2": "local-1b"},
			healthy: []string{"a1", "b1", "b2"},
			want:    map[string]float64{"a1": 0, "b1": 1.0 / 2, "b2": 1.0 / 2}},
		{name: "count 2, every zone below: both zones serve as before", count: 2,
			zones:   map[string]string{"a1": "local-1a", "b1": "local-1b", "b2": "local-1b"},
			healthy: []string{"a1", "b1"},
			want:    map[string]float64{"a1": 1.0 / 2, "b1": 1.0 / 2, "b2": 0}},
		{name: "count 1, zone a 1 healthy: both zones serve", count: 1,
			zones:   map[string]string{"a1": "local-1a", "b1": "local-1b", "b2": "local-1b"},
			healthy: []string{"a1", "b1", "b2"},
			want:    map[string]float64{"a1": 1.0 / 2, "b1": 1.0 / 4, "b2": 1.0 / 4}},
		{name: "100 %, zone a 1 of 2 healthy: zone b takes everything", percent: 100,
			zones:   map[string]string{"a1": "local-1a", "a2": "local-1a", "b1": "local-1b", "b2": "local-1b"},
			healthy: []string{"a1", "b1", "b2"},
			want:    map[string]float64{"a1": 0, "a2": 0, "b1": 1.0 / 2, "b2": 1.0 / 2}},
		{name: "50 %, zone a 1 of 2 healthy: both zones serve", percent: 50,
			zones:   map[string]string{"a1": "local-1a", "a2": "local-1a", "b1": "local-1b", "b2": "local-1b"},
			healthy: []string{"a1", "b1", "b2"},
			want:    map[string]float64{"a1": 1.0 / 2, "a2": 0, "b1": 1.0 / 4, "b2": 1.0 / 4}},
		{name: "count 1 and 100 %: zone a misses the percentage", count: 1, percent: 100,
			zones:   map[string]string{"a1": "local-1a", "a2": "local-1a", "b1": "local-1b"},
			healthy: []string{"a1", "b1"},
			want:    map[string]float64{"a1": 0, "a2": 0, "b1": 1}},
		{name: "both off: a zone with 1 healthy target stays in",
			zones:   map[string]string{"a1": "local-1a", "b1": "local-1b", "b2": "local-1b", "b3": "local-1b"},
			healthy: []string{"a1", "b1", "b2", "b3"},
			want:    map[string]float64{"a1": 1.0 / 2, "b1": 1.0 / 6, "b2": 1.0 / 6, "b3": 1.0 / 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			backends := map[string]*backend{}
			var ts []Target
			for _, id := range slices.Sorted(maps.Keys(tc.zones)) {
				b := newBackend(t, id, nil)
				backends[id] = b
				tg := targetsOf(b)[0]
				tg.Zone = tc.zones[id]
				ts = append(ts, tg)
			}
			cfg := simpleConfig(TargetGroup{Name: "tg", CrossZoneOff: true, Targets: ts,
				DNSFailoverMinCount: tc.count, DNSFailoverMinPercent: tc.percent})
			cfg.LoadBalancers[0].Zones = []string{"local-1a", "local-1b"}
			h := newHarness(t, cfg, Options{})
			for _, tg := range ts {
				h.p.SetHealthy("tg", tg.ID, slices.Contains(tc.healthy, tg.ID), time.Now())
			}
			shares(t, h, backends, n, tc.want)
		})
	}
}

// TestThresholdConfig checks that out-of-range thresholds are refused
// with the field, the value and the fix.
func TestThresholdConfig(t *testing.T) {
	tests := []struct {
		name string
		tg   TargetGroup
		want string
	}{
		{name: "negative count", tg: TargetGroup{Name: "tg", FailOpenMinCount: -1},
			want: "targetGroups[0] (tg).failOpenMinCount -1 is out of range: use 0 (off) or more targets"},
		{name: "percentage above 100", tg: TargetGroup{Name: "tg", DNSFailoverMinPercent: 101},
			want: "targetGroups[0] (tg).dnsFailoverMinPercent 101 is out of range: use 0 (off) to 100 percent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := simpleConfig(tc.tg).normalize()
			if err == nil || err.Error() != tc.want {
				t.Errorf("normalize: %v, want %q", err, tc.want)
			}
		})
	}
}
