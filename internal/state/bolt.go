package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is returned by OpenBolt when another process holds the state
// file.
var ErrLocked = errors.New("state: state file locked")

// Layout of a state file: bucket "kv" maps each key to an 8-byte
// big-endian mod revision followed by the value; bucket "meta" holds the
// store revision and the file format version.
var (
	bucketKV      = []byte("kv")
	bucketMeta    = []byte("meta")
	metaRev       = []byte("rev")
	metaFormat    = []byte("format")
	formatVersion = []byte("1")
)

// errNoChange rolls back a bolt transaction that changed nothing, so it
// costs no disk write.
var errNoChange = errors.New("no change")

// Bolt is the embedded durable Store, one bbolt file on local disk. Every
// successful write is fsynced before it returns. Only one process can
// open a state file at a time. Reads run concurrently with each other and
// with a commit in progress.
type Bolt struct {
	path   string
	logger *slog.Logger
	db     *bolt.DB
	hub    *hub

	// writeMu serialises commits and watch registration, so events are
	// published in revision order.
	writeMu sync.Mutex
	// rev is the last committed revision; it changes under writeMu.
	rev atomic.Int64

	// queueMu guards queue: the transactions waiting for the next commit.
	queueMu sync.Mutex
	queue   []*pendingTxn

	// lifeMu is held shared by every operation and exclusively by Close,
	// so Close waits for operations in flight; it guards the field that
	// follows.
	lifeMu sync.RWMutex
	closed bool
}

// OpenBolt opens (creating if needed) the state file at path. It fails
// after a short wait (WithLockTimeout) with ErrLocked if another process
// has the file open.
func OpenBolt(path string, logger *slog.Logger, opts ...Option) (*Bolt, error) {
	if path == "" {
		return nil, fmt.Errorf("state: state file path is empty; pass a file such as /var/lib/madang/state.db")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := buildOptions(opts)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("state file %s is locked by another madang daemon (waited %s); stop that daemon or use another state directory: %w",
			path, o.lockTimeout, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	var rev int64
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketKV); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch f := meta.Get(metaFormat); {
		case f == nil:
			if err := meta.Put(metaFormat, formatVersion); err != nil {
				return err
			}
		case !bytes.Equal(f, formatVersion):
			return fmt.Errorf("state file format %q is not supported (want %q); use the madang version that wrote it", f, formatVersion)
		}
		rev, err = decodeRev(meta.Get(metaRev))
		return err
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open state file %s: %w", path, err), db.Close())
	}
	logger.Info("state store opened", "path", path, "revision", rev)
	b := &Bolt{
		path:   path,
		logger: logger,
		db:     db,
		hub:    newHub(logger, o, rev),
	}
	b.rev.Store(rev)
	return b, nil
}

// Path returns the state file's path.
func (b *Bolt) Path() string { return b.path }

// Get returns the value stored at key, or ErrNotFound.
func (b *Bolt) Get(ctx context.Context, key string) (KV, error) {
	if err := validateKey("key", key); err != nil {
		return KV{}, err
	}
	if err := b.enter(ctx); err != nil {
		return KV{}, err
	}
	defer b.lifeMu.RUnlock()
	var kv KV
	err := b.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketKV).Get([]byte(key))
		if raw == nil {
			return fmt.Errorf("get %q: %w", key, ErrNotFound)
		}
		var err error
		kv, err = decodeKV(key, raw)
		return err
	})
	return kv, err
}

