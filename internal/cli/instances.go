package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
)

func psCmd(e *env) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:     "ps",
		Aliases: []string{"list", "ls", "instances"},
		Short:   "List instances with their state, address and live process facts",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			vs, err := e.client().Instances(cmd.Context())
			if err != nil {
				return err
			}
			if !all {
				vs = slices.DeleteFunc(vs, func(v v1.Instance) bool { return v.State == v1.StateTerminated })
			}
			if e.json() {
				if vs == nil {
					vs = []v1.Instance{}
				}
				return e.printJSON(vs)
			}
			if len(vs) == 0 {
				fmt.Fprintln(e.stdout, "no instances; start some with `madang up -f madang.yaml`")
				return nil
			}
			tw := e.table()
			fmt.Fprintln(tw, "ID\tNAME\tSTATE\tADDRESS\tPID\tCPU\tMEM\tRESTARTS\tUPTIME\tTYPE\tIMAGE")
			for _, v := range vs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f%%\t%s\t%d\t%s\t%s\t%s:v%d\n",
					v.ID, dash(nameOf(v)), stateText(v), dash(v.Addr()), pidText(v.PID), v.CPUPercent,
					bytesText(v.MemoryBytes), v.Restarts, durText(v.UptimeSeconds), v.InstanceType, v.Image, v.ImageVersion)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "include terminated instances")
	return cmd
}

func stateText(v v1.Instance) string {
	s := v.State
	if v.Detail != "" && v.Detail != v.State && v.Detail != "running" && v.Detail != "stopped" {
		s += "/" + v.Detail
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pidText(p int) string {
	if p == 0 {
		return "-"
	}
	return strconv.Itoa(p)
}

func bytesText(b uint64) string {
	switch {
	case b == 0:
		return "-"
	case b < 1<<20:
		return fmt.Sprintf("%.0fKiB", float64(b)/1024)
	case b < 1<<30:
		return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20))
	default:
		return fmt.Sprintf("%.2fGiB", float64(b)/(1<<30))
	}
}

