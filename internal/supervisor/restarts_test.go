package supervisor

import (
	"syscall"
	"testing"
	"time"
)

// TestRestartCountIsDurable: the restart count carries on from
// Spec.Restarts through a re-adoption and a restore after a reboot (app
// and shim gone without an exit record), and only crashes add to it.
func TestRestartCountIsDurable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-count", "-listen")
	spec.Restarts = 5 // what the instance record says
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseRunning)
	if st.Restarts != 5 {
		t.Fatalf("after Start: Restarts = %d, want 5 from the spec", st.Restarts)
	}
	crash := func(sup *Supervisor, st Status, want int) Status {
		t.Helper()
		if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		st = e.wait(t, sup, spec.ID, "a restart", func(s Status) bool { return s.Phase == PhaseRunning && s.PID != st.PID })
		if st.Restarts != want {
			t.Fatalf("after a crash: Restarts = %d, want %d", st.Restarts, want)
		}
		return st
	}
	st = crash(e.sup, st, 6)

	// The daemon restarts: the new supervisor adopts the running app with
	// the count the caller stored.
	if err := e.sup.Close(); err != nil {
		t.Fatal(err)
	}
	spec.Restarts = st.Restarts
	sup2 := e.newSupervisor()
	t.Cleanup(func() { e.cleanup(t, sup2) })
	if adopted, err := sup2.Adopt(spec); err != nil || !adopted {
		t.Fatalf("Adopt = %v, %v; want true", adopted, err)
	}
	if st2, _ := sup2.Status(spec.ID); st2.Restarts != 6 {
		t.Fatalf("after re-adoption: Restarts = %d, want 6", st2.Restarts)
	}
	st = crash(sup2, st, 7)

	// The machine reboots: shim and app end together, with no exit
	// record of this run. Starting it again is a restore, not a restart.
	if err := sup2.Close(); err != nil {
		t.Fatal(err)
	}
	state := waitState(t, spec.StateDir, st.PID)
	_ = syscall.Kill(state.ShimPID, syscall.SIGKILL)
	waitDead(t, state.ShimPID, state.ShimStartTime, 5*time.Second)
	reapChild(state.ShimPID)
	_ = syscall.Kill(-st.PGID, syscall.SIGKILL)
	waitDead(t, st.PID, st.StartTime, 5*time.Second)
	spec.Restarts = 7
	sup3 := e.newSupervisor()
	t.Cleanup(func() { e.cleanup(t, sup3) })
	if adopted, err := sup3.Adopt(spec); err != nil || adopted {
		t.Fatalf("Adopt after reboot = %v, %v; want false", adopted, err)
	}
	st3 := e.wait(t, sup3, spec.ID, "the restore", func(s Status) bool { return s.Phase == PhaseRunning && s.PID != st.PID })
	if st3.Restarts != 7 {
		t.Errorf("after the restore: Restarts = %d, want 7 (a restore is not a restart)", st3.Restarts)
	}
}
