// Package autoscaling runs EC2 Auto Scaling groups: it keeps a group's
// desired capacity of instances launched from a launch template, places
// them across the group's availability zones, registers them in the
// group's target groups, counts them InService once they are healthy,
// replaces unhealthy ones, scales in without dropping a request (deregister,
// drain, then stop), runs lifecycle hooks, keeps a warm pool, and changes
// the desired capacity by hand, on a schedule and by scaling policies
// (run by their metrics and alarms, or by ExecutePolicy, execute.go), tags
// its instances (tags.go), and replaces its instances by instance
// refreshes (refresh.go). Every
// capacity change is an activity with its cause, worded as AWS words it.
//
// The group's stack spec (min, max, policies…) lives in the stack; the
// runtime desired capacity lives beside it in the store (see Capacity), as
// CloudFormation's DesiredCapacity: an apply that changes the stack's
// desiredCapacity sets it, policies and set-desired change it in between.
package autoscaling

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling/placement"
	"github.com/madang-dev/madang/internal/autoscaling/policy"
	"github.com/madang-dev/madang/internal/autoscaling/schedule"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/network"
)

// Health check types.
const (
	HealthCheckEC2 = "EC2"
	HealthCheckELB = "ELB"
)

// DefaultZones are the availability zones a group spreads over when it
// names none. madang's region is "local".
var defaultZones = []string{"local-1a", "local-1b"}

// Zones returns the availability zones of madang's region (those of
// package network, where subnets place instances).
func Zones() []string { return network.Zones() }

// The processes suspend-processes can suspend, as AWS names them.
const (
	ProcessLaunch            = "Launch"
	ProcessTerminate         = "Terminate"
	ProcessAddToLoadBalancer = "AddToLoadBalancer"
	ProcessAlarmNotification = "AlarmNotification"
	ProcessAZRebalance       = "AZRebalance"
	ProcessHealthCheck       = "HealthCheck"
	ProcessInstanceRefresh   = "InstanceRefresh"
	ProcessReplaceUnhealthy  = "ReplaceUnhealthy"
	ProcessScheduledActions  = "ScheduledActions"
)

// Processes lists the suspendable processes.
func Processes() []string {
	return []string{ProcessLaunch, ProcessTerminate, ProcessAddToLoadBalancer, ProcessAlarmNotification,
		ProcessAZRebalance, ProcessHealthCheck, ProcessInstanceRefresh, ProcessReplaceUnhealthy, ProcessScheduledActions}
}

// Lifecycle transitions of hooks.
const (
	TransitionLaunching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TransitionTerminating = "autoscaling:EC2_INSTANCE_TERMINATING"
)

// Lifecycle action results.
const (
	ResultContinue = "CONTINUE"
	ResultAbandon  = "ABANDON"
)

// Warm pool states.
const (
	PoolStopped = "Stopped"
	PoolRunning = "Running"
)

