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
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/shim"
)

// Exit codes.
const (
	// ExitFailure is the exit code of a command that failed.
	ExitFailure = 1
	// ExitUsage is the exit code of a command line that is wrong: an
	// unknown command or flag, missing or extra arguments, a bad value.
	ExitUsage = 2
)

// ExitError carries a process exit code.
type ExitError struct {
	// Code is the exit code: [ExitUsage] for usage errors, or the code a
	// shim exited with.
	Code int
	// Err is what went wrong.
	Err error
}

// Error implements error.
func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ExitError) Unwrap() error { return e.Err }

// usageErr returns a usage error (exit code 2) whose hint points at cmd's
// help.
func usageErr(cmd *cobra.Command, format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fault.Invalidf("", "", format, args...).WithHint(helpHint(cmd))}
}

func helpHint(cmd *cobra.Command) string {
	return fmt.Sprintf("run '%s --help' for usage", cmd.CommandPath())
}

// env holds what every command needs.
type env struct {
	stdout, stderr io.Writer
	// stdin answers confirmations; nil is os.Stdin. Confirmations are
	// asked only when it is a terminal; terminal, when set, says whether
	// it is one (tests), instead of asking the operating system.
	stdin       io.Reader
	terminal    func(io.Reader) bool
	home        string
	output      string // "" (table) or json
	addr, token string // TCP daemon, optional
	// dial, when set, returns the API client instead of the socket's or
	// --addr's (tests pass an in-process server's).
	dial func() *api.Client
}

func (e *env) client() *api.Client {
	switch {
	case e.dial != nil:
		return e.dial()
	case e.addr != "":
		return api.NewTCPClient(e.addr, e.token)
	}
	return api.NewUnixClient(daemon.SocketPath(e.home))
}

func (e *env) json() bool { return e.output == "json" }

// printJSON prints v as one indented JSON document.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONLine prints v as one line of JSON Lines (streams: events,
// logs).
func (e *env) printJSONLine(v any) error {
	return json.NewEncoder(e.stdout).Encode(v)
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

// Main runs the command line args (without the program name), prints an
// error to stderr as "madang: MESSAGE" (and "hint: HINT" when it has
// one), and returns the process exit code: 0, [ExitFailure] or
// [ExitUsage].
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return report(stderr, Run(ctx, args, stdout, stderr))
}

// report prints err and returns its exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	code := ExitFailure
	if ee, ok := errors.AsType[*ExitError](err); ok {
		code = ee.Code
	}
	if code == 0 || err.Error() == "" {
		return code
	}
	hint := fault.HintOf(err)
	msg := err.Error()
	if hint != "" {
		msg = strings.TrimSuffix(msg, "; "+hint)
	}
	// The daemon's own failures say so: they are not the command's fault.
	if ae, ok := errors.AsType[*api.Error](err); ok && fault.CodeOf(ae) == fault.Internal {
		msg = "the daemon failed: " + msg
		if hint == "" {
			hint = "its log (HOME/daemon.log under `madang up`, stderr under `madang server`) has the details"
		}
	}
	fmt.Fprintln(stderr, "madang:", msg)
	if hint != "" {
		fmt.Fprintln(stderr, "hint:", hint)
	}
	return code
}

// Run executes the command line args (without the program name). Usage
// errors are *[ExitError]s with code [ExitUsage].
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// The shim is re-executed by the daemon for every instance; it is not
	// a user command and bypasses cobra entirely.
	if len(args) > 0 && args[0] == "shim" {
		if code := shim.Main(args[1:]); code != 0 {
			return &ExitError{Code: code, Err: fmt.Errorf("shim exited with code %d", code)}
		}
		return nil
	}
	return run(ctx, args, &env{stdout: stdout, stderr: stderr})
}

