package supervisor

import (
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/madang-dev/madang/internal/shim"
)

// Polling of shim.json for the app's pid: every few milliseconds at
// first, since a shim without user data writes it within milliseconds,
// then slowly while user data runs.
const (
	statePollFirst     = time.Millisecond
	statePollFast      = 5 * time.Millisecond
	statePollSlow      = 50 * time.Millisecond
	statePollSlowAfter = time.Second
	// stopPoll is how often a stop looks for the app's pid when it began
	// before the app was known.
	stopPoll = 10 * time.Millisecond
	// shimGrace is how long a stop waits for the shim after SIGKILL to
	// the app's group before it kills the shim too.
	shimGrace = shim.DrainTimeout + 2*time.Second
)

// proc is one supervised ID. Its loop goroutine owns the processes; other
// goroutines only read its status and request a stop.
type proc struct {
	sup  *Supervisor
	spec Spec
	log  *slog.Logger

	stopOnce sync.Once
	stopping chan struct{} // closed by requestStop
	done     chan struct{} // closed when the loop returns (or never started)

	notifyMu sync.Mutex // serializes status changes with their OnChange calls

	// mu guards the fields that follow.
	mu sync.Mutex
	st Status
}

func newProc(s *Supervisor, spec Spec) *proc {
	return &proc{
		sup:      s,
		spec:     spec,
		log:      s.log.With("instance", spec.ID),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
		st:       Status{ID: spec.ID}, // no phase until spawned or adopted
	}
}

func (p *proc) status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.clone()
}

// finished reports whether the loop has returned.
func (p *proc) finished() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) requestStop() {
	p.stopOnce.Do(func() { close(p.stopping) })
}

// update changes the status and reports it to OnChange if the phase or
// the pid changed.
func (p *proc) update(fn func(*Status)) {
	p.notifyMu.Lock()
	defer p.notifyMu.Unlock()
	p.mu.Lock()
	before := p.st
	fn(&p.st)
	changed := p.st.Phase != before.Phase || p.st.PID != before.PID
	snap := p.st.clone()
	p.mu.Unlock()
	if changed {
		p.log.Debug("status", "phase", snap.Phase, "pid", snap.PID, "reason", snap.Reason)
		if p.sup.cfg.OnChange != nil {
			p.sup.cfg.OnChange(snap)
		}
	}
}

// outcome is how supervising one attempt ended.
type outcome struct {
	kind   outcomeKind
	exit   Exit
	ready  bool   // the attempt became ready (outExited)
	reason string // outErrored
}

type outcomeKind int

const (
	outExited  outcomeKind = iota // the app exited on its own
	outStopped                    // stopped on request
	outErrored                    // never ready, or could not start
	outClosed                     // the supervisor was closed
)

// run starts the loop goroutine with a spawned or adopted attempt a, or,
// when a is nil, with the outcome first (an app that ended while the
// daemon was away). register has counted the goroutine in the
// Supervisor's WaitGroup.
func (p *proc) run(a *attempt, first *outcome) {
	go func() {
		defer p.sup.wg.Done()
		defer close(p.done)
		p.loop(a, first)
	}()
}

// loop supervises attempt after attempt until the ID is stopped, exits for
// good or errors, or the supervisor is closed.
func (p *proc) loop(a *attempt, first *outcome) {
	ctx := p.sup.ctx
	var sk streak
	for {
		var out outcome
		if a != nil {
			out = p.supervise(a)
			a.close()
		} else {
			out = *first
		}
		switch out.kind {
		case outClosed:
			return
		case outStopped:
			p.update(func(st *Status) {
				st.Phase, st.Reason, st.NextRestartAt = PhaseStopped, "", time.Time{}
				if a != nil && a.exit != nil {
					st.LastExit = a.exit
				}
			})
			return
		case outErrored:
			p.update(func(st *Status) {
				st.Phase, st.Reason = PhaseErrored, out.reason
				if a != nil && a.exit != nil {
					st.LastExit = a.exit
				}
				st.LastLines = lastLines(p.spec.LogPath)
			})
			return
		}
		ex := out.exit
		d := decide(p.spec, sk, ex.Uptime, out.ready, ex)
		sk = d.next
		if !d.restart {
			phase := PhaseExited
			if d.errored {
				phase = PhaseErrored
			}
			p.update(func(st *Status) {
				st.Phase, st.Reason, st.LastExit = phase, d.reason, &ex
				st.LastLines = lastLines(p.spec.LogPath)
			})
			return
		}
		if d.delay > 0 {
			at := time.Now().Add(d.delay)
			p.update(func(st *Status) {
				st.Phase, st.Reason, st.LastExit, st.NextRestartAt = PhaseBackoff, d.reason, &ex, at
			})
			t := time.NewTimer(d.delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-p.stopping:
				t.Stop()
				p.update(func(st *Status) {
					st.Phase, st.Reason, st.NextRestartAt = PhaseStopped, "", time.Time{}
				})
				return
			case <-t.C:
			}
		} else {
			p.update(func(st *Status) { st.LastExit, st.Reason = &ex, d.reason })
		}
		select {
		case <-p.stopping:
			p.update(func(st *Status) {
				st.Phase, st.Reason, st.NextRestartAt = PhaseStopped, "", time.Time{}
			})
			return
		case <-ctx.Done():
			return
		default:
		}
		p.log.Info("restarting", "after", ex.String(), "uptime", ex.Uptime, "delay", d.delay)
		p.update(func(st *Status) {
			st.Phase, st.NextRestartAt = PhaseStarting, time.Time{}
			st.Restarts++
			st.PID, st.PGID, st.StartTime, st.StartedAt, st.ReadyAt = 0, 0, 0, time.Time{}, time.Time{}
		})
		var err error
		a, err = p.spawn()
		if err != nil {
			p.update(func(st *Status) {
				st.Phase, st.Reason = PhaseErrored, "could not restart: "+err.Error()
				st.LastLines = lastLines(p.spec.LogPath)
			})
			return
		}
	}
}

