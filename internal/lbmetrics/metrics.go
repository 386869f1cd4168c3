// Package lbmetrics holds a load balancer data plane's counters and gauges
// and reports them with CloudWatch's AWS/ApplicationELB names, units and
// dimensions. Counters are atomic and safe for concurrent use; they are
// cumulative from when the data plane started.
package lbmetrics

import (
	"sync/atomic"
	"time"
)

// Metric is one cumulative counter or gauge, named and dimensioned as in
// CloudWatch's AWS/ApplicationELB namespace.
type Metric struct {
	Name       string
	Dimensions map[string]string
	Value      float64
	// Unit is Count, Seconds or Bytes.
	Unit string
	// Kind is "counter" (cumulative since the proxy started) or "gauge".
	Kind string
}

// LBStats are a load balancer's counters. A data plane keeps one per load
// balancer for its lifetime, across configuration changes. Each field
// counts the metric Emit reports under the matching name (Requests is
// RequestCount, ELB5XX HTTPCode_ELB_5XX_Count, RejectedConns
// RejectedConnectionCount, and so on).
type LBStats struct {
	Requests, NewConns, ProcessedBytes, RuleEvaluations    atomic.Int64
	Fixed, Redirects, NonSticky                            atomic.Int64
	ELB4XX, ELB5XX, ELB500, ELB502, ELB503, ELB504, ELB3XX atomic.Int64
	DesyncNonCompliant, DroppedInvalidHeader               atomic.Int64
	ForwardedInvalidHeader, AccessLogDropped               atomic.Int64
	RejectedConns                                          atomic.Int64 // closed at accept or mid-head: the client IP's header-phase cap

	// ActiveConns is a gauge: the load balancer's open client
	// connections (ActiveConnectionCount adds its targets' connections).
	ActiveConns atomic.Int64
}

// NewLBStats returns zeroed load balancer counters.
func NewLBStats() *LBStats { return &LBStats{} }

// CountELB counts a response the load balancer generated itself with
// status st (HTTPCode_ELB_*).
func (s *LBStats) CountELB(st int) {
	switch {
	case st >= 500:
		s.ELB5XX.Add(1)
		switch st {
		case 500:
			s.ELB500.Add(1)
		case 502:
			s.ELB502.Add(1)
		case 503:
			s.ELB503.Add(1)
		case 504:
			s.ELB504.Add(1)
		}
	case st >= 400:
		s.ELB4XX.Add(1)
	case st >= 300:
		s.ELB3XX.Add(1)
	}
}

// GroupStats are the counters of one target group behind one load
// balancer: requests, target connection errors, target status classes
// and TargetResponseTime's count, sum and distribution (see BucketIndex).
// A GroupStats takes about 7.5 KB.
type GroupStats struct {
	Requests, ConnErrors                       atomic.Int64
	Target2XX, Target3XX, Target4XX, Target5XX atomic.Int64
	RTCount, RTSumMicros                       atomic.Int64
	rt                                         histogram
}

// NewGroupStats returns zeroed target group counters.
func NewGroupStats() *GroupStats { return &GroupStats{} }

// CountTarget counts a target's response and its response time. It does
// not allocate and takes no lock.
func (s *GroupStats) CountTarget(status int, rt time.Duration) {
	switch {
	case status >= 500:
		s.Target5XX.Add(1)
	case status >= 400:
		s.Target4XX.Add(1)
	case status >= 300:
		s.Target3XX.Add(1)
	case status >= 200:
		s.Target2XX.Add(1)
	}
	s.RTCount.Add(1)
	s.RTSumMicros.Add(rt.Microseconds())
	s.rt.add(rt.Seconds())
}

// AppendResponseTimes appends TargetResponseTime's non-empty buckets,
// ascending by index, with their counts since the stats were made.
func (s *GroupStats) AppendResponseTimes(dst []Bucket) []Bucket {
	return s.rt.appendBuckets(dst)
}

func counter(fn func(Metric), name string, dims map[string]string, v int64, unit string) {
	fn(Metric{Name: name, Dimensions: dims, Value: float64(v), Unit: unit, Kind: "counter"})
}