func durText(sec float64) string {
	if sec <= 0 {
		return "-"
	}
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// resolve turns instance ids or group names into ids.
func resolve(ctx context.Context, c *api.Client, refs []string) ([]string, error) {
	var ids []string
	for _, r := range refs {
		got, err := c.Resolve(ctx, r)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

func describeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "describe ID|NAME...",
		Short: "Show everything about instances: state, reason, last exit, last log lines, limits",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := e.client()
			ids, err := resolve(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			var vs []v1.Instance
			for _, id := range ids {
				v, err := c.Describe(cmd.Context(), id)
				if err != nil {
					return err
				}
				vs = append(vs, v)
			}
			if e.json() {
				// One instance id is one object; a group name or
				// several ids are an array, however many they hold.
				if len(args) == 1 && len(ids) == 1 && ids[0] == args[0] {
					return e.printJSON(vs[0])
				}
				if vs == nil {
					vs = []v1.Instance{}
				}
				return e.printJSON(vs)
			}
			printGroupStatus(cmd.Context(), e, c, args)
			for i, v := range vs {
				if i > 0 {
					fmt.Fprintln(e.stdout)
				}
				printDescribe(e, v)
			}
			return nil
		},
	}
}

// printGroupStatus prints, for every argument that names an instance
// group, what its controller last did: the versions it rolls out and how
// far the rollout got.
func printGroupStatus(ctx context.Context, e *env, c *api.Client, args []string) {
	groups, err := c.InstanceGroups(ctx)
	if err != nil {
		return
	}
	printed := false
	for _, g := range groups {
		if !slices.Contains(args, g.Spec.Name) || g.Status == nil {
			continue
		}
		st := g.Status
		line := fmt.Sprintf("group %s: launch template %s v%d, image v%d; %d/%d instances updated, %d at a time",
			g.Spec.Name, g.Spec.LaunchTemplate, st.LaunchTemplateVersion, st.ImageVersion, st.Updated, st.Total, st.MaxUnavailable)
		switch {
		case st.Rollout == "Failed":
			line += "; rollout failed: " + st.Reason
		case st.Rollout == "InProgress":
			line += fmt.Sprintf("; rollout in progress since %s", st.StartedAt.Local().Format("15:04:05"))
		case st.Rollout != "" && !st.FinishedAt.IsZero():
			line += fmt.Sprintf("; last rollout %s at %s", strings.ToLower(st.Rollout), st.FinishedAt.Local().Format("15:04:05"))
		}
		fmt.Fprintln(e.stdout, line)
		printed = true
	}
	if printed {
		fmt.Fprintln(e.stdout)
	}
}

func printDescribe(e *env, v v1.Instance) {
	tw := e.table()
	row := func(k, val string) { fmt.Fprintf(tw, "%s:\t%s\n", k, val) }
	row("Instance", v.ID)
	row("Name", dash(nameOf(v)))
	row("State", stateText(v))
	if v.StateReason != "" {
		row("Reason", v.StateReason)
	}
	row("Private IP", v.PrivateIP)
	row("Port", strconv.Itoa(v.Port))
	row("Address", v.Addr())
	row("Launch template", fmt.Sprintf("%s (requested %s, running version %d)", v.LaunchTemplate, dash(v.LaunchTemplateVersion), v.ResolvedVersion))
	row("Image", fmt.Sprintf("%s v%d", v.Image, v.ImageVersion))
	row("Instance type", v.InstanceType)
	if l := v.Limits; l != nil {
		enf := func(ok bool) string {
			if ok {
				return "enforced"
			}
			return "not enforced"
		}
		lim := fmt.Sprintf("%g vCPU (%s), %d MiB (%s)", l.VCPUs, enf(l.CPUEnforced), l.MemoryMiB, enf(l.MemoryEnforced))
		if l.Note != "" {
			lim += " — " + l.Note
		}
		row("Limits", lim)
	}
	row("PID", pidText(v.PID))
	row("CPU", fmt.Sprintf("%.1f%%", v.CPUPercent))
	row("Memory", bytesText(v.MemoryBytes))
	metrics := "AWS/EC2 every second, InstanceId=" + v.ID
	if v.Group != "" {
		metrics += " and AutoScalingGroupName=" + v.Group
	}
	row("Metrics", metrics+": CPUUtilization, MemoryUtilization, DiskRead/WriteBytes (and Ops with a cgroup), StatusCheckFailed*")
	row("Network", "NetworkIn/Out not measured: instances share the host's network; the load balancer publishes bytes per target")
	row("Uptime", durText(v.UptimeSeconds))
	row("Restarts", strconv.Itoa(v.Restarts))
	if !v.NextRestartAt.IsZero() {
		row("Next restart", v.NextRestartAt.Local().Format("15:04:05.000"))
	}
	if x := v.LastExit; x != nil {
		how := "exit code " + strconv.Itoa(x.Code)
		if x.Signal != "" {
			how = "killed by " + x.Signal
		}
		row("Last exit", fmt.Sprintf("%s at %s", how, x.At.Local().Format(time.DateTime)))
	}
	row("Launched", v.LaunchTime.Local().Format(time.DateTime))
	row("Directory", v.Dir)
	if len(v.Tags) > 0 {
		var tags []string
		for _, k := range slices.Sorted(maps.Keys(v.Tags)) {
			tags = append(tags, k+"="+v.Tags[k])
		}
		row("Tags", strings.Join(tags, ", "))
	}
	_ = tw.Flush()
	if len(v.LastLines) > 0 {
		fmt.Fprintln(e.stdout, "Last log lines:")
		for _, l := range v.LastLines {
			fmt.Fprintln(e.stdout, "  | "+l)
		}
	}
}

func runCmd(e *env) *cobra.Command {
	var req v1.RunRequest
	var tags []string
	cmd := &cobra.Command{
		Use:   "run --launch-template NAME [--count N] [--name NAME]",
		Short: "Launch instances from a launch template (RunInstances)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.LaunchTemplate == "" {
				return usageErr(cmd, "--launch-template is required; see `madang templates` for the names")
			}
			t, err := parseTags(cmd, tags)
			if err != nil {
				return err
			}
			req.Tags = t
			ins, err := e.client().Run(cmd.Context(), req)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(ins)
			}
			for _, in := range ins {
				fmt.Fprintf(e.stdout, "%s\tpending\t%s\n", in.ID, in.Addr())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&req.LaunchTemplate, "launch-template", "", "launch template name")
	cmd.Flags().StringVar(&req.Version, "version", "", "launch template version: $Default (default), $Latest or a number")
	cmd.Flags().IntVar(&req.Count, "count", 1, "how many instances (1–100)")
	cmd.Flags().StringVar(&req.Group, "name", "", "Name tag / group of the new instances")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag KEY=VALUE (repeatable)")
	return cmd
}

