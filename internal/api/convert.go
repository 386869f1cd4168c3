package api

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/instancetype"
	"github.com/madang-dev/madang/internal/proxy"
	"github.com/madang-dev/madang/internal/stack"
)

// This file turns the daemon's internal records into wire types. Each
// function copies field by field, so a new internal field stays private
// until it is added to package v1 on purpose.

// convertList converts a slice, returning an empty (not nil) slice so
// lists encode as [].
func convertList[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}

func instanceOf(in compute.Instance) v1.Instance {
	out := v1.Instance{
		ID: in.ID, Group: in.Group, ManagedBy: in.ManagedBy, Zone: in.Zone,
		LaunchTemplate: in.LaunchTemplate, LaunchTemplateVersion: in.LaunchTemplateVersion,
		ResolvedVersion: in.Resolved, Image: in.Image, ImageVersion: in.ImageVersion, ImagePin: in.ImagePin,
		InstanceType: in.InstanceType, PrivateIP: in.PrivateIP, Port: in.Port, Tags: in.Tags,
		Desired: string(in.Desired), State: string(in.State), Detail: in.Detail, StateReason: in.StateReason,
		Dir: in.Dir, Owner: in.Owner, LaunchTime: in.LaunchTime, TerminatedAt: in.TerminatedAt,
		TerminationReason: in.TerminationReason, ReplacedBy: in.ReplacedBy, Warnings: in.Warnings, Restarts: in.Restarts,
	}
	if in.Launch != nil {
		d := launchDataOf(*in.Launch)
		out.Launch = &d
	}
	if p := in.Network; p != nil {
		out.Network = &v1.Placement{SubnetID: p.SubnetID, VpcID: p.VpcID}
		for _, g := range p.SecurityGroups {
			out.Network.SecurityGroups = append(out.Network.SecurityGroups, v1.SecurityGroupRef{ID: g.ID, Name: g.Name})
		}
	}
	return out
}

func viewOf(v compute.View) v1.Instance {
	out := instanceOf(v.Instance)
	out.Phase, out.PID, out.Restarts = v.Phase, v.PID, v.Restarts
	out.UptimeSeconds, out.CPUPercent, out.MemoryBytes = v.UptimeSeconds, v.CPUPercent, v.MemoryBytes
	out.LastLines, out.NextRestartAt = v.LastLines, v.NextRestartAt
	if x := v.LastExit; x != nil {
		out.LastExit = &v1.Exit{Code: x.Code, Signal: x.Signal, At: x.At}
	}
	if l := v.Limits; l != nil {
		out.Limits = &v1.Limits{VCPUs: l.VCPUs, MemoryMiB: l.MemoryMiB, CPUEnforced: l.CPUEnforced, MemoryEnforced: l.MemoryEnforced, Note: l.Note}
	}
	return out
}

// runRequestOf turns a run request into compute's; it fails on a zone
// not in madang's region and on launch data whose durations do not
// parse.
func runRequestOf(r v1.RunRequest) (compute.RunRequest, error) {
	if zones := autoscaling.Zones(); r.Zone != "" && !slices.Contains(zones, r.Zone) {
		return compute.RunRequest{}, fault.Invalidf(fault.KindInstance, "", "availability zone %q is not in madang's region", r.Zone).
			WithHint("use one of " + strings.Join(zones, ", "))
	}
	out := compute.RunRequest{LaunchTemplate: r.LaunchTemplate, Version: r.Version, Count: r.Count, Group: r.Group,
		Tags: r.Tags, Zone: r.Zone}
	if r.Name != "" {
		out.Tags = maps.Clone(r.Tags)
		if out.Tags == nil {
			out.Tags = map[string]string{}
		}
		out.Tags["Name"] = r.Name
	}
	if r.Launch != nil {
		d, err := launchDataFrom(*r.Launch)
		if err != nil {
			return compute.RunRequest{}, err
		}
		out.Launch = &d
	}
	return out, nil
}

// launchDataFrom is launchDataOf's inverse: wire launch data as compute
// keeps it, with its duration strings parsed.
func launchDataFrom(d v1.LaunchTemplateData) (compute.LaunchTemplateData, error) {
	sv := d.Supervision
	var bad error
	dur := func(field, text string) compute.Duration {
		if text == "" {
			return 0
		}
		v, err := time.ParseDuration(text)
		if err != nil && bad == nil {
			bad = fault.Invalidf(fault.KindLaunchTemplate, "", "launch.supervision.%s %q is not a duration", field, text).
				WithHint("write a Go duration such as 500ms, 5s or 1m")
		}
		return compute.Duration(v)
	}
	out := compute.LaunchTemplateData{
		Image: d.Image, InstanceType: d.InstanceType, Env: d.Env, UserData: d.UserData,
		Supervision: compute.SupervisionSpec{
			Restart: compute.RestartPolicy(sv.Restart), MaxRestarts: sv.MaxRestarts,
			MinUptime: dur("minUptime", sv.MinUptime), BackoffInitial: dur("backoffInitial", sv.BackoffInitial),
			BackoffMax: dur("backoffMax", sv.BackoffMax), BackoffResetAfter: dur("backoffResetAfter", sv.BackoffResetAfter),
			StopSignal: sv.StopSignal, KillTimeout: dur("killTimeout", sv.KillTimeout),
			Readiness: compute.ReadinessSpec{HTTPPath: sv.Readiness.HTTPPath, Timeout: dur("readiness.timeout", sv.Readiness.Timeout)},
		},
	}
	if bad != nil {
		return compute.LaunchTemplateData{}, bad
	}
	for _, g := range d.SecurityGroups {
		out.SecurityGroups = append(out.SecurityGroups, compute.SecurityGroupRef{ID: g.ID, Name: g.Name})
	}
	return out, nil
}

