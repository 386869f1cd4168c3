package lbmetrics

// Emit reports the snapshot as cumulative counters and gauges, one Metric
// each, for a listing of every metric (such as madang metrics):
//
//   - per load balancer (dimension LoadBalancer): every LBCounter and the
//     ActiveConnectionCount gauge;
//   - per target group (dimensions LoadBalancer and TargetGroup): every
//     GroupCounter, the HealthyHostCount and UnHealthyHostCount gauges,
//     and TargetResponseTime as its sum (Unit Seconds, dimension
//     Statistic=Sum), its sample count (Statistic=SampleCount) and, as
//     gauges over every response so far, p50, p90 and p99 (Statistic=p50
//     etc., within RelativeAccuracy);
//   - per target group and availability zone of its targets (dimensions
//     LoadBalancer, TargetGroup and AvailabilityZone): the same as per
//     target group;
//   - per target (dimensions TargetGroup and Target): its requests as
//     RequestCountPerTarget, TargetConnectionErrorCount, BytesIn and
//     BytesOut.
func (s *Snapshot) Emit(fn func(Metric)) {
	counter, gauge := emitters(fn)
	for _, lb := range s.LoadBalancers {
		d := func() map[string]string { return map[string]string{"LoadBalancer": lb.LoadBalancer} }
		for c := range NumLBCounters {
			counter(c.Name(), c.Unit(), d(), lb.Counters[c])
		}
		gauge("ActiveConnectionCount", "Count", d(), float64(lb.ActiveConnectionCount))
	}
	for _, g := range s.Groups {
		g.emit(fn)
	}
	for _, g := range s.Zones {
		g.emit(fn)
	}
	for _, t := range s.Targets {
		d := func() map[string]string { return map[string]string{"TargetGroup": t.TargetGroup, "Target": t.Target} }
		counter("RequestCountPerTarget", "Count", d(), t.Requests)
		counter("TargetConnectionErrorCount", "Count", d(), t.ConnectionErrors)
		counter("BytesIn", "Bytes", d(), t.BytesIn)
		counter("BytesOut", "Bytes", d(), t.BytesOut)
	}
}

// emit reports the group's counters, host counts and TargetResponseTime
// (see Snapshot.Emit) with its dimensions, AvailabilityZone when set.
func (g *GroupSnapshot) emit(fn func(Metric)) {
	d := func() map[string]string {
		m := map[string]string{"LoadBalancer": g.LoadBalancer, "TargetGroup": g.TargetGroup}
		if g.AvailabilityZone != "" {
			m["AvailabilityZone"] = g.AvailabilityZone
		}
		return m
	}
	counter, gauge := emitters(fn)
	for c := range NumGroupCounters {
		counter(c.Name(), "Count", d(), g.Counters[c])
	}
	gauge("HealthyHostCount", "Count", d(), float64(g.HealthyHostCount))
	gauge("UnHealthyHostCount", "Count", d(), float64(g.UnHealthyHostCount))
	stat := func(name string) map[string]string {
		m := d()
		m["Statistic"] = name
		return m
	}
	fn(Metric{Name: "TargetResponseTime", Dimensions: stat("Sum"), Value: float64(g.ResponseTimeSumMicros) / 1e6, Unit: "Seconds", Kind: "counter"})
	counter("TargetResponseTime", "Count", stat("SampleCount"), g.ResponseTimeCount)
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}} {
		gauge("TargetResponseTime", "Seconds", stat(q.name), quantileOf(g.ResponseTimes, q.q))
	}
}

// emitters return functions that report a counter and a gauge to fn.
func emitters(fn func(Metric)) (counter func(name, unit string, dims map[string]string, v int64), gauge func(name, unit string, dims map[string]string, v float64)) {
	counter = func(name, unit string, dims map[string]string, v int64) {
		fn(Metric{Name: name, Dimensions: dims, Value: float64(v), Unit: unit, Kind: "counter"})
	}
	gauge = func(name, unit string, dims map[string]string, v float64) {
		fn(Metric{Name: name, Dimensions: dims, Value: v, Unit: unit, Kind: "gauge"})
	}
	return counter, gauge
}