func parseTags(cmd *cobra.Command, kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErr(cmd, "tag %q is not KEY=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func actionCmd(e *env, name, short string) *cobra.Command {
	action := name
	if name == "restart" {
		action = "reboot"
	}
	var wait bool
	cmd := &cobra.Command{
		Use:   name + " ID|NAME...",
		Short: short,
		Long:  actionLong[action],
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := e.client()
			ids, err := resolve(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			var results []v1.Instance
			// Reboots of a group go one at a time, each waiting for the
			// previous instance to run again, so a group behind a load
			// balancer keeps serving; other actions run in parallel.
			if action == "reboot" {
				for _, id := range ids {
					in, err := c.Action(cmd.Context(), id, action)
					if err != nil {
						return err
					}
					printWarnings(e, in)
					if err := waitState(cmd.Context(), c, id, v1.StateRunning, time.Minute); err != nil {
						return err
					}
					in.State = v1.StateRunning
					results = append(results, in)
					if !e.json() {
						fmt.Fprintf(e.stdout, "%s\trunning\n", id)
					}
				}
				return printActions(e, results)
			}
			var mu sync.Mutex
			var errs []error
			var wg sync.WaitGroup
			for _, id := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					in, err := c.Action(cmd.Context(), id, action)
					if err == nil && wait && action == "start" {
						if err = waitState(cmd.Context(), c, id, v1.StateRunning, time.Minute); err == nil {
							in.State = v1.StateRunning
						}
					}
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", id, err))
						return
					}
					if action == "start" {
						printWarnings(e, in)
					}
					results = append(results, in)
					if !e.json() {
						fmt.Fprintf(e.stdout, "%s\t%s\n", in.ID, in.State)
					}
				}()
			}
			wg.Wait()
			if err := printActions(e, results); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	if name == "start" {
		cmd.Flags().BoolVar(&wait, "wait", true, "wait until the instances are running")
	}
	return cmd
}

// actionLong is the full help of actions whose short help cannot say
// everything.
var actionLong = map[string]string{
	"start": `Start stopped instances (StartInstances). Each start re-reads the instance's
env and launch template version and runs the image's latest built version.
It does not build: changed source reaches instances only through
madang apply -f FILE, and a start warns (on stderr) when the image's source
changed since the version it runs was built.`,
	"reboot": `Stop and start instances' processes (RebootInstances; restart is an alias,
as pm2 restart). A group's instances reboot one at a time, each waiting for
the previous to run again.

A reboot re-reads the instance's env and launch template version and runs the
image's latest built version. It does not build: after git pull, build and
roll out the new code with madang apply -f FILE (it reboots the instances of
changed groups one at a time). A reboot warns (on stderr) when the image's
source changed since the version it runs was built.`,
}

// printWarnings prints an instance's warnings (such as an image source
// that changed but was not built) on stderr.
func printWarnings(e *env, in v1.Instance) {
	for _, w := range in.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s: %s\n", in.ID, w)
	}
}

// printActions prints the instances an action changed as a JSON array
// (in id order) with -o json; tables were printed as they finished.
func printActions(e *env, ins []v1.Instance) error {
	if !e.json() {
		return nil
	}
	slices.SortFunc(ins, func(a, b v1.Instance) int { return strings.Compare(a.ID, b.ID) })
	if ins == nil {
		ins = []v1.Instance{}
	}
	return e.printJSON(ins)
}

