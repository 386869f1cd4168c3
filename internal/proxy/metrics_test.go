package proxy

import (
	"testing"
	"time"
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
