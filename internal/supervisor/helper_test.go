package supervisor

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/procstat"
	"github.com/madang-dev/madang/internal/shim"
)

// TestMain lets the test binary act as the shim (`<bin> shim …`) and as a
// test application (`<bin> app …`), and checks for leaked goroutines and
// child processes after the tests.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "shim":
			os.Exit(shim.Main(os.Args[2:]))
		case "app":
			os.Exit(runApp(os.Args[2:]))
		}
	}
	code := m.Run()
	if code == 0 {
		if err := checkLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// runApp is the test application. It writes lines, listens on
// $HOST:$PORT, crashes, ignores or handles stop signals and forks a
// child, as its flags say.
func runApp(args []string) int {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	listen := fs.Bool("listen", false, "serve HTTP on $HOST:$PORT")
	crashAfter := fs.Duration("crash-after", 0, "exit with -code after this long (0: never)")
	code := fs.Int("code", 1, "exit code for -crash-after")
	ignoreTerm := fs.Bool("ignore-term", false, "ignore SIGTERM and SIGINT")
	forkChild := fs.String("fork-child", "", "start a child that ignores SIGTERM and write its pid to this file")
	lines := fs.Int("lines", 0, "lines to write to stdout and stderr at start")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for i := 0; i < *lines; i++ {
		fmt.Printf("out line %d\n", i)
		fmt.Fprintf(os.Stderr, "err line %d\n", i)
	}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
	} else {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		go func() {
			s := <-sigs
			fmt.Printf("got %v, exiting\n", s)
			os.Exit(0)
		}()
	}
	if *forkChild != "" {
		exe, _ := os.Executable()
		c := exec.Command(exe, "app", "-ignore-term")
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "fork:", err)
			return 1
		}
		_ = os.WriteFile(*forkChild, []byte(strconv.Itoa(c.Process.Pid)), 0o644)
	}
	if *listen {
		ln, err := net.Listen("tcp", net.JoinHostPort(os.Getenv("HOST"), os.Getenv("PORT")))
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			return 1
		}
		fmt.Printf("listening on %s\n", ln.Addr())
		go func() {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "ok\n")
			}))
		}()
	}
	if *crashAfter > 0 {
		time.Sleep(*crashAfter)
		fmt.Fprintf(os.Stderr, "crashing with code %d\n", *code)
		return *code
	}
	for {
		time.Sleep(time.Hour)
	}
}

// checkLeaks reports supervision goroutines or child processes left after
// all tests.
func checkLeaks() error {
	if err := leakcheck.Check(3*time.Second, leakcheck.Contains("internal/supervisor.(*", "internal/supervisor.startProbe")); err != nil {
		return fmt.Errorf("leaks after tests: %w", err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := leftChildren()
		if left == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaks after tests:\n%s", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leftChildren describes the child processes of the test binary, one a
// line.
func leftChildren() string {
	var out []string
	for _, pid := range childrenOf(os.Getpid()) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		out = append(out, fmt.Sprintf("child process %d: %s (%s)", pid, strings.ReplaceAll(string(b), "\x00", " "), strings.TrimSpace(string(stat))))
	}
	return strings.Join(out, "\n")
}

// reapChild waits for an exited child of the test process that no
// supervisor will reap (its supervisor was closed).
func reapChild(pid int) {
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, 0, nil)
}

// childrenOf lists the processes (including zombies) whose parent is pid.
func childrenOf(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, n)
		}
	}
	return kids
}

// env is a test environment: a Supervisor plus what its tests need.
type env struct {
	t   *testing.T
	sup *Supervisor
	exe string
	rec *recorder

	mu   sync.Mutex
	logs map[string]string // instance log by ID
	sups []*Supervisor     // every Supervisor made by newEnv and newSupervisor
}

// recorder keeps the phases reported through OnChange.
type recorder struct {
	mu     sync.Mutex
	phases map[string][]Phase
}

func (r *recorder) onChange(st Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ph := r.phases[st.ID]
	if len(ph) == 0 || ph[len(ph)-1] != st.Phase {
		r.phases[st.ID] = append(ph, st.Phase)
	}
}

func (r *recorder) get(id string) []Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Phase(nil), r.phases[id]...)
}

