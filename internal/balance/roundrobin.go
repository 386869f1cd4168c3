package balance

import (
	"sync"
	"sync/atomic"
)

// adoptAfter is how many consecutive picks from a pool other than the
// adopted one it takes before a selector adopts the new pool. Until then a
// pool that is a subset of the adopted one (a retry that skips the targets
// already tried, or a target briefly ineligible) is served from the
// adopted state without allocating.
const adoptAfter = 16

// roundRobin is smooth weighted round robin as in nginx: every pick adds
// each target's effective weight to its running weight, picks the target
// with the largest running weight and subtracts the total from it. Equal
// weights give the plain order ts[0], ts[1], …; unequal ones interleave
// (weights 5,1,1 give a a b a c a a, not a a a a a b c). When every
// effective weight is equal the pick is a lock-free counter; otherwise a
// short mutex serializes the running weights, which belong to the pool last
// adopted; adopting a new pool allocates once.
type roundRobin struct {
	config
	next atomic.Uint64 // equal-weights position

	// mu guards the fields that follow.
	mu     sync.Mutex
	pool   []*Target         // the adopted pool
	index  map[*Target]int32 // position of each target in pool
	cur    []int64           // running weight of pool[i]
	misses int               // consecutive picks from another pool
}

func (s *roundRobin) Select(ts []*Target, _ string) *Target {
	now := s.clock()
	if t, ok := s.equal(ts, now); ok {
		return t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if samePool(s.pool, ts) {
		s.misses = 0
		return s.pickLocked(ts, now, false)
	}
	if s.misses < adoptAfter && s.subsetLocked(ts) {
		s.misses++
		return s.pickLocked(ts, now, true)
	}
	s.adoptLocked(ts)
	return s.pickLocked(ts, now, false)
}

// pickLocked runs one round of smooth weighted round robin over ts, which
// is the adopted pool or, with mapped set, a subset of it.
func (s *roundRobin) pickLocked(ts []*Target, now int64, mapped bool) *Target {
	best, bestPos := -1, 0
	var bestCur, total int64
	for i, t := range ts {
		w := s.weight(t, now)
		if w == 0 {
			continue
		}
		pos := i
		if mapped {
			pos = int(s.index[t])
		}
		c := s.cur[pos] + w
		s.cur[pos] = c
		total += w
		if best < 0 || c > bestCur {
			best, bestPos, bestCur = i, pos, c
		}
	}
	if best < 0 {
		return nil
	}
	s.cur[bestPos] -= total
	return ts[best]
}

// subsetLocked reports whether every target of ts is in the adopted pool.
func (s *roundRobin) subsetLocked(ts []*Target) bool {
	if len(ts) > len(s.pool) {
		return false
	}
	for _, t := range ts {
		if _, ok := s.index[t]; !ok {
			return false
		}
	}
	return true
}

// adoptLocked makes ts the adopted pool, keeping the running weights of
// targets that stay so the order stays smooth.
func (s *roundRobin) adoptLocked(ts []*Target) {
	cur := make([]int64, len(ts))
	index := make(map[*Target]int32, len(ts))
	for i, t := range ts {
		if j, ok := s.index[t]; ok {
			cur[i] = s.cur[j]
		}
		index[t] = int32(i)
	}
	s.pool = append(s.pool[:0:0], ts...)
	s.index, s.cur, s.misses = index, cur, 0
}

// samePool reports whether a and b hold the same targets in the same
// order.
func samePool(a, b []*Target) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// equal picks by counter when every target has the same positive
// effective weight, reporting whether it could.
func (s *roundRobin) equal(ts []*Target, now int64) (*Target, bool) {
	if len(ts) == 0 {
		return nil, true
	}
	w0 := s.weight(ts[0], now)
	if w0 == 0 {
		return nil, false
	}
	for _, t := range ts[1:] {
		if s.weight(t, now) != w0 {
			return nil, false
		}
	}
	n := s.next.Add(1) - 1
	return ts[n%uint64(len(ts))], true
}

var _ Selector = (*roundRobin)(nil)