// GroupSpec is an Auto Scaling group as a stack file declares it, with
// CreateAutoScalingGroup's names.
type GroupSpec struct {
	// Name is the group's name (AutoScalingGroupName).
	Name string `yaml:"name" json:"name"`
	// LaunchTemplate names the launch template; Version is a number,
	// "$Latest" or "$Default" (default).
	LaunchTemplate string `yaml:"launchTemplate" json:"launchTemplate"`
	Version        string `yaml:"version,omitempty" json:"version,omitempty"`
	// MinSize and MaxSize bound the desired capacity.
	MinSize *int `yaml:"minSize" json:"minSize"`
	MaxSize *int `yaml:"maxSize" json:"maxSize"`
	// DesiredCapacity is the capacity the group starts with (default
	// MinSize). An apply that changes it sets the group's desired
	// capacity; otherwise policies and set-desired own it.
	DesiredCapacity *int `yaml:"desiredCapacity,omitempty" json:"desiredCapacity,omitempty"`
	// AvailabilityZones are the zones instances are balanced over
	// (default local-1a and local-1b).
	AvailabilityZones []string `yaml:"availabilityZones,omitempty" json:"availabilityZones,omitempty"`
	// Subnets are the created subnets (CreateSubnet) VPCZoneIdentifier
	// named, by zone: instances launched in a zone of one record it. A
	// zone without one places instances in its default subnet.
	Subnets []SubnetPlacement `yaml:"-" json:"subnets,omitempty"`
	// TargetGroups are the target groups InService instances are
	// registered in (TargetGroupARNs, by name).
	TargetGroups []string `yaml:"targetGroups,omitempty" json:"targetGroups,omitempty"`
	// HealthCheckType is EC2 (default: the process must run) or ELB (also
	// healthy in every target group).
	HealthCheckType string `yaml:"healthCheckType,omitempty" json:"healthCheckType,omitempty"`
	// HealthCheckGracePeriod is how many seconds after launch failed
	// health checks are ignored (default 0, as the CLI and SDKs).
	HealthCheckGracePeriod *int `yaml:"healthCheckGracePeriod,omitempty" json:"healthCheckGracePeriod,omitempty"`
	// DefaultCooldown is the cooldown of simple scaling policies, in
	// seconds (default 300).
	DefaultCooldown *int `yaml:"defaultCooldown,omitempty" json:"defaultCooldown,omitempty"`
	// DefaultInstanceWarmup is how many seconds after InService an
	// instance's metrics start to count (unset: policies' own warmup, else
	// none).
	DefaultInstanceWarmup *int `yaml:"defaultInstanceWarmup,omitempty" json:"defaultInstanceWarmup,omitempty"`
	// TerminationPolicies choose the instances to terminate on scale-in
	// (default [Default]).
	TerminationPolicies []string `yaml:"terminationPolicies,omitempty" json:"terminationPolicies,omitempty"`
	// NewInstancesProtectedFromScaleIn protects new instances from
	// scale-in.
	NewInstancesProtectedFromScaleIn bool `yaml:"newInstancesProtectedFromScaleIn,omitempty" json:"newInstancesProtectedFromScaleIn,omitempty"`
	// MaxInstanceLifetime is how many seconds an instance may serve
	// before it is replaced: 0 (never) or at least 86400.
	MaxInstanceLifetime int `yaml:"maxInstanceLifetime,omitempty" json:"maxInstanceLifetime,omitempty"`
	// SuspendedProcesses are processes that do not run (see Processes).
	SuspendedProcesses []string `yaml:"suspendedProcesses,omitempty" json:"suspendedProcesses,omitempty"`
	// Tags are propagated to the group's instances.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// ScalingPolicies, ScheduledActions, LifecycleHooks and WarmPool are
	// the group's PutScalingPolicy, PutScheduledUpdateGroupAction,
	// PutLifecycleHook and PutWarmPool.
	ScalingPolicies  []PolicySpec          `yaml:"scalingPolicies,omitempty" json:"scalingPolicies,omitempty"`
	ScheduledActions []ScheduledActionSpec `yaml:"scheduledActions,omitempty" json:"scheduledActions,omitempty"`
	LifecycleHooks   []HookSpec            `yaml:"lifecycleHooks,omitempty" json:"lifecycleHooks,omitempty"`
	WarmPool         *WarmPoolSpec         `yaml:"warmPool,omitempty" json:"warmPool,omitempty"`
	// InstanceRefresh, when set, starts an instance refresh with these
	// preferences whenever the group's launch template version changes
	// (an apply names a new version, or the template has a new version
	// and the group uses $Latest), as CloudFormation's UpdatePolicy
	// AutoScalingRollingUpdate does. See refresh.go.
	InstanceRefresh *RefreshPreferences `yaml:"instanceRefresh,omitempty" json:"instanceRefresh,omitempty"`
	// MetricsCollection, when set, publishes the group metrics to
	// CloudWatch (EnableMetricsCollection; see groupmetrics.go). An apply
	// that changes it sets the group's collection; otherwise
	// EnableMetricsCollection and DisableMetricsCollection own it.
	MetricsCollection *MetricsCollectionSpec `yaml:"metricsCollection,omitempty" json:"metricsCollection,omitempty"`
}

