package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api/v1"
)

func asgExecutePolicyCmd(e *env) *cobra.Command {
	var (
		honor                        bool
		metricValue, breachThreshold float64
	)
	c := &cobra.Command{
		Use:   "execute-policy NAME POLICY",
		Short: "Run a simple or step scaling policy now (like aws autoscaling execute-policy)",
		Long: "Run a group's simple or step scaling policy now, as if its alarm had fired; POLICY is its name or\n" +
			"ARN (madang asg describe lists them). A simple policy ignores the group's cooldown unless\n" +
			"--honor-cooldown; a step policy needs --metric-value and --breach-threshold, and the step whose\n" +
			"interval holds their difference runs. Target tracking policies cannot be executed.",
		Example: "  madang asg execute-policy web add1\n" +
			"  madang asg execute-policy web add1 --honor-cooldown\n" +
			"  madang asg execute-policy web cpu-steps --metric-value 85 --breach-threshold 70",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := v1.ExecutePolicyRequest{HonorCooldown: honor}
			mv, bt := cmd.Flags().Changed("metric-value"), cmd.Flags().Changed("breach-threshold")
			if mv != bt {
				return usageErr(cmd, "--metric-value and --breach-threshold go together (a step policy needs both)")
			}
			if mv {
				req.MetricValue, req.BreachThreshold = &metricValue, &breachThreshold
			}
			ex, err := e.client().ExecutePolicy(cmd.Context(), args[0], args[1], req)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(ex)
			}
			if ex.DesiredCapacity == ex.PreviousDesiredCapacity {
				fmt.Fprintf(e.stdout, "policy %s of %s executed: the desired capacity stays at %d (%s)\n", ex.PolicyName, ex.AutoScalingGroupName, ex.DesiredCapacity, ex.Cause)
				return nil
			}
			fmt.Fprintf(e.stdout, "policy %s of %s executed: desired capacity %d → %d\n  %s\n", ex.PolicyName, ex.AutoScalingGroupName,
				ex.PreviousDesiredCapacity, ex.DesiredCapacity, ex.Cause)
			return nil
		},
	}
	c.Flags().BoolVar(&honor, "honor-cooldown", false, "refuse a simple policy while the group's cooldown runs (AWS's --honor-cooldown)")
	c.Flags().Float64Var(&metricValue, "metric-value", 0, "a step policy's metric value (AWS's --metric-value); with --breach-threshold")
	c.Flags().Float64Var(&breachThreshold, "breach-threshold", 0, "a step policy's alarm threshold (AWS's --breach-threshold); with --metric-value")
	return c
}
