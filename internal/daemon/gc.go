package daemon

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// The daemon's live heap is small (about 8 MiB with fifty instances), so
// Go's default pacing (collect when the heap has doubled) collects every
// few MiB of allocation: a launch of 50 into a fresh daemon allocates
// about 10 MiB and paid two or three collections for it, 20 ms of CPU
// with GODEBUG=gctrace=1, an eighth of the daemon's share of the launch.
// The daemon therefore lets the heap grow to at least GCHeapFloor before
// it collects: after each collection it sets the GC percentage so that
// the next goal is the larger of the floor and twice the live heap (Go's
// default), so a large daemon is paced as Go would pace it and a small
// one does not collect for every few MiB. GOGC in the environment turns
// this off.

// GCHeapFloor is the heap size below which the daemon does not collect.
const GCHeapFloor = 32 << 20

// gcPercentMax bounds the percentage set for a tiny live heap.
const gcPercentMax = 1000

// gcPercentFor returns the GC percentage that puts the next collection at
// the larger of floor and twice live.
func gcPercentFor(live, floor uint64) int {
	if live == 0 || live*2 >= floor {
		return 100
	}
	pct := int((floor - live) * 100 / live)
	return min(max(pct, 100), gcPercentMax)
}

// TuneGC paces the process's collector with GCHeapFloor (see above) until
// stop is called; it does nothing when GOGC is set. Call it once, from the
// daemon's process (it sets the process-wide GC percentage).
func TuneGC() (stop func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	t := startGCTuner(GCHeapFloor, nil)
	return func() { t.stopped.Store(true) }
}

// startGCTuner starts pacing with floor; adjusted, if not nil, hears
// every percentage set.
func startGCTuner(floor uint64, adjusted chan<- int) *gcTuner {
	t := &gcTuner{adjusted: adjusted, pct: 100, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.floor.Store(floor)
	t.adjust()
	t.arm()
	return t
}

// gcTuner re-sets the GC percentage after every collection: a sentinel
// object with a finalizer is dropped, and each collection runs the
// finalizer, which adjusts and drops a new one.
type gcTuner struct {
	floor   atomic.Uint64
	stopped atomic.Bool
	// adjusted hears each percentage set (tests).
	adjusted chan<- int
	// sample and pct (the percentage set; 100 at first, as GOGC is unset)
	// are used by one finalizer at a time.
	sample []metrics.Sample
	pct    int
}

type gcSentinel struct{ t *gcTuner }

func (t *gcTuner) arm() {
	s := &gcSentinel{t: t}
	runtime.SetFinalizer(s, func(s *gcSentinel) {
		if s.t.stopped.Load() {
			return
		}
		s.t.adjust()
		s.t.arm()
	})
}

// adjust sets the percentage for the live heap of the last collection.
func (t *gcTuner) adjust() {
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	if pct := gcPercentFor(t.sample[0].Value.Uint64(), t.floor.Load()); pct != t.pct {
		t.pct = pct
		debug.SetGCPercent(pct)
		if t.adjusted != nil {
			t.adjusted <- pct
		}
	}
}