func waitState(ctx context.Context, c *api.Client, id string, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		v, err := c.Describe(ctx, id)
		if err != nil {
			return err
		}
		if v.State == want {
			return nil
		}
		if v.Detail == "errored" || v.Detail == "exited" {
			return fmt.Errorf("instance %s %s: %s (see madang describe %s)", id, v.Detail, v.StateReason, id)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("instance %s still %s after %s", id, v.State, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tagCmd(e *env) *cobra.Command {
	var remove []string
	cmd := &cobra.Command{
		Use:   "tag ID [KEY=VALUE...] [--remove KEY]",
		Short: "Add, change or remove instance tags",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := parseTags(cmd, args[1:])
			if err != nil {
				return err
			}
			in, err := e.client().Tags(cmd.Context(), args[0], v1.TagRequest{Set: set, Remove: remove})
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(in.Tags)
			}
			for _, k := range slices.Sorted(maps.Keys(in.Tags)) {
				fmt.Fprintf(e.stdout, "%s=%s\n", k, in.Tags[k])
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&remove, "remove", nil, "tag key to remove (repeatable)")
	return cmd
}

func logsCmd(e *env) *cobra.Command {
	var follow, list bool
	var lines int
	var since time.Duration
	var filter string
	cmd := &cobra.Command{
		Use:   "logs ID|NAME|/LOG/GROUP",
		Short: "Show an instance's (or a group's, merged) stdout/stderr, or any log group, with CloudWatch filter patterns",
		Long: "logs prints an instance's or an instance group's log lines, or a CloudWatch Logs log group's\n" +
			"events (/madang/instances/GROUP, /madang/elb/LB for access logs). --filter takes CloudWatch Logs'\n" +
			"filter pattern syntax: terms (ERROR), \"exact phrases\", ?or terms, -excluded terms, JSON\n" +
			"({ $.level = \"error\" }) and space-delimited ([ip, user, ..., status=5*]) patterns.",
		Example: "  madang logs web --filter '?ERROR ?panic' -f\n  madang logs /madang/elb/web --filter '[type, time, elb, client, target, t1, t2, t3, status=5*, ...]'\n  madang logs --list",
		Args:    cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if lines < 0 {
				return usageErr(cmd, "--lines %d must be 0 or more", lines)
			}
			if list {
				return listLogGroups(cmd, e)
			}
			if len(args) != 1 {
				return usageErr(cmd, "give an instance id, a group name or a log group (or --list)")
			}
			if filter != "" || strings.HasPrefix(args[0], "/") {
				return filterLogs(cmd, e, args[0], filter, lines, since, follow)
			}
			c := e.client()
			ids, err := resolve(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			var from time.Time
			if since > 0 {
				from = time.Now().Add(-since)
			}
			var mu sync.Mutex
			var all []v1.LogLine
			print := func(l v1.LogLine) {
				if e.json() {
					_ = e.printJSONLine(l)
					return
				}
				prefix := ""
				if len(ids) > 1 {
					prefix = "[" + l.Instance + "] "
				}
				stream := ""
				if l.Stream == "err" {
					stream = "ERR "
				} else if l.Stream == "sys" {
					stream = "madang: "
				}
				fmt.Fprintf(e.stdout, "%s%s %s%s\n", prefix, l.Time.Local().Format("2006-01-02 15:04:05.000"), stream, l.Text)
			}
			// Existing lines of every instance, merged by time.
			for _, id := range ids {
				if err := c.Logs(cmd.Context(), id, lines, from, false, func(l v1.LogLine) { all = append(all, l) }); err != nil {
					return err
				}
			}
			slices.SortStableFunc(all, func(a, b v1.LogLine) int { return a.Time.Compare(b.Time) })
			if lines > 0 && len(all) > lines {
				all = all[len(all)-lines:]
			}
			for _, l := range all {
				print(l)
			}
			if !follow {
				return nil
			}
			var wg sync.WaitGroup
			for _, id := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_ = c.Logs(cmd.Context(), id, 0, time.Now(), true, func(l v1.LogLine) {
						mu.Lock()
						defer mu.Unlock()
						print(l)
					})
				}()
			}
			wg.Wait()
			return nil
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming new lines")
	cmd.Flags().IntVarP(&lines, "lines", "n", 50, "how many lines of history (0 = all)")
	cmd.Flags().DurationVar(&since, "since", 0, "only lines newer than this (e.g. 10m)")
	cmd.Flags().StringVar(&filter, "filter", "", "a CloudWatch Logs filter pattern")
	cmd.Flags().BoolVar(&list, "list", false, "list the log groups, their streams and retention")
	return cmd
}

func eventsCmd(e *env) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show what the daemon did and why (instances, targets, stacks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.client().Events(cmd.Context(), 0, follow, func(ev v1.Event) {
				if e.json() {
					_ = e.printJSONLine(ev)
					return
				}
				fmt.Fprintln(e.stdout, ev.String())
			})
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep streaming")
	return cmd
}

func imagesCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "images",
		Aliases: []string{"image"},
		Short:   "List images; images create makes one from an instance (CreateImage)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ims, err := e.client().Images(cmd.Context())
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(ims)
			}
			tw := e.table()
			fmt.Fprintln(tw, "NAME\tID\tVERSION\tPORT\tCOMMAND\tSOURCE\tSTACK")
			for _, im := range ims {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", im.Spec.Name, im.ID, im.Current().Number, im.Spec.Port, im.Spec.Command, im.Spec.Source, dash(im.Owner))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(imageCreateCmd(e))
	return cmd
}

func imageCreateCmd(e *env) *cobra.Command {
	var from, name, desc string
	var noReboot bool
	c := &cobra.Command{
		Use:   "create --from-instance ID --name NAME",
		Short: "Make an image from an instance's working directory as it is now (EC2 CreateImage)",
		Long: "create snapshots the instance's working directory (the files its app wrote included) as the first\n" +
			"version of a new image with the same command and port; launch templates can then use it by name.\n" +
			"By default the instance is stopped for the snapshot and started again, as EC2 reboots it;\n" +
			"--no-reboot snapshots while it runs.",
		Example: "  madang images create --from-instance i-0abc --name web-golden\n  madang images create --from-instance i-0abc --name web-live --no-reboot",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || name == "" {
				return usageErr(cmd, "--from-instance and --name are required")
			}
			im, err := e.client().CreateImage(cmd.Context(), v1.CreateImageRequest{InstanceID: from, Name: name, Description: desc, NoReboot: noReboot})
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(im)
			}
			fmt.Fprintf(e.stdout, "image %s (%s) created from %s; use it with image: %s in a launch template\n", im.Spec.Name, im.ID, from, im.Spec.Name)
			return nil
		},
	}
	c.Flags().StringVar(&from, "from-instance", "", "the instance to snapshot")
	c.Flags().StringVar(&name, "name", "", "the new image's name")
	c.Flags().StringVar(&desc, "description", "", "free text")
	c.Flags().BoolVar(&noReboot, "no-reboot", false, "snapshot while the app runs (default: stop it for the snapshot, start it again)")
	return c
}

func templatesCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "templates",
		Aliases: []string{"launch-templates"},
		Short:   "List launch templates",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lts, err := e.client().LaunchTemplates(cmd.Context())
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(lts)
			}
			tw := e.table()
			fmt.Fprintln(tw, "NAME\tID\tDEFAULT\tLATEST\tIMAGE\tTYPE\tSTACK")
			for _, lt := range lts {
				d := lt.Versions[len(lt.Versions)-1].Data
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", lt.Name, lt.ID, lt.DefaultVersion, lt.Latest(), d.Image, d.InstanceType, dash(lt.Owner))
			}
			return tw.Flush()
		},
	}
}

// nameOf is an instance's name: its group's, or its Name tag (instances
// run through the AWS endpoint carry only the tag).
func nameOf(v v1.Instance) string {
	if v.Group != "" {
		return v.Group
	}
	return v.Tags["Name"]
}
