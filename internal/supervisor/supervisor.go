// Package supervisor keeps instance processes running, as pm2 and
// systemd do: it spawns each app under its own shim (package shim), waits
// for it to become ready, restarts it with exponential backoff when it
// exits, declares it errored when it crash-loops or never becomes ready,
// stops its whole process tree gracefully, and re-adopts running apps
// after a daemon restart.
//
// A shim outlives the runs of its app. It reports each start and exit on
// a control connection, and a restart is one message to it: the shim,
// already set up (in the instance's cgroups, with its log open), starts
// the app again at once. Only when a shim is gone, or runs an outdated
// command or environment, is a new one spawned.
//
// Each supervised ID has one goroutine that owns its lifecycle. Phase
// changes are reported through Config.OnChange.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/procstat"
	"github.com/madang-dev/madang/internal/shim"
)

// Errors returned by Supervisor methods.
var (
	ErrClosed = errors.New("supervisor: closed")
	// ErrUnknown matches fault errors of code NotFound about instances.
	ErrUnknown = fault.Sentinel(fault.NotFound, fault.KindInstance, "supervisor: unknown instance")
	ErrActive  = errors.New("supervisor: instance is already supervised")
)

// lastLinesCount is how many log lines Status.LastLines holds.
const lastLinesCount = 10

// Config configures a Supervisor.
type Config struct {
	// ShimCommand runs a shim: the madang binary and the hidden "shim"
	// subcommand, e.g. {"/usr/local/bin/madang", "shim"}. The shim's flags
	// are appended.
	ShimCommand []string
	// Logger receives the supervisor's own logs (nil: discard).
	Logger *slog.Logger
	// Host, when set, runs the shims in a process host (shim.HostClient)
	// rather than one process each; ShimCommand is then unused by the
	// Supervisor itself.
	Host Host
	// OnChange, if set, is called with the new status whenever an ID's
	// phase or app pid changes. Calls for one ID are serial and in order,
	// made from a goroutine of the Supervisor shortly after the change (so
	// a slow OnChange never delays a restart); those caused by a Stop are
	// made before it returns. OnChange must not call Stop.
	OnChange func(Status)
}

// Host starts shims inside a long-lived process host, which saves the
// exec of a whole madang binary per instance (see package shim).
type Host interface {
	// Spawn starts a shim with cfg (its ControlFD unused) and env in the
	// host. ctl is the shim's end of its control connection; the host
	// keeps a duplicate, so the caller closes it afterwards. The shim's
	// own messages go to cfg.StateDir/shim.LogFile, made at the first of
	// them. It returns the host's pid and start time.
	Spawn(cfg shim.Config, env []string, ctl *os.File) (pid int, start uint64, err error)
}

// Supervisor supervises instance processes. Its methods are safe for
// concurrent use.
type Supervisor struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per proc loop
	// probeEnv is how readiness reaches apps (tests replace it).
	probeEnv probeEnv
	// dialShim reaches a live shim's control socket (tests replace it).
	dialShim func(stateDir string) (*shimConn, shim.Event, error)

	// mu guards the fields that follow.
	mu     sync.Mutex
	procs  map[string]*proc
	closed bool
}

// New returns a Supervisor. It starts nothing until Start or Adopt.
func New(cfg Config) *Supervisor {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Supervisor{
		cfg:    cfg,
		log:    log.With("component", "supervisor"),
		ctx:    ctx,
		cancel: cancel,
		procs:  make(map[string]*proc),

		probeEnv: tableProbeEnv(newListenTable(listenTableMaxAge)),
		dialShim: dialShim,
	}
}

