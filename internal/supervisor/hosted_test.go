package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/procstat"
	"github.com/madang-dev/madang/internal/shim"
)

// newHostedEnv is newEnv with the shims in a process host, serving a
// socket of its own; the host is waited for at the end of the test.
func newHostedEnv(t *testing.T) (*env, func() *Supervisor) {
	t.Helper()
	e := &env{rec: &recorder{phases: map[string][]Phase{}}, logs: map[string]string{}, t: t}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e.exe = exe
	dir := t.TempDir()
	sock, logPath := filepath.Join(dir, "shimhost.sock"), filepath.Join(dir, "shimhost.log")
	var clients []*shim.HostClient
	newSup := func() *Supervisor {
		hc, err := shim.NewHostClient([]string{exe, "shim"}, sock, logPath)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, hc)
		sup := New(Config{Host: hc, Logger: testLogger(t), OnChange: e.rec.onChange})
		e.mu.Lock()
		e.sups = append(e.sups, sup)
		e.mu.Unlock()
		return sup
	}
	e.sup = newSup()
	t.Cleanup(func() {
		e.mu.Lock()
		sups := append([]*Supervisor(nil), e.sups...)
		e.mu.Unlock()
		for _, sup := range sups {
			e.cleanup(t, sup)
		}
		for _, hc := range clients {
			_ = hc.Close()
		}
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("host log:\n%s", b)
			}
		}
	})
	return e, newSup
}

// hostOf returns the host process of a running hosted instance, after
// checking that its app runs there.
func hostOf(t *testing.T, st Status, stateDir string) (int, uint64) {
	t.Helper()
	ss := waitState(t, stateDir, st.PID)
	if !ss.Hosted {
		t.Fatalf("shim.json %+v: not hosted", ss)
	}
	if got := parentOf(t, st.PID); got != ss.ShimPID {
		t.Fatalf("app %d has parent %d, want its host %d", st.PID, got, ss.ShimPID)
	}
	return ss.ShimPID, ss.ShimStartTime
}

func TestHostedInstancesRestartAndStop(t *testing.T) {
	e, _ := newHostedEnv(t)
	a := e.spec(t, "i-a", "-listen")
	b := e.spec(t, "i-b", "-listen", "-crash-after", "300ms", "-code", "4")
	b.Ready = Probe{} // it crashes; readiness is not the point
	for _, spec := range []Spec{a, b} {
		if err := e.sup.Start(spec); err != nil {
			t.Fatal(err)
		}
	}
	stA := e.waitPhase(t, e.sup, "i-a", PhaseRunning)
	hostA, hostStart := hostOf(t, stA, a.StateDir)
	stB := e.waitPhase(t, e.sup, "i-b", PhaseRunning)
	if hostB, _ := hostOf(t, stB, b.StateDir); hostB != hostA {
		t.Fatalf("instances in hosts %d and %d; want one", hostA, hostB)
	}
	// A crash restarts the app in place: the same host, run 2.
	restarted := e.wait(t, e.sup, "i-b", "a restart", func(st Status) bool {
		return st.Restarts >= 1 && st.Phase == PhaseRunning && st.PID != stB.PID
	})
	if restarted.LastExit == nil || restarted.LastExit.Code != 4 {
		t.Errorf("LastExit = %+v, want code 4", restarted.LastExit)
	}
	if ss := waitState(t, b.StateDir, restarted.PID); ss.ShimPID != hostA || ss.Run < 2 {
		t.Errorf("after the restart shim.json = %+v; want host %d, run 2 or later", ss, hostA)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sup.Stop(ctx, "i-a"); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.sup.Status("i-a"); st.Phase != PhaseStopped {
		t.Errorf("i-a phase %s after Stop, want stopped", st.Phase)
	}
	waitDead(t, stA.PID, stA.StartTime, 5*time.Second)
	if !procstat.Alive(hostA, hostStart) {
		t.Fatal("the host exited while it still ran i-b")
	}
	if err := e.sup.Stop(ctx, "i-b"); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, "i-b", PhaseStopped)
	if st.PID > 0 && procstat.Alive(st.PID, st.StartTime) {
		t.Errorf("i-b app %d alive after Stop", st.PID)
	}
}

