package balance

// leastOutstanding picks the target with the fewest outstanding requests
// per unit of effective weight. Ties (idle pools in particular) are broken
// at random in proportion to weight, so weights hold at low load too. Pools
// of up to scanAll targets are scanned in full; larger ones use the power
// of two random choices.
type leastOutstanding struct {
	config
}

func (s *leastOutstanding) Select(ts []*Target, _ string) *Target {
	now := s.clock()
	if len(ts) > scanAll {
		if t, ok := s.twoChoices(ts, now); ok {
			return t
		}
	}
	var best *Target
	var bestOut, bestW, tieW int64
	for _, t := range ts {
		w := s.weight(t, now)
		if w == 0 {
			continue
		}
		out := max(t.outstanding.Load(), 0)
		if best == nil {
			best, bestOut, bestW, tieW = t, out, w, w
			continue
		}
		// out/w < bestOut/bestW without division.
		a, b := out*bestW, bestOut*w
		switch {
		case a < b:
			best, bestOut, bestW, tieW = t, out, w, w
		case a == b:
			tieW += w
			if int64(s.intn(uint64(tieW))) < w {
				best, bestOut, bestW = t, out, w
			}
		}
	}
	return best
}

// twoChoices compares two distinct random targets with positive weight; it
// reports false if it could not find two.
func (s *leastOutstanding) twoChoices(ts []*Target, now int64) (*Target, bool) {
	a, wa, b, wb, ok := pickTwo(&s.config, ts, now)
	if !ok {
		return nil, false
	}
	oa, ob := max(a.outstanding.Load(), 0), max(b.outstanding.Load(), 0)
	x, y := oa*wb, ob*wa
	switch {
	case x < y:
		return a, true
	case y < x:
		return b, true
	}
	if int64(s.intn(uint64(wa+wb))) < wa {
		return a, true
	}
	return b, true
}

// pickTwo draws two distinct targets with positive effective weight,
// uniformly, with a bounded number of tries.
func pickTwo(c *config, ts []*Target, now int64) (a *Target, wa int64, b *Target, wb int64, ok bool) {
	n := uint64(len(ts))
	for range 8 {
		i := c.intn(n)
		j := c.intn(n - 1)
		if j >= i {
			j++
		}
		a, b = ts[i], ts[j]
		wa, wb = c.weight(a, now), c.weight(b, now)
		if wa > 0 && wb > 0 {
			return a, wa, b, wb, true
		}
	}
	return nil, 0, nil, 0, false
}

var _ Selector = (*leastOutstanding)(nil)
