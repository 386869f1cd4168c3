package supervisor

import (
	"fmt"
	"strconv"
	"time"
)

// Phase is where a supervised instance is in its life.
type Phase string

// Phases. starting, running, backoff and stopping are supervised phases;
// stopped, exited and errored are final: nothing runs and nothing will be
// restarted until the ID is started again.
const (
	// PhaseStarting: the shim is running user data or the app is starting
	// and not ready yet.
	PhaseStarting Phase = "starting"
	// PhaseRunning: the app is ready.
	PhaseRunning Phase = "running"
	// PhaseBackoff: the app exited and will be restarted at NextRestartAt.
	PhaseBackoff Phase = "backoff"
	// PhaseStopping: a stop is in progress.
	PhaseStopping Phase = "stopping"
	// PhaseStopped: stopped on request.
	PhaseStopped Phase = "stopped"
	// PhaseExited: the app exited and the restart policy said not to
	// restart it.
	PhaseExited Phase = "exited"
	// PhaseErrored: the app crashed too often, never became ready, or
	// could not be started.
	PhaseErrored Phase = "errored"
)

// Final reports whether p is a phase in which nothing is supervised.
func (p Phase) Final() bool {
	return p == PhaseStopped || p == PhaseExited || p == PhaseErrored
}

// Exit describes how a run of the app ended.
type Exit struct {
	// Code is the exit code; -1 when the app was killed by a signal or
	// the exit status is unknown (it ended while madang was not running
	// and left no record).
	Code int
	// Signal names the signal that killed the app, e.g. "SIGKILL".
	Signal string
	// At is when the run ended.
	At time.Time
	// Uptime is how long the run lasted.
	Uptime time.Duration
}

// String describes the exit: "exited with code 1", "was killed by
// SIGKILL", "ended with an unknown exit status".
func (e Exit) String() string {
	switch {
	case e.Signal != "":
		return "was killed by " + e.Signal
	case e.Code < 0:
		return "ended with an unknown exit status"
	default:
		return "exited with code " + strconv.Itoa(e.Code)
	}
}

// failed reports whether the exit counts as a failure for on-failure.
func (e Exit) failed() bool {
	return e.Code != 0 || e.Signal != ""
}

// Status is a snapshot of one supervised instance.
type Status struct {
	ID string
	// Phase is empty only while Start or Adopt is still spawning.
	Phase Phase
	// PID and PGID are the app's process id and process group; StartTime
	// is its start time in clock ticks since boot (with the PID it
	// identifies the process across pid reuse).
	PID, PGID int
	StartTime uint64
	// StartedAt is when the current (or last) run started; ReadyAt when it
	// became ready (zero until then).
	StartedAt time.Time
	ReadyAt   time.Time
	// Restarts counts the restarts the supervisor made after the app
	// exited or crashed, on from Spec.Restarts. Starts, stops and reboots
	// asked for by the caller do not count, nor does the first start of an
	// app that ended without a record while no supervisor ran (the
	// machine rebooted: see Adopt).
	Restarts int
	LastExit *Exit
	// NextRestartAt is when a restart is due, in backoff.
	NextRestartAt time.Time
	// Reason explains backoff, exited and errored in words (and is
	// cleared when the app is running again), e.g. "did not
	// listen on 127.16.1.5:3000 within 30s — does the app bind
	// $HOST:$PORT?".
	Reason string
	// LastLines holds the last lines of the instance log ("<stream>
	// <text>"), set when the instance exited or errored.
	LastLines []string
}

// clone returns a deep copy of s.
func (s Status) clone() Status {
	if s.LastExit != nil {
		e := *s.LastExit
		s.LastExit = &e
	}
	s.LastLines = append([]string(nil), s.LastLines...)
	return s
}

// String summarizes the status in one line.
func (s Status) String() string {
	out := fmt.Sprintf("%s %s", s.ID, s.Phase)
	if s.PID != 0 {
		out += fmt.Sprintf(" pid %d", s.PID)
	}
	if s.Reason != "" {
		out += ": " + s.Reason
	}
	return out
}
