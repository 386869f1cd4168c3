// Package statetest is the conformance suite for state.Store backends:
// every backend's tests call Run, and durable backends also RunDurable.
package statetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/state"
)

// bigTxnOps is the size of the transaction used to push events out of a
// store's watch history; it exceeds state.DefaultHistory.
const bigTxnOps = 5000

// eventWait bounds how long the suite waits for an expected event or for
// a channel to close.
const eventWait = 5 * time.Second

// Run checks that the stores returned by open honour the state.Store
// contract. open is called once per subtest and must return an empty
// store that keeps at most 5,000 events of watch history (the default
// is state.DefaultHistory); Run closes it.
func Run(t *testing.T, open func(t *testing.T) state.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s state.Store)
	}{
		{"Empty", testEmpty},
		{"Revisions", testRevisions},
		{"ValuesAreCopied", testValuesAreCopied},
		{"ListPrefixOrder", testListPrefixOrder},
		{"TxnCompare", testTxnCompare},
		{"TxnAtomicOnError", testTxnAtomicOnError},
		{"InvalidInput", testInvalidInput},
		{"WatchReplay", testWatchReplay},
		{"WatchLive", testWatchLive},
		{"WatchCancel", testWatchCancel},
		{"WatchCompacted", testWatchCompacted},
		{"SlowWatcherNeverBlocksWriters", testSlowWatcher},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// RunDurable checks that data and the revision survive closing and
// reopening a durable store. open is called with the same dir for each
// reopen and must return the store kept in dir.
func RunDurable(t *testing.T, open func(t *testing.T, dir string) state.Store) {
	t.Helper()
	t.Run("Reopen", func(t *testing.T) {
		ctx := context.Background()
		dir := t.TempDir()

		s := open(t, dir)
		mustPut(t, s, "/a/1", "one")
		mustPut(t, s, "/a/2", "two")
		mustPut(t, s, "/a/3", "three")
		if _, err := s.Txn(ctx, nil, []state.Op{state.Delete("/a/2"), state.Put("/b/1", []byte("b"))}); err != nil {
			t.Fatalf("Txn: %v", err)
		}
		wantKVs, wantRev, err := s.List(ctx, "")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		s = open(t, dir)
		gotKVs, gotRev, err := s.List(ctx, "")
		if err != nil {
			t.Fatalf("List after reopen: %v", err)
		}
		if gotRev != wantRev {
			t.Errorf("revision after reopen = %d, want %d", gotRev, wantRev)
		}
		if got, want := dump(gotKVs), dump(wantKVs); got != want {
			t.Errorf("data after reopen:\n got %s\nwant %s", got, want)
		}
		if _, err := s.Get(ctx, "/a/2"); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Get of key deleted before reopen: err = %v, want ErrNotFound", err)
		}

		// Writes continue from the persisted revision and can be watched
		// from it.
		ch, err := s.Watch(ctx, "/", gotRev)
		if err != nil {
			t.Fatalf("Watch from reopened revision %d: %v", gotRev, err)
		}
		rev := mustPut(t, s, "/a/4", "four")
		if rev != wantRev+1 {
			t.Errorf("first write after reopen got revision %d, want %d", rev, wantRev+1)
		}
		expectEvent(t, ch, state.EventPut, "/a/4", "four", rev)
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}

		s = open(t, dir)
		defer s.Close()
		if got, err := s.Rev(ctx); err != nil || got != rev {
			t.Errorf("Rev after second reopen = %d, %v; want %d", got, err, rev)
		}
	})
}

func testEmpty(t *testing.T, s state.Store) {
	ctx := context.Background()
	if rev, err := s.Rev(ctx); err != nil || rev != 0 {
		t.Errorf("Rev = %d, %v; want 0, nil", rev, err)
	}
	if _, err := s.Get(ctx, "/missing"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get missing: err = %v, want ErrNotFound", err)
	}
	kvs, rev, err := s.List(ctx, "")
	if err != nil || len(kvs) != 0 || rev != 0 {
		t.Errorf("List = %d kvs, rev %d, %v; want 0 kvs, rev 0, nil", len(kvs), rev, err)
	}
}

