package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeDumps stands in for the kernel: it records when the table dumped
// and answers each dump with what socks says for it (the first is 1).
type fakeDumps struct {
	socks func(n int) ([]listenSock, error) // nil: no listeners

	mu   sync.Mutex
	at   []time.Time
	open bool // a dump since the last release: a real one's socket would be open
}

func (f *fakeDumps) dump(into []listenSock) ([]listenSock, error) {
	f.mu.Lock()
	f.at = append(f.at, time.Now())
	f.open = true
	n := len(f.at)
	f.mu.Unlock()
	if f.socks == nil {
		return into, nil
	}
	socks, err := f.socks(n)
	return append(into, socks...), err
}

func (f *fakeDumps) release() {
	f.mu.Lock()
	f.open = false
	f.mu.Unlock()
}

// count returns how many dumps were made at from or later and before to.
func (f *fakeDumps) count(from, to time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, at := range f.at {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

func (f *fakeDumps) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.at)
}

// fakeTable returns a listen table (maxAge listenTableMaxAge) that dumps
// from f.
func fakeTable(f *fakeDumps) *listenTable {
	tab := newListenTable(listenTableMaxAge)
	tab.dump, tab.release = f.dump, f.release
	return tab
}

// showFrom answers with a listener on ap from the dump numbered first on.
func showFrom(first int, ap netip.AddrPort) func(int) ([]listenSock, error) {
	return func(n int) ([]listenSock, error) {
		if n < first {
			return nil, nil
		}
		return []listenSock{{addr: ap, inode: 7}}, nil
	}
}

// pollTries returns when probe's loop of before the watcher, begun at
// began, tried an address nobody listens on, up to end: it tried, waited
// delay, grew delay by a fifth if it had run longer than probeFastFor,
// and tried again. It is written out here rather than taken from
// probeCadence, so the two can disagree.
// refusedFor returns a dial that fails with refused until d after
// *began.
func refusedFor(began *time.Time, d time.Duration, refused error) func(context.Context, string) error {
	return func(context.Context, string) error {
		if time.Since(*began) < d {
			return refused
		}
		return nil
	}
}

func pollTries(began, end time.Time) []time.Time {
	var out []time.Time
	delay := probeFirstDelay
	for at := began; !at.After(end); {
		out = append(out, at)
		at = at.Add(delay)
		if at.Sub(began) > probeFastFor {
			delay = min(delay*6/5, probeMaxDelay)
		}
	}
	return out
}

// countIn returns how many of ts are at from or later and before to.
func countIn(ts []time.Time, from, to time.Time) int {
	n := 0
	for _, at := range ts {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// watchers counts the goroutines that run tab's watcher.
func watchers(tab *listenTable) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), fmt.Sprintf("(*listenTable).watch(%p", tab))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// assertIdle checks that tab keeps no watcher, no waiter and no socket:
// the watcher has exited and released the dump's socket, and no dump
// follows.
func assertIdle(t *testing.T, tab *listenTable, f *fakeDumps) {
	t.Helper()
	synctest.Wait()
	tab.mu.Lock()
	watching, waiters := tab.watching, len(tab.waiters)
	tab.mu.Unlock()
	if watching || waiters != 0 {
		t.Errorf("idle table: watching %v with %d waiters, want no watcher and none", watching, waiters)
	}
	if n := watchers(tab); n != 0 {
		t.Errorf("%d watcher goroutines left on an idle table", n)
	}
	f.mu.Lock()
	open := f.open
	f.mu.Unlock()
	if open {
		t.Error("the dump's socket was left open on an idle table")
	}
	before := f.total()
	time.Sleep(time.Second)
	if n := f.total() - before; n != 0 {
		t.Errorf("an idle table dumped %d times in a second", n)
	}
}

