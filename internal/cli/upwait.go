package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/logfile"
)

// errCannotComeUp marks a stack that cannot come up as it is: an instance
// that errored or keeps crashing, a listener port that another program
// holds. up shows why and exits non-zero.
var errCannotComeUp = errors.New("cannot come up")

// upPollInterval is how often up looks at instances and targets while it
// waits.
const upPollInterval = 200 * time.Millisecond

// cannotComeUp returns an error wrapping errCannotComeUp that lists the
// problems, one per line.
func cannotComeUp(stackName string, problems []string, hint string) error {
	sort.Strings(problems)
	msg := fmt.Sprintf("stack %s %%w:\n    %s", stackName, strings.Join(problems, "\n    "))
	if hint != "" {
		msg += "\n  " + hint
	}
	return fmt.Errorf(msg, errCannotComeUp)
}

// listenAddr is the address a load balancer's listener binds.
func listenAddr(address string, port int) string {
	if address == "" {
		address = "127.0.0.1"
	}
	return net.JoinHostPort(address, strconv.Itoa(port))
}

// overlaps reports whether two listen addresses (host:port) would contend
// for one socket: the same port on the same IP or on a wildcard.
func overlaps(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb {
		return false
	}
	ia, errA := netip.ParseAddr(ha)
	ib, errB := netip.ParseAddr(hb)
	if errA != nil || errB != nil {
		return ha == hb
	}
	return ia.Unmap() == ib.Unmap() || ia.IsUnspecified() || ib.IsUnspecified()
}

// checkListeners makes sure madang itself (the daemon, process daemonPID,
// or its data plane, process dataPlanePID) holds every listening socket of
// the stack's load balancers. A listener whose
// port another program took cannot be served; the daemon only logs that,
// so up finds out itself. Where the kernel's socket tables cannot be read,
// it checks nothing.
func checkListeners(ctx context.Context, e *env, c *api.Client, stackName, file string, daemonPID, dataPlanePID int) error {
	prefer := daemonPID
	if dataPlanePID > 0 {
		prefer = dataPlanePID
	}
	lbs, err := c.LoadBalancers(ctx)
	if err != nil {
		return fmt.Errorf("list load balancers: %w", err)
	}
	var problems []string
	for _, lb := range lbs {
		if lb.Owner != stackName {
			continue
		}
		for _, l := range lb.Spec.Listeners {
			hp := listenAddr(lb.Spec.Address, l.Port)
			ap, err := netip.ParseAddrPort(hp)
			if err != nil {
				continue // a host name: nothing to look up by address
			}
			o, err := listenerOwner("/proc", ap, prefer)
			if errors.Is(err, errNoProcNet) {
				return nil
			}
			if err != nil {
				return err
			}
			switch {
			case !o.Listening:
				problems = append(problems, fmt.Sprintf(
					"load balancer %s listener port %d: nothing listens on %s; the load balancer could not start it (see %s)",
					lb.Spec.Name, l.Port, hp, filepath.Join(e.home, "daemon.log")))
			case o.PID != daemonPID && o.PID != dataPlanePID:
				problems = append(problems, fmt.Sprintf(
					"load balancer %s listener port %d: %s is taken by %s, not by madang; stop that program, or pick a free port for this listener in %s",
					lb.Spec.Name, l.Port, hp, o, file))
			}
		}
	}
	if len(problems) > 0 {
		return cannotComeUp(stackName, problems, "")
	}
	return nil
}

// upWaiter shows a stack's progress while up waits for it: counts, and
// each crash or unhealthy target once, with its reason.
type upWaiter struct {
	e     *env
	c     *api.Client
	stack string

	lastLine string
	crashes  map[string]crash  // instance id → the crash last shown
	targets  map[string]string // group/target → reason already shown
}

// crash is an instance's end as last shown.
type crash struct {
	at     time.Time // LastExit.At
	detail string
	text   string
}

