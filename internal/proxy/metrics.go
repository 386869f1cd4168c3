package proxy

import (
	"github.com/madang-dev/madang/internal/lbmetrics"
)

// Metric is one counter or gauge; see lbmetrics.Metric.
type Metric = lbmetrics.Metric

// Collect reports every metric: cumulative counters and current gauges,
// with AWS's names and the LoadBalancer and TargetGroup dimensions.
//
// TargetResponseTime is reported as its sum (Unit Seconds, dimension
// Statistic=Sum), its sample count (Statistic=SampleCount), cumulative
// histogram buckets (Statistic=Bucket, dimension Le=<upper bound in
// seconds>) and, as gauges over all samples so far, p50, p90 and p99
// (Statistic=p50 etc.). RequestCountPerTarget is per target, with a
// Target dimension. HealthyHostCount and UnHealthyHostCount are gauges per
// load balancer and target group, from the health SetHealthy last
// reported for each registered target that is not draining.
func (p *Proxy) Collect(fn func(Metric)) {
	p.mu.Lock()
	lbs := make(map[string]*lbmetrics.LBStats, len(p.lbStats))
	for k, v := range p.lbStats {
		lbs[k] = v
	}
	tgs := make(map[[2]string]*lbmetrics.GroupStats, len(p.tgStats))
	for k, v := range p.tgStats {
		tgs[k] = v
	}
	targets := make([]*liveTarget, 0, len(p.targets))
	for _, lt := range p.targets {
		targets = append(targets, lt)
	}
	p.mu.Unlock()

	// Host counts from the proxy's view of target health (active checks
	// and passive ejections, through SetHealthy), of targets not draining.
	hosts := map[string][2]int{}
	for name, g := range p.snap.Load().groups {
		var h [2]int
		for _, m := range g.members {
			switch {
			case m.draining:
			case m.lt.healthy.Load():
				h[0]++
			default:
				h[1]++
			}
		}
		hosts[name] = h
	}
	for name, s := range lbs {
		s.Emit(name, fn)
	}
	fn(Metric{Name: "ActiveConnectionCount", Dimensions: map[string]string{}, Value: float64(p.activeConns.Load()), Unit: "Count", Kind: "gauge"})
	for k, s := range tgs {
		s.Emit(k[0], k[1], fn)
		if h, ok := hosts[k[1]]; ok {
			lbmetrics.EmitHostCounts(k[0], k[1], h[0], h[1], fn)
		}
	}
	for _, lt := range targets {
		fn(Metric{Name: "RequestCountPerTarget", Dimensions: map[string]string{"TargetGroup": lt.group, "Target": lt.id}, Value: float64(lt.requests.Load()), Unit: "Count", Kind: "counter"})
	}
}
