// Package daemon wires madang's services together: the state store, the
// access keys, the compute service (instances), the load balancer
// controller, the event log and the API server on a unix socket (plus
// optional TCP with a token).
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
	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/cgroup"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/dataplane"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/iam"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/kinds"
	"github.com/madang-dev/madang/internal/logstore"
	"github.com/madang-dev/madang/internal/shim"
	"github.com/madang-dev/madang/internal/state"
	"github.com/madang-dev/madang/internal/supervisor"
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
	// ProcessShims runs each instance's shim as a process of its own, as
	// containerd does, instead of all of them in one long-lived process
	// host (the default: a launch then costs no exec of the madang binary).
	ProcessShims bool
	// StopInstancesOnExit stops every instance when ctx ends (madang up);
	// otherwise instances keep running while the daemon is away.
	StopInstancesOnExit bool
	// DataPlaneCommand runs the load balancers' data plane as a process
	// of its own that outlives the daemon: the madang binary and
	// "dataplane". Empty runs it inside the daemon.
	DataPlaneCommand []string
	// PrometheusListen, when set, serves /metrics (the Prometheus text
	// format) on this loopback host:port as well as on the API.
	PrometheusListen string
	// MetricsInterval is how often metrics are collected (0: every
	// second; negative: never, for measuring the collector's cost).
	MetricsInterval time.Duration
	// AWSListen is the AWS-compatible endpoint's host:port
	// ([DefaultAWSListen] for madang server and madang up); "" or "off"
	// disables it.
	AWSListen string
	// AWSAuth is [AWSAuthRequired] ("" too) or [AWSAuthOff], which
	// AWSListen must be a loopback address for.
	AWSAuth string
	// AWSAccount (12 digits) and AWSRegion, when set, become the
	// account's settings in the state store; when empty the stored ones
	// stay (000000000000 and local on the first start).
	AWSAccount, AWSRegion string
	// AWSResetEndpoint serves POST /moto-api/reset and POST
	// /madang-api/reset on the AWS endpoint, to loopback clients only:
	// a clean slate for test suites written against Moto's server mode.
	// Off by default: like Moto's, the reset is unauthenticated.
	AWSResetEndpoint bool
	// ConsoleListen is the web console's loopback host:port
	// ([DefaultConsoleListen] for madang server and madang up); "" or
	// "off" disables it.
	ConsoleListen string
	// Ready, if set, is called once the API is serving.
	Ready func(socket string)
}

// Daemon is a running madang daemon.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	kinds   *kind.Registry
	store   state.Store
	events  *event.Log
	compute *compute.Service
	// shimHost starts instances' shims in the process host (nil with
	// Config.ProcessShims).
	shimHost *shim.HostClient
	elb      *elbctl.Controller
	cw       *cloudwatch.Service
	// apiLogs holds the log streams written through the AWS endpoint.
	apiLogs *logstore.Store
	asg     *autoscaling.Service
	keys    *iam.Keys
	aws     AWSSettings
	console consoleState
	applyMu sync.Mutex
	// failAt makes the named component fail to start (tests).
	failAt string
}

// SocketPath returns the API socket of a data directory.
func SocketPath(home string) string { return filepath.Join(home, "madang.sock") }

// env is what building resource records may use.
func (d *Daemon) env() kind.Env {
	env := kind.Env{Home: d.cfg.Home, Now: time.Now, Events: d.events, Logger: d.log}
	if d.keys != nil {
		a := d.keys.Account()
		env.Region, env.AccountID = a.Region, a.ID
	}
	return env
}

// Run starts the daemon and serves until ctx ends. Its components start
// in order (state store, compute, load balancers, API) and stop in
// reverse; if one fails to start, the ones before it stop and Run returns
// the error with nothing left running.
func Run(ctx context.Context, cfg Config) error {
	return newDaemon(cfg).run(ctx)
}

func newDaemon(cfg Config) *Daemon {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Daemon{cfg: cfg, log: log, kinds: kinds.Registry(), events: event.New(2048, nil)}
}

