package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Session is a signed-in browser. Sessions live in memory only.
type Session struct {
	// ID is the session cookie's value: 32 random bytes, base64url.
	ID string
	// User is the signed-in user's name.
	User string
	// CSRF is the token every state-changing request must carry.
	CSRF string
	// Created is the sign-in time.
	Created time.Time
	// Expires is when the session ends unless used again: the idle limit
	// from the last use, never past Created plus the absolute limit.
	Expires time.Time
	// MFA reports that the sign-in included a TOTP code.
	MFA bool
}

// newToken returns 32 random bytes, base64url without padding.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenHash is what the service keeps of a bearer token.
func tokenHash(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// newSession starts a session for user and resets the user's failure
// count.
func (s *Service) newSession(user string, mfa bool) Session {
	now := s.now()
	sess := &Session{
		ID:      newToken(),
		User:    user,
		CSRF:    newToken(),
		Created: now,
		MFA:     mfa,
	}
	sess.Expires = s.expiry(sess, now)
	s.limiter.succeed(user)
	s.mu.Lock()
	s.pruneLocked(now)
	s.sessions[sess.ID] = sess
	s.mu.Unlock()
	s.log.Info("console sign-in", "user", user, "mfa", mfa)
	return *sess
}

// expiry is the end of a session last used at seen.
func (s *Service) expiry(sess *Session, seen time.Time) time.Time {
	idle := seen.Add(s.idle)
	if limit := sess.Created.Add(s.max); limit.Before(idle) {
		return limit
	}
	return idle
}

// Session returns the live session with id and extends its idle expiry;
// it reports false for an unknown, idle or too old session.
func (s *Service) Session(id string) (Session, bool) {
	if id == "" {
		return Session{}, false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return Session{}, false
	}
	if !now.Before(sess.Expires) {
		delete(s.sessions, id)
		return Session{}, false
	}
	sess.Expires = s.expiry(sess, now)
	return *sess, true
}

// SignOut ends the session with id; an unknown id is not an error.
func (s *Service) SignOut(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

// SignOutUser ends every session of user except the one with id except
// (empty ends them all) and returns how many it ended. Call it after a
// password or MFA change, passing the session that made the change.
func (s *Service) SignOutUser(user, except string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, sess := range s.sessions {
		if sess.User == user && id != except {
			delete(s.sessions, id)
			n++
		}
	}
	if n > 0 {
		s.log.Info("console sessions ended", "user", user, "count", n)
	}
	return n
}

// pruneLocked forgets expired sessions, links, tickets and enrolments.
// s.mu must be held.
func (s *Service) pruneLocked(now time.Time) {
	for id, sess := range s.sessions {
		if !now.Before(sess.Expires) {
			delete(s.sessions, id)
		}
	}
	for h, l := range s.links {
		if !now.Before(l.expires) {
			delete(s.links, h)
		}
	}
	for h, t := range s.tickets {
		if !now.Before(t.expires) {
			delete(s.tickets, h)
		}
	}
	for u, e := range s.enrollments {
		if !now.Before(e.expires) {
			delete(s.enrollments, u)
		}
	}
}
