package balance

import (
	"sync"
	"sync/atomic"
)

// roundRobin is smooth weighted round robin as in nginx: every pick adds
// each target's effective weight to its running weight, picks the target
// with the largest running weight and subtracts the total from it. Equal
// weights give the plain order ts[0], ts[1], …; unequal ones interleave
// (weights 5,1,1 give a a b a c a a, not a a a a a b c). When every
// effective weight is equal the pick is a lock-free counter; otherwise a
// short mutex serializes the running weights.
type roundRobin struct {
	config
	next atomic.Uint64 // equal-weights position

	// mu guards the fields that follow.
	mu   sync.Mutex
	pool []*Target // the pool the running weights belong to
	cur  []int64   // running weight of pool[i]
}

func (s *roundRobin) Select(ts []*Target, _ string) *Target {
	now := s.clock()
	if t, ok := s.equal(ts, now); ok {
		return t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !samePool(s.pool, ts) {
		s.adoptLocked(ts)
	}
	cur := s.cur[:len(ts)]
	best := -1
	var bestCur, total int64
	for i, t := range ts {
		w := s.weight(t, now)
		if w == 0 {
			continue
		}
		c := cur[i] + w
		cur[i] = c
		total += w
		if best < 0 || c > bestCur {
			best, bestCur = i, c
		}
	}
	if best < 0 {
		return nil
	}
	cur[best] -= total
	return ts[best]
}

// adoptLocked switches the running weights to a new pool, keeping those
// of targets that stay so the order stays smooth. It allocates, but only
// when the pool changes.
func (s *roundRobin) adoptLocked(ts []*Target) {
	cur := make([]int64, len(ts))
	if len(s.pool) > 0 {
		old := make(map[*Target]int64, len(s.pool))
		for i, t := range s.pool {
			old[t] = s.cur[i]
		}
		for i, t := range ts {
			cur[i] = old[t]
		}
	}
	s.pool = append(s.pool[:0:0], ts...)
	s.cur = cur
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
