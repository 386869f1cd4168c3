package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/console/auth"
)

// lang is the language a page is rendered in.
type lang struct {
	// code is "en" or "ko".
	code string
}

// langCookie holds the language a user chose.
const langCookie = "madang_lang"

// langOf picks the request's language: the user's choice, else the
// browser's Accept-Language, else English.
func langOf(r *http.Request) lang {
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "en" || c.Value == "ko") {
		return lang{code: c.Value}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "ko"):
			return lang{code: "ko"}
		case strings.HasPrefix(tag, "en"):
			return lang{code: "en"}
		}
	}
	return lang{code: "en"}
}

// T returns the string for key in l's language: the key itself when
// there is none, so that text that is not a key (a resource's name, an
// API's message) passes through.
func (l lang) T(key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if l.code == "ko" && m.ko != "" {
		return m.ko
	}
	return m.en
}

// mountLang serves POST /lang, which sets the language cookie.
func (s *Server) mountLang(mux *http.ServeMux) {
	mux.HandleFunc("POST /lang", func(w http.ResponseWriter, r *http.Request) {
		code := r.FormValue("lang")
		if code != "en" && code != "ko" {
			http.Error(w, "lang must be en or ko", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: code, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteStrictMode, HttpOnly: true})
		http.Redirect(w, r, auth.SafeNext(r.FormValue("next")), http.StatusSeeOther)
	})
}

// apiError is an error answer of the daemon's API.
type apiError = api.Error

func asAPIError(err error, target **apiError) bool { return errors.As(err, target) }

func flashEncode(kind, msg string) string { return url.QueryEscape(kind + "|" + msg) }

func flashDecode(v string) (kind, msg string) {
	s, err := url.QueryUnescape(v)
	if err != nil {
		return "", ""
	}
	kind, msg, _ = strings.Cut(s, "|")
	if kind != "ok" && kind != "warn" && kind != "error" {
		kind = "ok"
	}
	return kind, msg
}