func testRevisions(t *testing.T, s state.Store) {
	ctx := context.Background()
	steps := []struct {
		name    string
		ops     []state.Op
		wantRev int64
	}{
		{"first put", []state.Op{state.Put("/k/a", []byte("1"))}, 1},
		{"overwrite with the same value", []state.Op{state.Put("/k/a", []byte("1"))}, 2},
		{"two ops share one revision", []state.Op{state.Put("/k/b", []byte("2")), state.Put("/k/c", []byte("3"))}, 3},
		{"delete missing key alone", []state.Op{state.Delete("/k/missing")}, 3},
		{"empty txn", nil, 3},
		{"delete missing plus put", []state.Op{state.Delete("/k/missing"), state.Put("/k/d", []byte("4"))}, 4},
		{"delete existing", []state.Op{state.Delete("/k/a")}, 5},
		{"delete it again", []state.Op{state.Delete("/k/a")}, 5},
	}
	for _, st := range steps {
		rev, err := s.Txn(ctx, nil, st.ops)
		if err != nil {
			t.Fatalf("%s: Txn: %v", st.name, err)
		}
		if rev != st.wantRev {
			t.Errorf("%s: Txn revision = %d, want %d", st.name, rev, st.wantRev)
		}
		if got, err := s.Rev(ctx); err != nil || got != st.wantRev {
			t.Errorf("%s: Rev = %d, %v; want %d", st.name, got, err, st.wantRev)
		}
	}
	wantMod := map[string]int64{"/k/b": 3, "/k/c": 3, "/k/d": 4}
	for key, want := range wantMod {
		kv, err := s.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get %s: %v", key, err)
		}
		if kv.ModRevision != want || kv.Key != key {
			t.Errorf("Get %s = key %q mod %d; want mod %d", key, kv.Key, kv.ModRevision, want)
		}
	}
	if rev, err := s.Put(ctx, "/k/e", []byte("5")); err != nil || rev != 6 {
		t.Errorf("Put = %d, %v; want 6", rev, err)
	}
	if rev, err := s.Delete(ctx, "/k/e"); err != nil || rev != 7 {
		t.Errorf("Delete = %d, %v; want 7", rev, err)
	}
	if rev, err := s.Delete(ctx, "/k/e"); err != nil || rev != 7 {
		t.Errorf("Delete of missing key = %d, %v; want 7 (unchanged), nil", rev, err)
	}
}

func testValuesAreCopied(t *testing.T, s state.Store) {
	ctx := context.Background()
	in := []byte("original")
	if _, err := s.Put(ctx, "/v", in); err != nil {
		t.Fatal(err)
	}
	copy(in, "XXXXXXXX")
	kv, err := s.Get(ctx, "/v")
	if err != nil {
		t.Fatal(err)
	}
	if string(kv.Value) != "original" {
		t.Errorf("value after caller changed its slice = %q, want %q", kv.Value, "original")
	}
	copy(kv.Value, "YYYYYYYY")
	kv, _ = s.Get(ctx, "/v")
	if string(kv.Value) != "original" {
		t.Errorf("value after caller changed a returned slice = %q, want %q", kv.Value, "original")
	}
	if _, err := s.Put(ctx, "/empty", nil); err != nil {
		t.Fatal(err)
	}
	kv, err = s.Get(ctx, "/empty")
	if err != nil || len(kv.Value) != 0 {
		t.Errorf("Get of empty value = %q, %v; want empty, nil", kv.Value, err)
	}
}

func testListPrefixOrder(t *testing.T, s state.Store) {
	ctx := context.Background()
	keys := []string{"/b/2", "/a/10", "/a/2", "/a/1", "/ab/1", "/b/1", "/a", "/c"}
	for i, k := range keys {
		mustPut(t, s, k, "v"+strconv.Itoa(i))
	}
	wantRev := int64(len(keys))
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"/a", "/a/1", "/a/10", "/a/2", "/ab/1", "/b/1", "/b/2", "/c"}},
		{"/a/", []string{"/a/1", "/a/10", "/a/2"}},
		{"/a", []string{"/a", "/a/1", "/a/10", "/a/2", "/ab/1"}},
		{"/b/", []string{"/b/1", "/b/2"}},
		{"/z", nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("prefix %q", tc.prefix), func(t *testing.T) {
			kvs, rev, err := s.List(ctx, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, kv := range kvs {
				got = append(got, kv.Key)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("keys = %q, want %q", got, tc.want)
			}
			if rev != wantRev {
				t.Errorf("rev = %d, want %d", rev, wantRev)
			}
		})
	}
}

