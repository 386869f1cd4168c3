// Package informer keeps a controller's view of a store prefix current:
// it lists the prefix, then watches it from the listed revision, and
// re-lists when the watch is compacted or falls behind (etcd's
// list-then-watch pattern). Controllers are level-triggered: they react to
// "something under my prefix changed" by reconciling everything they own
// from the view, so a missed or merged event never leaves them wrong.
package informer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/madang-dev/madang/internal/state"
)

// Handler receives a prefix's contents and changes. Calls are sequential.
type Handler interface {
	// Reset replaces the handler's view with kvs, listed at revision rev:
	// keys it knew that are not in kvs are gone.
	Reset(kvs []state.KV, rev int64)
	// Apply applies a batch of changes, in revision order.
	Apply(events []state.Event)
}

// Informer follows one prefix of a store into a Handler.
type Informer struct {
	store  state.Store
	prefix string
	h      Handler
	log    *slog.Logger
	seen   Mark // the revision the handler has seen everything up to
}

// New returns an informer of prefix; Start runs it.
func New(st state.Store, prefix string, h Handler, log *slog.Logger) *Informer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Informer{store: st, prefix: prefix, h: h, log: log}
}

// Sync lists the prefix once and hands it to the handler; callers use it
// to load state before anything else starts. Run continues from there.
func (in *Informer) Sync(ctx context.Context) error {
	kvs, rev, err := in.store.List(ctx, in.prefix)
	if err != nil {
		return err
	}
	in.h.Reset(kvs, rev)
	in.seen.Advance(rev)
	return nil
}

// Run watches the prefix until ctx ends or the store closes, re-listing
// when needed. Call Sync first.
func (in *Informer) Run(ctx context.Context) {
	for ctx.Err() == nil {
		ch, err := in.store.Watch(ctx, in.prefix, in.Rev())
		if err != nil {
			if errors.Is(err, state.ErrClosed) || ctx.Err() != nil {
				return
			}
			if !errors.Is(err, state.ErrCompacted) {
				in.log.Warn("watch", "prefix", in.prefix, "err", err)
			}
			if !in.relist(ctx) {
				return
			}
			continue
		}
		in.consume(ch)
		if ctx.Err() != nil {
			return
		}
		// The channel closed: the store closed, or this watcher fell
		// behind and must re-list.
		if !in.relist(ctx) {
			return
		}
	}
}

// consume applies events until ch closes, batching what is ready.
func (in *Informer) consume(ch <-chan state.Event) {
	for ev := range ch {
		batch := []state.Event{ev}
	more:
		for {
			select {
			case e, ok := <-ch:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		in.h.Apply(batch)
		in.seen.Advance(batch[len(batch)-1].KV.ModRevision)
	}
}

func (in *Informer) relist(ctx context.Context) bool {
	for ctx.Err() == nil {
		err := in.Sync(ctx)
		if err == nil {
			return true
		}
		if errors.Is(err, state.ErrClosed) {
			return false
		}
		in.log.Warn("re-list", "prefix", in.prefix, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

// Rev returns the revision the handler has seen everything up to.
func (in *Informer) Rev() int64 { return in.seen.Rev() }

// Wait returns once the handler has seen every change up to rev, or ctx
// ends. Changes outside the prefix do not move the informer, so wait
// only for revisions that touched it.
func (in *Informer) Wait(ctx context.Context, rev int64) error { return in.seen.Wait(ctx, rev) }