// TestAwaitSharesDumps: fifty waiters share the watcher's dumps — about
// one per interval of the youngest waiter, whether they came together,
// in the same few milliseconds or over 150 ms — and still each is
// checked as often as it would have been on its own.
func TestAwaitSharesDumps(t *testing.T) {
	const n = 50
	apart := func(d time.Duration) func(int) time.Duration {
		return func(i int) time.Duration { return time.Duration(i) * d }
	}
	// 40 ms apart and a few ms either way, so that each is past its fast
	// phase when the next comes, and their delays differ by less than a
	// fifth.
	jittered := func(i int) time.Duration {
		return time.Duration(i)*40*time.Millisecond + time.Duration(i*7%11)*time.Millisecond
	}
	// youngest returns how many times the last waiter to come, on its
	// own, would be checked in [from, to).
	youngest := func(arrive func(int) time.Duration, from, to time.Duration) int {
		var zero time.Time
		return countIn(pollTries(zero.Add(arrive(n-1)), zero.Add(to)), zero.Add(from), zero.Add(to))
	}
	tests := []struct {
		name        string
		arrive      func(i int) time.Duration // of the i-th waiter, in order
		from, to    time.Duration             // the window the dumps are counted in
		least, most int                       // dumps in it
	}{
		// One dump per millisecond: 0 through 10 ms.
		{name: "together", arrive: apart(0), from: 0, to: 10*time.Millisecond + 1, least: 11, most: 11},
		// One per millisecond while the last to come (at 9.8 ms) is in
		// its fast phase.
		{name: "within ten milliseconds", arrive: apart(200 * time.Microsecond), from: 0, to: 20 * time.Millisecond, least: 19, most: 21},
		// The youngest's cadence sets the pace for all.
		{
			name: "over 150 ms", arrive: apart(3 * time.Millisecond), from: 200 * time.Millisecond, to: 1200 * time.Millisecond,
			least: youngest(apart(3*time.Millisecond), 200*time.Millisecond, 1200*time.Millisecond) - 1,
			most:  youngest(apart(3*time.Millisecond), 200*time.Millisecond, 1200*time.Millisecond) + 2,
		},
		{
			name: "over two seconds, irregularly", arrive: jittered, from: 2000 * time.Millisecond, to: 3000 * time.Millisecond,
			least: youngest(jittered, 2000*time.Millisecond, 3000*time.Millisecond) - 1,
			most:  youngest(jittered, 2000*time.Millisecond, 3000*time.Millisecond) + 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeDumps{}
				tab := fakeTable(f)
				began := time.Now()
				ctx, cancel := context.WithDeadline(t.Context(), began.Add(3500*time.Millisecond))
				defer cancel()
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						time.Sleep(tc.arrive(i))
						ap := netip.AddrPortFrom(netip.MustParseAddr("127.16.0.2"), uint16(3000+i))
						if err := tab.await(ctx, ap); !errors.Is(err, context.DeadlineExceeded) {
							t.Errorf("await %s = %v, want %v", ap, err, context.DeadlineExceeded)
						}
					})
				}
				wg.Wait()
				if got := f.count(began.Add(tc.from), began.Add(tc.to)); got < tc.least || got > tc.most {
					t.Errorf("%d waiters made %d dumps in [%s, %s), want %d to %d", n, got, tc.from, tc.to, tc.least, tc.most)
				}
				assertIdle(t, tab, f)
			})
		})
	}
}

// TestAwaitReturnsAfterDump: a waiter returns at the dump that first
// shows its address (the third: 2 ms after it came), whether it was due
// then or rode on another waiter's dump; the reader that checks the
// owner next uses that dump.
func TestAwaitReturnsAfterDump(t *testing.T) {
	ap := netip.MustParseAddrPort("127.16.0.2:3000")
	t.Run("due", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeDumps{socks: showFrom(3, ap)}
			tab := fakeTable(f)
			began := time.Now()
			if err := tab.await(t.Context(), ap); err != nil {
				t.Fatalf("await = %v, want nil", err)
			}
			if took := time.Since(began); took != 2*probeFirstDelay {
				t.Errorf("await returned after %s, want %s (the third dump)", took, 2*probeFirstDelay)
			}
			if got := f.total(); got != 3 {
				t.Errorf("await returned after %d dumps, want 3", got)
			}
			if got, err := tab.inodes(ap); err != nil || !got[7] {
				t.Errorf("inodes after await = %v, %v; want inode 7", got, err)
			}
			if got := f.total(); got != 3 {
				t.Errorf("the owner check after await dumped again (%d dumps), want it to use the watcher's", got)
			}
			assertIdle(t, tab, f)
		})
	})
	t.Run("not due", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// An old waiter, checked every ~60 ms by now, and a young one
			// checked every ms: the old one's address shows at 505 ms.
			old := netip.MustParseAddrPort("127.16.0.3:3000")
			f := &fakeDumps{}
			began := time.Now()
			f.socks = func(int) ([]listenSock, error) {
				if time.Since(began) >= 505*time.Millisecond {
					return []listenSock{{addr: old, inode: 8}}, nil
				}
				return nil, nil
			}
			tab := fakeTable(f)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() {
				time.Sleep(500 * time.Millisecond)
				tab.await(ctx, ap) // never shows
			}()
			if err := tab.await(t.Context(), old); err != nil {
				t.Fatalf("await = %v, want nil", err)
			}
			if took := time.Since(began); took != 505*time.Millisecond {
				t.Errorf("the old waiter returned after %s, want 505ms (the young one's dump then)", took)
			}
			cancel()
			assertIdle(t, tab, f)
		})
	})
}

