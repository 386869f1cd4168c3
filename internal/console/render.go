package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/madang-dev/madang/internal/console/auth"
)

//go:embed templates
var templateFS embed.FS

// pageSet is every page's template set: the layout and partials parsed
// with one page file, keyed by the page's name ("ec2/instances").
type pageSet struct {
	byName map[string]*template.Template
	// assetVersion is a hash of the embedded assets, appended to their
	// URLs so browsers fetch a new build.
	assetVersion string
}

// parsePages parses templates/layout.html and templates/partials/*.html
// with each templates/pages/**.html.
func parsePages() (*pageSet, error) {
	base := template.New("layout.html").Funcs(funcs(lang{}))
	base, err := base.ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	ps := &pageSet{byName: map[string]*template.Template{}}
	err = fs.WalkDir(templateFS, "templates/pages", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(templateFS, p); err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		ps.byName[strings.TrimSuffix(strings.TrimPrefix(p, "templates/pages/"), ".html")] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	ps.assetVersion = assetsHash()
	return ps, nil
}

// assetsHash is a short hash of the embedded assets.
func assetsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(AssetFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(AssetFS(), p)
		if err == nil {
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// View is what every page template gets: the page's own data in Data and
// the layout's facts around it.
type View struct {
	// Title is the page's title; Section the navigation entry it
	// belongs to ("ec2/instances").
	Title, Section string
	// Lang is the page's language ("en" or "ko").
	Lang string
	// User is the signed-in user ("" on the sign-in pages).
	User string
	// CSRF is the token forms and htmx requests send back.
	CSRF string
	// Path is the request's path, Query its raw query.
	Path, Query string
	// Flash is a one-line message shown above the page; FlashKind is
	// ok, warn or error.
	Flash, FlashKind string
	// AssetVersion is appended to asset URLs.
	AssetVersion string
	// Data is the page's own data.
	Data any
}

// page renders a page with its layout, or only the named fragment when
// the request asks for one (?fragment=NAME, as htmx re-fetches do).
func (s *Server) page(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	s.renderStatus(w, r, http.StatusOK, name, title, data)
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	ps, err := s.pages()
	if err != nil {
		s.log.Error("console: page templates", "err", err)
		http.Error(w, "console: "+err.Error(), http.StatusInternalServerError)
		return
	}
	t, ok := ps.byName[name]
	if !ok {
		s.log.Error("console: no such page template", "page", name)
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	l := langOf(r)
	v := s.view(r, l, name, title, data)
	v.AssetVersion = ps.assetVersion
	if ok := s.flashFrom(w, r, &v); ok {
		v.Flash = l.T(v.Flash)
	}
	tc, err := t.Clone()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	tc.Funcs(funcs(l))
	entry := "layout.html"
	if f := r.URL.Query().Get("fragment"); f != "" {
		if tc.Lookup(f) == nil || !fragmentName(f) {
			http.Error(w, "no such fragment", http.StatusNotFound)
			return
		}
		entry = f
	}
	var buf bytes.Buffer
	if err := tc.ExecuteTemplate(&buf, entry, v); err != nil {
		s.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fragmentName reports whether a template may be asked for as a
// fragment: page templates name theirs "frag-…".
func fragmentName(name string) bool { return strings.HasPrefix(name, "frag-") }

func (s *Server) view(r *http.Request, l lang, name, title string, data any) View {
	v := View{Title: l.T(title), Section: name, Lang: l.code, Path: r.URL.Path, Query: r.URL.RawQuery,
		Data: data, CSRF: auth.CSRFToken(r)}
	if sess, ok := auth.FromContext(r.Context()); ok {
		v.User = sess.User
	}
	return v
}

// flashCookie carries a one-line message across a redirect after a
// change ("Instance i-0abc is stopping").
const flashCookie = "madang_flash"

// redirect answers a form post with 303 to target, carrying a message
// key or text for the next page. htmx requests get HX-Redirect.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, target, kind, msg string) {
	if msg != "" {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: flashEncode(kind, msg), Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, MaxAge: 60})
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Server) flashFrom(w http.ResponseWriter, r *http.Request, v *View) bool {
	c, err := r.Cookie(flashCookie)
	if err != nil || r.URL.Query().Get("fragment") != "" {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	v.FlashKind, v.Flash = flashDecode(c.Value)
	return v.Flash != ""
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderStatus(w, r, http.StatusNotFound, "error", "error.notfound.title", errorPage{
		Message: langOf(r).T("error.notfound.body") + " " + r.URL.Path})
}

// errorPage is the data of the error page.
type errorPage struct {
	Message, Hint string
}

// fail renders an error page for a failed API call, with the API's
// status and hint.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, hint := http.StatusBadGateway, err.Error(), ""
	var ae *apiError
	if asAPIError(err, &ae) {
		status, msg, hint = ae.Status, ae.Message, ae.Hint
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<div class="flash error" role="alert">%s %s</div>`, template.HTMLEscapeString(msg), template.HTMLEscapeString(hint))
		return
	}
	s.renderStatus(w, r, status, "error", "error.title", errorPage{Message: msg, Hint: hint})
}

// assetURL is the URL of an embedded asset with the build's version.
func assetURL(version, name string) string {
	return "/assets/" + path.Clean(name) + "?v=" + version
}
