package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
)

// appEnv makes the test binary serve HTTP on the address it names instead
// of running the tests: the supervised app of the tests.
const appEnv = "SUPBENCH_TEST_APP"

func TestMain(m *testing.M) {
	if addr := os.Getenv(appEnv); addr != "" {
		srv := &http.Server{
			Addr:              addr,
			ReadHeaderTimeout: time.Second,
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintln(w, "ok", os.Getpid())
			}),
		}
		fmt.Fprintln(os.Stderr, srv.ListenAndServe())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// fakeSupervisor restarts the test app on addr whenever it exits, at
// once, as a supervisor with no restart delay does.
type fakeSupervisor struct {
	addr string
	done chan struct{} // closed when loop returns

	// mu guards the fields that follow.
	mu      sync.Mutex
	stopped bool
	cmd     *exec.Cmd
	starts  int
	err     error
}

func startFakeSupervisor(t *testing.T, addr string) *fakeSupervisor {
	t.Helper()
	f := &fakeSupervisor{addr: addr, done: make(chan struct{})}
	go f.loop()
	t.Cleanup(f.stop)
	return f
}

func (f *fakeSupervisor) loop() {
	defer close(f.done)
	for {
		f.mu.Lock()
		if f.stopped {
			f.mu.Unlock()
			return
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), appEnv+"="+f.addr)
		err := cmd.Start()
		f.cmd = cmd
		f.starts++
		if err != nil {
			f.err = err
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		_ = cmd.Wait()
	}
}

// stop ends supervision, kills the app and waits for the loop.
func (f *fakeSupervisor) stop() {
	f.mu.Lock()
	f.stopped = true
	if f.cmd != nil && f.cmd.Process != nil {
		_ = f.cmd.Process.Kill()
	}
	f.mu.Unlock()
	<-f.done
}

func TestMeasureRestarts(t *testing.T) {
	before := leakcheck.Take()
	addr := freeAddr(t)
	f := startFakeSupervisor(t, addr)
	ctx := context.Background()
	if _, err := waitUp(ctx, waitConfig{Addrs: []string{addr}, Timeout: 10 * time.Second}); err != nil {
		t.Fatalf("waitUp: %v", err)
	}
	var seen []restartResult
	rs, err := measureRestarts(ctx, restartConfig{Addr: addr, N: 3, Gap: 10 * time.Millisecond, Timeout: 10 * time.Second},
		func(r restartResult) { seen = append(seen, r) })
	if err != nil {
		t.Fatalf("measureRestarts: %v", err)
	}
	if len(rs) != 3 || len(seen) != 3 {
		t.Fatalf("results: got %d returned and %d reported, want 3 and 3", len(rs), len(seen))
	}
	for i, r := range rs {
		t.Run(fmt.Sprintf("kill %d", i+1), func(t *testing.T) {
			if r.Iter != i+1 {
				t.Errorf("Iter: got %d, want %d", r.Iter, i+1)
			}
			if r.NewPID == 0 || r.NewPID == r.OldPID {
				t.Errorf("pids: got old %d new %d, want a new non-zero pid", r.OldPID, r.NewPID)
			}
			if i > 0 && r.OldPID != rs[i-1].NewPID {
				t.Errorf("OldPID: got %d, want the previous kill's NewPID %d", r.OldPID, rs[i-1].NewPID)
			}
			if !(0 < r.Exit && r.Exit <= r.Connect && r.Connect <= r.HTTP) {
				t.Errorf("durations: got exit %s, connect %s, http %s; want 0 < exit <= connect <= http", r.Exit, r.Connect, r.HTTP)
			}
			if got := r.String(); !strings.Contains(got, "iter="+strconv.Itoa(i+1)+" ") || !strings.Contains(got, "http_ms=") {
				t.Errorf("String: got %q, want iter=%d and http_ms= fields", got, i+1)
			}
		})
	}
	f.stop()
	f.mu.Lock()
	starts, ferr, last := f.starts, f.err, f.cmd
	f.mu.Unlock()
	if ferr != nil || starts != 4 {
		t.Errorf("fake supervisor: got %d starts (err %v), want 4", starts, ferr)
	}
	if last.ProcessState == nil {
		t.Errorf("last app pid %d: not reaped after stop", last.Process.Pid)
	}
	if err := dial(ctx, addr); err == nil {
		t.Errorf("%s still accepts connections after stop", addr)
	}
	if err := leakcheck.Check(5*time.Second, before.Since()); err != nil {
		t.Error(err)
	}
}

