package proxy

import (
	"math"
	"sort"
	"strconv"
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

// lbStats are a load balancer's counters; they outlive configurations.
type lbStats struct {
	requests, newConns, processedBytes, ruleEvaluations    atomic.Int64
	fixed, redirects, nonSticky                            atomic.Int64
	elb4xx, elb5xx, elb500, elb502, elb503, elb504, elb3xx atomic.Int64
	desyncNonCompliant, droppedInvalidHeader               atomic.Int64
	forwardedInvalidHeader, accessLogDropped               atomic.Int64
	rejectedConns                                          atomic.Int64 // closed at accept or mid-head: the client IP's header-phase cap
}

func newLBStats() *lbStats { return &lbStats{} }

// countELB counts a load-balancer generated status.
func (s *lbStats) countELB(e *logEntry) {
	if !e.elbGenerated {
		return
	}
	st := e.elbStatus
	switch {
	case st >= 500:
		s.elb5xx.Add(1)
		switch st {
		case 500:
			s.elb500.Add(1)
		case 502:
			s.elb502.Add(1)
		case 503:
			s.elb503.Add(1)
		case 504:
			s.elb504.Add(1)
		}
	case st >= 400:
		s.elb4xx.Add(1)
	case st >= 300:
		s.elb3xx.Add(1)
	}
}

// Response-time histogram buckets, in seconds (upper bounds).
var rtBuckets = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, math.Inf(1)}

// tgStats are counters per (load balancer, target group).
type tgStats struct {
	requests, connErrors   atomic.Int64
	t2xx, t3xx, t4xx, t5xx atomic.Int64
	rtCount, rtSumMicros   atomic.Int64
	rtBucket               [len(rtBuckets)]atomic.Int64
}

func newTGStats() *tgStats { return &tgStats{} }

// countTarget counts a target's response and its response time.
func (s *tgStats) countTarget(status int, rt time.Duration) {
	switch {
	case status >= 500:
		s.t5xx.Add(1)
	case status >= 400:
		s.t4xx.Add(1)
	case status >= 300:
		s.t3xx.Add(1)
	case status >= 200:
		s.t2xx.Add(1)
	}
	s.rtCount.Add(1)
	s.rtSumMicros.Add(rt.Microseconds())
	sec := rt.Seconds()
	i := sort.SearchFloat64s(rtBuckets[:], sec)
	if i >= len(rtBuckets) {
		i = len(rtBuckets) - 1
	}
	s.rtBucket[i].Add(1)
}

