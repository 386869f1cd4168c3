// Package cli is madang's command line: every command but `server`, `up`
// and the hidden `shim` is a thin client of the daemon's API.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/daemon"
	"github.com/madang-dev/madang/internal/shim"
)

// ExitError carries a process exit code.
type ExitError struct {
	Code int
	Err  error
}

// Error implements error.
func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ExitError) Unwrap() error { return e.Err }

// env holds what every command needs.
type env struct {
	stdout, stderr io.Writer
	home           string
	output         string // "" (table) or json
	addr, token    string // TCP daemon, optional
}

func (e *env) client() *api.Client {
	if e.addr != "" {
		return api.NewTCPClient(e.addr, e.token)
	}
	return api.NewUnixClient(daemon.SocketPath(e.home))
}

func (e *env) json() bool { return e.output == "json" }

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (e *env) table() *tabwriter.Writer {
	return tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
}

// defaultHome is $MADANG_HOME, or ~/.madang.
func defaultHome() string {
	if h := os.Getenv("MADANG_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".madang")
	}
	return ".madang"
}

// Run executes the command line args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// The shim is re-executed by the daemon for every instance; it is not
	// a user command and bypasses cobra entirely.
	if len(args) > 0 && args[0] == "shim" {
		if code := shim.Main(args[1:]); code != 0 {
			return &ExitError{Code: code, Err: fmt.Errorf("shim exited with code %d", code)}
		}
		return nil
	}
	e := &env{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "madang",
		Short: "The AWS web tier, for real, on your own machine",
		Long: "madang runs EC2-style instances under a supervisor (pm2 parity), Application Load Balancers\n" +
			"with target groups and health checks, and more — from one binary and one stack file.\n\n" +
			"Start here:  madang up -f madang.yaml",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	pf := root.PersistentFlags()
	pf.StringVar(&e.home, "home", defaultHome(), "data directory ($MADANG_HOME)")
	pf.StringVarP(&e.output, "output", "o", "", "output format: table (default) or json")
	pf.StringVar(&e.addr, "addr", os.Getenv("MADANG_ADDR"), "talk to a daemon on TCP host:port instead of the unix socket ($MADANG_ADDR)")
	pf.StringVar(&e.token, "token", os.Getenv("MADANG_TOKEN"), "token for a TCP daemon ($MADANG_TOKEN)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if e.output != "" && e.output != "json" && e.output != "table" {
			return fmt.Errorf("--output %q is not a format; use table or json", e.output)
		}
		if e.output == "table" {
			e.output = ""
		}
		abs, err := filepath.Abs(e.home)
		if err != nil {
			return err
		}
		e.home = abs
		return nil
	}
	root.AddCommand(
		serverCmd(e), upCmd(e), startupCmd(e),
		applyCmd(e), diffCmd(e), destroyCmd(e),
		psCmd(e), describeCmd(e), runCmd(e),
		actionCmd(e, "start", "Start stopped instances (picks up launch template and image changes)"),
		actionCmd(e, "stop", "Stop instances gracefully (stop signal, then SIGKILL after the kill timeout)"),
		actionCmd(e, "reboot", "Restart instances' processes, picking up env and code changes"),
		actionCmd(e, "restart", "Alias of reboot (pm2 restart)"),
		actionCmd(e, "terminate", "Terminate instances for good"),
		tagCmd(e), logsCmd(e), eventsCmd(e),
		imagesCmd(e), templatesCmd(e),
		tgCmd(e), lbCmd(e), metricsCmd(e),
		versionCmd(e), dataplaneCmd(e),
	)
	err := root.ExecuteContext(ctx)
	if err != nil && isUsageErr(err) {
		return &ExitError{Code: 2, Err: fmt.Errorf("%w\nRun 'madang --help' for usage.", err)}
	}
	return err
}

func isUsageErr(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.HasPrefix(s, "unknown shorthand flag") || strings.Contains(s, "accepts ") ||
		strings.HasPrefix(s, "invalid argument") || strings.Contains(s, "flag needs an argument") ||
		strings.HasPrefix(s, "requires at least")
}

func versionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print madang's version (and the daemon's, if one is running)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(e.stdout, "madang %s\n", daemon.Version)
			if info, err := e.client().Info(cmd.Context()); err == nil {
				fmt.Fprintf(e.stdout, "daemon %s (pid %d, home %s)\n", info.Version, info.PID, info.Home)
			} else if !errors.Is(err, api.ErrNoDaemon) {
				return err
			}
			return nil
		},
	}
}