// register validates spec and adds a proc for it, replacing a finished
// one with the same ID.
func (s *Supervisor) register(spec Spec) (*proc, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	if s.cfg.Host == nil && (len(s.cfg.ShimCommand) == 0 || s.cfg.ShimCommand[0] == "") {
		return nil, errors.New("supervisor: Config.ShimCommand is empty; set it to the madang binary and \"shim\"")
	}
	if fi, err := os.Stat(spec.Dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("supervisor: instance %s: Dir %q is not a directory; create the app's working directory first", spec.ID, spec.Dir)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if old, ok := s.procs[spec.ID]; ok && !old.finished() {
		return nil, fmt.Errorf("%w: %s is %s; stop it first", ErrActive, spec.ID, old.status().Phase)
	}
	p := newProc(s, spec)
	s.procs[spec.ID] = p
	s.wg.Add(1) // done by the loop, or by unregister
	return p, nil
}

// unregister drops p after a failed Start or Adopt.
func (s *Supervisor) unregister(p *proc) {
	s.mu.Lock()
	if s.procs[p.spec.ID] == p {
		delete(s.procs, p.spec.ID)
	}
	s.mu.Unlock()
	p.notify.close()
	close(p.done)
	s.wg.Done()
}

// Start begins supervising a new run of spec.ID: it spawns the shim now
// and returns once it has started. It fails if the ID is supervised
// already; an ID in a final phase (stopped, exited, errored) is replaced.
func (s *Supervisor) Start(spec Spec) error {
	p, err := s.register(spec)
	if err != nil {
		return err
	}
	r, err := p.spawn()
	if err != nil {
		s.unregister(p)
		return err
	}
	p.update(func(st *Status) { st.Phase = PhaseStarting })
	p.run(r, nil)
	return nil
}

// Adopt resumes supervision after a daemon restart. A live shim is
// reached on its control socket (shim.ControlAddress), or, without one,
// found through StateDir/shim.json. If its app runs, Adopt supervises it
// without a restart (phase running) and returns true, as it does for a
// shim still running user data. A shim whose app ended while the daemon
// was away has recorded the exit and waits: Adopt applies the restart
// policy to that exit, the shim starts the app again (or quits), and
// Adopt returns false. Without a live shim, a live app is supervised
// directly (true); otherwise Adopt reads the app's exit from exit.json
// (if present), applies the restart policy, starting a new shim, and
// returns false; without exit.json the app ended with its shim (a machine
// reboot) and the new start is a restore, which Status.Restarts does not
// count. With no shim.json at all, the instance never started
// and Adopt starts it.
func (s *Supervisor) Adopt(spec Spec) (bool, error) {
	p, err := s.register(spec)
	if err != nil {
		return false, err
	}
	spec = p.spec
	// A live shim answers on its control socket, whatever its files say.
	if c, ev, err := s.dialShim(spec.StateDir); err == nil {
		if ev.State.ShimPID > 0 && procstat.Alive(ev.State.ShimPID, ev.State.ShimStartTime) {
			a := adoptAttempt(spec, ev.State, false, c)
			return p.adoptConnected(a, ev), nil
		}
		c.close()
	}
	st, err := shim.ReadState(spec.StateDir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("unreadable shim state; starting afresh", "instance", spec.ID, "err", err)
		}
		r, err := p.spawn()
		if err != nil {
			s.unregister(p)
			return false, err
		}
		p.update(func(st *Status) { st.Phase = PhaseStarting })
		p.run(r, nil)
		return false, nil
	}
	// A hosted shim that does not answer on its control socket has ended,
	// whether or not its host still runs.
	shimAlive := !st.Hosted && st.ShimPID > 0 && procstat.Alive(st.ShimPID, st.ShimStartTime)
	appAlive := st.AppPID > 0 && procstat.Alive(st.AppPID, st.AppStartTime)
	switch {
	case shimAlive:
		s.log.Debug("no control connection to the live shim; watching it from outside", "instance", spec.ID, "shimPid", st.ShimPID)
		r := adoptAttempt(spec, st, false, nil)
		switch {
		case appAlive:
			p.update(func(ps *Status) {
				ps.Phase, ps.ReadyAt = PhaseRunning, time.Now()
				r.fill(ps)
			})
			r.ready = true
			p.run(r, nil)
			return true, nil
		case st.AppPID == 0:
			// Still running user data.
			p.update(func(ps *Status) { ps.Phase = PhaseStarting })
			p.run(r, nil)
			return true, nil
		default:
			// The app has exited and the shim is finishing; the loop sees
			// the shim exit and applies the policy.
			p.update(func(ps *Status) { ps.Phase = PhaseStarting; r.fill(ps) })
			r.ready = true
			p.run(r, nil)
			return false, nil
		}
	case appAlive:
		s.log.Warn("shim is gone; supervising the app directly, its output is no longer logged", "instance", spec.ID, "pid", st.AppPID)
		r := adoptAttempt(spec, st, true, nil)
		r.ready = true
		p.update(func(ps *Status) {
			ps.Phase, ps.ReadyAt = PhaseRunning, time.Now()
			r.fill(ps)
		})
		p.run(r, nil)
		return true, nil
	default:
		// Nothing runs. An exit the shim recorded is a crash like any
		// other; without a record, the app and its shim ended together
		// (the machine rebooted, most likely) and starting it again is a
		// restore, which the restart count leaves out.
		ex := Exit{Code: -1, At: time.Now(), Uptime: time.Since(st.StartedAt)}
		restore := true
		if e, err := shim.ReadExit(spec.StateDir); err == nil && e.AppPID == st.AppPID {
			ex = Exit{Code: e.Code, Signal: e.Signal, At: e.ExitedAt, Uptime: e.Uptime()}
			restore = false
		}
		if st.AppPID == 0 {
			ex.Uptime = 0
		}
		p.update(func(ps *Status) {
			ps.Phase = PhaseStarting
			ps.PID, ps.PGID, ps.StartTime, ps.StartedAt = st.AppPID, st.PGID, st.AppStartTime, st.StartedAt
		})
		p.run(nil, &outcome{kind: outExited, exit: ex, ready: true, restore: restore})
		return false, nil
	}
}

