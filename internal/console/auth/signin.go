package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// pendingLink is an issued, unused sign-in link (kept by token hash).
type pendingLink struct {
	user    string
	expires time.Time
}

// pendingTicket is a first factor awaiting its TOTP code.
type pendingTicket struct {
	user    string
	expires time.Time
}

// IssueLink returns a single-use sign-in token for user, valid for ttl
// (DefaultLinkTTL when 0). Only the token's SHA-256 is kept.
func (s *Service) IssueLink(user string, ttl time.Duration) (string, time.Time, error) {
	if ttl < 0 {
		return "", time.Time{}, fmt.Errorf("sign-in link: ttl %v must not be negative", ttl)
	}
	if ttl == 0 {
		ttl = DefaultLinkTTL
	}
	if _, _, err := s.getUser(context.Background(), user); err != nil {
		return "", time.Time{}, fmt.Errorf("sign-in link: %w", err)
	}
	token := newToken()
	now := s.now()
	expires := now.Add(ttl)
	s.mu.Lock()
	s.pruneLocked(now)
	s.links[tokenHash(token)] = pendingLink{user: user, expires: expires}
	s.mu.Unlock()
	s.log.Info("console sign-in link issued", "user", user, "expires", expires)
	return token, expires, nil
}

// SignInPassword checks user's password; client is the remote address,
// used for throttling. A user with MFA gets a ticket for CompleteMFA.
func (s *Service) SignInPassword(user, password, client string) (Result, error) {
	if err := s.limiter.check(user, client); err != nil {
		s.log.Warn("console sign-in throttled", "user", user, "client", client)
		return Result{}, fmt.Errorf("sign in: %w", err)
	}
	rec, _, err := s.getUser(context.Background(), user)
	if err != nil && !errors.Is(err, ErrUnknownUser) {
		return Result{}, fmt.Errorf("sign in: %w", err)
	}
	if err != nil || !s.passwordMatches(rec.PasswordHash, password) {
		s.limiter.fail(user, client)
		s.log.Warn("console sign-in failed", "user", user, "client", client)
		if err == nil && rec.PasswordHash == "" {
			return Result{}, fmt.Errorf("sign in as %q: %w", user, ErrNoPassword)
		}
		return Result{}, fmt.Errorf("sign in: %w", ErrBadCredentials)
	}
	return s.firstFactorDone(rec), nil
}

// SignInLink redeems a token from IssueLink; client is the remote
// address, used for throttling. A user with MFA gets a ticket for
// CompleteMFA.
func (s *Service) SignInLink(token, client string) (Result, error) {
	if err := s.limiter.check("", client); err != nil {
		return Result{}, fmt.Errorf("sign in by link: %w", err)
	}
	now := s.now()
	h := tokenHash(token)
	s.mu.Lock()
	link, ok := s.links[h]
	delete(s.links, h)
	s.mu.Unlock()
	if !ok || !now.Before(link.expires) {
		s.limiter.fail("", client)
		s.log.Warn("console sign-in link refused", "client", client, "known", ok)
		return Result{}, fmt.Errorf("sign-in link: %w (or unknown); run `madang console` for a new one", ErrExpired)
	}
	rec, _, err := s.getUser(context.Background(), link.user)
	if err != nil {
		return Result{}, fmt.Errorf("sign in by link: %w", err)
	}
	return s.firstFactorDone(rec), nil
}

// firstFactorDone starts a session, or an MFA ticket if the user has MFA.
func (s *Service) firstFactorDone(rec userRecord) Result {
	if !rec.MFAEnabled {
		return Result{User: rec.Name, Session: s.newSession(rec.Name, false)}
	}
	ticket := newToken()
	now := s.now()
	expires := now.Add(TicketTTL)
	s.mu.Lock()
	s.pruneLocked(now)
	s.tickets[tokenHash(ticket)] = pendingTicket{user: rec.Name, expires: expires}
	s.mu.Unlock()
	return Result{User: rec.Name, MFARequired: true, Ticket: ticket, TicketExpires: expires}
}

// CompleteMFA finishes a sign-in with the TOTP code of the ticket's user.
// The ticket is single use: it is spent by the sign-in it completes. A
// wrong code leaves it valid until it expires (wrong codes count as
// failed sign-ins, so they are throttled).
func (s *Service) CompleteMFA(ticket, code, client string) (Result, error) {
	now := s.now()
	h := tokenHash(ticket)
	s.mu.Lock()
	t, ok := s.tickets[h]
	delete(s.tickets, h)
	s.mu.Unlock()
	if !ok || !now.Before(t.expires) {
		return Result{}, fmt.Errorf("MFA sign-in is %w; sign in again", ErrExpired)
	}
	keep := func() {
		s.mu.Lock()
		s.tickets[h] = t
		s.mu.Unlock()
	}
	if err := s.limiter.check(t.user, client); err != nil {
		keep()
		return Result{}, fmt.Errorf("MFA code: %w", err)
	}
	if err := s.useCode(t.user, code); err != nil {
		if errors.Is(err, ErrBadCode) {
			keep()
			s.limiter.fail(t.user, client)
			s.log.Warn("console MFA code refused", "user", t.user, "client", client)
		}
		return Result{}, fmt.Errorf("MFA code: %w", err)
	}
	return Result{User: t.user, Session: s.newSession(t.user, true)}, nil
}
