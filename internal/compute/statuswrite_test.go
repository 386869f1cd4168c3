package compute

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/state"
)

// txnCounter is a store that counts its transactions and when they came.
type txnCounter struct {
	state.Store
	mu   sync.Mutex
	txns []txnSeen
}

type txnSeen struct {
	at  time.Time
	ops int
}

func (c *txnCounter) Txn(ctx context.Context, cmps []state.Compare, ops []state.Op) (int64, error) {
	c.mu.Lock()
	c.txns = append(c.txns, txnSeen{at: time.Now(), ops: len(ops)})
	c.mu.Unlock()
	return c.Store.Txn(ctx, cmps, ops)
}

func (c *txnCounter) seen() []txnSeen {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]txnSeen(nil), c.txns...)
}

// writerService is the part of a Service the status writer uses.
func writerService(store state.Store, ids ...string) *Service {
	s := &Service{opts: Options{Store: store}, log: slog.New(slog.DiscardHandler), instances: map[string]*Instance{}}
	for _, id := range ids {
		s.instances[id] = &Instance{ID: id, State: StatePending, Detail: "starting"}
	}
	return s
}

func storedState(t *testing.T, st state.Store, id string) (InstanceState, bool) {
	t.Helper()
	kv, err := st.Get(context.Background(), InstancePrefix+id)
	if err != nil {
		return "", false
	}
	var in Instance
	if err := json.Unmarshal(kv.Value, &in); err != nil {
		t.Fatal(err)
	}
	return in.State, true
}

// TestObservedPhasesShareOneCommit: fifty instances turning running
// within the write delay are stored in one transaction, statusWriteDelay
// after the first, each as it is at that moment (not as it was marked).
func TestObservedPhasesShareOneCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &txnCounter{Store: state.NewMemory()}
		var ids []string
		for i := range 50 {
			ids = append(ids, fmt.Sprintf("i-%03d", i))
		}
		s := writerService(store, ids...)
		w := newStatusWriter(s, statusWriteDelay)
		start := time.Now()
		for _, id := range ids {
			s.mu.Lock()
			s.instances[id].State = StateRunning
			s.mu.Unlock()
			w.mark(id)
			time.Sleep(statusWriteDelay / 100)
		}
		// A change after its mark, before the flush, is what is stored.
		s.mu.Lock()
		s.instances[ids[0]].State = StateStopped
		s.mu.Unlock()
		time.Sleep(statusWriteDelay)
		synctest.Wait()
		got := store.seen()
		if len(got) != 1 || got[0].ops != 50 {
			t.Fatalf("transactions %+v, want one of 50 records", got)
		}
		if d := got[0].at.Sub(start); d != statusWriteDelay {
			t.Errorf("stored %s after the first change, want %s", d, statusWriteDelay)
		}
		if st, _ := storedState(t, store, ids[0]); st != StateStopped {
			t.Errorf("%s stored as %q, want the newer %q", ids[0], st, StateStopped)
		}
		if st, _ := storedState(t, store, ids[49]); st != StateRunning {
			t.Errorf("%s stored as %q, want %q", ids[49], st, StateRunning)
		}
		// Quiet: no more commits.
		time.Sleep(time.Second)
		if n := len(store.seen()); n != 1 {
			t.Errorf("%d transactions after a quiet second, want still 1", n)
		}
		w.close()
	})
}

// TestStatusWriterClose: close stores what is marked at once, and a mark
// after close is stored before mark returns.
func TestStatusWriterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &txnCounter{Store: state.NewMemory()}
		s := writerService(store, "i-a", "i-b")
		w := newStatusWriter(s, statusWriteDelay)
		w.mark("i-a")
		start := time.Now()
		w.close()
		if time.Since(start) != 0 {
			t.Errorf("close waited %s for the delay", time.Since(start))
		}
		if _, ok := storedState(t, store, "i-a"); !ok {
			t.Fatal("i-a marked before close is not stored")
		}
		w.mark("i-b")
		if _, ok := storedState(t, store, "i-b"); !ok {
			t.Fatal("i-b marked after close is not stored when mark returns")
		}
	})
}

// TestForgottenInstanceIsNotStoredAgain: a record deleted (forget) while
// its phase waits to be stored is not written back by the flush.
func TestForgottenInstanceIsNotStoredAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &txnCounter{Store: state.NewMemory()}
		s := writerService(store, "i-a")
		w := newStatusWriter(s, statusWriteDelay)
		s.mu.Lock()
		in := s.instances["i-a"]
		in.State, in.Desired = StateTerminated, StateTerminated
		s.mu.Unlock()
		w.mark("i-a")
		if _, err := store.Put(context.Background(), InstancePrefix+"i-a", []byte(`{"id":"i-a"}`)); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		delete(s.instances, "i-a")
		s.mu.Unlock()
		if _, err := store.Delete(context.Background(), InstancePrefix+"i-a"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * statusWriteDelay)
		synctest.Wait()
		if _, ok := storedState(t, store, "i-a"); ok {
			t.Fatal("the flush stored a record that was deleted")
		}
		w.close()
	})
}