// PolicySpec is a scaling policy (PutScalingPolicy).
type PolicySpec struct {
	Name string `yaml:"name" json:"name"`
	// PolicyType is TargetTrackingScaling (default), StepScaling or
	// SimpleScaling.
	PolicyType string `yaml:"policyType,omitempty" json:"policyType,omitempty"`
	// AdjustmentType is ChangeInCapacity, ExactCapacity or
	// PercentChangeInCapacity (step and simple).
	AdjustmentType         string `yaml:"adjustmentType,omitempty" json:"adjustmentType,omitempty"`
	MinAdjustmentMagnitude int    `yaml:"minAdjustmentMagnitude,omitempty" json:"minAdjustmentMagnitude,omitempty"`
	// ScalingAdjustment and Cooldown are a simple policy's.
	ScalingAdjustment int  `yaml:"scalingAdjustment,omitempty" json:"scalingAdjustment,omitempty"`
	Cooldown          *int `yaml:"cooldown,omitempty" json:"cooldown,omitempty"`
	// StepAdjustments and MetricAggregationType are a step policy's.
	StepAdjustments       []StepSpec `yaml:"stepAdjustments,omitempty" json:"stepAdjustments,omitempty"`
	MetricAggregationType string     `yaml:"metricAggregationType,omitempty" json:"metricAggregationType,omitempty"`
	// EstimatedInstanceWarmup is the policy's warmup in seconds (default:
	// the group's DefaultInstanceWarmup).
	EstimatedInstanceWarmup *int `yaml:"estimatedInstanceWarmup,omitempty" json:"estimatedInstanceWarmup,omitempty"`
	// TargetTrackingConfiguration is a target tracking policy's.
	TargetTrackingConfiguration *TargetTrackingSpec `yaml:"targetTrackingConfiguration,omitempty" json:"targetTrackingConfiguration,omitempty"`
	// Enabled is false to keep the policy without running it (default true).
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
}

// StepSpec is one step adjustment, its bounds relative to the alarm
// threshold.
type StepSpec struct {
	MetricIntervalLowerBound *float64 `yaml:"metricIntervalLowerBound,omitempty" json:"metricIntervalLowerBound,omitempty"`
	MetricIntervalUpperBound *float64 `yaml:"metricIntervalUpperBound,omitempty" json:"metricIntervalUpperBound,omitempty"`
	ScalingAdjustment        int      `yaml:"scalingAdjustment" json:"scalingAdjustment"`
}

// TargetTrackingSpec is a target tracking policy's configuration.
type TargetTrackingSpec struct {
	PredefinedMetricSpecification *PredefinedMetricSpec `yaml:"predefinedMetricSpecification,omitempty" json:"predefinedMetricSpecification,omitempty"`
	CustomizedMetricSpecification *CustomMetricSpec     `yaml:"customizedMetricSpecification,omitempty" json:"customizedMetricSpecification,omitempty"`
	TargetValue                   float64               `yaml:"targetValue" json:"targetValue"`
	DisableScaleIn                bool                  `yaml:"disableScaleIn,omitempty" json:"disableScaleIn,omitempty"`
	// ScaleInStabilizationSeconds is madang's (Kubernetes HPA's) scale-in
	// window: the group scales in to the highest capacity the policy
	// wanted within it (default 300).
	ScaleInStabilizationSeconds *int `yaml:"scaleInStabilizationSeconds,omitempty" json:"scaleInStabilizationSeconds,omitempty"`
}

// PredefinedMetricSpec names a predefined metric.
type PredefinedMetricSpec struct {
	PredefinedMetricType string `yaml:"predefinedMetricType" json:"predefinedMetricType"`
	// ResourceLabel names the target group of ALBRequestCountPerTarget
	// (AWS's app/LB/ID/targetgroup/TG/ID, or just the target group's name;
	// default the group's only target group).
	ResourceLabel string `yaml:"resourceLabel,omitempty" json:"resourceLabel,omitempty"`
}

// CustomMetricSpec is a customized metric: one CloudWatch metric and
// statistic, read every second.
type CustomMetricSpec struct {
	Namespace  string          `yaml:"namespace" json:"namespace"`
	MetricName string          `yaml:"metricName" json:"metricName"`
	Dimensions []DimensionSpec `yaml:"dimensions,omitempty" json:"dimensions,omitempty"`
	// Statistic is Average (default), Sum, Minimum, Maximum or SampleCount.
	Statistic string `yaml:"statistic,omitempty" json:"statistic,omitempty"`
}

// DimensionSpec is one metric dimension.
type DimensionSpec struct {
	Name  string `yaml:"name" json:"name"`
	Value string `yaml:"value" json:"value"`
}

