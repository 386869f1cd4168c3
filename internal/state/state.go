// Package state is madang's durable resource store: a small key/value
// interface with revisions, atomic transactions and watches, so that an
// etcd backend can later replace the embedded one without touching callers.
//
// Keys are slash-separated paths such as "/compute/instances/i-0abc".
// Values are opaque bytes (madang stores JSON).
package state

import (
	"context"
	"errors"
)

// Errors returned by every Store.
var (
	// ErrNotFound: the key does not exist.
	ErrNotFound = errors.New("state: key not found")
	// ErrConflict: a transaction's compare failed; nothing was written.
	ErrConflict = errors.New("state: revision conflict")
	// ErrCompacted: a watch asked for revisions the store no longer keeps.
	ErrCompacted = errors.New("state: revision compacted")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("state: store closed")
)

// KV is one stored key with its value and the revision that last modified it.
type KV struct {
	Key   string
	Value []byte
	// ModRevision is the store revision of the last write to this key.
	ModRevision int64
}

// OpType is the kind of an Op.
type OpType int

// Op types.
const (
	OpPut OpType = iota + 1
	OpDelete
)

// Op is one write in a transaction.
type Op struct {
	Type  OpType
	Key   string
	Value []byte // for OpPut
}

// Put returns an Op that writes value at key.
func Put(key string, value []byte) Op { return Op{Type: OpPut, Key: key, Value: value} }

// Delete returns an Op that deletes key (a no-op if it does not exist).
func Delete(key string) Op { return Op{Type: OpDelete, Key: key} }

// Compare is a transaction guard: the key's ModRevision must equal
// ModRevision, where 0 means "the key must not exist".
type Compare struct {
	Key         string
	ModRevision int64
}

// EventType is the kind of a watch Event.
type EventType int

// Event types.
const (
	EventPut EventType = iota + 1
	EventDelete
)

// Event is one change seen by a watch.
type Event struct {
	Type EventType
	// KV holds the key, the new value (nil for deletes) and the revision
	// of the change.
	KV KV
}

// Store is the durable resource store.
//
// Contract, for every implementation (checked by package statetest):
//   - The store has one revision counter, starting at 0 for an empty store
//     and increasing by exactly 1 for each successful Txn (or Put/Delete)
//     that changes anything. All ops of a transaction share one revision.
//     A put always changes the key (its ModRevision moves), even when the
//     value is the same.
//   - Writes are atomic and durable once the call returns nil: a crash
//     (kill -9, power loss) at any moment leaves either the old or the new
//     state, never a mix or a corrupt store.
//   - Txn applies all ops or none; if any Compare fails it returns
//     ErrConflict and writes nothing. Invalid input (an empty key, an op
//     type other than OpPut/OpDelete, a key written twice in one Txn, a
//     negative revision) is an error naming the field, and writes nothing.
//   - Deleting a missing key inside a Txn is not an error and, if it is the
//     only op, does not bump the revision.
//   - Values are copied in and out: callers may reuse or modify slices
//     they passed to or received from the store.
//   - List returns keys with the prefix in lexical (byte) order, and the
//     store revision at which the listing was taken.
//   - Watch delivers, in revision order (and op order within a revision),
//     every event for keys under prefix with revision > afterRev, then
//     live events, until ctx is done or the store closes (the channel is
//     then closed). If events after afterRev are no longer kept in the
//     store's event history, Watch returns ErrCompacted and the caller
//     must re-list. The usual pattern is List, then Watch from the listed
//     revision.
//     A slow reader never blocks writers; a watcher that falls too far
//     behind has its channel closed and must re-list.
//   - After Close every method returns ErrClosed; Close itself is
//     idempotent.
//   - All methods are safe for concurrent use.
type Store interface {
	Get(ctx context.Context, key string) (KV, error)
	List(ctx context.Context, prefix string) (kvs []KV, rev int64, err error)
	// Txn applies ops atomically if every compare holds; it returns the
	// new revision (or the current one if nothing changed).
	Txn(ctx context.Context, cmps []Compare, ops []Op) (rev int64, err error)
	// Put is Txn with one put and no compares.
	Put(ctx context.Context, key string, value []byte) (rev int64, err error)
	// Delete is Txn with one delete and no compares.
	Delete(ctx context.Context, key string) (rev int64, err error)
	// Rev returns the current revision.
	Rev(ctx context.Context) (int64, error)
	Watch(ctx context.Context, prefix string, afterRev int64) (<-chan Event, error)
	Close() error
}
