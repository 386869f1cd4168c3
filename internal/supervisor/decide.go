package supervisor

import (
	"context"
	"fmt"
	"time"
)

// streak is what the restart decision remembers between runs of one ID.
type streak struct {
	// restarts counts restarts in a row; it sets the backoff and starts
	// over after a run of ResetAfter.
	restarts int
	// unstable counts unstable runs in a row (shorter than MinUptime or
	// never ready); a stable run resets it.
	unstable int
}

// decision is what to do after a run ended.
type decision struct {
	restart bool
	delay   time.Duration // before the restart
	errored bool          // no restart because of a crash loop
	reason  string
	next    streak
}

// decide applies the restart policy of spec to a run that ended with ex
// after uptime (ready tells whether it ever became ready), given the
// streak before the run. It is a pure function.
func decide(spec Spec, s streak, uptime time.Duration, ready bool, ex Exit) decision {
	next := s
	if uptime >= spec.ResetAfter {
		next = streak{}
	}
	unstable := !ready || uptime < spec.MinUptime
	if unstable {
		next.unstable++
	} else {
		next.unstable = 0
	}
	ran := fmt.Sprintf("%s after %s", ex, uptime.Round(time.Millisecond))
	switch {
	case spec.Restart == PolicyNever:
		return decision{reason: ran + "; restart policy is never", next: next}
	case spec.Restart == PolicyOnFailure && !ex.failed():
		return decision{reason: ran + "; restart policy on-failure does not restart a clean exit", next: next}
	}
	if unstable && next.unstable > spec.MaxRestarts {
		how := fmt.Sprintf("within %s of starting", spec.MinUptime)
		if uptime >= spec.MinUptime {
			how = "before it was ready"
		}
		return decision{
			errored: true,
			reason:  fmt.Sprintf("%s %d times in a row %s (maxRestarts %d)", ex, next.unstable, how, spec.MaxRestarts),
			next:    next,
		}
	}
	delay := backoff(spec.BackoffInitial, spec.BackoffMax, next.restarts)
	next.restarts++
	return decision{
		restart: true,
		delay:   delay,
		reason:  fmt.Sprintf("%s; restart %d in a row, in %s", ran, next.restarts, delay),
		next:    next,
	}
}

// backoff returns the delay before a restart that follows n restarts in a
// row: none for the first, then initial, doubling, capped at max.
func backoff(initial, max time.Duration, n int) time.Duration {
	if n == 0 {
		return 0
	}
	d := initial
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// backoffWait is the delay before a restart that decide asked for.
type backoffWait struct {
	timer *time.Timer
	due   time.Time // when the restart is due
}

// backoffEnd is how a backoffWait ended.
type backoffEnd int

const (
	backoffDue     backoffEnd = iota // the delay has passed: restart now
	backoffStopped                   // a stop was requested
	backoffClosed                    // the supervisor was closed
)

// startBackoff starts the delay d.
func startBackoff(d time.Duration) backoffWait {
	return backoffWait{timer: time.NewTimer(d), due: time.Now().Add(d)}
}

// wait waits until the delay has passed, stopping is closed or ctx is
// done, whichever comes first.
func (w backoffWait) wait(ctx context.Context, stopping <-chan struct{}) backoffEnd {
	defer w.timer.Stop()
	select {
	case <-ctx.Done():
		return backoffClosed
	case <-stopping:
		return backoffStopped
	case <-w.timer.C:
		return backoffDue
	}
}
