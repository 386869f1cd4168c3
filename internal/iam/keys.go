package iam

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/awsapi/sigv4"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/informer"
	"github.com/madang-dev/madang/internal/state"
)

// Access key statuses, as AWS names them.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
)

// MaxKeysPerUser is AWS's quota of access keys per user.
const MaxKeysPerUser = 2

// AccessKey is a stored access key.
type AccessKey struct {
	// ID is the access key id: AKIA and 16 letters and digits 2–7.
	ID string `json:"accessKeyId"`
	// Secret is the secret access key: 40 characters of base64.
	Secret string `json:"secretAccessKey"`
	// User is the user the key belongs to.
	User string `json:"userName"`
	// Status is Active or Inactive; only active keys sign requests.
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createDate"`
}

// Options configure [Open].
type Options struct {
	Store  state.Store
	Logger *slog.Logger
	// AccountID and Region, when set, become the account's settings;
	// when empty, the stored ones stay (or, on the first start, the
	// defaults are stored).
	AccountID, Region string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Keys is madang's account and access keys. Lookups ([Keys.Secret],
// [Keys.List], [Keys.Account]) answer from memory, which follows the
// store; writes go to the store and into memory at once. It is safe for
// concurrent use.
type Keys struct {
	store state.Store
	log   *slog.Logger
	now   func() time.Time
	inf   *informer.Informer

	// writeMu serializes writes, so quota checks see every key made in
	// this process.
	writeMu sync.Mutex

	// mu guards the fields that follow.
	mu      sync.RWMutex
	account entry[Account]
	keys    map[string]entry[AccessKey] // by id; deleted keys stay as tombstones with their revision

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// entry is a record in memory with the store revision it was read or
// written at; a nil value is a deleted record.
type entry[T any] struct {
	v   *T
	rev int64
}

// Open loads the account settings and the access keys from opts.Store,
// stores the account settings (see [Options]), and follows the store
// until [Keys.Close].
func Open(ctx context.Context, opts Options) (*Keys, error) {
	if opts.AccountID != "" {
		if err := ValidateAccountID(opts.AccountID); err != nil {
			return nil, fault.Wrap(fault.Invalid, "", "", err)
		}
	}
	if opts.Region != "" {
		if err := ValidateRegion(opts.Region); err != nil {
			return nil, fault.Wrap(fault.Invalid, "", "", err)
		}
	}
	k := &Keys{store: opts.Store, log: cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)), now: opts.Now,
		keys: map[string]entry[AccessKey]{}}
	if k.now == nil {
		k.now = time.Now
	}
	k.log = k.log.With("component", "iam")
	k.inf = informer.New(opts.Store, Prefix, follower{k}, k.log)
	if err := k.inf.Sync(ctx); err != nil {
		return nil, fmt.Errorf("load access keys: %w", err)
	}
	if err := k.settle(ctx, opts.AccountID, opts.Region); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	k.cancel = cancel
	k.wg.Add(1)
	go func() { defer k.wg.Done(); k.inf.Run(rctx) }()
	return k, nil
}

// Close stops following the store. The store stays open.
func (k *Keys) Close() error {
	k.cancel()
	k.wg.Wait()
	return nil
}

// settle stores the account settings: the given ones where set, else the
// stored ones, else the defaults.
func (k *Keys) settle(ctx context.Context, id, region string) error {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	for {
		cur, rev := k.accountEntry()
		next := Account{ID: cmp.Or(id, cur.ID, DefaultAccountID), Region: cmp.Or(region, cur.Region, DefaultRegion), DefaultAccessKeyID: cur.DefaultAccessKeyID}
		if rev != 0 && next == cur {
			return nil
		}
		err := k.writeAccount(ctx, next, rev, nil)
		if errors.Is(err, state.ErrConflict) {
			if err := k.inf.Sync(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("store account settings: %w", err)
		}
		if rev != 0 {
			k.log.Info("account settings changed", "account", next.ID, "region", next.Region, "was_account", cur.ID, "was_region", cur.Region)
		}
		return nil
	}
}

// writeAccount writes the account record (guarded by its revision) along
// with ops, and updates memory.
func (k *Keys) writeAccount(ctx context.Context, a Account, rev int64, ops []state.Op, keys ...AccessKey) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	ops = append(ops, state.Put(AccountKey, b))
	nrev, err := k.store.Txn(ctx, []state.Compare{{Key: AccountKey, ModRevision: rev}}, ops)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.setAccountLocked(&a, nrev)
	for _, op := range ops {
		if id, ok := idOf(op.Key); ok {
			var v *AccessKey
			if op.Type == state.OpPut {
				for i := range keys {
					if keys[i].ID == id {
						v = &keys[i]
					}
				}
			}
			k.setKeyLocked(id, v, nrev)
		}
	}
	return nil
}

// Account returns the account settings.
func (k *Keys) Account() Account {
	a, _ := k.accountEntry()
	return a
}

