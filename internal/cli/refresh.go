package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api/v1"
)

// refreshPoll is how often refresh --wait looks at the refresh.
const refreshPoll = 500 * time.Millisecond

func refreshCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "refresh",
		Short: "Instance refreshes of Auto Scaling groups: start, status, cancel, rollback",
		Long: "Instance refreshes replace a group's instances that run another launch template version\n" +
			"than the group's, a batch at a time, keeping a minimum of them InService (like\n" +
			"aws autoscaling start-instance-refresh). A failing new version rolls back with --auto-rollback.",
	}
	cmd.AddCommand(refreshStartCmd(e), refreshStatusCmd(e), refreshActionCmd(e, "cancel"), refreshActionCmd(e, "rollback"))
	return cmd
}

func refreshStartCmd(e *env) *cobra.Command {
	var p v1.RefreshPreferences
	var minH, maxH, warmup, delay, bake int
	var checkpoints string
	var skip, wait bool
	c := &cobra.Command{
		Use:   "start NAME",
		Short: "Start an instance refresh (like aws autoscaling start-instance-refresh)",
		Example: "  madang refresh start web --wait\n" +
			"  madang refresh start web --min-healthy 50 --max-healthy 150 --auto-rollback --bake-time 60 --alarm web-5xx --wait",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set := func(flag string, v int) *int {
				if cmd.Flags().Changed(flag) {
					return &v
				}
				return nil
			}
			p.MinHealthyPercentage, p.MaxHealthyPercentage = set("min-healthy", minH), set("max-healthy", maxH)
			p.InstanceWarmup, p.CheckpointDelay, p.BakeTime = set("warmup", warmup), set("checkpoint-delay", delay), set("bake-time", bake)
			if cmd.Flags().Changed("skip-matching") {
				p.SkipMatching = &skip
			}
			if checkpoints != "" {
				for _, f := range strings.Split(checkpoints, ",") {
					n, err := strconv.Atoi(strings.TrimSpace(f))
					if err != nil {
						return usageErr(cmd, "--checkpoints %q: %q is not a percentage; write e.g. 50,100", checkpoints, f)
					}
					p.CheckpointPercentages = append(p.CheckpointPercentages, n)
				}
			}
			r, err := e.client().StartInstanceRefresh(cmd.Context(), args[0], p)
			if err != nil {
				return err
			}
			if e.json() && !wait {
				return e.printJSON(r)
			}
			fmt.Fprintf(e.stdout, "instance refresh %s started: %d instance(s) to replace with launch template version %d\n", r.ID, r.Total, r.ToVersion)
			if !wait {
				fmt.Fprintf(e.stdout, "follow it with: madang refresh status %s --wait\n", args[0])
				return nil
			}
			return waitRefresh(cmd.Context(), e, args[0], r.ID)
		},
	}
	f := c.Flags()
	f.IntVar(&minH, "min-healthy", 90, "MinHealthyPercentage: the share of the desired capacity kept InService (0-100)")
	f.IntVar(&maxH, "max-healthy", 100, "MaxHealthyPercentage: above 100 launches replacements before terminating (100-200)")
	f.IntVar(&warmup, "warmup", 0, "InstanceWarmup in seconds (default: the group's instance warmup, else its grace period)")
	f.StringVar(&checkpoints, "checkpoints", "", "CheckpointPercentages, e.g. 50,100: pause at each")
	f.IntVar(&delay, "checkpoint-delay", 3600, "CheckpointDelay in seconds")
	f.BoolVar(&skip, "skip-matching", false, "SkipMatching: leave instances already on the group's version")
	f.BoolVar(&p.AutoRollback, "auto-rollback", false, "AutoRollback: roll back when new instances fail or an alarm fires")
	f.IntVar(&bake, "bake-time", 0, "BakeTime in seconds after the last replacement, watching the alarms")
	f.StringArrayVar(&p.AlarmNames, "alarm", nil, "an alarm whose ALARM state fails the refresh (repeatable, at most 10)")
	f.StringVar(&p.ScaleInProtectedInstances, "protected", "", "ScaleInProtectedInstances: Refresh (replace them too), Ignore (leave them) or Wait (default: up to an hour for their protection to go)")
	f.StringVar(&p.StandbyInstances, "standby", "", "StandbyInstances: Terminate, Ignore or Wait (default: up to an hour for them to return to service)")
	f.BoolVar(&wait, "wait", false, "follow the refresh with a progress bar until it ends")
	return c
}

