package shim

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestTuneHostGC: the host collects at 5x heap growth under a soft
// limit, unless GOGC or GOMEMLIMIT says otherwise.
func TestTuneHostGC(t *testing.T) {
	restore := func(pct int, limit int64) {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	}
	tests := []struct {
		name      string
		gogc      string
		memlimit  string
		wantPct   int
		wantLimit int64
	}{
		{name: "defaults", wantPct: hostGCPercent, wantLimit: hostMemoryLimit},
		{name: "GOGC set", gogc: "50", wantPct: 77, wantLimit: hostMemoryLimit},
		{name: "GOMEMLIMIT set", memlimit: "1GiB", wantPct: hostGCPercent, wantLimit: math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.memlimit)
			// What the environment would have set, as the runtime reads
			// it only at start: 77 and no limit stand for "left alone".
			prevPct := debug.SetGCPercent(77)
			prevLimit := debug.SetMemoryLimit(math.MaxInt64)
			defer restore(prevPct, prevLimit)
			tuneHostGC()
			if got := debug.SetGCPercent(77); got != tc.wantPct {
				t.Errorf("GC percent = %d, want %d", got, tc.wantPct)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
				t.Errorf("memory limit = %d, want %d", got, tc.wantLimit)
			}
		})
	}
}
