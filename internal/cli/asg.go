package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api/v1"
)

func asgCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "asg",
		Aliases: []string{"autoscaling"},
		Short:   "EC2 Auto Scaling groups: sizes, instances, activities, set-desired, execute-policy, lifecycle actions, Standby, protection, attach/detach and metrics",
		Long: "EC2 Auto Scaling groups, as `aws autoscaling` shows and drives them. Groups are declared under\n" +
			"autoScalingGroups: in a stack file; these commands read them, change their desired capacity and run their policies.",
	}
	cmd.AddCommand(asgListCmd(e), asgDescribeCmd(e), asgActivitiesCmd(e), asgSetDesiredCmd(e),
		asgExecutePolicyCmd(e), asgCompleteCmd(e), asgHeartbeatCmd(e))
	cmd.AddCommand(asgInstanceCmds(e)...) // asg_instances.go
	return cmd
}

func asgListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List Auto Scaling groups with their sizes (like aws autoscaling describe-auto-scaling-groups)",
		Example: "  madang asg ls\n  madang asg ls -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gs, err := e.client().AutoScalingGroups(cmd.Context())
			if err != nil {
				return err
			}
			if e.json() {
				if gs == nil {
					gs = []v1.AutoScalingGroup{}
				}
				return e.printJSON(gs)
			}
			if len(gs) == 0 {
				fmt.Fprintln(e.stdout, "no Auto Scaling groups; declare them under autoScalingGroups: in a stack file")
				return nil
			}
			tw := e.table()
			fmt.Fprintln(tw, "NAME\tDESIRED\tMIN\tMAX\tIN SERVICE\tPENDING\tWARM\tINSTANCES\tLAUNCH TEMPLATE\tZONES\tSTACK")
			for _, g := range gs {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", g.Name, g.DesiredCapacity, g.MinSize, g.MaxSize,
					g.InService, g.Pending, g.Warm, len(g.Instances), templateText(g.LaunchTemplate, g.Version),
					dash(strings.Join(g.AvailabilityZones, ",")), dash(g.Owner))
			}
			return tw.Flush()
		},
	}
}

// templateText is a launch template with its version ("web:$Default").
func templateText(name, version string) string {
	if version == "" {
		return name
	}
	return name + ":" + version
}

func asgDescribeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "describe NAME",
		Short:   "Show a group's sizes, instances, policies, scheduled actions and warm pool (like aws autoscaling describe-auto-scaling-groups)",
		Example: "  madang asg describe web\n  madang asg describe web -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := e.client().AutoScalingGroup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(g)
			}
			return printGroup(e, g, time.Now())
		},
	}
}