// supervise watches one attempt from its start to its end.
func (p *proc) supervise(a *attempt) outcome {
	ctx := p.sup.ctx
	var pr *prober
	defer func() { pr.stop() }()
	var probeResult <-chan string
	var statePoll <-chan time.Time
	pollDelay, pollStart := statePollFirst, time.Now()
	var pollTimer *time.Timer
	defer func() {
		if pollTimer != nil {
			pollTimer.Stop()
		}
	}()

	// appKnown records the app's pid and starts readiness checks.
	appKnown := func() {
		p.update(func(st *Status) { a.fill(st) })
		if a.ready {
			return
		}
		if p.spec.Ready.Addr == "" {
			a.ready = true
			p.update(func(st *Status) { st.Phase, st.ReadyAt, st.Reason = PhaseRunning, time.Now(), "" })
			return
		}
		pr = startProbe(ctx, p.spec.Ready)
		probeResult = pr.result
	}
	if a.appPID == 0 {
		if a.refreshState() {
			appKnown()
		} else {
			pollTimer = time.NewTimer(pollDelay)
			statePoll = pollTimer.C
		}
	} else if !a.ready {
		appKnown()
	}

	for {
		select {
		case <-ctx.Done():
			return outcome{kind: outClosed}
		case <-p.stopping:
			p.update(func(st *Status) { st.Phase = PhaseStopping })
			if !p.terminate(a, p.spec.StopSignal) {
				return outcome{kind: outClosed}
			}
			a.readExit()
			return outcome{kind: outStopped}
		case <-statePoll:
			if a.refreshState() {
				statePoll = nil
				appKnown()
				continue
			}
			pollDelay = min(2*pollDelay, statePollFast)
			if time.Since(pollStart) > statePollSlowAfter {
				pollDelay = statePollSlow
			}
			pollTimer.Reset(pollDelay)
		case reason := <-probeResult:
			probeResult = nil
			if reason == "" {
				a.ready = true
				p.update(func(st *Status) { st.Phase, st.ReadyAt, st.Reason = PhaseRunning, time.Now(), "" })
				continue
			}
			p.log.Warn("not ready; stopping", "reason", reason)
			if !p.terminate(a, p.spec.StopSignal) {
				return outcome{kind: outClosed}
			}
			a.readExit()
			return outcome{kind: outErrored, reason: reason}
		case <-a.watch.Exited():
			if a.appPID == 0 && a.refreshState() {
				p.update(func(st *Status) { a.fill(st) })
			}
			if a.appPID == 0 {
				return outcome{kind: outErrored, reason: a.shimFailure()}
			}
			if a.watchAppDirectly() {
				p.log.Warn("shim exited while its app still runs; watching the app directly, its output is no longer logged", "pid", a.appPID)
				continue
			}
			a.cleanupGroup()
			ex := a.readExit()
			return outcome{kind: outExited, exit: *ex, ready: a.ready}
		}
	}
}

// terminate ends an attempt: sig to the app's process group (SIGTERM to
// the shim's group while the app has not started, which stops user data
// and tells the shim not to start the app), SIGKILL to the app's group
// after KillTimeout, and SIGKILL to the shim if it still has not exited
// shimGrace later. It waits for the exit and returns false if the
// supervisor was closed meanwhile.
func (p *proc) terminate(a *attempt, sig syscall.Signal) bool {
	ctx := p.sup.ctx
	if a.appPID != 0 {
		a.signalApp(sig)
	} else {
		a.signalShimGroup(syscall.SIGTERM)
	}
	kill := time.NewTimer(p.spec.KillTimeout)
	defer kill.Stop()
	tick := time.NewTicker(stopPoll)
	defer tick.Stop()
	var grace <-chan time.Time
	for {
		select {
		case <-a.watch.Exited():
			a.cleanupGroup()
			return true
		case <-ctx.Done():
			return false
		case <-tick.C:
			if a.appPID == 0 && a.refreshState() {
				// The app started just as the stop began.
				p.update(func(st *Status) { a.fill(st) })
				a.signalApp(sig)
			}
		case <-kill.C:
			p.log.Warn("did not stop in time; sending SIGKILL", "signal", sig, "killTimeout", p.spec.KillTimeout)
			if a.appPID == 0 {
				a.signalShimGroup(syscall.SIGKILL)
				if a.refreshState() {
					a.signalApp(syscall.SIGKILL)
				}
			} else {
				a.signalApp(syscall.SIGKILL)
			}
			grace = time.After(shimGrace)
		case <-grace:
			p.log.Warn("shim did not exit after its app was killed; killing it", "shimPid", a.shimPID)
			a.signalShimGroup(syscall.SIGKILL)
			grace = nil
		}
	}
}

// fill copies the attempt's app facts into st.
func (a *attempt) fill(st *Status) {
	st.PID, st.PGID, st.StartTime, st.StartedAt = a.appPID, a.pgid, a.appStart, a.startedAt
}