// adoptConnected resumes supervision of a live shim from the first event
// on its control connection, and reports whether its app is running or
// starting (rather than ended).
func (p *proc) adoptConnected(a *attempt, ev shim.Event) bool {
	a.final = ev.Final
	switch ev.Kind {
	case shim.EventStarted:
		a.ready = true
		p.update(func(ps *Status) {
			ps.Phase, ps.ReadyAt = PhaseRunning, time.Now()
			a.fill(ps)
		})
		p.run(a, nil)
		return true
	case shim.EventExited:
		if a.apply(ev) == evExited {
			p.update(func(ps *Status) { ps.Phase = PhaseStarting; a.fill(ps) })
			p.run(a, &outcome{kind: outExited, exit: *a.exit, ready: true})
			return false
		}
		// An exit the shim cannot describe: let the shim go and start
		// afresh, as for a shim that is gone.
		p.update(func(ps *Status) { ps.Phase = PhaseStarting; a.fill(ps) })
		p.run(a, &outcome{kind: outExited, exit: Exit{Code: -1, At: time.Now()}, ready: true})
		return false
	default:
		// Still running user data, or about to start the app.
		p.update(func(ps *Status) { ps.Phase = PhaseStarting })
		p.run(a, nil)
		return true
	}
}

// lookup returns the proc of id.
func (s *Supervisor) lookup(id string) (*proc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[id]
	if !ok {
		return nil, fault.NotFoundf(fault.KindInstance, id, "supervisor: unknown instance %s", id)
	}
	return p, nil
}

// Stop stops id gracefully: StopSignal to the app's process group, SIGKILL
// to the group after KillTimeout, and waits until the app and its shim
// have exited. The phase becomes stopped and supervision ends; Status
// keeps answering until Forget. Stop in backoff cancels the pending
// restart. If ctx ends first, Stop returns its error and the stop goes on
// in the background.
func (s *Supervisor) Stop(ctx context.Context, id string) error {
	p, err := s.lookup(id)
	if err != nil {
		return err
	}
	p.requestStop()
	select {
	case <-p.done:
	case <-ctx.Done():
		return fmt.Errorf("supervisor: stop %s: %w", id, ctx.Err())
	}
	ph := p.status().Phase
	switch {
	case ph == PhaseStopped:
		return nil
	case ph.Final():
		// Exited or errored before the stop: nothing runs.
		p.update(func(st *Status) { st.Phase = PhaseStopped })
		return nil
	default:
		return ErrClosed
	}
}

// Forget drops a stopped, exited or errored ID. It does nothing to an ID
// that is still supervised (Stop it first) or unknown.
func (s *Supervisor) Forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.procs[id]; ok && p.finished() && p.status().Phase.Final() {
		delete(s.procs, id)
	}
}

// Status returns the status of id.
func (s *Supervisor) Status(id string) (Status, bool) {
	// Not lookup: listings ask about every instance, stopped and
	// terminated ones too, and need no error for those.
	s.mu.Lock()
	p, ok := s.procs[id]
	s.mu.Unlock()
	if !ok {
		return Status{}, false
	}
	return p.status(), true
}

// List returns the status of every known ID, sorted by ID.
func (s *Supervisor) List() []Status {
	s.mu.Lock()
	ps := make([]*proc, 0, len(s.procs))
	for _, p := range s.procs {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	out := make([]Status, len(ps))
	for i, p := range ps {
		out[i] = p.status()
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Close stops supervising without touching any process: apps and their
// shims keep running (a new Supervisor can Adopt them), pending restarts
// are dropped, stops in progress are abandoned. It waits for all
// supervision goroutines to return. Later Start, Adopt and Stop calls
// fail with ErrClosed.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// lastLines returns the last lines of an instance log for Status.
func lastLines(path string) []string {
	lines, err := logfile.Tail(path, lastLinesCount, time.Time{})
	if err != nil {
		return []string{"(could not read the log: " + err.Error() + ")"}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if l.Stream == "" {
			out[i] = l.Text
		} else {
			out[i] = l.Stream + " " + l.Text
		}
	}
	return out
}
