package supervisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/procstat"
	"github.com/madang-dev/madang/internal/shim"
)

func TestStartBecomesRunning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ready func(p Probe) Probe
	}{
		{name: "tcp readiness", ready: func(p Probe) Probe { return p }},
		{name: "http readiness", ready: func(p Probe) Probe { p.HTTPPath = "/healthz"; return p }},
		{name: "no readiness check", ready: func(p Probe) Probe { return Probe{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			spec := e.spec(t, "i-run", "-listen", "-lines", "3")
			spec.Ready = tc.ready(spec.Ready)
			if err := e.sup.Start(spec); err != nil {
				t.Fatal(err)
			}
			st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
			if st.PID <= 0 || st.PGID != st.PID || !procstat.Alive(st.PID, st.StartTime) {
				t.Errorf("status %+v: want a live app pid that leads its group", st)
			}
			if st.StartedAt.IsZero() || st.ReadyAt.Before(st.StartedAt) {
				t.Errorf("StartedAt %v ReadyAt %v, want ReadyAt >= StartedAt", st.StartedAt, st.ReadyAt)
			}
			want := []Phase{PhaseStarting, PhaseRunning}
			if got := e.rec.settle(spec.ID, func(p []Phase) bool { return slices.Equal(p, want) }); !slices.Equal(got, want) {
				t.Errorf("phases %v, want %v", got, want)
			}
			deadline := time.Now().Add(5 * time.Second)
			for !hasLine(e.log(t, spec.ID), "err line 2") && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			lines := e.log(t, spec.ID)
			for _, want := range []string{"sys started pid ", "out line 0", "err line 2"} {
				if !hasLine(lines, want) {
					t.Errorf("log lacks %q; log:\n%s", want, strings.Join(lines, "\n"))
				}
			}
			if err := e.sup.Start(spec); !errors.Is(err, ErrActive) {
				t.Errorf("second Start = %v, want ErrActive", err)
			}
		})
	}
}

func TestRestartAfterKill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-kill", "-listen")
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
	for i := 1; i <= 2; i++ {
		old := st.PID
		killed := time.Now()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		st = e.wait(t, e.sup, spec.ID, "a new running pid", func(s Status) bool {
			return s.Phase == PhaseRunning && s.PID != old
		})
		t.Logf("kill -9 to running again: %s", time.Since(killed))
		if st.Restarts != i {
			t.Errorf("Restarts = %d, want %d", st.Restarts, i)
		}
		if st.LastExit == nil || st.LastExit.Signal != "SIGKILL" || st.LastExit.Code != -1 {
			t.Errorf("LastExit = %+v, want killed by SIGKILL", st.LastExit)
		}
	}
	if got := e.rec.settle(spec.ID, func(p []Phase) bool { return slices.Contains(p, PhaseBackoff) }); !slices.Contains(got, PhaseBackoff) {
		t.Errorf("phases %v, want a backoff before the second restart", got)
	}
}

func TestCrashLoopErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-loop", "-lines", "1", "-crash-after", "1ms", "-code", "3")
	spec.Ready = Probe{}
	spec.MaxRestarts = 2
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseErrored)
	if want := "exited with code 3 3 times in a row within 1s of starting (maxRestarts 2)"; st.Reason != want {
		t.Errorf("Reason = %q, want %q", st.Reason, want)
	}
	if st.Restarts != 2 {
		t.Errorf("Restarts = %d, want 2", st.Restarts)
	}
	if st.LastExit == nil || st.LastExit.Code != 3 {
		t.Errorf("LastExit = %+v, want code 3", st.LastExit)
	}
	if !hasLine(st.LastLines, "err crashing with code 3") || !hasLine(st.LastLines, "sys exited with code 3") {
		t.Errorf("LastLines = %q, want the crash message and exit note", st.LastLines)
	}
	if st.PID > 0 && procstat.Alive(st.PID, st.StartTime) {
		t.Errorf("app pid %d alive after errored", st.PID)
	}
	// All three runs were in one shim, which exits with the instance.
	state, err := shim.ReadState(spec.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if state.Run != 3 {
		t.Errorf("shim.json run = %d, want 3 runs in one shim", state.Run)
	}
	waitDead(t, state.ShimPID, state.ShimStartTime, time.Second)
}

func TestNeverReadyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		httpPath   string
		wantReason func(addr string) string
	}{
		{
			name: "never listens",
			args: []string{"-ignore-term"},
			wantReason: func(addr string) string {
				return "did not listen on " + addr + " within 300ms — does the app bind $HOST:$PORT?"
			},
		},
		{
			name:     "http path answers 404 but is ready",
			args:     []string{"-listen"},
			httpPath: "/any",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			spec := e.spec(t, "i-ready", tc.args...)
			spec.Ready.Timeout = 300 * time.Millisecond
			if tc.wantReason == nil {
				// Expected to become ready: a loaded machine may take
				// longer than the short timeout the failing case needs.
				spec.Ready.Timeout = 10 * time.Second
			}
			spec.Ready.HTTPPath = tc.httpPath
			spec.KillTimeout = 200 * time.Millisecond
			if err := e.sup.Start(spec); err != nil {
				t.Fatal(err)
			}
			if tc.wantReason == nil {
				e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
				return
			}
			st := e.waitPhase(t, e.sup, spec.ID, PhaseErrored)
			if want := tc.wantReason(spec.Ready.Addr); st.Reason != want {
				t.Errorf("Reason = %q, want %q", st.Reason, want)
			}
			if procstat.Alive(st.PID, st.StartTime) {
				t.Errorf("app pid %d alive after errored", st.PID)
			}
			if state, err := shim.ReadState(spec.StateDir); err != nil || procstat.Alive(state.ShimPID, state.ShimStartTime) {
				t.Errorf("shim after errored: %+v, %v; want it gone", state, err)
			}
			if st.Restarts != 0 {
				t.Errorf("Restarts = %d, want 0", st.Restarts)
			}
		})
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		args        []string
		signal      syscall.Signal
		killTimeout time.Duration
		wantLine    string
		wantSignal  string
		wantMin     time.Duration
	}{
		{name: "graceful SIGTERM", args: []string{"-listen"}, wantLine: "out got terminated, exiting"},
		{name: "graceful custom stop signal", args: []string{"-listen"}, signal: syscall.SIGINT, wantLine: "out got interrupt, exiting"},
		{name: "SIGKILL after kill timeout", args: []string{"-listen", "-ignore-term"}, killTimeout: 300 * time.Millisecond, wantSignal: "SIGKILL", wantMin: 300 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			spec := e.spec(t, "i-stop", tc.args...)
			spec.StopSignal = tc.signal
			if tc.killTimeout > 0 {
				spec.KillTimeout = tc.killTimeout
			}
			if err := e.sup.Start(spec); err != nil {
				t.Fatal(err)
			}
			st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
			began := time.Now()
			if err := e.sup.Stop(context.Background(), spec.ID); err != nil {
				t.Fatal(err)
			}
			took := time.Since(began)
			t.Logf("stop took %s", took)
			if state, err := shim.ReadState(spec.StateDir); err != nil || procstat.Alive(state.ShimPID, state.ShimStartTime) {
				t.Errorf("shim after Stop: %+v, %v; want it gone", state, err)
			}
			if took < tc.wantMin || took > spec.KillTimeout+shimGrace {
				t.Errorf("stop took %s, want between %s and %s", took, tc.wantMin, spec.KillTimeout+shimGrace)
			}
			if procstat.Alive(st.PID, st.StartTime) {
				t.Errorf("app pid %d alive after Stop", st.PID)
			}
			after, _ := e.sup.Status(spec.ID)
			if after.Phase != PhaseStopped {
				t.Errorf("phase %s, want stopped", after.Phase)
			}
			if after.LastExit == nil || after.LastExit.Signal != tc.wantSignal {
				t.Errorf("LastExit = %+v, want signal %q", after.LastExit, tc.wantSignal)
			}
			if tc.wantLine != "" && !hasLine(e.log(t, spec.ID), tc.wantLine) {
				t.Errorf("log lacks %q; log:\n%s", tc.wantLine, strings.Join(e.log(t, spec.ID), "\n"))
			}
			if got := e.rec.get(spec.ID); !slices.Equal(got[len(got)-2:], []Phase{PhaseStopping, PhaseStopped}) {
				t.Errorf("phases %v, want to end with stopping, stopped", got)
			}
			// Stop again is fine; Forget drops the ID.
			if err := e.sup.Stop(context.Background(), spec.ID); err != nil {
				t.Errorf("second Stop: %v", err)
			}
			e.sup.Forget(spec.ID)
			if _, ok := e.sup.Status(spec.ID); ok {
				t.Errorf("Status after Forget: still known")
			}
		})
	}
}

