package cli

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/fault"
)

func resetCmd(e *env) *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "reset [--yes]",
		Short: "Remove every resource, instance, metric and log: a clean slate (keeps access keys)",
		Long: "reset removes everything the daemon holds — the resources of every stack and those made\n" +
			"through the API, every instance (terminated, its directory and logs gone), the load\n" +
			"balancers' listeners and registrations, the Auto Scaling groups' activities, the alarms'\n" +
			"states and history, every metric series and the log streams written through the API —\n" +
			"and keeps the access keys, the account settings and the event log, so clients keep\n" +
			"working. Test suites run it between tests; it takes about a second plus the time the\n" +
			"instances take to stop.\n\n" +
			"On a terminal it shows what will go and asks first; elsewhere it needs --yes.",
		Example: "  madang reset\n  madang reset --yes -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl := e.client()
			if !yes {
				in, tty := e.terminalInput()
				if !tty {
					return &ExitError{Code: ExitUsage, Err: fault.Invalidf("", "", "madang reset removes every resource, instance, metric and log, and stdin is not a terminal to confirm it").
						WithHint("pass --yes to reset without asking")}
				}
				plan, err := cl.ResetPlan(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "This removes %s.\nAccess keys and the account are kept. Reset? [y/N] ", resetSummary(plan))
				line, _ := bufio.NewReader(in).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					fmt.Fprintln(e.stderr, "nothing was removed")
					return nil
				}
			}
			start := time.Now()
			res, err := cl.Reset(cmd.Context())
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(res)
			}
			took := time.Duration(res.DurationSeconds * float64(time.Second))
			if took == 0 {
				took = time.Since(start)
			}
			fmt.Fprintf(e.stdout, "removed %s in %s\n", resetSummary(res), took.Round(time.Millisecond))
			return nil
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "reset without asking")
	return c
}

// terminalInput returns the input confirmations are read from and
// whether it is a terminal.
func (e *env) terminalInput() (io.Reader, bool) {
	in := e.stdin
	if in == nil {
		in = os.Stdin
	}
	if e.terminal != nil {
		return in, e.terminal(in)
	}
	f, ok := in.(*os.File)
	return in, ok && isTerminal(f.Fd())
}

// resetSummary says what a reset removes: "7 resources (2 image, 1
// load-balancer, …; stacks web), 4 instances, 30 metric series, 1 log
// stream".
func resetSummary(r v1.Reset) string {
	res := count(r.Resources, "resource", "resources")
	var detail []string
	for _, k := range slices.Sorted(maps.Keys(r.ByKind)) {
		detail = append(detail, fmt.Sprintf("%d %s", r.ByKind[k], k))
	}
	if len(r.Stacks) > 0 {
		detail = append(detail, "stacks "+strings.Join(r.Stacks, ", "))
	}
	if len(detail) > 0 {
		res += " (" + strings.Join(detail, "; ") + ")"
	}
	return strings.Join([]string{res, count(r.Instances, "instance", "instances"),
		count(r.MetricSeries, "metric series", "metric series"), count(r.LogStreams, "log stream", "log streams")}, ", ")
}

// count is "1 instance" or "3 instances".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
