package cli

import (
	"fmt"
	"net"

	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api/v1"
)

func tgCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "tg",
		Aliases: []string{"target-groups"},
		Short:   "Target groups: list them, see their targets' health, register and deregister targets",
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List target groups",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tgs, err := e.client().TargetGroups(cmd.Context())
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(tgs)
			}
			tw := e.table()
			fmt.Fprintln(tw, "NAME\tPROTOCOL\tPORT\tTYPE\tHEALTH CHECK\tALGORITHM\tSTACK")
			for _, tg := range tgs {
				hc := tg.Spec.HealthCheck
				alg := tg.Spec.Attributes["load_balancing.algorithm.type"]
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s %s every %ds\t%s\t%s\n", tg.Spec.Name, tg.Spec.Protocol, tg.Spec.Port, tg.Spec.TargetType,
					hc.Protocol, hc.Path, hc.IntervalSeconds, dash(alg), dash(tg.Owner))
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "health NAME",
		Short: "Show each target's state, AWS reason code and a plain description",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ths, err := e.client().TargetHealth(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(ths)
			}
			if len(ths) == 0 {
				fmt.Fprintf(e.stdout, "target group %s has no registered targets (requests get 503)\n", args[0])
				return nil
			}
			tw := e.table()
			fmt.Fprintln(tw, "TARGET\tADDRESS\tSTATE\tREASON\tDESCRIPTION\tLAST CHECK")
			for _, th := range ths {
				last := "-"
				if !th.LastCheck.IsZero() {
					last = fmt.Sprintf("%s ago (%s)", time.Since(th.LastCheck).Round(time.Second), secondsText(th.LastLatencySeconds))
				}
				desc := th.Description
				if th.Passive != "" {
					desc = strings.TrimSpace(desc + " " + th.Passive)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", th.ID, th.Addr, th.State, dash(th.Reason), dash(desc), last)
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(tgRegisterCmd(e), tgDeregisterCmd(e))
	return cmd
}

// tgRegisterCmd is `madang tg register NAME ID[:PORT]...` (AWS's
// RegisterTargets).
func tgRegisterCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "register NAME ID[:PORT]...",
		Short: "Register instances as targets (port 0 or none: the instance's own port)",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			targets := make([]v1.TargetRef, 0, len(args)-1)
			for _, a := range args[1:] {
				t, err := targetRef(cmd, a)
				if err != nil {
					return err
				}
				targets = append(targets, t)
			}
			if err := e.client().RegisterTargets(cmd.Context(), args[0], targets); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "registered %d target(s) in %s; see madang tg health %s\n", len(targets), args[0], args[0])
			return nil
		},
	}
}

// targetRef parses ID[:PORT].
func targetRef(cmd *cobra.Command, arg string) (v1.TargetRef, error) {
	id, p, hasPort := strings.Cut(arg, ":")
	t := v1.TargetRef{ID: id}
	if hasPort {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return t, usageErr(cmd, "target %q: port %q is not 0..65535", arg, p)
		}
		t.Port = n
	}
	if id == "" {
		return t, usageErr(cmd, "target %q has no instance id", arg)
	}
	return t, nil
}

// tgDeregisterCmd is `madang tg deregister NAME ID...` (AWS's
// DeregisterTargets).
func tgDeregisterCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "deregister NAME ID...",
		Short: "Deregister targets: they drain and leave the target group",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.client().DeregisterTargets(cmd.Context(), args[0], args[1:]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "deregistered %d target(s) from %s\n", len(args)-1, args[0])
			return nil
		},
	}
}

func lbCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "lb",
		Aliases: []string{"load-balancers"},
		Short:   "Load balancers: list them and their listeners and rules",
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List load balancers and their listeners",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lbs, err := e.client().LoadBalancers(cmd.Context())
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(lbs)
			}
			tw := e.table()
			fmt.Fprintln(tw, "NAME\tTYPE\tLISTENER\tRULES\tDEFAULT ACTION\tSTACK")
			for _, lb := range lbs {
				// Stored load balancers have their defaults applied:
				// the address is always set.
				addr := lb.Spec.Address
				for _, l := range lb.Spec.Listeners {
					def := "-"
					if len(l.DefaultActions) > 0 {
						a := l.DefaultActions[len(l.DefaultActions)-1]
						def = a.Type
						if a.TargetGroup != "" {
							def += " → " + a.TargetGroup
						}
					}
					fmt.Fprintf(tw, "%s\t%s\thttp://%s\t%d\t%s\t%s\n", lb.Spec.Name, lb.Spec.Type, net.JoinHostPort(addr, strconv.Itoa(l.Port)), len(l.Rules), def, dash(lb.Owner))
				}
			}
			return tw.Flush()
		},
	})
	return cmd
}

// secondsText formats seconds as a duration rounded to the microsecond.
func secondsText(sec float64) string {
	return time.Duration(sec * float64(time.Second)).Round(time.Microsecond).String()
}
