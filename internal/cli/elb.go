package cli

import (
	"fmt"
	"net"

	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func tgCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "tg",
		Aliases: []string{"target-groups"},
		Short:   "Target groups: list them and see their targets' health",
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
	return cmd
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
