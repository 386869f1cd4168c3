// Package auth is the web console's users, sign-in, sessions, MFA and
// CSRF checks. This file is the interface the console builds on; the full
// implementation replaces it.
package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/madang-dev/madang/internal/state"
)

// ErrThrottled is wrapped by errors of sign-ins refused for too many
// failures.
var ErrThrottled = errors.New("too many failed sign-ins")

// ThrottledError says when to try again.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string     { return ErrThrottled.Error() }
func (e *ThrottledError) Is(err error) bool { return err == ErrThrottled }

// Session is a signed-in browser.
type Session struct {
	ID, User, CSRF   string
	Created, Expires time.Time
	MFA              bool
}

// Result is the outcome of a sign-in step.
type Result struct {
	Session   *Session
	MFATicket string
}

// Enrollment is a pending MFA device.
type Enrollment struct {
	Secret, URI string
	QRPNG       []byte
}

// Service signs users in.
type Service struct{}

// MiddlewareOptions configure Middleware.
type MiddlewareOptions struct {
	Public     func(path string) bool
	SignInPath string
}

type ctxKey struct{}

// FromContext returns the request's session.
func FromContext(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(Session)
	return s, ok
}

// CSRFToken returns the request's CSRF token.
func CSRFToken(r *http.Request) string {
	s, _ := FromContext(r.Context())
	return s.CSRF
}

// Middleware checks sessions.
func (s *Service) Middleware(next http.Handler, _ MiddlewareOptions) http.Handler { return next }

// SignInPassword signs in with a password.
func (s *Service) SignInPassword(user, password, client string) (Result, error) {
	return Result{}, errors.New("not built")
}

// SignInLink signs in with a one-time link.
func (s *Service) SignInLink(token, client string) (Result, error) {
	return Result{}, errors.New("not built")
}

// CompleteMFA finishes a sign-in with an MFA code.
func (s *Service) CompleteMFA(ticket, code, client string) (Result, error) {
	return Result{}, errors.New("not built")
}

// SignOut ends a session.
func (s *Service) SignOut(id string) {}

// SetSessionCookie sets the session cookie.
func SetSessionCookie(w http.ResponseWriter, r *http.Request, s Session) {}

// ClearSessionCookie clears it.
func ClearSessionCookie(w http.ResponseWriter, r *http.Request) {}

// ClientIP is the request's client address.
func ClientIP(r *http.Request) string { return r.RemoteAddr }

// EnsurePreSessionCSRF returns the pre-session CSRF token.
func EnsurePreSessionCSRF(w http.ResponseWriter, r *http.Request) string { return "" }

// SetPassword sets a user's password.
func (s *Service) SetPassword(user, current, next string) error { return errors.New("not built") }

// BeginMFA starts assigning an MFA device.
func (s *Service) BeginMFA(user string) (Enrollment, error) {
	return Enrollment{}, errors.New("not built")
}

// ConfirmMFA confirms it with two consecutive codes.
func (s *Service) ConfirmMFA(user, code1, code2 string) error { return errors.New("not built") }

// RemoveMFA removes it.
func (s *Service) RemoveMFA(user, code string) error { return errors.New("not built") }

// MFAEnabled reports whether a user has MFA.
func (s *Service) MFAEnabled(user string) bool { return false }

// HasPassword reports whether a user has a password.
func (s *Service) HasPassword(user string) bool { return false }

// DefaultUser is the user made on first start.
const DefaultUser = "admin"

// PendingMFA returns a user's MFA device being assigned.
func (s *Service) PendingMFA(user string) (Enrollment, bool) { return Enrollment{}, false }

// Options configure a Service.
type Options struct {
	Store                  state.Store
	Now                    func() time.Time
	Logger                 *slog.Logger
	SessionIdle, SessionMax time.Duration
}

// Open opens the users.
func Open(ctx context.Context, opts Options) (*Service, error) { return &Service{}, nil }

// IssueLink issues a one-time sign-in link token.
func (s *Service) IssueLink(user string, ttl time.Duration) (string, time.Time, error) {
	return "", time.Time{}, errors.New("not built")
}
