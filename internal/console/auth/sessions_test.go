package auth

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestSessionExpiry(t *testing.T) {
	tests := []struct {
		name string
		// uses are the gaps between sign-in and each use of the session.
		uses []time.Duration
		// alive is whether the session is still valid at the last use.
		alive bool
	}{
		{"fresh", []time.Duration{0}, true},
		{"just under idle", []time.Duration{DefaultSessionIdle - time.Second}, true},
		{"idle", []time.Duration{DefaultSessionIdle}, false},
		{"use slides the idle expiry", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, true},
		{"absolute limit despite use", repeat(40*time.Minute, 18), false},
		{"just under the absolute limit", append(repeat(40*time.Minute, 17), 39*time.Minute), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tok, _, _ := f.svc.IssueLink(DefaultUser, 0)
			res, err := f.svc.SignInLink(tok, "127.0.0.1")
			if err != nil {
				t.Fatalf("SignInLink: %v", err)
			}
			sess := res.Session
			if !sess.Created.Equal(t0) || !sess.Expires.Equal(t0.Add(DefaultSessionIdle)) {
				t.Errorf("session times = %v..%v", sess.Created, sess.Expires)
			}
			ok := true
			for _, d := range tt.uses {
				f.clock.Advance(d)
				var got Session
				got, ok = f.svc.Session(sess.ID)
				if ok && got.Expires.After(t0.Add(DefaultSessionMax)) {
					t.Errorf("Expires %v past the absolute limit", got.Expires)
				}
			}
			if ok != tt.alive {
				t.Errorf("session valid = %v, want %v", ok, tt.alive)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

func TestSessionTokens(t *testing.T) {
	f := newFixture(t)
	a := f.signInLink(t)
	b := f.signInLink(t)
	for _, tok := range []string{a.ID, a.CSRF, b.ID} {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Errorf("token %q: %d bytes, %v; want 32 bytes base64url", tok, len(raw), err)
		}
	}
	if a.ID == b.ID || a.CSRF == b.CSRF || a.ID == a.CSRF {
		t.Error("tokens repeat")
	}
	if _, ok := f.svc.Session(""); ok {
		t.Error("empty session ID accepted")
	}
}

func TestSignOut(t *testing.T) {
	f := newFixture(t)
	a, b, c := f.signInLink(t), f.signInLink(t), f.signInLink(t)
	f.svc.SignOut(a.ID)
	f.svc.SignOut("unknown")
	if _, ok := f.svc.Session(a.ID); ok {
		t.Error("signed-out session still valid")
	}
	if _, ok := f.svc.Session(b.ID); !ok {
		t.Error("other session ended by SignOut")
	}
	if n := f.svc.SignOutUser(DefaultUser, c.ID); n != 1 {
		t.Errorf("SignOutUser ended %d sessions, want 1", n)
	}
	if _, ok := f.svc.Session(b.ID); ok {
		t.Error("SignOutUser kept a session")
	}
	if _, ok := f.svc.Session(c.ID); !ok {
		t.Error("SignOutUser ended the excepted session")
	}
	if n := f.svc.SignOutUser(DefaultUser, ""); n != 1 {
		t.Errorf("SignOutUser with no exception ended %d sessions, want 1", n)
	}
}

// signInLink signs admin in by a fresh link.
func (f *fixture) signInLink(t *testing.T) Session {
	t.Helper()
	tok, _, err := f.svc.IssueLink(DefaultUser, 0)
	if err != nil {
		t.Fatalf("IssueLink: %v", err)
	}
	res, err := f.svc.SignInLink(tok, "127.0.0.1")
	if err != nil {
		t.Fatalf("SignInLink: %v", err)
	}
	return res.Session
}