func refreshStatusCmd(e *env) *cobra.Command {
	var wait bool
	c := &cobra.Command{
		Use:     "status NAME",
		Short:   "A group's instance refreshes, newest first (like aws autoscaling describe-instance-refreshes)",
		Example: "  madang refresh status web\n  madang refresh status web --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := e.client().InstanceRefreshes(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if wait && len(rs) > 0 {
				return waitRefresh(cmd.Context(), e, args[0], rs[0].ID)
			}
			if e.json() {
				return e.printJSON(rs)
			}
			if len(rs) == 0 {
				fmt.Fprintf(e.stdout, "no instance refreshes for %s; start one with: madang refresh start %s\n", args[0], args[0])
				return nil
			}
			tw := e.table()
			fmt.Fprintln(tw, "ID\tSTATUS\tPROGRESS\tREPLACED\tVERSION\tSTARTED\tREASON")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%d%%\t%d/%d\t%s\t%s\t%s\n", r.ID, r.Status, r.PercentageComplete, r.Replaced, r.Total,
					refreshTarget(r), r.StartTime.Local().Format("01-02 15:04:05"), orDash(r.StatusReason))
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&wait, "wait", false, "follow the newest refresh with a progress bar until it ends")
	return c
}

func refreshActionCmd(e *env, action string) *cobra.Command {
	short := map[string]string{
		"cancel":   "Cancel the active instance refresh (like aws autoscaling cancel-instance-refresh)",
		"rollback": "Roll the active instance refresh back to the previous version (like aws autoscaling rollback-instance-refresh)",
	}[action]
	return &cobra.Command{
		Use:     action + " NAME",
		Short:   short,
		Example: "  madang refresh " + action + " web",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := e.client()
			var r v1.InstanceRefresh
			var err error
			if action == "cancel" {
				r, err = c.CancelInstanceRefresh(cmd.Context(), args[0])
			} else {
				r, err = c.RollbackInstanceRefresh(cmd.Context(), args[0])
			}
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(r)
			}
			fmt.Fprintf(e.stdout, "instance refresh %s: %s\n", r.ID, r.Status)
			return nil
		},
	}
}

// refreshDone reports whether a refresh status is final.
func refreshDone(status string) bool {
	switch status {
	case "Successful", "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed":
		return true
	}
	return false
}

// waitRefresh follows a refresh until it ends, one progress line per
// change; it fails (exit 1) when the refresh did not end Successful.
func waitRefresh(ctx context.Context, e *env, group, id string) error {
	last := ""
	for {
		rs, err := e.client().InstanceRefreshes(ctx, group)
		if err != nil {
			return err
		}
		var r *v1.InstanceRefresh
		for i := range rs {
			if rs[i].ID == id {
				r = &rs[i]
			}
		}
		if r == nil {
			return fmt.Errorf("instance refresh %s of %s is gone", id, group)
		}
		line := progressLine(*r)
		if line != last {
			fmt.Fprintln(e.stdout, line)
			last = line
		}
		if refreshDone(r.Status) {
			if e.json() {
				return e.printJSON(r)
			}
			if r.Status != "Successful" {
				return fmt.Errorf("instance refresh %s ended %s: %s", id, r.Status, orDash(r.StatusReason))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(refreshPoll):
		}
	}
}

// refreshTarget says what a refresh rolls out: another launch template
// version, or the same one with a new image build.
func refreshTarget(r v1.InstanceRefresh) string {
	if r.FromVersion == r.ToVersion && r.ToImageVersion > 0 {
		return fmt.Sprintf("launch template v%d, image v%d", r.ToVersion, r.ToImageVersion)
	}
	return fmt.Sprintf("v%d → v%d", r.FromVersion, r.ToVersion)
}

// progressLine draws a refresh as "[######----]  60% InProgress 3/5 …".
func progressLine(r v1.InstanceRefresh) string {
	const width = 30
	n := max(0, min(width, r.PercentageComplete*width/100))
	s := fmt.Sprintf("  [%s%s] %3d%%  %-18s %d/%d replaced, %s", strings.Repeat("#", n), strings.Repeat("-", width-n),
		r.PercentageComplete, r.Status, r.Replaced, r.Total, refreshTarget(r))
	if r.StatusReason != "" {
		s += "  (" + r.StatusReason + ")"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
