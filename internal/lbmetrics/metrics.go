// Package lbmetrics holds a load balancer data plane's counters and gauges
// and reports them with CloudWatch's AWS/ApplicationELB names, units and
// dimensions. Counters are atomic and safe for concurrent use; they are
// cumulative from when the data plane started.
//
// A collector reads a Snapshot of them every period (a second) and turns
// two consecutive ones into an Interval with Delta: counter differences,
// gauges, and TargetResponseTime's distribution in logarithmic buckets of
// known relative error (see BucketIndex) that feed a DDSketch directly.
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
// counts the metric of the matching name (see Counters: Requests is
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
func (s *GroupStats) AppendResponseTimes(dst Buckets) Buckets {
	return s.rt.appendBuckets(dst)
}

// NumResponseTimes returns the number of TargetResponseTime's non-empty
// buckets, what AppendResponseTimes would append if no new bucket fills
// in the meantime.
func (s *GroupStats) NumResponseTimes() int { return s.rt.nonEmpty() }
