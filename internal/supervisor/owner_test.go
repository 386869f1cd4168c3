package supervisor

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseProcAddr(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "ipv4 loopback", in: "0100007F:0BB8", want: "127.0.0.1:3000"},
		{name: "ipv4 instance address", in: "0300107F:0BB8", want: "127.16.0.3:3000"},
		{name: "ipv6 wildcard", in: "00000000000000000000000000000000:1F90", want: "[::]:8080"},
		{name: "ipv4-mapped", in: "0000000000000000FFFF00000300107F:0BB8", want: "[::ffff:127.16.0.3]:3000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcAddr(tc.in)
			if err != nil || got.String() != tc.want {
				t.Fatalf("parseProcAddr(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}

// fakeProc builds a proc tree: net/tcp with LISTEN sockets and processes
// with parents, process groups and socket descriptors.
type fakeProc struct {
	t    *testing.T
	root string
	tcp  []string
}

func newFakeProc(t *testing.T) *fakeProc {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &fakeProc{t: t, root: root}
}

// listen adds a LISTEN socket (local in /proc form) with inode ino.
func (f *fakeProc) listen(local string, ino int) {
	f.tcp = append(f.tcp, "   0: "+local+" 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 "+strconv.Itoa(ino)+" 1 0000000000000000 100 0 0 10 0")
	body := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" + strings.Join(f.tcp, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(f.root, "net", "tcp"), []byte(body), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// proc adds a process with the given socket inodes open.
func (f *fakeProc) proc(pid, ppid, pgid int, cmdline string, inodes ...int) {
	dir := filepath.Join(f.root, strconv.Itoa(pid))
	if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
		f.t.Fatal(err)
	}
	stat := strconv.Itoa(pid) + " (x) S " + strconv.Itoa(ppid) + " " + strconv.Itoa(pgid) + " 0 0\n"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(strings.ReplaceAll(cmdline, " ", "\x00")), 0o644); err != nil {
		f.t.Fatal(err)
	}
	for i, ino := range inodes {
		if err := os.Symlink("socket:["+strconv.Itoa(ino)+"]", filepath.Join(dir, "fd", strconv.Itoa(3+i))); err != nil {
			f.t.Fatal(err)
		}
	}
}

func TestCheckListener(t *testing.T) {
	const addr = "127.16.0.3:3000"
	app := owner{pid: 100, pgid: 100}
	tests := []struct {
		name       string
		setup      func(f *fakeProc)
		wantOwn    bool
		wantHolder string
	}{
		{
			name: "the app holds it",
			setup: func(f *fakeProc) {
				f.listen("0300107F:0BB8", 7)
				f.proc(100, 50, 100, "node server.js", 7)
			},
			wantOwn: true,
		},
		{
			name: "a worker in the app's group holds it",
			setup: func(f *fakeProc) {
				f.listen("0300107F:0BB8", 7)
				f.proc(100, 50, 100, "node cluster.js")
				f.proc(101, 100, 100, "node worker", 7)
			},
			wantOwn: true,
		},
		{
			name: "a descendant in its own group holds it",
			setup: func(f *fakeProc) {
				f.listen("0300107F:0BB8", 7)
				f.proc(100, 50, 100, "sh run.sh")
				f.proc(102, 100, 102, "daemonized", 7)
			},
			wantOwn: true,
		},
		{
			name: "another program holds the address",
			setup: func(f *fakeProc) {
				f.listen("0300107F:0BB8", 7)
				f.proc(100, 50, 100, "node server.js")
				f.proc(4242, 1, 4242, "python3 -m http.server", 7)
			},
			wantHolder: "pid 4242 (python3 -m http.server)",
		},
		{
			name: "a wildcard listener of another program",
			setup: func(f *fakeProc) {
				f.listen("00000000:0BB8", 9)
				f.proc(100, 50, 100, "node server.js")
				f.proc(4243, 1, 4243, "other-madang-app", 9)
			},
			wantHolder: "pid 4243 (other-madang-app)",
		},
		{
			name: "a listener on another address does not count",
			setup: func(f *fakeProc) {
				f.listen("0400107F:0BB8", 7)
				f.proc(100, 50, 100, "node server.js", 7)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeProc(t)
			tc.setup(f)
			got := checkListener(f.root, addr, app)
			if got.own != tc.wantOwn || got.holder != tc.wantHolder {
				t.Fatalf("checkListener = %+v, want own %v holder %q", got, tc.wantOwn, tc.wantHolder)
			}
		})
	}
}

func TestCheckListenerOnThisHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp here")
	}
	if got := checkListener(procRoot, addr, owner{pid: os.Getpid(), pgid: -1}); !got.own {
		t.Errorf("this process's listener: %+v, want own", got)
	}
	got := checkListener(procRoot, addr, owner{pid: 1 << 30, pgid: 1 << 30})
	if got.own || !strings.HasPrefix(got.holder, "pid "+strconv.Itoa(os.Getpid())+" (") {
		t.Errorf("seen from another instance: %+v, want held by pid %d", got, os.Getpid())
	}
}

// TestDiagListenInodesMatchProc: sock_diag finds the same LISTEN
// sockets as /proc/net/tcp{,6}, for an address, the wildcards that take
// it, and no others (another address, a connected socket on the port).
func TestDiagListenInodesMatchProc(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp here")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if ln6, err := net.Listen("tcp", net.JoinHostPort("::", strconv.Itoa(port))); err == nil {
		defer ln6.Close() // a wildcard listener on the same port, where IPv6 works
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, addr := range []string{ln.Addr().String(), net.JoinHostPort("127.16.0.9", strconv.Itoa(port)), net.JoinHostPort("::1", strconv.Itoa(port))} {
		ap := netip.MustParseAddrPort(addr)
		want, err := procListenInodes(procRoot, ap)
		if err != nil {
			t.Fatal(err)
		}
		got, err := diagListenInodes(ap)
		if err != nil {
			t.Skipf("sock_diag unavailable: %v", err)
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: sock_diag found %v, /proc/net found %v", addr, got, want)
		}
		if addr == ln.Addr().String() && len(got) == 0 {
			t.Errorf("%s: no listener found", addr)
		}
	}
}

