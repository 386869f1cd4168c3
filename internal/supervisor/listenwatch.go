package supervisor

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// A probe that read the listen table on its own cadence woke every
// millisecond on a timer of its own: fifty instances starting at once
// kept fifty goroutines and fifty timers firing each millisecond, 11 % of
// the daemon's CPU in the probes and about 20 % more in the scheduler's
// idle spinning and sysmon wake-ups that those timers fed. The table's
// watcher serves every waiting probe from one goroutine on one timer:
// it sleeps until the earliest waiter is due, makes one dump (12 µs: one
// walk of the listening hash, on the netlink socket it keeps while it
// runs; see sockdiag_linux.go) and tests every waiter's address against
// it (fifty tests and reschedules add under 1 µs), so fifty waiters cost
// one wake-up and one dump per interval, not fifty.
//
// Each waiter keeps the cadence a probe of its own had: checked every
// probeFirstDelay for its first probeFastFor, then a fifth longer after
// each check it was due for, to probeMaxDelay. Every dump checks every
// waiter, and one that a dump checked before it was due is next due its
// delay after that dump. That keeps the waiters in step: fifty that
// arrived at different times share the dumps of the one with the
// shortest delay, while none goes longer than its delay without a check.
// Were each due on its own phase, each would cost a dump per interval:
// in TestAwaitSharesDumps, 50 waiters that arrived 3 ms apart made 718
// dumps in a second instead of 18. As every delay is probeFirstDelay
// times a power of 6/5, waiters with about the same delay have the same
// one, are due together and grow together.

// listenWaiter is one await that the watcher serves.
type listenWaiter struct {
	ap    netip.AddrPort
	since time.Time     // when it arrived
	delay time.Duration // between its checks
	due   time.Time     // of its next check
	// done hears nil when a dump shows a listener that accepts ap, or the
	// dump's error. Whoever removes the waiter from the table (the
	// watcher, or await on its context's end) decides, under the table's
	// lock; only the watcher sends, once, into a buffer of one, so it
	// never blocks and a cancelled waiter leaves nothing behind.
	done chan error
}

// checked schedules w's next check after a dump at at that did not show
// its address: a delay after at, the delay grown a fifth (up to
// probeMaxDelay) if w was due and is past its first probeFastFor.
func (w *listenWaiter) checked(at time.Time) {
	if !at.Before(w.due) && at.Sub(w.since) > probeFastFor {
		w.delay = min(w.delay*6/5, probeMaxDelay)
	}
	w.due = at.Add(w.delay)
}

// await blocks until a dump shows a listener that accepts ap (nil), ctx
// is done (ctx.Err()), or the kernel cannot be asked (the dump's error,
// wrapped: the caller connects instead). It first looks at the table as
// a reader would (a dump at most maxAge old, shared with the readers
// around it), then waits for the watcher's dumps, starting the watcher if
// none runs.
func (t *listenTable) await(ctx context.Context, ap netip.AddrPort) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	if err := t.refreshLocked(); err != nil {
		t.releaseIdleLocked()
		t.mu.Unlock()
		return fmt.Errorf("listen table: %w", err)
	}
	if anyAccepts(t.socks, ap) {
		t.releaseIdleLocked()
		t.mu.Unlock()
		return nil
	}
	// The dump just read checked ap: the waiter is next due a delay
	// after it, in step with the waiters that dump served.
	w := &listenWaiter{ap: ap, since: time.Now(), delay: probeFirstDelay, due: t.at.Add(probeFirstDelay), done: make(chan error, 1)}
	t.waiters = append(t.waiters, w)
	switch {
	case !t.watching:
		t.watching = true
		go t.watch()
	case w.due.Before(t.next):
		t.wake()
	}
	t.mu.Unlock()

	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
	}
	t.mu.Lock()
	if t.removeLocked(w) && len(t.waiters) == 0 {
		t.wake() // to exit now, not at its timer
	}
	t.mu.Unlock()
	// Had the watcher removed w first, its answer is in w.done, which
	// nobody reads: ctx's end decides.
	return ctx.Err()
}

// wake makes the watcher look at the waiters again, if it is not already
// due to.
func (t *listenTable) wake() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// removeLocked takes w out of the waiters and reports whether it was
// there.
func (t *listenTable) removeLocked(w *listenWaiter) bool {
	for i, x := range t.waiters {
		if x == w {
			last := len(t.waiters) - 1
			t.waiters[i] = t.waiters[last]
			t.waiters[last] = nil
			t.waiters = t.waiters[:last]
			return true
		}
	}
	return false
}

// earliestLocked returns when the first waiter is due; there must be
// one.
func (t *listenTable) earliestLocked() time.Time {
	next := t.waiters[0].due
	for _, w := range t.waiters[1:] {
		if w.due.Before(next) {
			next = w.due
		}
	}
	return next
}

// watch serves the waiters until none is left: it sleeps until the
// earliest is due, dumps, and answers those whose address the dump shows
// (or all, with the error of a dump that failed). When it finds no
// waiter it closes the dump's socket and exits, so an idle table costs
// no goroutine, timer or descriptor; the next await starts it again.
func (t *listenTable) watch() {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		t.mu.Lock()
		if len(t.waiters) == 0 {
			t.watching, t.next = false, time.Time{}
			t.releaseIdleLocked()
			t.mu.Unlock()
			return
		}
		t.next = t.earliestLocked()
		d := time.Until(t.next)
		t.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		select {
		case <-t.kick:
			continue
		case <-timer.C:
		}
		t.mu.Lock()
		if now := time.Now(); len(t.waiters) > 0 && !now.Before(t.earliestLocked()) {
			t.checkLocked(now)
		}
		t.mu.Unlock()
	}
}

// checkLocked dumps for the waiters, at now: it answers every waiter
// whose address the dump shows, due or not, and schedules the others'
// next checks; a dump that fails answers all with its error.
func (t *listenTable) checkLocked(now time.Time) {
	if err := t.dumpLocked(); err != nil {
		err = fmt.Errorf("listen table: %w", err)
		for i, w := range t.waiters {
			w.done <- err
			t.waiters[i] = nil
		}
		t.waiters = t.waiters[:0]
		return
	}
	kept := t.waiters[:0]
	for _, w := range t.waiters {
		if anyAccepts(t.socks, w.ap) {
			w.done <- nil
			continue
		}
		w.checked(now)
		kept = append(kept, w)
	}
	clear(t.waiters[len(kept):])
	t.waiters = kept
}
