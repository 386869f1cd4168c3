package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestOpenCreatesAdmin(t *testing.T) {
	f := newFixture(t)
	info, err := f.svc.User(DefaultUser)
	if err != nil {
		t.Fatalf("User(admin): %v", err)
	}
	if info.HasPassword || info.MFAEnabled || !info.Created.Equal(t0) {
		t.Errorf("admin = %+v, want no password, no MFA, created %v", info, t0)
	}
	kvs, _, err := f.store.List(context.Background(), Prefix)
	if err != nil || len(kvs) != 1 || kvs[0].Key != "/console/users/admin" {
		t.Fatalf("store = %v, %v; want one key /console/users/admin", kvs, err)
	}
	if _, err := f.svc.SignInPassword(DefaultUser, "anything", "127.0.0.1"); !errors.Is(err, ErrNoPassword) ||
		!strings.Contains(err.Error(), "madang console") {
		t.Errorf("password sign-in without a password: err = %v, want ErrNoPassword naming `madang console`", err)
	}
}

func TestOpenOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no store", Options{}},
		{"negative idle", Options{SessionIdle: -time.Second}},
		{"bad cost", Options{PasswordCost: bcrypt.MaxCost + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name != "no store" {
				tt.opts.Store = newFixture(t).store
			}
			if _, err := Open(context.Background(), tt.opts); err == nil {
				t.Error("Open succeeded, want an error")
			}
		})
	}
}

func TestPersistence(t *testing.T) {
	f := newFixture(t)
	f.setPassword(t, DefaultUser, "correct horse")
	sess := f.signIn(t, DefaultUser, "correct horse")
	secret := f.enableMFA(t, DefaultUser)

	again := f.open(t)
	if _, ok := again.Session(sess.ID); ok {
		t.Error("session survived re-Open; sessions are in memory only")
	}
	info, err := again.User(DefaultUser)
	if err != nil || !info.HasPassword || !info.MFAEnabled {
		t.Fatalf("after re-Open User = %+v, %v; want password and MFA kept", info, err)
	}
	res, err := again.SignInPassword(DefaultUser, "correct horse", "127.0.0.1")
	if err != nil || !res.MFARequired {
		t.Fatalf("after re-Open SignInPassword = %+v, %v; want an MFA ticket", res, err)
	}
	f.clock.Advance(30 * time.Second)
	if _, err := again.CompleteMFA(res.Ticket, code(t, secret, f.clock.Now()), "127.0.0.1"); err != nil {
		t.Errorf("after re-Open CompleteMFA: %v", err)
	}
}

func TestSignInLink(t *testing.T) {
	f := newFixture(t)
	tok, exp, err := f.svc.IssueLink(DefaultUser, 0)
	if err != nil {
		t.Fatalf("IssueLink: %v", err)
	}
	if !exp.Equal(t0.Add(DefaultLinkTTL)) {
		t.Errorf("expires %v, want %v", exp, t0.Add(DefaultLinkTTL))
	}
	short, _, err := f.svc.IssueLink(DefaultUser, time.Minute)
	if err != nil {
		t.Fatalf("IssueLink: %v", err)
	}
	if _, _, err := f.svc.IssueLink("nobody", 0); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("IssueLink(nobody) err = %v, want ErrUnknownUser", err)
	}

	res, err := f.svc.SignInLink(tok, "127.0.0.1")
	if err != nil || res.MFARequired || res.Session.User != DefaultUser || res.Session.MFA {
		t.Fatalf("SignInLink = %+v, %v; want a session for admin", res, err)
	}
	if _, ok := f.svc.Session(res.Session.ID); !ok {
		t.Error("new session not found")
	}

	f.clock.Advance(time.Minute)
	tests := []struct {
		name  string
		token string
	}{
		{"used twice", tok},
		{"expired", short},
		{"unknown", newToken()},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.svc.SignInLink(tt.token, "10.0.0."+tt.name); !errors.Is(err, ErrExpired) {
				t.Errorf("err = %v, want ErrExpired", err)
			}
		})
	}
}

func TestSignInPassword(t *testing.T) {
	f := newFixture(t)
	f.setPassword(t, DefaultUser, "correct horse")
	tests := []struct {
		name, user, pw string
		want           error
	}{
		{"right", DefaultUser, "correct horse", nil},
		{"wrong password", DefaultUser, "wrong horse", ErrBadCredentials},
		{"unknown user", "nobody", "correct horse", ErrBadCredentials},
		{"invalid user name", "../etc", "correct horse", ErrBadCredentials},
		{"empty", "", "", ErrBadCredentials},
	}
	var msg string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.svc.SignInPassword(tt.user, tt.pw, "127.0.0.1")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil {
				if res.Session.ID == "" || res.Session.CSRF == "" || res.Session.User != DefaultUser {
					t.Errorf("session = %+v", res.Session)
				}
				return
			}
			if msg == "" {
				msg = err.Error()
			} else if err.Error() != msg {
				t.Errorf("message %q differs from %q", err, msg)
			}
		})
	}
}

func TestSetPassword(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, current, next string
		wantErr             string
	}{
		{"too short", "", "short", "new password"},
		{"too long", "", strings.Repeat("x", MaxPasswordLen+1), "new password"},
		{"first, no current needed", "", strings.Repeat("é", MaxPasswordLen), ""},
		{"wrong current", "nope", "another password", "current password"},
		{"right current", strings.Repeat("é", MaxPasswordLen), "another password", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.svc.SetPassword(DefaultUser, tt.current, tt.next)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("SetPassword: %v", err)
				}
				f.signIn(t, DefaultUser, tt.next)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
	if err := f.svc.SetPassword("nobody", "", "long enough"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("SetPassword(nobody) err = %v, want ErrUnknownUser", err)
	}
}

// TestConcurrentUpdates checks that read-modify-write of one user loses
// no update: concurrent code uses each land, or conflict and retry.
func TestConcurrentUpdates(t *testing.T) {
	f := newFixture(t)
	secret := f.enableMFA(t, DefaultUser)
	f.clock.Advance(30 * time.Second)
	c := code(t, secret, f.clock.Now())
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		wg.Go(func() {
			if f.svc.useCode(DefaultUser, c) == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("one code accepted %d times concurrently, want once", ok)
	}
}

func TestDefaultDummyHash(t *testing.T) {
	for _, cost := range []int{bcrypt.DefaultCost, bcrypt.MinCost} {
		h, err := dummyHashFor(cost)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := bcrypt.Cost(h); err != nil || got != cost {
			t.Errorf("dummy hash for cost %d has cost %d (%v)", cost, got, err)
		}
		if err := bcrypt.CompareHashAndPassword(h, prehash(dummyPhrase)); err != nil {
			t.Errorf("dummy hash for cost %d is not a hash of the dummy phrase: %v", cost, err)
		}
	}
}
