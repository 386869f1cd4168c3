package cloudwatch

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/loggroup"
	"github.com/madang-dev/madang/internal/metric"
)

// NetworkNote says what madang measures of instances' networks.
const NetworkNote = "instances share the host's network namespace, so per-instance NetworkIn/NetworkOut are not measured; " +
	"AWS/ApplicationELB publishes the load balancer's bytes per target instead (BytesIn and BytesOut by TargetGroup and Target)"

// Namespaces madang publishes.
const (
	NamespaceEC2    = "AWS/EC2"
	NamespaceELB    = "AWS/ApplicationELB"
	NamespaceDaemon = "madang/Daemon"
)

// collect takes one round of samples and stores them as 1-second
// datapoints stamped with the start of the second they describe.
func (s *Service) collect(ctx context.Context) {
	start := time.Now()
	now := s.opts.Now()
	at := now.Truncate(time.Second).Add(-time.Second)
	var data []metric.Datum
	if s.opts.Instances != nil {
		data = appendInstances(data, s.opts.Instances.Samples(), at)
	}
	errText := ""
	if s.opts.LoadBalancers != nil {
		snap, err := s.opts.LoadBalancers.MetricsSnapshot(ctx)
		if err != nil {
			errText = "load balancer metrics: " + err.Error()
		} else if snap != nil {
			s.mu.Lock()
			prev := s.prevLB
			s.prevLB = snap
			s.mu.Unlock()
			if prev != nil {
				iv := lbmetrics.Delta(prev, snap)
				if c, ok := s.opts.LoadBalancers.(ConfiguredLoadBalancers); ok {
					iv = configuredOnly(iv, c)
				}
				data = appendELB(data, iv, at)
			}
		}
	}
	s.mu.Lock()
	st := s.stats
	s.mu.Unlock()
	data = appendDaemon(data, st, s.metrics.SeriesCount(), at)
	if err := s.metrics.Put(data); err != nil {
		errText = "store metrics: " + err.Error()
		s.log.Warn("collect", "err", err)
	}
	if s.stats.Rounds%saveLBEvery == 0 {
		s.saveLB()
	}
	s.mu.Lock()
	s.stats.Rounds++
	s.stats.LastDuration = time.Since(start)
	s.stats.LastDatums = len(data)
	s.stats.LastError = errText
	s.mu.Unlock()
}

// lbSnapshotFile keeps the collector's last load balancer snapshot across
// daemon restarts: the data plane outlives the daemon, so the next daemon
// continues from it and counts the requests served while it was away
// (in its first second) instead of losing them.
const lbSnapshotFile = "lb-snapshot.json"

// saveLBEvery is how many rounds pass between saves of the snapshot.
const saveLBEvery = 10

// baselineLB takes the collector's first load balancer snapshot: the one
// a previous daemon saved, if the data plane is still the same, otherwise
// the data plane's counters now. Taken when the service starts, before
// any load balancer of a new stack exists, so that their first requests
// count.
func (s *Service) baselineLB(ctx context.Context) {
	if s.opts.LoadBalancers == nil {
		return
	}
	cur, err := s.opts.LoadBalancers.MetricsSnapshot(ctx)
	if err != nil || cur == nil {
		return
	}
	base := cur
	if b, err := os.ReadFile(filepath.Join(s.opts.Home, "metrics", lbSnapshotFile)); err == nil {
		var saved lbmetrics.Snapshot
		if json.Unmarshal(b, &saved) == nil && saved.Epoch == cur.Epoch {
			base = &saved
		}
	}
	s.mu.Lock()
	s.prevLB = base
	s.mu.Unlock()
}

// saveLB writes the last load balancer snapshot atomically.
func (s *Service) saveLB() {
	s.mu.Lock()
	snap := s.prevLB
	s.mu.Unlock()
	if snap == nil {
		return
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return
	}
	p := filepath.Join(s.opts.Home, "metrics", lbSnapshotFile)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		s.log.Warn("save load balancer snapshot", "err", err)
		return
	}
	if err := os.Rename(tmp, p); err != nil {
		s.log.Warn("save load balancer snapshot", "err", err)
	}
}

