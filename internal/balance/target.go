// Package balance holds the load balancer's target selection algorithms:
// round robin, least outstanding requests, weighted random, least response
// time (peak EWMA) and consistent hashing, all behind the Selector
// interface. Every algorithm honours per-target weights and slow start.
// The data plane calls Select on every request: it does not allocate in
// steady state and takes at most one short lock.
package balance

import (
	"math"
	"sync/atomic"
	"time"
)

// Peak-EWMA latency estimation, after Finagle's and Linkerd's balancers.
const (
	// DecayTime is the time constant of the latency estimate: without new
	// samples an estimate falls to 1/e of its value every DecayTime, so a
	// target that was slow is retried once its estimate has decayed below
	// its peers' costs.
	DecayTime = 10 * time.Second
	// MinFailurePenalty is the smallest latency a failed request counts
	// as. A failure counts as the largest of its latency, twice the
	// current estimate and MinFailurePenalty, so targets that fail fast
	// do not attract traffic and repeated failures back off
	// exponentially.
	MinFailurePenalty = 10 * time.Millisecond
	// MaxFailurePenalty caps the doubling of repeated failures (a failed
	// request that really took longer still counts in full).
	MaxFailurePenalty = time.Minute
)

// Target is one backend as selectors see it. The proxy owns Target values,
// sets the config fields before publishing them and updates the live state
// through the methods, which are safe for concurrent use. The config fields
// must not change after the Target is first handed to a Selector; publish a
// new Target instead. A Target must not be copied after first use.
type Target struct {
	ID     string // instance id or ip
	Addr   string // "ip:port"
	Weight int    // configured weight, 0–1000; 0 gets no new requests

	outstanding  atomic.Int64  // requests begun and not yet ended
	healthySince atomic.Int64  // unix nanos; 0 = not in slow start
	ewma         atomic.Uint64 // math.Float64bits of the latency estimate in ns; 0 = no sample yet
	ewmaStamp    atomic.Int64  // unix nanos of the last sample
}

// NewTarget returns a target with the given identity, address and weight.
func NewTarget(id, addr string, weight int) *Target {
	return &Target{ID: id, Addr: addr, Weight: weight}
}

// Begin records that a request was sent to the target.
func (t *Target) Begin() { t.outstanding.Add(1) }

// End records that a request to the target finished after latency, at the
// current wall-clock time. Failed requests count as a latency penalty (see
// MinFailurePenalty) in the least-response-time estimate.
func (t *Target) End(latency time.Duration, failed bool) {
	t.EndAt(time.Now(), latency, failed)
}

// EndAt is End with the completion time given, for callers and tests that
// drive selectors with their own clock (Options.Now).
func (t *Target) EndAt(now time.Time, latency time.Duration, failed bool) {
	t.outstanding.Add(-1)
	t.observe(now.UnixNano(), latency, failed)
}

// Outstanding returns the number of requests begun and not yet ended.
func (t *Target) Outstanding() int64 { return t.outstanding.Load() }

// SetHealthySince records when the target last became healthy, which
// starts its slow-start ramp; the zero time means it is not in slow start.
// Following AWS, the proxy leaves targets that are healthy when a target
// group starts out of slow start, and takes a target that goes unhealthy
// out of it.
func (t *Target) SetHealthySince(ts time.Time) {
	if ts.IsZero() {
		t.healthySince.Store(0)
		return
	}
	t.healthySince.Store(ts.UnixNano())
}

// HealthySince returns the time set by SetHealthySince, or the zero time.
func (t *Target) HealthySince() time.Time {
	n := t.healthySince.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Latency returns the target's peak-EWMA latency estimate at now, or 0 if
// it has no samples yet.
func (t *Target) Latency(now time.Time) time.Duration {
	return time.Duration(t.estimate(now.UnixNano()))
}

// estimate returns the latency estimate in nanoseconds at now, decayed
// toward zero since the last sample; 0 means no sample yet.
func (t *Target) estimate(now int64) float64 {
	v := math.Float64frombits(t.ewma.Load())
	if v == 0 {
		return 0
	}
	return v * decay(now-t.ewmaStamp.Load())
}

// decay returns the weight exp(-dt/DecayTime) that an estimate dt old
// keeps.
func decay(dt int64) float64 {
	if dt <= 0 {
		return 1
	}
	return math.Exp(-float64(dt) / float64(DecayTime))
}

// observe folds one latency sample taken at now into the peak EWMA: a
// sample above the current estimate replaces it (peak sensitivity), a lower
// one pulls it down with a weight that grows with the time since the last
// sample.
func (t *Target) observe(now int64, latency time.Duration, failed bool) {
	rtt := float64(latency)
	if rtt < 1 {
		rtt = 1 // a sample of 0 would read as "no sample"
	}
	for {
		old := t.ewma.Load()
		v := math.Float64frombits(old)
		w := decay(now - t.ewmaStamp.Load())
		sample := rtt
		if failed {
			sample = max(sample, min(2*v*w, float64(MaxFailurePenalty)), float64(MinFailurePenalty))
		}
		next := sample
		if v != 0 && sample < v {
			next = v*w + sample*(1-w)
		}
		if t.ewma.CompareAndSwap(old, math.Float64bits(next)) {
			t.ewmaStamp.Store(now)
			return
		}
	}
}