// Collect reports every metric: cumulative counters and current gauges,
// with AWS's names and the LoadBalancer and TargetGroup dimensions.
//
// TargetResponseTime is reported as its sum (Unit Seconds, dimension
// Statistic=Sum), its sample count (Statistic=SampleCount), cumulative
// histogram buckets (Statistic=Bucket, dimension Le=<upper bound in
// seconds>) and, as gauges over all samples so far, p50, p90 and p99
// (Statistic=p50 etc.). RequestCountPerTarget is per target, with a
// Target dimension.
func (p *Proxy) Collect(fn func(Metric)) {
	p.mu.Lock()
	lbs := make(map[string]*lbStats, len(p.lbStats))
	for k, v := range p.lbStats {
		lbs[k] = v
	}
	tgs := make(map[[2]string]*tgStats, len(p.tgStats))
	for k, v := range p.tgStats {
		tgs[k] = v
	}
	targets := make([]*liveTarget, 0, len(p.targets))
	for _, lt := range p.targets {
		targets = append(targets, lt)
	}
	p.mu.Unlock()

	counter := func(name string, dims map[string]string, v int64, unit string) {
		fn(Metric{Name: name, Dimensions: dims, Value: float64(v), Unit: unit, Kind: "counter"})
	}
	for name, s := range lbs {
		d := func() map[string]string { return map[string]string{"LoadBalancer": name} }
		counter("RequestCount", d(), s.requests.Load(), "Count")
		counter("NewConnectionCount", d(), s.newConns.Load(), "Count")
		counter("RejectedConnectionCount", d(), s.rejectedConns.Load(), "Count")
		counter("ProcessedBytes", d(), s.processedBytes.Load(), "Bytes")
		counter("RuleEvaluations", d(), s.ruleEvaluations.Load(), "Count")
		counter("HTTP_Fixed_Response_Count", d(), s.fixed.Load(), "Count")
		counter("HTTP_Redirect_Count", d(), s.redirects.Load(), "Count")
		counter("NonStickyRequestCount", d(), s.nonSticky.Load(), "Count")
		counter("HTTPCode_ELB_3XX_Count", d(), s.elb3xx.Load(), "Count")
		counter("HTTPCode_ELB_4XX_Count", d(), s.elb4xx.Load(), "Count")
		counter("HTTPCode_ELB_5XX_Count", d(), s.elb5xx.Load(), "Count")
		counter("HTTPCode_ELB_500_Count", d(), s.elb500.Load(), "Count")
		counter("HTTPCode_ELB_502_Count", d(), s.elb502.Load(), "Count")
		counter("HTTPCode_ELB_503_Count", d(), s.elb503.Load(), "Count")
		counter("HTTPCode_ELB_504_Count", d(), s.elb504.Load(), "Count")
		counter("DesyncMitigationMode_NonCompliant_Request_Count", d(), s.desyncNonCompliant.Load(), "Count")
		counter("DroppedInvalidHeaderRequestCount", d(), s.droppedInvalidHeader.Load(), "Count")
		counter("ForwardedInvalidHeaderRequestCount", d(), s.forwardedInvalidHeader.Load(), "Count")
		counter("AccessLogDroppedCount", d(), s.accessLogDropped.Load(), "Count")
	}
	fn(Metric{Name: "ActiveConnectionCount", Dimensions: map[string]string{}, Value: float64(p.activeConns.Load()), Unit: "Count", Kind: "gauge"})
	for k, s := range tgs {
		d := func() map[string]string { return map[string]string{"LoadBalancer": k[0], "TargetGroup": k[1]} }
		counter("RequestCount", d(), s.requests.Load(), "Count")
		counter("TargetConnectionErrorCount", d(), s.connErrors.Load(), "Count")
		counter("HTTPCode_Target_2XX_Count", d(), s.t2xx.Load(), "Count")
		counter("HTTPCode_Target_3XX_Count", d(), s.t3xx.Load(), "Count")
		counter("HTTPCode_Target_4XX_Count", d(), s.t4xx.Load(), "Count")
		counter("HTTPCode_Target_5XX_Count", d(), s.t5xx.Load(), "Count")
		withStat := func(stat string) map[string]string {
			m := d()
			m["Statistic"] = stat
			return m
		}
		n := s.rtCount.Load()
		fn(Metric{Name: "TargetResponseTime", Dimensions: withStat("Sum"), Value: float64(s.rtSumMicros.Load()) / 1e6, Unit: "Seconds", Kind: "counter"})
		fn(Metric{Name: "TargetResponseTime", Dimensions: withStat("SampleCount"), Value: float64(n), Unit: "Count", Kind: "counter"})
		var counts [len(rtBuckets)]int64
		var cum int64
		for i := range rtBuckets {
			counts[i] = s.rtBucket[i].Load()
			cum += counts[i]
			m := withStat("Bucket")
			m["Le"] = strconv.FormatFloat(rtBuckets[i], 'g', -1, 64)
			fn(Metric{Name: "TargetResponseTime", Dimensions: m, Value: float64(cum), Unit: "Count", Kind: "counter"})
		}
		for _, q := range []struct {
			name string
			q    float64
		}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}} {
			fn(Metric{Name: "TargetResponseTime", Dimensions: withStat(q.name), Value: quantile(counts[:], q.q), Unit: "Seconds", Kind: "gauge"})
		}
	}
	for _, lt := range targets {
		fn(Metric{Name: "RequestCountPerTarget", Dimensions: map[string]string{"TargetGroup": lt.group, "Target": lt.id}, Value: float64(lt.requests.Load()), Unit: "Count", Kind: "counter"})
	}
}

// quantile estimates a quantile from histogram counts, interpolating
// linearly inside the bucket.
func quantile(counts []int64, q float64) float64 {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum float64
	lower := 0.0
	for i, c := range counts {
		upper := rtBuckets[i]
		if cum+float64(c) >= rank && c > 0 {
			if math.IsInf(upper, 1) {
				return lower
			}
			return lower + (upper-lower)*(rank-cum)/float64(c)
		}
		cum += float64(c)
		lower = upper
	}
	return lower
}