func (d *Daemon) run(ctx context.Context) error {
	aws, err := awsSettings(d.cfg)
	if err != nil {
		return err
	}
	d.aws = aws
	g := &group{failAt: d.failAt}
	if err := g.start(ctx, d.components()); err != nil {
		return err
	}
	d.events.Info("daemon", fmt.Sprint(os.Getpid()), "ready; API on %s", SocketPath(d.cfg.Home))
	if d.cfg.Ready != nil {
		d.cfg.Ready(SocketPath(d.cfg.Home))
	}
	<-ctx.Done()
	d.events.Info("daemon", fmt.Sprint(os.Getpid()), "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return g.stop(sctx)
}

// components lists the daemon's parts in start order.
func (d *Daemon) components() []component {
	cfg := d.cfg
	var mode compute.AddressMode
	var cg *cgroup.Hierarchy
	// The compute service calls the load balancer controller, which is
	// built after it (it needs compute's instances).
	var elbc atomic.Pointer[elbctl.Controller]
	var asgc atomic.Pointer[autoscaling.Service]
	var api1 *api.Server
	return []component{
		{name: "state store", start: func(context.Context) error {
			if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
				return fmt.Errorf("create data directory: %w", err)
			}
			st, err := state.OpenBolt(filepath.Join(cfg.Home, "state.db"), d.log)
			if err != nil {
				return err
			}
			d.store = st
			d.events.Info("daemon", fmt.Sprint(os.Getpid()), "madang %s starting in %s", Version, cfg.Home)
			return nil
		}, stop: func(context.Context) error { return d.store.Close() }},
		d.accessKeysComponent(),
		{name: "compute", start: func(ctx context.Context) error {
			var err error
			mode, err = compute.DetectAddressMode()
			if err != nil {
				d.events.Warn("daemon", "-", "%v", err)
			}
			cg = cgroup.Detect("/sys/fs/cgroup", d.log)
			shimCommand := []string{cfg.Executable, "shim"}
			var host supervisor.Host
			if !cfg.ProcessShims {
				hc, err := shim.NewHostClient(shimCommand, filepath.Join(cfg.Home, "shimhost.sock"), filepath.Join(cfg.Home, "shimhost.log"))
				if err != nil {
					return err
				}
				// Started now rather than by the first launch, which
				// would wait for it.
				if err := hc.Warm(); err != nil {
					d.events.Warn("daemon", "-", "shim host: %v; instances' shims start it when they need it", err)
				}
				d.shimHost, host = hc, hc
			}
			d.compute, err = compute.New(ctx, compute.Options{
				Home: cfg.Home, Store: d.store, Logger: d.log, Events: d.events,
				ShimCommand: shimCommand, ShimHost: host,
				Cgroups: cg, AddressMode: mode,
				OnInstanceChange: func(in compute.Instance) {
					if c := elbc.Load(); c != nil {
						c.OnInstanceChange(in)
					}
					if a := asgc.Load(); a != nil {
						a.Kick()
					}
				},
				BeforeStop: func(ctx context.Context, id string) {
					if c := elbc.Load(); c != nil {
						c.BeforeStop(ctx, id)
					}
				},
			})
			return err
		}, stop: func(ctx context.Context) error {
			// Instances stop (madang up) or are left running.
			if d.shimHost != nil {
				// After the instances: the host goes on running theirs.
				defer d.shimHost.Close()
			}
			if cfg.StopInstancesOnExit {
				return d.compute.Shutdown(ctx)
			}
			return d.compute.Close()
		}},
		{name: "load balancers", start: func(ctx context.Context) error {
			eopts := elbctl.Options{Home: cfg.Home, Store: d.store, Logger: d.log, Events: d.events, Instances: d.compute, Zones: autoscaling.Zones(),
				StopDataPlane: cfg.StopInstancesOnExit}
			if len(cfg.DataPlaneCommand) > 0 {
				eopts.DataPlane = elbctl.DataPlaneProcess(dataplane.LaunchOptions{
					Home: cfg.Home, Command: cfg.DataPlaneCommand, Version: Version, Logger: d.log}, d.events)
			}
			ctrl, err := elbctl.New(ctx, eopts)
			if err != nil {
				return err
			}
			d.elb = ctrl
			elbc.Store(ctrl)
			return nil
		}, stop: func(ctx context.Context) error {
			// The load balancer stops before the instances, so no request
			// reaches a stopping instance.
			elbc.Store(nil)
			return d.elb.Close(ctx)
		}},
		{name: "cloudwatch", start: func(ctx context.Context) error {
			apiLogs, err := logstore.Open(logstore.Options{Dir: filepath.Join(cfg.Home, "logs", "api")})
			if err != nil {
				return err
			}
			d.apiLogs = apiLogs
			cw, err := cloudwatch.New(ctx, cloudwatch.Options{
				Home: cfg.Home, Store: d.store, Instances: d.compute, LoadBalancers: d.elb, EC2: d.compute,
				Logs: logSource{d}, Events: d.events, Logger: d.log, Interval: cfg.MetricsInterval,
			})
			if err != nil {
				return err
			}
			d.cw = cw
			cw.Start()
			return nil
		}, stop: func(context.Context) error { return d.cw.Close() }},
		{name: "auto scaling", start: func(ctx context.Context) error {
			a, err := autoscaling.New(ctx, autoscaling.Options{
				Store: d.store, Compute: d.compute, LoadBalancing: d.elb, Metrics: d.cw.Metrics(), Alarms: d.cw,
				Events: d.events, Logger: d.log, Installer: d.compute,
			})
			if err != nil {
				return err
			}
			d.asg = a
			asgc.Store(a)
			a.Start()
			return nil
		}, stop: func(context.Context) error {
			asgc.Store(nil)
			return d.asg.Close()
		}},
		d.prometheusComponent(),
		d.awsEndpointComponent(),
		d.apiComponent("API", SocketPath(cfg.Home), "", func() *api.Server {
			api1 = &api.Server{
				Info: api.Info{Version: Version, PID: os.Getpid(), Home: cfg.Home, Socket: SocketPath(cfg.Home),
					AddressMode: mode.String(), Cgroups: cg.Version().String(), PrometheusListen: cfg.PrometheusListen},
				Compute: d.compute, ELB: d.elb, Events: d.events, Stacks: stacks{d}, Resources: resources{d}, Logger: d.log,
				CloudWatch: d.cw, AutoScaling: d.asg, Logs: logSource{d}, LogRetention: d.cw.LogGroupRetention,
				DataPlanePID: d.elb.DataPlanePID, IAM: d.keys, AWS: d.awsEndpoint(), Reset: d, Console: d,
			}
			return api1
		}),
		d.apiComponent("TCP API", "", cfg.Listen, func() *api.Server { return api1 }),
		d.consoleComponent(),
	}
}

