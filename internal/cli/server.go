package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/daemon"
)

func serverCmd(e *env) *cobra.Command {
	var listen, token string
	var debug, processShims bool
	var promListen, cpuProfile string
	var metricsInterval time.Duration
	var aws awsFlags
	var console consoleFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the madang daemon in the foreground",
		Long: "Run the daemon. It serves the API on a unix socket in the data directory (mode 0600);\n" +
			"--listen adds TCP, which requires a token (generated into HOME/token unless --token is given).\n" +
			"On SIGINT/SIGTERM the daemon exits and leaves instances running; the next daemon re-adopts\n" +
			"them. After a machine reboot it starts again what was running.\n\n" +
			"AWS clients reach madang on --aws-listen (127.0.0.1:4566) with requests signed by\n" +
			"madang's access keys; `madang aws-env` prints the settings. --aws-account and\n" +
			"--aws-region are stored on the first start and kept until given again.\n\n" +
			"The web console is served on --console-listen (127.0.0.1:4567); `madang console` prints\n" +
			"a one-time sign-in link.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if cpuProfile != "" {
				done, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer done()
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
			cfg := daemon.Config{
				Home: e.home, Listen: listen, Token: token, Executable: exe, Logger: log,
				DataPlaneCommand: []string{exe, "dataplane"}, PrometheusListen: promListen,
				MetricsInterval: metricsInterval, ProcessShims: processShims,
				Ready: func(socket string) { log.Info("madang daemon ready", "socket", socket, "home", e.home) },
			}
			aws.apply(&cfg)
			console.apply(&cfg)
			defer daemon.TuneGC()()
			return daemon.Run(ctx, cfg)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "also serve the API on TCP host:port (requires a token)")
	cmd.Flags().StringVar(&token, "token", "", "token for TCP clients (default: generated into HOME/token)")
	cmd.Flags().BoolVar(&debug, "debug", false, "debug logging")
	cmd.Flags().StringVar(&cpuProfile, "cpu-profile", "", "write a CPU profile of the daemon to this file until it exits (go tool pprof reads it)")
	_ = cmd.Flags().MarkHidden("cpu-profile")
	cmd.Flags().StringVar(&promListen, "prometheus-listen", "", "also serve /metrics (Prometheus text format) on this loopback host:port, e.g. 127.0.0.1:9464")
	cmd.Flags().DurationVar(&metricsInterval, "metrics-interval", time.Second, "how often CloudWatch metrics are collected (negative: never)")
	cmd.Flags().BoolVar(&processShims, "process-shims", false, "run each instance's shim as a process of its own instead of in the shared shim host (HOME/shimhost.sock)")
	aws.add(cmd.Flags())
	console.add(cmd.Flags())
	return cmd
}

