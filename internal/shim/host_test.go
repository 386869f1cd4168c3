package shim

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/madang-dev/madang/internal/procstat"
)

// hostedShim is a shim spawned in a process host by a test, which plays
// the daemon on its control connection.
type hostedShim struct {
	c      Config
	conn   net.Conn
	events chan Event
	done   chan struct{} // closed when the connection has ended
}

// newTestHostClient returns a client whose host serves a socket in a
// fresh directory; the host is killed at the end of the test if it is
// still there.
func newTestHostClient(t *testing.T) *HostClient {
	t.Helper()
	// A race-enabled host sleeps a second at exit unless told not to.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h, err := NewHostClient([]string{exe, "shim"}, filepath.Join(dir, "shimhost.sock"), filepath.Join(dir, "shimhost.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = h.Close()
		if b, err := os.ReadFile(h.logPath); err == nil && len(b) > 0 && t.Failed() {
			t.Logf("host log:\n%s", b)
		}
	})
	return h
}

// spawnHosted spawns c in h's host with env.
func spawnHosted(t *testing.T, h *HostClient, c Config, env []string) (*hostedShim, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "control"), os.NewFile(uintptr(fds[1]), "control")
	defer theirs.Close()
	conn, err := net.FileConn(mine)
	_ = mine.Close()
	if err != nil {
		t.Fatal(err)
	}
	pid, start, err := h.Spawn(c, env, theirs)
	if err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	t.Cleanup(func() {
		// Whatever a failed test left running: the shim is told to quit
		// (the stop file, which it reads when its app ends) and its app
		// is killed, so the host runs out of shims and exits.
		_ = os.WriteFile(filepath.Join(c.StateDir, StopFile), nil, 0o644)
		if st, err := ReadState(c.StateDir); err == nil && st.PGID > 0 {
			_ = syscall.Kill(-st.PGID, syscall.SIGKILL)
		}
	})
	if !procstat.Alive(pid, start) {
		t.Fatalf("Spawn returned host pid %d, which is not alive", pid)
	}
	hs := &hostedShim{c: c, conn: conn, events: make(chan Event, 64), done: make(chan struct{})}
	go func() {
		defer close(hs.done)
		dec := json.NewDecoder(conn)
		for {
			var ev Event
			if err := dec.Decode(&ev); err != nil {
				return
			}
			hs.events <- ev
		}
	}()
	t.Cleanup(func() { _ = conn.Close(); <-hs.done })
	return hs, pid
}

func (hs *hostedShim) next(t *testing.T, kind EventKind) Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-hs.events:
			if ev.Kind == kind {
				return ev
			}
		case <-timeout:
			b, _ := os.ReadFile(filepath.Join(hs.c.StateDir, LogFile))
			t.Fatalf("no %s event within 10s; shim log:\n%s", kind, b)
		}
	}
}

func (hs *hostedShim) send(t *testing.T, cmd Command) {
	t.Helper()
	if err := json.NewEncoder(hs.conn).Encode(cmd); err != nil {
		t.Fatalf("send %+v: %v", cmd, err)
	}
}

// ended waits for the hosted shim to close its control connection.
func (hs *hostedShim) ended(t *testing.T) {
	t.Helper()
	select {
	case <-hs.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the hosted shim did not end within 10s")
	}
}