func TestStopLeavesNoOrphans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		// The app exits on SIGTERM, its child ignores it: the shim kills
		// what is left of the group.
		{name: "app exits, child ignores SIGTERM", args: []string{"-listen"}},
		// Both ignore SIGTERM: SIGKILL to the group after KillTimeout.
		{name: "app and child ignore SIGTERM", args: []string{"-listen", "-ignore-term"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			spec := e.spec(t, "i-tree", tc.args...)
			pidFile := filepath.Join(filepath.Dir(spec.Dir), "child.pid")
			spec.Command += " -fork-child " + pidFile
			spec.KillTimeout = 200 * time.Millisecond
			if err := e.sup.Start(spec); err != nil {
				t.Fatal(err)
			}
			st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
			child, childStart := readPIDFile(t, pidFile)
			if !procstat.Alive(child, childStart) {
				t.Fatalf("child %d not running", child)
			}
			if err := e.sup.Stop(context.Background(), spec.ID); err != nil {
				t.Fatal(err)
			}
			waitDead(t, st.PID, st.StartTime, time.Second)
			waitDead(t, child, childStart, time.Second)
		})
	}
}

func TestCloseLeavesAppsAndAdoptResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-adopt", "-listen")
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
	if err := e.sup.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.sup.Start(spec); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	time.Sleep(100 * time.Millisecond)
	if !procstat.Alive(st.PID, st.StartTime) {
		t.Fatalf("app pid %d died when the supervisor closed", st.PID)
	}

	sup2 := e.newSupervisor()
	t.Cleanup(func() { e.cleanup(t, sup2) })
	adopted, err := sup2.Adopt(spec)
	if err != nil || !adopted {
		t.Fatalf("Adopt = %v, %v; want true, nil", adopted, err)
	}
	st2, _ := sup2.Status(spec.ID)
	if st2.Phase != PhaseRunning || st2.PID != st.PID || st2.StartTime != st.StartTime {
		t.Errorf("adopted status %+v, want running pid %d", st2, st.PID)
	}
	// The new supervisor still restarts it on a crash.
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st3 := e.wait(t, sup2, spec.ID, "restart under the new supervisor", func(s Status) bool {
		return s.Phase == PhaseRunning && s.PID != st.PID
	})
	if st3.Restarts != 1 || st3.LastExit == nil || st3.LastExit.Signal != "SIGKILL" {
		t.Errorf("after crash: Restarts %d LastExit %+v, want 1 and SIGKILL", st3.Restarts, st3.LastExit)
	}
	if err := sup2.Stop(context.Background(), spec.ID); err != nil {
		t.Fatal(err)
	}
	waitDead(t, st3.PID, st3.StartTime, time.Second)
}

