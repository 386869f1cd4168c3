package auth

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Throttling of failed sign-ins.
const (
	// FreeFailures is how many failures within FailureWindow go unpunished.
	FreeFailures = 5
	// FailureWindow is how long a failure is remembered: a key with no
	// failure for this long starts again from zero.
	FailureWindow = 15 * time.Minute
	// MaxThrottle caps the delay, which doubles from one second with each
	// failure past FreeFailures.
	MaxThrottle = 5 * time.Minute
	// maxLimiterEntries bounds the limiter's memory.
	maxLimiterEntries = 10000
)

// ThrottledError refuses an attempt made too soon after repeated
// failures. errors.Is(err, ErrThrottled) holds for it.
type ThrottledError struct {
	// RetryAfter is how long to wait before the next attempt is heard.
	RetryAfter time.Duration
}

// Error says how long to wait.
func (e *ThrottledError) Error() string {
	wait := max(e.RetryAfter.Round(time.Second), time.Second)
	return fmt.Sprintf("%v; try again in %v", ErrThrottled, wait)
}

// Is reports whether target is ErrThrottled.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// failures is the limiter's record of one key.
type failures struct {
	count int
	last  time.Time
	until time.Time
}

// limiter counts failed attempts per client address and per user name.
type limiter struct {
	now func() time.Time

	// mu guards the fields that follow.
	mu        sync.Mutex
	entries   map[string]*failures
	lastSweep time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, entries: make(map[string]*failures)}
}

// keys returns the limiter keys of an attempt; empty parts are skipped.
func limiterKeys(user, client string) []string {
	var keys []string
	if user != "" {
		keys = append(keys, "user\x00"+user)
	}
	if client != "" {
		keys = append(keys, "client\x00"+client)
	}
	return keys
}

// check returns a *ThrottledError if the user or the client must wait.
func (l *limiter) check(user, client string) error {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range limiterKeys(user, client) {
		if f, ok := l.entries[k]; ok && now.Before(f.until) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// fail records a failed attempt of user from client.
func (l *limiter) fail(user, client string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range limiterKeys(user, client) {
		f, ok := l.entries[k]
		if !ok {
			l.makeRoom(now)
			f = &failures{}
			l.entries[k] = f
		}
		if now.Sub(f.last) > FailureWindow {
			f.count = 0
		}
		f.count++
		f.last = now
		if f.count >= FreeFailures {
			f.until = now.Add(throttleDelay(f.count - FreeFailures))
		}
	}
}

// succeed forgets the failures of user.
func (l *limiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, "user\x00"+user)
}

// throttleDelay is 1 s doubled n times, capped at MaxThrottle.
func throttleDelay(n int) time.Duration {
	if n >= 20 {
		return MaxThrottle
	}
	return min(time.Second<<n, MaxThrottle)
}

// makeRoom forgets stale entries (at most once per FailureWindow, or
// when the map is full) and, if the map is still full, the tenth of the
// entries with the oldest failures. l.mu must be held.
func (l *limiter) makeRoom(now time.Time) {
	if len(l.entries) < maxLimiterEntries && now.Sub(l.lastSweep) < FailureWindow {
		return
	}
	l.lastSweep = now
	for k, f := range l.entries {
		if now.Sub(f.last) > FailureWindow && !now.Before(f.until) {
			delete(l.entries, k)
		}
	}
	if len(l.entries) < maxLimiterEntries {
		return
	}
	keys := slices.Collect(maps.Keys(l.entries))
	slices.SortFunc(keys, func(a, b string) int { return l.entries[a].last.Compare(l.entries[b].last) })
	for _, k := range keys[:len(keys)/10] {
		delete(l.entries, k)
	}
}

// len returns the number of entries (for tests).
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
