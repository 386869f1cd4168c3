// Package console serves madang's web console: server-rendered pages over
// madang's own API (the same routes and controllers as the CLI), enhanced
// with htmx and uPlot from the embedded assets, behind a sign-in with
// optional TOTP MFA. Live updates come from the daemon's event stream over
// server-sent events.
package console

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/console/auth"
)

// Options configure a console [Server].
type Options struct {
	// API is the daemon's API; every read and change goes through it.
	API *api.Client
	// Auth signs users in and keeps their sessions.
	Auth *auth.Service
	// Logger receives internal errors (nil: discarded).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// TickEvery is how often open pages are told to refresh their charts
	// (0: every 5 s).
	TickEvery time.Duration
}

// Server is the web console. Start its event hub with [Server.Start]
// before serving; [Server.Close] stops it.
type Server struct {
	api  *api.Client
	auth *auth.Service
	log  *slog.Logger
	now  func() time.Time
	tick time.Duration
	// pages parses the page templates at the first page served (~20 ms
	// of CPU that a daemon's start need not spend before anyone looks).
	pages  func() (*pageSet, error)
	assets fs.FS
	hub    *hub

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds a console from opts. Its page templates are parsed when the
// first page is served (TestPageTemplatesParse checks they do).
func New(opts Options) (*Server, error) {
	if opts.API == nil || opts.Auth == nil {
		return nil, errors.New("console: API and Auth are required")
	}
	s := &Server{api: opts.API, auth: opts.Auth, log: opts.Logger, now: opts.Now, tick: opts.TickEvery}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.tick <= 0 {
		s.tick = 5 * time.Second
	}
	s.pages = sync.OnceValues(parsePages)
	s.assets = AssetFS()
	s.hub = newHub()
	return s, nil
}

// Start follows the daemon's event stream for the open pages until ctx
// ends or Close is called.
func (s *Server) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.follow(ctx)
	}()
}

// Close stops the event hub and ends the open event streams.
func (s *Server) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	s.hub.close()
}

// Handler returns the console's HTTP handler: assets and the sign-in
// pages in public, every other route behind a session, CSRF and host
// checks.
func (s *Server) Handler() http.Handler {
	return s.auth.Middleware(s.routes(), auth.MiddlewareOptions{Public: public, SignInPath: "/sign-in",
		Static: func(path string) bool { return strings.HasPrefix(path, "/assets/") }})
}

// routes is the console's routes without the session checks (tests use
// it to render pages directly).
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", s.assetHandler()))
	s.mountSignIn(mux)
	s.mountLang(mux)
	s.mountHome(mux)
	s.mountEvents(mux)
	s.mountEC2(mux)
	s.mountELB(mux)
	s.mountAutoScaling(mux)
	s.mountCloudWatch(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.notFound(w, r)
	})
	return mux
}

// public reports the paths served without a session.
func public(path string) bool {
	return strings.HasPrefix(path, "/assets/") || path == "/sign-in" || path == "/sign-in/link" ||
		path == "/sign-in/mfa" || path == "/lang" || path == "/favicon.ico"
}

func (s *Server) assetHandler() http.Handler {
	files := http.FileServerFS(s.assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Asset URLs carry the build's hash (?v=), so they may be cached.
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
