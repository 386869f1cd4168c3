package lbmetrics

import (
	"cmp"
	"slices"
	"time"
)

// LBCounter indexes LBCounters.
type LBCounter int

// A load balancer's counters, in LBCounters' order.
const (
	LBRequestCount LBCounter = iota
	LBNewConnectionCount
	LBRejectedConnectionCount
	LBProcessedBytes
	LBRuleEvaluations
	LBFixedResponseCount
	LBRedirectCount
	LBNonStickyRequestCount
	LBELB3XXCount
	LBELB4XXCount
	LBELB5XXCount
	LBELB500Count
	LBELB502Count
	LBELB503Count
	LBELB504Count
	LBDesyncNonCompliantCount
	LBDroppedInvalidHeaderCount
	LBForwardedInvalidHeaderCount
	// LBAccessLogDroppedCount is madang's own: access log lines dropped
	// because the writer fell behind. It has no AWS metric.
	LBAccessLogDroppedCount
	// NumLBCounters is the number of load balancer counters.
	NumLBCounters
)

// counterInfo is a counter's CloudWatch name and unit; aws is false for
// madang's own counters, which LBInterval.Metrics leaves out.
type counterInfo struct {
	name, unit string
	aws        bool
}

var lbCounterInfo = [NumLBCounters]counterInfo{
	LBRequestCount:                {"RequestCount", "Count", true},
	LBNewConnectionCount:          {"NewConnectionCount", "Count", true},
	LBRejectedConnectionCount:     {"RejectedConnectionCount", "Count", true},
	LBProcessedBytes:              {"ProcessedBytes", "Bytes", true},
	LBRuleEvaluations:             {"RuleEvaluations", "Count", true},
	LBFixedResponseCount:          {"HTTP_Fixed_Response_Count", "Count", true},
	LBRedirectCount:               {"HTTP_Redirect_Count", "Count", true},
	LBNonStickyRequestCount:       {"NonStickyRequestCount", "Count", true},
	LBELB3XXCount:                 {"HTTPCode_ELB_3XX_Count", "Count", true},
	LBELB4XXCount:                 {"HTTPCode_ELB_4XX_Count", "Count", true},
	LBELB5XXCount:                 {"HTTPCode_ELB_5XX_Count", "Count", true},
	LBELB500Count:                 {"HTTPCode_ELB_500_Count", "Count", true},
	LBELB502Count:                 {"HTTPCode_ELB_502_Count", "Count", true},
	LBELB503Count:                 {"HTTPCode_ELB_503_Count", "Count", true},
	LBELB504Count:                 {"HTTPCode_ELB_504_Count", "Count", true},
	LBDesyncNonCompliantCount:     {"DesyncMitigationMode_NonCompliant_Request_Count", "Count", true},
	LBDroppedInvalidHeaderCount:   {"DroppedInvalidHeaderRequestCount", "Count", true},
	LBForwardedInvalidHeaderCount: {"ForwardedInvalidHeaderRequestCount", "Count", true},
	LBAccessLogDroppedCount:       {"AccessLogDroppedCount", "Count", false},
}

// Name is the counter's CloudWatch metric name.
func (c LBCounter) Name() string { return lbCounterInfo[c].name }

// Unit is the counter's CloudWatch unit: Count or Bytes.
func (c LBCounter) Unit() string { return lbCounterInfo[c].unit }

// LBCounters are a load balancer's cumulative counters, indexed by
// LBCounter.
type LBCounters [NumLBCounters]int64

// Counters reads the counters; each is read atomically, not all together.
func (s *LBStats) Counters() LBCounters {
	return LBCounters{
		LBRequestCount:                s.Requests.Load(),
		LBNewConnectionCount:          s.NewConns.Load(),
		LBRejectedConnectionCount:     s.RejectedConns.Load(),
		LBProcessedBytes:              s.ProcessedBytes.Load(),
		LBRuleEvaluations:             s.RuleEvaluations.Load(),
		LBFixedResponseCount:          s.Fixed.Load(),
		LBRedirectCount:               s.Redirects.Load(),
		LBNonStickyRequestCount:       s.NonSticky.Load(),
		LBELB3XXCount:                 s.ELB3XX.Load(),
		LBELB4XXCount:                 s.ELB4XX.Load(),
		LBELB5XXCount:                 s.ELB5XX.Load(),
		LBELB500Count:                 s.ELB500.Load(),
		LBELB502Count:                 s.ELB502.Load(),
		LBELB503Count:                 s.ELB503.Load(),
		LBELB504Count:                 s.ELB504.Load(),
		LBDesyncNonCompliantCount:     s.DesyncNonCompliant.Load(),
		LBDroppedInvalidHeaderCount:   s.DroppedInvalidHeader.Load(),
		LBForwardedInvalidHeaderCount: s.ForwardedInvalidHeader.Load(),
		LBAccessLogDroppedCount:       s.AccessLogDropped.Load(),
	}
}

// GroupCounter indexes GroupCounters.
type GroupCounter int

// A target group's counters, in GroupCounters' order.
const (
	GroupRequestCount GroupCounter = iota
	GroupTargetConnectionErrorCount
	GroupTarget2XXCount
	GroupTarget3XXCount
	GroupTarget4XXCount
	GroupTarget5XXCount
	// NumGroupCounters is the number of target group counters.
	NumGroupCounters
)