func testTxnCompare(t *testing.T, s state.Store) {
	ctx := context.Background()
	rev1 := mustPut(t, s, "/c/present", "v1")
	tests := []struct {
		name    string
		cmps    []state.Compare
		wantErr error
	}{
		{"absent key compared with 0 holds", []state.Compare{{Key: "/c/absent", ModRevision: 0}}, nil},
		{"present key compared with 0 fails", []state.Compare{{Key: "/c/present", ModRevision: 0}}, state.ErrConflict},
		{"absent key compared with a revision fails", []state.Compare{{Key: "/c/absent", ModRevision: rev1}}, state.ErrConflict},
		{"current mod revision holds", []state.Compare{{Key: "/c/present", ModRevision: rev1}}, nil},
		{"stale mod revision fails", []state.Compare{{Key: "/c/present", ModRevision: rev1 + 100}}, state.ErrConflict},
		{"one failing compare of two fails", []state.Compare{{Key: "/c/absent", ModRevision: 0}, {Key: "/c/present", ModRevision: 0}}, state.ErrConflict},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, s)
			beforeRev, _ := s.Rev(ctx)
			target := fmt.Sprintf("/c/write-%d", i)
			rev, err := s.Txn(ctx, tc.cmps, []state.Op{state.Put(target, []byte("x"))})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Txn err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if after := snapshot(t, s); after != before {
					t.Errorf("failed compare changed the store:\nbefore %s\nafter  %s", before, after)
				}
				if got, _ := s.Rev(ctx); got != beforeRev {
					t.Errorf("failed compare moved revision %d -> %d", beforeRev, got)
				}
				return
			}
			if rev != beforeRev+1 {
				t.Errorf("Txn revision = %d, want %d", rev, beforeRev+1)
			}
			if kv, err := s.Get(ctx, target); err != nil || kv.ModRevision != rev {
				t.Errorf("Get %s = mod %d, %v; want mod %d", target, kv.ModRevision, err, rev)
			}
		})
	}

	t.Run("compare-and-swap on a fresh key", func(t *testing.T) {
		rev, err := s.Txn(ctx, []state.Compare{{Key: "/c/cas", ModRevision: 0}}, []state.Op{state.Put("/c/cas", []byte("a"))})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if _, err := s.Txn(ctx, []state.Compare{{Key: "/c/cas", ModRevision: 0}}, []state.Op{state.Put("/c/cas", []byte("b"))}); !errors.Is(err, state.ErrConflict) {
			t.Fatalf("second create: err = %v, want ErrConflict", err)
		}
		if _, err := s.Txn(ctx, []state.Compare{{Key: "/c/cas", ModRevision: rev}}, []state.Op{state.Delete("/c/cas")}); err != nil {
			t.Fatalf("guarded delete: %v", err)
		}
		if _, err := s.Get(ctx, "/c/cas"); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("after guarded delete: err = %v, want ErrNotFound", err)
		}
	})
}

