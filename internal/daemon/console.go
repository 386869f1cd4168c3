package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/console"
	"github.com/madang-dev/madang/internal/console/auth"
	"github.com/madang-dev/madang/internal/fault"
)

// DefaultConsoleListen is where madang server and madang up serve the web
// console unless told otherwise.
const DefaultConsoleListen = "127.0.0.1:4567"

// consoleState is the served console, for the API's settings and links.
type consoleState struct {
	mu   sync.Mutex
	url  string
	auth *auth.Service
}

// ConsoleSettings implements api.Console.
func (d *Daemon) ConsoleSettings() v1.ConsoleSettings {
	d.console.mu.Lock()
	defer d.console.mu.Unlock()
	return v1.ConsoleSettings{Enabled: d.console.url != "", URL: d.console.url}
}

// SignInLink implements api.Console: a one-time link that signs the user
// in (then asks for the MFA code if the user has MFA).
func (d *Daemon) SignInLink(_ context.Context, req v1.ConsoleLinkRequest) (v1.ConsoleLink, error) {
	d.console.mu.Lock()
	base, a := d.console.url, d.console.auth
	d.console.mu.Unlock()
	if base == "" || a == nil {
		return v1.ConsoleLink{}, fault.New(fault.Unavailable, "", "", "the daemon serves no web console (it was started with --console-listen off)",
			"restart it with --console-listen "+DefaultConsoleListen)
	}
	user := req.User
	if user == "" {
		user = auth.DefaultUser
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > 24*3600 {
		return v1.ConsoleLink{}, fault.Invalidf("", "", "ttlSeconds %d is out of range", req.TTLSeconds).WithHint("use 1 to 86400 (0: 15 minutes)")
	}
	token, expires, err := a.IssueLink(user, time.Duration(req.TTLSeconds)*time.Second)
	if err != nil {
		return v1.ConsoleLink{}, fault.New(fault.NotFound, "console-user", user, err.Error(), "the console's user is "+auth.DefaultUser)
	}
	return v1.ConsoleLink{URL: base + "/sign-in/link?token=" + url.QueryEscape(token), User: user, Expires: expires}, nil
}

// consoleComponent serves the web console on cfg.ConsoleListen (a
// loopback address), over the API's unix socket.
func (d *Daemon) consoleComponent() component {
	var hs *http.Server
	var srv *console.Server
	// base ends the console's requests (live streams) at stop.
	base, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	return component{name: "console", start: func(ctx context.Context) error {
		addr := d.cfg.ConsoleListen
		if addr == "" || addr == "off" {
			close(done)
			return nil
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("console: --console-listen %q is not host:port: %w", addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("console: --console-listen %s is not a loopback address; the console is served over plain HTTP, "+
				"so it listens on 127.0.0.1 or [::1] only (reach it from elsewhere through an SSH tunnel: ssh -L 4567:127.0.0.1:4567 HOST)", addr)
		}
		a, err := auth.Open(ctx, auth.Options{Store: d.store, Logger: d.log})
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		srv, err = console.New(console.Options{API: api.NewUnixClient(SocketPath(d.cfg.Home)), Auth: a, Logger: d.log})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("console: listen on %s: %w; another program (another madang) may serve it: "+
				"give another address with --console-listen 127.0.0.1:PORT, or --console-listen off", addr, err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		consoleURL := "http://" + net.JoinHostPort(clientHost(host), strconv.Itoa(port))
		d.console.mu.Lock()
		d.console.url, d.console.auth = consoleURL, a
		d.console.mu.Unlock()
		srv.Start(context.WithoutCancel(ctx))
		hs = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
			BaseContext: func(net.Listener) context.Context { return base }}
		go func() {
			defer close(done)
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("console", "err", err)
			}
		}()
		d.events.Info("daemon", "-", "web console on %s (madang console prints a sign-in link)", consoleURL)
		return nil
	}, stop: func(ctx context.Context) error {
		defer cancel()
		if hs == nil {
			return nil
		}
		d.console.mu.Lock()
		d.console.url, d.console.auth = "", nil
		d.console.mu.Unlock()
		// The live streams end first, so Shutdown need not wait for them.
		cancel()
		srv.Close()
		err := hs.Shutdown(ctx)
		<-done
		return err
	}}
}
