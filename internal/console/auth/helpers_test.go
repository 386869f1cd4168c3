package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"github.com/madang-dev/madang/internal/state"
)

// t0 is the start of a TOTP time step.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a Service over a memory store with a fake clock.
type fixture struct {
	svc   *Service
	store state.Store
	clock *fakeClock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: state.NewMemory(), clock: newClock()}
	f.svc = f.open(t)
	return f
}

// open opens a Service on the fixture's store and clock.
func (f *fixture) open(t *testing.T) *Service {
	t.Helper()
	svc, err := Open(context.Background(), Options{Store: f.store, Now: f.clock.Now, PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return svc
}

// code returns secret's TOTP code at time at.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatalf("GenerateCodeCustom: %v", err)
	}
	return c
}

// setPassword gives the user a password or fails the test.
func (f *fixture) setPassword(t *testing.T, user, pw string) {
	t.Helper()
	if err := f.svc.SetPassword(user, "", pw); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
}

// enableMFA enrols a device for user with the codes of the current and
// previous step and returns its secret.
func (f *fixture) enableMFA(t *testing.T, user string) string {
	t.Helper()
	enr, err := f.svc.BeginMFA(user)
	if err != nil {
		t.Fatalf("BeginMFA: %v", err)
	}
	now := f.clock.Now()
	if err := f.svc.ConfirmMFA(user, code(t, enr.Secret, now.Add(-30*time.Second)), code(t, enr.Secret, now)); err != nil {
		t.Fatalf("ConfirmMFA: %v", err)
	}
	return enr.Secret
}

// signIn signs in by password and returns the session, failing the test
// on an error or an MFA ticket.
func (f *fixture) signIn(t *testing.T, user, pw string) Session {
	t.Helper()
	res, err := f.svc.SignInPassword(user, pw, "127.0.0.1")
	if err != nil {
		t.Fatalf("SignInPassword: %v", err)
	}
	if res.MFARequired {
		t.Fatal("SignInPassword asked for MFA")
	}
	return res.Session
}
