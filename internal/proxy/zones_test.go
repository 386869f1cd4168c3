package proxy

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/route"
)

// hosts is a zone's HealthyHostCount and UnHealthyHostCount.
type hosts struct{ healthy, unhealthy int64 }

// zoneHosts returns the host counts of group tg behind lb by zone.
func zoneHosts(s *lbmetrics.Snapshot, lb, tg string) map[string]hosts {
	out := map[string]hosts{}
	for _, z := range s.Zones {
		if z.LoadBalancer == lb && z.TargetGroup == tg {
			out[z.AvailabilityZone] = hosts{z.HealthyHostCount, z.UnHealthyHostCount}
		}
	}
	return out
}

// zoneTarget is an unreachable target (no request is sent) in zone.
func zoneTarget(id, zone string, port int) Target {
	return Target{ID: id, Addr: "127.0.0.1:" + strconv.Itoa(port), Weight: 1, Zone: zone}
}

func TestZoneHostCounts(t *testing.T) {
	tests := []struct {
		name    string
		lbZones []string
		// before is a configuration of the group applied first.
		before  []Target
		targets []Target
		healthy map[string]bool
		want    map[string]hosts
		// wantGroup is the group's own host counts.
		wantGroup hosts
	}{
		{
			name:    "two zones, one unhealthy, one draining, a zone of the load balancer without targets",
			lbZones: []string{"local-1a", "local-1b", "local-1c"},
			targets: []Target{
				zoneTarget("a", "local-1a", 1), zoneTarget("b", "local-1a", 2),
				zoneTarget("c", "local-1b", 3), {ID: "d", Addr: "127.0.0.1:4", Weight: 1, Zone: "local-1b", Draining: true},
			},
			healthy:   map[string]bool{"a": true, "b": false, "c": true, "d": true},
			want:      map[string]hosts{"local-1a": {1, 1}, "local-1b": {1, 0}, "local-1c": {0, 0}},
			wantGroup: hosts{2, 1},
		},
		{
			name:      "targets without a zone count in the group only",
			lbZones:   []string{"local-1a"},
			targets:   []Target{zoneTarget("a", "local-1a", 1), zoneTarget("b", "", 2)},
			healthy:   map[string]bool{"a": true, "b": true},
			want:      map[string]hosts{"local-1a": {1, 0}},
			wantGroup: hosts{2, 0},
		},
		{
			name:      "a zone of the targets that is not the load balancer's",
			lbZones:   []string{"local-1a"},
			targets:   []Target{zoneTarget("a", "local-1b", 1)},
			healthy:   map[string]bool{"a": true},
			want:      map[string]hosts{"local-1a": {0, 0}, "local-1b": {1, 0}},
			wantGroup: hosts{1, 0},
		},
		{
			name:      "a zone its targets left reports zero",
			before:    []Target{zoneTarget("a", "local-1c", 1)},
			targets:   []Target{zoneTarget("b", "local-1a", 2)},
			healthy:   map[string]bool{"a": true, "b": false},
			want:      map[string]hosts{"local-1a": {0, 1}, "local-1c": {0, 0}},
			wantGroup: hosts{0, 1},
		},
		{
			name:      "no zones at all",
			targets:   []Target{zoneTarget("a", "", 1)},
			healthy:   map[string]bool{"a": true},
			want:      map[string]hosts{},
			wantGroup: hosts{1, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := func(ts []Target) Config {
				c := simpleConfig(TargetGroup{Name: "tg", Targets: ts})
				c.LoadBalancers[0].Zones = tc.lbZones
				return c
			}
			first := tc.targets
			if tc.before != nil {
				first = tc.before
			}
			h := newHarness(t, cfg(first), Options{})
			if tc.before != nil {
				c := cfg(tc.targets)
				c.LoadBalancers[0].Listeners[0].Port = h.port
				if err := h.p.Update(c); err != nil {
					t.Fatal(err)
				}
			}
			for id, ok := range tc.healthy {
				h.p.SetHealthy("tg", id, ok, time.Now())
			}
			s := h.p.MetricsSnapshot(nil)
			if got := zoneHosts(s, "lb", "tg"); !maps.Equal(got, tc.want) {
				t.Errorf("host counts by zone %v, want %v", got, tc.want)
			}
			if g := s.Groups[0]; (hosts{g.HealthyHostCount, g.UnHealthyHostCount}) != tc.wantGroup {
				t.Errorf("group host counts %d/%d, want %v", g.HealthyHostCount, g.UnHealthyHostCount, tc.wantGroup)
			}
			// The reused snapshot reads the same.
			if got := zoneHosts(h.p.MetricsSnapshot(s), "lb", "tg"); !maps.Equal(got, tc.want) {
				t.Errorf("reused snapshot: host counts by zone %v, want %v", got, tc.want)
			}
		})
	}
}

