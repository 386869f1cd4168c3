package balance

// weightedRandom picks each target with probability proportional to its
// effective weight.
type weightedRandom struct {
	config
}

func (s *weightedRandom) Select(ts []*Target, _ string) *Target {
	now := s.clock()
	var total int64
	for _, t := range ts {
		total += s.weight(t, now)
	}
	if total == 0 {
		return nil
	}
	r := int64(s.intn(uint64(total)))
	var last *Target
	for _, t := range ts {
		w := s.weight(t, now)
		if w == 0 {
			continue
		}
		if r < w {
			return t
		}
		r -= w
		last = t
	}
	// Only reachable if a slow-start weight grew between the two passes.
	return last
}

var _ Selector = (*weightedRandom)(nil)