// TestAwaitCadence: a waiter on its own is checked when a probe that
// polled on its own would have tried — every millisecond for
// probeFastFor, then a fifth longer each time, to probeMaxDelay — dump
// for dump over a second.
func TestAwaitCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeDumps{}
		tab := fakeTable(f)
		began := time.Now()
		end := began.Add(time.Second + time.Microsecond) // on no try
		ctx, cancel := context.WithDeadline(t.Context(), end)
		defer cancel()
		if err := tab.await(ctx, netip.MustParseAddrPort("127.16.0.2:3000")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("await = %v, want %v", err, context.DeadlineExceeded)
		}
		want := pollTries(began, end)
		f.mu.Lock()
		got := f.at
		f.mu.Unlock()
		if len(got) != len(want) {
			t.Errorf("%d dumps in a second, want %d", len(got), len(want))
		}
		for i := range min(len(got), len(want)) {
			if !got[i].Equal(want[i]) {
				t.Errorf("dump %d at %s, want %s", i+1, got[i].Sub(began), want[i].Sub(began))
				break
			}
		}
		assertIdle(t, tab, f)
	})
}

// TestAwaitCancel: a waiter whose context ends returns at once, in the
// fast phase or while the watcher sleeps long; the others are still
// served; the watcher exits when the last one leaves.
func TestAwaitCancel(t *testing.T) {
	ap := netip.MustParseAddrPort("127.16.0.2:3000")
	other := netip.MustParseAddrPort("127.16.0.2:3001")
	tests := []struct {
		name  string
		after time.Duration // of waiting, the cancel
		other bool          // a second waiter stays, its address showing at 2 s
	}{
		{name: "at once", after: 0},
		{name: "fast phase", after: 5 * time.Millisecond},
		{name: "slow phase", after: 700*time.Millisecond + time.Microsecond},
		{name: "another stays", after: 700 * time.Millisecond, other: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeDumps{}
				began := time.Now()
				f.socks = func(int) ([]listenSock, error) {
					if time.Since(began) >= 2*time.Second {
						return []listenSock{{addr: other, inode: 9}}, nil
					}
					return nil, nil
				}
				tab := fakeTable(f)
				var wg sync.WaitGroup
				if tc.other {
					wg.Go(func() {
						if err := tab.await(t.Context(), other); err != nil {
							t.Errorf("await of the waiter that stays = %v, want nil", err)
						}
						if took := time.Since(began); took > 2*time.Second+probeMaxDelay {
							t.Errorf("the waiter that stays returned after %s, want at most %s", took, 2*time.Second+probeMaxDelay)
						}
					})
				}
				ctx, cancel := context.WithCancel(t.Context())
				if tc.after == 0 {
					cancel()
				} else {
					time.AfterFunc(tc.after, cancel)
				}
				if err := tab.await(ctx, ap); !errors.Is(err, context.Canceled) {
					t.Errorf("await = %v, want %v", err, context.Canceled)
				}
				if took := time.Since(began); took != tc.after {
					t.Errorf("await returned %s after the start, want %s (the cancel)", took, tc.after)
				}
				if tc.after == 0 && f.total() != 0 {
					t.Errorf("an await cancelled before it began dumped %d times", f.total())
				}
				wg.Wait()
				assertIdle(t, tab, f)
			})
		})
	}
}

