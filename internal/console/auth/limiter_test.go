package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	f := newFixture(t)
	f.setPassword(t, DefaultUser, "correct horse")
	const client = "192.0.2.1"
	for i := range FreeFailures - 1 {
		if _, err := f.svc.SignInPassword(DefaultUser, "wrong", client); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: err = %v, want ErrBadCredentials", i+1, err)
		}
	}
	// The fifth failure starts the delay: 1 s, then 2 s, 4 s, ...
	want := time.Second
	for i := range 12 {
		if _, err := f.svc.SignInPassword(DefaultUser, "wrong", client); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: err = %v, want ErrBadCredentials", FreeFailures+i, err)
		}
		_, err := f.svc.SignInPassword(DefaultUser, "correct horse", client)
		var te *ThrottledError
		if !errors.As(err, &te) || !errors.Is(err, ErrThrottled) {
			t.Fatalf("after %d failures: err = %v, want a ThrottledError", FreeFailures+i, err)
		}
		if te.RetryAfter != want {
			t.Errorf("after %d failures: RetryAfter = %v, want %v", FreeFailures+i, te.RetryAfter, want)
		}
		f.clock.Advance(te.RetryAfter)
		want = min(2*want, MaxThrottle)
	}
	if want != MaxThrottle {
		t.Errorf("delay did not reach the cap: %v", want)
	}
	// Right password once the delay has passed: success resets the user.
	f.signIn(t, DefaultUser, "correct horse")
	if _, err := f.svc.SignInPassword(DefaultUser, "wrong", "192.0.2.2"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("after success from another client: err = %v, want ErrBadCredentials, not throttled", err)
	}
}

func TestThrottleKeys(t *testing.T) {
	tests := []struct {
		name string
		// fail makes FreeFailures failing attempts.
		fail func(f *fixture, i int) error
		// then is the attempt expected to be throttled.
		then func(f *fixture) error
	}{
		{
			name: "per client, over many user names",
			fail: func(f *fixture, i int) error {
				_, err := f.svc.SignInPassword(fmt.Sprintf("user%d", i), "wrong", "192.0.2.1")
				return err
			},
			then: func(f *fixture) error {
				_, err := f.svc.SignInPassword(DefaultUser, "correct horse", "192.0.2.1")
				return err
			},
		},
		{
			name: "per user, over many clients",
			fail: func(f *fixture, i int) error {
				_, err := f.svc.SignInPassword(DefaultUser, "wrong", fmt.Sprintf("192.0.2.%d", i))
				return err
			},
			then: func(f *fixture) error {
				_, err := f.svc.SignInPassword(DefaultUser, "correct horse", "198.51.100.1")
				return err
			},
		},
		{
			name: "bad links, per client",
			fail: func(f *fixture, _ int) error {
				_, err := f.svc.SignInLink("forged", "192.0.2.1")
				return err
			},
			then: func(f *fixture) error {
				tok, _, _ := f.svc.IssueLink(DefaultUser, 0)
				_, err := f.svc.SignInLink(tok, "192.0.2.1")
				return err
			},
		},
		{
			name: "wrong MFA codes",
			fail: func(f *fixture, _ int) error { return f.svc.RemoveMFA(DefaultUser, "000000") },
			then: func(f *fixture) error {
				_, err := f.svc.SignInPassword(DefaultUser, "correct horse", "198.51.100.1")
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.setPassword(t, DefaultUser, "correct horse")
			f.enableMFA(t, DefaultUser)
			for i := range FreeFailures {
				if err := tt.fail(f, i); err == nil || errors.Is(err, ErrThrottled) {
					t.Fatalf("failure %d: err = %v", i+1, err)
				}
			}
			if err := tt.then(f); !errors.Is(err, ErrThrottled) {
				t.Errorf("err = %v, want ErrThrottled", err)
			}
			f.clock.Advance(time.Second)
			if err := tt.then(f); err != nil {
				t.Errorf("after the delay: err = %v, want success", err)
			}
		})
	}
}

func TestThrottleWindow(t *testing.T) {
	clock := newClock()
	l := newLimiter(clock.Now)
	for range FreeFailures - 1 {
		l.fail("admin", "192.0.2.1")
	}
	clock.Advance(FailureWindow + time.Second)
	l.fail("admin", "192.0.2.1")
	if err := l.check("admin", "192.0.2.1"); err != nil {
		t.Errorf("failures older than the window still count: %v", err)
	}
}

func TestLimiterBounded(t *testing.T) {
	clock := newClock()
	l := newLimiter(clock.Now)
	for i := range maxLimiterEntries + 500 {
		l.fail("", fmt.Sprintf("client-%d", i))
	}
	if n := l.len(); n > maxLimiterEntries {
		t.Errorf("limiter holds %d entries, want at most %d", n, maxLimiterEntries)
	}
	clock.Advance(FailureWindow + time.Minute)
	l.fail("", "late")
	if n := l.len(); n != 1 {
		t.Errorf("after the window limiter holds %d entries, want 1", n)
	}
}

func TestThrottledErrorMessage(t *testing.T) {
	err := error(&ThrottledError{RetryAfter: 1500 * time.Millisecond})
	if got, want := err.Error(), "too many failed sign-in attempts; try again in 2s"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(fmt.Errorf("sign in: %w", err), ErrThrottled) {
		t.Error("wrapped ThrottledError is not ErrThrottled")
	}
}
