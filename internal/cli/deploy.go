package cli

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api/v1"
)

// CodeDeploy's predefined in-place deployment configurations, as minimum
// healthy hosts.
const (
	deployAllAtOnce  = "CodeDeployDefault.AllAtOnce"
	deployHalfAtTime = "CodeDeployDefault.HalfAtATime"
	deployOneAtATime = "CodeDeployDefault.OneAtATime"
)

// minHealthyPercent turns a deployment configuration (or a custom minimum
// of healthy hosts, "75%" or "3") into an instance refresh's
// MinHealthyPercentage for a group of desired instances.
func minHealthyPercent(config, custom string, desired int) (int, error) {
	if custom != "" {
		if p, ok := strings.CutSuffix(custom, "%"); ok {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n > 100 {
				return 0, fmt.Errorf("--min-healthy-hosts %q: give a percentage from 0%% to 100%% or a number of hosts", custom)
			}
			return n, nil
		}
		n, err := strconv.Atoi(custom)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("--min-healthy-hosts %q: give a percentage such as 75%% or a number of hosts such as 3", custom)
		}
		if desired == 0 {
			return 0, nil
		}
		if n >= desired {
			return 0, fmt.Errorf("--min-healthy-hosts %d: the group has %d instances, so no instance could be replaced; give fewer than %d", n, desired, desired)
		}
		return int(math.Ceil(float64(n) * 100 / float64(desired))), nil
	}
	switch config {
	case deployAllAtOnce:
		return 0, nil
	case deployHalfAtTime:
		return 50, nil
	case deployOneAtATime:
		if desired <= 1 {
			return 0, nil
		}
		return (desired - 1) * 100 / desired, nil
	}
	return 0, fmt.Errorf("--config %q is not a deployment configuration; use %s, %s or %s, or --min-healthy-hosts", config, deployAllAtOnce, deployHalfAtTime, deployOneAtATime)
}

func deployCmd(e *env) *cobra.Command {
	var file, config, custom string
	var groups, alarms []string
	var noRollback bool
	var bake int
	c := &cobra.Command{
		Use:   "deploy [-f FILE]",
		Short: "Apply a stack and roll its new version out to its Auto Scaling groups, with automatic rollback",
		Long: "deploy is the one-command path from a changed source directory (or launch template) to a\n" +
			"rolled-out version: it applies the stack file (a changed source builds a new image version),\n" +
			"then replaces the instances of the stack's Auto Scaling groups through an instance refresh sized\n" +
			"by a CodeDeploy deployment configuration, following it with a progress bar. A new instance that\n" +
			"fails its health checks, or an --alarm in ALARM, rolls the group back (unless --no-rollback) and\n" +
			"deploy exits 1. Instances are replaced, not updated in place.",
		Example: "  madang deploy -f examples/quickstart/madang.yaml\n" +
			"  madang deploy --config CodeDeployDefault.OneAtATime --alarm web-5xx --bake-time 60\n" +
			"  madang deploy --min-healthy-hosts 75%",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := minHealthyPercent(config, custom, 1); err != nil && custom == "" {
				return usageErr(cmd, "%v", err)
			}
			req, err := readStack(file, false)
			if err != nil {
				return err
			}
			cl := e.client()
			started := time.Now()
			res, err := cl.Apply(cmd.Context(), req)
			if err != nil {
				return err
			}
			printChanges(e, res)
			all, err := cl.AutoScalingGroups(cmd.Context())
			if err != nil {
				return err
			}
			var targets []v1.AutoScalingGroup
			for _, g := range all {
				if (len(groups) == 0 && g.Owner == res.Stack) || slices.Contains(groups, g.Name) {
					targets = append(targets, g)
				}
			}
			if len(targets) == 0 {
				return fmt.Errorf("stack %s has no Auto Scaling group to deploy to; add one under autoScalingGroups: (or name one with --group)", res.Stack)
			}
			for _, g := range targets {
				if err := deployGroup(cmd, e, g, started, config, custom, alarms, bake, !noRollback); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&file, "file", "f", "madang.yaml", "stack file")
	f.StringArrayVar(&groups, "group", nil, "deploy to this Auto Scaling group (repeatable; default: every group of the stack)")
	f.StringVar(&config, "config", deployHalfAtTime, "deployment configuration: "+deployAllAtOnce+", "+deployHalfAtTime+" or "+deployOneAtATime)
	f.StringVar(&custom, "min-healthy-hosts", "", "custom minimum healthy hosts instead of --config: a percentage (75%) or a count (3)")
	f.StringArrayVar(&alarms, "alarm", nil, "an alarm whose ALARM state rolls the deployment back (repeatable)")
	f.IntVar(&bake, "bake-time", 0, "seconds to watch the alarms after the last replacement")
	f.BoolVar(&noRollback, "no-rollback", false, "stop on failure instead of rolling back")
	return c
}

// deployGroup follows the refresh the apply started (a group with
// instanceRefresh) or starts one, and waits for it.
func deployGroup(cmd *cobra.Command, e *env, g v1.AutoScalingGroup, since time.Time, config, custom string, alarms []string, bake int, rollback bool) error {
	cl := e.client()
	rs, err := cl.InstanceRefreshes(cmd.Context(), g.Name)
	if err != nil {
		return err
	}
	if len(rs) > 0 && !refreshDone(rs[0].Status) && !rs[0].StartTime.Before(since.Add(-time.Second)) {
		fmt.Fprintf(e.stdout, "● %s: following instance refresh %s (started by the apply: the group's instanceRefresh preferences)\n", g.Name, rs[0].ID)
		return waitRefresh(cmd.Context(), e, g.Name, rs[0].ID)
	}
	pct, err := minHealthyPercent(config, custom, g.DesiredCapacity)
	if err != nil {
		return err
	}
	skip := true
	p := v1.RefreshPreferences{MinHealthyPercentage: &pct, SkipMatching: &skip, AutoRollback: rollback, AlarmNames: alarms}
	if bake > 0 {
		p.BakeTime = &bake
	}
	r, err := cl.StartInstanceRefresh(cmd.Context(), g.Name, p)
	if err != nil {
		return err
	}
	if r.Total == 0 || (r.InstancesToUpdate == 0 && refreshDone(r.Status)) {
		fmt.Fprintf(e.stdout, "● %s: every instance already runs launch template version %d with the newest image; nothing to deploy\n", g.Name, r.ToVersion)
		return nil
	}
	what := config
	if custom != "" {
		what = "minimum healthy hosts " + custom
	}
	fmt.Fprintf(e.stdout, "● %s: deploying to %d instance(s) with %s (keeping %d%% of %d InService), instance refresh %s\n",
		g.Name, r.Total, what, pct, g.DesiredCapacity, r.ID)
	return waitRefresh(cmd.Context(), e, g.Name, r.ID)
}