// ScheduledActionSpec is a scheduled action (PutScheduledUpdateGroupAction).
type ScheduledActionSpec struct {
	Name       string `yaml:"name" json:"name"`
	Recurrence string `yaml:"recurrence,omitempty" json:"recurrence,omitempty"`
	TimeZone   string `yaml:"timeZone,omitempty" json:"timeZone,omitempty"`
	// StartTime and EndTime are RFC 3339 times.
	StartTime       string `yaml:"startTime,omitempty" json:"startTime,omitempty"`
	EndTime         string `yaml:"endTime,omitempty" json:"endTime,omitempty"`
	MinSize         *int   `yaml:"minSize,omitempty" json:"minSize,omitempty"`
	MaxSize         *int   `yaml:"maxSize,omitempty" json:"maxSize,omitempty"`
	DesiredCapacity *int   `yaml:"desiredCapacity,omitempty" json:"desiredCapacity,omitempty"`
}

// HookSpec is a lifecycle hook (PutLifecycleHook). Its target is a
// command (madang's stand-in for an SNS topic, SQS queue or Lambda): it
// runs when an instance enters the wait state and its exit status completes
// the action (0: CONTINUE, otherwise ABANDON). Without a command the action
// waits for complete-lifecycle-action or the heartbeat timeout.
type HookSpec struct {
	Name                string `yaml:"name" json:"name"`
	LifecycleTransition string `yaml:"lifecycleTransition" json:"lifecycleTransition"`
	// HeartbeatTimeout is in seconds, 30 to 7200 (default 3600).
	HeartbeatTimeout *int `yaml:"heartbeatTimeout,omitempty" json:"heartbeatTimeout,omitempty"`
	// DefaultResult is CONTINUE or ABANDON (default).
	DefaultResult string `yaml:"defaultResult,omitempty" json:"defaultResult,omitempty"`
	// NotificationMetadata is passed to the command.
	NotificationMetadata string `yaml:"notificationMetadata,omitempty" json:"notificationMetadata,omitempty"`
	// Command runs through /bin/sh -c in the instance's directory.
	Command string `yaml:"command,omitempty" json:"command,omitempty"`
}

// WarmPoolSpec is a warm pool (PutWarmPool): instances launched and
// initialised ahead of need, kept stopped or running, that scale-out takes
// first.
type WarmPoolSpec struct {
	// MinSize is the least number of instances in the pool (default 0).
	MinSize int `yaml:"minSize,omitempty" json:"minSize,omitempty"`
	// MaxGroupPreparedCapacity caps the group's InService plus warm
	// instances (default: the group's MaxSize; -1 means MaxSize).
	MaxGroupPreparedCapacity *int `yaml:"maxGroupPreparedCapacity,omitempty" json:"maxGroupPreparedCapacity,omitempty"`
	// PoolState is Stopped (default) or Running.
	PoolState string `yaml:"poolState,omitempty" json:"poolState,omitempty"`
	// InstanceReusePolicy: ReuseOnScaleIn returns scaled-in instances to
	// the pool instead of terminating them.
	InstanceReusePolicy *ReusePolicySpec `yaml:"instanceReusePolicy,omitempty" json:"instanceReusePolicy,omitempty"`
}

// ReusePolicySpec is a warm pool's instance reuse policy.
type ReusePolicySpec struct {
	ReuseOnScaleIn bool `yaml:"reuseOnScaleIn,omitempty" json:"reuseOnScaleIn,omitempty"`
}

func intp(v int) *int { return &v }

// ApplyDefaults fills in AWS's defaults.
func (s *GroupSpec) ApplyDefaults() {
	if s.Version == "" {
		s.Version = "$Default"
	}
	if len(s.AvailabilityZones) == 0 {
		s.AvailabilityZones = slices.Clone(defaultZones)
	}
	if s.HealthCheckType == "" {
		s.HealthCheckType = HealthCheckEC2
	}
	if s.HealthCheckGracePeriod == nil {
		s.HealthCheckGracePeriod = intp(0)
	}
	if s.DefaultCooldown == nil {
		s.DefaultCooldown = intp(300)
	}
	if len(s.TerminationPolicies) == 0 {
		s.TerminationPolicies = []string{placement.PolicyDefault}
	}
	for i := range s.ScalingPolicies {
		p := &s.ScalingPolicies[i]
		if p.PolicyType == "" {
			p.PolicyType = string(policy.TypeTargetTracking)
		}
		if p.PolicyType != string(policy.TypeTargetTracking) && p.AdjustmentType == "" {
			p.AdjustmentType = string(policy.ChangeInCapacity)
		}
		if p.PolicyType == string(policy.TypeStepScaling) && p.MetricAggregationType == "" {
			p.MetricAggregationType = policy.AggregationAverage
		}
		if t := p.TargetTrackingConfiguration; t != nil {
			if t.ScaleInStabilizationSeconds == nil {
				t.ScaleInStabilizationSeconds = intp(int(policy.DefaultScaleInStabilization / time.Second))
			}
			if c := t.CustomizedMetricSpecification; c != nil && c.Statistic == "" {
				c.Statistic = "Average"
			}
		}
	}
	for i := range s.LifecycleHooks {
		h := &s.LifecycleHooks[i]
		if h.HeartbeatTimeout == nil {
			h.HeartbeatTimeout = intp(3600)
		}
		if h.DefaultResult == "" {
			h.DefaultResult = ResultAbandon
		}
	}
	if w := s.WarmPool; w != nil && w.PoolState == "" {
		w.PoolState = PoolStopped
	}
	if m := s.MetricsCollection; m != nil && m.Granularity == "" {
		m.Granularity = Granularity1Minute
	}
}

