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

	// fingerprint identifies the shim configuration of spec; a shim with
	// another one is replaced rather than reused.
	fingerprint string

	stopOnce sync.Once
	stopping chan struct{} // closed by requestStop
	done     chan struct{} // closed when the loop returns (or never started)

	notify   *notifier  // delivers OnChange calls while the loop runs
	notifyMu sync.Mutex // serializes status changes (and OnChange calls made after the loop)

	// mu guards the fields that follow.
	mu sync.Mutex
	st Status
}

func newProc(s *Supervisor, spec Spec) *proc {
	p := &proc{
		sup:      s,
		spec:     spec,
		log:      s.log.With("instance", spec.ID),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
		st:       Status{ID: spec.ID, Restarts: spec.Restarts}, // no phase until spawned or adopted
		notify:   newNotifier(s.cfg.OnChange),
	}
	p.fingerprint = p.shimConfig().Fingerprint
	return p
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

// update changes the status and, if the phase or the pid changed, has it
// delivered to OnChange.
func (p *proc) update(fn func(*Status)) {
	p.notifyMu.Lock()
	defer p.notifyMu.Unlock()
	p.mu.Lock()
	before := p.st
	fn(&p.st)
	changed := p.st.Phase != before.Phase || p.st.PID != before.PID
	snap := p.st.clone()
	queued := !changed || p.notify.push(snap)
	p.mu.Unlock()
	if changed {
		p.log.Debug("status", "phase", snap.Phase, "pid", snap.PID, "reason", snap.Reason)
	}
	if !queued {
		// After the loop (Stop marking an exited ID stopped).
		p.sup.cfg.OnChange(snap)
	}
}

// outcome is how supervising one run ended.
type outcome struct {
	kind   outcomeKind
	exit   Exit
	ready  bool   // the run became ready (outExited)
	reason string // outErrored
	// note adds to the reason of an exit: another process held the app's
	// address meanwhile (the likely cause of an EADDRINUSE crash).
	note string
	// restore marks an app that ended without a record while no
	// supervisor ran (a machine reboot): starting it again is a restore,
	// not a restart, and Status.Restarts does not count it.
	restore bool
}

// heldNote explains the exit of a's run when another process holds the
// app's address: one its readiness probe saw, or, for a run that ended
// before it was ready, one that listens there now (the app's own
// sockets are gone with it). It is empty otherwise.
func (p *proc) heldNote(a *attempt, pr *prober) string {
	addr := p.spec.Ready.Addr
	if h := pr.foreignHolder(); h != "" {
		return heldBy(addr, h)
	}
	if a.ready || addr == "" {
		return ""
	}
	if c := p.sup.probeEnv.check(addr, owner{pid: a.appPID, pgid: a.pgid}); !c.own && c.holder != "" {
		return heldBy(addr, c.holder)
	}
	return ""
}

type outcomeKind int

const (
	outExited   outcomeKind = iota // the app exited on its own
	outStopped                     // stopped on request
	outErrored                     // never ready, or could not start
	outClosed                      // the supervisor was closed
	outShimGone                    // a reused shim died before it started the next run
)

// run starts the loop goroutine with a spawned or adopted attempt a, and
// first, when not nil, as the outcome of a's current run (an app that
// ended while the daemon was away; a is nil when its shim is gone too).
// register has counted the goroutine in the Supervisor's WaitGroup.
func (p *proc) run(a *attempt, first *outcome) {
	go func() {
		defer p.sup.wg.Done()
		defer close(p.done)
		defer p.notify.close() // every change is delivered before done
		p.loop(a, first)
	}()
}

// loop supervises run after run until the ID is stopped, exits for good or
// errors, or the supervisor is closed. A run that ends in a shim that can
// start the app again is restarted there; otherwise a new shim is spawned.
func (p *proc) loop(a *attempt, first *outcome) {
	ctx := p.sup.ctx
	defer func() {
		if a != nil {
			a.close()
		}
	}()
	var sk streak
	for {
		var out outcome
		if first != nil {
			out, first = *first, nil
		} else {
			out = p.supervise(a)
		}
		switch out.kind {
		case outClosed:
			return
		case outShimGone:
			p.log.Warn("shim exited before starting the app again; starting a new shim", "shimPid", a.shimPID)
			a.close()
			var err error
			if a, err = p.spawn(); err != nil {
				p.update(func(st *Status) {
					st.Phase, st.Reason = PhaseErrored, "could not restart: "+err.Error()
					st.LastLines = lastLines(p.spec.LogPath)
				})
				return
			}
			continue
		case outStopped:
			p.update(func(st *Status) {
				st.Phase, st.Reason, st.NextRestartAt = PhaseStopped, "", time.Time{}
				if a != nil && a.exit != nil {
					st.LastExit = a.exit
				}
			})
			return
		case outErrored:
			p.release(a)
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
		if out.note != "" {
			d.reason += "; " + out.note
		}
		if !d.restart {
			p.release(a)
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
			// The delay runs while OnChange hears of the backoff.
			w := startBackoff(d.delay)
			p.update(func(st *Status) {
				st.Phase, st.Reason, st.LastExit, st.NextRestartAt = PhaseBackoff, d.reason, &ex, w.due
			})
			switch w.wait(ctx, p.stopping) {
			case backoffClosed:
				return
			case backoffStopped:
				p.release(a)
				p.update(func(st *Status) {
					st.Phase, st.Reason, st.NextRestartAt = PhaseStopped, "", time.Time{}
				})
				return
			}
		} else {
			p.update(func(st *Status) { st.LastExit, st.Reason = &ex, d.reason })
		}
		select {
		case <-p.stopping:
			p.release(a)
			p.update(func(st *Status) {
				st.Phase, st.Reason, st.NextRestartAt = PhaseStopped, "", time.Time{}
			})
			return
		case <-ctx.Done():
			return
		default:
		}
		// Start the next run first: OnChange (which may write to disk)
		// and logging then overlap with the app's own start.
		var err error
		a, err = p.restart(a)
		if err != nil && ctx.Err() != nil {
			return
		}
		p.update(func(st *Status) {
			st.Phase, st.NextRestartAt = PhaseStarting, time.Time{}
			if !out.restore {
				st.Restarts++
			}
			st.PID, st.PGID, st.StartTime, st.StartedAt, st.ReadyAt = 0, 0, 0, time.Time{}, time.Time{}
		})
		p.log.Info("restarting", "after", ex.String(), "uptime", ex.Uptime, "delay", d.delay)
		if err != nil {
			p.update(func(st *Status) {
				st.Phase, st.Reason = PhaseErrored, "could not restart: "+err.Error()
				st.LastLines = lastLines(p.spec.LogPath)
			})
			return
		}
	}
}

// restart starts the next run: in a's shim when it can, otherwise in a
// new shim (after a's has exited). It returns the attempt that follows
// the new run; a is closed unless it is that attempt.
func (p *proc) restart(a *attempt) (*attempt, error) {
	if a != nil && a.canRestart(p.fingerprint) {
		err := a.startAgain()
		if err == nil {
			return a, nil
		}
		p.log.Warn("could not reach the shim; starting a new one", "err", err)
	}
	if a != nil {
		if a.alive() && !a.direct && a.fingerprint != p.fingerprint {
			p.log.Info("the shim runs an older command or environment; replacing it", "shimPid", a.shimPID)
		}
		p.release(a)
		a.close()
	}
	if err := p.sup.ctx.Err(); err != nil {
		return nil, ErrClosed
	}
	return p.spawn()
}

// release makes a's shim exit, once its app has ended: it tells the shim
// to quit and waits for it, killing it if it lingers. It returns early if
// the supervisor is closed.
func (p *proc) release(a *attempt) {
	if a == nil || a.direct || !a.alive() {
		return
	}
	a.quit()
	t := time.NewTimer(shimGrace)
	defer t.Stop()
	select {
	case <-a.watch.Exited():
		return
	case <-p.sup.ctx.Done():
		return
	case <-t.C:
	}
	p.log.Warn("shim did not exit when told to; killing it", "shimPid", a.shimPID)
	a.signalShimGroup(syscall.SIGKILL)
	t.Reset(shimGrace)
	select {
	case <-a.watch.Exited():
	case <-p.sup.ctx.Done():
	case <-t.C:
	}
}

// supervise watches one run from its start to its end.
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
	// startPolling looks for the app in shim.json, for a shim that cannot
	// report it.
	startPolling := func() {
		if pollTimer != nil {
			pollTimer.Stop()
		}
		pollDelay, pollStart = statePollFirst, time.Now()
		pollTimer = time.NewTimer(pollDelay)
		statePoll = pollTimer.C
	}

	// appKnown records the app's pid and starts readiness checks.
	appKnown := func() {
		p.update(func(st *Status) { a.fill(st) })
		a.watchApp()
		if a.ready {
			return
		}
		if p.spec.Ready.Addr == "" {
			a.ready = true
			p.update(func(st *Status) { st.Phase, st.ReadyAt, st.Reason = PhaseRunning, time.Now(), "" })
			return
		}
		pr = startProbe(ctx, p.spec.Ready, owner{pid: a.appPID, pgid: a.pgid}, p.sup.probeEnv)
		probeResult = pr.result
	}
	switch {
	case a.appPID == 0 && a.ctl == nil:
		if a.refreshState() {
			appKnown()
		} else {
			startPolling()
		}
	case a.appPID != 0:
		appKnown()
	}
	events := a.events()

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
		case ev, ok := <-events:
			if !ok {
				// The shim closed the connection (it is exiting, most
				// likely): watch it from outside, as an older shim.
				events = nil
				a.dropControl()
				if a.appPID == 0 {
					startPolling()
				} else {
					a.watchApp()
				}
				continue
			}
			switch a.apply(ev) {
			case evStarted:
				appKnown()
			case evExited:
				return outcome{kind: outExited, exit: *a.exit, ready: a.ready, note: p.heldNote(a, pr)}
			}
		case <-a.appExited():
			// The app ended, and its shim cannot say so: have the shim
			// exit, which ends the run below.
			a.appWatch.close()
			a.appWatch = nil
			if a.alive() && !a.hosted {
				_ = syscall.Kill(a.shimPID, syscall.SIGTERM)
			}
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
			a.drainEvents()
			if a.appPID == 0 && a.refreshState() {
				p.update(func(st *Status) { a.fill(st) })
			}
			if a.appPID == 0 {
				if a.reused {
					return outcome{kind: outShimGone}
				}
				return outcome{kind: outErrored, reason: a.shimFailure()}
			}
			if a.watchAppDirectly() {
				p.log.Warn("shim exited while its app still runs; watching the app directly, its output is no longer logged", "pid", a.appPID)
				events = nil
				continue
			}
			a.cleanupGroup()
			ex := a.readExit()
			return outcome{kind: outExited, exit: *ex, ready: a.ready, note: p.heldNote(a, pr)}
		}
	}
}

