package autoscaling

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/madang-dev/madang/internal/fault"
)

// GroupView is a group as DescribeAutoScalingGroups shows it: its spec,
// runtime sizes and instances.
type GroupView struct {
	Name            string    `json:"autoScalingGroupName"`
	ARN             string    `json:"autoScalingGroupARN"`
	Owner           string    `json:"owner,omitempty"`
	LaunchTemplate  string    `json:"launchTemplate"`
	Version         string    `json:"version"`
	MinSize         int       `json:"minSize"`
	MaxSize         int       `json:"maxSize"`
	DesiredCapacity int       `json:"desiredCapacity"`
	CreatedTime     time.Time `json:"createdTime"`
	// InService counts healthy InService instances; Pending those on their
	// way; Warm the warm pool's.
	InService int            `json:"inService"`
	Pending   int            `json:"pending"`
	Warm      int            `json:"warm"`
	Instances []InstanceView `json:"instances"`
	Policies  []PolicyView   `json:"scalingPolicies,omitempty"`
	Spec      GroupSpec      `json:"spec"`
	Suspended []string       `json:"suspendedProcesses,omitempty"`
	Zones     []string       `json:"availabilityZones"`
	Targets   []string       `json:"targetGroups,omitempty"`
	Hooks     []HookSpec     `json:"lifecycleHooks,omitempty"`
	WarmPool  *WarmPoolSpec  `json:"warmPool,omitempty"`
	// Status says what the group is busy with: an active instance
	// refresh and its progress.
	Status    string           `json:"status,omitempty"`
	Cause     string           `json:"cause,omitempty"`
	Schedules []ScheduleView   `json:"scheduledActions,omitempty"`
	Activity  *ActivitySummary `json:"activity,omitempty"`
	// EnabledMetrics are the group metrics it collects (granularity
	// 1Minute), in GroupMetrics' order.
	EnabledMetrics []string `json:"enabledMetrics,omitempty"`
	// Standby counts the instances in Standby.
	Standby int `json:"standby,omitempty"`
}

// InstanceView is one instance of a group (AWS's Instance of a group).
type InstanceView struct {
	InstanceID            string    `json:"instanceId"`
	Zone                  string    `json:"availabilityZone"`
	Lifecycle             string    `json:"lifecycleState"`
	Health                string    `json:"healthStatus"`
	HealthReason          string    `json:"healthReason,omitempty"`
	LaunchTemplate        string    `json:"launchTemplate"`
	LaunchTemplateVersion int       `json:"launchTemplateVersion"`
	InstanceType          string    `json:"instanceType"`
	Protected             bool      `json:"protectedFromScaleIn"`
	LaunchedAt            time.Time `json:"launchedAt"`
	InServiceAt           time.Time `json:"inServiceAt,omitzero"`
	// Hook and HookToken name the lifecycle hook the instance waits in.
	Hook         string    `json:"lifecycleHook,omitempty"`
	HookToken    string    `json:"lifecycleActionToken,omitempty"`
	HookDeadline time.Time `json:"lifecycleHookDeadline,omitzero"`
	TargetGroups []string  `json:"targetGroups,omitempty"`
	// Fleet is a blue/green deployment's mark: replacement or original
	// (neither counts in the group's capacity).
	Fleet string `json:"fleet,omitempty"`
}

// PolicyView is a scaling policy with its ARN (for alarm actions).
type PolicyView struct {
	Name string `json:"policyName"`
	Type string `json:"policyType"`
	ARN  string `json:"policyARN"`
}

// ScheduleView is a scheduled action with its next run.
type ScheduleView struct {
	Name string    `json:"scheduledActionName"`
	Next time.Time `json:"nextRun,omitzero"`
}

// ActivitySummary counts a group's activities in progress.
type ActivitySummary struct {
	InProgress int `json:"inProgress"`
}

