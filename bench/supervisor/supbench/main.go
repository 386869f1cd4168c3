// Command supbench is the measuring side of madang's supervisor benchmark
// (bench/supervisor/run.sh). It works on any supervisor, madang or pm2,
// from the outside: through the app's TCP address and /proc.
//
// Usage:
//
//	supbench restart -addr HOST:PORT [-n 30] [-gap 1500ms] [-timeout 30s] [-label NAME]
//	    SIGKILL the process listening on HOST:PORT, n times, and time how
//	    long its supervisor takes until the port accepts connections again
//	    and a new process answers HTTP GET / with 200. One line per kill,
//	    then a summary line (median, p90, max).
//	supbench waitup -addrs A,B,... [-since UNIXNANO] [-timeout 120s]
//	    Wait until every address answers GET / with 200; print the time
//	    since -since (default: now).
//	supbench addrs [-want N] < ps.json
//	    Print the privateIp:port of each instance in `madang ps -o json`
//	    output, comma-separated.
//	supbench mem -root PID
//	    Print the resident (RSS) and proportional (PSS) memory of the
//	    process tree under PID, one line per tree level.
//
// Every line it prints is a list of key=value fields, for the script.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "supbench:", err)
		os.Exit(1)
	}
}

// errUsage is returned for a bad command line.
var errUsage = errors.New("usage: supbench restart|waitup|addrs|mem [flags] (see the package doc)")

// run dispatches one subcommand.
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	fs := flag.NewFlagSet("supbench "+args[0], flag.ContinueOnError)
	switch args[0] {
	case "restart":
		var c restartConfig
		fs.StringVar(&c.Addr, "addr", "", "HOST:PORT the supervised app listens on")
		fs.IntVar(&c.N, "n", 30, "number of kills")
		fs.DurationVar(&c.Gap, "gap", defaultGap, "pause after the app serves again, before the next kill")
		fs.DurationVar(&c.Timeout, "timeout", defaultTimeout, "give up on one kill after this long")
		label := fs.String("label", "app", "name printed in the summary line")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := c.validate(); err != nil {
			return err
		}
		rs, err := measureRestarts(ctx, c, func(r restartResult) {
			fmt.Fprintln(stdout, r)
		})
		if len(rs) > 0 {
			ms := make([]float64, len(rs))
			for i, r := range rs {
				ms[i] = msOf(r.HTTP)
			}
			fmt.Fprintf(stdout, "summary label=%s %s\n", *label, summarize(ms))
		}
		return err
	case "waitup":
		var c waitConfig
		var addrs string
		var since int64
		var socket string
		fs.StringVar(&addrs, "addrs", "", "comma-separated HOST:PORT list")
		fs.StringVar(&socket, "madang-socket", "", "instead of -addrs: the API socket of a madang daemon whose instances to wait for (with -want)")
		fs.IntVar(&c.Want, "want", 0, "with -madang-socket: how many instances must serve")
		fs.Int64Var(&since, "since", 0, "start time in Unix nanoseconds (default: now)")
		fs.DurationVar(&c.Timeout, "timeout", defaultWaitTimeout, "give up after this long")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		var err error
		switch {
		case socket != "":
			if c.Want < 1 {
				return fmt.Errorf("waitup: -madang-socket needs -want N (N ≥ 1), the number of instances to wait for")
			}
			c.Discover = madangInstances(socket)
		default:
			if c.Addrs, err = splitAddrs(addrs); err != nil {
				return err
			}
		}
		if since > 0 {
			c.Since = unixNano(since)
		}
		d, err := waitUp(ctx, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "up n=%d ms=%.1f\n", max(len(c.Addrs), c.Want), msOf(d))
		return nil
	case "addrs":
		want := fs.Int("want", 0, "fail unless there are exactly this many instances (0: any)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		list, err := instanceAddrs(stdin, *want)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, list)
		return nil
	case "mem":
		root := fs.Int("root", 0, "pid of the supervisor daemon")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *root <= 0 {
			return fmt.Errorf("mem: -root is %d; pass the supervisor daemon's pid", *root)
		}
		levels, err := treeMemory("/proc", *root)
		if err != nil {
			return err
		}
		for _, l := range levels {
			fmt.Fprintln(stdout, l)
		}
		return nil
	default:
		return fmt.Errorf("unknown subcommand %q; %w", args[0], errUsage)
	}
}