var groupCounterNames = [NumGroupCounters]string{
	GroupRequestCount:               "RequestCount",
	GroupTargetConnectionErrorCount: "TargetConnectionErrorCount",
	GroupTarget2XXCount:             "HTTPCode_Target_2XX_Count",
	GroupTarget3XXCount:             "HTTPCode_Target_3XX_Count",
	GroupTarget4XXCount:             "HTTPCode_Target_4XX_Count",
	GroupTarget5XXCount:             "HTTPCode_Target_5XX_Count",
}

// Name is the counter's CloudWatch metric name (its unit is Count).
func (c GroupCounter) Name() string { return groupCounterNames[c] }

// GroupCounters are a target group's cumulative counters behind one load
// balancer, indexed by GroupCounter.
type GroupCounters [NumGroupCounters]int64

// Counters reads the counters; each is read atomically, not all together.
func (s *GroupStats) Counters() GroupCounters {
	return GroupCounters{
		GroupRequestCount:               s.Requests.Load(),
		GroupTargetConnectionErrorCount: s.ConnErrors.Load(),
		GroupTarget2XXCount:             s.Target2XX.Load(),
		GroupTarget3XXCount:             s.Target3XX.Load(),
		GroupTarget4XXCount:             s.Target4XX.Load(),
		GroupTarget5XXCount:             s.Target5XX.Load(),
	}
}

// Snapshot is a data plane's counters at one moment: cumulative since
// the data plane started (Epoch), plus the gauges of that moment. A
// collector takes one every period and reports Delta of two consecutive
// ones.
type Snapshot struct {
	// Taken is when the snapshot was read.
	Taken time.Time `json:"taken"`
	// Epoch identifies the data plane's counters; it changes when they
	// restart from zero (a new data-plane process), so that Delta does
	// not subtract across a restart.
	Epoch string `json:"epoch"`
	// LoadBalancers are sorted by name.
	LoadBalancers []LBSnapshot `json:"loadBalancers"`
	// Groups are sorted by load balancer, then target group.
	Groups []GroupSnapshot `json:"groups"`
	// Zones are the groups per availability zone of their targets
	// (AvailabilityZone set), sorted by load balancer, target group, then
	// zone. Targets without a zone count in their group only.
	Zones []GroupSnapshot `json:"zones,omitempty"`
	// Targets are sorted by target group, then target ID.
	Targets []TargetSnapshot `json:"targets"`
}

// LBSnapshot is one load balancer's counters and gauges.
type LBSnapshot struct {
	LoadBalancer string     `json:"loadBalancer"`
	Counters     LBCounters `json:"counters"`
	// ActiveConnectionCount is a gauge: the load balancer's open client
	// connections plus the open connections to the targets of the target
	// groups it forwards to (a group that several load balancers forward
	// to counts in each).
	ActiveConnectionCount int64 `json:"activeConnectionCount"`
}

// GroupSnapshot is one target group's counters behind one load balancer,
// its TargetResponseTime distribution and its host-count gauges; in
// Snapshot.Zones, those of the group's targets in one availability zone.
type GroupSnapshot struct {
	LoadBalancer string `json:"loadBalancer"`
	TargetGroup  string `json:"targetGroup"`
	// AvailabilityZone is the zone of the targets counted, in
	// Snapshot.Zones; "" in Snapshot.Groups.
	AvailabilityZone string        `json:"availabilityZone,omitempty"`
	Counters         GroupCounters `json:"counters"`
	// ResponseTimeCount and ResponseTimeSumMicros are TargetResponseTime's
	// sample count and sum (in microseconds).
	ResponseTimeCount     int64 `json:"responseTimeCount"`
	ResponseTimeSumMicros int64 `json:"responseTimeSumMicros"`
	// ResponseTimes are the non-empty buckets of TargetResponseTime,
	// ascending by index, each with its count since the data plane
	// started.
	ResponseTimes Buckets `json:"responseTimes"`
	// HealthyHostCount and UnHealthyHostCount are gauges: the group's
	// registered targets, not draining, by the data plane's view of their
	// health.
	HealthyHostCount   int64 `json:"healthyHostCount"`
	UnHealthyHostCount int64 `json:"unHealthyHostCount"`
}

// TargetSnapshot is one target's cumulative counters in one target
// group, over every load balancer that forwards to it.
type TargetSnapshot struct {
	TargetGroup string `json:"targetGroup"`
	Target      string `json:"target"`
	// Requests are the requests sent to the target, retries included.
	Requests int64 `json:"requests"`
	// BytesIn are the request bytes received from clients for requests
	// the target answered; BytesOut the response bytes sent back to them.
	BytesIn  int64 `json:"bytesIn"`
	BytesOut int64 `json:"bytesOut"`
	// ConnectionErrors are the failed connection attempts to the target.
	ConnectionErrors int64 `json:"connectionErrors"`
}

// Sort puts the snapshot's lists in their documented order.
func (s *Snapshot) Sort() {
	slices.SortFunc(s.LoadBalancers, func(a, b LBSnapshot) int { return cmp.Compare(a.LoadBalancer, b.LoadBalancer) })
	byGroup := func(a, b GroupSnapshot) int {
		return cmp.Or(cmp.Compare(a.LoadBalancer, b.LoadBalancer), cmp.Compare(a.TargetGroup, b.TargetGroup),
			cmp.Compare(a.AvailabilityZone, b.AvailabilityZone))
	}
	slices.SortFunc(s.Groups, byGroup)
	slices.SortFunc(s.Zones, byGroup)
	slices.SortFunc(s.Targets, func(a, b TargetSnapshot) int {
		return cmp.Or(cmp.Compare(a.TargetGroup, b.TargetGroup), cmp.Compare(a.Target, b.Target))
	})
}