// TestProbeTiming runs readiness in fake time: a 30 s timeout passes
// at once, and the reason says why the app is not ready.
func TestProbeTiming(t *testing.T) {
	refused := errors.New("connection refused")
	tests := []struct {
		name    string
		env     probeEnv
		wantOK  bool
		wantIn  string
		wantFor time.Duration
	}{
		{
			name:    "never listens",
			env:     probeEnv{dial: func(context.Context, string) error { return refused }},
			wantIn:  "did not listen on 127.16.0.3:3000 within 30s — does the app bind $HOST:$PORT?",
			wantFor: 30 * time.Second,
		},
		{
			name: "another process holds the address",
			env: probeEnv{
				dial:  func(context.Context, string) error { return nil },
				check: func(string, owner) listenerCheck { return listenerCheck{holder: "pid 7 (python3)"} },
			},
			wantIn:  "did not listen on 127.16.0.3:3000 within 30s: 127.16.0.3:3000 is held by another process, pid 7 (python3), not by this instance's app",
			wantFor: 30 * time.Second,
		},
		{
			name: "listens after 2s",
			env: func() probeEnv {
				var start time.Time
				return probeEnv{
					dial: func(context.Context, string) error {
						if start.IsZero() {
							start = time.Now()
						}
						if time.Since(start) < 2*time.Second {
							return refused
						}
						return nil
					},
					check: func(string, owner) listenerCheck { return listenerCheck{own: true} },
				}
			}(),
			wantOK:  true,
			wantFor: 2 * time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				began := time.Now()
				var seen []string
				reason, ok := probe(t.Context(), Probe{Addr: "127.16.0.3:3000", Timeout: 30 * time.Second}, owner{pid: 100, pgid: 100}, tc.env, func(h string) { seen = append(seen, h) })
				took := time.Since(began)
				if ok != tc.wantOK || !strings.Contains(reason, tc.wantIn) {
					t.Errorf("probe = %q, %v; want %v and a reason with %q", reason, ok, tc.wantOK, tc.wantIn)
				}
				// The probe retries at most every probeMaxDelay.
				if took < tc.wantFor || took > tc.wantFor+probeMaxDelay {
					t.Errorf("probe took %s, want %s", took, tc.wantFor)
				}
				if tc.env.check != nil && !tc.wantOK && (len(seen) != 1 || seen[0] != "pid 7 (python3)") {
					t.Errorf("foreign holders reported: %q, want the one holder once", seen)
				}
			})
		})
	}
}

// TestForeignListenerNeverRunning: an instance whose address another
// process listens on does not become running, and the reason names that
// process.
func TestForeignListenerNeverRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-foreign", "-ignore-term") // never listens itself
	ln, err := net.Listen("tcp", spec.Ready.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	spec.Ready.Timeout = 300 * time.Millisecond
	spec.KillTimeout = 200 * time.Millisecond
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseErrored)
	want := "is held by another process, pid " + strconv.Itoa(os.Getpid()) + " ("
	if !strings.Contains(st.Reason, want) {
		t.Errorf("Reason = %q, want it to contain %q", st.Reason, want)
	}
	// The change callbacks are asynchronous: the recorder may hear the
	// last phase a moment after Status shows it.
	for wait := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got := e.rec.get(spec.ID)
		if len(got) > 0 && got[len(got)-1] == PhaseErrored {
			break
		}
		if time.Now().After(wait) {
			t.Fatalf("phases %v, want them to end in errored", got)
		}
	}
	for _, ph := range e.rec.get(spec.ID) {
		if ph == PhaseRunning {
			t.Errorf("phases %v: running while another process held the address", e.rec.get(spec.ID))
		}
	}
}

// TestAddressInUseCrashNamesHolder: an app that crashes because another
// process holds its address (EADDRINUSE) ends errored with a reason that
// names that process.
func TestAddressInUseCrashNamesHolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	spec := e.spec(t, "i-inuse", "-listen")
	ln, err := net.Listen("tcp", spec.Ready.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	spec.MaxRestarts = 1
	if err := e.sup.Start(spec); err != nil {
		t.Fatal(err)
	}
	st := e.waitPhase(t, e.sup, spec.ID, PhaseErrored)
	for _, want := range []string{"exited with code 1 2 times in a row", spec.Ready.Addr + " is held by another process, pid " + strconv.Itoa(os.Getpid()) + " ("} {
		if !strings.Contains(st.Reason, want) {
			t.Errorf("Reason = %q, want it to contain %q", st.Reason, want)
		}
	}
}

// BenchmarkListenInodes compares a readiness ownership check's socket
// lookup through /proc/net/tcp{,6} and through sock_diag.
func BenchmarkListenInodes(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	b.Run("proc", func(b *testing.B) {
		for b.Loop() {
			if _, err := procListenInodes(procRoot, ap); err != nil {
				b.Skip(err)
			}
		}
	})
	b.Run("sock_diag", func(b *testing.B) {
		for b.Loop() {
			if _, err := diagListenInodes(ap); err != nil {
				b.Skip(err)
			}
		}
	})
}