// apiComponent serves the API on a unix socket (socket) or, when addr is
// set, on TCP with a token. A TCP component with no address does nothing.
func (d *Daemon) apiComponent(name, socket, addr string, server func() *api.Server) component {
	var hs *http.Server
	done := make(chan struct{})
	return component{name: name, start: func(context.Context) error {
		if socket == "" && addr == "" {
			close(done)
			return nil
		}
		srv := *server()
		var ln net.Listener
		var err error
		if socket != "" {
			ln, err = listenUnix(socket)
		} else {
			token := d.cfg.Token
			if token == "" {
				token, err = loadOrCreateToken(filepath.Join(d.cfg.Home, "token"))
				if err != nil {
					return err
				}
			}
			srv.Token = token
			ln, err = net.Listen("tcp", addr)
			if err != nil {
				err = fmt.Errorf("listen on %s: %w", addr, err)
			}
		}
		if err != nil {
			return err
		}
		if socket == "" {
			d.events.Info("daemon", "-", "API also on http://%s (token in %s)", ln.Addr(), filepath.Join(d.cfg.Home, "token"))
		}
		hs = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			defer close(done)
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("api", "listener", name, "err", err)
			}
		}()
		return nil
	}, stop: func(ctx context.Context) error {
		if hs == nil {
			return nil
		}
		err := hs.Shutdown(ctx)
		<-done
		if socket != "" {
			_ = os.Remove(socket)
		}
		return err
	}}
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
