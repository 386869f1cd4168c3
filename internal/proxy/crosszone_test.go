package proxy

import (
	"math"
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestCrossZone sends N requests to a load balancer in two zones with one
// target in local-1a and three in local-1b (plus, in some cases, one
// without a zone) and checks each target's share: cross-zone on spreads
// over all targets, off gives each zone node half the requests to share
// among its own zone's targets.
func TestCrossZone(t *testing.T) {
	const n = 600
	tests := []struct {
		name      string
		off       bool
		algorithm string
		lbZones   []string
		// zoneless adds target "z" without a zone.
		zoneless bool
		// unhealthy targets are marked so; removed ones are not
		// registered.
		unhealthy, removed []string
		// want is each target's expected share of the requests.
		want map[string]float64
	}{
		{
			name: "on: every target gets a quarter",
			want: map[string]float64{"a1": 1.0 / 4, "b1": 1.0 / 4, "b2": 1.0 / 4, "b3": 1.0 / 4},
		},
		{
			name: "off: the zone a target gets half, each zone b target a sixth",
			off:  true,
			want: map[string]float64{"a1": 1.0 / 2, "b1": 1.0 / 6, "b2": 1.0 / 6, "b3": 1.0 / 6},
		},
		{
			name: "off with least outstanding requests: the same shares", off: true, algorithm: "least_outstanding_requests",
			want: map[string]float64{"a1": 1.0 / 2, "b1": 1.0 / 6, "b2": 1.0 / 6, "b3": 1.0 / 6},
		},
		{
			name: "off with weighted random: the same shares", off: true, algorithm: "weighted_random",
			want: map[string]float64{"a1": 1.0 / 2, "b1": 1.0 / 6, "b2": 1.0 / 6, "b3": 1.0 / 6},
		},
		{
			name: "off, zone a's only target unhealthy: zone b takes everything", off: true, unhealthy: []string{"a1"},
			want: map[string]float64{"a1": 0, "b1": 1.0 / 3, "b2": 1.0 / 3, "b3": 1.0 / 3},
		},
		{
			name: "off, zone a's only target deregistered: zone b takes everything", off: true, removed: []string{"a1"},
			want: map[string]float64{"b1": 1.0 / 3, "b2": 1.0 / 3, "b3": 1.0 / 3},
		},
		{
			name: "off, a target without a zone serves both zone nodes", off: true, zoneless: true,
			// Node a: a1 and z; node b: b1–b3 and z.
			want: map[string]float64{"a1": 1.0 / 4, "z": 1.0/4 + 1.0/8, "b1": 1.0 / 8, "b2": 1.0 / 8, "b3": 1.0 / 8},
		},
		{
			name: "off, a load balancer without zones balances across zones", off: true, lbZones: []string{},
			want: map[string]float64{"a1": 1.0 / 4, "b1": 1.0 / 4, "b2": 1.0 / 4, "b3": 1.0 / 4},
		},
		{
			name: "off, a zone of the load balancer without targets gets no share", off: true, lbZones: []string{"local-1a", "local-1b", "local-1c"},
			want: map[string]float64{"a1": 1.0 / 2, "b1": 1.0 / 6, "b2": 1.0 / 6, "b3": 1.0 / 6},
		},
		{
			name: "off, every target unhealthy: the group fails open to all", off: true, unhealthy: []string{"a1", "b1", "b2", "b3"},
			want: map[string]float64{"a1": 1.0 / 4, "b1": 1.0 / 4, "b2": 1.0 / 4, "b3": 1.0 / 4},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			zones := map[string]string{"a1": "local-1a", "b1": "local-1b", "b2": "local-1b", "b3": "local-1b"}
			if tc.zoneless {
				zones["z"] = ""
			}
			backends := map[string]*backend{}
			var targets []Target
			for _, id := range []string{"a1", "b1", "b2", "b3", "z"} {
				zone, ok := zones[id]
				if !ok {
					continue
				}
				b := newBackend(t, id, nil)
				backends[id] = b
				if slices.Contains(tc.removed, id) {
					continue
				}
				tg := targetsOf(b)[0]
				tg.Zone = zone
				targets = append(targets, tg)
			}
			cfg := simpleConfig(TargetGroup{Name: "tg", Algorithm: tc.algorithm, CrossZoneOff: tc.off, Targets: targets})
			cfg.LoadBalancers[0].Zones = []string{"local-1a", "local-1b"}
			if tc.lbZones != nil {
				cfg.LoadBalancers[0].Zones = tc.lbZones
			}
			h := newHarness(t, cfg, Options{})
			for _, tg := range targets {
				h.p.SetHealthy("tg", tg.ID, !slices.Contains(tc.unhealthy, tg.ID), time.Now())
			}
			cl := newClient(t)
			for i := range n {
				if resp, body := get(t, cl, h.url+"/"); resp.StatusCode != http.StatusOK {
					t.Fatalf("request %d: status %d (%s), want 200", i, resp.StatusCode, body)
				}
			}
			total := 0
			for id, b := range backends {
				got := b.count()
				total += got
				want := tc.want[id] * n
				// ±40 % of the expected share; a target expected
				// to get nothing must get nothing.
				if math.Abs(float64(got)-want) > 0.4*want || (want == 0 && got != 0) {
					t.Errorf("target %s (zone %q) served %d of %d requests, want about %.0f", id, zones[id], got, n, want)
				}
			}
			if total != n {
				t.Errorf("targets served %d requests, want %d", total, n)
			}
		})
	}
}

