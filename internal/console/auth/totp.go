package auth

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters (RFC 6238 as every authenticator app reads them).
const (
	// Issuer names madang in authenticator apps.
	Issuer = "madang"
	// totpPeriod is the length of one time step.
	totpPeriod = 30
	// qrSize is the width and height of Enrollment.QRPNG in pixels.
	qrSize = 256
)

// totpOpts returns the code parameters: SHA1, 6 digits, 30 s.
func totpOpts() totp.ValidateOpts {
	return totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
}

// Enrollment is a pending virtual MFA device, to be confirmed by
// ConfirmMFA with two consecutive codes.
type Enrollment struct {
	// Secret is the base32 key, for typing into an authenticator app.
	Secret string
	// URI is the otpauth://totp/madang:{user}?… URI the QR code holds.
	URI string
	// QRPNG is a 256×256 PNG QR code of URI.
	QRPNG []byte
}

// pendingEnrollment is a secret awaiting ConfirmMFA.
type pendingEnrollment struct {
	secret  string
	expires time.Time
	// shown is what BeginMFA returned, shown again after a wrong code.
	shown Enrollment
}

// step is the TOTP time step of t.
func step(t time.Time) int64 { return t.Unix() / totpPeriod }

// codeAt returns the code of secret at time step n.
func codeAt(secret string, n int64) (string, error) {
	code, err := totp.GenerateCodeCustom(secret, time.Unix(n*totpPeriod, 0), totpOpts())
	if err != nil {
		return "", fmt.Errorf("TOTP code: %w", err)
	}
	return code, nil
}

// codeIs reports whether code is secret's code at step n.
func codeIs(secret string, n int64, code string) bool {
	want, err := codeAt(secret, n)
	return err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1
}

// normalizeCode removes the spaces people type and checks the form.
func normalizeCode(field, code string) (string, error) {
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return "", fmt.Errorf("%s: enter the 6 digits your authenticator app shows: %w", field, ErrBadCode)
	}
	return code, nil
}

// BeginMFA creates a new TOTP secret for user and keeps it for
// EnrollmentTTL, until ConfirmMFA. A user whose MFA is enabled must
// RemoveMFA first.
func (s *Service) BeginMFA(user string) (Enrollment, error) {
	info, err := s.User(user)
	if err != nil {
		return Enrollment{}, fmt.Errorf("assign MFA device: %w", err)
	}
	if info.MFAEnabled {
		return Enrollment{}, fmt.Errorf("assign MFA device: user %q already has one; remove it first", user)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      Issuer,
		AccountName: user,
		Period:      totpPeriod,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrollment{}, fmt.Errorf("assign MFA device: generate secret: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return Enrollment{}, fmt.Errorf("assign MFA device: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrollment{}, fmt.Errorf("assign MFA device: QR code: %w", err)
	}
	now := s.now()
	s.mu.Lock()
	s.pruneLocked(now)
	en := Enrollment{Secret: key.Secret(), URI: key.URL(), QRPNG: buf.Bytes()}
	s.enrollments[user] = pendingEnrollment{secret: key.Secret(), expires: now.Add(EnrollmentTTL), shown: en}
	s.mu.Unlock()
	return en, nil
}

// PendingMFA returns the device BeginMFA is assigning to user, while it
// waits for its two codes, so that a page can show the same QR code again
// after a wrong code.
func (s *Service) PendingMFA(user string) (Enrollment, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.enrollments[user]
	if !ok || !now.Before(p.expires) {
		return Enrollment{}, false
	}
	return p.shown, true
}

// ConfirmMFA enables the device from BeginMFA when code1 and code2 are
// two consecutive codes (steps n and n+1, with n+1 the current step or
// one either side of it). Wrong codes count as failed sign-ins.
//
// Sessions of the user stay open: the caller ends the others with
// SignOutUser(user, currentSessionID).
func (s *Service) ConfirmMFA(user, code1, code2 string) error {
	if err := s.limiter.check(user, ""); err != nil {
		return fmt.Errorf("assign MFA device: %w", err)
	}
	c1, err := normalizeCode("MFA code 1", code1)
	if err != nil {
		return err
	}
	c2, err := normalizeCode("MFA code 2", code2)
	if err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	pending, ok := s.enrollments[user]
	s.mu.Unlock()
	if !ok || !now.Before(pending.expires) {
		return fmt.Errorf("assign MFA device: the QR code is %w; start again", ErrExpired)
	}
	cur := step(now)
	matched := int64(-1)
	for n := cur - 2; n <= cur; n++ {
		if codeIs(pending.secret, n, c1) && codeIs(pending.secret, n+1, c2) {
			matched = n + 1
			break
		}
	}
	if matched < 0 {
		s.limiter.fail(user, "")
		return fmt.Errorf("assign MFA device: enter two consecutive codes, the second after the app shows a new one: %w", ErrBadCode)
	}
	err = s.updateUser(user, func(rec *userRecord) error {
		if rec.MFAEnabled {
			return fmt.Errorf("assign MFA device: user %q already has one; remove it first", user)
		}
		rec.MFASecret = pending.secret
		rec.MFAEnabled = true
		rec.LastStep = matched
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	if e, ok := s.enrollments[user]; ok && e.secret == pending.secret {
		delete(s.enrollments, user)
	}
	s.mu.Unlock()
	s.log.Info("console MFA enabled", "user", user)
	return nil
}

// RemoveMFA disables user's MFA device; code must be a current, unused
// code of it. Wrong codes count as failed sign-ins.
func (s *Service) RemoveMFA(user, code string) error {
	if err := s.limiter.check(user, ""); err != nil {
		return fmt.Errorf("remove MFA device: %w", err)
	}
	err := s.updateUser(user, func(rec *userRecord) error {
		if err := s.acceptCode(rec, code); err != nil {
			return err
		}
		rec.MFAEnabled = false
		rec.MFASecret = ""
		return nil
	})
	if errors.Is(err, ErrBadCode) {
		s.limiter.fail(user, "")
	}
	if err != nil {
		return fmt.Errorf("remove MFA device: %w", err)
	}
	s.log.Info("console MFA removed", "user", user)
	return nil
}

// useCode accepts a sign-in code of user and stores its step.
func (s *Service) useCode(user, code string) error {
	return s.updateUser(user, func(rec *userRecord) error { return s.acceptCode(rec, code) })
}

// acceptCode checks code against rec's device at the current step ±1,
// refuses steps at or before the last accepted one, and records the step.
func (s *Service) acceptCode(rec *userRecord, code string) error {
	if !rec.MFAEnabled {
		return fmt.Errorf("user %q has no MFA device", rec.Name)
	}
	c, err := normalizeCode("MFA code", code)
	if err != nil {
		return err
	}
	cur := step(s.now())
	for n := cur - 1; n <= cur+1; n++ {
		if n > rec.LastStep && codeIs(rec.MFASecret, n, c) {
			rec.LastStep = n
			return nil
		}
	}
	return ErrBadCode
}