// waitHostGone waits for a host process to exit.
func waitHostGone(t *testing.T, pid int, start uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for procstat.Alive(pid, start) {
		if time.Now().After(deadline) {
			t.Fatalf("host %d still runs after 10s", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func parentPID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

func TestHostRunsShimsInOneProcess(t *testing.T) {
	h := newTestHostClient(t)
	var shims []*hostedShim
	var apps []State
	hostPID := 0
	for i := range 3 {
		c := testConfig(t, "echo hello-"+strconv.Itoa(i)+" from $NAME; exec sleep 60")
		hs, pid := spawnHosted(t, h, c, []string{"NAME=app" + strconv.Itoa(i), "PATH=/usr/bin:/bin"})
		if hostPID == 0 {
			hostPID = pid
		} else if pid != hostPID {
			t.Fatalf("shim %d went to host %d, the first to %d; want one host", i, pid, hostPID)
		}
		ev := hs.next(t, EventStarted)
		if !ev.State.Hosted || ev.State.ShimPID != hostPID {
			t.Fatalf("started event %+v: want Hosted with ShimPID %d", ev.State, hostPID)
		}
		if got := parentPID(t, ev.State.AppPID); got != hostPID {
			t.Errorf("app %d has parent %d, want the host %d", ev.State.AppPID, got, hostPID)
		}
		shims, apps = append(shims, hs), append(apps, ev.State)
	}
	for i, hs := range shims {
		deadline := time.Now().Add(5 * time.Second)
		for !containsLine(logLines(t, hs.c.LogPath), "hello-"+strconv.Itoa(i)+" from app"+strconv.Itoa(i)) {
			if time.Now().After(deadline) {
				t.Fatalf("instance log %d lacks its line: %q", i, logLines(t, hs.c.LogPath))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	hostStart, err := procstat.StartTime(hostPID)
	if err != nil {
		t.Fatal(err)
	}
	// Quitting one shim and ending its app ends that shim only.
	shims[0].send(t, Command{Op: OpQuit})
	_ = syscall.Kill(-apps[0].PGID, syscall.SIGTERM)
	if ev := shims[0].next(t, EventExited); ev.Exit.Signal != "SIGTERM" {
		t.Errorf("exited event %+v (exit %+v), want one by SIGTERM", ev, ev.Exit)
	}
	shims[0].ended(t)
	if conn, err := Dial(shims[0].c.StateDir, time.Second); err == nil {
		conn.Close()
		t.Errorf("the ended shim still answers on its control socket %s", ControlAddress(shims[0].c.StateDir))
	}
	// Quiet shims make neither a socket file nor a log file; a message
	// makes the log.
	for _, name := range []string{SocketFile, LogFile} {
		if _, err := os.Stat(filepath.Join(shims[1].c.StateDir, name)); !os.IsNotExist(err) {
			t.Errorf("%s of a quiet hosted shim: %v, want none", name, err)
		}
	}
	shims[1].send(t, Command{Op: "dance"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(shims[1].c.StateDir, LogFile))
		if strings.Contains(string(b), `ignoring unknown control operation "dance"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim log after an unknown command: %q", b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, st := range apps[1:] {
		if !procstat.Alive(st.AppPID, st.AppStartTime) {
			t.Errorf("app %d ended with another instance's shim", st.AppPID)
		}
	}
	// The host outlives its daemon while it hosts shims...
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if !procstat.Alive(hostPID, hostStart) {
		t.Fatal("the host exited while it still hosted shims")
	}
	// ...and a restarted daemon reaches them on their control sockets.
	conn, err := Dial(shims[1].c.StateDir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dec := json.NewDecoder(conn)
	var ev Event
	if err := dec.Decode(&ev); err != nil || ev.Kind != EventStarted || ev.State.AppPID != apps[1].AppPID {
		t.Fatalf("event on a new connection: %+v, %v; want started, app %d", ev, err, apps[1].AppPID)
	}
	// The new connection replaced the old one, which the shim closed.
	shims[1].ended(t)
	if err := json.NewEncoder(conn).Encode(Command{Op: OpQuit}); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(-apps[1].PGID, syscall.SIGKILL)
	for dec.Decode(&ev) == nil {
	}
	// It exits once the last shim has ended and nobody is connected.
	shims[2].send(t, Command{Op: OpQuit})
	_ = syscall.Kill(-apps[2].PGID, syscall.SIGKILL)
	shims[2].ended(t)
	waitHostGone(t, hostPID, hostStart)
}

func TestHostedShimRestartsInPlace(t *testing.T) {
	h := newTestHostClient(t)
	c := testConfig(t, "echo run; exit 3")
	hs, hostPID := spawnHosted(t, h, c, nil)
	ev := hs.next(t, EventExited)
	if ev.Exit.Code != 3 || ev.Final {
		t.Fatalf("first exit %+v, want code 3, not final", ev.Exit)
	}
	hs.send(t, Command{Op: OpStart, Run: ev.State.Run})
	ev = hs.next(t, EventExited)
	if ev.State.Run != 2 || ev.State.ShimPID != hostPID || ev.Exit.Code != 3 {
		t.Fatalf("second run %+v exit %+v: want run 2 in host %d, code 3", ev.State, ev.Exit, hostPID)
	}
	hs.send(t, Command{Op: OpQuit})
	hs.ended(t)
	if ex, err := ReadExit(c.StateDir); err != nil || ex.Run != 2 || ex.Code != 3 {
		t.Errorf("exit.json = %+v, %v; want run 2, code 3", ex, err)
	}
}

func TestHostedUserDataRunsInItsOwnGroup(t *testing.T) {
	h := newTestHostClient(t)
	c := testConfig(t, "echo app-output")
	c.UserData = filepath.Join(c.StateDir, UserDataScript)
	if err := os.WriteFile(c.UserData, []byte("echo user data; sleep 60\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	hs, hostPID := spawnHosted(t, h, c, []string{"PATH=/usr/bin:/bin"})
	var st State
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		if st, err = ReadState(c.StateDir); err == nil && st.UserDataPGID > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim.json = %+v, %v; want the user data's process group", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st.UserDataPGID == hostPID || !st.Hosted {
		t.Fatalf("user data group %d (host %d), hosted %v: want a group of its own", st.UserDataPGID, hostPID, st.Hosted)
	}
	// A stop: the marker, then the signal to the script's group.
	if err := os.WriteFile(filepath.Join(c.StateDir, StopFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(-st.UserDataPGID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	hs.ended(t)
	if lines := logLines(t, c.LogPath); containsLine(lines, "app-output") {
		t.Errorf("the app started after a stop during user data: %q", lines)
	}
	if _, err := os.Stat(filepath.Join(c.StateDir, UserDataDone)); err != nil {
		t.Errorf("user data not marked done after it was killed: %v", err)
	}
}

func TestHostClientReplacesAnotherBuild(t *testing.T) {
	h := newTestHostClient(t)
	c := testConfig(t, "exec sleep 60")
	old, oldPID := spawnHosted(t, h, c, []string{"PATH=/usr/bin:/bin"})
	oldApp := old.next(t, EventStarted).State
	oldStart, err := procstat.StartTime(oldPID)
	if err != nil {
		t.Fatal(err)
	}
	_ = h.Close()

	// A daemon of another build retires that host and starts its own.
	other, err := NewHostClient(h.command, h.sock, h.logPath)
	if err != nil {
		t.Fatal(err)
	}
	other.version = "another-build"
	t.Cleanup(func() { _ = other.Close() })
	c2 := testConfig(t, "exec sleep 60")
	hs, newPID := spawnHosted(t, other, c2, []string{"PATH=/usr/bin:/bin"})
	if newPID == oldPID {
		t.Fatalf("spawned in the old host %d; want a new one", oldPID)
	}
	app := hs.next(t, EventStarted).State
	// The retired host keeps its shim, and exits after it.
	if !procstat.Alive(oldApp.AppPID, oldApp.AppStartTime) || !procstat.Alive(oldPID, oldStart) {
		t.Fatal("the retired host or its app ended early")
	}
	old.send(t, Command{Op: OpQuit})
	_ = syscall.Kill(-oldApp.PGID, syscall.SIGKILL)
	old.ended(t)
	waitHostGone(t, oldPID, oldStart)
	hs.send(t, Command{Op: OpQuit})
	_ = syscall.Kill(-app.PGID, syscall.SIGKILL)
	hs.ended(t)
}

func TestStartInCgroups(t *testing.T) {
	procs := testCgroups(t)
	before, _ := os.ReadFile("/proc/self/cgroup")
	cmd := exec.Command("sleep", "30")
	var failures []string
	if err := startInCgroups(cmd, procs, func(f string, err error) { failures = append(failures, f+": "+err.Error()) }); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if len(failures) > 0 {
		t.Fatalf("cgroups not joined: %q", failures)
	}
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(" "+strings.Join(strings.Fields(string(b)), " ")+" ", " "+strconv.Itoa(cmd.Process.Pid)+" ") {
			t.Errorf("%s = %q, want the child %d in it", p, b, cmd.Process.Pid)
		}
		// The thread that joined ends with its goroutine, shortly.
		self := strconv.Itoa(os.Getpid())
		deadline := time.Now().Add(2 * time.Second)
		for slices.Contains(strings.Fields(string(b)), self) {
			if time.Now().After(deadline) {
				t.Fatalf("%s still lists the starting process itself: %q", p, b)
			}
			time.Sleep(5 * time.Millisecond)
			b, _ = os.ReadFile(p)
		}
	}
	if after, _ := os.ReadFile("/proc/self/cgroup"); string(after) != string(before) {
		t.Errorf("the starting process moved: cgroups %q, were %q", after, before)
	}
}

// testCgroups makes a cgroup in each hierarchy (v1: cpu and memory; or
// v2) for the test and returns their cgroup.procs files.
func testCgroups(t *testing.T) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make cgroups")
	}
	var procs []string
	for _, root := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
			continue
		}
		dir := filepath.Join(root, "madang-shim-test-"+strconv.Itoa(os.Getpid())+"-"+strings.ReplaceAll(t.Name(), "/", "-"))
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		t.Cleanup(func() { _ = os.Remove(dir) })
		procs = append(procs, filepath.Join(dir, "cgroup.procs"))
		if root != "/sys/fs/cgroup" {
			continue // v1: also the next hierarchy
		}
		break
	}
	if len(procs) == 0 {
		t.Skip("no cgroup hierarchy to make a test cgroup in")
	}
	return procs
}
