package proxy

// InFlight returns how many requests are in flight to a target (by target
// ID) across all target groups. The control plane uses it to stop an
// instance only once the load balancer has no request outstanding on it.
func (p *Proxy) InFlight(targetID string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int64
	for _, lt := range p.targets {
		if lt.id == targetID && lt.bt != nil {
			n += lt.bt.Outstanding()
		}
	}
	return n
}