// List returns the keys with prefix in lexical order and the revision of
// the listing, read in one consistent snapshot.
func (b *Bolt) List(ctx context.Context, prefix string) ([]KV, int64, error) {
	if err := b.enter(ctx); err != nil {
		return nil, 0, err
	}
	defer b.lifeMu.RUnlock()
	var (
		kvs []KV
		rev int64
	)
	err := b.db.View(func(tx *bolt.Tx) error {
		var err error
		if rev, err = decodeRev(tx.Bucket(bucketMeta).Get(metaRev)); err != nil {
			return err
		}
		p := []byte(prefix)
		c := tx.Bucket(bucketKV).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			kv, err := decodeKV(string(k), v)
			if err != nil {
				return err
			}
			kvs = append(kvs, kv)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list %q: %w", prefix, err)
	}
	return kvs, rev, nil
}

// Txn applies ops atomically if every compare holds; the commit is
// fsynced before Txn returns. Transactions that arrive while another
// commit is being written share the next one (see commitQueued): each
// keeps its own compares, all-or-nothing effect and revision.
func (b *Bolt) Txn(ctx context.Context, cmps []Compare, ops []Op) (int64, error) {
	if err := validateTxn(cmps, ops); err != nil {
		return 0, err
	}
	if err := b.enter(ctx); err != nil {
		return 0, err
	}
	defer b.lifeMu.RUnlock()
	t := &pendingTxn{cmps: cmps, ops: ops}
	b.queueMu.Lock()
	b.queue = append(b.queue, t)
	b.queueMu.Unlock()
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if !t.done {
		b.commitQueued()
	}
	return t.rev, t.err
}

// Put writes value at key.
func (b *Bolt) Put(ctx context.Context, key string, value []byte) (int64, error) {
	return b.Txn(ctx, nil, []Op{Put(key, value)})
}

// Delete removes key; deleting a missing key changes nothing.
func (b *Bolt) Delete(ctx context.Context, key string) (int64, error) {
	return b.Txn(ctx, nil, []Op{Delete(key)})
}

// Rev returns the current revision.
func (b *Bolt) Rev(ctx context.Context) (int64, error) {
	if err := b.enter(ctx); err != nil {
		return 0, err
	}
	defer b.lifeMu.RUnlock()
	return b.rev.Load(), nil
}

// Watch streams events under prefix with revision > afterRev. History
// lives in memory: after a reopen, watches must start at or after the
// revision the store was opened at.
func (b *Bolt) Watch(ctx context.Context, prefix string, afterRev int64) (<-chan Event, error) {
	if err := b.enter(ctx); err != nil {
		return nil, err
	}
	defer b.lifeMu.RUnlock()
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	return b.hub.watch(ctx, prefix, afterRev)
}

// Close closes every watch channel and the state file, releasing its
// lock. Close is idempotent; other methods then return ErrClosed.
func (b *Bolt) Close() error {
	b.lifeMu.Lock()
	if b.closed {
		b.lifeMu.Unlock()
		return nil
	}
	b.closed = true
	b.lifeMu.Unlock()
	b.hub.close()
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("close state file %s: %w", b.path, err)
	}
	b.logger.Info("state store closed", "path", b.path)
	return nil
}

// enter checks ctx and takes lifeMu shared, failing with ErrClosed after
// Close. On success the caller must b.lifeMu.RUnlock.
func (b *Bolt) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.lifeMu.RLock()
	if b.closed {
		b.lifeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func encodeRev(rev int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(rev))
}

func decodeRev(b []byte) (int64, error) {
	switch len(b) {
	case 0:
		return 0, nil
	case 8:
		return int64(binary.BigEndian.Uint64(b)), nil
	}
	return 0, fmt.Errorf("corrupt store revision (%d bytes, want 8)", len(b))
}

func encodeKV(rev int64, value []byte) []byte {
	out := make([]byte, 8, 8+len(value))
	binary.BigEndian.PutUint64(out, uint64(rev))
	return append(out, value...)
}

// decodeKV copies a stored record out of bolt's memory map.
func decodeKV(key string, raw []byte) (KV, error) {
	if len(raw) < 8 {
		return KV{}, fmt.Errorf("corrupt record for key %q (%d bytes, want at least 8)", key, len(raw))
	}
	return KV{
		Key:         key,
		Value:       cloneBytes(raw[8:]),
		ModRevision: int64(binary.BigEndian.Uint64(raw)),
	}, nil
}

var _ Store = (*Bolt)(nil)
