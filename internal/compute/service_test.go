package compute

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/shim"
	"github.com/madang-dev/madang/internal/state"
	"github.com/madang-dev/madang/internal/supervisor"
)

// TestMain lets the test binary act as the shim (`<bin> shim …`) and as
// an instance's app (`<bin> app`, which serves HTTP on $HOST:$PORT).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "shim":
			os.Exit(shim.Main(os.Args[2:]))
		case "app":
			os.Exit(runTestApp())
		}
	}
	os.Exit(m.Run())
}

func runTestApp() int {
	if os.Getenv("CRASH") != "" {
		fmt.Fprintln(os.Stderr, "crashing as asked")
		return 3
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	ln, err := net.Listen("tcp", net.JoinHostPort(os.Getenv("HOST"), os.Getenv("PORT")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, os.Getenv("INSTANCE_ID")+"\n")
		}))
	}()
	<-sigs
	return 0
}

// testCompute is a compute service on a home of its own, with one image
// ("app", from a source directory of its own) and one launch template
// ("app").
type testCompute struct {
	t      testing.TB
	home   string
	source string
	store  state.Store
	svc    *Service
	exe    string
	book   *AddressBook    // nil: the host-wide one
	host   supervisor.Host // nil: one process per shim
}

func newTestCompute(t *testing.T) *testCompute { return newTestComputeWith(t, nil) }

// privateBookPort is the app port of testComputes with a private lease book.
const privateBookPort = 3917

// newTestComputeWith makes a testCompute leasing addresses from book.
func newTestComputeWith(t *testing.T, book *AddressBook) *testCompute {
	t.Helper()
	return newTestComputeOn(t, book, state.NewMemory())
}

