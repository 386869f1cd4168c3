package state

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Group commit. Every commit of a Bolt store is fsynced, and an fsync
// costs milliseconds while the rest of a small transaction costs
// microseconds, so concurrent writers (fifty instances starting at once,
// each saving its record) would spend nearly all their time waiting for
// each other's fsyncs. Instead, a Txn queues itself and takes the write
// lock; the first to get it commits every queued transaction in one bolt
// transaction, in queue order, and the others find theirs done. Each
// transaction is checked and applied as if alone: its compares see the
// writes of those before it, a failed compare fails only it (it has
// written nothing yet), and each that changes something gets the next
// revision. Every caller still returns only after the fsync of the commit
// that holds its writes.

// pendingTxn is one Txn call waiting for a commit; its result is set, and
// done, under writeMu.
type pendingTxn struct {
	cmps []Compare
	ops  []Op

	done bool
	rev  int64
	err  error
}

// commitQueued commits every queued transaction. The caller holds
// writeMu.
func (b *Bolt) commitQueued() {
	b.queueMu.Lock()
	batch := b.queue
	b.queue = nil
	b.queueMu.Unlock()
	if len(batch) > 1 {
		if b.commit(batch) == nil {
			return
		}
		// Something other than a compare failed (a write bolt refused, a
		// corrupt record): commit them one at a time, so only the
		// transaction at fault fails.
	}
	for _, t := range batch {
		_ = b.commit([]*pendingTxn{t})
	}
}

// commit applies batch in one bolt transaction. On success it sets every
// transaction's result and publishes their events; otherwise it returns
// the error and, for a batch of one, sets it as that transaction's result.
func (b *Bolt) commit(batch []*pendingTxn) error {
	cur := b.rev.Load()
	type result struct {
		rev int64
		err error
	}
	var (
		results []result
		events  []Event
		rev     int64
	)
	err := b.db.Update(func(tx *bolt.Tx) error {
		results, events, rev = make([]result, len(batch)), nil, cur
		kvb := tx.Bucket(bucketKV)
		for i, t := range batch {
			if err := compareAll(kvb, t.cmps); err != nil {
				if !errors.Is(err, ErrConflict) {
					return err
				}
				results[i] = result{err: err}
				continue
			}
			evs, err := applyOps(kvb, rev+1, t.ops)
			if err != nil {
				return err
			}
			if len(evs) > 0 {
				rev++
				events = append(events, evs...)
			}
			results[i] = result{rev: rev}
		}
		if len(events) == 0 {
			return errNoChange
		}
		return tx.Bucket(bucketMeta).Put(metaRev, encodeRev(rev))
	})
	if err != nil && !errors.Is(err, errNoChange) {
		if len(batch) == 1 {
			batch[0].done, batch[0].err = true, fmt.Errorf("commit revision %d: %w", cur+1, err)
		}
		return err
	}
	if len(events) > 0 {
		b.rev.Store(rev)
		b.hub.publish(events)
	}
	for i, t := range batch {
		t.done, t.rev, t.err = true, results[i].rev, results[i].err
	}
	return nil
}

// compareAll checks a transaction's compares against kvb; a mismatch is
// an ErrConflict.
func compareAll(kvb *bolt.Bucket, cmps []Compare) error {
	for _, c := range cmps {
		var got int64
		if raw := kvb.Get([]byte(c.Key)); raw != nil {
			kv, err := decodeKV(c.Key, raw)
			if err != nil {
				return err
			}
			got = kv.ModRevision
		}
		if got != c.ModRevision {
			return fmt.Errorf("compare %q: mod revision is %d, want %d: %w", c.Key, got, c.ModRevision, ErrConflict)
		}
	}
	return nil
}

// applyOps writes a transaction's ops at revision rev and returns their
// events (none if it changed nothing).
func applyOps(kvb *bolt.Bucket, rev int64, ops []Op) ([]Event, error) {
	var events []Event
	for _, op := range ops {
		k := []byte(op.Key)
		switch op.Type {
		case OpPut:
			if err := kvb.Put(k, encodeKV(rev, op.Value)); err != nil {
				return nil, fmt.Errorf("put %q: %w", op.Key, err)
			}
			events = append(events, Event{Type: EventPut, KV: KV{Key: op.Key, Value: cloneBytes(op.Value), ModRevision: rev}})
		case OpDelete:
			if kvb.Get(k) == nil {
				continue
			}
			if err := kvb.Delete(k); err != nil {
				return nil, fmt.Errorf("delete %q: %w", op.Key, err)
			}
			events = append(events, Event{Type: EventDelete, KV: KV{Key: op.Key, ModRevision: rev}})
		}
	}
	return events, nil
}