func TestHostedInstanceIsAdoptedByANewSupervisor(t *testing.T) {
	e, newSup := newHostedEnv(t)
	spec := e.spec(t, "i-adopt", "-listen")
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
	host, _ := hostOf(t, st, spec.StateDir)
	// The daemon goes away: the app and its hosted shim stay.
	if err := e.sup.Close(); err != nil {
		t.Fatal(err)
	}
	if !procstat.Alive(st.PID, st.StartTime) {
		t.Fatal("the app ended with its supervisor")
	}
	sup2 := newSup()
	running, err := sup2.Adopt(spec)
	if err != nil || !running {
		t.Fatalf("Adopt = %v, %v; want running", running, err)
	}
	adopted := e.waitPhase(t, sup2, spec.ID, PhaseRunning)
	if adopted.PID != st.PID {
		t.Errorf("adopted pid %d, want the running %d", adopted.PID, st.PID)
	}
	// A crash is restarted in the same hosted shim by the new supervisor.
	_ = syscall.Kill(st.PID, syscall.SIGKILL)
	again := e.wait(t, sup2, spec.ID, "a restart", func(s Status) bool {
		return s.Phase == PhaseRunning && s.PID != st.PID && s.Restarts >= 1
	})
	if h, _ := hostOf(t, again, spec.StateDir); h != host {
		t.Errorf("restarted in host %d, want %d", h, host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sup2.Stop(ctx, spec.ID); err != nil {
		t.Fatal(err)
	}
	waitDead(t, again.PID, again.StartTime, 5*time.Second)
}

func TestHostedStopDuringUserData(t *testing.T) {
	e, _ := newHostedEnv(t)
	spec := e.spec(t, "i-ud", "-lines", "1")
	spec.UserData = "echo user data running\nsleep 30\n"
	spec.Ready = Probe{}
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !hasLine(e.log(t, spec.ID), "user data running") {
		if time.Now().After(deadline) {
			t.Fatalf("user data did not start; log %q", e.log(t, spec.ID))
		}
		time.Sleep(5 * time.Millisecond)
	}
	ss, err := shim.ReadState(spec.StateDir)
	for err != nil || ss.UserDataPGID == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("shim.json = %+v, %v; want the user data's group", ss, err)
		}
		time.Sleep(5 * time.Millisecond)
		ss, err = shim.ReadState(spec.StateDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	began := time.Now()
	if err := e.sup.Stop(ctx, spec.ID); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > spec.KillTimeout {
		t.Errorf("Stop took %s, more than the kill timeout %s: the user data was not signalled", took, spec.KillTimeout)
	}
	if st, _ := e.sup.Status(spec.ID); st.Phase != PhaseStopped {
		t.Errorf("phase %s after Stop, want stopped", st.Phase)
	}
	if hasLine(e.log(t, spec.ID), "out line 0") {
		t.Errorf("the app started after a stop during user data: %q", e.log(t, spec.ID))
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(ss.UserDataPGID)); err == nil {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(ss.UserDataPGID) + "/cmdline"); strings.Contains(string(b), "sleep") {
			t.Errorf("the user data script %d still runs", ss.UserDataPGID)
		}
	}
}

func TestHostedAppOutlivesAKilledHost(t *testing.T) {
	e, _ := newHostedEnv(t)
	spec := e.spec(t, "i-orphan", "-listen")
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
	host, hostStart := hostOf(t, st, spec.StateDir)
	if err := syscall.Kill(host, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitDead(t, host, hostStart, 5*time.Second)
	// The app keeps serving and is watched directly.
	time.Sleep(100 * time.Millisecond)
	if !procstat.Alive(st.PID, st.StartTime) {
		t.Fatal("the app ended with its host")
	}
	if now, _ := e.sup.Status(spec.ID); now.Phase != PhaseRunning || now.PID != st.PID {
		t.Errorf("after the host was killed: phase %s pid %d, want running %d", now.Phase, now.PID, st.PID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sup.Stop(ctx, spec.ID); err != nil {
		t.Fatal(err)
	}
	waitDead(t, st.PID, st.StartTime, 5*time.Second)
}