// Groups returns every group, sorted by name.
func (s *Service) Groups() []GroupView {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]GroupView, 0, len(s.groups))
	for _, name := range sortedNames(s.groups) {
		out = append(out, s.viewLocked(s.groups[name]))
	}
	return out
}

// Group returns one group.
func (s *Service) Group(name string) (GroupView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		return GroupView{}, fault.NotFoundf(KindGroup, name, "Auto Scaling group %q does not exist", name).WithHint("madang asg ls lists the groups")
	}
	return s.viewLocked(g), nil
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *Service) viewLocked(g *Group) GroupView {
	sp := g.Spec
	v := GroupView{Name: sp.Name, ARN: g.ARN, Owner: g.Owner, LaunchTemplate: sp.LaunchTemplate, Version: sp.Version,
		MinSize: deref(sp.MinSize), MaxSize: deref(sp.MaxSize), DesiredCapacity: deref(sp.DesiredCapacity), CreatedTime: g.CreatedAt,
		Spec: sp, Suspended: sp.SuspendedProcesses, Zones: sp.AvailabilityZones, Targets: sp.TargetGroups, Hooks: sp.LifecycleHooks, WarmPool: sp.WarmPool,
		Instances: []InstanceView{}}
	if c := s.capacity[sp.Name]; c != nil {
		v.MinSize, v.MaxSize, v.DesiredCapacity, v.Cause = c.Min, c.Max, c.Desired, c.Cause
		v.EnabledMetrics = describeMetrics(c)
	}
	for _, m := range s.membersLocked(sp.Name) {
		iv := InstanceView{InstanceID: m.InstanceID, Zone: m.Zone, Lifecycle: m.Lifecycle, Health: m.Health, HealthReason: m.HealthReason,
			LaunchTemplate: m.LaunchTemplate, LaunchTemplateVersion: m.LaunchTemplateVersion, InstanceType: m.InstanceType,
			Protected: m.Protected, LaunchedAt: m.LaunchedAt, InServiceAt: m.InServiceAt, TargetGroups: slices.Clone(m.Registered), Fleet: m.Fleet}
		if m.Hook != nil {
			iv.Hook, iv.HookToken, iv.HookDeadline = m.Hook.Name, m.Hook.Token, m.Hook.Deadline
		}
		v.Instances = append(v.Instances, iv)
		switch {
		case m.Fleet != "":
		case m.Lifecycle == InService && m.Health == HealthHealthy:
			v.InService++
		case warm(m.Lifecycle):
			v.Warm++
		case m.Lifecycle == Standby || m.Lifecycle == EnteringStandby:
			v.Standby++
		case counts(m):
			v.Pending++
		}
	}
	v.Pending += s.inflight[sp.Name]
	for _, p := range sp.ScalingPolicies {
		v.Policies = append(v.Policies, PolicyView{Name: p.Name, Type: p.PolicyType, ARN: g.PolicyARNs[p.Name]})
	}
	now := s.opts.Now()
	for i := range sp.ScheduledActions {
		a := sp.ScheduledActions[i].scheduleAction()
		next, _ := a.Next(now)
		v.Schedules = append(v.Schedules, ScheduleView{Name: a.Name, Next: next})
	}
	if r := s.refreshes[sp.Name]; r != nil && r.Active() {
		v.Status = fmt.Sprintf("instance refresh %s %s: %d%%, %d/%d replaced", r.ID, r.Status, r.PercentageComplete, r.Replaced, r.Total)
	}
	if d := s.deployments[sp.Name]; d != nil && d.Active() && d.BlueGreen != nil {
		v.Status = fmt.Sprintf("blue/green deployment %s %s: %d%% of the traffic on the replacement fleet", d.ID, d.BlueGreen.Phase, d.BlueGreen.Applied)
	}
	n := 0
	for _, a := range s.open {
		if a.Group == sp.Name {
			n++
		}
	}
	if n > 0 {
		v.Activity = &ActivitySummary{InProgress: n}
	}
	return v
}