// Validate checks a defaulted spec, naming every field in error.
func (s *GroupSpec) Validate() fielderr.List {
	var errs fielderr.List
	if !validName(s.Name) {
		errs.Add("name", s.Name, "is not a valid Auto Scaling group name", "use 1 to 255 letters, digits, '-', '_' or '.'")
	}
	if s.LaunchTemplate == "" {
		errs.Add("launchTemplate", nil, "is missing", "name the launch template the group launches from")
	}
	switch v := s.Version; {
	case v == "$Default", v == "$Latest":
	default:
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			errs.Add("version", v, "is not a launch template version", "use $Default, $Latest or a version number such as 2")
		}
	}
	switch {
	case s.MinSize == nil:
		errs.Add("minSize", nil, "is missing", "give the group's minimum size, e.g. minSize: 1")
	case *s.MinSize < 0:
		errs.Add("minSize", *s.MinSize, "must not be negative", "use 0 or more")
	}
	switch {
	case s.MaxSize == nil:
		errs.Add("maxSize", nil, "is missing", "give the group's maximum size, e.g. maxSize: 4")
	case *s.MaxSize < 0 || *s.MaxSize > maxGroupSize:
		errs.Add("maxSize", *s.MaxSize, fmt.Sprintf("is out of range 0..%d", maxGroupSize), "use a smaller maximum")
	case s.MinSize != nil && *s.MinSize > *s.MaxSize:
		errs.Add("minSize", *s.MinSize, fmt.Sprintf("is larger than maxSize %d", *s.MaxSize), "make minSize ≤ maxSize")
	}
	if d := s.DesiredCapacity; d != nil && s.MinSize != nil && s.MaxSize != nil && (*d < *s.MinSize || *d > *s.MaxSize) {
		errs.Add("desiredCapacity", *d, fmt.Sprintf("is outside minSize %d and maxSize %d", *s.MinSize, *s.MaxSize),
			"give a desired capacity between the group's minimum and maximum size")
	}
	for i, z := range s.AvailabilityZones {
		if !slices.Contains(Zones(), z) {
			errs.Add(fmt.Sprintf("availabilityZones[%d]", i), z, "is not an availability zone of region local",
				"use "+strings.Join(Zones(), ", "))
		} else if slices.Index(s.AvailabilityZones, z) != i {
			errs.Add(fmt.Sprintf("availabilityZones[%d]", i), z, "is listed twice", "list each zone once")
		}
	}
	for i, tg := range s.TargetGroups {
		if tg == "" {
			errs.Add(fmt.Sprintf("targetGroups[%d]", i), tg, "is empty", "name a target group of the stack")
		} else if slices.Index(s.TargetGroups, tg) != i {
			errs.Add(fmt.Sprintf("targetGroups[%d]", i), tg, "is listed twice", "list each target group once")
		}
	}
	switch s.HealthCheckType {
	case HealthCheckEC2, HealthCheckELB:
	default:
		errs.Add("healthCheckType", s.HealthCheckType, "is not a health check type", "use EC2 or ELB")
	}
	if s.HealthCheckType == HealthCheckELB && len(s.TargetGroups) == 0 {
		errs.Add("healthCheckType", s.HealthCheckType, "needs a target group to check instances in", "add targetGroups, or use healthCheckType: EC2")
	}
	nonNeg := func(path string, v *int) {
		if v != nil && *v < 0 {
			errs.Add(path, *v, "must not be negative", "give a number of seconds, 0 or more")
		}
	}
	nonNeg("healthCheckGracePeriod", s.HealthCheckGracePeriod)
	nonNeg("defaultCooldown", s.DefaultCooldown)
	nonNeg("defaultInstanceWarmup", s.DefaultInstanceWarmup)
	if err := placement.ValidatePolicies(s.TerminationPolicies); err != nil {
		if l, ok := err.(fielderr.List); ok {
			for _, e := range l {
				c := *e
				c.Path = stackField(c.Path)
				errs = append(errs, &c)
			}
		}
	}
	if err := placement.ValidateMaxInstanceLifetime(time.Duration(s.MaxInstanceLifetime) * time.Second); err != nil {
		errs.Add("maxInstanceLifetime", s.MaxInstanceLifetime, "must be 0 (off) or at least 86400 seconds (one day)", "use 0 or 86400 or more")
	}
	for i, p := range s.SuspendedProcesses {
		if !slices.Contains(Processes(), p) {
			errs.Add(fmt.Sprintf("suspendedProcesses[%d]", i), p, "is not a process", "use "+strings.Join(Processes(), ", "))
		}
	}
	errs = append(errs, s.validatePolicies()...)
	errs = append(errs, s.validateSchedules()...)
	errs = append(errs, s.validateHooks()...)
	if s.InstanceRefresh != nil {
		errs.Extend("instanceRefresh", s.InstanceRefresh.Validate())
	}
	if s.MetricsCollection != nil {
		errs = append(errs, s.MetricsCollection.validate()...)
	}
	if w := s.WarmPool; w != nil {
		if w.MinSize < 0 {
			errs.Add("warmPool.minSize", w.MinSize, "must not be negative", "use 0 or more")
		}
		if m := w.MaxGroupPreparedCapacity; m != nil && *m < -1 {
			errs.Add("warmPool.maxGroupPreparedCapacity", *m, "must be -1 (the group's maxSize) or 0 or more", "use -1, or a size at least the group's desired capacity")
		}
		if w.PoolState != PoolStopped && w.PoolState != PoolRunning {
			errs.Add("warmPool.poolState", w.PoolState, "is not a warm pool state madang keeps", "use Stopped or Running (Hibernated needs memory snapshots madang does not take)")
		}
	}
	return errs
}