// Stats returns the collector's figures.
func (s *Service) Stats() CollectorStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func datum(ns, name string, dims []metric.Dimension, unit string, at time.Time, v float64) metric.Datum {
	return metric.Datum{ID: metric.ID{Namespace: ns, Name: name, Dimensions: dims}, Unit: unit, Timestamp: at,
		Value: &v, StorageResolution: 1}
}

func dims(kv ...string) []metric.Dimension {
	out := make([]metric.Dimension, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, metric.Dimension{Name: kv[i], Value: kv[i+1]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// instanceMetric is one AWS/EC2 metric read from a sample.
type instanceMetric struct {
	name, unit string
	value      func(compute.Sample) (float64, bool)
}

var instanceMetrics = []instanceMetric{
	{"CPUUtilization", "Percent", func(x compute.Sample) (float64, bool) { return x.CPUUtilization, x.Running }},
	{"MemoryUtilization", "Percent", func(x compute.Sample) (float64, bool) { return x.MemoryUtilization, x.Running }},
	{"DiskReadBytes", "Bytes", func(x compute.Sample) (float64, bool) { return x.DiskReadBytes, x.DiskMeasured }},
	{"DiskWriteBytes", "Bytes", func(x compute.Sample) (float64, bool) { return x.DiskWriteBytes, x.DiskMeasured }},
	{"DiskReadOps", "Count", func(x compute.Sample) (float64, bool) { return x.DiskReadOps, x.DiskMeasured && x.DiskOpsMeasured }},
	{"DiskWriteOps", "Count", func(x compute.Sample) (float64, bool) { return x.DiskWriteOps, x.DiskMeasured && x.DiskOpsMeasured }},
	{"StatusCheckFailed", "Count", func(x compute.Sample) (float64, bool) {
		return max(x.StatusCheckFailedInstance, x.StatusCheckFailedSystem), true
	}},
	{"StatusCheckFailed_Instance", "Count", func(x compute.Sample) (float64, bool) { return x.StatusCheckFailedInstance, true }},
	{"StatusCheckFailed_System", "Count", func(x compute.Sample) (float64, bool) { return x.StatusCheckFailedSystem, true }},
}

// appendInstances publishes each instance's metrics with the InstanceId
// dimension, and each instance group's with AutoScalingGroupName: the
// members' values as one datum, so Average, Maximum and percentiles are
// over the members, as CloudWatch aggregates an Auto Scaling group.
func appendInstances(data []metric.Datum, samples []compute.Sample, at time.Time) []metric.Datum {
	groups := map[string][]compute.Sample{}
	for _, x := range samples {
		d := dims("InstanceId", x.InstanceID)
		for _, m := range instanceMetrics {
			if v, ok := m.value(x); ok {
				data = append(data, datum(NamespaceEC2, m.name, d, m.unit, at, v))
			}
		}
		if x.Group != "" {
			groups[x.Group] = append(groups[x.Group], x)
		}
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		d := dims("AutoScalingGroupName", g)
		for _, m := range instanceMetrics {
			var vals []float64
			for _, x := range groups[g] {
				if v, ok := m.value(x); ok {
					vals = append(vals, v)
				}
			}
			if len(vals) == 0 {
				continue
			}
			for i := 0; i < len(vals); i += maxValues {
				data = append(data, metric.Datum{ID: metric.ID{Namespace: NamespaceEC2, Name: m.name, Dimensions: d},
					Unit: m.unit, Timestamp: at, Values: vals[i:min(i+maxValues, len(vals))], StorageResolution: 1})
			}
		}
	}
	return data
}

// maxValues is PutMetricData's limit of values per datum.
const maxValues = 150

// elbGauges are the AWS/ApplicationELB metrics that are levels, not
// counts: reported every second, zero or not.
var elbGauges = map[string]bool{"ActiveConnectionCount": true, "HealthyHostCount": true, "UnHealthyHostCount": true}

// appendELB publishes a second of load balancer traffic under
// AWS/ApplicationELB: per load balancer (LoadBalancer), per target group
// (LoadBalancer and TargetGroup, and TargetGroup alone), per zone (see
// appendZones) and per target (TargetGroup and Target, madang's own). Target group counts are also
// summed per load balancer, as AWS reports HTTPCode_Target_* and
// TargetResponseTime by LoadBalancer. As on AWS, a count with nothing to
// count in the second is not reported; gauges always are.
func appendELB(data []metric.Datum, iv lbmetrics.Interval, at time.Time) []metric.Datum {
	lbHas := map[string]map[string]bool{}
	for _, lb := range iv.LoadBalancers {
		d := dims("LoadBalancer", lb.LoadBalancer)
		lbHas[lb.LoadBalancer] = map[string]bool{}
		for _, v := range lb.Metrics() {
			lbHas[lb.LoadBalancer][v.Name] = true
			if v.Value == 0 && !elbGauges[v.Name] {
				continue
			}
			data = append(data, datum(NamespaceELB, v.Name, d, v.Unit, at, v.Value))
		}
	}
	type lbSum struct {
		lb, name, unit string
	}
	sums := map[lbSum]float64{}
	var order []lbSum
	for _, g := range iv.Groups {
		both := dims("LoadBalancer", g.LoadBalancer, "TargetGroup", g.TargetGroup)
		for _, v := range g.Metrics() {
			if v.Value == 0 && !elbGauges[v.Name] {
				continue
			}
			data = append(data, datum(NamespaceELB, v.Name, both, v.Unit, at, v.Value))
			data = append(data, datum(NamespaceELB, v.Name, dims("TargetGroup", g.TargetGroup), v.Unit, at, v.Value))
			if !elbGauges[v.Name] && v.Name != "RequestCountPerTarget" && !lbHas[g.LoadBalancer][v.Name] {
				k := lbSum{g.LoadBalancer, v.Name, v.Unit}
				if _, ok := sums[k]; !ok {
					order = append(order, k)
				}
				sums[k] += v.Value
			}
		}
		data = appendResponseTimes(data, g, at, both, dims("LoadBalancer", g.LoadBalancer))
	}
	for _, k := range order {
		data = append(data, datum(NamespaceELB, k.name, dims("LoadBalancer", k.lb), k.unit, at, sums[k]))
	}
	data = appendZones(data, iv.Zones, at)
	for _, t := range iv.Targets {
		d := dims("TargetGroup", t.TargetGroup, "Target", t.Target)
		for _, v := range t.Metrics() {
			if v.Value == 0 {
				continue
			}
			data = append(data, datum(NamespaceELB, v.Name, d, v.Unit, at, v.Value))
		}
	}
	return data
}

// appendZones publishes each target group's second per availability zone
// of its targets (AvailabilityZone, TargetGroup and LoadBalancer) and
// their counts summed per load balancer and zone (AvailabilityZone and
// LoadBalancer): madang's load balancer is one node, so a request counts
// in the zone of the target that served it, as on an AWS load balancer
// whose node in each zone serves that zone's targets. Requests that no
// target served (fixed responses, redirects, the load balancer's own
// errors) have no zone. As with the groups, counts with nothing to count
// are not reported; host counts always are, zero in a zone of the load
// balancer without targets.
func appendZones(data []metric.Datum, zones []lbmetrics.GroupInterval, at time.Time) []metric.Datum {
	type zoneSum struct {
		lb, zone, name, unit string
	}
	sums := map[zoneSum]float64{}
	var order []zoneSum
	for _, z := range zones {
		all := dims("AvailabilityZone", z.AvailabilityZone, "LoadBalancer", z.LoadBalancer, "TargetGroup", z.TargetGroup)
		for _, v := range z.Metrics() {
			if v.Value == 0 && !elbGauges[v.Name] {
				continue
			}
			data = append(data, datum(NamespaceELB, v.Name, all, v.Unit, at, v.Value))
			if !elbGauges[v.Name] {
				k := zoneSum{z.LoadBalancer, z.AvailabilityZone, v.Name, v.Unit}
				if _, ok := sums[k]; !ok {
					order = append(order, k)
				}
				sums[k] += v.Value
			}
		}
		data = appendResponseTimes(data, z, at, all, dims("AvailabilityZone", z.AvailabilityZone, "LoadBalancer", z.LoadBalancer))
	}
	for _, k := range order {
		data = append(data, datum(NamespaceELB, k.name, dims("AvailabilityZone", k.zone, "LoadBalancer", k.lb), k.unit, at, sums[k]))
	}
	return data
}

// appendResponseTimes publishes g's TargetResponseTime distribution of
// the second under each set of dimensions.
func appendResponseTimes(data []metric.Datum, g lbmetrics.GroupInterval, at time.Time, dimSets ...[]metric.Dimension) []metric.Datum {
	vals, counts := g.ResponseTimes()
	// PutMetricData takes at most 150 values a datum: a second with more
	// distinct buckets is several datums of that second.
	for i := 0; i < len(vals); i += maxValues {
		j := min(i+maxValues, len(vals))
		for _, d := range dimSets {
			data = append(data, metric.Datum{ID: metric.ID{Namespace: NamespaceELB, Name: "TargetResponseTime", Dimensions: d},
				Unit: "Seconds", Timestamp: at, Values: vals[i:j], Counts: counts[i:j], StorageResolution: 1})
		}
	}
	return data
}

// appendDaemon publishes the daemon's own health under madang/Daemon.
func appendDaemon(data []metric.Datum, st CollectorStats, series int, at time.Time) []metric.Datum {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	none := []metric.Dimension{}
	return append(data,
		datum(NamespaceDaemon, "Goroutines", none, "Count", at, float64(runtime.NumGoroutine())),
		datum(NamespaceDaemon, "HeapBytes", none, "Bytes", at, float64(ms.HeapAlloc)),
		datum(NamespaceDaemon, "CollectionTime", none, "Seconds", at, st.LastDuration.Seconds()),
		datum(NamespaceDaemon, "CollectedDatapoints", none, "Count", at, float64(st.LastDatums)),
		datum(NamespaceDaemon, "MetricSeries", none, "Count", at, float64(series)),
	)
}

// putFiltered stores the metric filters' values: each second's matched
// values, so minimum, maximum and percentiles are exact.
func (s *Service) putFiltered(em []loggroup.Emitted) {
	data := make([]metric.Datum, 0, len(em))
	for _, e := range em {
		var d []metric.Dimension
		for k, v := range e.Dimensions {
			d = append(d, metric.Dimension{Name: k, Value: v})
		}
		id := metric.ID{Namespace: e.Namespace, Name: e.Name, Dimensions: d}.Canonical()
		vals := e.Values
		if len(vals) == 0 {
			vals = []float64{e.Sum}
		}
		for i := 0; i < len(vals); i += maxValues {
			data = append(data, metric.Datum{ID: id, Unit: e.Unit, Timestamp: e.Timestamp,
				Values: vals[i:min(i+maxValues, len(vals))], StorageResolution: 1})
		}
	}
	if err := s.metrics.Put(data); err != nil {
		s.log.Warn("metric filters: store", "err", err)
	}
}

// syncFilters hands the metric filters to the log follower.
func (s *Service) syncFilters() {
	if s.follow == nil {
		return
	}
	s.mu.Lock()
	var fs []loggroup.MetricFilter
	for _, f := range s.filters {
		if len(f.Spec.MetricTransformations) == 0 {
			continue
		}
		p, err := parsePattern(f.Spec.FilterPattern)
		if err != nil {
			continue
		}
		fs = append(fs, loggroup.MetricFilter{Name: f.Spec.Name, Group: f.Spec.LogGroup, Pattern: p,
			Transformation: f.Spec.MetricTransformations[0].transformation()})
	}
	s.mu.Unlock()
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	s.follow.SetFilters(fs)
}

// configuredOnly keeps the intervals of the load balancers and target
// groups that c says exist.
func configuredOnly(iv lbmetrics.Interval, c ConfiguredLoadBalancers) lbmetrics.Interval {
	lbs, tgs := c.Configured()
	iv.LoadBalancers = slices.DeleteFunc(iv.LoadBalancers, func(x lbmetrics.LBInterval) bool { return !lbs[x.LoadBalancer] })
	gone := func(x lbmetrics.GroupInterval) bool {
		return !tgs[x.TargetGroup] || (x.LoadBalancer != "" && !lbs[x.LoadBalancer])
	}
	iv.Groups = slices.DeleteFunc(iv.Groups, gone)
	iv.Zones = slices.DeleteFunc(iv.Zones, gone)
	iv.Targets = slices.DeleteFunc(iv.Targets, func(x lbmetrics.TargetInterval) bool { return !tgs[x.TargetGroup] })
	return iv
}
