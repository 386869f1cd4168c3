package balance

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Ring sizing for consistent_hash: each target gets points on a 64-bit
// ring in proportion to its effective weight, pointsPerTarget for a target
// of average weight, with at most maxRing points in all. A target's count
// depends only on its weight and the pool's mean weight, so adding or
// removing a target of average weight leaves every other target's points
// in place.
const (
	pointsPerTarget = 256
	maxRing         = 1 << 16
	// slowStartSteps quantizes slow-start weights for the ring, so a
	// ramping target rebuilds the ring at most this many times.
	slowStartSteps = 10
)

// consistentHash maps keys to targets on a hash ring (ketama style): a
// target's points depend only on its ID and its share of the total weight,
// so adding or removing one of N targets moves about 1/N of the keys. The
// ring is read lock-free. A pool that is a subset of the ring's (a retry
// that skips the targets already tried) walks on from the key's point to
// the next target in the pool, which is where the key would go if the
// missing targets were removed; a pool that stays different for
// adoptAfter picks, or a weight or slow-start step that changes, rebuilds
// the ring. An empty key falls back to round robin.
type consistentHash struct {
	config
	rr     roundRobin
	ring   atomic.Pointer[ring]
	misses atomic.Int64 // consecutive picks from a subset of the ring's pool

	// mu serializes ring rebuilds.
	mu sync.Mutex
}

func newConsistentHash(c config) *consistentHash {
	return &consistentHash{config: c, rr: roundRobin{config: c}}
}

// ring is an immutable hash ring over one pool.
type ring struct {
	targets []*Target         // the pool it was built for, in order
	index   map[*Target]int32 // position of each target in targets
	weights []int64           // ring weight of each target
	points  []uint64          // sorted hash points
	owners  []int32           // owners[i] indexes targets for points[i]
}

func (s *consistentHash) Select(ts []*Target, key string) *Target {
	if key == "" {
		return s.rr.Select(ts, key)
	}
	now := s.clock()
	r := s.ring.Load()
	subset := false
	switch {
	case r.fits(s, ts, now):
		if s.misses.Load() != 0 {
			s.misses.Store(0)
		}
	case s.misses.Load() < adoptAfter && r.covers(s, ts, now):
		s.misses.Add(1)
		subset = true
	default:
		r = s.rebuild(ts, now)
	}
	if len(r.points) == 0 || len(ts) == 0 {
		return nil
	}
	i, _ := slices.BinarySearch(r.points, HashKey(key))
	if i == len(r.points) {
		i = 0
	}
	if !subset {
		return ts[r.owners[i]]
	}
	for range r.points {
		t := r.targets[r.owners[i]]
		for _, u := range ts {
			if u == t {
				return t
			}
		}
		if i++; i == len(r.points) {
			i = 0
		}
	}
	return nil // every target of ts has weight 0
}

// ringWeight is t's effective weight with slow start in whole steps.
func (s *consistentHash) ringWeight(t *Target, now int64) int64 {
	w := s.weight(t, now)
	if w == 0 || s.slowStart == 0 {
		return w
	}
	full := int64(t.Weight) * weightUnit
	step := (w*slowStartSteps + full - 1) / full // ceil, 1…slowStartSteps
	return full * step / slowStartSteps
}

// fits reports whether r was built for exactly this pool and these
// weights.
func (r *ring) fits(s *consistentHash, ts []*Target, now int64) bool {
	if r == nil || len(r.targets) != len(ts) {
		return false
	}
	for i, t := range ts {
		if r.targets[i] != t || r.weights[i] != s.ringWeight(t, now) {
			return false
		}
	}
	return true
}

// covers reports whether every target of ts is on r with its current
// ring weight.
func (r *ring) covers(s *consistentHash, ts []*Target, now int64) bool {
	if r == nil || len(ts) > len(r.targets) {
		return false
	}
	for _, t := range ts {
		i, ok := r.index[t]
		if !ok || r.weights[i] != s.ringWeight(t, now) {
			return false
		}
	}
	return true
}

func (s *consistentHash) rebuild(ts []*Target, now int64) *ring {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.ring.Load(); r.fits(s, ts, now) {
		return r // another caller built it meanwhile
	}
	r := buildRing(ts, func(t *Target) int64 { return s.ringWeight(t, now) })
	s.ring.Store(r)
	s.misses.Store(0)
	return r
}

// buildRing places each target's points; a target keeps the same points
// (its first k of an endless per-ID sequence) when others come and go.
func buildRing(ts []*Target, weight func(*Target) int64) *ring {
	r := &ring{
		targets: slices.Clone(ts),
		index:   make(map[*Target]int32, len(ts)),
		weights: make([]int64, len(ts)),
	}
	var total int64
	var active int
	for i, t := range ts {
		r.index[t] = int32(i)
		r.weights[i] = weight(t)
		total += r.weights[i]
		if r.weights[i] > 0 {
			active++
		}
	}
	if total == 0 {
		return r
	}
	size := min(active*pointsPerTarget, maxRing)
	type point struct {
		hash  uint64
		owner int32
	}
	pts := make([]point, 0, size+len(ts))
	for i, t := range ts {
		w := r.weights[i]
		if w == 0 {
			continue
		}
		n := max(int((w*int64(size)+total/2)/total), 1)
		base := HashKey(t.ID)
		for k := range n {
			pts = append(pts, point{hash: mix(base + uint64(k+1)*golden), owner: int32(i)})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		// Equal hashes (vanishingly rare): order by ID so the owner does
		// not depend on the pool's order.
		switch ia, ib := ts[a.owner].ID, ts[b.owner].ID; {
		case ia < ib:
			return -1
		case ia > ib:
			return 1
		}
		return 0
	})
	r.points = make([]uint64, len(pts))
	r.owners = make([]int32, len(pts))
	for i, p := range pts {
		r.points[i], r.owners[i] = p.hash, p.owner
	}
	return r
}

// golden is 2^64 divided by the golden ratio, the usual increment for
// spreading a counter over 64 bits.
const golden = 0x9e3779b97f4a7c15

// HashKey is the stable 64-bit hash consistent_hash uses for request keys
// and target IDs: FNV-1a followed by a 64-bit finalizer. It is the same in
// every process and release, so a key maps to the same target across
// restarts while the pool is unchanged.
func HashKey(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return mix(h)
}

// mix is the SplitMix64 finalizer, a bijection that spreads every input
// bit over the output.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

var _ Selector = (*consistentHash)(nil)