func TestMeasureRestartsNothingListening(t *testing.T) {
	addr := freeAddr(t)
	_, err := measureRestarts(context.Background(), restartConfig{Addr: addr, N: 1, Timeout: 100 * time.Millisecond}, nil)
	if err == nil || !strings.Contains(err.Error(), "not serving before the kill") {
		t.Fatalf("error: got %v, want one saying the app is not serving before the kill", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error: got %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestWaitUpTimeout(t *testing.T) {
	addr := freeAddr(t)
	_, err := waitUp(context.Background(), waitConfig{Addrs: []string{addr}, Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "1 of 1 addresses not serving") {
		t.Fatalf("error: got %v, want 1 of 1 addresses not serving", err)
	}
}

// TestWaitUpDiscovers: with Discover, addresses that appear while waiting
// are waited for, until Want of them serve.
func TestWaitUpDiscovers(t *testing.T) {
	var servers []string
	for range 2 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		t.Cleanup(srv.Close)
		servers = append(servers, strings.TrimPrefix(srv.URL, "http://"))
	}
	calls := 0
	discover := func(context.Context) ([]string, error) {
		calls++
		switch {
		case calls < 3:
			return nil, nil // not launched yet
		case calls < 5:
			return servers[:1], nil
		default:
			return servers, nil
		}
	}
	d, err := waitUp(context.Background(), waitConfig{Discover: discover, Want: 2, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 5 || d <= 0 {
		t.Errorf("waited %s over %d discoveries; want it to wait for the second address", d, calls)
	}
	_, err = waitUp(context.Background(), waitConfig{Discover: func(context.Context) ([]string, error) { return servers[:1], nil }, Want: 2, Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "1 of 2 addresses not serving") {
		t.Fatalf("error: got %v, want 1 of 2 addresses not serving", err)
	}
}

func TestListenerPID(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name    string
		addr    string
		want    int
		wantErr string
	}{
		{name: "own listener", addr: ln.Addr().String(), want: os.Getpid()},
		{name: "nothing there", addr: freeAddr(t), wantErr: "nothing listens on"},
		{name: "not an address", addr: "localhost:80", wantErr: "pass IP:PORT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := listenerPID("/proc", tc.addr)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("listenerPID(%q): got %d, %v; want error containing %q", tc.addr, got, err, tc.wantErr)
				}
			case err != nil || got != tc.want:
				t.Errorf("listenerPID(%q): got %d, %v; want %d", tc.addr, got, err, tc.want)
			}
		})
	}
}

func TestParseProcAddr(t *testing.T) {
	var probe [4]byte
	binary.NativeEndian.PutUint32(probe[:], 1)
	if probe[0] != 1 {
		t.Skip("the literal /proc/net/tcp lines below are those of a little-endian host")
	}
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{name: "ipv4 loopback", in: "0100007F:0BB8", want: "127.0.0.1:3000"},
		{name: "instance address", in: "0200107F:5A3C", want: "127.16.0.2:23100"},
		{name: "ipv4 wildcard", in: "00000000:07E8", want: "0.0.0.0:2024"},
		{name: "ipv6 wildcard", in: "00000000000000000000000000000000:1F90", want: "[::]:8080"},
		{name: "ipv4-mapped", in: "0000000000000000FFFF00000100007F:0050", want: "127.0.0.1:80"},
		{name: "no port", in: "0100007F", wantErr: "has no port"},
		{name: "bad hex", in: "zz00007F:0050", wantErr: "not 8 or 32 hex digits"},
		{name: "bad port", in: "0100007F:GGGG", wantErr: "port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcAddr(tc.in)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("parseProcAddr(%q): got %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
			case err != nil || got.String() != tc.want:
				t.Errorf("parseProcAddr(%q): got %v, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFindListener(t *testing.T) {
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0200107F:5A3C 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 111 1 0 20 4 30 10 -1
   1: 0200107F:5A3C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0 100 0 0 10 0
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0
`)
	tests := []struct {
		name string
		addr string
		want string
	}{
		{name: "exact listener, not the established one", addr: "127.16.0.2:23100", want: "222"},
		{name: "wildcard listener", addr: "127.0.0.1:8080", want: "333"},
		{name: "other port", addr: "127.16.0.2:23101", want: ""},
		{name: "other ip", addr: "127.16.0.3:23100", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := findListener(table, netip.MustParseAddrPort(tc.addr)); got != tc.want {
				t.Errorf("findListener(%s): got %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want summary
	}{
		{name: "empty", in: nil, want: summary{}},
		{name: "one", in: []float64{7}, want: summary{N: 1, Min: 7, Median: 7, P90: 7, Max: 7}},
		{name: "unsorted four", in: []float64{4, 1, 3, 2}, want: summary{N: 4, Min: 1, Median: 2, P90: 4, Max: 4}},
		{name: "ten", in: []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, want: summary{N: 10, Min: 1, Median: 5, P90: 9, Max: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize(tc.in); got != tc.want {
				t.Errorf("summarize(%v): got %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestTreeMemory(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), appEnv+"="+freeAddr(t))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	levels, err := treeMemory("/proc", os.Getpid())
	if err != nil {
		t.Fatalf("treeMemory: %v", err)
	}
	if len(levels) < 2 {
		t.Fatalf("levels: got %v, want the test process and its child", levels)
	}
	if l := levels[0]; l.Depth != 0 || l.Count != 1 || l.RSSKiB <= 0 || l.PSSKiB <= 0 {
		t.Errorf("depth 0: got %+v, want one process with RSS and PSS", l)
	}
	if l := levels[1]; l.Depth != 1 || l.Count < 1 || l.RSSKiB <= 0 {
		t.Errorf("depth 1: got %+v, want at least the started child", l)
	}
	if got := levels[0].String(); !strings.HasPrefix(got, "depth=0 count=1 comm=") {
		t.Errorf("String: got %q, want depth=0 count=1 comm=…", got)
	}

	if _, err := treeMemory("/proc", 1<<30); err == nil || !strings.Contains(err.Error(), "no process") {
		t.Errorf("treeMemory of a missing pid: got %v, want a no process error", err)
	}
}

func TestInstanceAddrs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		out     string
		wantErr string
	}{
		{name: "two", in: `[{"id":"i-1","privateIp":"127.16.0.2","port":3000},{"id":"i-2","privateIp":"127.16.0.3","port":3000}]`, out: "127.16.0.2:3000,127.16.0.3:3000"},
		{name: "count matches", in: `[{"id":"i-1","privateIp":"127.16.0.2","port":3000}]`, want: 1, out: "127.16.0.2:3000"},
		{name: "count differs", in: `[{"id":"i-1","privateIp":"127.16.0.2","port":3000}]`, want: 2, wantErr: "1 instances listed, want 2"},
		{name: "no address yet", in: `[{"id":"i-1","privateIp":"","port":0}]`, wantErr: "instance i-1 has no address yet"},
		{name: "not json", in: `ID NAME`, wantErr: "decode `madang ps -o json` output"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := instanceAddrs(strings.NewReader(tc.in), tc.want)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got %q, %v; want error containing %q", got, err, tc.wantErr)
				}
			case err != nil || got != tc.out:
				t.Errorf("got %q, %v; want %q", got, err, tc.out)
			}
		})
	}
}

func TestRunBadArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "no subcommand", args: nil, wantErr: "usage: supbench"},
		{name: "unknown subcommand", args: []string{"bench"}, wantErr: `unknown subcommand "bench"`},
		{name: "restart without addr", args: []string{"restart"}, wantErr: "-addr is empty"},
		{name: "restart with zero kills", args: []string{"restart", "-addr", "127.0.0.1:1", "-n", "0"}, wantErr: "-n is 0"},
		{name: "restart with bad addr", args: []string{"restart", "-addr", "nowhere"}, wantErr: `-addr "nowhere"`},
		{name: "restart with negative gap", args: []string{"restart", "-addr", "127.0.0.1:1", "-gap", "-1s"}, wantErr: "-gap is -1s"},
		{name: "waitup without addrs", args: []string{"waitup"}, wantErr: "-addrs is empty"},
		{name: "waitup with bad addr", args: []string{"waitup", "-addrs", "127.0.0.1:1,x"}, wantErr: `-addrs entry "x"`},
		{name: "mem without root", args: []string{"mem"}, wantErr: "-root is 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tc.args, strings.NewReader(""), &out)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("run(%q): got %v, want error containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
}

func TestRunWaitupAndMem(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), ReadHeaderTimeout: time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: got %v, want http.ErrServerClosed", err)
		}
	}()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "waitup", args: []string{"waitup", "-addrs", ln.Addr().String(), "-timeout", "5s"}, want: "up n=1 ms="},
		{name: "mem", args: []string{"mem", "-root", strconv.Itoa(os.Getpid())}, want: "depth=0 count=1 comm="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), tc.args, strings.NewReader(""), &out); err != nil {
				t.Fatalf("run(%q): %v", tc.args, err)
			}
			if !strings.HasPrefix(out.String(), tc.want) {
				t.Errorf("run(%q): got %q, want a line starting %q", tc.args, out.String(), tc.want)
			}
		})
	}
}

// The app of the tests must die on SIGKILL like any app; make sure the
// helper really sends that signal.
func TestKillSignalIsSIGKILL(t *testing.T) {
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), appEnv+"="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if _, err := waitUp(context.Background(), waitConfig{Addrs: []string{addr}, Timeout: 10 * time.Second}); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("waitUp: %v", err)
	}
	// N=1 with no supervisor: the kill works, then nothing comes back.
	_, err := measureRestarts(context.Background(), restartConfig{Addr: addr, N: 1, Timeout: 300 * time.Millisecond}, nil)
	if err == nil || !strings.Contains(err.Error(), "did not accept connections again") {
		t.Errorf("measureRestarts without a supervisor: got %v, want the port never to come back", err)
	}
	<-exited
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("app ended with %v, want killed by SIGKILL", cmd.ProcessState)
	}
}
