package balance

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"time"
)

// Selector picks one target for a request.
//
// Contract: ts holds only eligible targets (healthy or fail-open, not
// draining) and is never modified. Select returns nil only if ts is empty
// or every weight is 0. key is the request's hash key, used only by
// consistent_hash; it may be empty. Select must be safe for concurrent use
// and must not allocate.
type Selector interface {
	Select(ts []*Target, key string) *Target
}

// Options tune every selector.
type Options struct {
	// SlowStart is the slow-start duration; 0 turns it off. A target in
	// slow start gets an effective weight that ramps linearly from 10% to
	// 100% of its weight over SlowStart after its HealthySince time. Unlike
	// AWS, madang applies it to every algorithm, least outstanding
	// requests included.
	SlowStart time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand returns uniformly random 64-bit values and must be safe for
	// concurrent use; nil means math/rand/v2's fast per-thread source.
	Rand func() uint64
}

// Algorithm names accepted by New. The first three are AWS's
// load_balancing.algorithm.type values; the last two are madang's own.
const (
	RoundRobin               = "round_robin"
	LeastOutstandingRequests = "least_outstanding_requests"
	WeightedRandom           = "weighted_random"
	LeastResponseTime        = "least_response_time"
	ConsistentHash           = "consistent_hash"
)

// Algorithms returns the valid algorithm names.
func Algorithms() []string {
	return []string{RoundRobin, LeastOutstandingRequests, WeightedRandom, LeastResponseTime, ConsistentHash}
}

// New returns the selector for algorithm, one of Algorithms.
//
// Selectors keep no per-request state. Round robin with unequal weights
// and consistent_hash keep state for the pool they last adopted, and
// allocate only when they adopt a new one: when a target joins, or when a
// smaller pool lasts longer than a few picks (retries that skip tried
// targets are served from the adopted state).
func New(algorithm string, opts Options) (Selector, error) {
	if opts.SlowStart < 0 {
		return nil, fmt.Errorf("balance: slow start %v is negative: use 0 to turn it off or a positive duration", opts.SlowStart)
	}
	c := newConfig(opts)
	switch algorithm {
	case RoundRobin:
		return &roundRobin{config: c}, nil
	case LeastOutstandingRequests:
		return &leastOutstanding{config: c}, nil
	case WeightedRandom:
		return &weightedRandom{config: c}, nil
	case LeastResponseTime:
		return &leastResponseTime{config: c}, nil
	case ConsistentHash:
		return newConsistentHash(c), nil
	}
	return nil, fmt.Errorf("balance: unknown load balancing algorithm %q: use one of %s", algorithm, strings.Join(Algorithms(), ", "))
}

// weightUnit scales weights so that slow-start fractions stay integral:
// an effective weight is Weight×weightUnit at full strength.
const weightUnit = 1000

// scanAll is the pool size up to which the load-aware algorithms compare
// every target; larger pools use the power of two random choices.
const scanAll = 8

// config is what every selector shares: the clock, the randomness and the
// slow-start ramp.
type config struct {
	now       func() time.Time
	rand      func() uint64
	slowStart int64 // nanoseconds; 0 = off
}

func newConfig(opts Options) config {
	c := config{now: opts.Now, rand: opts.Rand, slowStart: int64(opts.SlowStart)}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rand == nil {
		c.rand = rand.Uint64
	}
	return c
}

// clock returns the current time in unix nanoseconds if slow start needs
// it, else 0.
func (c *config) clock() int64 {
	if c.slowStart == 0 {
		return 0
	}
	return c.now().UnixNano()
}

// weight returns t's effective weight at now (unix nanoseconds): its
// configured weight times weightUnit, scaled down while t is in slow start.
func (c *config) weight(t *Target, now int64) int64 {
	if t.Weight <= 0 {
		return 0
	}
	w := int64(t.Weight) * weightUnit
	if c.slowStart == 0 {
		return w
	}
	since := t.healthySince.Load()
	if since == 0 {
		return w
	}
	elapsed := now - since
	if elapsed >= c.slowStart {
		return w
	}
	if elapsed*10 <= c.slowStart {
		return w / 10
	}
	return int64(float64(w) * float64(elapsed) / float64(c.slowStart))
}

// intn returns a uniformly random value in [0, n) for n > 0.
func (c *config) intn(n uint64) uint64 {
	hi, _ := bits.Mul64(c.rand(), n)
	return hi
}