func testTxnAtomicOnError(t *testing.T, s state.Store) {
	ctx := context.Background()
	mustPut(t, s, "/t/keep", "v")
	tests := []struct {
		name string
		cmps []state.Compare
		ops  []state.Op
	}{
		{"invalid op after a valid one", nil, []state.Op{state.Put("/t/new", []byte("x")), state.Put("", []byte("y"))}},
		{"conflict with several ops", []state.Compare{{Key: "/t/keep", ModRevision: 0}}, []state.Op{state.Put("/t/new", []byte("x")), state.Delete("/t/keep")}},
		{"duplicate key", nil, []state.Op{state.Put("/t/new", []byte("x")), state.Delete("/t/new")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, s)
			if _, err := s.Txn(ctx, tc.cmps, tc.ops); err == nil {
				t.Fatal("Txn succeeded, want an error")
			}
			if after := snapshot(t, s); after != before {
				t.Errorf("failed Txn changed the store:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func testInvalidInput(t *testing.T, s state.Store) {
	ctx := context.Background()
	tests := []struct {
		name    string
		call    func() error
		wantMsg string
	}{
		{"Get empty key", func() error { _, err := s.Get(ctx, ""); return err }, "key is empty"},
		{"Put empty key", func() error { _, err := s.Put(ctx, "", nil); return err }, "key is empty"},
		{"Delete empty key", func() error { _, err := s.Delete(ctx, ""); return err }, "key is empty"},
		{"unknown op type", func() error {
			_, err := s.Txn(ctx, nil, []state.Op{{Type: 99, Key: "/x"}})
			return err
		}, "op 0"},
		{"negative compare revision", func() error {
			_, err := s.Txn(ctx, []state.Compare{{Key: "/x", ModRevision: -1}}, nil)
			return err
		}, "ModRevision = -1"},
		{"duplicate key", func() error {
			_, err := s.Txn(ctx, nil, []state.Op{state.Put("/x", nil), state.Put("/x", nil)})
			return err
		}, `"/x"`},
		{"negative watch revision", func() error {
			_, err := s.Watch(ctx, "/", -1)
			return err
		}, "afterRev = -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantMsg)
			}
		})
	}
	if rev, err := s.Rev(ctx); err != nil || rev != 0 {
		t.Errorf("Rev after invalid input = %d, %v; want 0", rev, err)
	}
}

func testWatchReplay(t *testing.T, s state.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Revisions 1-3 are puts, revision 4 deletes /w/a.
	mustPut(t, s, "/w/a", "1")
	mustPut(t, s, "/other/x", "no")
	mustPut(t, s, "/w/b", "2")
	if _, err := s.Delete(ctx, "/w/a"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		after int64
		want  []string // "type key rev"
	}{
		{"from the start", 0, []string{"put /w/a 1", "put /w/b 3", "delete /w/a 4"}},
		{"from the middle", 1, []string{"put /w/b 3", "delete /w/a 4"}},
		{"from the current revision", 4, nil},
		{"from a future revision", 9, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wctx, wcancel := context.WithCancel(ctx)
			defer wcancel()
			ch, err := s.Watch(wctx, "/w/", tc.after)
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			var got []string
			for range tc.want {
				got = append(got, describe(recv(t, ch)))
			}
			if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
				t.Errorf("replayed %q, want %q", got, tc.want)
			}
			expectNoEvent(t, ch)
		})
	}

	// Replay then live, with no gap and no duplicate.
	ch, err := s.Watch(ctx, "/w/", 3)
	if err != nil {
		t.Fatal(err)
	}
	rev := mustPut(t, s, "/w/c", "3")
	if got, want := describe(recv(t, ch)), "delete /w/a 4"; got != want {
		t.Errorf("replayed %q, want %q", got, want)
	}
	expectEvent(t, ch, state.EventPut, "/w/c", "3", rev)
}

func testWatchLive(t *testing.T, s state.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rev0 := mustPut(t, s, "/l/old", "x")
	ch, err := s.Watch(ctx, "/l/", rev0)
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Watch(ctx, "", rev0)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.Txn(ctx, nil, []state.Op{
		state.Put("/l/a", []byte("A")),
		state.Delete("/l/old"),
		state.Put("/elsewhere", []byte("E")),
		state.Delete("/l/never-existed"),
	})
	if err != nil {
		t.Fatal(err)
	}
	expectEvent(t, ch, state.EventPut, "/l/a", "A", rev)
	expectEvent(t, ch, state.EventDelete, "/l/old", "", rev)
	expectNoEvent(t, ch)
	expectEvent(t, all, state.EventPut, "/l/a", "A", rev)
	expectEvent(t, all, state.EventDelete, "/l/old", "", rev)
	expectEvent(t, all, state.EventPut, "/elsewhere", "E", rev)

	// A no-op transaction produces no event.
	if _, err := s.Delete(ctx, "/l/never-existed"); err != nil {
		t.Fatal(err)
	}
	rev2 := mustPut(t, s, "/l/b", "B")
	if rev2 != rev+1 {
		t.Errorf("revision after a no-op = %d, want %d", rev2, rev+1)
	}
	expectEvent(t, ch, state.EventPut, "/l/b", "B", rev2)
}

