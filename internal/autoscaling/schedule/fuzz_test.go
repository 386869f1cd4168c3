package schedule

import (
	"testing"
	"time"
)

func FuzzNext(f *testing.F) {
	seeds := []struct {
		expr, zone string
		after      int64
	}{
		{"* * * * *", "", 0},
		{"30 2 * * *", "America/New_York", 1772953200},
		{"30 1 * * *", "America/New_York", 1793500000},
		{"0 0 29 2 *", "Asia/Seoul", 1735689600},
		{"0 0 13 * FRI", "Pacific/Apia", 1325030400},
		{"*/7 */5 1-31/3 JAN-DEC/2 SUN-SAT", "Australia/Lord_Howe", 1700000000},
		{"0 0 30 2 *", "", 1700000000},
	}
	for _, s := range seeds {
		f.Add(s.expr, s.zone, s.after)
	}
	f.Fuzz(func(t *testing.T, expr, zone string, after int64) {
		// Keep after within years time.Date handles without overflow.
		after %= 1 << 36
		a := Action{Recurrence: expr, TimeZone: zone}
		at := time.Unix(after, 0)
		next, ok := a.Next(at)
		if ok && !next.After(at) {
			t.Fatalf("Next(%v) for %q in %q = %v, not after", at, expr, zone, next)
		}
	})
}
