package daemon

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name  string
		live  uint64
		floor uint64
		want  int
	}{
		{name: "no collection yet", live: 0, floor: 32 * mib, want: 100},
		{name: "tiny heap is capped", live: 1 * mib, floor: 32 * mib, want: gcPercentMax},
		{name: "small heap grows to the floor", live: 8 * mib, floor: 32 * mib, want: 300},
		{name: "just under half the floor", live: 15 * mib, floor: 32 * mib, want: 113},
		{name: "half the floor: Go's default", live: 16 * mib, floor: 32 * mib, want: 100},
		{name: "large heap: Go's default", live: 500 * mib, floor: 32 * mib, want: 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := gcPercentFor(tc.live, tc.floor); got != tc.want {
				t.Errorf("gcPercentFor(%d MiB, %d MiB) = %d, want %d", tc.live/mib, tc.floor/mib, got, tc.want)
			}
		})
	}
}

// TestGCTunerFollowsCollections: after a collection the tuner sets the
// percentage for the live heap it left (a floor far above it: the cap),
// and again after the next one once the floor is below the heap.
func TestGCTunerFollowsCollections(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	adjusted := make(chan int, 16)
	tuner := startGCTuner(1<<40, adjusted)
	defer tuner.stopped.Store(true)
	runtime.GC()
	select {
	case pct := <-adjusted:
		if pct != gcPercentMax {
			t.Fatalf("after a collection with a floor of 1 TiB: percent %d, want %d", pct, gcPercentMax)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no adjustment after a collection")
	}
	if got := debug.SetGCPercent(gcPercentMax); got != gcPercentMax {
		t.Errorf("the runtime's GC percent is %d, want %d", got, gcPercentMax)
	}
	tuner.floor.Store(1) // below any heap: Go's default again
	runtime.GC()
	select {
	case pct := <-adjusted:
		if pct != 100 {
			t.Fatalf("with a floor below the heap: percent %d, want 100", pct)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no adjustment after the second collection")
	}
}
