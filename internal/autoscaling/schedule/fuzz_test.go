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
		if !ok {
			return
		}
		if !next.After(at) {
			t.Fatalf("Next(%v) for %q in %q = %v, not after", at, expr, zone, next)
		}
		// In UTC there are no transitions: the result matches the
		// recurrence field by field and is the first minute that does.
		if zone == "" {
			spec, _ := parseCron(expr)
			if !spec.matches(next.UTC()) {
				t.Fatalf("Next(%v) for %q = %v, which the recurrence does not match", at, expr, next)
			}
			for m := at.UTC().Truncate(time.Minute).Add(time.Minute); m.Before(next) && m.Sub(at) < 48*time.Hour; m = m.Add(time.Minute) {
				if spec.matches(m) {
					t.Fatalf("Next(%v) for %q = %v, but %v matches earlier", at, expr, next, m)
				}
			}
		}
	})
}

// matches reports whether t's wall clock matches the recurrence.
func (s cronSpec) matches(t time.Time) bool {
	return t.Second() == 0 && t.Nanosecond() == 0 &&
		s.minute&(1<<uint(t.Minute())) != 0 && s.hour&(1<<uint(t.Hour())) != 0 &&
		s.month&(1<<uint(t.Month())) != 0 && s.dayMatches(t.Day(), int(t.Weekday()))
}