func (k *Keys) accountEntry() (Account, int64) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.account.v == nil {
		return Account{}, k.account.rev
	}
	return *k.account.v, k.account.rev
}

// EnsureDefault returns the default user's default access key, creating
// it (and making it the default) if there is none: on the first start,
// and after the default key was deleted. Calling it again returns the
// same key.
func (k *Keys) EnsureDefault(ctx context.Context) (AccessKey, error) {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	for {
		a, rev := k.accountEntry()
		if key, ok := k.get(a.DefaultAccessKeyID); ok {
			return key, nil
		}
		key, err := k.newKey(DefaultUser)
		if err != nil {
			return AccessKey{}, err
		}
		a.DefaultAccessKeyID = key.ID
		b, err := json.Marshal(key)
		if err != nil {
			return AccessKey{}, err
		}
		err = k.writeAccount(ctx, a, rev, []state.Op{state.Put(keyPath(key.ID), b)}, key)
		if errors.Is(err, state.ErrConflict) {
			if err := k.inf.Sync(ctx); err != nil {
				return AccessKey{}, err
			}
			continue
		}
		if err != nil {
			return AccessKey{}, fmt.Errorf("store the default access key: %w", err)
		}
		k.log.Info("created the default access key", "access_key_id", key.ID, "user", key.User)
		return key, nil
	}
}

// Default returns the default access key, if there is one.
func (k *Keys) Default() (AccessKey, bool) {
	return k.get(k.Account().DefaultAccessKeyID)
}

// Create makes a new active access key for user (AWS's CreateAccessKey);
// a user has at most [MaxKeysPerUser].
func (k *Keys) Create(ctx context.Context, user string) (AccessKey, error) {
	user = cmp.Or(user, DefaultUser)
	if err := ValidateUserName(user); err != nil {
		return AccessKey{}, fault.Wrap(fault.Invalid, KindAccessKey, "", err)
	}
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	n := 0
	for _, key := range k.List() {
		if key.User == user {
			n++
		}
	}
	if n >= MaxKeysPerUser {
		return AccessKey{}, fault.Conflictf(KindAccessKey, "", "Cannot exceed quota for AccessKeysPerUser: %d (user %s has %d)", MaxKeysPerUser, user, n).
			WithHint("delete one with `madang iam delete-access-key ID` (madang iam list-access-keys lists them)")
	}
	for {
		key, err := k.newKey(user)
		if err != nil {
			return AccessKey{}, err
		}
		b, err := json.Marshal(key)
		if err != nil {
			return AccessKey{}, err
		}
		rev, err := k.store.Txn(ctx, []state.Compare{{Key: keyPath(key.ID)}}, []state.Op{state.Put(keyPath(key.ID), b)})
		if errors.Is(err, state.ErrConflict) {
			continue // the id is taken: draw another
		}
		if err != nil {
			return AccessKey{}, fmt.Errorf("store access key: %w", err)
		}
		k.mu.Lock()
		k.setKeyLocked(key.ID, &key, rev)
		k.mu.Unlock()
		k.log.Info("created an access key", "access_key_id", key.ID, "user", user)
		return key, nil
	}
}