func TestAdoptRestartsAppThatDiedWhileAway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy Policy
		// killShim kills the shim too, after the app.
		killShim bool
		// changeEnv changes the spec's environment before Adopt.
		changeEnv  bool
		wantPhase  Phase
		wantReason string
		// sameShim: the restart happens in the shim that was waiting.
		sameShim bool
	}{
		{name: "waiting shim starts it again", policy: PolicyAlways, wantPhase: PhaseRunning, sameShim: true},
		{name: "waiting shim quits under never", policy: PolicyNever, wantPhase: PhaseExited, wantReason: "was killed by SIGKILL after"},
		{name: "waiting shim with an old environment is replaced", policy: PolicyAlways, changeEnv: true, wantPhase: PhaseRunning},
		{name: "shim gone too, a new shim starts it", policy: PolicyAlways, killShim: true, wantPhase: PhaseRunning},
		{name: "shim gone too, never leaves it exited", policy: PolicyNever, killShim: true, wantPhase: PhaseExited, wantReason: "was killed by SIGKILL after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			spec := e.spec(t, "i-away", "-listen")
			spec.Restart = tc.policy
			if err := e.sup.Start(spec); err != nil {
				t.Fatal(err)
			}
			st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
			if err := e.sup.Close(); err != nil {
				t.Fatal(err)
			}
			state := waitState(t, spec.StateDir, st.PID)
			if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			// The shim records the exit and waits for a daemon.
			deadline := time.Now().Add(5 * time.Second)
			for {
				if ex, err := shim.ReadExit(spec.StateDir); err == nil && ex.AppPID == st.PID {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the shim did not record the exit")
				}
				time.Sleep(2 * time.Millisecond)
			}
			if !procstat.Alive(state.ShimPID, state.ShimStartTime) {
				t.Fatalf("shim %d exited after its app; want it waiting", state.ShimPID)
			}
			if tc.killShim {
				_ = syscall.Kill(state.ShimPID, syscall.SIGKILL)
				waitDead(t, state.ShimPID, state.ShimStartTime, 5*time.Second)
			}
			if tc.changeEnv {
				spec.Env = append(spec.Env, "NEW_SETTING=1")
			}

			sup2 := e.newSupervisor()
			t.Cleanup(func() { e.cleanup(t, sup2) })
			adopted, err := sup2.Adopt(spec)
			if err != nil || adopted {
				t.Fatalf("Adopt = %v, %v; want false, nil", adopted, err)
			}
			st2 := e.waitPhase(t, sup2, spec.ID, tc.wantPhase)
			if st2.LastExit == nil || st2.LastExit.Signal != "SIGKILL" {
				t.Errorf("LastExit = %+v, want SIGKILL", st2.LastExit)
			}
			if !strings.Contains(st2.Reason, tc.wantReason) {
				t.Errorf("Reason = %q, want it to contain %q", st2.Reason, tc.wantReason)
			}
			if tc.wantPhase == PhaseRunning {
				if st2.PID == st.PID || st2.Restarts != 1 {
					t.Errorf("status %+v, want a new pid and 1 restart", st2)
				}
				now := waitState(t, spec.StateDir, st2.PID)
				if got := now.ShimPID == state.ShimPID; got != tc.sameShim {
					t.Errorf("shim pid %d after the restart, was %d; same shim = %v, want %v", now.ShimPID, state.ShimPID, got, tc.sameShim)
				}
				if tc.sameShim && now.Run != 2 {
					t.Errorf("shim.json run = %d, want 2", now.Run)
				}
				if err := sup2.Stop(context.Background(), spec.ID); err != nil {
					t.Fatal(err)
				}
			}
			// The shim was told to quit (or killed).
			waitDead(t, state.ShimPID, state.ShimStartTime, 5*time.Second)
			// Reap the shim left by the first supervisor.
			reapChild(state.ShimPID)
		})
	}
}

func TestRestartInSameShim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-same", "-listen")
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
	state := waitState(t, spec.StateDir, st.PID)
	for i := 1; i <= 3; i++ {
		// The app is the shim's own child: no shell between them.
		if ppid := parentOf(t, st.PID); ppid != state.ShimPID {
			t.Errorf("run %d: app %d has parent %d, want the shim %d", i, st.PID, ppid, state.ShimPID)
		}
		old := st.PID
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		st = e.wait(t, e.sup, spec.ID, "a new running pid", func(s Status) bool {
			return s.Phase == PhaseRunning && s.PID != old
		})
		now := waitState(t, spec.StateDir, st.PID)
		if now.ShimPID != state.ShimPID || now.ShimStartTime != state.ShimStartTime || now.Run != i+1 || now.AppPID != st.PID {
			t.Errorf("after kill %d: shim.json %+v, want shim %d on run %d with app %d", i, now, state.ShimPID, i+1, st.PID)
		}
		if st.LastExit == nil || st.LastExit.Signal != "SIGKILL" {
			t.Errorf("LastExit = %+v, want the app's own death by SIGKILL", st.LastExit)
		}
	}
	if err := e.sup.Stop(context.Background(), spec.ID); err != nil {
		t.Fatal(err)
	}
	// The shim exits after a stop.
	waitDead(t, state.ShimPID, state.ShimStartTime, time.Second)
}

// parentOf returns the parent pid of pid.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

func TestAdoptShimWithoutControlSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-nosock", "-listen")
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
	if err := e.sup.Close(); err != nil {
		t.Fatal(err)
	}
	state := waitState(t, spec.StateDir, st.PID)
	sup2 := e.newSupervisor()
	// As if the shim could not be reached (it failed to listen).
	sup2.dialShim = func(string) (*shimConn, shim.Event, error) {
		return nil, shim.Event{}, errors.New("no control socket")
	}
	t.Cleanup(func() { e.cleanup(t, sup2) })
	adopted, err := sup2.Adopt(spec)
	if err != nil || !adopted {
		t.Fatalf("Adopt = %v, %v; want true, nil", adopted, err)
	}
	// The supervisor watches the app itself, has the shim exit when the
	// app dies, and restarts it in a new shim.
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st2 := e.wait(t, sup2, spec.ID, "a restart", func(s Status) bool { return s.Phase == PhaseRunning && s.PID != st.PID })
	if st2.Restarts != 1 || st2.LastExit == nil || st2.LastExit.Signal != "SIGKILL" {
		t.Errorf("status %+v, want 1 restart after SIGKILL", st2)
	}
	waitDead(t, state.ShimPID, state.ShimStartTime, 5*time.Second)
	reapChild(state.ShimPID)
}

func TestAdoptWithoutStateStarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-fresh", "-listen")
	adopted, err := e.sup.Adopt(spec)
	if err != nil || adopted {
		t.Fatalf("Adopt = %v, %v; want false, nil", adopted, err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
	if st.Restarts != 0 {
		t.Errorf("Restarts = %d, want 0", st.Restarts)
	}
}

func TestUserDataRunsOnceAcrossRestarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-ud", "-crash-after", "30ms")
	spec.Ready = Probe{}
	spec.MinUptime = 10 * time.Millisecond // each run is stable
	spec.UserData = "echo ud-hello\necho ud-oops >&2\necho ran >> ../count\n"
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	e.wait(t, e.sup, spec.ID, "two restarts", func(s Status) bool { return s.Restarts >= 2 && s.Phase == PhaseRunning })
	if err := e.sup.Stop(context.Background(), spec.ID); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(spec.Dir), "count"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "ran\n"); n != 1 {
		t.Errorf("user data ran %d times, want 1", n)
	}
	lines := e.log(t, spec.ID)
	for _, want := range []string{"sys user data started", "out ud-hello", "err ud-oops", "sys user data exited with code 0"} {
		if !hasLine(lines, want) {
			t.Errorf("log lacks %q; log:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	if n := strings.Count(strings.Join(lines, "\n"), "user data started"); n != 1 {
		t.Errorf("log has %d user data starts, want 1", n)
	}
}

func TestRestartPolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		policy     Policy
		code       string
		wantPhase  Phase // exited, or running after a restart
		wantReason string
	}{
		{name: "never after failure", policy: PolicyNever, code: "4", wantPhase: PhaseExited, wantReason: "exited with code 4 after"},
		{name: "never after success", policy: PolicyNever, code: "0", wantPhase: PhaseExited, wantReason: "restart policy is never"},
		{name: "on-failure after success", policy: PolicyOnFailure, code: "0", wantPhase: PhaseExited, wantReason: "on-failure does not restart a clean exit"},
		{name: "on-failure after failure", policy: PolicyOnFailure, code: "2", wantPhase: PhaseRunning},
		{name: "always after success", policy: PolicyAlways, code: "0", wantPhase: PhaseRunning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			spec := e.spec(t, "i-policy", "-lines", "1", "-crash-after", "50ms", "-code", tc.code)
			spec.Ready = Probe{}
			spec.MinUptime = 10 * time.Millisecond
			spec.Restart = tc.policy
			if err := e.sup.Start(spec); err != nil {
				t.Fatal(err)
			}
			var st Status
			if tc.wantPhase == PhaseRunning {
				st = e.wait(t, e.sup, spec.ID, "a restart", func(s Status) bool { return s.Restarts >= 1 })
			} else {
				st = e.waitPhase(t, e.sup, spec.ID, PhaseExited)
				if !strings.Contains(st.Reason, tc.wantReason) {
					t.Errorf("Reason = %q, want it to contain %q", st.Reason, tc.wantReason)
				}
				if !hasLine(st.LastLines, "out line 0") {
					t.Errorf("LastLines = %q, want the app's output", st.LastLines)
				}
				if st.Restarts != 0 {
					t.Errorf("Restarts = %d, want 0", st.Restarts)
				}
			}
			if st.LastExit == nil || st.LastExit.Code != atoi(tc.code) {
				t.Errorf("LastExit = %+v, want code %s", st.LastExit, tc.code)
			}
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestStopCancelsPendingWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(*Spec)
		waitFor func(Status) bool
	}{
		{
			name: "stop in backoff cancels the restart",
			prepare: func(s *Spec) {
				s.Command += " -crash-after 1ms"
				s.Ready = Probe{}
				s.BackoffInitial, s.BackoffMax = 10*time.Second, 10*time.Second
			},
			waitFor: func(s Status) bool { return s.Phase == PhaseBackoff },
		},
		{
			name: "stop during user data",
			prepare: func(s *Spec) {
				s.UserData = "echo ud-begin\nsleep 30\n"
			},
			waitFor: func(s Status) bool { return s.Phase == PhaseStarting },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			spec := e.spec(t, "i-cancel", "-listen")
			tc.prepare(&spec)
			if err := e.sup.Start(spec); err != nil {
				t.Fatal(err)
			}
			st := e.wait(t, e.sup, spec.ID, "the pending state", tc.waitFor)
			if spec.UserData != "" {
				e.wait(t, e.sup, spec.ID, "user data output", func(Status) bool { return hasLine(e.log(t, spec.ID), "out ud-begin") })
			}
			began := time.Now()
			if err := e.sup.Stop(context.Background(), spec.ID); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(began); took > time.Second {
				t.Errorf("stop took %s, want it quick", took)
			}
			after, _ := e.sup.Status(spec.ID)
			if after.Phase != PhaseStopped || !after.NextRestartAt.IsZero() {
				t.Errorf("status %+v, want stopped with no restart pending", after)
			}
			// Stop returns once the ID's loop has ended: nothing is left
			// that could restart it.
			if p, err := e.sup.lookup(spec.ID); err != nil || !p.finished() {
				t.Errorf("supervision of %s still runs after Stop returned", spec.ID)
			}
			if now, _ := e.sup.Status(spec.ID); now.Restarts != st.Restarts || now.Phase != PhaseStopped {
				t.Errorf("status changed after stop: %+v", now)
			}
			if hasLine(e.log(t, spec.ID), "sys started pid") && spec.UserData != "" {
				t.Errorf("app started after a stop during user data")
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := e.spec(t, "i-err", "-listen")
	tests := []struct {
		name  string
		shim  []string
		spec  func(Spec) Spec
		want  string
		check func(error) bool
	}{
		{name: "missing dir", spec: func(s Spec) Spec { s.Dir = filepath.Join(s.Dir, "nope"); return s }, want: "is not a directory"},
		{name: "no id", spec: func(s Spec) Spec { s.ID = ""; return s }, want: "ID: is empty; set it to the instance id"},
		{name: "bad policy", spec: func(s Spec) Spec { s.Restart = "sometimes"; return s }, want: `Restart: is not a restart policy (got "sometimes"); use always, on-failure or never`},
		{name: "negative timeout", spec: func(s Spec) Spec { s.KillTimeout = -time.Second; return s }, want: "KillTimeout: is negative (got -1s)"},
		{name: "empty command", spec: func(s Spec) Spec { s.Command = " "; return s }, want: "Command: is empty"},
		{name: "no shim command", shim: []string{}, spec: func(s Spec) Spec { return s }, want: "Config.ShimCommand is empty"},
		{name: "shim binary missing", shim: []string{"/nonexistent/madang", "shim"}, spec: func(s Spec) Spec { return s }, want: "start shim /nonexistent/madang"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sup := e.sup
			if tc.shim != nil {
				sup = New(Config{ShimCommand: tc.shim})
				defer sup.Close()
			}
			err := sup.Start(tc.spec(good))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start error = %v, want it to contain %q", err, tc.want)
			}
			if _, ok := sup.Status(good.ID); ok {
				t.Errorf("failed Start left the ID registered")
			}
		})
	}
	t.Run("stop unknown", func(t *testing.T) {
		if err := e.sup.Stop(context.Background(), "i-none"); !errors.Is(err, ErrUnknown) {
			t.Errorf("Stop(unknown) = %v, want ErrUnknown", err)
		}
	})
}

func TestShimFailureErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sup := New(Config{ShimCommand: []string{"/bin/sh", "-c", "echo shim-broken >&2; exit 7", "sh"}})
	t.Cleanup(func() { e.cleanup(t, sup) })
	spec := e.spec(t, "i-shim", "-listen")
	if err := sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, sup, spec.ID, PhaseErrored)
	for _, want := range []string{"the shim exited before starting the app", "exit status 7", "shim-broken"} {
		if !strings.Contains(st.Reason, want) {
			t.Errorf("Reason = %q, want it to contain %q", st.Reason, want)
		}
	}
}

func TestListAndStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, id := range []string{"i-b", "i-a"} {
		spec := e.spec(t, id, "-listen")
		spec.Ready = Probe{}
		if err := e.sup.Start(spec); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, st := range e.sup.List() {
		ids = append(ids, st.ID)
	}
	if !slices.Equal(ids, []string{"i-a", "i-b"}) {
		t.Errorf("List IDs = %v, want [i-a i-b]", ids)
	}
	if _, ok := e.sup.Status("i-zz"); ok {
		t.Errorf("Status of unknown ID: ok")
	}
}

func TestShimKilledAppStillSupervised(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-noshim", "-listen")
	spec.KillTimeout = 300 * time.Millisecond
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
	// An app that writes after its shim is gone dies of SIGPIPE; let it
	// finish its start-up output first.
	e.wait(t, e.sup, spec.ID, "start-up output", func(Status) bool { return hasLine(e.log(t, spec.ID), "out listening on") })
	state := waitState(t, spec.StateDir, st.PID)
	if err := syscall.Kill(state.ShimPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitDead(t, state.ShimPID, state.ShimStartTime, 2*time.Second)
	time.Sleep(100 * time.Millisecond)
	if now, _ := e.sup.Status(spec.ID); now.Phase != PhaseRunning || now.PID != st.PID || now.Restarts != 0 {
		t.Errorf("status after the shim died: %+v, want still running pid %d without a restart", now, st.PID)
	}
	if err := e.sup.Stop(context.Background(), spec.ID); err != nil {
		t.Fatal(err)
	}
	waitDead(t, st.PID, st.StartTime, time.Second)
}

func TestAdoptVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// prepare runs after the first supervisor has closed.
		prepare   func(t *testing.T, spec Spec, st Status)
		userData  string
		waitFirst func(Status) bool
		wantAdopt bool
		samePID   bool
	}{
		{
			name:      "shim still running user data",
			userData:  "sleep 0.5\necho ud-done\n",
			waitFirst: func(s Status) bool { return s.Phase == PhaseStarting },
			prepare: func(t *testing.T, spec Spec, st Status) {
				// The shim records itself before it runs user data.
				deadline := time.Now().Add(5 * time.Second)
				for {
					if state, err := shim.ReadState(spec.StateDir); err == nil && state.ShimPID > 0 && state.AppPID == 0 {
						return
					}
					if time.Now().After(deadline) {
						t.Fatal("shim.json not written during user data")
					}
					time.Sleep(2 * time.Millisecond)
				}
			},
			wantAdopt: true,
		},
		{
			name:      "shim gone, app alive",
			waitFirst: func(s Status) bool { return s.Phase == PhaseRunning },
			prepare: func(t *testing.T, spec Spec, st Status) {
				state := waitState(t, spec.StateDir, st.PID)
				_ = syscall.Kill(state.ShimPID, syscall.SIGKILL)
				waitDead(t, state.ShimPID, state.ShimStartTime, 2*time.Second)
				reapChild(state.ShimPID)
			},
			wantAdopt: true,
			samePID:   true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			spec := e.spec(t, "i-variant", "-listen")
			spec.UserData = tc.userData
			spec.KillTimeout = 300 * time.Millisecond
			if err := e.sup.Start(spec); err != nil {
				t.Fatal(err)
			}
			st := e.wait(t, e.sup, spec.ID, "the first state", tc.waitFirst)
			if err := e.sup.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.prepare != nil {
				tc.prepare(t, spec, st)
			}
			sup2 := e.newSupervisor()
			t.Cleanup(func() { e.cleanup(t, sup2) })
			adopted, err := sup2.Adopt(spec)
			if err != nil || adopted != tc.wantAdopt {
				t.Fatalf("Adopt = %v, %v; want %v", adopted, err, tc.wantAdopt)
			}
			st2 := e.waitPhase(t, sup2, spec.ID, PhaseRunning)
			if tc.samePID && st2.PID != st.PID {
				t.Errorf("pid %d after Adopt, want the same pid %d", st2.PID, st.PID)
			}
			if st2.Restarts != 0 {
				t.Errorf("Restarts = %d, want 0", st2.Restarts)
			}
			if err := sup2.Stop(context.Background(), spec.ID); err != nil {
				t.Fatal(err)
			}
			waitDead(t, st2.PID, st2.StartTime, time.Second)
		})
	}
}
