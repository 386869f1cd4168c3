package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/madang-dev/madang/internal/state"
)

// Password length limits, in characters.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// maxTxnRetries bounds the read-modify-write loop of updateUser.
const maxTxnRetries = 16

// userRecord is the JSON stored at /console/users/{name}.
type userRecord struct {
	Name string `json:"name"`
	// PasswordHash is bcrypt of prehash(password); empty means no password.
	PasswordHash string `json:"passwordHash,omitempty"`
	// MFASecret is the base32 TOTP secret of an enabled MFA device.
	MFASecret  string `json:"mfaSecret,omitempty"`
	MFAEnabled bool   `json:"mfaEnabled"`
	// LastStep is the last accepted TOTP time step (replay protection).
	LastStep int64     `json:"lastTotpStep,omitempty"`
	Created  time.Time `json:"created"`
}

// UserInfo is what the console may show about a user (no secrets).
type UserInfo struct {
	Name        string
	HasPassword bool
	MFAEnabled  bool
	Created     time.Time
}

// userKey returns the store key of a user, or an error for a name that
// cannot be a key.
func userKey(name string) (string, error) {
	if name == "" || len(name) > 64 {
		return "", fmt.Errorf("user name must be 1 to 64 characters, got %d: %w", len(name), ErrUnknownUser)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '@' || c == '+'
		if !ok {
			return "", fmt.Errorf("user name %q may hold only letters, digits and - _ . @ +: %w", name, ErrUnknownUser)
		}
	}
	return usersPrefix + name, nil
}

// ensureDefaultUser creates DefaultUser when no user exists.
func (s *Service) ensureDefaultUser(ctx context.Context) error {
	kvs, _, err := s.store.List(ctx, usersPrefix)
	if err != nil {
		return fmt.Errorf("console auth: list users: %w", err)
	}
	if len(kvs) > 0 {
		return nil
	}
	rec := userRecord{Name: DefaultUser, Created: s.now().UTC()}
	val, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("console auth: encode user: %w", err)
	}
	key := usersPrefix + DefaultUser
	_, err = s.store.Txn(ctx, []state.Compare{{Key: key, ModRevision: 0}}, []state.Op{state.Put(key, val)})
	if errors.Is(err, state.ErrConflict) {
		return nil // created meanwhile by another Open on the same store
	}
	if err != nil {
		return fmt.Errorf("console auth: create user %q: %w", DefaultUser, err)
	}
	s.log.Info("console user created", "user", DefaultUser)
	return nil
}

// getUser reads a user and the revision to compare against on update.
func (s *Service) getUser(ctx context.Context, name string) (userRecord, int64, error) {
	key, err := userKey(name)
	if err != nil {
		return userRecord{}, 0, err
	}
	kv, err := s.store.Get(ctx, key)
	if errors.Is(err, state.ErrNotFound) {
		return userRecord{}, 0, fmt.Errorf("user %q: %w", name, ErrUnknownUser)
	}
	if err != nil {
		return userRecord{}, 0, fmt.Errorf("read user %q: %w", name, err)
	}
	var rec userRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		return userRecord{}, 0, fmt.Errorf("decode user %q: %w", name, err)
	}
	return rec, kv.ModRevision, nil
}

// updateUser applies fn to the stored user and writes the result only if
// nobody wrote the user meanwhile, retrying on conflict. An error from fn
// aborts without writing and is returned as is.
func (s *Service) updateUser(name string, fn func(*userRecord) error) error {
	ctx := context.Background()
	for range maxTxnRetries {
		rec, rev, err := s.getUser(ctx, name)
		if err != nil {
			return err
		}
		if err := fn(&rec); err != nil {
			return err
		}
		val, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("encode user %q: %w", name, err)
		}
		key := usersPrefix + name
		_, err = s.store.Txn(ctx, []state.Compare{{Key: key, ModRevision: rev}}, []state.Op{state.Put(key, val)})
		if errors.Is(err, state.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write user %q: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("write user %q: still conflicting after %d attempts: %w", name, maxTxnRetries, state.ErrConflict)
}

// User returns what may be shown about a user.
func (s *Service) User(name string) (UserInfo, error) {
	rec, _, err := s.getUser(context.Background(), name)
	if err != nil {
		return UserInfo{}, err
	}
	return UserInfo{
		Name:        rec.Name,
		HasPassword: rec.PasswordHash != "",
		MFAEnabled:  rec.MFAEnabled,
		Created:     rec.Created,
	}, nil
}

// prehash turns a password of any length into 44 bytes for bcrypt, which
// refuses more than 72 bytes.
func prehash(password string) []byte {
	sum := sha256.Sum256([]byte(password))
	return []byte(base64.StdEncoding.EncodeToString(sum[:]))
}

// passwordMatches compares password with a stored hash; an empty hash
// never matches (the comparison still runs, against the dummy hash).
func (s *Service) passwordMatches(hash, password string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, prehash(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), prehash(password)) == nil
}

// SetPassword sets a user's password. If the user already has one,
// current must match it (wrong current passwords count as failed
// sign-ins of that user). The new password must be MinPasswordLen to
// MaxPasswordLen characters.
//
// Other sessions of the user stay open: the caller ends them with
// SignOutUser(user, currentSessionID).
func (s *Service) SetPassword(user, current, next string) error {
	if n := utf8.RuneCountInString(next); n < MinPasswordLen || n > MaxPasswordLen {
		return fmt.Errorf("new password: it has %d characters; choose one of %d to %d characters", n, MinPasswordLen, MaxPasswordLen)
	}
	if err := s.limiter.check(user, ""); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword(prehash(next), s.cost)
	if err != nil {
		return fmt.Errorf("new password: hash: %w", err)
	}
	wrongCurrent := false
	err = s.updateUser(user, func(rec *userRecord) error {
		if rec.PasswordHash != "" && !s.passwordMatches(rec.PasswordHash, current) {
			wrongCurrent = true
			return fmt.Errorf("current password: it does not match; type the password you sign in with: %w", ErrBadCredentials)
		}
		rec.PasswordHash = string(hash)
		return nil
	})
	if wrongCurrent {
		s.limiter.fail(user, "")
	}
	if err != nil {
		return err
	}
	s.log.Info("console password set", "user", user)
	return nil
}
