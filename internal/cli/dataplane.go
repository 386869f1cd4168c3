package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/daemon"
	"github.com/madang-dev/madang/internal/dataplane"
	"github.com/madang-dev/madang/internal/logfile"
)

// dataplaneCmd is the load balancers' data-plane process, started by the
// daemon in its own session; it is not a user command.
func dataplaneCmd(e *env) *cobra.Command {
	var takeover, debug bool
	var readyFD int
	cmd := &cobra.Command{
		Use:    "dataplane",
		Short:  "Run the load balancers' data plane (started by the daemon)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// The daemon may go away at any time; writing to a closed
			// terminal or pipe must not end the data plane.
			signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			// Its own log, rotated; standard error keeps what the
			// runtime prints on a crash.
			lf, err := logfile.OpenRaw(filepath.Join(e.home, dataplane.LogFile), logfile.Options{})
			if err != nil {
				return fmt.Errorf("open data plane log: %w", err)
			}
			defer lf.Close()
			log := slog.New(slog.NewTextHandler(lf, &slog.HandlerOptions{Level: level}))
			opts := dataplane.RunOptions{Home: e.home, Version: daemon.Version, Binary: exe, Logger: log, Takeover: takeover}
			if readyFD > 0 {
				f := os.NewFile(uintptr(readyFD), "ready")
				opts.Ready = func() { dataplane.SignalReady(f) }
			}
			return dataplane.Run(ctx, opts)
		},
	}
	cmd.Flags().BoolVar(&takeover, "takeover", false, "take the listening sockets over from the data plane running in the home")
	cmd.Flags().IntVar(&readyFD, "ready-fd", 0, "descriptor to write \"ready\" on once serving")
	cmd.Flags().BoolVar(&debug, "debug", false, "debug logging")
	return cmd
}