// List returns every access key, oldest first.
func (k *Keys) List() []AccessKey {
	k.mu.RLock()
	out := make([]AccessKey, 0, len(k.keys))
	for _, e := range k.keys {
		if e.v != nil {
			out = append(out, *e.v)
		}
	}
	k.mu.RUnlock()
	slices.SortFunc(out, func(a, b AccessKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Get returns one access key.
func (k *Keys) Get(id string) (AccessKey, error) {
	if key, ok := k.get(id); ok {
		return key, nil
	}
	return AccessKey{}, notFound(id)
}

func (k *Keys) get(id string) (AccessKey, bool) {
	if id == "" {
		return AccessKey{}, false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	e := k.keys[id]
	if e.v == nil {
		return AccessKey{}, false
	}
	return *e.v, true
}

func notFound(id string) error {
	return fault.NotFoundf(KindAccessKey, id, "The Access Key with id %s cannot be found.", id).
		WithHint("madang iam list-access-keys lists the access keys")
}

// Delete deletes an access key (DeleteAccessKey). Deleting the default
// key leaves none until the next start creates another.
func (k *Keys) Delete(ctx context.Context, id string) error {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	for {
		if _, ok := k.get(id); !ok {
			return notFound(id)
		}
		a, arev := k.accountEntry()
		var err error
		if a.DefaultAccessKeyID == id {
			a.DefaultAccessKeyID = ""
			err = k.writeAccount(ctx, a, arev, []state.Op{state.Delete(keyPath(id))})
		} else {
			var rev int64
			rev, err = k.store.Delete(ctx, keyPath(id))
			if err == nil {
				k.mu.Lock()
				k.setKeyLocked(id, nil, rev)
				k.mu.Unlock()
			}
		}
		if errors.Is(err, state.ErrConflict) {
			if err := k.inf.Sync(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("delete access key %s: %w", id, err)
		}
		k.log.Info("deleted an access key", "access_key_id", id)
		return nil
	}
}

// SetStatus makes an access key Active or Inactive (UpdateAccessKey).
func (k *Keys) SetStatus(ctx context.Context, id, status string) (AccessKey, error) {
	if err := ValidateStatus(status); err != nil {
		return AccessKey{}, fault.Wrap(fault.Invalid, KindAccessKey, id, err)
	}
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	key, ok := k.get(id)
	if !ok {
		return AccessKey{}, notFound(id)
	}
	if key.Status == status {
		return key, nil
	}
	key.Status = status
	b, err := json.Marshal(key)
	if err != nil {
		return AccessKey{}, err
	}
	rev, err := k.store.Put(ctx, keyPath(id), b)
	if err != nil {
		return AccessKey{}, fmt.Errorf("store access key %s: %w", id, err)
	}
	k.mu.Lock()
	k.setKeyLocked(id, &key, rev)
	k.mu.Unlock()
	k.log.Info("access key status changed", "access_key_id", id, "status", status)
	return key, nil
}

// Secret implements [sigv4.Credentials]: active keys only, from memory.
func (k *Keys) Secret(id string) (secret, user string, ok bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	e := k.keys[id]
	if e.v == nil || e.v.Status != StatusActive {
		return "", "", false
	}
	return e.v.Secret, e.v.User, true
}

// newKey draws a new active key for user.
func (k *Keys) newKey(user string) (AccessKey, error) {
	var idb [10]byte
	var sb [30]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return AccessKey{}, fmt.Errorf("draw access key id: %w", err)
	}
	if _, err := rand.Read(sb[:]); err != nil {
		return AccessKey{}, fmt.Errorf("draw secret access key: %w", err)
	}
	return AccessKey{
		ID:     "AKIA" + base32.StdEncoding.EncodeToString(idb[:]),
		Secret: base64.StdEncoding.EncodeToString(sb[:]),
		User:   user, Status: StatusActive, CreatedAt: k.now().UTC().Truncate(time.Second),
	}, nil
}

// setKeyLocked records a key (nil: deleted) seen at rev, unless memory
// already holds a later revision of it.
func (k *Keys) setKeyLocked(id string, v *AccessKey, rev int64) {
	if cur, ok := k.keys[id]; ok && cur.rev > rev {
		return
	}
	k.keys[id] = entry[AccessKey]{v: v, rev: rev}
}

func (k *Keys) setAccountLocked(a *Account, rev int64) {
	if k.account.rev > rev {
		return
	}
	k.account = entry[Account]{v: a, rev: rev}
}

// follower keeps a Keys' memory current from the informer.
type follower struct{ k *Keys }

// Reset implements informer.Handler: the listing replaces memory, but
// records written here after the listing's revision stay.
func (f follower) Reset(kvs []state.KV, rev int64) {
	k := f.k
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.keys
	k.keys = make(map[string]entry[AccessKey], len(kvs))
	for id, e := range old {
		if e.rev > rev {
			k.keys[id] = e
		}
	}
	if k.account.rev <= rev {
		k.account = entry[Account]{rev: 0}
	}
	for _, kv := range kvs {
		f.putLocked(kv)
	}
	for id := range maps.Keys(old) {
		if _, ok := k.keys[id]; !ok {
			k.keys[id] = entry[AccessKey]{rev: rev}
		}
	}
}

// Apply implements informer.Handler.
func (f follower) Apply(events []state.Event) {
	k := f.k
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, ev := range events {
		if ev.Type == state.EventPut {
			f.putLocked(ev.KV)
			continue
		}
		if id, ok := idOf(ev.KV.Key); ok {
			k.setKeyLocked(id, nil, ev.KV.ModRevision)
		} else if ev.KV.Key == AccountKey {
			k.setAccountLocked(nil, ev.KV.ModRevision)
		}
	}
}

func (f follower) putLocked(kv state.KV) {
	k := f.k
	switch id, ok := idOf(kv.Key); {
	case ok:
		var key AccessKey
		if err := json.Unmarshal(kv.Value, &key); err != nil || key.ID != id {
			k.log.Warn("skipping a malformed access key record", "key", kv.Key, "err", err)
			return
		}
		k.setKeyLocked(id, &key, kv.ModRevision)
	case kv.Key == AccountKey:
		var a Account
		if err := json.Unmarshal(kv.Value, &a); err != nil {
			k.log.Warn("skipping a malformed account record", "key", kv.Key, "err", err)
			return
		}
		k.setAccountLocked(&a, kv.ModRevision)
	}
}

// Interface guards.
var (
	_ sigv4.Credentials = (*Keys)(nil)
	_ informer.Handler  = follower{}
)
