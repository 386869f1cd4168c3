// Package daemon wires madang's services together: the state store, the
// compute service (instances), the load balancer controller, the event log
// and the API server on a unix socket (plus optional TCP with a token).
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/cgroup"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/dataplane"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/state"
)

// Version is madang's version.
const Version = "0.1.0"

// Config configures a daemon.
type Config struct {
	// Home is the data directory.
	Home string
	// Listen, when set, adds a TCP listener (host:port) that requires Token.
	Listen string
	// Token for TCP clients; generated and written to Home/token if empty.
	Token string
	// Executable is the madang binary, re-executed as instance shims.
	Executable string
	Logger     *slog.Logger
	// StopInstancesOnExit stops every instance when ctx ends (madang up);
	// otherwise instances keep running while the daemon is away.
	StopInstancesOnExit bool
	// DataPlaneCommand runs the load balancers' data plane as a process
	// of its own that outlives the daemon: the madang binary and
	// "dataplane". Empty runs it inside the daemon.
	DataPlaneCommand []string
	// Ready, if set, is called once the API is serving.
	Ready func(socket string)
}

// Daemon is a running madang daemon.
type Daemon struct {
	cfg     Config
	store   state.Store
	events  *event.Log
	compute *compute.Service
	elb     *elbctl.Controller
	applyMu sync.Mutex
}

// SocketPath returns the API socket of a data directory.
func SocketPath(home string) string { return filepath.Join(home, "madang.sock") }

// Run starts the daemon and serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	store, err := state.OpenBolt(filepath.Join(cfg.Home, "state.db"), log)
	if err != nil {
		return err
	}
	defer store.Close()

	d := &Daemon{cfg: cfg, store: store, events: event.New(2048, nil)}
	d.events.Info("daemon", fmt.Sprint(os.Getpid()), "madang %s starting in %s", Version, cfg.Home)

	mode, merr := compute.DetectAddressMode()
	if merr != nil {
		d.events.Warn("daemon", "-", "%v", merr)
	}
	cg := cgroup.Detect("/sys/fs/cgroup", log)

	// The compute service calls the load balancer controller, which is
	// built after it (it needs compute's instances).
	var elbc atomic.Pointer[elbctl.Controller]
	d.compute, err = compute.New(ctx, compute.Options{
		Home: cfg.Home, Store: store, Logger: log, Events: d.events,
		ShimCommand: []string{cfg.Executable, "shim"},
		Cgroups:     cg, AddressMode: mode,
		OnInstanceChange: func(in compute.Instance) {
			if c := elbc.Load(); c != nil {
				c.OnInstanceChange(in)
			}
		},
		BeforeStop: func(ctx context.Context, id string) {
			if c := elbc.Load(); c != nil {
				c.BeforeStop(ctx, id)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("start compute: %w", err)
	}
	eopts := elbctl.Options{Home: cfg.Home, Store: store, Logger: log, Events: d.events, Instances: d.compute,
		StopDataPlane: cfg.StopInstancesOnExit}
	if len(cfg.DataPlaneCommand) > 0 {
		eopts.DataPlane = elbctl.DataPlaneProcess(dataplane.LaunchOptions{
			Home: cfg.Home, Command: cfg.DataPlaneCommand, Version: Version, Logger: log}, d.events)
	}
	ctrl, err := elbctl.New(ctx, eopts)
	if err != nil {
		_ = d.compute.Close()
		return fmt.Errorf("start load balancers: %w", err)
	}
	d.elb = ctrl
	elbc.Store(ctrl)

	socket := SocketPath(cfg.Home)
	ln, err := listenUnix(socket)
	if err != nil {
		_ = d.elb.Close(context.Background())
		_ = d.compute.Close()
		return err
	}
	srv := &api.Server{
		Info: api.Info{Version: Version, PID: os.Getpid(), Home: cfg.Home, Socket: socket,
			AddressMode: mode.String(), Cgroups: cg.Version().String()},
		Compute: d.compute, ELB: d.elb, Events: d.events, Stacks: stacks{d}, Logger: log,
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("api", "err", err)
		}
	}()
	var tcp *http.Server
	if cfg.Listen != "" {
		token := cfg.Token
		if token == "" {
			token, err = loadOrCreateToken(filepath.Join(cfg.Home, "token"))
			if err != nil {
				return err
			}
		}
		tsrv := *srv
		tsrv.Token = token
		tln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
		}
		tcp = &http.Server{Handler: tsrv.Handler(), ReadHeaderTimeout: 10 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := tcp.Serve(tln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("api tcp", "err", err)
			}
		}()
		d.events.Info("daemon", "-", "API also on http://%s (token in %s)", tln.Addr(), filepath.Join(cfg.Home, "token"))
	}
	d.events.Info("daemon", fmt.Sprint(os.Getpid()), "ready; API on %s", socket)
	if cfg.Ready != nil {
		cfg.Ready(socket)
	}

	<-ctx.Done()
	d.events.Info("daemon", fmt.Sprint(os.Getpid()), "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	if tcp != nil {
		_ = tcp.Shutdown(sctx)
	}
	wg.Wait()
	_ = os.Remove(socket)
	var errs []error
	// The load balancer stops first so no request reaches a stopping
	// instance; then instances stop (or are left running).
	errs = append(errs, d.elb.Close(sctx))
	if cfg.StopInstancesOnExit {
		errs = append(errs, d.compute.Shutdown(sctx))
	} else {
		errs = append(errs, d.compute.Close())
	}
	return errors.Join(errs...)
}

// listenUnix listens on the socket, removing a stale one left by a
// daemon that was killed; it refuses if another daemon answers there.
func listenUnix(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		_ = c.Close()
		return nil, fmt.Errorf("another madang daemon is already serving %s; use it, or stop it first", path)
	}
	_ = os.Remove(path)
	old := umask(0o077)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return ln, nil
}

func loadOrCreateToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write token: %w", err)
	}
	return tok, nil
}