// maxGroupSize bounds a group (compute launches at most 100 at a time, and
// a machine runs a few hundred instances at most).
const maxGroupSize = 500

func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (s *GroupSpec) validatePolicies() fielderr.List {
	var errs fielderr.List
	for i, p := range s.ScalingPolicies {
		path := fmt.Sprintf("scalingPolicies[%d]", i)
		if slices.IndexFunc(s.ScalingPolicies, func(q PolicySpec) bool { return q.Name == p.Name }) != i {
			errs.Add(path+".name", p.Name, "is used by another policy of the group", "give each policy its own name")
		}
		var err error
		switch policy.PolicyType(p.PolicyType) {
		case policy.TypeTargetTracking:
			if p.TargetTrackingConfiguration == nil {
				errs.Add(path+".targetTrackingConfiguration", nil, "is missing", "give targetValue and a predefinedMetricSpecification or customizedMetricSpecification")
				continue
			}
			t := p.TargetTrackingConfiguration
			pm, cm := t.PredefinedMetricSpecification, t.CustomizedMetricSpecification
			switch {
			case pm == nil && cm == nil:
				errs.Add(path+".targetTrackingConfiguration", nil, "names no metric", "add predefinedMetricSpecification (e.g. predefinedMetricType: ASGAverageCPUUtilization) or customizedMetricSpecification")
			case pm != nil && cm != nil:
				errs.Add(path+".targetTrackingConfiguration", nil, "names two metrics", "keep either predefinedMetricSpecification or customizedMetricSpecification")
			case pm != nil && pm.PredefinedMetricType == policy.ALBRequestCountPerTarget:
				if tg := labelTargetGroup(pm.ResourceLabel); tg == "" && len(s.TargetGroups) != 1 {
					errs.Add(path+".targetTrackingConfiguration.predefinedMetricSpecification.resourceLabel", nil,
						fmt.Sprintf("is needed: the group has %d target groups", len(s.TargetGroups)), "name the target group whose requests per target are tracked")
				} else if tg != "" && !slices.Contains(s.TargetGroups, tg) {
					errs.Add(path+".targetTrackingConfiguration.predefinedMetricSpecification.resourceLabel", pm.ResourceLabel,
						"names a target group the group is not attached to", "add it to targetGroups or name one of "+strings.Join(s.TargetGroups, ", "))
				}
			case cm != nil:
				if cm.Namespace == "" || cm.MetricName == "" {
					errs.Add(path+".targetTrackingConfiguration.customizedMetricSpecification", nil, "needs namespace and metricName", "name the CloudWatch metric to track")
				}
				switch cm.Statistic {
				case "Average", "Sum", "Minimum", "Maximum", "SampleCount":
				default:
					errs.Add(path+".targetTrackingConfiguration.customizedMetricSpecification.statistic", cm.Statistic, "is not a statistic", "use Average, Sum, Minimum, Maximum or SampleCount")
				}
			}
			if v := t.ScaleInStabilizationSeconds; v != nil && (*v < 0 || *v > 3600) {
				errs.Add(path+".targetTrackingConfiguration.scaleInStabilizationSeconds", *v, "is out of range 0..3600", "use 300 (the default) or less")
			}
			tt, _ := p.targetTracking(s)
			err = tt.Validate()
		case policy.TypeStepScaling:
			st, _ := p.stepScaling(s)
			err = st.Validate()
		case policy.TypeSimpleScaling:
			err = p.simpleScaling(s).Validate()
		default:
			errs.Add(path+".policyType", p.PolicyType, "is not a policy type", "use TargetTrackingScaling, StepScaling or SimpleScaling")
			continue
		}
		errs = append(errs, policyErrors(path, err)...)
	}
	return errs
}

