package state_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/madang-dev/madang/internal/state"
)

// backends opens each built-in backend with opts.
var backends = []struct {
	name string
	open func(t *testing.T, opts ...state.Option) state.Store
}{
	{"memory", func(t *testing.T, opts ...state.Option) state.Store { return state.NewMemory(opts...) }},
	{"bolt", func(t *testing.T, opts ...state.Option) state.Store {
		return openBolt(t, filepath.Join(t.TempDir(), "state.db"), opts...)
	}},
}

func TestWithHistory(t *testing.T) {
	tests := []struct {
		name        string
		after       int64
		wantErr     error
		wantReplays []int64
	}{
		{"older than the history", 1, state.ErrCompacted, nil},
		{"oldest kept revision boundary", 2, nil, []int64{3, 4, 5}},
		{"inside the history", 3, nil, []int64{4, 5}},
		{"current revision", 5, nil, nil},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := b.open(t, state.WithHistory(3))
			defer s.Close()
			for i := range 5 {
				if _, err := s.Put(ctx, fmt.Sprintf("/k/%d", i), []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					wctx, cancel := context.WithCancel(ctx)
					defer cancel()
					ch, err := s.Watch(wctx, "/", tc.after)
					if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
						t.Fatalf("Watch after %d: err = %v, want %v", tc.after, err, tc.wantErr)
					}
					if err != nil {
						return
					}
					for _, want := range tc.wantReplays {
						ev := <-ch
						if ev.KV.ModRevision != want {
							t.Errorf("replayed revision %d, want %d", ev.KV.ModRevision, want)
						}
					}
					if got := len(ch); got != 0 {
						t.Errorf("%d more events buffered, want none", got)
					}
				})
			}
		})
	}
}

func TestWithWatchBuffer(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := b.open(t, state.WithWatchBuffer(2))
			defer s.Close()
			ch, err := s.Watch(ctx, "/", 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if _, err := s.Put(ctx, fmt.Sprintf("/k/%d", i), []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
			var got []int64
			for ev := range ch {
				got = append(got, ev.KV.ModRevision)
			}
			if fmt.Sprint(got) != "[1 2]" {
				t.Errorf("lagging watcher received %v before closing, want [1 2]", got)
			}
		})
	}
}