func printGroup(e *env, g v1.AutoScalingGroup, now time.Time) error {
	tw := e.table()
	fmt.Fprintf(tw, "Name:\t%s\n", g.Name)
	fmt.Fprintf(tw, "ARN:\t%s\n", g.ARN)
	fmt.Fprintf(tw, "Launch template:\t%s\n", templateText(g.LaunchTemplate, g.Version))
	fmt.Fprintf(tw, "Desired / min / max:\t%d / %d / %d\n", g.DesiredCapacity, g.MinSize, g.MaxSize)
	fmt.Fprintf(tw, "In service / pending / warm:\t%d / %d / %d\n", g.InService, g.Pending, g.Warm)
	fmt.Fprintf(tw, "Zones:\t%s\n", dash(strings.Join(g.AvailabilityZones, ", ")))
	fmt.Fprintf(tw, "Target groups:\t%s\n", dash(strings.Join(g.TargetGroups, ", ")))
	if g.HealthCheckType != "" {
		fmt.Fprintf(tw, "Health check:\t%s\n", g.HealthCheckType)
	}
	if len(g.SuspendedProcesses) > 0 {
		fmt.Fprintf(tw, "Suspended:\t%s\n", strings.Join(g.SuspendedProcesses, ", "))
	}
	if g.Standby > 0 {
		fmt.Fprintf(tw, "Standby:\t%d\n", g.Standby)
	}
	if len(g.EnabledMetrics) > 0 {
		fmt.Fprintf(tw, "Metrics:\t%d collected every minute (AWS/AutoScaling)\n", len(g.EnabledMetrics))
	}
	if g.Status != "" {
		fmt.Fprintf(tw, "Status:\t%s\n", g.Status)
	}
	if g.ActivitiesInProgress > 0 {
		fmt.Fprintf(tw, "Activities:\t%d in progress (madang asg activities %s)\n", g.ActivitiesInProgress, g.Name)
	}
	fmt.Fprintf(tw, "Cause:\t%s\n", dash(g.Cause))
	fmt.Fprintf(tw, "Stack:\t%s\n", dash(g.Owner))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(e.stdout)
	if len(g.Instances) == 0 {
		fmt.Fprintln(e.stdout, "no instances")
	} else {
		tw = e.table()
		fmt.Fprintln(tw, "INSTANCE\tZONE\tLIFECYCLE\tHEALTH\tLT VERSION\tPROTECTED\tAGE\tTARGET GROUPS\tHOOK")
		for _, in := range g.Instances {
			health := in.HealthStatus
			if in.HealthReason != "" {
				health += " (" + clipText(in.HealthReason, 40) + ")"
			}
			hook := "-"
			if in.LifecycleHook != "" {
				hook = in.LifecycleHook
				if !in.LifecycleHookDeadline.IsZero() {
					hook += " (times out in " + durText(in.LifecycleHookDeadline.Sub(now).Seconds()) + ")"
				}
			}
			age := "-"
			if !in.LaunchedAt.IsZero() {
				age = durText(now.Sub(in.LaunchedAt).Seconds())
			}
			lc := in.LifecycleState
			if in.Fleet != "" {
				lc += " (" + in.Fleet + " fleet)" // a blue/green deployment's
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", in.InstanceID, dash(in.AvailabilityZone), lc, health,
				in.LaunchTemplateVersion, yesNo(in.ProtectedFromScaleIn), age, dash(strings.Join(in.TargetGroups, ",")), hook)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if len(g.ScalingPolicies) > 0 {
		fmt.Fprintln(e.stdout, "\nScaling policies (put an ARN in an alarm's alarmActions):")
		tw = e.table()
		fmt.Fprintln(tw, "NAME\tTYPE\tARN")
		for _, p := range g.ScalingPolicies {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.PolicyName, p.PolicyType, dash(p.PolicyARN))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(g.ScheduledActions) > 0 {
		fmt.Fprintln(e.stdout, "\nScheduled actions:")
		tw = e.table()
		fmt.Fprintln(tw, "NAME\tRECURRENCE\tNEXT RUN")
		for _, a := range g.ScheduledActions {
			next := "-"
			if !a.NextRun.IsZero() {
				next = a.NextRun.Local().Format("2006-01-02 15:04 MST") + " (in " + durText(a.NextRun.Sub(now).Seconds()) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.ScheduledActionName, dash(a.Recurrence), next)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(g.LifecycleHooks) > 0 {
		fmt.Fprintln(e.stdout, "\nLifecycle hooks:")
		tw = e.table()
		fmt.Fprintln(tw, "NAME\tTRANSITION\tHEARTBEAT\tDEFAULT RESULT")
		for _, h := range g.LifecycleHooks {
			hb := "3600s"
			if h.HeartbeatTimeout != nil {
				hb = strconv.Itoa(*h.HeartbeatTimeout) + "s"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.LifecycleHookName, h.LifecycleTransition, hb, dash(h.DefaultResult))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if wp := g.WarmPool; wp != nil {
		prepared := "max size"
		if wp.MaxGroupPreparedCapacity != nil && *wp.MaxGroupPreparedCapacity >= 0 {
			prepared = strconv.Itoa(*wp.MaxGroupPreparedCapacity)
		}
		fmt.Fprintf(e.stdout, "\nWarm pool: %d warm, min %d, state %s, max prepared capacity %s, reuse on scale-in %s\n",
			g.Warm, wp.MinSize, dash(wp.PoolState), prepared, yesNo(wp.ReuseOnScaleIn))
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func asgActivitiesCmd(e *env) *cobra.Command {
	var max int
	var follow bool
	c := &cobra.Command{
		Use:   "activities NAME",
		Short: "Show a group's scaling activities with their causes, newest first (like aws autoscaling describe-scaling-activities)",
		Example: "  madang asg activities web\n  madang asg activities web --max 5\n  madang asg activities web -f   # then every new activity and status change\n" +
			"  madang asg activities web -o json   # the raw list, as describe-scaling-activities' Activities",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if max < 1 || max > v1.MaxActivities {
				return usageErr(cmd, "--max %d is not from 1 to %d", max, v1.MaxActivities)
			}
			as, err := e.client().ScalingActivities(cmd.Context(), args[0], max)
			if err != nil {
				return err
			}
			if e.json() && !follow {
				if as == nil {
					as = []v1.ScalingActivity{}
				}
				return e.printJSON(as)
			}
			switch {
			case e.json():
				for _, a := range slices.Backward(as) {
					if err := e.printJSONLine(a); err != nil {
						return err
					}
				}
			case len(as) == 0:
				fmt.Fprintf(e.stdout, "no scaling activities for %s yet\n", args[0])
			default:
				printActivities(e, as)
			}
			if !follow {
				return nil
			}
			return followActivities(cmd.Context(), e, args[0], as)
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new activities and status changes (Ctrl-C stops)")
	c.Flags().IntVar(&max, "max", v1.DefaultMaxActivities, fmt.Sprintf("at most this many activities (AWS's --max-items; up to %d)", v1.MaxActivities))
	return c
}

// printActivities prints one line per activity and its cause (and failure
// message) wrapped beneath it. It aligns the columns itself: a tabwriter
// would let the cause lines break the columns.
func printActivities(e *env, as []v1.ScalingActivity) {
	const startWidth = len("01-02 15:04:05")
	statusWidth := len("STATUS")
	for _, a := range as {
		statusWidth = max(statusWidth, len(activityStatus(a)))
	}
	fmt.Fprintf(e.stdout, "%-*s  %-*s  %s\n", startWidth, "START", statusWidth, "STATUS", "DESCRIPTION")
	for _, a := range as {
		printActivityRow(e, a, statusWidth)
	}
}

// printActivityRow prints one activity: its line, then its cause (and
// failure message) wrapped beneath it.
func printActivityRow(e *env, a v1.ScalingActivity, statusWidth int) {
	const startWidth = len("01-02 15:04:05")
	fmt.Fprintf(e.stdout, "%-*s  %-*s  %s\n", startWidth, a.StartTime.Local().Format("01-02 15:04:05"), statusWidth, activityStatus(a), a.Description)
	for _, l := range wrap(a.Cause, 100) {
		fmt.Fprintf(e.stdout, "    %s\n", l)
	}
	if a.StatusMessage != "" {
		for _, l := range wrap("status: "+a.StatusMessage, 100) {
			fmt.Fprintf(e.stdout, "    %s\n", l)
		}
	}
}

// activityPoll is how often activities -f looks for changes.
const activityPoll = 500 * time.Millisecond

// followActivities prints, until ctx ends, every activity of group not in
// seen and every status change, oldest first (JSON Lines with -o json).
func followActivities(ctx context.Context, e *env, group string, seen []v1.ScalingActivity) error {
	status := map[string]string{}
	for _, a := range seen {
		status[a.ActivityID] = activityStatus(a)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(activityPoll):
		}
		as, err := e.client().ScalingActivities(ctx, group, v1.MaxActivities)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, a := range slices.Backward(as) {
			st := activityStatus(a)
			old, known := status[a.ActivityID]
			if known && old == st {
				continue
			}
			status[a.ActivityID] = st
			switch {
			case e.json():
				if err := e.printJSONLine(a); err != nil {
					return err
				}
			case known:
				fmt.Fprintf(e.stdout, "%s  %s → %s\n", time.Now().Format("01-02 15:04:05"), a.Description, st)
			default:
				printActivityRow(e, a, len("STATUS"))
			}
		}
	}
}

// activityStatus is an activity's status code, with its progress while it
// runs.
func activityStatus(a v1.ScalingActivity) string {
	if a.EndTime.IsZero() && a.Progress > 0 && a.Progress < 100 {
		return fmt.Sprintf("%s %d%%", a.StatusCode, a.Progress)
	}
	return a.StatusCode
}

// wrap breaks s into lines of at most width runes at spaces (longer
// words stay whole).
func wrap(s string, width int) []string {
	var lines []string
	var cur strings.Builder
	n := 0
	for _, w := range strings.Fields(s) {
		wl := len([]rune(w))
		if n > 0 && n+1+wl > width {
			lines = append(lines, cur.String())
			cur.Reset()
			n = 0
		}
		if n > 0 {
			cur.WriteByte(' ')
			n++
		}
		cur.WriteString(w)
		n += wl
	}
	if n > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

func asgSetDesiredCmd(e *env) *cobra.Command {
	var honor bool
	c := &cobra.Command{
		Use:   "set-desired NAME N",
		Short: "Set a group's desired capacity (like aws autoscaling set-desired-capacity)",
		Long: "Set a group's desired capacity, within its min and max size; the group then launches or\n" +
			"terminates instances to reach it. Scaling policies and scheduled actions may change it again.",
		Example: "  madang asg set-desired web 3\n  madang asg set-desired web 1 --honor-cooldown",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil {
				return usageErr(cmd, "N (the desired capacity) %q is not an integer", args[1])
			}
			if n < 0 {
				return usageErr(cmd, "N (the desired capacity) %d is negative", n)
			}
			c := e.client()
			before, err := c.AutoScalingGroup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			g, err := c.SetDesiredCapacity(cmd.Context(), args[0], n, honor)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(g)
			}
			fmt.Fprintf(e.stdout, "desired capacity of %s: %d → %d\n", args[0], before.DesiredCapacity, g.DesiredCapacity)
			return nil
		},
	}
	c.Flags().BoolVar(&honor, "honor-cooldown", false, "refuse while the group's cooldown runs (AWS's --honor-cooldown)")
	return c
}

// lifecycleFlags are the flags naming an instance's wait in a hook.
type lifecycleFlags struct {
	hook, instanceID, token string
}

func (f *lifecycleFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.hook, "hook", "", "the lifecycle hook's name (required)")
	c.Flags().StringVar(&f.instanceID, "instance-id", "", "the waiting instance's id")
	c.Flags().StringVar(&f.token, "token", "", "the lifecycle action token (see madang asg describe NAME -o json)")
}

func (f *lifecycleFlags) check(cmd *cobra.Command) error {
	switch {
	case f.hook == "":
		return usageErr(cmd, "--hook is required")
	case f.instanceID == "" && f.token == "":
		return usageErr(cmd, "give --instance-id or --token")
	}
	return nil
}

// target names the instance for messages.
func (f *lifecycleFlags) target() string {
	if f.instanceID != "" {
		return "instance " + f.instanceID
	}
	return "token " + f.token
}

func asgCompleteCmd(e *env) *cobra.Command {
	var f lifecycleFlags
	var result string
	c := &cobra.Command{
		Use:   "complete-lifecycle-action NAME --hook H (--instance-id ID | --token T) --result CONTINUE|ABANDON",
		Short: "End an instance's wait in a lifecycle hook (like aws autoscaling complete-lifecycle-action)",
		Example: "  madang asg complete-lifecycle-action web --hook warm-cache --instance-id i-0abc --result CONTINUE\n" +
			"  madang asg complete-lifecycle-action web --hook drain --token 6f1c… --result ABANDON",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			if result != "CONTINUE" && result != "ABANDON" {
				return usageErr(cmd, "--result %q is not CONTINUE or ABANDON", result)
			}
			err := e.client().CompleteLifecycleAction(cmd.Context(), args[0], v1.CompleteLifecycleActionRequest{
				LifecycleHookName: f.hook, InstanceID: f.instanceID, LifecycleActionToken: f.token, LifecycleActionResult: result})
			if err != nil {
				return err
			}
			if !e.json() {
				fmt.Fprintf(e.stdout, "lifecycle action of %s in hook %s completed: %s\n", f.target(), f.hook, result)
			}
			return nil
		},
	}
	f.add(c)
	c.Flags().StringVar(&result, "result", "", "CONTINUE or ABANDON (required)")
	return c
}

func asgHeartbeatCmd(e *env) *cobra.Command {
	var f lifecycleFlags
	c := &cobra.Command{
		Use:     "record-heartbeat NAME --hook H (--instance-id ID | --token T)",
		Short:   "Extend an instance's wait in a lifecycle hook by its heartbeat timeout (like aws autoscaling record-lifecycle-action-heartbeat)",
		Example: "  madang asg record-heartbeat web --hook warm-cache --instance-id i-0abc",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			err := e.client().RecordLifecycleActionHeartbeat(cmd.Context(), args[0], v1.LifecycleHeartbeatRequest{
				LifecycleHookName: f.hook, InstanceID: f.instanceID, LifecycleActionToken: f.token})
			if err != nil {
				return err
			}
			if !e.json() {
				fmt.Fprintf(e.stdout, "heartbeat recorded for %s in hook %s\n", f.target(), f.hook)
			}
			return nil
		},
	}
	f.add(c)
	return c
}
