package informer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/state"
)

// view is a Handler that keeps the prefix's keys and values.
type view struct {
	mu     sync.Mutex
	kv     map[string]string
	resets int
}

func (v *view) Reset(kvs []state.KV, _ int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.resets++
	v.kv = map[string]string{}
	for _, kv := range kvs {
		v.kv[kv.Key] = string(kv.Value)
	}
}

func (v *view) Apply(evs []state.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, ev := range evs {
		if ev.Type == state.EventDelete {
			delete(v.kv, ev.KV.Key)
		} else {
			v.kv[ev.KV.Key] = string(ev.KV.Value)
		}
	}
}

func (v *view) get() (map[string]string, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string]string{}
	for k, x := range v.kv {
		out[k] = x
	}
	return out, v.resets
}

// The handler sees what was stored before Sync and every later change
// under the prefix; Wait returns once a revision is seen; a watcher that
// falls behind re-lists and ends equal to the store.
func TestInformerFollowsThePrefix(t *testing.T) {
	st := state.NewMemory(state.WithWatchBuffer(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := st.Put(ctx, "/a/old", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "/b/other", []byte("x")); err != nil {
		t.Fatal(err)
	}
	v := &view{}
	in := New(st, "/a/", v, nil)
	if err := in.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := v.get(); len(got) != 1 || got["/a/old"] != "1" {
		t.Fatalf("after Sync: %v, want only /a/old", got)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); in.Run(runCtx) }()
	defer func() { stop(); <-done }()

	for i := range 50 { // more than the watch buffer: the watcher falls behind
		if _, err := st.Put(ctx, "/a/k", []byte{byte('a' + i%26)}); err != nil {
			t.Fatal(err)
		}
	}
	rev, _ := st.Delete(ctx, "/a/old")
	if rev == 0 {
		t.Fatal("delete did not move the revision")
	}
	if err := in.Wait(ctx, rev); err != nil {
		t.Fatalf("Wait(%d): %v", rev, err)
	}
	got, _ := v.get()
	kvs, _, _ := st.List(ctx, "/a/")
	if len(got) != len(kvs) || got["/a/k"] != string(kvs[0].Value) {
		t.Fatalf("view %v, want the store's %v", got, kvs)
	}
}