// TestCrossZoneOffSticky checks that with cross-zone off a sticky target
// in one zone keeps every request carrying its cookie, whichever zone
// node the request is assigned to.
func TestCrossZoneOffSticky(t *testing.T) {
	a := newBackend(t, "a1", nil)
	b := newBackend(t, "b1", nil)
	ts := targetsOf(a, b)
	ts[0].Zone, ts[1].Zone = "local-1a", "local-1b"
	cfg := simpleConfig(TargetGroup{Name: "tg", CrossZoneOff: true, Targets: ts,
		Stickiness: Stickiness{Enabled: true, Type: "lb_cookie", Duration: time.Hour}})
	cfg.LoadBalancers[0].Zones = []string{"local-1a", "local-1b"}
	h := newHarness(t, cfg, Options{})
	h.p.SetHealthy("tg", "a1", true, time.Now())
	h.p.SetHealthy("tg", "b1", true, time.Now())
	cl := newClient(t)
	// Find a response from a1 and keep its cookie.
	var cookie string
	for range 10 {
		resp, _ := get(t, cl, h.url+"/")
		if resp.Header.Get("X-Backend") != "a1" {
			continue
		}
		for _, c := range resp.Cookies() {
			if c.Name == "AWSALB" {
				cookie = c.Value
			}
		}
		break
	}
	if cookie == "" {
		t.Fatal("no response from a1 with an AWSALB cookie in 10 requests")
	}
	before := b.count()
	const n = 40
	for i := range n {
		resp, body := get(t, cl, h.url+"/", "Cookie", "AWSALB="+cookie)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Backend") != "a1" {
			t.Fatalf("sticky request %d: status %d from %q (%s), want 200 from a1", i, resp.StatusCode, resp.Header.Get("X-Backend"), body)
		}
	}
	if got := b.count(); got != before {
		t.Errorf("b1 served %d sticky requests, want 0", got-before)
	}
}

// TestCrossZoneOffHealthChanges follows zone local-1a's only target as it
// turns unhealthy and healthy again: its zone node leaves and rejoins the
// rotation, and no request fails.
func TestCrossZoneOffHealthChanges(t *testing.T) {
	const n = 300
	names := []string{"a1", "b1", "b2", "b3"}
	backends := map[string]*backend{}
	var ts []Target
	for _, id := range names {
		b := newBackend(t, id, nil)
		backends[id] = b
		tg := targetsOf(b)[0]
		tg.Zone = "local-1b"
		if id == "a1" {
			tg.Zone = "local-1a"
		}
		ts = append(ts, tg)
	}
	cfg := simpleConfig(TargetGroup{Name: "tg", CrossZoneOff: true, Targets: ts})
	cfg.LoadBalancers[0].Zones = []string{"local-1a", "local-1b"}
	h := newHarness(t, cfg, Options{})
	for _, id := range names {
		h.p.SetHealthy("tg", id, true, time.Now())
	}
	cl := newClient(t)
	phases := []struct {
		name      string
		a1Healthy bool
		want      map[string]float64
	}{
		{name: "all healthy", a1Healthy: true, want: map[string]float64{"a1": 1.0 / 2, "b1": 1.0 / 6, "b2": 1.0 / 6, "b3": 1.0 / 6}},
		{name: "a1 unhealthy", want: map[string]float64{"a1": 0, "b1": 1.0 / 3, "b2": 1.0 / 3, "b3": 1.0 / 3}},
		{name: "a1 healthy again", a1Healthy: true, want: map[string]float64{"a1": 1.0 / 2, "b1": 1.0 / 6, "b2": 1.0 / 6, "b3": 1.0 / 6}},
	}
	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			h.p.SetHealthy("tg", "a1", ph.a1Healthy, time.Now())
			before := map[string]int{}
			for id, b := range backends {
				before[id] = b.count()
			}
			for i := range n {
				if resp, body := get(t, cl, h.url+"/"); resp.StatusCode != http.StatusOK {
					t.Fatalf("request %d: status %d (%s), want 200", i, resp.StatusCode, body)
				}
			}
			for id, b := range backends {
				got, want := b.count()-before[id], ph.want[id]*n
				if math.Abs(float64(got)-want) > 0.4*want || (want == 0 && got != 0) {
					t.Errorf("target %s served %d of %d requests, want about %.0f", id, got, n, want)
				}
			}
		})
	}
}

// TestCrossZoneOffDeadTarget has zone local-1a's only target refuse
// connections while still counted healthy (before a health check
// notices): requests assigned to its zone node are retried in the other
// zone instead of failing.
func TestCrossZoneOffDeadTarget(t *testing.T) {
	b1 := newBackend(t, "b1", nil)
	b2 := newBackend(t, "b2", nil)
	ts := append([]Target{zoneTarget("a1", "local-1a", freePort(t))}, targetsOf(b1, b2)...)
	ts[1].Zone, ts[2].Zone = "local-1b", "local-1b"
	cfg := simpleConfig(TargetGroup{Name: "tg", CrossZoneOff: true, Targets: ts})
	cfg.LoadBalancers[0].Zones = []string{"local-1a", "local-1b"}
	h := newHarness(t, cfg, Options{})
	for _, tg := range ts {
		h.p.SetHealthy("tg", tg.ID, true, time.Now())
	}
	cl := newClient(t)
	const n = 40
	for i := range n {
		resp, body := get(t, cl, h.url+"/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d (%s), want 200 from zone local-1b", i, resp.StatusCode, body)
		}
	}
	if got := b1.count() + b2.count(); got != n {
		t.Errorf("zone local-1b served %d of %d requests, want all", got, n)
	}
}