// TestAwaitDumpError: a dump that fails answers every waiter with its
// error, and the watcher exits; a first dump that fails answers at once
// and starts no watcher.
func TestAwaitDumpError(t *testing.T) {
	fail := errors.New("sock_diag: permission denied")
	tests := []struct {
		name  string
		fails int // the first dump that fails
		dumps int // in all
	}{
		// Each of the five asks again: a failure is not kept.
		{name: "first dump", fails: 1, dumps: 5},
		// The first arrival's dump serves all five, the watcher's
		// second one fails for all.
		{name: "third dump", fails: 3, dumps: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeDumps{socks: func(n int) ([]listenSock, error) {
					if n >= tc.fails {
						return nil, fail
					}
					return nil, nil
				}}
				tab := fakeTable(f)
				began := time.Now()
				var wg sync.WaitGroup
				for i := range 5 {
					wg.Go(func() {
						ap := netip.AddrPortFrom(netip.MustParseAddr("127.16.0.2"), uint16(3000+i))
						if err := tab.await(t.Context(), ap); !errors.Is(err, fail) {
							t.Errorf("await %s = %v, want %v", ap, err, fail)
						}
						if took, want := time.Since(began), time.Duration(tc.fails-1)*probeFirstDelay; took != want {
							t.Errorf("await %s returned after %s, want %s (the failed dump)", ap, took, want)
						}
					})
				}
				wg.Wait()
				if got := f.total(); got != tc.dumps {
					t.Errorf("%d dumps, want %d", got, tc.dumps)
				}
				assertIdle(t, tab, f)
			})
		})
	}
}

// TestAwaitCancelRaces runs many awaits that end by their context and by
// a dump at about the same time, in real time, for the race detector:
// every await returns, with nil only where a dump showed its address,
// and the watcher exits at the end.
func TestAwaitCancelRaces(t *testing.T) {
	f := &fakeDumps{}
	var dumps atomic.Int64
	f.socks = func(n int) ([]listenSock, error) {
		dumps.Store(int64(n))
		var out []listenSock
		for p := range 64 {
			if (n+p)%5 == 0 {
				out = append(out, listenSock{addr: netip.AddrPortFrom(netip.MustParseAddr("127.16.0.2"), uint16(3000+p)), inode: uint64(p + 1)})
			}
		}
		return out, nil
	}
	tab := fakeTable(f)
	var wg sync.WaitGroup
	var served, cancelled atomic.Int64
	for p := range 64 {
		wg.Go(func() {
			ap := netip.AddrPortFrom(netip.MustParseAddr("127.16.0.2"), uint16(3000+p))
			for range 20 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(3000))*time.Microsecond)
				err := tab.await(ctx, ap)
				cancel()
				switch {
				case err == nil:
					served.Add(1)
				case errors.Is(err, context.DeadlineExceeded):
					cancelled.Add(1)
				default:
					t.Errorf("await %s = %v", ap, err)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("awaits still blocked after 30 s: a wake-up was lost")
	}
	if served.Load() == 0 || cancelled.Load() == 0 {
		t.Errorf("%d awaits served, %d cancelled: want both to happen", served.Load(), cancelled.Load())
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		tab.mu.Lock()
		watching := tab.watching
		tab.mu.Unlock()
		if !watching && watchers(tab) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher still runs 5 s after the last await")
		}
	}
}

