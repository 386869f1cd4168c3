package state_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/state"
	"github.com/madang-dev/madang/internal/state/statetest"
)

// crashChildEnv carries the state file path to the writer child of
// TestBoltCrash.
const crashChildEnv = "MADANG_STATE_CRASH_CHILD"

func openBolt(t *testing.T, path string, opts ...state.Option) *state.Bolt {
	t.Helper()
	s, err := state.OpenBolt(path, slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	return s
}

func TestBolt(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store {
		return openBolt(t, filepath.Join(t.TempDir(), "state.db"))
	})
}

func TestBoltDurable(t *testing.T) {
	statetest.RunDurable(t, func(t *testing.T, dir string) state.Store {
		return openBolt(t, filepath.Join(dir, "state.db"))
	})
}

func TestBoltLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	first := openBolt(t, path)
	const timeout = 150 * time.Millisecond

	start := time.Now()
	second, err := state.OpenBolt(path, nil, state.WithLockTimeout(timeout))
	waited := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("second OpenBolt of a locked file succeeded, want ErrLocked")
	}
	if !errors.Is(err, state.ErrLocked) {
		t.Errorf("err = %v, want ErrLocked", err)
	}
	want := fmt.Sprintf("state file %s is locked by another madang daemon", path)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to contain %q", err, want)
	}
	// bbolt polls the lock every 50ms and may give up one poll early.
	if waited < timeout-60*time.Millisecond || waited > timeout+2*time.Second {
		t.Errorf("OpenBolt waited %s, want about %s", waited, timeout)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third := openBolt(t, path, state.WithLockTimeout(timeout))
	if err := third.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenBoltBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a state file ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantMsg string
	}{
		{"empty path", "", "state file path is empty"},
		{"not a state file", garbage, "open state file " + garbage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := state.OpenBolt(tc.path, nil)
			if err == nil {
				s.Close()
				t.Fatal("OpenBolt succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestBoltCreatesParentDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "state.db")
	s := openBolt(t, path)
	defer s.Close()
	if _, err := s.Put(context.Background(), "/k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
}

// TestBoltCrash SIGKILLs a child process that commits transactions in a
// tight loop, then checks after every kill that the store opens, keeps
// every acknowledged commit, and holds each transaction whole or not at
// all.
func TestBoltCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	const kills = 5
	var acked int64 // highest revision a child reported as committed
	for round := range kills {
		got := runCrashChild(t, path, round)
		acked = max(acked, got)
		checkCrashState(t, path, acked)
	}
	if acked == 0 {
		t.Fatal("children committed nothing before being killed")
	}
	t.Logf("%d kills, %d transactions committed", kills, acked)
}

// runCrashChild starts the writer child, kills it at a random moment and
// returns the last revision it acknowledged.
func runCrashChild(t *testing.T, path string, round int) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBoltCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var (
		mu    sync.Mutex
		last  int64
		first = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			n, err := strconv.ParseInt(sc.Text(), 10, 64)
			if err != nil {
				continue
			}
			mu.Lock()
			if last == 0 {
				close(first)
			}
			last = n
			mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, out)
	}()

	// Even rounds kill at any moment, possibly while the child opens the
	// file; odd rounds kill once commits are flowing.
	delay := time.Duration(rand.IntN(300)) * time.Millisecond
	if round%2 == 1 {
		select {
		case <-first:
		case <-time.After(30 * time.Second):
			t.Error("child committed nothing within 30s")
		}
		delay = time.Duration(rand.IntN(100)) * time.Millisecond
	}
	time.Sleep(delay)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	<-done
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("round %d: killed after %s, last acknowledged revision %d", round, delay, last)
	return last
}

// checkCrashState opens the store left by a killed child and checks it.
func checkCrashState(t *testing.T, path string, acked int64) {
	t.Helper()
	ctx := context.Background()
	s := openBolt(t, path)
	defer func() {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	rev, err := s.Rev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev < acked {
		t.Fatalf("revision after crash = %d, but revision %d was acknowledged", rev, acked)
	}
	for _, prefix := range []string{"a/", "b/"} {
		kvs, listRev, err := s.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if listRev != rev {
			t.Errorf("List revision = %d, want %d", listRev, rev)
		}
		if int64(len(kvs)) != rev {
			t.Fatalf("%d keys under %s after crash, want one per committed revision (%d)", len(kvs), prefix, rev)
		}
		for i, kv := range kvs {
			n := int64(i + 1)
			if want := fmt.Sprintf("%s%08d", prefix, n); kv.Key != want || kv.ModRevision != n || string(kv.Value) != strconv.FormatInt(n, 10) {
				t.Fatalf("entry %d = %s=%q@%d, want %s=%q@%d", i, kv.Key, kv.Value, kv.ModRevision, want, strconv.FormatInt(n, 10), n)
			}
		}
	}
	if rev > 0 {
		kv, err := s.Get(ctx, "last")
		if err != nil || string(kv.Value) != strconv.FormatInt(rev, 10) {
			t.Errorf("last = %q, %v; want %d", kv.Value, err, rev)
		}
	}
}

// TestBoltCrashChild is the writer process of TestBoltCrash; it does
// nothing unless started by it.
func TestBoltCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("runs only as the child of TestBoltCrash")
	}
	ctx := context.Background()
	s, err := state.OpenBolt(path, nil, state.WithLockTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.Rev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // in case nobody kills us
	for n := rev + 1; time.Now().Before(deadline); n++ {
		v := []byte(strconv.FormatInt(n, 10))
		got, err := s.Txn(ctx, nil, []state.Op{
			state.Put(fmt.Sprintf("a/%08d", n), v),
			state.Put(fmt.Sprintf("b/%08d", n), v),
			state.Put("last", v),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Fatalf("Txn revision = %d, want %d", got, n)
		}
		fmt.Fprintln(os.Stdout, n)
	}
	t.Fatal("child was not killed within 30s")
}

func BenchmarkBoltPut(b *testing.B) {
	s, err := state.OpenBolt(filepath.Join(b.TempDir(), "state.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	value := []byte(strings.Repeat("x", 512))
	for i := 0; b.Loop(); i++ {
		if _, err := s.Put(ctx, fmt.Sprintf("/compute/instances/i-%08d", i%1000), value); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBoltGet(b *testing.B) {
	s, err := state.OpenBolt(filepath.Join(b.TempDir(), "state.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Put(ctx, "/compute/instances/i-0", []byte(strings.Repeat("x", 512))); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, "/compute/instances/i-0"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBoltGroupCommit: concurrent transactions that share a commit keep
// their own revisions and effects, and a write bolt refuses (a key over
// its size limit) fails only its own transaction.
func TestBoltGroupCommit(t *testing.T) {
	ctx := context.Background()
	s := openBolt(t, filepath.Join(t.TempDir(), "state.db"))
	defer s.Close()
	const n = 40
	bad := 17
	revs := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			key := fmt.Sprintf("/g/%d", i)
			if i == bad {
				key = "/g/" + strings.Repeat("k", 40000)
			}
			revs[i], errs[i] = s.Txn(ctx, []state.Compare{{Key: key, ModRevision: 0}}, []state.Op{state.Put(key, []byte(strconv.Itoa(i)))})
		})
	}
	close(start)
	wg.Wait()
	seen := map[int64]bool{}
	for i := range n {
		if i == bad {
			if errs[i] == nil {
				t.Errorf("txn with an oversized key succeeded")
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("txn %d: %v", i, errs[i])
		}
		if seen[revs[i]] {
			t.Errorf("revision %d returned twice", revs[i])
		}
		seen[revs[i]] = true
		kv, err := s.Get(ctx, fmt.Sprintf("/g/%d", i))
		if err != nil || kv.ModRevision != revs[i] || string(kv.Value) != strconv.Itoa(i) {
			t.Errorf("/g/%d = %+v, %v; want value %d at revision %d", i, kv, err, i, revs[i])
		}
	}
	if rev, _ := s.Rev(ctx); rev != n-1 {
		t.Errorf("Rev = %d, want %d", rev, n-1)
	}
	// A compare that an earlier transaction of the same commit broke
	// fails: the key exists now.
	if _, err := s.Txn(ctx, []state.Compare{{Key: "/g/0", ModRevision: 0}}, []state.Op{state.Put("/g/0", []byte("again"))}); !errors.Is(err, state.ErrConflict) {
		t.Errorf("second create of /g/0: err = %v, want ErrConflict", err)
	}
}

// BenchmarkBoltConcurrentPuts is 50 writers saving a record each at
// once, as 50 instances starting together do; ns/op is per record.
func BenchmarkBoltConcurrentPuts(b *testing.B) {
	ctx := context.Background()
	s, err := state.OpenBolt(filepath.Join(b.TempDir(), "state.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := []byte(strings.Repeat("x", 600))
	b.SetParallelism(50)
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Put(ctx, fmt.Sprintf("/b/%d", next.Add(1)%500), value); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