// instanceTypes is madang's instance type table on the wire.
func instanceTypes() []v1.InstanceType {
	names := instancetype.Names()
	out := make([]v1.InstanceType, 0, len(names))
	for _, n := range names {
		t, err := instancetype.Lookup(n)
		if err != nil {
			continue
		}
		out = append(out, v1.InstanceType{Name: t.Name, VCPUs: t.VCPUs, MemoryMiB: t.MemoryMiB, Default: t.Name == instancetype.Default})
	}
	return out
}

func imageOf(im compute.Image) v1.Image {
	s := im.Spec
	return v1.Image{
		Spec: v1.ImageSpec{Name: s.Name, Source: s.Source, Build: s.Build, Command: s.Command, Port: s.Port, Description: s.Description},
		ID:   im.ID,
		Versions: convertList(im.Versions, func(v compute.ImageVersion) v1.ImageVersion {
			return v1.ImageVersion{Number: v.Number, Dir: v.Dir, SourceHash: v.SourceHash, BuiltAt: v.BuiltAt, BuildLog: v.BuildLog}
		}),
		Owner: im.Owner, CreatedAt: im.CreatedAt, StackFile: im.StackFile,
	}
}

// durationText is a Go duration string, "" for zero (the default).
func durationText(d compute.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func launchDataOf(d compute.LaunchTemplateData) v1.LaunchTemplateData {
	sv := d.Supervision
	out := v1.LaunchTemplateData{
		Image: d.Image, InstanceType: d.InstanceType, Env: d.Env, UserData: d.UserData,
		Supervision: v1.Supervision{
			Restart: string(sv.Restart), MaxRestarts: sv.MaxRestarts,
			MinUptime: durationText(sv.MinUptime), BackoffInitial: durationText(sv.BackoffInitial),
			BackoffMax: durationText(sv.BackoffMax), BackoffResetAfter: durationText(sv.BackoffResetAfter),
			StopSignal: sv.StopSignal, KillTimeout: durationText(sv.KillTimeout),
			Readiness: v1.Readiness{HTTPPath: sv.Readiness.HTTPPath, Timeout: durationText(sv.Readiness.Timeout)},
		},
	}
	for _, g := range d.SecurityGroups {
		out.SecurityGroups = append(out.SecurityGroups, v1.SecurityGroupRef{ID: g.ID, Name: g.Name})
	}
	return out
}

func launchTemplateOf(lt compute.LaunchTemplate) v1.LaunchTemplate {
	return v1.LaunchTemplate{
		Name: lt.Name, ID: lt.ID, Description: lt.Description, DefaultVersion: lt.DefaultVersion,
		Versions: convertList(lt.Versions, func(v compute.LaunchTemplateVersion) v1.LaunchTemplateVersion {
			return v1.LaunchTemplateVersion{Number: v.Number, CreatedAt: v.CreatedAt, Data: launchDataOf(v.Data)}
		}),
		Owner: lt.Owner, CreatedAt: lt.CreatedAt,
	}
}

func instanceGroupOf(g compute.Group) v1.InstanceGroup {
	s := g.Spec
	out := v1.InstanceGroup{
		Spec:  v1.InstanceGroupSpec{Name: s.Name, LaunchTemplate: s.LaunchTemplate, Version: s.Version, Count: s.Count, Tags: s.Tags, MaxUnavailable: s.MaxUnavailable},
		Owner: g.Owner,
	}
	if st := g.Status; st != nil {
		out.Status = &v1.GroupStatus{LaunchTemplateVersion: st.LaunchTemplateVersion, ImageVersion: st.ImageVersion,
			Rollout: st.Rollout, Updated: st.Updated, Total: st.Total, MaxUnavailable: st.MaxUnavailable,
			StartedAt: st.StartedAt, FinishedAt: st.FinishedAt, Reason: st.Reason}
	}
	return out
}

func targetGroupOf(tg elbctl.TargetGroup) v1.TargetGroup {
	s, hc := tg.Spec, tg.Spec.HealthCheck
	return v1.TargetGroup{
		Spec: v1.TargetGroupSpec{
			Name: s.Name, Vpc: s.Vpc, Protocol: s.Protocol, Port: s.Port, TargetType: s.TargetType,
			HealthCheck: v1.HealthCheckSpec{
				Enabled: hc.Enabled, Protocol: hc.Protocol, Port: hc.Port, Path: hc.Path,
				IntervalSeconds: hc.IntervalSeconds, TimeoutSeconds: hc.TimeoutSeconds,
				HealthyThresholdCount: hc.HealthyThresholdCount, UnhealthyThresholdCount: hc.UnhealthyThresholdCount,
				Matcher: hc.Matcher,
			},
			Attributes: s.Attributes, Tags: s.Tags,
			Targets: nilIfEmpty(convertList(s.Targets, func(t elb.TargetSpec) v1.TargetSpec {
				return v1.TargetSpec{Instances: t.Instances, ID: t.ID, IP: t.IP, Port: t.Port, Weight: t.Weight}
			})),
		},
		ARN: tg.ARN, Owner: tg.Owner, CreatedAt: tg.CreatedAt,
	}
}

// nilIfEmpty keeps omitempty slices out of the JSON.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func targetHealthOf(th health.TargetHealth) v1.TargetHealth {
	return v1.TargetHealth{
		ID: th.ID, Addr: th.Addr, State: string(th.State), Reason: th.Reason, Description: th.Description,
		LastCheck: th.LastCheck, LastLatencySeconds: th.LastLatency.Seconds(),
		ConsecutiveOK: th.ConsecutiveOK, ConsecutiveFail: th.ConsecutiveFail, Since: th.Since, Passive: th.Passive,
	}
}

