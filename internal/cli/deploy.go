package cli

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/autoscaling"
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

// Deployment types of madang deploy.
const (
	deployInPlace     = "in-place"
	deployReplacement = "replacement"
	deployBlueGreen   = "blue-green"
)

// zonalOptions are madang deploy's zone-at-a-time flags (in place).
type zonalOptions struct {
	perZone               string
	monitor, firstMonitor time.Duration
}

// config returns the zonal configuration the flags ask for (nil: none).
func (o zonalOptions) config(cmd *cobra.Command) (*v1.ZonalConfig, error) {
	fl := cmd.Flags()
	if o.perZone == "" && !fl.Changed("zone-monitor") && !fl.Changed("first-zone-monitor") {
		return nil, nil
	}
	secs := func(flag string, d time.Duration) (int, error) {
		if d < 0 || d > 48*time.Hour || d%time.Second != 0 {
			return 0, fmt.Errorf("--%s %s: give whole seconds from 0s to 48h", flag, d)
		}
		return int(d / time.Second), nil
	}
	z := &v1.ZonalConfig{}
	var err error
	if z.MonitorDurationSeconds, err = secs("zone-monitor", o.monitor); err != nil {
		return nil, err
	}
	if fl.Changed("first-zone-monitor") {
		f, err := secs("first-zone-monitor", o.firstMonitor)
		if err != nil {
			return nil, err
		}
		z.FirstZoneMonitorDurationSeconds = &f
	}
	if o.perZone != "" {
		mh, err := autoscaling.ParseMinimumHealthyHosts("--per-zone-min-healthy", o.perZone)
		if err != nil {
			return nil, err
		}
		z.MinimumHealthyHostsPerZone = &struct {
			Type  string `json:"type"`
			Value int    `json:"value"`
		}{mh.Type, mh.Value}
	}
	return z, nil
}

// blueGreenOptions are madang deploy's blue/green flags.
type blueGreenOptions struct {
	traffic string
	wait    time.Duration
	keep    bool
}