// TestZoneRequestCounts sends requests to targets in two zones and one
// without a zone, and one request to a group whose only target refuses
// connections: each zone counts what its targets served, and the failed
// request counts in its target's zone.
func TestZoneRequestCounts(t *testing.T) {
	a := newBackend(t, "a", nil)
	b := newBackend(t, "b", nil)
	c := newBackend(t, "c", nil)
	ts := targetsOf(a, b, c)
	ts[0].Zone, ts[1].Zone = "local-1a", "local-1b"
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: ts})
	cfg.LoadBalancers[0].Zones = []string{"local-1a", "local-1b", "local-1c"}
	cfg.TargetGroups = append(cfg.TargetGroups, TargetGroup{Name: "dead", Targets: []Target{zoneTarget("x", "local-1c", freePort(t))}})
	dead := freePort(t)
	cfg.LoadBalancers = append(cfg.LoadBalancers, LoadBalancer{Name: "lb2", Address: "127.0.0.1",
		Listeners: []Listener{{Port: dead, DefaultActions: []route.Action{route.ForwardTo("dead")}}}})
	h := newHarness(t, cfg, Options{})
	for _, id := range []string{"a", "b", "c"} {
		h.p.SetHealthy("tg", id, true, time.Now())
	}
	cl := newClient(t)
	const n = 30
	for range n {
		if resp, _ := get(t, cl, h.url+"/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET: %d", resp.StatusCode)
		}
	}
	if resp, _ := get(t, cl, fmt.Sprintf("http://127.0.0.1:%d/", dead)); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("GET to a refusing target: %d, want 502", resp.StatusCode)
	}

	// The failed request counts once it has ended, after its response.
	var s *lbmetrics.Snapshot
	waitFor(t, 3*time.Second, "the failed request counted", func() bool {
		s = h.p.MetricsSnapshot(s)
		for _, z := range s.Zones {
			if z.TargetGroup == "dead" && z.Counters[lbmetrics.GroupRequestCount] > 0 {
				return true
			}
		}
		return false
	})
	zone := func(lb, tg, z string) lbmetrics.GroupSnapshot {
		for _, g := range s.Zones {
			if g.LoadBalancer == lb && g.TargetGroup == tg && g.AvailabilityZone == z {
				return g
			}
		}
		t.Fatalf("no zone %s of %s behind %s in %+v", z, tg, lb, s.Zones)
		return lbmetrics.GroupSnapshot{}
	}
	tests := []struct {
		name                                   string
		got                                    lbmetrics.GroupSnapshot
		requests, ok2xx, connErrors, rtSamples int64
	}{
		{name: "local-1a serves a's requests", got: zone("lb", "tg", "local-1a"), requests: int64(a.count()), ok2xx: int64(a.count()), rtSamples: int64(a.count())},
		{name: "local-1b serves b's requests", got: zone("lb", "tg", "local-1b"), requests: int64(b.count()), ok2xx: int64(b.count()), rtSamples: int64(b.count())},
		{name: "local-1c has no target of tg", got: zone("lb", "tg", "local-1c")},
		// One request, three attempts to connect.
		{name: "a request without a response counts in its target's zone", got: zone("lb2", "dead", "local-1c"), requests: 1, connErrors: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.got.Counters
			if c[lbmetrics.GroupRequestCount] != tc.requests || c[lbmetrics.GroupTarget2XXCount] != tc.ok2xx ||
				c[lbmetrics.GroupTargetConnectionErrorCount] != tc.connErrors || tc.got.ResponseTimeCount != tc.rtSamples {
				t.Errorf("RequestCount %d, 2XX %d, TargetConnectionErrorCount %d, TargetResponseTime samples %d; want %d, %d, %d, %d",
					c[lbmetrics.GroupRequestCount], c[lbmetrics.GroupTarget2XXCount], c[lbmetrics.GroupTargetConnectionErrorCount], tc.got.ResponseTimeCount,
					tc.requests, tc.ok2xx, tc.connErrors, tc.rtSamples)
			}
		})
	}
	if a.count() == 0 || b.count() == 0 || c.count() == 0 || a.count()+b.count()+c.count() != n {
		t.Errorf("targets served %d, %d, %d of %d requests: want all three to serve", a.count(), b.count(), c.count(), n)
	}
	if g := s.Groups; g[0].TargetGroup != "tg" || g[0].Counters[lbmetrics.GroupRequestCount] != n {
		t.Errorf("group tg counted %+v, want %d requests (the zoneless target's too)", g, n)
	}
}