func loadBalancerOf(lb elbctl.LoadBalancer) v1.LoadBalancer {
	s := lb.Spec
	return v1.LoadBalancer{
		Spec: v1.LoadBalancerSpec{
			Name: s.Name, Type: s.Type, Address: s.Address, Attributes: s.Attributes, Tags: s.Tags,
			Vpc: s.Vpc, SecurityGroups: s.SecurityGroups,
			Subnets: nilIfEmpty(convertList(s.Subnets, func(m elb.SubnetMapping) v1.SubnetMapping {
				return v1.SubnetMapping{Subnet: m.Subnet, AvailabilityZone: m.AvailabilityZone}
			})),
			Listeners: convertList(s.Listeners, func(l elb.ListenerSpec) v1.Listener {
				return v1.Listener{
					Protocol: l.Protocol, Port: l.Port,
					DefaultActions: convertList(l.DefaultActions, actionOf),
					Rules: nilIfEmpty(convertList(l.Rules, func(r elb.RuleSpec) v1.Rule {
						return v1.Rule{Priority: r.Priority, ID: r.ID, Conditions: convertList(r.Conditions, conditionOf), Actions: convertList(r.Actions, actionOf)}
					})),
				}
			}),
		},
		ARN: lb.ARN, Owner: lb.Owner, CreatedAt: lb.CreatedAt,
	}
}

func conditionOf(c elb.ConditionSpec) v1.Condition {
	return v1.Condition{
		Field: c.Field, Values: c.Values, HTTPHeaderName: c.HTTPHeaderName,
		QueryString: nilIfEmpty(convertList(c.QueryString, func(kv elb.KeyValue) v1.KeyValue {
			return v1.KeyValue{Key: kv.Key, Value: kv.Value}
		})),
	}
}

func actionOf(a elb.ActionSpec) v1.Action {
	out := v1.Action{Type: a.Type, TargetGroup: a.TargetGroup}
	if f := a.Forward; f != nil {
		out.Forward = &v1.Forward{TargetGroups: convertList(f.TargetGroups, func(w elb.WeightedTargetGroup) v1.WeightedTargetGroup {
			return v1.WeightedTargetGroup{Name: w.Name, Weight: w.Weight}
		})}
		if st := f.Stickiness; st != nil {
			out.Forward.Stickiness = &v1.GroupStickiness{Enabled: st.Enabled, DurationSeconds: st.DurationSeconds}
		}
	}
	if r := a.Redirect; r != nil {
		out.Redirect = &v1.Redirect{Protocol: r.Protocol, Host: r.Host, Port: r.Port, Path: r.Path, Query: r.Query, StatusCode: r.StatusCode}
	}
	if r := a.FixedResponse; r != nil {
		out.FixedResponse = &v1.FixedResponse{StatusCode: r.StatusCode, ContentType: r.ContentType, MessageBody: r.MessageBody}
	}
	if s := a.Static; s != nil {
		out.Static = &v1.Static{Root: s.Root, StripPrefix: s.StripPrefix, Index: s.Index, MaxAgeSeconds: s.MaxAgeSeconds}
	}
	return out
}

func metricOf(m proxy.Metric) v1.Metric {
	return v1.Metric{Name: m.Name, Dimensions: m.Dimensions, Value: m.Value, Unit: m.Unit, Kind: m.Kind}
}

func eventOf(e event.Event) v1.Event {
	return v1.Event{Seq: e.Seq, Time: e.Time, Kind: e.Kind, Resource: e.Resource, Level: e.Level, Message: e.Message}
}

func changeOf(c stack.Change) v1.Change {
	return v1.Change{Action: c.Action, Kind: c.Kind, Name: c.Name, Details: c.Details}
}

func stackResultOf(r StackResult) v1.StackResult {
	return v1.StackResult{Stack: r.Stack, Changes: convertList(r.Changes, changeOf), Warnings: r.Warnings}
}