// TestProbeAwait runs readiness through await in fake time: the probe
// blocks in await while nothing listens, reports what it reported when
// it dialled, waits as it did between tries that reached a listener that
// would not do, and dials when await cannot tell.
func TestProbeAwait(t *testing.T) {
	const addr = "127.16.0.3:3000"
	cannot := errors.New("listen table: sock_diag: permission denied")
	refused := errors.New("connection refused")
	// listensAt is an await that returns when the clock passes began+d.
	listensAt := func(began *time.Time, d time.Duration) func(context.Context, string) error {
		return func(ctx context.Context, _ string) error {
			select {
			case <-time.After(time.Until(began.Add(d))):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	tests := []struct {
		name string
		// env returns the environment; began is when the probe starts.
		env        func(began *time.Time) probeEnv
		wantOK     bool
		wantReason string
		took       [2]time.Duration // at least, at most
		awaits     int              // -1: any number
		dials      [2]int           // at least, at most
		checks     [2]int
	}{
		{
			name:       "never listens",
			env:        func(b *time.Time) probeEnv { return probeEnv{await: listensAt(b, time.Hour)} },
			wantReason: "did not listen on 127.16.0.3:3000 within 30s — does the app bind $HOST:$PORT?",
			took:       [2]time.Duration{30 * time.Second, 30 * time.Second},
			awaits:     1,
		},
		{
			name: "listens after 2s",
			env: func(b *time.Time) probeEnv {
				return probeEnv{await: listensAt(b, 2*time.Second), check: func(string, owner) listenerCheck { return listenerCheck{own: true} }}
			},
			wantOK: true,
			took:   [2]time.Duration{2 * time.Second, 2 * time.Second},
			awaits: 1,
			checks: [2]int{1, 1},
		},
		{
			// Checked as often as when it dialled: every probeMaxDelay
			// by then, not from every millisecond again.
			name: "another process holds the address from 2s",
			env: func(b *time.Time) probeEnv {
				return probeEnv{await: listensAt(b, 2*time.Second), check: func(string, owner) listenerCheck { return listenerCheck{holder: "pid 7 (python3)"} }}
			},
			wantReason: "did not listen on 127.16.0.3:3000 within 30s: 127.16.0.3:3000 is held by another process, pid 7 (python3), not by this instance's app; stop that process or give the instance another address",
			took:       [2]time.Duration{30 * time.Second, 30*time.Second + probeMaxDelay},
			awaits:     -1,
			checks:     [2]int{int(28*time.Second/probeMaxDelay) - 1, int(28*time.Second/probeMaxDelay) + 2},
		},
		{
			name: "await cannot tell: dials",
			env: func(b *time.Time) probeEnv {
				return probeEnv{
					await: func(context.Context, string) error { return cannot },
					dial:  refusedFor(b, 2*time.Second, refused),
					check: func(string, owner) listenerCheck { return listenerCheck{own: true} },
				}
			},
			wantOK: true,
			took:   [2]time.Duration{2 * time.Second, 2*time.Second + probeMaxDelay},
			awaits: 1,
			dials:  [2]int{len(pollTries(time.Time{}, time.Time{}.Add(2*time.Second))) - 1, len(pollTries(time.Time{}, time.Time{}.Add(2*time.Second))) + 1},
			checks: [2]int{1, 1},
		},
		{
			// After a second in await the probe dials every
			// probeMaxDelay, as it would have by then.
			name: "await fails after 1s: dials",
			env: func(b *time.Time) probeEnv {
				return probeEnv{
					await: func(ctx context.Context, _ string) error {
						time.Sleep(time.Second)
						return cannot
					},
					dial:  refusedFor(b, 2*time.Second, refused),
					check: func(string, owner) listenerCheck { return listenerCheck{own: true} },
				}
			},
			wantOK: true,
			took:   [2]time.Duration{2 * time.Second, 2*time.Second + probeMaxDelay},
			awaits: 1,
			dials:  [2]int{int(time.Second/probeMaxDelay) - 1, int(time.Second/probeMaxDelay) + 2},
			checks: [2]int{1, 1},
		},
		{
			name: "the table cannot ask the kernel: dials",
			env: func(b *time.Time) probeEnv {
				tab := newListenTable(listenTableMaxAge)
				tab.dump = func([]listenSock) ([]listenSock, error) { return nil, errSockDiagTest }
				env := tableProbeEnv(tab)
				env.dial = refusedFor(b, 2*time.Second, refused)
				env.check = func(string, owner) listenerCheck { return listenerCheck{own: true} }
				return env
			},
			wantOK: true,
			took:   [2]time.Duration{2 * time.Second, 2*time.Second + probeMaxDelay},
			awaits: 1,
			dials:  [2]int{2, 1 << 30},
			checks: [2]int{1, 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				began := time.Now()
				env := tc.env(&began)
				var awaits, dials, checks int
				if a := env.await; a != nil {
					env.await = func(ctx context.Context, addr string) error { awaits++; return a(ctx, addr) }
				}
				d := env.dial
				env.dial = func(ctx context.Context, addr string) error {
					dials++
					if d == nil {
						t.Error("the probe dialled while await could tell")
						return refused
					}
					return d(ctx, addr)
				}
				if c := env.check; c != nil {
					env.check = func(addr string, o owner) listenerCheck { checks++; return c(addr, o) }
				}
				reason, ok := probe(t.Context(), Probe{Addr: addr, Timeout: 30 * time.Second}, owner{pid: 100, pgid: 100}, env, nil)
				took := time.Since(began)
				if ok != tc.wantOK || reason != tc.wantReason {
					t.Errorf("probe = %q, %v; want %q, %v", reason, ok, tc.wantReason, tc.wantOK)
				}
				if took < tc.took[0] || took > tc.took[1] {
					t.Errorf("probe took %s, want %s to %s", took, tc.took[0], tc.took[1])
				}
				if tc.awaits >= 0 && awaits != tc.awaits {
					t.Errorf("%d awaits, want %d", awaits, tc.awaits)
				}
				if dials < tc.dials[0] || dials > tc.dials[1] {
					t.Errorf("%d dials, want %d to %d", dials, tc.dials[0], tc.dials[1])
				}
				if checks < tc.checks[0] || checks > tc.checks[1] {
					t.Errorf("%d owner checks, want %d to %d", checks, tc.checks[0], tc.checks[1])
				}
			})
		})
	}
}