// terminate ends a run and its shim: it tells the shim to quit, sends
// sig to the app's process group (SIGTERM to the shim's group while the
// app has not started, which stops user data and a pending start),
// SIGKILL to the app's group after KillTimeout, and SIGKILL to the shim if
// it still has not exited shimGrace later. It waits for the shim's exit
// and returns false if the supervisor was closed meanwhile.
func (p *proc) terminate(a *attempt, sig syscall.Signal) bool {
	ctx := p.sup.ctx
	a.markStop()
	a.quit()
	if a.appPID != 0 && a.exit == nil {
		a.signalApp(sig)
	} else if a.appPID == 0 {
		a.signalShimGroup(syscall.SIGTERM)
	}
	kill := time.NewTimer(p.spec.KillTimeout)
	defer kill.Stop()
	tick := time.NewTicker(stopPoll)
	defer tick.Stop()
	var grace <-chan time.Time
	events := a.events()
	// found signals an app that started just as the stop began.
	found := func() {
		p.update(func(st *Status) { a.fill(st) })
		a.signalApp(sig)
	}
	for {
		select {
		case <-a.watch.Exited():
			a.drainEvents()
			a.cleanupGroup()
			return true
		case <-ctx.Done():
			return false
		case ev, ok := <-events:
			if !ok {
				events = nil
				a.dropControl() // look in shim.json from now on
				continue
			}
			if a.apply(ev) == evStarted {
				found()
			}
		case <-tick.C:
			if a.appPID == 0 && a.ctl == nil && a.refreshState() {
				found()
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
