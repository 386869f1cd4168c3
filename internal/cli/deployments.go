package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api/v1"
)

// deployPoll is how often a deployment is looked at while followed.
const deployPoll = 250 * time.Millisecond

func deploymentsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "deployments",
		Aliases: []string{"deployment"},
		Short:   "In-place deployments of Auto Scaling groups: list, status, stop",
		Long: "In-place deployments install a new image version on a group's instances where they are, a batch\n" +
			"at a time, through CodeDeploy's lifecycle events and the revision's appspec.yml hooks\n" +
			"(like aws deploy list-deployments / get-deployment / stop-deployment). madang deploy starts them.",
	}
	cmd.AddCommand(deploymentsLsCmd(e), deploymentsStatusCmd(e), deploymentsStopCmd(e))
	return cmd
}

func deploymentsLsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "ls [GROUP]",
		Short:   "Deployments, newest first (every group's without GROUP)",
		Example: "  madang deployments ls\n  madang deployments ls web -o json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ds, err := listDeployments(cmd.Context(), e, args)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(ds)
			}
			if len(ds) == 0 {
				fmt.Fprintln(e.stdout, "no deployments; start one with: madang deploy -f FILE")
				return nil
			}
			tw := e.table()
			fmt.Fprintln(tw, "ID\tGROUP\tSTATUS\tREVISION\tCONFIG\tINSTANCES\tCREATED\tBY\tINFO")
			for _, d := range ds {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s v%d → v%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Group, d.Status, d.Image, d.FromImageVersion, d.ImageVersion,
					configName(d), overview(d), d.CreateTime.Local().Format("01-02 15:04:05"), d.Creator, orDash(deployInfo(d)))
			}
			return tw.Flush()
		},
	}
}

func deploymentsStatusCmd(e *env) *cobra.Command {
	var wait bool
	c := &cobra.Command{
		Use:     "status ID",
		Short:   "A deployment with every instance's lifecycle events (like aws deploy get-deployment)",
		Example: "  madang deployments status d-A1B2C3D4E\n  madang deployments status d-A1B2C3D4E --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := findDeployment(cmd.Context(), e, args[0])
			if err != nil {
				return err
			}
			if wait && d.Active() {
				return followDeployment(cmd.Context(), e, d.Group, d.ID, true)
			}
			if e.json() {
				return e.printJSON(d)
			}
			printDeployment(e, d)
			return nil
		},
	}
	c.Flags().BoolVar(&wait, "wait", false, "follow the deployment (and its rollback) until it ends")
	return c
}

func deploymentsStopCmd(e *env) *cobra.Command {
	var wait, rollback bool
	c := &cobra.Command{
		Use:     "stop ID",
		Short:   "Stop a deployment: instances under way finish, no further one starts (like aws deploy stop-deployment)",
		Example: "  madang deployments stop d-A1B2C3D4E --wait\n  madang deployments stop d-A1B2C3D4E --rollback",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := findDeployment(cmd.Context(), e, args[0])
			if err != nil {
				return err
			}
			d, err = e.client().StopDeployment(cmd.Context(), d.Group, d.ID, rollback)
			if err != nil {
				return err
			}
			if wait {
				err := followDeployment(cmd.Context(), e, d.Group, d.ID, false)
				var st *deployEnded
				if errors.As(err, &st) && st.status == "Stopped" {
					return nil
				}
				return err
			}
			if e.json() {
				return e.printJSON(d)
			}
			fmt.Fprintf(e.stdout, "deployment %s: stopping (instances under way finish first)\n", d.ID)
			return nil
		},
	}
	c.Flags().BoolVar(&wait, "wait", false, "wait until the deployment has stopped")
	c.Flags().BoolVar(&rollback, "rollback", false, "then roll the instances it reached back to the previous revision")
	return c
}

