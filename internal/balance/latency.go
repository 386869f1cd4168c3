package balance

// minCost is the smallest latency estimate, in nanoseconds, that enters a
// cost, so outstanding requests still count when estimates are near zero.
const minCost = 1000

// leastResponseTime picks the target with the lowest
// peak-EWMA latency × (outstanding + 1) / effective weight, as Linkerd and
// Finagle do. A target without samples yet borrows the lowest estimate of
// the others, so a new target gets traffic at once (ties are broken at
// random) while its outstanding requests still count, so a burst does not
// pile onto it before its first response. Pools of up to scanAll targets
// are scanned in full; larger ones use the power of two random choices,
// where a candidate without samples borrows the other's estimate.
type leastResponseTime struct {
	config
}

func (s *leastResponseTime) Select(ts []*Target, _ string) *Target {
	now := s.now().UnixNano()
	if len(ts) > scanAll {
		if t, ok := s.twoChoices(ts, now); ok {
			return t
		}
	}
	// Each estimate costs an exp; small pools compute it once.
	var cache [scanAll]float64
	small := len(ts) <= scanAll
	lowest := 0.0 // lowest estimate among sampled targets
	for i, t := range ts {
		if t.Weight <= 0 {
			continue
		}
		e := t.estimate(now)
		if small {
			cache[i] = e
		}
		if e > 0 && (lowest == 0 || e < lowest) {
			lowest = e
		}
	}
	var best *Target
	var bestCost float64
	var tieW int64
	for i, t := range ts {
		w := s.weight(t, now)
		if w == 0 {
			continue
		}
		var e float64
		if small {
			e = cache[i]
		} else {
			e = t.estimate(now)
		}
		if e == 0 {
			e = lowest
		}
		c := cost(e, t.outstanding.Load(), w)
		switch {
		case best == nil || c < bestCost:
			best, bestCost, tieW = t, c, w
		case c == bestCost:
			tieW += w
			if int64(s.intn(uint64(tieW))) < w {
				best = t
			}
		}
	}
	return best
}

func (s *leastResponseTime) twoChoices(ts []*Target, now int64) (*Target, bool) {
	a, wa, b, wb, ok := pickTwo(&s.config, ts, now)
	if !ok {
		return nil, false
	}
	ea, eb := a.estimate(now), b.estimate(now)
	if ea == 0 {
		ea = eb
	}
	if eb == 0 {
		eb = ea
	}
	ca, cb := cost(ea, a.outstanding.Load(), wa), cost(eb, b.outstanding.Load(), wb)
	switch {
	case ca < cb:
		return a, true
	case cb < ca:
		return b, true
	}
	if int64(s.intn(uint64(wa+wb))) < wa {
		return a, true
	}
	return b, true
}

// cost is the load score of a target: lower is better.
func cost(estimate float64, outstanding, weight int64) float64 {
	return max(estimate, minCost) * float64(max(outstanding, 0)+1) / float64(weight)
}

var _ Selector = (*leastResponseTime)(nil)
