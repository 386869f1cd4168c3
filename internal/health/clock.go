package health

import "time"

// Clock is the time source of the Manager: it stamps states and schedules
// periodic checks and the end of passive ejections. Tests inject a fake.
// A check's own Timeout is measured on the wall clock, because it bounds
// real network I/O.
//
// AfterFunc calls f once, on some goroutine, after d has passed, unless the
// returned Timer is stopped first. The Manager's f only records that work
// is due and wakes its own loops; it never blocks.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
//
// Stop prevents the call if it has not started, and reports whether it
// did so.
type Timer interface {
	Stop() bool
}

// SystemClock returns the real clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

var _ Clock = systemClock{}