// listDeployments returns the deployments of the groups named (every
// group when none is), newest first.
func listDeployments(ctx context.Context, e *env, groups []string) ([]v1.Deployment, error) {
	cl := e.client()
	if len(groups) == 0 {
		gs, err := cl.AutoScalingGroups(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			groups = append(groups, g.Name)
		}
	}
	var out []v1.Deployment
	for _, g := range groups {
		ds, err := cl.Deployments(ctx, g)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].CreateTime.After(out[j-1].CreateTime); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// findDeployment finds a deployment by id among every group's.
func findDeployment(ctx context.Context, e *env, id string) (v1.Deployment, error) {
	ds, err := listDeployments(ctx, e, nil)
	if err != nil {
		return v1.Deployment{}, err
	}
	for _, d := range ds {
		if d.ID == id {
			return d, nil
		}
	}
	return v1.Deployment{}, fmt.Errorf("no deployment %s; madang deployments ls lists them", id)
}

func configName(d v1.Deployment) string {
	if mh := d.Config.MinimumHealthyHosts; d.Config.Name == "Custom" && mh != nil {
		if mh.Type == "FLEET_PERCENT" {
			return fmt.Sprintf("min healthy %d%%", mh.Value)
		}
		return fmt.Sprintf("min healthy %d", mh.Value)
	}
	return strings.TrimPrefix(d.Config.Name, "CodeDeployDefault.")
}

// overview counts a deployment's instances by status.
func overview(d v1.Deployment) string {
	n := map[string]int{}
	for _, t := range d.Instances {
		n[t.Status]++
	}
	var parts []string
	for _, st := range []string{"Succeeded", "Failed", "InProgress", "Pending", "Skipped"} {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ", ")
}

func deployInfo(d v1.Deployment) string {
	var parts []string
	if d.ErrorInfo != nil {
		parts = append(parts, d.ErrorInfo.Code+": "+d.ErrorInfo.Message)
	} else if d.Stopping != nil {
		parts = append(parts, "stopping: "+d.Stopping.Message)
	}
	if d.RolledBackBy != "" {
		parts = append(parts, "rolled back by "+d.RolledBackBy)
	}
	if d.RollbackOf != "" {
		parts = append(parts, "rollback of "+d.RollbackOf)
	}
	return strings.Join(parts, "; ")
}

func printDeployment(e *env, d v1.Deployment) {
	fmt.Fprintf(e.stdout, "deployment %s of %s: %s (%s)\n", d.ID, d.Group, d.Status, overview(d))
	fmt.Fprintf(e.stdout, "  revision: image %s v%d (from v%d)   config: %s, %d at a time, %d healthy needed   by: %s\n",
		d.Image, d.ImageVersion, d.FromImageVersion, configName(d), d.AtOnce, d.MinHealthy, d.Creator)
	if info := deployInfo(d); info != "" {
		fmt.Fprintf(e.stdout, "  %s\n", info)
	}
	tw := e.table()
	fmt.Fprintln(tw, "INSTANCE\tBATCH\tEVENT\tSTATUS\tDURATION\tDIAGNOSTICS")
	for _, t := range d.Instances {
		for i, ev := range t.Events {
			id, batch := "", ""
			if i == 0 {
				id, batch = t.InstanceID+" "+t.Status, fmt.Sprint(t.Batch)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", id, batch, ev.Name, ev.Status, eventTook(ev), orDash(diagLine(ev)))
		}
	}
	_ = tw.Flush()
}

func eventTook(ev v1.LifecycleEvent) string {
	if ev.StartTime.IsZero() || ev.EndTime.IsZero() {
		return "-"
	}
	return roundTook(ev.EndTime.Sub(ev.StartTime))
}

func roundTook(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(100 * time.Millisecond).String()
	}
}

func diagLine(ev v1.LifecycleEvent) string {
	dg := ev.Diagnostics
	if dg == nil {
		return ""
	}
	var parts []string
	if dg.ScriptName != "" {
		parts = append(parts, dg.ScriptName)
	}
	if dg.ErrorCode != "" && dg.ErrorCode != "Success" {
		parts = append(parts, dg.ErrorCode)
	}
	if dg.Message != "" {
		parts = append(parts, dg.Message)
	}
	if ev.Status == "Failed" && dg.LogTail != "" {
		parts = append(parts, "last lines: "+strings.ReplaceAll(dg.LogTail, "\n", " | "))
	}
	return strings.Join(parts, ": ")
}

// deployEnded is the error of a followed deployment that did not succeed.
type deployEnded struct{ id, status, why string }

func (e *deployEnded) Error() string {
	return fmt.Sprintf("deployment %s ended %s: %s", e.id, e.status, e.why)
}

// followDeployment prints a deployment's progress, per batch and per
// instance, until it ends; then it follows its rollback, if one started,
// when rollbacks is set. It fails unless the deployment Succeeded.
func followDeployment(ctx context.Context, e *env, group, id string, rollbacks bool) error {
	cl := e.client()
	seenBatch := map[int]bool{}
	seenDone := map[string]bool{}
	lastBG, lastWait := "", ""
	for {
		d, err := cl.Deployment(ctx, group, id)
		if err != nil {
			return err
		}
		if d.ZoneWait != lastWait && !e.json() {
			lastWait = d.ZoneWait
			if d.ZoneWait != "" {
				fmt.Fprintf(e.stdout, "  %s\n", d.ZoneWait)
			}
		}
		if bg := d.BlueGreen; bg != nil && !e.json() {
			if line := blueGreenLine(d); line != lastBG && line != "" {
				lastBG = line
				fmt.Fprintf(e.stdout, "  %s\n", line)
			}
		}
		if !e.json() {
			for _, t := range d.Instances {
				if t.Batch > 0 && !seenBatch[t.Batch] {
					seenBatch[t.Batch] = true
					var ids []string
					for _, u := range d.Instances {
						if u.Batch == t.Batch {
							ids = append(ids, u.InstanceID)
						}
					}
					fmt.Fprintf(e.stdout, "  batch %d: %s\n", t.Batch, strings.Join(ids, ", "))
				}
				if (t.Status == "Succeeded" || t.Status == "Failed") && !seenDone[t.InstanceID] {
					seenDone[t.InstanceID] = true
					fmt.Fprintf(e.stdout, "    %s\n", instanceLine(t))
				}
			}
		}
		if !d.Active() {
			if e.json() {
				_ = e.printJSON(d)
			} else {
				fmt.Fprintf(e.stdout, "● %s: deployment %s %s in %s (%s)\n", group, d.ID, d.Status, roundTook(d.CompleteTime.Sub(d.CreateTime)), overview(d))
			}
			if d.Status == "Succeeded" {
				return nil
			}
			why := deployInfo(d)
			if d.RolledBackBy != "" && rollbacks {
				if !e.json() {
					fmt.Fprintf(e.stdout, "● %s: rolling back with deployment %s: image %s v%d\n", group, d.RolledBackBy, d.Image, d.FromImageVersion)
				}
				if rerr := followDeployment(ctx, e, group, d.RolledBackBy, false); rerr != nil {
					return fmt.Errorf("deployment %s ended %s (%s); its rollback: %w", d.ID, d.Status, why, rerr)
				}
				return &deployEnded{id: d.ID, status: d.Status, why: why + fmt.Sprintf(" to image %s v%d", d.Image, d.FromImageVersion)}
			}
			return &deployEnded{id: d.ID, status: d.Status, why: why}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(deployPoll):
		}
	}
}

// instanceLine says how an instance's deployment went: its status, time
// and every event that ran, with its duration.
func instanceLine(t v1.DeploymentTarget) string {
	var evs []string
	var failed *v1.LifecycleEvent
	for i, ev := range t.Events {
		switch ev.Status {
		case "Succeeded":
			evs = append(evs, ev.Name+" "+eventTook(ev))
		case "Failed":
			evs = append(evs, ev.Name+" FAILED")
			failed = &t.Events[i]
		}
	}
	s := fmt.Sprintf("%s %s in %s: %s", t.InstanceID, t.Status, roundTook(t.EndTime.Sub(t.StartTime)), strings.Join(evs, ", "))
	if failed != nil {
		s += "\n      " + failed.Name + ": " + diagLine(*failed)
	}
	return s
}

// blueGreenLine says where a blue/green deployment stands.
func blueGreenLine(d v1.Deployment) string {
	bg := d.BlueGreen
	var originals []string
	launched := 0
	for _, t := range d.Instances {
		if len(t.Events) > 0 && (t.Events[0].Name == "BeforeBlockTraffic" || t.Events[0].Name == "BlockTraffic") {
			originals = append(originals, t.InstanceID)
		} else {
			launched++
		}
	}
	switch bg.Phase {
	case "Provisioning":
		return fmt.Sprintf("replacement fleet: %d of %d launched, waiting until every one is healthy (weight 0, no traffic)", launched, bg.Size)
	case "Shifting":
		return fmt.Sprintf("traffic: %d%% on the replacement fleet", bg.AppliedPercent)
	case "Retaining":
		if bg.KeepAlive {
			return "traffic: 100% on the replacement fleet; the original instances leave the group running"
		}
		return fmt.Sprintf("traffic: 100%% on the replacement fleet; the originals %s stay at weight 0 until %s (madang deployments stop %s --rollback moves the traffic back at once)",
			strings.Join(originals, ", "), bg.TerminateAt.Local().Format("15:04:05"), d.ID)
	case "RollingBack":
		if !d.AutoRollback && (d.Stopping == nil || d.Stopping.Code != "DEPLOYMENT_STOPPED") {
			return "failed: the traffic returns to the original instances; the replacements stay running (rollback is disabled)"
		}
		return "rolling back: the traffic returns to the original instances; the replacements leave"
	}
	switch {
	case d.Status == "Succeeded":
		return ""
	case !d.AutoRollback && d.Status == "Failed":
		return "failed: the traffic is on the original instances; the replacement fleet was detached from the group and keeps running for inspection (rollback is disabled)"
	}
	return "rolled back: the traffic is on the original instances; the replacement fleet was terminated"
}