// newTestComputeOn makes a testCompute keeping its records in store.
func newTestComputeOn(t *testing.T, book *AddressBook, store state.Store) *testCompute {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tc := &testCompute{t: t, home: t.TempDir(), source: t.TempDir(), store: store, exe: exe, book: book}
	if err := os.WriteFile(filepath.Join(tc.source, "main.txt"), []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tc.open()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := tc.svc.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	port := 3000
	if book != nil && book.Dir != "" {
		// A private lease book does not see the addresses the other
		// tests (of every package, running at once) lease from the
		// host-wide one: its instances use a port no other test does.
		port = privateBookPort
	}
	spec := ImageSpec{Name: "app", Source: tc.source, Command: "exec '" + exe + "' app", Port: port}
	tc.commit(ImageKind(), &spec, "/srv/stack/madang.yaml")
	tc.commit(LaunchTemplateKind(), &LaunchTemplateSpec{Name: "app", LaunchTemplateData: LaunchTemplateData{
		Image: "app",
		Env:   map[string]string{"GORACE": "atexit_sleep_ms=0"},
		Supervision: SupervisionSpec{
			BackoffInitial: Duration(10 * time.Millisecond), BackoffMax: Duration(50 * time.Millisecond),
			KillTimeout: Duration(2 * time.Second), Readiness: ReadinessSpec{Timeout: Duration(10 * time.Second)},
		},
	}}, "")
	return tc
}

// commit builds spec's record as apply does (over the stored one), stores
// it, and waits until the service has seen it.
func (tc *testCompute) commit(k kind.Kind, spec any, stackFile string) {
	tc.t.Helper()
	ctx := context.Background()
	key := kind.Key(k, k.Name(spec))
	var old any
	if kv, err := tc.store.Get(ctx, key); err == nil {
		if old, err = k.Decode(kv.Value); err != nil {
			tc.t.Fatal(err)
		}
	}
	env := kind.Env{Home: tc.home, Now: time.Now, Events: event.New(64, nil), StackFile: stackFile}
	rec, _, err := k.Build(ctx, env, spec, "teststack", old)
	if err != nil {
		tc.t.Fatal(err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		tc.t.Fatal(err)
	}
	rev, err := tc.store.Put(ctx, key, b)
	if err != nil {
		tc.t.Fatal(err)
	}
	if err := tc.svc.Observed(ctx, rev); err != nil {
		tc.t.Fatal(err)
	}
}

// open starts a compute service (a daemon start) on tc's home and store.
func (tc *testCompute) open() {
	tc.t.Helper()
	mode, _ := DetectAddressMode()
	svc, err := New(context.Background(), Options{
		Home: tc.home, Store: tc.store, ShimCommand: []string{tc.exe, "shim"}, AddressMode: mode,
		Addresses: tc.book, ShimHost: tc.host,
	})
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.svc = svc
}

// reopen closes the service, leaving its apps running, and starts a new
// one: a daemon restart.
func (tc *testCompute) reopen() {
	tc.t.Helper()
	if err := tc.svc.Close(); err != nil {
		tc.t.Fatal(err)
	}
	tc.open()
}

func (tc *testCompute) run() Instance {
	tc.t.Helper()
	ins, err := tc.svc.Run(context.Background(), RunRequest{LaunchTemplate: "app", Count: 1})
	if err != nil {
		tc.t.Fatal(err)
	}
	return ins[0]
}

// wait polls Describe until cond holds.
func (tc *testCompute) wait(id, what string, cond func(View) bool) View {
	tc.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, err := tc.svc.Describe(id)
		if err == nil && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			tc.t.Fatalf("%s: timed out waiting for %s; view %+v, %v", id, what, v, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (tc *testCompute) waitRunning(id string) View {
	tc.t.Helper()
	return tc.wait(id, "running", func(v View) bool { return v.State == StateRunning && v.Phase == "running" && v.PID > 0 })
}

// TestRestartCountSurvivesDaemonAndMachineRestarts: the restart count of
// an instance survives re-adoption by a new daemon and the restore after
// a machine reboot, which does not count as a restart.
func TestRestartCountSurvivesDaemonAndMachineRestarts(t *testing.T) {
	t.Parallel()
	tc := newTestCompute(t)
	id := tc.run().ID
	v := tc.waitRunning(id)
	crash := func(v View, want int) View {
		t.Helper()
		if err := syscall.Kill(v.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		v = tc.wait(id, "a restart", func(n View) bool { return n.State == StateRunning && n.PID > 0 && n.PID != v.PID })
		if v.Restarts != want {
			t.Fatalf("after a crash: restarts = %d, want %d", v.Restarts, want)
		}
		return v
	}
	v = crash(v, 1)
	// The record catches up with the supervisor shortly after.
	tc.wait(id, "the stored count", func(View) bool { in, _ := tc.svc.Instance(id); return in.Restarts == 1 })

	tc.reopen() // a daemon restart: the app is re-adopted
	if got := tc.waitRunning(id); got.PID != v.PID || got.Restarts != 1 {
		t.Fatalf("after re-adoption: pid %d restarts %d, want pid %d and 1 restart", got.PID, got.Restarts, v.PID)
	}
	v = crash(v, 2)
	tc.wait(id, "the stored count", func(View) bool { in, _ := tc.svc.Instance(id); return in.Restarts == 2 })

	// A machine reboot: the daemon, the shim and the app all end, and no
	// exit is recorded.
	if err := tc.svc.Close(); err != nil {
		t.Fatal(err)
	}
	in, _ := tc.svc.Instance(id)
	// The shim records the app's pid just after starting it; a reboot
	// before that write would look like a crash of the previous run (its
	// exit is on record), so wait for it, as a machine would have.
	var st shim.State
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if st, err = shim.ReadState(filepath.Join(in.Dir, "state")); err == nil && st.AppPID == v.PID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shim's state never recorded the app's pid %d: %+v, %v", v.PID, st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = syscall.Kill(st.ShimPID, syscall.SIGKILL)
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(st.ShimPID, &ws, 0, nil)
	_ = syscall.Kill(-v.PID, syscall.SIGKILL)
	waitGone(t, v.PID)
	tc.open()
	got := tc.wait(id, "the restore", func(n View) bool { return n.Phase == "running" && n.PID > 0 && n.PID != v.PID })
	if got.Restarts != 2 {
		t.Fatalf("after the restore: pid %d restarts %d, want a new pid and still 2 restarts", got.PID, got.Restarts)
	}
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still alive", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTwoHomesNeverShareAnAddress: a stopped instance of one home keeps
// its address; an instance of another home on the same host gets another
// one, and the stopped instance starts again on its own.
func TestTwoHomesNeverShareAnAddress(t *testing.T) {
	t.Parallel()
	// The host-wide book: a private one would not see the addresses the
	// other tests running in parallel lease, and hand out one they use.
	book := &AddressBook{}
	a, b := newTestComputeWith(t, book), newTestComputeWith(t, book)
	ctx := context.Background()
	a1 := a.run()
	a.waitRunning(a1.ID)
	if err := a.svc.Stop(ctx, a1.ID); err != nil {
		t.Fatal(err)
	}
	b1 := b.run()
	if b1.Addr() == a1.Addr() {
		t.Fatalf("home B's instance got %s, the address of home A's stopped instance", b1.Addr())
	}
	b.waitRunning(b1.ID)
	if err := a.svc.Start(ctx, a1.ID); err != nil {
		t.Fatal(err)
	}
	v := a.waitRunning(a1.ID)
	if v.Addr() != a1.Addr() {
		t.Errorf("restarted at %s, want its own address %s", v.Addr(), a1.Addr())
	}
	resp, err := http.Get("http://" + v.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := strings.TrimSpace(string(body)); got != a1.ID {
		t.Errorf("%s answered %q, want instance %s", v.Addr(), got, a1.ID)
	}
}

// TestRebootSaysWhenSourceChanged: git pull && madang restart runs the
// image version that was built; the reboot says the source changed and
// how to build it.
func TestRebootSaysWhenSourceChanged(t *testing.T) {
	t.Parallel()
	tc := newTestCompute(t)
	ctx := context.Background()
	id := tc.run().ID
	tc.waitRunning(id)
	if err := tc.svc.Reboot(ctx, id); err != nil {
		t.Fatal(err)
	}
	if in, _ := tc.svc.Instance(id); len(in.Warnings) != 0 {
		t.Fatalf("reboot with unchanged source: warnings %q, want none", in.Warnings)
	}
	tc.waitRunning(id)

	// git pull: the source changes, nothing is built.
	if err := os.WriteFile(filepath.Join(tc.source, "main.txt"), []byte("v2, longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"reboot", "stop+start"} {
		if action == "reboot" {
			if err := tc.svc.Reboot(ctx, id); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := tc.svc.Stop(ctx, id); err != nil {
				t.Fatal(err)
			}
			if err := tc.svc.Start(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		in, _ := tc.svc.Instance(id)
		if len(in.Warnings) != 1 {
			t.Fatalf("%s after the source changed: warnings %q, want one", action, in.Warnings)
		}
		for _, want := range []string{"the source of image app (" + tc.source + ") changed after version 1 was built", "still runs version 1", "madang apply -f /srv/stack/madang.yaml"} {
			if !strings.Contains(in.Warnings[0], want) {
				t.Errorf("%s: warning %q lacks %q", action, in.Warnings[0], want)
			}
		}
		if in.ImageVersion != 1 {
			t.Errorf("%s: image version %d, want 1 (nothing was built)", action, in.ImageVersion)
		}
		tc.waitRunning(id)
	}
}

// TestAddressTakenWhileLeasesWereLostMoves: the lease directory is
// emptied (a reboot clears /run), another home takes a stopped
// instance's address, and the stopped instance's next start moves it to
// a free address instead of clashing.
func TestAddressTakenWhileLeasesWereLostMoves(t *testing.T) {
	t.Parallel()
	book := &AddressBook{Dir: t.TempDir()}
	a, b := newTestComputeWith(t, book), newTestComputeWith(t, book)
	ctx := context.Background()
	a1 := a.run()
	a.waitRunning(a1.ID)
	if err := a.svc.Stop(ctx, a1.ID); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(book.Dir)
	for _, e := range ents {
		_ = os.Remove(filepath.Join(book.Dir, e.Name()))
	}
	b1 := b.run()
	if b1.Addr() != a1.Addr() {
		t.Skipf("home B got %s rather than the unleased %s; nothing to move", b1.Addr(), a1.Addr())
	}
	b.waitRunning(b1.ID)
	if err := a.svc.Start(ctx, a1.ID); err != nil {
		t.Fatal(err)
	}
	v := a.waitRunning(a1.ID)
	if v.Addr() == b1.Addr() {
		t.Fatalf("home A's instance started on %s, which home B's instance holds", v.Addr())
	}
	found := false
	evs, _ := a.svc.opts.Events.Since(0)
	for _, ev := range evs {
		if strings.Contains(ev.Message, "is leased by instance "+b1.ID) && strings.Contains(ev.Message, "moved from "+a1.Addr()+" to "+v.Addr()) {
			found = true
		}
	}
	if !found {
		t.Errorf("no event says the instance moved from %s to %s", a1.Addr(), v.Addr())
	}
}
