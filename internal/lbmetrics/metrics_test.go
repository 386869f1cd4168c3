package lbmetrics

import (
	"math"
	"testing"
	"time"
)

func collect(emit func(func(Metric))) map[string]Metric {
	out := map[string]Metric{}
	emit(func(m Metric) {
		k := m.Name
		if s := m.Dimensions["Statistic"]; s != "" {
			k += "/" + s
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
	if sum := got["TargetResponseTime/Sum"].Value; math.Abs(sum-2.3) > 1e-9 {
		t.Errorf("Sum = %v, want 2.3", sum)
	}
	for stat, want := range map[string]float64{"p50": 0.003, "p90": 0.003, "p99": 0.003} {
		if v := got["TargetResponseTime/"+stat].Value; relErr(v, want) > tolerance {
			t.Errorf("%s = %v, want %v within %v", stat, v, want, RelativeAccuracy)
		}
	}
}

func TestEmitHostCounts(t *testing.T) {
	got := collect(func(fn func(Metric)) { EmitHostCounts("web", "api", 3, 1, fn) })
	if got["HealthyHostCount"].Value != 3 || got["UnHealthyHostCount"].Value != 1 || got["HealthyHostCount"].Dimensions["TargetGroup"] != "api" {
		t.Errorf("host counts = %+v", got)
	}
}
