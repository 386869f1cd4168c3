package state

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// Memory is an in-memory Store with the same contract as the durable
// backends except durability: its data lives as long as the value. It is
// meant for tests of other packages.
type Memory struct {
	hub *hub

	// mu guards the fields that follow.
	mu     sync.RWMutex
	kvs    map[string]KV
	rev    int64
	closed bool
}

// NewMemory returns an empty in-memory store at revision 0.
func NewMemory(opts ...Option) *Memory {
	o := buildOptions(opts)
	return &Memory{
		hub: newHub(slog.New(slog.DiscardHandler), o, 0),
		kvs: make(map[string]KV),
	}
}

// Get returns the value stored at key, or ErrNotFound.
func (m *Memory) Get(ctx context.Context, key string) (KV, error) {
	if err := validateKey("key", key); err != nil {
		return KV{}, err
	}
	if err := ctx.Err(); err != nil {
		return KV{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return KV{}, ErrClosed
	}
	kv, ok := m.kvs[key]
	if !ok {
		return KV{}, fmt.Errorf("get %q: %w", key, ErrNotFound)
	}
	kv.Value = cloneBytes(kv.Value)
	return kv, nil
}

// List returns the keys with prefix in lexical order and the revision of
// the listing.
func (m *Memory) List(ctx context.Context, prefix string) ([]KV, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, 0, ErrClosed
	}
	var kvs []KV
	for k, kv := range m.kvs {
		if strings.HasPrefix(k, prefix) {
			kv.Value = cloneBytes(kv.Value)
			kvs = append(kvs, kv)
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].Key < kvs[j].Key })
	return kvs, m.rev, nil
}

// Txn applies ops atomically if every compare holds.
func (m *Memory) Txn(ctx context.Context, cmps []Compare, ops []Op) (int64, error) {
	if err := validateTxn(cmps, ops); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	for _, c := range cmps {
		if got := m.kvs[c.Key].ModRevision; got != c.ModRevision {
			return 0, fmt.Errorf("compare %q: mod revision is %d, want %d: %w", c.Key, got, c.ModRevision, ErrConflict)
		}
	}
	next := m.rev + 1
	var events []Event
	for _, op := range ops {
		switch op.Type {
		case OpPut:
			kv := KV{Key: op.Key, Value: cloneBytes(op.Value), ModRevision: next}
			m.kvs[op.Key] = kv
			events = append(events, Event{Type: EventPut, KV: kv})
		case OpDelete:
			if _, ok := m.kvs[op.Key]; ok {
				delete(m.kvs, op.Key)
				events = append(events, Event{Type: EventDelete, KV: KV{Key: op.Key, ModRevision: next}})
			}
		}
	}
	if len(events) == 0 {
		return m.rev, nil
	}
	m.rev = next
	m.hub.publish(events)
	return m.rev, nil
}

// Put writes value at key.
func (m *Memory) Put(ctx context.Context, key string, value []byte) (int64, error) {
	return m.Txn(ctx, nil, []Op{Put(key, value)})
}

// Delete removes key; deleting a missing key changes nothing.
func (m *Memory) Delete(ctx context.Context, key string) (int64, error) {
	return m.Txn(ctx, nil, []Op{Delete(key)})
}

// Rev returns the current revision.
func (m *Memory) Rev(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return 0, ErrClosed
	}
	return m.rev, nil
}

// Watch streams events under prefix with revision > afterRev.
func (m *Memory) Watch(ctx context.Context, prefix string, afterRev int64) (<-chan Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	return m.hub.watch(ctx, prefix, afterRev)
}

// Close closes every watch channel; later calls return ErrClosed. Close
// is idempotent.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.hub.close()
	return nil
}

var _ Store = (*Memory)(nil)