func deployCmd(e *env) *cobra.Command {
	var file, config, custom, kind string
	var groups, alarms []string
	var noRollback bool
	var bake int
	var bg blueGreenOptions
	var zonal zonalOptions
	c := &cobra.Command{
		Use:   "deploy [-f FILE]",
		Short: "Apply a stack and roll its new version out to its Auto Scaling groups, with automatic rollback",
		Long: "deploy is the one-command path from a changed source directory (or launch template) to a\n" +
			"rolled-out version: it applies the stack file (a changed source builds a new image version),\n" +
			"then rolls the new version out to the stack's Auto Scaling groups, sized by a CodeDeploy\n" +
			"deployment configuration, printing its progress. A failure rolls the group back (unless\n" +
			"--no-rollback) and deploy exits 1.\n\n" +
			"--type in-place (the default, as CodeDeploy's for EC2) installs the new image version on the\n" +
			"instances where they are, keeping their ids and addresses, through CodeDeploy's lifecycle events\n" +
			"(BlockTraffic, ApplicationStop, BeforeInstall, Install, AfterInstall, ApplicationStart,\n" +
			"ValidateService, AllowTraffic) and the hooks of the revision's appspec.yml; nothing is launched.\n" +
			"A group whose stack has instanceRefresh: is replaced by the instance refresh the apply starts.\n" +
			"--type replacement replaces the instances through an instance refresh (a batch terminated, its\n" +
			"replacements launched), with --bake-time.\n" +
			"--type blue-green launches a replacement fleet of the new version beside the group's instances,\n" +
			"registered at weight 0 in its target groups; once every replacement is healthy the traffic moves\n" +
			"to it (--traffic all-at-once, canary:10%:5m or linear:25%:30s); the original instances stay\n" +
			"registered at weight 0 for --termination-wait (an instant rollback until then), then terminate.\n" +
			"The revision's appspec.yml hooks run as in CodeDeploy's EC2 blue/green: on each replacement\n" +
			"BeforeInstall, AfterInstall, ApplicationStart and ValidateService before the fleet counts as ready,\n" +
			"BeforeAllowTraffic before the first traffic step and AfterAllowTraffic at 100%; then on each\n" +
			"original BeforeBlockTraffic and AfterBlockTraffic (its old revision's scripts).\n" +
			"A replacement failing its health checks or a hook, an original failing a hook, or an --alarm in\n" +
			"ALARM moves the traffic back and terminates the replacements; with --no-rollback the traffic still\n" +
			"moves back, but the replacements leave the group still running, to be inspected.\n" +
			"In place, --per-zone-min-healthy, --zone-monitor and --first-zone-monitor deploy one availability\n" +
			"zone at a time (CodeDeploy's zonal configuration), waiting the monitor duration between zones.",
		Example: "  madang deploy -f examples/quickstart/madang.yaml\n" +
			"  madang deploy --config CodeDeployDefault.HalfAtATime --alarm web-5xx\n" +
			"  madang deploy --min-healthy-hosts 75%\n" +
			"  madang deploy --type replacement --bake-time 60\n" +
			"  madang deploy --type blue-green --traffic canary:10%:1m --termination-wait 10m",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kind != "" && kind != deployInPlace && kind != deployReplacement && kind != deployBlueGreen {
				return usageErr(cmd, "--type %q: use %s, %s or %s", kind, deployInPlace, deployReplacement, deployBlueGreen)
			}
			if kind != deployBlueGreen && (bg.traffic != "" || bg.keep || cmd.Flags().Changed("termination-wait")) {
				return usageErr(cmd, "--traffic, --termination-wait and --keep-originals are for --type %s", deployBlueGreen)
			}
			zc, err := zonal.config(cmd)
			if err != nil {
				return usageErr(cmd, "%v", err)
			}
			if zc != nil && (kind == deployBlueGreen || kind == deployReplacement) {
				return usageErr(cmd, "--per-zone-min-healthy, --zone-monitor and --first-zone-monitor are for --type %s", deployInPlace)
			}
			if _, err := autoscaling.ParseTrafficRouting(bg.traffic); err != nil {
				why := strings.TrimPrefix(err.Error(), fmt.Sprintf("trafficRouting %q: ", bg.traffic))
				return usageErr(cmd, "--traffic %q: %s", bg.traffic, why) // why ends with the forms to use
			}
			if bg.wait < 0 || bg.wait > autoscaling.MaxTerminationWait || bg.wait%time.Second != 0 {
				return usageErr(cmd, "--termination-wait %s: give whole seconds from 0s to 48h", bg.wait)
			}
			if _, err := minHealthyPercent(cmp.Or(config, deployHalfAtTime), custom, 1); err != nil && custom == "" {
				return usageErr(cmd, "%v", err)
			}
			req, err := readStack(file, false)
			if err != nil {
				return err
			}
			replaced := refreshGroups(req.YAML)
			if kind == deployInPlace || kind == deployBlueGreen {
				for _, g := range groups {
					if replaced[g] {
						return fmt.Errorf("group %s has instanceRefresh: in the stack, so every apply replaces its instances; remove instanceRefresh: for %s deployments, or use --type replacement", g, kind)
					}
				}
				if len(groups) == 0 {
					for _, g := range slices.Sorted(maps.Keys(replaced)) {
						return fmt.Errorf("group %s has instanceRefresh: in the stack, so every apply replaces its instances; remove instanceRefresh: for %s deployments, or use --type replacement", g, kind)
					}
				}
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
				if kind == deployBlueGreen {
					err = deployBlueGreenGroup(cmd, e, g, bg, alarms, !noRollback)
				} else if kind == deployReplacement || replaced[g.Name] {
					err = deployGroup(cmd, e, g, started, config, custom, alarms, bake, !noRollback)
				} else {
					err = deployInPlaceGroup(cmd, e, g, config, custom, alarms, zc, !noRollback)
				}
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&file, "file", "f", "madang.yaml", "stack file")
	f.StringVar(&kind, "type", "", "deployment type: in-place (default; a group with instanceRefresh: is replaced) or replacement")
	f.StringArrayVar(&groups, "group", nil, "deploy to this Auto Scaling group (repeatable; default: every group of the stack)")
	f.StringVar(&config, "config", "", "deployment configuration: "+deployAllAtOnce+", "+deployHalfAtTime+" or "+deployOneAtATime+
		" (default: OneAtATime in place, as CodeDeploy; HalfAtATime for replacement)")
	f.StringVar(&custom, "min-healthy-hosts", "", "custom minimum healthy hosts instead of --config: a percentage (75%) or a count (3)")
	f.StringArrayVar(&alarms, "alarm", nil, "an alarm whose ALARM state stops and rolls back the deployment (repeatable)")
	f.IntVar(&bake, "bake-time", 0, "replacement only: seconds to watch the alarms after the last replacement")
	f.BoolVar(&noRollback, "no-rollback", false, "stop on failure instead of rolling back (blue-green: the traffic still returns to the originals; the replacements are detached, left running for inspection)")
	f.StringVar(&zonal.perZone, "per-zone-min-healthy", "", "in place: deploy one zone at a time, keeping this many hosts (1) or this share (50%) of each zone healthy")
	f.DurationVar(&zonal.monitor, "zone-monitor", 0, "in place, zone at a time: wait after each zone before the next")
	f.DurationVar(&zonal.firstMonitor, "first-zone-monitor", 0, "in place, zone at a time: wait after the first zone (default: --zone-monitor)")
	f.StringVar(&bg.traffic, "traffic", "", "blue-green only: all-at-once (default), canary:PERCENT%:INTERVAL or linear:PERCENT%:INTERVAL, or a CodeDeployDefault.ECS… name")
	f.DurationVar(&bg.wait, "termination-wait", autoscaling.DefaultTerminationWait, "blue-green only: how long the original instances are kept for an instant rollback (0s to 48h)")
	f.BoolVar(&bg.keep, "keep-originals", false, "blue-green only: leave the original instances running outside the group instead of terminating them")
	return c
}

// refreshGroups returns the groups of a stack file that have
// instanceRefresh preferences (their apply starts a refresh).
func refreshGroups(stackYAML string) map[string]bool {
	var doc struct {
		Groups []struct {
			Name            string `yaml:"name"`
			InstanceRefresh any    `yaml:"instanceRefresh"`
		} `yaml:"autoScalingGroups"`
	}
	out := map[string]bool{}
	if yaml.Unmarshal([]byte(stackYAML), &doc) != nil {
		return out
	}
	for _, g := range doc.Groups {
		if g.InstanceRefresh != nil {
			out[g.Name] = true
		}
	}
	return out
}

// upToDate reports (printing so) whether every instance of the group
// already runs its image's newest version.
func upToDate(cmd *cobra.Command, e *env, g v1.AutoScalingGroup) (bool, error) {
	cl := e.client()
	ctx := cmd.Context()
	ins, err := cl.Instances(ctx)
	if err != nil {
		return false, err
	}
	images, err := cl.Images(ctx)
	if err != nil {
		return false, err
	}
	members := map[string]bool{}
	for _, in := range g.Instances {
		members[in.InstanceID] = true
	}
	outdated, image, newest := 0, "", 0
	for _, in := range ins {
		if !members[in.ID] {
			continue
		}
		image = in.Image
		for _, im := range images {
			if im.Spec.Name == in.Image {
				newest = im.Current().Number
			}
		}
		if in.ImageVersion != newest {
			outdated++
		}
	}
	if len(members) > 0 && outdated == 0 {
		fmt.Fprintf(e.stdout, "● %s: every instance already runs image %s v%d; nothing to deploy\n", g.Name, image, newest)
		return true, nil
	}
	return false, nil
}

// deployInPlaceGroup starts an in-place deployment of the group's image's
// newest version, unless every instance runs it, and follows it.
func deployInPlaceGroup(cmd *cobra.Command, e *env, g v1.AutoScalingGroup, config, custom string, alarms []string, zonal *v1.ZonalConfig, rollback bool) error {
	cl := e.client()
	ctx := cmd.Context()
	if done, err := upToDate(cmd, e, g); done || err != nil {
		return err
	}
	if config == "" && custom == "" {
		config = deployOneAtATime
	}
	d, err := cl.StartDeployment(ctx, g.Name, v1.DeploymentRequest{DeploymentConfigName: config, MinimumHealthyHosts: custom,
		DisableRollback: !rollback, Alarms: alarms, ZonalConfig: zonal})
	if err != nil {
		return err
	}
	if !e.json() {
		fmt.Fprintf(e.stdout, "● %s: in-place deployment %s: image %s v%d → v%d on %d instance(s), %s (%d at a time, %d kept healthy)\n",
			g.Name, d.ID, d.Image, d.FromImageVersion, d.ImageVersion, len(d.Instances), configName(d), d.AtOnce, d.MinHealthy)
	}
	return followDeployment(ctx, e, g.Name, d.ID, true)
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
	if config == "" {
		config = deployHalfAtTime
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

// deployBlueGreenGroup starts a blue/green deployment of the group's
// image's newest version, unless every instance runs it, and follows it.
func deployBlueGreenGroup(cmd *cobra.Command, e *env, g v1.AutoScalingGroup, o blueGreenOptions, alarms []string, rollback bool) error {
	ctx := cmd.Context()
	if done, err := upToDate(cmd, e, g); done || err != nil {
		return err
	}
	r, err := autoscaling.ParseTrafficRouting(o.traffic)
	if err != nil {
		return err
	}
	wait := int(o.wait / time.Second)
	d, err := e.client().StartDeployment(ctx, g.Name, v1.DeploymentRequest{DeploymentType: autoscaling.DeploymentBlueGreen,
		TrafficRouting:         &v1.TrafficRouting{Type: r.Type, Percentage: r.Percentage, IntervalSeconds: r.IntervalSeconds},
		TerminationWaitSeconds: &wait, KeepOriginals: o.keep, Alarms: alarms, DisableRollback: !rollback})
	if err != nil {
		return err
	}
	if !e.json() {
		fmt.Fprintf(e.stdout, "● %s: blue/green deployment %s: image %s v%d → v%d, a replacement fleet of %d; traffic %s\n",
			g.Name, d.ID, d.Image, d.FromImageVersion, d.ImageVersion, len(d.Instances), r)
	}
	return followDeployment(ctx, e, g.Name, d.ID, true)
}
