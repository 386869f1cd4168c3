package cli

import (
	"cmp"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/daemon"
)

// consoleFlags are the web console's flags of madang server and madang up.
type consoleFlags struct {
	listen string
}

func (f *consoleFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "console-listen", cmp.Or(os.Getenv("MADANG_CONSOLE_LISTEN"), daemon.DefaultConsoleListen),
		"serve the web console on this loopback host:port ($MADANG_CONSOLE_LISTEN; port 0 picks a free one); off disables it")
}

func (f *consoleFlags) apply(cfg *daemon.Config) { cfg.ConsoleListen = f.listen }

func consoleCmd(e *env) *cobra.Command {
	var user string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "console [--ttl 15m]",
		Short: "Print the web console's address and a one-time sign-in link",
		Long: "The daemon serves a web console (instances, load balancers and target health, Auto Scaling,\n" +
			"CloudWatch) on --console-listen, 127.0.0.1:4567 by default. console prints its address and a\n" +
			"one-time link that signs you in as the console's user (admin): open it in a browser on this\n" +
			"machine. A link works once, until --ttl passes. Set a password and assign an MFA device on the\n" +
			"console's Security credentials page; with MFA assigned, the link asks for a code too.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := e.client()
			l, err := c.ConsoleSignInLink(cmd.Context(), v1.ConsoleLinkRequest{User: user, TTLSeconds: int(ttl.Round(time.Second) / time.Second)})
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(l)
			}
			s, _ := c.ConsoleSettings(cmd.Context())
			fmt.Fprintf(e.stdout, "Console:  %s\n", s.URL)
			fmt.Fprintf(e.stdout, "Sign in as %s with this one-time link (it works once, until %s):\n  %s\n",
				l.User, l.Expires.Local().Format("15:04:05"), l.URL)
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the console user to sign in as (default admin)")
	cmd.Flags().DurationVar(&ttl, "ttl", 15*time.Minute, "how long the link works (1s to 24h)")
	return cmd
}