// settle returns the phases reported for id once ok accepts them, or
// after 5 s: OnChange runs shortly after a change, not before Status shows
// it.
func (r *recorder) settle(id string, ok func([]Phase) bool) []Phase {
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.get(id)
		if ok(got) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newEnv(t testing.TB) *env {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{exe: exe, rec: &recorder{phases: map[string][]Phase{}}, logs: map[string]string{}}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	e.sup = e.newSupervisor()
	t.Cleanup(func() { e.cleanup(t, e.sup) })
	return e
}

func (e *env) newSupervisor() *Supervisor {
	var log *slog.Logger
	if e.t != nil {
		log = testLogger(e.t)
	}
	sup := New(Config{ShimCommand: []string{e.exe, "shim"}, Logger: log, OnChange: e.rec.onChange})
	e.mu.Lock()
	e.sups = append(e.sups, sup)
	e.mu.Unlock()
	return sup
}

// stopID stops id under every supervisor of e, so its processes are gone
// before its directories are removed.
func (e *env) stopID(t testing.TB, id string) {
	e.mu.Lock()
	sups := append([]*Supervisor(nil), e.sups...)
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, sup := range sups {
		if st, ok := sup.Status(id); ok && !st.Phase.Final() {
			if err := sup.Stop(ctx, id); err != nil && err != ErrClosed {
				t.Errorf("cleanup: stop %s: %v", id, err)
			}
		}
	}
}

// cleanup stops everything sup still supervises, closes it and checks
// that no app process survived.
func (e *env) cleanup(t testing.TB, sup *Supervisor) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, st := range sup.List() {
		if !st.Phase.Final() {
			if err := sup.Stop(ctx, st.ID); err != nil && err != ErrClosed {
				t.Errorf("cleanup: stop %s: %v", st.ID, err)
			}
		}
	}
	_ = sup.Close()
	for _, st := range sup.List() {
		if st.PID > 0 && procstat.Alive(st.PID, st.StartTime) {
			t.Errorf("cleanup: %s: app pid %d still alive in phase %s", st.ID, st.PID, st.Phase)
			_ = syscall.Kill(-st.PGID, syscall.SIGKILL)
		}
	}
}

var addrSeq atomic.Uint32

// freeAddr returns a free host:port on a 127.x loopback address.
func freeAddr(t testing.TB) (host, port string) {
	t.Helper()
	n := addrSeq.Add(1)
	host = fmt.Sprintf("127.77.%d.%d", os.Getpid()%250+1, n%250+1)
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", host, err)
	}
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	_ = ln.Close()
	return host, port
}

// spec returns a Spec running the test app with args, with small
// timeouts suited to tests.
func (e *env) spec(t testing.TB, id string, args ...string) Spec {
	t.Helper()
	root := t.TempDir()
	// Registered after TempDir, so it runs before the removal.
	t.Cleanup(func() { e.stopID(t, id) })
	dir := filepath.Join(root, "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	host, port := freeAddr(t)
	e.mu.Lock()
	e.logs[id] = filepath.Join(root, "logs", "instance.log")
	e.mu.Unlock()
	return Spec{
		ID:       id,
		Dir:      dir,
		StateDir: filepath.Join(root, "state"),
		LogPath:  filepath.Join(root, "logs", "instance.log"),
		Command:  "exec '" + e.exe + "' app " + strings.Join(args, " "),
		Env: []string{
			"GORACE=atexit_sleep_ms=0", // a race-enabled binary otherwise sleeps 1s at exit
			"PATH=/usr/bin:/bin",
			"HOST=" + host,
			"PORT=" + port,
		},
		BackoffInitial: 20 * time.Millisecond,
		BackoffMax:     100 * time.Millisecond,
		KillTimeout:    2 * time.Second,
		Ready:          Probe{Addr: net.JoinHostPort(host, port), Timeout: 10 * time.Second},
	}
}

// wait polls the status of id until cond holds.
func (e *env) wait(t testing.TB, sup *Supervisor, id string, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, ok := sup.Status(id)
		if ok && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: timed out waiting for %s; status %+v; phases %v; log:\n%s", id, what, st, e.rec.get(id), strings.Join(e.log(t, id), "\n"))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) waitPhase(t testing.TB, sup *Supervisor, id string, ph Phase) Status {
	t.Helper()
	return e.wait(t, sup, id, "phase "+string(ph), func(st Status) bool { return st.Phase == ph })
}

// log returns the instance log of a spec made by e.spec.
func (e *env) log(t testing.TB, id string) []string {
	e.mu.Lock()
	path := e.logs[id]
	e.mu.Unlock()
	if path == "" {
		return nil
	}
	return logLines(t, path)
}

// logLines returns the instance log as "<stream> <text>" lines.
func logLines(t testing.TB, path string) []string {
	t.Helper()
	lines, err := logfile.Tail(path, 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Stream + " " + l.Text
	}
	return out
}

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// waitDead waits until the process is gone.
func waitDead(t testing.TB, pid int, start uint64, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for procstat.Alive(pid, start) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pid %d still alive after %s", pid, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readPIDFile(t testing.TB, name string) (int, uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(name)
		if err == nil && len(b) > 0 {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			start, _ := procstat.StartTime(pid)
			return pid, start
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitState waits until shim.json names the app appPID (the shim writes
// it in the background) and returns it.
func waitState(t testing.TB, stateDir string, appPID int) shim.State {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := shim.ReadState(stateDir)
		if err == nil && st.AppPID == appPID {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim.json = %+v, %v; want app pid %d", st, err, appPID)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
