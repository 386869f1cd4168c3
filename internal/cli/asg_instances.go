package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
)

// asgInstanceCmds are the commands that move a group's instances and
// collect its metrics.
func asgInstanceCmds(e *env) []*cobra.Command {
	return []*cobra.Command{asgStandbyCmd(e), asgExitStandbyCmd(e), asgProtectCmd(e), asgAttachCmd(e), asgDetachCmd(e), asgMetricsCmd(e)}
}

// moveCmd is a command NAME ID… that moves instances and prints the
// activities started.
func moveCmd(e *env, use, short, long, example string, decrement *bool,
	move func(ctx context.Context, c *api.Client, name string, ids []string) ([]v1.ScalingActivity, error), done string) *cobra.Command {
	c := &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			as, err := move(cmd.Context(), e.client(), args[0], args[1:])
			if err != nil {
				return err
			}
			if e.json() {
				if as == nil {
					as = []v1.ScalingActivity{}
				}
				return e.printJSON(as)
			}
			fmt.Fprintf(e.stdout, "%s: %s\n", args[0], fmt.Sprintf(done, strings.Join(args[1:], ", ")))
			for _, a := range as {
				fmt.Fprintf(e.stdout, "  %s — %s\n", a.Description, a.Cause)
			}
			return nil
		},
	}
	if decrement != nil {
		c.Flags().BoolVar(decrement, "decrement", false, "lower the desired capacity by one per instance (AWS's --should-decrement-desired-capacity); otherwise replacements launch")
	}
	return c
}

func asgStandbyCmd(e *env) *cobra.Command {
	var dec bool
	return moveCmd(e, "standby NAME ID…", "Move InService instances to Standby (like aws autoscaling enter-standby)",
		"Move InService instances to Standby: each is deregistered from the group's target groups (draining\n"+
			"with the deregistration delay) and keeps running, outside the group's capacity and health checks.\n"+
			"With --decrement the desired capacity drops by one per instance; otherwise replacements launch.",
		"  madang asg standby web i-0abc --decrement\n  madang asg exit-standby web i-0abc", &dec,
		func(ctx context.Context, c *api.Client, name string, ids []string) ([]v1.ScalingActivity, error) {
			return c.EnterStandby(ctx, name, ids, dec)
		}, "moving %s to Standby")
}

func asgExitStandbyCmd(e *env) *cobra.Command {
	return moveCmd(e, "exit-standby NAME ID…", "Return Standby instances to service (like aws autoscaling exit-standby)",
		"Return Standby instances to service: each goes Pending, is registered in the group's target groups\n"+
			"again and is InService once healthy; the desired capacity rises by one per instance (up to max).",
		"  madang asg exit-standby web i-0abc", nil,
		func(ctx context.Context, c *api.Client, name string, ids []string) ([]v1.ScalingActivity, error) {
			return c.ExitStandby(ctx, name, ids)
		}, "moving %s out of Standby")
}

func asgAttachCmd(e *env) *cobra.Command {
	return moveCmd(e, "attach NAME ID…", "Attach running instances to a group (like aws autoscaling attach-instances)",
		"Attach running instances (launched by madang run or RunInstances) to a group: the desired capacity\n"+
			"rises by one per instance (up to max) and each is registered in the group's target groups.",
		"  madang asg attach web i-0abc", nil,
		func(ctx context.Context, c *api.Client, name string, ids []string) ([]v1.ScalingActivity, error) {
			return c.AttachInstances(ctx, name, ids)
		}, "attaching %s")
}

func asgDetachCmd(e *env) *cobra.Command {
	var dec bool
	return moveCmd(e, "detach NAME ID…", "Detach instances from a group, left running (like aws autoscaling detach-instances)",
		"Detach instances from a group: each is deregistered from the group's target groups (draining with the\n"+
			"deregistration delay) and left running outside it. With --decrement the desired capacity drops by\n"+
			"one per instance; otherwise replacements launch.",
		"  madang asg detach web i-0abc --decrement", &dec,
		func(ctx context.Context, c *api.Client, name string, ids []string) ([]v1.ScalingActivity, error) {
			return c.DetachInstances(ctx, name, ids, dec)
		}, "detaching %s")
}

func asgProtectCmd(e *env) *cobra.Command {
	var off bool
	c := &cobra.Command{
		Use:   "protect NAME ID… [--off]",
		Short: "Protect instances from scale-in, or with --off remove the protection (like aws autoscaling set-instance-protection)",
		Long: "Protect instances from scale-in: scale-in never chooses them (when every instance is protected the\n" +
			"group cannot scale in, and its activity says so). Health check replacement still takes them.",
		Example: "  madang asg protect web i-0abc i-0def\n  madang asg protect web i-0abc --off",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := e.client().SetInstanceProtection(cmd.Context(), args[0], args[1:], !off)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(g)
			}
			what := "protected from scale-in"
			if off {
				what = "no longer protected from scale-in"
			}
			fmt.Fprintf(e.stdout, "%s: %s %s\n", args[0], strings.Join(args[1:], ", "), what)
			return nil
		},
	}
	c.Flags().BoolVar(&off, "off", false, "remove the protection")
	return c
}

func asgMetricsCmd(e *env) *cobra.Command {
	var enable, disable bool
	var metrics []string
	c := &cobra.Command{
		Use:   "metrics NAME --enable|--disable [--metric M]…",
		Short: "Enable or disable the group metrics in CloudWatch (like aws autoscaling enable-metrics-collection)",
		Long: "Enable or disable the group metrics: while enabled the group publishes, once a minute, its sizes and\n" +
			"its instances by state to CloudWatch (namespace AWS/AutoScaling, dimension AutoScalingGroupName):\n" +
			"GroupMinSize, GroupMaxSize, GroupDesiredCapacity, GroupInServiceInstances, GroupPendingInstances,\n" +
			"GroupStandbyInstances, GroupTerminatingInstances, GroupTotalInstances, the *Capacity ones and, with a\n" +
			"warm pool, WarmPool*. Without --metric all are enabled (or disabled).",
		Example: "  madang asg metrics web --enable\n  madang asg metrics web --enable --metric GroupDesiredCapacity --metric GroupInServiceInstances\n" +
			"  madang asg metrics web --disable",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if enable == disable {
				return usageErr(cmd, "give --enable or --disable")
			}
			g, err := e.client().SetMetricsCollection(cmd.Context(), args[0], v1.MetricsCollectionRequest{Enable: enable, Granularity: "1Minute", Metrics: metrics})
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(g)
			}
			if len(g.EnabledMetrics) == 0 {
				fmt.Fprintf(e.stdout, "%s: no group metrics collected\n", args[0])
				return nil
			}
			fmt.Fprintf(e.stdout, "%s: collecting %s every minute (AWS/AutoScaling)\n", args[0], strings.Join(g.EnabledMetrics, ", "))
			return nil
		},
	}
	c.Flags().BoolVar(&enable, "enable", false, "enable the metrics")
	c.Flags().BoolVar(&disable, "disable", false, "disable the metrics")
	c.Flags().StringArrayVar(&metrics, "metric", nil, "a group metric (repeatable; none: all)")
	return c
}
