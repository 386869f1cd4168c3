package console

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/madang-dev/madang/internal/console/auth"
)

// signInPage is the data of the sign-in pages.
type signInPage struct {
	User, Next, Ticket, Error string
}

// mountSignIn serves the sign-in, MFA, sign-out and security pages.
func (s *Server) mountSignIn(mux *http.ServeMux) {
	mux.HandleFunc("GET /sign-in", func(w http.ResponseWriter, r *http.Request) {
		auth.EnsurePreSessionCSRF(w, r)
		s.page(w, r, "signin", "signin.title", signInPage{User: auth.DefaultUser, Next: nextOf(r)})
	})
	mux.HandleFunc("POST /sign-in", func(w http.ResponseWriter, r *http.Request) {
		user := r.FormValue("user")
		res, err := s.auth.SignInPassword(user, r.FormValue("password"), auth.ClientIP(r))
		s.signedIn(w, r, res, err, signInPage{User: user, Next: nextOf(r)})
	})
	// GET /sign-in/link?token=… is the one-time link `madang console`
	// prints; it signs in (or asks for the MFA code) and goes on.
	mux.HandleFunc("GET /sign-in/link", func(w http.ResponseWriter, r *http.Request) {
		auth.EnsurePreSessionCSRF(w, r)
		res, err := s.auth.SignInLink(r.URL.Query().Get("token"), auth.ClientIP(r))
		if err != nil && !errors.Is(err, auth.ErrThrottled) {
			err = errors.New(langOf(r).T("signin.linkused"))
		}
		s.signedIn(w, r, res, err, signInPage{User: auth.DefaultUser, Next: nextOf(r)})
	})
	mux.HandleFunc("POST /sign-in/mfa", func(w http.ResponseWriter, r *http.Request) {
		res, err := s.auth.CompleteMFA(r.FormValue("ticket"), r.FormValue("code"), auth.ClientIP(r))
		p := signInPage{Next: nextOf(r), Ticket: r.FormValue("ticket")}
		if err != nil {
			p.Error = s.signInError(r, err)
			s.renderStatus(w, r, statusOf(err), "signin-mfa", "signin.mfa.title", p)
			return
		}
		s.signedIn(w, r, res, nil, p)
	})
	mux.HandleFunc("POST /sign-out", func(w http.ResponseWriter, r *http.Request) {
		if sess, ok := auth.FromContext(r.Context()); ok {
			s.auth.SignOut(sess.ID)
		}
		auth.ClearSessionCookie(w, r)
		http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /settings/security", s.securityPage)
	mux.HandleFunc("POST /settings/security/password", s.setPassword)
	mux.HandleFunc("POST /settings/security/mfa", s.beginMFA)
	mux.HandleFunc("POST /settings/security/mfa/confirm", s.confirmMFA)
	mux.HandleFunc("POST /settings/security/mfa/remove", s.removeMFA)
}

// signedIn finishes a sign-in step: the MFA page when a code is needed,
// else the session cookie and the page the user wanted.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, res auth.Result, err error, p signInPage) {
	switch {
	case err != nil:
		p.Error = s.signInError(r, err)
		s.renderStatus(w, r, statusOf(err), "signin", "signin.title", p)
	case res.MFARequired:
		p.Ticket = res.Ticket
		s.page(w, r, "signin-mfa", "signin.mfa.title", p)
	default:
		auth.SetSessionCookie(w, r, res.Session)
		http.Redirect(w, r, p.Next, http.StatusSeeOther)
	}
}

func (s *Server) signInError(r *http.Request, err error) string {
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		return fmt.Sprintf(langOf(r).T("signin.throttled"), te.RetryAfter.Round(time.Second))
	}
	return err.Error()
}

func statusOf(err error) int {
	if errors.Is(err, auth.ErrThrottled) {
		return http.StatusTooManyRequests
	}
	return http.StatusUnauthorized
}

// nextOf is where to go after signing in: the form's or query's next
// when it is a path on this site, else the architecture page.
func nextOf(r *http.Request) string {
	n := auth.SafeNext(r.FormValue("next"))
	if n == "" || n == "/sign-in" {
		return "/"
	}
	return n
}

// securityPage is the data of the security credentials page.
type securityPage struct {
	HasPassword, MFA bool
	// Enrollment is set while an MFA device is being assigned.
	Enrollment *enrollmentView
	Error      string
}

// enrollmentView is a pending MFA device as the page shows it.
type enrollmentView struct {
	Secret string
	QR     template.URL
}

func (s *Server) securityPage(w http.ResponseWriter, r *http.Request) {
	s.renderSecurity(w, r, http.StatusOK, securityPage{})
}

func (s *Server) renderSecurity(w http.ResponseWriter, r *http.Request, status int, p securityPage) {
	sess, _ := auth.FromContext(r.Context())
	if u, err := s.auth.User(sess.User); err == nil {
		p.HasPassword, p.MFA = u.HasPassword, u.MFAEnabled
	}
	s.renderStatus(w, r, status, "settings/security", "security.title", p)
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) {
	sess, _ := auth.FromContext(r.Context())
	if err := s.auth.SetPassword(sess.User, r.FormValue("current"), r.FormValue("new")); err != nil {
		s.renderSecurity(w, r, http.StatusBadRequest, securityPage{Error: err.Error()})
		return
	}
	s.auth.SignOutUser(sess.User, sess.ID)
	s.redirect(w, r, "/settings/security", "ok", "security.passwordset")
}

func (s *Server) beginMFA(w http.ResponseWriter, r *http.Request) {
	sess, _ := auth.FromContext(r.Context())
	en, err := s.auth.BeginMFA(sess.User)
	if err != nil {
		s.renderSecurity(w, r, http.StatusBadRequest, securityPage{Error: err.Error()})
		return
	}
	s.renderSecurity(w, r, http.StatusOK, securityPage{Enrollment: &enrollmentView{Secret: en.Secret,
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QRPNG))}})
}

func (s *Server) confirmMFA(w http.ResponseWriter, r *http.Request) {
	sess, _ := auth.FromContext(r.Context())
	if err := s.auth.ConfirmMFA(sess.User, r.FormValue("code1"), r.FormValue("code2")); err != nil {
		// The pending device stays; show it again with the error.
		p := securityPage{Error: err.Error()}
		if en, ok := s.auth.PendingMFA(sess.User); ok {
			p.Enrollment = &enrollmentView{Secret: en.Secret,
				QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QRPNG))}
		}
		s.renderSecurity(w, r, http.StatusBadRequest, p)
		return
	}
	s.auth.SignOutUser(sess.User, sess.ID)
	s.redirect(w, r, "/settings/security", "ok", "security.mfa.assigned")
}

func (s *Server) removeMFA(w http.ResponseWriter, r *http.Request) {
	sess, _ := auth.FromContext(r.Context())
	if err := s.auth.RemoveMFA(sess.User, r.FormValue("code")); err != nil {
		s.renderSecurity(w, r, http.StatusBadRequest, securityPage{Error: err.Error()})
		return
	}
	s.auth.SignOutUser(sess.User, sess.ID)
	s.redirect(w, r, "/settings/security", "ok", "security.mfa.removed")
}