// startCPUProfile profiles the process's CPU use into path; done stops
// the profile and closes the file.
func startCPUProfile(path string) (done func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

func upCmd(e *env) *cobra.Command {
	var file, promListen string
	var timeout time.Duration
	var aws awsFlags
	var console consoleFlags
	cmd := &cobra.Command{
		Use:   "up [-f madang.yaml]",
		Short: "Start everything in a stack file and watch it (the main command)",
		Long: "up starts a daemon in the foreground if none is running, applies the stack file, shows\n" +
			"progress until every instance is running and every target healthy (with the reason of each\n" +
			"crash and unhealthy target), prints where to reach it, then streams events. If the stack\n" +
			"cannot come up (an instance errored or still crashes when --wait ends, a listener port is\n" +
			"taken), up says why and exits 1. Ctrl-C (or SIGTERM, SIGHUP) stops the load balancers, then\n" +
			"the instances (when up started the daemon), and keeps the state for the next up.\n\n" +
			"When up starts the daemon, --aws-listen, --aws-auth, --aws-account and --aws-region\n" +
			"configure its AWS endpoint and --console-listen its web console, as for `madang server`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUp(cmd.Context(), e, file, timeout, promListen, aws, console)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "madang.yaml", "stack file")
	cmd.Flags().StringVar(&promListen, "prometheus-listen", "", "when up starts the daemon: also serve /metrics (Prometheus text format) on this loopback host:port")
	cmd.Flags().DurationVar(&timeout, "wait", 2*time.Minute, "how long to wait for instances and targets; then instances that still crash fail up, anything else still coming up is left to the event stream")
	aws.add(cmd.Flags())
	console.add(cmd.Flags())
	return cmd
}

// runUp runs madang up; promListen, aws and console configure the daemon
// when up starts one.
func runUp(parent context.Context, e *env, file string, wait time.Duration, promListen string, aws awsFlags, console consoleFlags) error {
	req, err := readStack(file, false)
	if err != nil {
		return err
	}
	// SIGHUP too: a closed terminal stops the stack in order rather
	// than killing up and leaving the apps without their load balancer.
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ignoreBrokenPipes()
	c := e.client()
	var daemonDone chan error
	var cancelDaemon context.CancelFunc
	info, err := c.Info(ctx)
	if err != nil {
		if !errors.Is(err, api.ErrNoDaemon) {
			return err
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(e.home, 0o700); err != nil {
			return err
		}
		logf, err := os.OpenFile(filepath.Join(e.home, "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer logf.Close()
		var dctx context.Context
		dctx, cancelDaemon = context.WithCancel(context.Background())
		defer cancelDaemon()
		ready := make(chan struct{})
		daemonDone = make(chan error, 1)
		cfg := daemon.Config{
			Home: e.home, Executable: exe, StopInstancesOnExit: true,
			DataPlaneCommand: []string{exe, "dataplane"}, PrometheusListen: promListen,
			Logger: slog.New(slog.NewTextHandler(logf, nil)),
			Ready:  func(string) { close(ready) },
		}
		aws.apply(&cfg)
		console.apply(&cfg)
		defer daemon.TuneGC()()
		go func() { daemonDone <- daemon.Run(dctx, cfg) }()
		select {
		case <-ready:
			fmt.Fprintf(e.stdout, "● started madang daemon (data in %s, log in %s)\n", e.home, logf.Name())
		case err := <-daemonDone:
			return fmt.Errorf("start daemon: %w", err)
		}
		info.PID = os.Getpid()
	} else {
		fmt.Fprintf(e.stdout, "● using the running madang daemon (%s)\n", e.home)
	}
	// stopDaemon stops the daemon up started, if it did: load balancers
	// first, then instances.
	stopDaemon := func() error {
		if daemonDone == nil {
			return nil
		}
		fmt.Fprintf(e.stdout, "\n● stopping: load balancers, then instances (state kept in %s; `madang up` resumes)\n", e.home)
		cancelDaemon()
		if err := <-daemonDone; err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "● stopped\n")
		return nil
	}

	evs, _ := eventsSince(ctx, c, 0)
	after := lastSeq(evs)
	fmt.Fprintf(e.stdout, "● applying %s\n", file)
	res, err := c.Apply(ctx, req)
	if err != nil {
		return errors.Join(err, stopDaemon())
	}
	printChanges(e, res)
	failed := checkListeners(ctx, e, c, res.Stack, file, info.PID, dataPlanePID(ctx, c))
	if failed == nil {
		if err := waitStack(ctx, e, c, res.Stack, wait); err != nil && ctx.Err() == nil {
			if errors.Is(err, errCannotComeUp) {
				failed = err
			} else {
				fmt.Fprintf(e.stdout, "! %v\n", err)
			}
		}
	}
	if failed == nil && ctx.Err() == nil {
		printEndpoints(ctx, e, c, res.Stack)
		fmt.Fprintf(e.stdout, "● streaming events (Ctrl-C to stop)\n")
		_ = c.Events(ctx, after, true, func(ev v1.Event) { fmt.Fprintln(e.stdout, "  "+ev.String()) })
	}
	return errors.Join(failed, stopDaemon())
}

// ignoreBrokenPipes keeps a closed stdout or stderr (`madang up | tee
// up.log`, where Ctrl-C ends tee too) from killing the process with
// SIGPIPE before it stops what it started: writes fail with EPIPE instead,
// and up goes on shutting down. A handler rather than SIG_IGN, so the
// processes the daemon starts do not inherit an ignored SIGPIPE. It stays
// installed until the process exits, so the last error message cannot
// kill it either.
func ignoreBrokenPipes() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}

func eventsSince(ctx context.Context, c *api.Client, after uint64) ([]v1.Event, error) {
	var out []v1.Event
	err := c.Events(ctx, after, false, func(ev v1.Event) { out = append(out, ev) })
	return out, err
}

func lastSeq(evs []v1.Event) uint64 {
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

func startupCmd(e *env) *cobra.Command {
	var install bool
	cmd := &cobra.Command{
		Use:   "startup",
		Short: "Print (or --install) a systemd unit that starts the daemon at boot (pm2 startup)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			exe, _ = filepath.EvalSymlinks(exe)
			unit := systemdUnit(exe, e.home)
			if !install {
				fmt.Fprint(e.stdout, unit)
				fmt.Fprintf(e.stderr, "\n# install with: madang startup --install   (writes /etc/systemd/system/madang.service)\n")
				return nil
			}
			path := "/etc/systemd/system/madang.service"
			if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
				return fmt.Errorf("write %s: %w (run as root)", path, err)
			}
			fmt.Fprintf(e.stdout, "wrote %s\n", path)
			if _, err := exec.LookPath("systemctl"); err != nil {
				fmt.Fprintf(e.stdout, "systemctl not found: enable the unit with your init system\n")
				return nil
			}
			for _, args := range [][]string{{"daemon-reload"}, {"enable", "--now", "madang.service"}} {
				out, err := exec.Command("systemctl", args...).CombinedOutput()
				if err != nil {
					return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, out)
				}
			}
			fmt.Fprintf(e.stdout, "enabled and started madang.service\n")
			return nil
		},
	}
	cmd.Flags().BoolVar(&install, "install", false, "write the unit to /etc/systemd/system and enable it")
	return cmd
}

// systemdUnit is the daemon's unit. KillMode=process: on stop or restart
// systemd signals only the daemon, so instances keep running and the next
// daemon re-adopts them (the shims are in their own sessions anyway).
func systemdUnit(exe, home string) string {
	return fmt.Sprintf(`[Unit]
Description=madang daemon (instances, load balancers)
After=network.target

[Service]
Type=simple
Environment=MADANG_HOME=%s
ExecStart=%s server
KillMode=process
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
`, home, exe)
}

// dataPlanePID asks the daemon which process serves its listeners (0 when
// it does not say).
func dataPlanePID(ctx context.Context, c *api.Client) int {
	info, err := c.Info(ctx)
	if err != nil {
		return 0
	}
	return info.DataPlanePID
}
