package procstat

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// startSpinner starts a shell in its own process group that spins on one
// core and keeps a sleeping child; it is killed when the test ends.
func startSpinner(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "sleep 60 & i=0; while :; do i=$((i+1)); done")
	// Its own session (hence process group) and scheduling autogroup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopGroup(t, cmd) })
	boost(t, cmd.Process.Pid)
	return cmd
}

// boost raises pid's scheduling priority where allowed (as root), so the
// spinner gets a core even while other work loads the machine.
func boost(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, pid, -20); err != nil {
		t.Logf("cannot raise priority of pid %d (%v); CPU figures may be low on a busy machine", pid, err)
		return
	}
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/autogroup", pid), []byte("-20"), 0o644)
}

// stopGroup kills cmd's process group, reaps cmd and checks that no
// process of the group is left.
func stopGroup(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// The sleeping child is reparented and reaped by init; wait for it.
		err := syscall.Kill(-pgid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("process group %d still has processes after SIGKILL: %v", pgid, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSampleRealSpinningGroup(t *testing.T) {
	cmd := startSpinner(t)
	pgid := cmd.Process.Pid
	s := NewSampler(nil)
	defer s.Forget("spin")

	// Wait until the shell has forked its sleeping child.
	var first Sample
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		if first, err = s.SampleGroup("spin", pgid); err != nil {
			t.Fatal(err)
		}
		if len(first.PIDs) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(first.PIDs) != 2 {
		t.Fatalf("group %d has pids %v, want the shell and its sleeping child", pgid, first.PIDs)
	}

	time.Sleep(time.Second)
	got, err := s.SampleGroup("spin", pgid)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("spinning group: %.1f%% CPU, RSS %d bytes, %d threads, pids %v", got.CPUPercent, got.RSSBytes, got.Threads, got.PIDs)
	// One spinning process gets what the machine's other work leaves it
	// (half a core or more when idle, much less beside a full test run),
	// never more than one core.
	if got.CPUPercent <= 5 || got.CPUPercent > 110 {
		t.Errorf("CPUPercent = %.1f, want between 5 and 110 for one spinning process", got.CPUPercent)
	}
	if got.RSSBytes == 0 {
		t.Error("RSSBytes = 0, want > 0")
	}
	if got.Threads < 2 {
		t.Errorf("Threads = %d, want at least 2", got.Threads)
	}

	// The same process sampled by pid.
	if _, err := s.SamplePIDs("spin-pid", []int{pgid}); err != nil {
		t.Fatal(err)
	}
	defer s.Forget("spin-pid")
	time.Sleep(500 * time.Millisecond)
	byPID, err := s.SamplePIDs("spin-pid", []int{pgid})
	if err != nil {
		t.Fatal(err)
	}
	if byPID.CPUPercent <= 5 || len(byPID.PIDs) != 1 {
		t.Errorf("SamplePIDs = %.1f%% CPU, pids %v; want > 5%% and one pid", byPID.CPUPercent, byPID.PIDs)
	}
}

func TestStartTimeAndAlive(t *testing.T) {
	self, err := StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if self == 0 {
		t.Fatal("StartTime(self) = 0")
	}

	cmd := exec.Command("/bin/sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childStart, err := StartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Until reaped, the killed child is a zombie.
	deadline := time.Now().Add(5 * time.Second)
	for Alive(cmd.Process.Pid, childStart) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	zombieAlive := Alive(cmd.Process.Pid, childStart)
	_ = cmd.Wait()

	tests := []struct {
		name  string
		alive bool
		want  bool
	}{
		{"self", Alive(os.Getpid(), self), true},
		{"self with another start time", Alive(os.Getpid(), self+1), false},
		{"zero pid", Alive(0, self), false},
		{"negative pid", Alive(-1, self), false},
		{"killed child not yet reaped", zombieAlive, false},
		{"reaped child", Alive(cmd.Process.Pid, childStart), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.alive != tc.want {
				t.Errorf("Alive = %v, want %v", tc.alive, tc.want)
			}
		})
	}
	if _, err := StartTime(-5); err == nil {
		t.Error("StartTime(-5) succeeded, want an error")
	}
}
