package auth

import (
	"bytes"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestBeginMFA(t *testing.T) {
	f := newFixture(t)
	enr, err := f.svc.BeginMFA(DefaultUser)
	if err != nil {
		t.Fatalf("BeginMFA: %v", err)
	}
	u, err := url.Parse(enr.URI)
	if err != nil {
		t.Fatalf("URI %q: %v", enr.URI, err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/madang:admin" ||
		q.Get("secret") != enr.Secret || q.Get("issuer") != "madang" {
		t.Errorf("URI = %q, want otpauth://totp/madang:admin?secret=%s&issuer=madang", enr.URI, enr.Secret)
	}
	img, err := png.Decode(bytes.NewReader(enr.QRPNG))
	if err != nil {
		t.Fatalf("QRPNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
		t.Errorf("QR image is %v, want 256×256", b)
	}
	if _, err := f.svc.BeginMFA("nobody"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("BeginMFA(nobody) err = %v, want ErrUnknownUser", err)
	}
}

func TestConfirmMFA(t *testing.T) {
	const step = 30 * time.Second
	tests := []struct {
		name string
		// at1 and at2 are the times, from now, whose codes are entered.
		at1, at2 time.Duration
		wait     time.Duration // between BeginMFA and ConfirmMFA
		garbage  string        // entered as code 2 when set
		want     error
	}{
		{"previous and current", -step, 0, 0, "", nil},
		{"current and next", 0, step, 0, "", nil},
		{"two before and previous", -2 * step, -step, 0, "", nil},
		{"same code twice", 0, 0, 0, "", ErrBadCode},
		{"reversed", 0, -step, 0, "", ErrBadCode},
		{"not consecutive", -step, step, 0, "", ErrBadCode},
		{"too old", -3 * step, -2 * step, 0, "", ErrBadCode},
		{"too new", step, 2 * step, 0, "", ErrBadCode},
		{"not digits", 0, 0, 0, "12345a", ErrBadCode},
		{"enrolment expired", -step, 0, EnrollmentTTL, "", ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			enr, err := f.svc.BeginMFA(DefaultUser)
			if err != nil {
				t.Fatalf("BeginMFA: %v", err)
			}
			f.clock.Advance(tt.wait)
			now := f.clock.Now()
			c1, c2 := code(t, enr.Secret, now.Add(tt.at1)), code(t, enr.Secret, now.Add(tt.at2))
			if tt.garbage != "" {
				c2 = tt.garbage
			}
			err = f.svc.ConfirmMFA(DefaultUser, c1, c2)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ConfirmMFA err = %v, want %v", err, tt.want)
			}
			info, _ := f.svc.User(DefaultUser)
			if info.MFAEnabled != (tt.want == nil) {
				t.Errorf("MFAEnabled = %v after err %v", info.MFAEnabled, err)
			}
		})
	}
}

func TestMFASignIn(t *testing.T) {
	f := newFixture(t)
	f.setPassword(t, DefaultUser, "correct horse")
	secret := f.enableMFA(t, DefaultUser)
	if _, err := f.svc.BeginMFA(DefaultUser); err == nil {
		t.Error("BeginMFA with MFA enabled succeeded, want an error")
	}
	const client = "127.0.0.1"

	// The codes used to enrol (steps now-1 and now) are spent.
	res, err := f.svc.SignInPassword(DefaultUser, "correct horse", client)
	if err != nil || !res.MFARequired || res.Ticket == "" || res.Session.ID != "" {
		t.Fatalf("SignInPassword = %+v, %v; want an MFA ticket and no session", res, err)
	}
	if _, err := f.svc.CompleteMFA(res.Ticket, code(t, secret, f.clock.Now()), client); !errors.Is(err, ErrBadCode) {
		t.Errorf("code spent by enrolment: err = %v, want ErrBadCode", err)
	}

	f.clock.Advance(30 * time.Second)
	c := code(t, secret, f.clock.Now())
	got, err := f.svc.CompleteMFA(res.Ticket, c, client)
	if err != nil || got.Session.ID == "" || !got.Session.MFA || got.User != DefaultUser {
		t.Fatalf("CompleteMFA = %+v, %v; want an MFA session", got, err)
	}
	if _, err := f.svc.CompleteMFA(res.Ticket, c, client); !errors.Is(err, ErrExpired) {
		t.Errorf("ticket reused: err = %v, want ErrExpired", err)
	}

	tests := []struct {
		name  string
		code  func(now time.Time) string
		delay time.Duration // between sign-in and code
		want  error
	}{
		{"replayed code", func(time.Time) string { return c }, 0, ErrBadCode},
		{"wrong code", func(time.Time) string { return "000000" }, 0, ErrBadCode},
		{"next step's code", func(now time.Time) string { return code(t, secret, now.Add(30*time.Second)) }, 0, nil},
		{"two steps ahead", func(now time.Time) string { return code(t, secret, now.Add(3*30*time.Second)) }, 0, ErrBadCode},
		{"ticket expired", func(now time.Time) string { return code(t, secret, now) }, TicketTTL, ErrExpired},
		{"link then code", func(now time.Time) string { return code(t, secret, now) }, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res Result
			var err error
			if tt.name == "link then code" {
				tok, _, _ := f.svc.IssueLink(DefaultUser, 0)
				res, err = f.svc.SignInLink(tok, client)
			} else {
				res, err = f.svc.SignInPassword(DefaultUser, "correct horse", client)
			}
			if err != nil || !res.MFARequired {
				t.Fatalf("first factor = %+v, %v", res, err)
			}
			f.clock.Advance(tt.delay)
			if _, err := f.svc.CompleteMFA(res.Ticket, tt.code(f.clock.Now()), client); !errors.Is(err, tt.want) {
				t.Errorf("CompleteMFA err = %v, want %v", err, tt.want)
			}
			f.clock.Advance(time.Minute) // a fresh step for the next case
		})
	}
}

func TestRemoveMFA(t *testing.T) {
	f := newFixture(t)
	secret := f.enableMFA(t, DefaultUser)
	if err := f.svc.RemoveMFA(DefaultUser, code(t, secret, f.clock.Now())); !errors.Is(err, ErrBadCode) {
		t.Errorf("RemoveMFA with a spent code: err = %v, want ErrBadCode", err)
	}
	if err := f.svc.RemoveMFA(DefaultUser, "123"); !errors.Is(err, ErrBadCode) || !strings.Contains(err.Error(), "6 digits") {
		t.Errorf("RemoveMFA with 3 digits: err = %v, want ErrBadCode asking for 6 digits", err)
	}
	f.clock.Advance(30 * time.Second)
	if err := f.svc.RemoveMFA(DefaultUser, code(t, secret, f.clock.Now())); err != nil {
		t.Fatalf("RemoveMFA: %v", err)
	}
	info, _ := f.svc.User(DefaultUser)
	if info.MFAEnabled {
		t.Error("MFA still enabled after RemoveMFA")
	}
	tok, _, _ := f.svc.IssueLink(DefaultUser, 0)
	if res, err := f.svc.SignInLink(tok, "127.0.0.1"); err != nil || res.MFARequired {
		t.Errorf("sign-in after RemoveMFA = %+v, %v; want a session without MFA", res, err)
	}
	f.enableMFA(t, DefaultUser) // a new device can be assigned
}