func testWatchCancel(t *testing.T, s state.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := s.Watch(ctx, "/", 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Watch(context.Background(), "/", 0)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	expectClosed(t, ch)
	rev := mustPut(t, s, "/after-cancel", "v")
	expectEvent(t, other, state.EventPut, "/after-cancel", "v", rev)

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := s.Watch(done, "/", 0); err == nil {
		t.Error("Watch with a done context succeeded, want its error")
	}
}

func testWatchCompacted(t *testing.T, s state.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustPut(t, s, "/h/first", "1") // rev 1
	ops := make([]state.Op, bigTxnOps)
	for i := range ops {
		ops[i] = state.Put(fmt.Sprintf("/h/big/%05d", i), []byte("v"))
	}
	rev, err := s.Txn(ctx, nil, ops) // rev 2
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Watch(ctx, "/h/", 0); !errors.Is(err, state.ErrCompacted) {
		t.Errorf("Watch from 0 after %d events: err = %v, want ErrCompacted", bigTxnOps+1, err)
	}
	ch, err := s.Watch(ctx, "/h/", rev)
	if err != nil {
		t.Fatalf("Watch from the current revision: %v", err)
	}
	next := mustPut(t, s, "/h/next", "n")
	expectEvent(t, ch, state.EventPut, "/h/next", "n", next)
}

func testSlowWatcher(t *testing.T, s state.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx, "/s/", 0)
	if err != nil {
		t.Fatal(err)
	}
	ops := make([]state.Op, bigTxnOps)
	for i := range ops {
		ops[i] = state.Put(fmt.Sprintf("/s/%05d", i), []byte("v"))
	}
	// Nobody reads ch while these writes run; they must not block.
	writes := make(chan error, 1)
	go func() {
		_, err := s.Txn(ctx, nil, ops)
		if err == nil {
			_, err = s.Put(ctx, "/s/last", []byte("v"))
		}
		writes <- err
	}()
	select {
	case err := <-writes:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(eventWait):
		t.Fatal("writes blocked on a watcher that does not read")
	}
	// The watcher either got everything in order or was closed early.
	n := 0
	timeout := time.After(eventWait)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Logf("slow watcher closed after %d of %d events", n, bigTxnOps+1)
				return
			}
			want := fmt.Sprintf("/s/%05d", n)
			if n == bigTxnOps {
				want = "/s/last"
			}
			if ev.KV.Key != want {
				t.Fatalf("event %d key = %q, want %q", n, ev.KV.Key, want)
			}
			n++
			if n == bigTxnOps+1 {
				return
			}
		case <-timeout:
			t.Fatalf("slow watcher neither delivered all events nor closed (got %d)", n)
		}
	}
}

