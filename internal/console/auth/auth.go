// Package auth is the security core of madang's web console: console
// users stored in the state store, sign-in by password or by one-time
// link, TOTP multi-factor authentication enrolled the way AWS assigns a
// virtual MFA device, in-memory sessions with idle and absolute expiry,
// throttling of failed sign-ins, and the HTTP middleware that checks the
// Host header, the session and the CSRF token of every request.
//
// Users are durable (JSON under Prefix in the state store); sessions,
// sign-in links, MFA tickets and pending enrolments live in memory and
// end when the daemon stops.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/madang-dev/madang/internal/state"
)

// Prefix is the state-store prefix of everything the console stores.
const Prefix = "/console/"

// usersPrefix holds one JSON user record per key, /console/users/{name}.
const usersPrefix = Prefix + "users/"

// DefaultUser is the user created on first start, with no password and
// no MFA; its first sign-in is by a link from `madang console`.
const DefaultUser = "admin"

// Defaults of Options and of the in-memory lifetimes.
const (
	// DefaultSessionIdle ends a session unused for an hour.
	DefaultSessionIdle = time.Hour
	// DefaultSessionMax ends any session 12 hours after sign-in, as the
	// AWS console does.
	DefaultSessionMax = 12 * time.Hour
	// DefaultLinkTTL is the lifetime of a sign-in link when IssueLink is
	// given none.
	DefaultLinkTTL = 15 * time.Minute
	// TicketTTL is how long a signed-in-but-not-yet-MFA ticket lasts.
	TicketTTL = 5 * time.Minute
	// EnrollmentTTL is how long a pending MFA secret waits for ConfirmMFA.
	EnrollmentTTL = 10 * time.Minute
)

// Errors returned by the Service; callers test them with errors.Is.
var (
	// ErrBadCredentials: unknown user or wrong password (one message for
	// both, so that user names cannot be probed).
	ErrBadCredentials = errors.New("wrong user name or password")
	// ErrBadCode: a TOTP code that does not match or was already used.
	ErrBadCode = errors.New("the MFA code is wrong or was already used; wait for the next code")
	// ErrThrottled: too many failed attempts; see ThrottledError.
	ErrThrottled = errors.New("too many failed sign-in attempts")
	// ErrExpired: a sign-in link, MFA ticket, enrolment or session that
	// is unknown, already used or past its lifetime.
	ErrExpired = errors.New("expired or already used")
	// ErrNoPassword: the user has no password yet and must sign in by link.
	ErrNoPassword = errors.New("this user has no password; run `madang console` for a sign-in link, then set a password")
	// ErrUnknownUser: an operation named a user that does not exist.
	ErrUnknownUser = errors.New("no such console user")
)

// Options configures Open.
type Options struct {
	// Store keeps the users durably. Required.
	Store state.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives sign-in events; nil discards them.
	Logger *slog.Logger
	// SessionIdle ends a session not used for this long; 0 means
	// DefaultSessionIdle.
	SessionIdle time.Duration
	// SessionMax ends a session this long after sign-in whatever its use;
	// 0 means DefaultSessionMax.
	SessionMax time.Duration
	// PasswordCost is the bcrypt cost of new password hashes; 0 means
	// bcrypt.DefaultCost. Tests lower it to bcrypt.MinCost.
	PasswordCost int
}

// Result is the outcome of a successful sign-in step.
type Result struct {
	// User is the signed-in user's name.
	User string
	// MFARequired reports that the first factor was right and the user
	// must now give a TOTP code to CompleteMFA with Ticket. Session is
	// then empty.
	MFARequired bool
	// Ticket is the single-use MFA ticket when MFARequired.
	Ticket string
	// TicketExpires is when Ticket stops being accepted.
	TicketExpires time.Time
	// Session is the new session when MFARequired is false.
	Session Session
}

// Service holds the console's users, sessions and sign-in state. It is
// safe for concurrent use.
type Service struct {
	store   state.Store
	now     func() time.Time
	log     *slog.Logger
	idle    time.Duration
	max     time.Duration
	cost    int
	limiter *limiter
	// dummyHash is compared against when the user is unknown, so that an
	// unknown name costs the same time as a wrong password.
	dummyHash []byte

	// mu guards the maps that follow.
	mu          sync.Mutex
	sessions    map[string]*Session
	links       map[[32]byte]pendingLink
	tickets     map[[32]byte]pendingTicket
	enrollments map[string]pendingEnrollment
}

// dummyPhrase is the password the dummy hash is made of.
const dummyPhrase = "madang console unknown user"

// defaultDummyHash is bcrypt's hash of prehash(dummyPhrase) at
// bcrypt.DefaultCost, made once: hashing it at every start cost ~80 ms of
// CPU (TestDefaultDummyHash checks it). It guards nothing; comparing
// against it only makes an unknown user cost a wrong password's time.
const defaultDummyHash = "$2a$10$RazCm5VDYdaHwQuK1sW.Ee2tZcozVOsRh22sIjwBobSqb47AM2HL2"

// dummyHashFor returns a hash of cost cost to compare against for
// unknown users: the stored one at the default cost, a new one otherwise.
func dummyHashFor(cost int) ([]byte, error) {
	if cost == bcrypt.DefaultCost {
		return []byte(defaultDummyHash), nil
	}
	return bcrypt.GenerateFromPassword(prehash(dummyPhrase), cost)
}

// Open returns a Service over opts.Store, creating DefaultUser if the
// store holds no console user yet.
func Open(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("console auth: Options.Store is required")
	}
	if opts.SessionIdle < 0 || opts.SessionMax < 0 {
		return nil, fmt.Errorf("console auth: Options.SessionIdle (%v) and SessionMax (%v) must not be negative", opts.SessionIdle, opts.SessionMax)
	}
	s := &Service{
		store:       opts.Store,
		now:         opts.Now,
		log:         opts.Logger,
		idle:        opts.SessionIdle,
		max:         opts.SessionMax,
		cost:        opts.PasswordCost,
		sessions:    make(map[string]*Session),
		links:       make(map[[32]byte]pendingLink),
		tickets:     make(map[[32]byte]pendingTicket),
		enrollments: make(map[string]pendingEnrollment),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.idle == 0 {
		s.idle = DefaultSessionIdle
	}
	if s.max == 0 {
		s.max = DefaultSessionMax
	}
	if s.cost == 0 {
		s.cost = bcrypt.DefaultCost
	}
	if s.cost < bcrypt.MinCost || s.cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("console auth: Options.PasswordCost %d is outside bcrypt's %d..%d", s.cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	s.limiter = newLimiter(s.now)
	dummy, err := dummyHashFor(s.cost)
	if err != nil {
		return nil, fmt.Errorf("console auth: hash: %w", err)
	}
	s.dummyHash = dummy
	if err := s.ensureDefaultUser(ctx); err != nil {
		return nil, err
	}
	return s, nil
}