// waitStack shows progress until the stack's instances run and its targets
// are healthy, or wait passes. An error wrapping errCannotComeUp means the
// stack cannot come up as it is (an instance errored, or still crashes
// when wait ends); other errors mean it is merely not up yet.
func waitStack(ctx context.Context, e *env, c *api.Client, stackName string, wait time.Duration) error {
	w := &upWaiter{e: e, c: c, stack: stackName, crashes: map[string]crash{}, targets: map[string]string{}}
	deadline := time.Now().Add(wait)
	for {
		done, err := w.poll(ctx, !time.Now().Before(deadline))
		if done || err != nil {
			return err
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("still waiting after %s; see `madang ps` and `madang tg health NAME`", wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(upPollInterval):
		}
	}
}

// poll looks once. done is true when everything is up. last says the wait
// is over, so instances that still crash make the stack one that cannot
// come up.
func (w *upWaiter) poll(ctx context.Context, last bool) (done bool, err error) {
	ins, err := w.c.Instances(ctx)
	if err != nil {
		return false, err
	}
	var total, running int
	var failed, crashing []string
	for _, v := range ins {
		if v.Owner != w.stack || v.Desired != v1.StateRunning {
			continue
		}
		total++
		if v.State == v1.StateRunning {
			running++
			continue
		}
		// An exit before this start (a stop, say) is no crash; one since
		// is, even when the restart is already starting.
		crashed := v.Detail == "backoff" || (v.LastExit != nil && v.Restarts > 0)
		if !crashed && v.Detail != "errored" && v.Detail != "exited" {
			continue
		}
		problem := w.describeCrash(ctx, v)
		if v.Detail == "errored" || v.Detail == "exited" {
			failed = append(failed, problem)
		} else {
			crashing = append(crashing, problem)
		}
	}
	tgs, err := w.c.TargetGroups(ctx)
	if err != nil {
		return false, err
	}
	var targets, healthy int
	for _, tg := range tgs {
		if tg.Owner != w.stack {
			continue
		}
		ths, err := w.c.TargetHealth(ctx, tg.Spec.Name)
		if err != nil {
			return false, err
		}
		for _, th := range ths {
			if th.State == "draining" {
				continue
			}
			targets++
			key := tg.Spec.Name + "/" + th.ID
			switch th.State {
			case "healthy", "unavailable":
				healthy++
				delete(w.targets, key)
			case "unhealthy":
				why := fmt.Sprintf("target %s in %s unhealthy (%s): %s", th.ID, tg.Spec.Name, th.Reason, th.Description)
				if w.targets[key] != why {
					w.targets[key] = why
					fmt.Fprintf(w.e.stdout, "  ! %s\n", why)
				}
			}
		}
	}
	// Auto Scaling groups: up until each has its desired capacity
	// InService (the daemon may run without them: a 404 means none).
	var want, inService int
	if groups, err := w.c.AutoScalingGroups(ctx); err == nil {
		for _, g := range groups {
			if g.Owner == w.stack {
				want += g.DesiredCapacity
				inService += min(g.InService, g.DesiredCapacity)
			}
		}
	}
	line := fmt.Sprintf("  instances running %d/%d", running, total)
	if targets > 0 {
		line += fmt.Sprintf(", targets healthy %d/%d", healthy, targets)
	}
	if want > 0 {
		line += fmt.Sprintf(", Auto Scaling InService %d/%d", inService, want)
	}
	if line != w.lastLine {
		fmt.Fprintln(w.e.stdout, line)
		w.lastLine = line
	}
	const hint = "see `madang describe ID` and `madang logs ID`"
	if len(failed) > 0 {
		return false, cannotComeUp(w.stack, failed, hint)
	}
	if last && len(crashing) > 0 {
		return false, cannotComeUp(w.stack, crashing, hint)
	}
	return running == total && healthy == targets && inService == want, nil
}

// describeCrash says how an instance that is not running last ended and
// what it last logged (stdout or stderr), printing it the first time that exit (or state) is
// seen.
func (w *upWaiter) describeCrash(ctx context.Context, v v1.Instance) string {
	var at time.Time
	if v.LastExit != nil {
		at = v.LastExit.At
	}
	if seen, ok := w.crashes[v.ID]; ok && seen.at.Equal(at) && seen.detail == v.Detail {
		return seen.text
	}
	reason := v.StateReason
	if reason == "" && v.LastExit != nil {
		reason = exitWords(v.LastExit)
	}
	s := fmt.Sprintf("%s (%s) %s: %s", v.ID, v.Group, v.Detail, reason)
	if l := w.lastLogLine(ctx, v); l != "" {
		s += "\n      last log line: " + l
	}
	w.crashes[v.ID] = crash{at: at, detail: v.Detail, text: s}
	fmt.Fprintf(w.e.stdout, "  ! %s\n", s)
	return s
}

// exitWords is how a process ended, in words.
func exitWords(ex *v1.Exit) string {
	if ex.Signal != "" {
		return "killed by " + ex.Signal
	}
	return fmt.Sprintf("exited with code %d", ex.Code)
}

// lastLogLine is the last line the instance's app wrote to stdout or
// stderr, from its status or else from its log.
func (w *upWaiter) lastLogLine(ctx context.Context, v v1.Instance) string {
	for i := len(v.LastLines) - 1; i >= 0; i-- {
		stream, text, _ := strings.Cut(v.LastLines[i], " ")
		if appStream(stream) && strings.TrimSpace(text) != "" {
			return text
		}
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var last string
	_ = w.c.Logs(lctx, v.ID, 20, time.Time{}, false, func(l v1.LogLine) {
		if appStream(l.Stream) && strings.TrimSpace(l.Text) != "" {
			last = l.Text
		}
	})
	return last
}

// appStream reports whether a log stream is the app's own output rather
// than madang's notes.
func appStream(s string) bool { return s == logfile.StreamOut || s == logfile.StreamErr }

// printEndpoints prints where the stack answers: each load balancer
// listener and each running instance, as URLs that work from this
// machine.
func printEndpoints(ctx context.Context, e *env, c *api.Client, stackName string) {
	lbs, _ := c.LoadBalancers(ctx)
	for _, lb := range lbs {
		if lb.Owner != stackName {
			continue
		}
		for _, l := range lb.Spec.Listeners {
			fmt.Fprintf(e.stdout, "● load balancer %s: http://%s\n", lb.Spec.Name, listenAddr(lb.Spec.Address, l.Port))
		}
	}
	ins, _ := c.Instances(ctx)
	for _, v := range ins {
		if v.Owner == stackName && v.Desired == v1.StateRunning && v.State == v1.StateRunning {
			fmt.Fprintf(e.stdout, "● instance %s (%s): http://%s\n", v.ID, v.Group, v.Addr())
		}
	}
	if s, err := c.AWSSettings(ctx); err == nil && s.Enabled {
		fmt.Fprintf(e.stdout, "● AWS endpoint: %s (region %s; eval \"$(madang aws-env)\" points the aws CLI and SDKs at it)\n", s.EndpointURL, s.Region)
	}
	if l, err := c.ConsoleSignInLink(ctx, v1.ConsoleLinkRequest{}); err == nil {
		s, _ := c.ConsoleSettings(ctx)
		fmt.Fprintf(e.stdout, "● web console: %s (sign in once with %s; `madang console` prints a new link)\n", s.URL, l.URL)
	}
}
