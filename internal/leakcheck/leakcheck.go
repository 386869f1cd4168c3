// Package leakcheck finds goroutines that outlive the tests that started
// them. It is for tests: a TestMain calls Check after m.Run with a
// Matcher for the package's own goroutines, or a test takes a Snapshot
// first and checks that what it started has ended.
package leakcheck

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// pollInterval is how often Check looks again while goroutines are still
// ending.
const pollInterval = 10 * time.Millisecond

// Goroutine is one goroutine as runtime.Stack prints it.
type Goroutine struct {
	// ID is the goroutine's number.
	ID uint64
	// Stack is its header line and stack trace.
	Stack string
}

// Running returns every goroutine but the caller's.
func Running() []Goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []Goroutine
	first := true
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if first { // runtime.Stack lists the caller first
			first = false
			continue
		}
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		out = append(out, Goroutine{ID: goroutineID(g), Stack: g})
	}
	return out
}

// goroutineID reads N from a "goroutine N [state]:" header; 0 if absent.
func goroutineID(stack string) uint64 {
	rest, ok := strings.CutPrefix(stack, "goroutine ")
	if !ok {
		return 0
	}
	num, _, _ := strings.Cut(rest, " ")
	id, _ := strconv.ParseUint(num, 10, 64)
	return id
}

// A Matcher selects the goroutines a check is about.
type Matcher func(Goroutine) bool

// Contains selects goroutines whose stack contains any of subs, e.g. a
// package path ("madang/internal/state.") or a function
// ("internal/health.(*target).run").
func Contains(subs ...string) Matcher {
	return func(g Goroutine) bool {
		for _, s := range subs {
			if strings.Contains(g.Stack, s) {
				return true
			}
		}
		return false
	}
}

// Snapshot is the set of goroutines running at one moment.
type Snapshot map[uint64]bool

// Take returns the goroutines running now (but the caller's).
func Take() Snapshot {
	s := Snapshot{}
	for _, g := range Running() {
		s[g.ID] = true
	}
	return s
}

// Since selects goroutines that were not running when s was taken.
func (s Snapshot) Since() Matcher {
	return func(g Goroutine) bool { return !s[g.ID] }
}

// Check waits up to timeout for every goroutine that match selects to
// end. It returns nil once none runs, or an error listing the stacks of
// those still running when timeout passes.
func Check(timeout time.Duration, match Matcher) error {
	deadline := time.Now().Add(timeout)
	for {
		var left []string
		for _, g := range Running() {
			if match(g) {
				left = append(left, g.Stack)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%d goroutines still running after %s:\n\n%s", len(left), timeout, strings.Join(left, "\n\n"))
		}
		time.Sleep(pollInterval)
	}
}