func run(ctx context.Context, args []string, e *env) error {
	root := &cobra.Command{
		Use:   "madang",
		Short: "The AWS web tier, for real, on your own machine",
		Long: "madang runs EC2-style instances under a supervisor (pm2 parity), Application Load Balancers\n" +
			"with target groups and health checks, and more — from one binary and one stack file.\n\n" +
			"Start here:  madang up -f madang.yaml",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetArgs(args)
	pf := root.PersistentFlags()
	pf.StringVar(&e.home, "home", defaultHome(), "data directory ($MADANG_HOME)")
	pf.StringVarP(&e.output, "output", "o", "", "output format: table (default) or json")
	pf.StringVar(&e.addr, "addr", os.Getenv("MADANG_ADDR"), "talk to a daemon on TCP host:port instead of the unix socket ($MADANG_ADDR)")
	pf.StringVar(&e.token, "token", os.Getenv("MADANG_TOKEN"), "token for a TCP daemon ($MADANG_TOKEN)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if e.output != "" && e.output != "json" && e.output != "table" {
			return usageErr(cmd, "--output %q is not a format; use table or json", e.output)
		}
		if e.output == "table" {
			e.output = ""
		}
		abs, err := filepath.Abs(e.home)
		if err != nil {
			return fmt.Errorf("data directory %s: %w", e.home, err)
		}
		e.home = abs
		return nil
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: fault.Wrap(fault.Invalid, "", "", err).WithHint(helpHint(cmd))}
	})
	root.AddCommand(
		serverCmd(e), upCmd(e), startupCmd(e),
		applyCmd(e), diffCmd(e), destroyCmd(e),
		psCmd(e), describeCmd(e), runCmd(e),
		actionCmd(e, "start", "Start stopped instances (re-reads env and the launch template; runs the image's latest built version)"),
		actionCmd(e, "stop", "Stop instances gracefully (stop signal, then SIGKILL after the kill timeout)"),
		actionCmd(e, "reboot", "Restart instances' processes (env and launch template re-read; code only from a built image version)"),
		actionCmd(e, "restart", "Alias of reboot (pm2 restart; code only from a built image version)"),
		actionCmd(e, "terminate", "Terminate instances for good"),
		tagCmd(e), logsCmd(e), eventsCmd(e),
		imagesCmd(e), templatesCmd(e),
		tgCmd(e), lbCmd(e), metricsCmd(e), alarmsCmd(e), asgCmd(e), refreshCmd(e), deployCmd(e), deploymentsCmd(e), topCmd(e),
		lsCmd(e), getCmd(e),
		iamCmd(e), awsEnvCmd(e), awsConfigCmd(e), consoleCmd(e), resetCmd(e),
		versionCmd(e), dataplaneCmd(e),
	)
	groups(root)
	usageArgs(root)
	return root.ExecuteContext(ctx)
}

// groups makes every command of the tree that only holds sub-commands
// a group (see asGroup).
func groups(cmd *cobra.Command) {
	if cmd.HasSubCommands() && cmd.RunE == nil && cmd.Run == nil {
		asGroup(cmd)
	}
	for _, c := range cmd.Commands() {
		groups(c)
	}
}

// asGroup makes a command that only holds sub-commands print its help
// when run alone, and refuse an unknown sub-command by name with
// suggestions (cobra would print the help and succeed).
func asGroup(cmd *cobra.Command) {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if cmd.SuggestionsMinimumDistance <= 0 {
			cmd.SuggestionsMinimumDistance = 2
		}
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		}
		return usageErr(cmd, "%s", msg)
	}
}

// usageArgs makes the argument checks of cmd and its sub-commands return
// usage errors (exit code 2).
func usageArgs(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		usageArgs(c)
	}
	check := cmd.Args
	if check == nil {
		return
	}
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			if _, ok := errors.AsType[*ExitError](err); ok {
				return err
			}
			return &ExitError{Code: ExitUsage, Err: fault.Wrap(fault.Invalid, "", "", err).WithHint(helpHint(cmd))}
		}
		return nil
	}
}

// versionOutput is `madang version -o json`.
type versionOutput struct {
	Version string `json:"version"`
	// Daemon is the running daemon's version, if one answers.
	Daemon *daemonVersion `json:"daemon,omitempty"`
}

type daemonVersion struct {
	Version string `json:"version"`
	PID     int    `json:"pid"`
	Home    string `json:"home"`
}

func versionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print madang's version (and the daemon's, if one is running)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := versionOutput{Version: daemon.Version}
			if info, err := e.client().Info(cmd.Context()); err == nil {
				out.Daemon = &daemonVersion{Version: info.Version, PID: info.PID, Home: info.Home}
			} else if !errors.Is(err, api.ErrNoDaemon) {
				return err
			}
			if e.json() {
				return e.printJSON(out)
			}
			fmt.Fprintf(e.stdout, "madang %s\n", out.Version)
			if d := out.Daemon; d != nil {
				fmt.Fprintf(e.stdout, "daemon %s (pid %d, home %s)\n", d.Version, d.PID, d.Home)
			}
			return nil
		},
	}
}