// Emit reports the load balancer lb's counters, with the LoadBalancer
// dimension.
func (s *LBStats) Emit(name string, fn func(Metric)) {
	counter := func(n string, dims map[string]string, v int64, unit string) { counter(fn, n, dims, v, unit) }
	d := func() map[string]string { return map[string]string{"LoadBalancer": name} }
	counter("RequestCount", d(), s.Requests.Load(), "Count")
	counter("NewConnectionCount", d(), s.NewConns.Load(), "Count")
	counter("RejectedConnectionCount", d(), s.RejectedConns.Load(), "Count")
	counter("ProcessedBytes", d(), s.ProcessedBytes.Load(), "Bytes")
	counter("RuleEvaluations", d(), s.RuleEvaluations.Load(), "Count")
	counter("HTTP_Fixed_Response_Count", d(), s.Fixed.Load(), "Count")
	counter("HTTP_Redirect_Count", d(), s.Redirects.Load(), "Count")
	counter("NonStickyRequestCount", d(), s.NonSticky.Load(), "Count")
	counter("HTTPCode_ELB_3XX_Count", d(), s.ELB3XX.Load(), "Count")
	counter("HTTPCode_ELB_4XX_Count", d(), s.ELB4XX.Load(), "Count")
	counter("HTTPCode_ELB_5XX_Count", d(), s.ELB5XX.Load(), "Count")
	counter("HTTPCode_ELB_500_Count", d(), s.ELB500.Load(), "Count")
	counter("HTTPCode_ELB_502_Count", d(), s.ELB502.Load(), "Count")
	counter("HTTPCode_ELB_503_Count", d(), s.ELB503.Load(), "Count")
	counter("HTTPCode_ELB_504_Count", d(), s.ELB504.Load(), "Count")
	counter("DesyncMitigationMode_NonCompliant_Request_Count", d(), s.DesyncNonCompliant.Load(), "Count")
	counter("DroppedInvalidHeaderRequestCount", d(), s.DroppedInvalidHeader.Load(), "Count")
	counter("ForwardedInvalidHeaderRequestCount", d(), s.ForwardedInvalidHeader.Load(), "Count")
	counter("AccessLogDroppedCount", d(), s.AccessLogDropped.Load(), "Count")
}

// Emit reports the target group tg's counters behind load balancer lb,
// with the LoadBalancer and TargetGroup dimensions. TargetResponseTime is
// reported as its sum (Unit Seconds, dimension Statistic=Sum), its sample
// count (Statistic=SampleCount) and, as gauges over all samples so far,
// p50, p90 and p99 (Statistic=p50 etc., within RelativeAccuracy). Its
// distribution is in Snapshot.
func (s *GroupStats) Emit(lb, tg string, fn func(Metric)) {
	counter := func(n string, dims map[string]string, v int64, unit string) { counter(fn, n, dims, v, unit) }
	d := func() map[string]string { return map[string]string{"LoadBalancer": lb, "TargetGroup": tg} }
	counter("RequestCount", d(), s.Requests.Load(), "Count")
	counter("TargetConnectionErrorCount", d(), s.ConnErrors.Load(), "Count")
	counter("HTTPCode_Target_2XX_Count", d(), s.Target2XX.Load(), "Count")
	counter("HTTPCode_Target_3XX_Count", d(), s.Target3XX.Load(), "Count")
	counter("HTTPCode_Target_4XX_Count", d(), s.Target4XX.Load(), "Count")
	counter("HTTPCode_Target_5XX_Count", d(), s.Target5XX.Load(), "Count")
	withStat := func(stat string) map[string]string {
		m := d()
		m["Statistic"] = stat
		return m
	}
	n := s.RTCount.Load()
	fn(Metric{Name: "TargetResponseTime", Dimensions: withStat("Sum"), Value: float64(s.RTSumMicros.Load()) / 1e6, Unit: "Seconds", Kind: "counter"})
	fn(Metric{Name: "TargetResponseTime", Dimensions: withStat("SampleCount"), Value: float64(n), Unit: "Count", Kind: "counter"})
	buckets := s.AppendResponseTimes(nil)
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}} {
		fn(Metric{Name: "TargetResponseTime", Dimensions: withStat(q.name), Value: quantileOf(buckets, q.q), Unit: "Seconds", Kind: "gauge"})
	}
}

// EmitHostCounts reports HealthyHostCount and UnHealthyHostCount gauges
// for target group tg behind load balancer lb.
func EmitHostCounts(lb, tg string, healthy, unhealthy int, fn func(Metric)) {
	d := func() map[string]string { return map[string]string{"LoadBalancer": lb, "TargetGroup": tg} }
	fn(Metric{Name: "HealthyHostCount", Dimensions: d(), Value: float64(healthy), Unit: "Count", Kind: "gauge"})
	fn(Metric{Name: "UnHealthyHostCount", Dimensions: d(), Value: float64(unhealthy), Unit: "Count", Kind: "gauge"})
}