// policyErrors turns the policy package's field errors into the stack's.
func policyErrors(path string, err error) fielderr.List {
	if err == nil {
		return nil
	}
	var errs fielderr.List
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		if fe, ok := e.(*policy.FieldError); ok {
			v := fe.Value
			if q, ok := v.(string); ok {
				if u, err := strconv.Unquote(q); err == nil {
					v = u
				}
			}
			errs.Add(path+"."+stackField(fe.Field), v, fe.Msg, "")
		} else {
			errs.Add(path, nil, e.Error(), "")
		}
	}
	return errs
}

// stackField turns an API field path (StepAdjustments[1].ScalingAdjustment)
// into the stack file's (stepAdjustments[1].scalingAdjustment).
func stackField(f string) string {
	parts := strings.Split(f, ".")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToLower(p[:1]) + p[1:]
		}
	}
	out := strings.Join(parts, ".")
	switch out {
	case "targetValue", "disableScaleIn":
		return "targetTrackingConfiguration." + out
	case "predefinedMetricType":
		return "targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType"
	}
	return out
}

// labelTargetGroup returns the target group a resource label names: the
// name itself, or the targetgroup/NAME/… part of AWS's label.
func labelTargetGroup(label string) string {
	if i := strings.Index(label, "targetgroup/"); i >= 0 {
		rest := label[i+len("targetgroup/"):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	return label
}

func secondsOr(v *int, def time.Duration) time.Duration {
	if v == nil {
		return def
	}
	return time.Duration(*v) * time.Second
}

// warmup returns the policy's instance warmup.
func (p *PolicySpec) warmup(g *GroupSpec) time.Duration {
	return secondsOr(p.EstimatedInstanceWarmup, secondsOr(g.DefaultInstanceWarmup, 0))
}

func (p *PolicySpec) targetTracking(g *GroupSpec) (policy.TargetTracking, *TargetTrackingSpec) {
	t := p.TargetTrackingConfiguration
	if t == nil {
		t = &TargetTrackingSpec{}
	}
	tt := policy.TargetTracking{Name: p.Name, TargetValue: t.TargetValue, DisableScaleIn: t.DisableScaleIn, EstimatedInstanceWarmup: p.warmup(g)}
	if pm := t.PredefinedMetricSpecification; pm != nil {
		tt.PredefinedMetric = pm.PredefinedMetricType
	}
	return tt, t
}

func (p *PolicySpec) steps() []policy.StepAdjustment {
	out := make([]policy.StepAdjustment, 0, len(p.StepAdjustments))
	for _, st := range p.StepAdjustments {
		out = append(out, policy.StepAdjustment{LowerBound: st.MetricIntervalLowerBound, UpperBound: st.MetricIntervalUpperBound, ScalingAdjustment: st.ScalingAdjustment})
	}
	return out
}

func (p *PolicySpec) stepScaling(g *GroupSpec) (policy.StepScaling, bool) {
	return policy.StepScaling{Name: p.Name, AdjustmentType: policy.AdjustmentType(p.AdjustmentType), Steps: p.steps(),
		MinAdjustmentMagnitude: p.MinAdjustmentMagnitude, EstimatedInstanceWarmup: p.warmup(g), MetricAggregationType: p.MetricAggregationType}, true
}

func (p *PolicySpec) simpleScaling(g *GroupSpec) policy.SimpleScaling {
	return policy.SimpleScaling{Name: p.Name, AdjustmentType: policy.AdjustmentType(p.AdjustmentType), ScalingAdjustment: p.ScalingAdjustment,
		Cooldown: secondsOr(p.Cooldown, secondsOr(g.DefaultCooldown, policy.DefaultCooldown)), MinAdjustmentMagnitude: p.MinAdjustmentMagnitude}
}

// enabled reports whether the policy runs.
func (p *PolicySpec) enabled() bool { return p.Enabled == nil || *p.Enabled }

// scheduleAction converts a scheduled action; the times must have been
// validated.
func (a *ScheduledActionSpec) scheduleAction() schedule.Action {
	out := schedule.Action{Name: a.Name, Recurrence: a.Recurrence, TimeZone: a.TimeZone,
		MinSize: a.MinSize, MaxSize: a.MaxSize, DesiredCapacity: a.DesiredCapacity}
	out.StartTime, _ = parseTime(a.StartTime)
	out.EndTime, _ = parseTime(a.EndTime)
	return out
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}

func (s *GroupSpec) validateSchedules() fielderr.List {
	var errs fielderr.List
	for i, a := range s.ScheduledActions {
		path := fmt.Sprintf("scheduledActions[%d]", i)
		if slices.IndexFunc(s.ScheduledActions, func(b ScheduledActionSpec) bool { return b.Name == a.Name }) != i {
			errs.Add(path+".name", a.Name, "is used by another scheduled action of the group", "give each action its own name")
		}
		bad := false
		for _, f := range []struct{ name, v string }{{"startTime", a.StartTime}, {"endTime", a.EndTime}} {
			if _, err := parseTime(f.v); err != nil {
				errs.Add(path+"."+f.name, f.v, "is not an RFC 3339 time", "write it like 2026-12-01T09:00:00Z or 2026-12-01T09:00:00+09:00")
				bad = true
			}
		}
		if bad {
			continue
		}
		if err := a.scheduleAction().Validate(); err != nil {
			var fl fielderr.List
			if l, ok := err.(fielderr.List); ok {
				fl = l
			}
			if len(fl) == 0 {
				errs.Add(path, nil, err.Error(), "")
			}
			for _, e := range fl {
				c := *e
				c.Path = stackField(c.Path)
				errs = append(errs, c.Prefixed(path))
			}
		}
	}
	return errs
}

func (s *GroupSpec) validateHooks() fielderr.List {
	var errs fielderr.List
	for i, h := range s.LifecycleHooks {
		path := fmt.Sprintf("lifecycleHooks[%d]", i)
		if !validName(h.Name) {
			errs.Add(path+".name", h.Name, "is not a valid hook name", "use 1 to 255 letters, digits, '-', '_' or '.'")
		} else if slices.IndexFunc(s.LifecycleHooks, func(o HookSpec) bool { return o.Name == h.Name }) != i {
			errs.Add(path+".name", h.Name, "is used by another hook of the group", "give each hook its own name")
		}
		if h.LifecycleTransition != TransitionLaunching && h.LifecycleTransition != TransitionTerminating {
			errs.Add(path+".lifecycleTransition", h.LifecycleTransition, "is not a lifecycle transition", "use "+TransitionLaunching+" or "+TransitionTerminating)
		}
		if t := h.HeartbeatTimeout; t != nil && (*t < 30 || *t > 7200) {
			errs.Add(path+".heartbeatTimeout", *t, "is out of range 30..7200 seconds", "use 30 to 7200 (default 3600)")
		}
		if h.DefaultResult != ResultContinue && h.DefaultResult != ResultAbandon {
			errs.Add(path+".defaultResult", h.DefaultResult, "is not a lifecycle action result", "use CONTINUE or ABANDON")
		}
	}
	return errs
}

// SubnetPlacement is a created subnet of a group's: its id, zone and VPC.
type SubnetPlacement struct {
	ID   string `json:"id"`
	Zone string `json:"zone"`
	Vpc  string `json:"vpc"`
}