func testConcurrentWriters(t *testing.T, s state.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const (
		writers   = 6
		perWriter = 15
	)
	ch, err := s.Watch(ctx, "/", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Every writer increments a shared counter with compare-and-swap
	// (retrying on conflict) and writes a key of its own.
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if err := increment(ctx, s, "/counter"); err != nil {
					errs <- err
					return
				}
				if _, err := s.Put(ctx, fmt.Sprintf("/w%d/%d", w, i), []byte("v")); err != nil {
					errs <- err
					return
				}
				if _, _, err := s.List(ctx, fmt.Sprintf("/w%d/", w)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	kv, err := s.Get(ctx, "/counter")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(kv.Value), strconv.Itoa(writers*perWriter); got != want {
		t.Errorf("counter = %s, want %s (lost updates)", got, want)
	}
	total := int64(2 * writers * perWriter)
	if rev, _ := s.Rev(ctx); rev != total {
		t.Errorf("Rev = %d, want %d", rev, total)
	}
	// The watcher saw every revision exactly once, in order.
	for want := int64(1); want <= total; want++ {
		ev := recv(t, ch)
		if ev.KV.ModRevision != want {
			t.Fatalf("watch event revision = %d, want %d", ev.KV.ModRevision, want)
		}
	}
}

func increment(ctx context.Context, s state.Store, key string) error {
	for {
		var n int
		var mod int64
		kv, err := s.Get(ctx, key)
		switch {
		case errors.Is(err, state.ErrNotFound):
		case err != nil:
			return err
		default:
			if n, err = strconv.Atoi(string(kv.Value)); err != nil {
				return err
			}
			mod = kv.ModRevision
		}
		_, err = s.Txn(ctx, []state.Compare{{Key: key, ModRevision: mod}}, []state.Op{state.Put(key, []byte(strconv.Itoa(n+1)))})
		if errors.Is(err, state.ErrConflict) {
			if rand.IntN(2) == 0 {
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			}
			continue
		}
		return err
	}
}

func testClose(t *testing.T, s state.Store) {
	ctx := context.Background()
	mustPut(t, s, "/x", "v")
	ch, err := s.Watch(ctx, "/", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	expectClosed(t, ch)
	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, "/x"); return err }},
		{"List", func() error { _, _, err := s.List(ctx, "/"); return err }},
		{"Txn", func() error { _, err := s.Txn(ctx, nil, []state.Op{state.Put("/y", nil)}); return err }},
		{"Put", func() error { _, err := s.Put(ctx, "/y", nil); return err }},
		{"Delete", func() error { _, err := s.Delete(ctx, "/x"); return err }},
		{"Rev", func() error { _, err := s.Rev(ctx); return err }},
		{"Watch", func() error { _, err := s.Watch(ctx, "/", 0); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, state.ErrClosed) {
				t.Errorf("%s after Close: err = %v, want ErrClosed", c.name, err)
			}
		})
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func mustPut(t *testing.T, s state.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Put(context.Background(), key, []byte(value))
	if err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
	return rev
}

// snapshot renders the whole store and its revision for comparisons.
func snapshot(t *testing.T, s state.Store) string {
	t.Helper()
	kvs, rev, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return fmt.Sprintf("rev=%d %s", rev, dump(kvs))
}

func dump(kvs []state.KV) string {
	var b strings.Builder
	for _, kv := range kvs {
		fmt.Fprintf(&b, "%s=%q@%d ", kv.Key, kv.Value, kv.ModRevision)
	}
	return b.String()
}

func describe(ev state.Event) string {
	typ := "put"
	if ev.Type == state.EventDelete {
		typ = "delete"
	}
	return fmt.Sprintf("%s %s %d", typ, ev.KV.Key, ev.KV.ModRevision)
}

func recv(t *testing.T, ch <-chan state.Event) state.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed, want an event")
		}
		return ev
	case <-time.After(eventWait):
		t.Fatalf("no watch event within %s", eventWait)
	}
	return state.Event{}
}

func expectEvent(t *testing.T, ch <-chan state.Event, typ state.EventType, key, value string, rev int64) {
	t.Helper()
	ev := recv(t, ch)
	if ev.Type != typ || ev.KV.Key != key || !bytes.Equal(ev.KV.Value, []byte(value)) || ev.KV.ModRevision != rev {
		t.Errorf("event = type %d %s=%q@%d, want type %d %s=%q@%d",
			ev.Type, ev.KV.Key, ev.KV.Value, ev.KV.ModRevision, typ, key, value, rev)
	}
	if typ == state.EventDelete && ev.KV.Value != nil {
		t.Errorf("delete event value = %q, want nil", ev.KV.Value)
	}
}

func expectNoEvent(t *testing.T, ch <-chan state.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Errorf("unexpected event %s", describe(ev))
		} else {
			t.Error("watch channel closed unexpectedly")
		}
	case <-time.After(20 * time.Millisecond):
	}
}

func expectClosed(t *testing.T, ch <-chan state.Event) {
	t.Helper()
	timeout := time.After(eventWait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("watch channel not closed within %s", eventWait)
		}
	}
}
