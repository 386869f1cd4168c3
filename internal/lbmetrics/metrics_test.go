package lbmetrics

import (
	"testing"
	"time"
)

func collect(emit func(func(Metric))) map[string]Metric {
	out := map[string]Metric{}
	emit(func(m Metric) {
		k := m.Name
		if s := m.Dimensions["Statistic"]; s != "" {
			k += "/" + s
			if le := m.Dimensions["Le"]; le != "" {
				k += "/" + le
			}
		}
		out[k] = m
	})
	return out
}

func TestLBStats(t *testing.T) {
	s := NewLBStats()
	for _, st := range []int{502, 503, 404, 301, 502} {
		s.CountELB(st)
	}
	got := collect(func(fn func(Metric)) { s.Emit("web", fn) })
	for name, want := range map[string]float64{
		"HTTPCode_ELB_5XX_Count": 3, "HTTPCode_ELB_502_Count": 2, "HTTPCode_ELB_503_Count": 1,
		"HTTPCode_ELB_4XX_Count": 1, "HTTPCode_ELB_3XX_Count": 1, "RequestCount": 0,
	} {
		m, ok := got[name]
		if !ok || m.Value != want || m.Dimensions["LoadBalancer"] != "web" || m.Kind != "counter" {
			t.Errorf("%s = %+v, want value %v for LoadBalancer web", name, m, want)
		}
	}
}

func TestGroupStatsResponseTime(t *testing.T) {
	s := NewGroupStats()
	for i := 0; i < 100; i++ {
		s.CountTarget(200, 3*time.Millisecond)
	}
	s.CountTarget(503, 2*time.Second)
	got := collect(func(fn func(Metric)) { s.Emit("web", "api", fn) })
	if got["HTTPCode_Target_2XX_Count"].Value != 100 || got["HTTPCode_Target_5XX_Count"].Value != 1 {
		t.Errorf("status counts: 2XX %v, 5XX %v; want 100 and 1", got["HTTPCode_Target_2XX_Count"].Value, got["HTTPCode_Target_5XX_Count"].Value)
	}
	if n := got["TargetResponseTime/SampleCount"].Value; n != 101 {
		t.Errorf("SampleCount = %v, want 101", n)
	}
	if b := got["TargetResponseTime/Bucket/0.005"].Value; b != 100 {
		t.Errorf("bucket le 0.005 = %v, want 100 (cumulative)", b)
	}
	if p50 := got["TargetResponseTime/p50"].Value; p50 <= 0.0025 || p50 > 0.005 {
		t.Errorf("p50 = %v, want within the 2.5–5 ms bucket", p50)
	}
}

func TestEmitHostCounts(t *testing.T) {
	got := collect(func(fn func(Metric)) { EmitHostCounts("web", "api", 3, 1, fn) })
	if got["HealthyHostCount"].Value != 3 || got["UnHealthyHostCount"].Value != 1 || got["HealthyHostCount"].Dimensions["TargetGroup"] != "api" {
		t.Errorf("host counts = %+v", got)
	}
}
