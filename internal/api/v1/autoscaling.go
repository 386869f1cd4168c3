package v1

import "time"

// AutoScalingGroup is an EC2 Auto Scaling group with its runtime sizes
// and instances (GET /v1/autoscaling/groups/{name}), as
// DescribeAutoScalingGroups shows it.
type AutoScalingGroup struct {
	Name           string `json:"autoScalingGroupName"`
	ARN            string `json:"autoScalingGroupARN"`
	Owner          string `json:"owner,omitempty"`
	LaunchTemplate string `json:"launchTemplate"`
	// Version is the launch template version the group launches: a
	// number, $Latest or $Default.
	Version         string    `json:"version"`
	MinSize         int       `json:"minSize"`
	MaxSize         int       `json:"maxSize"`
	DesiredCapacity int       `json:"desiredCapacity"`
	CreatedTime     time.Time `json:"createdTime"`
	// InService counts healthy InService instances, Pending those on
	// their way and Warm the warm pool's.
	InService int `json:"inService"`
	Pending   int `json:"pending"`
	Warm      int `json:"warm"`
	// Instances is never null.
	Instances          []AutoScalingInstance `json:"instances"`
	ScalingPolicies    []ScalingPolicy       `json:"scalingPolicies,omitempty"`
	ScheduledActions   []ScheduledAction     `json:"scheduledActions,omitempty"`
	LifecycleHooks     []LifecycleHook       `json:"lifecycleHooks,omitempty"`
	WarmPool           *WarmPool             `json:"warmPool,omitempty"`
	SuspendedProcesses []string              `json:"suspendedProcesses,omitempty"`
	AvailabilityZones  []string              `json:"availabilityZones"`
	TargetGroups       []string              `json:"targetGroups,omitempty"`
	HealthCheckType    string                `json:"healthCheckType,omitempty"`
	// HealthCheckGracePeriod and DefaultCooldown are in seconds.
	HealthCheckGracePeriod int               `json:"healthCheckGracePeriod"`
	DefaultCooldown        int               `json:"defaultCooldown"`
	TerminationPolicies    []string          `json:"terminationPolicies,omitempty"`
	Tags                   map[string]string `json:"tags,omitempty"`
	Status                 string            `json:"status,omitempty"`
	// Cause is why the desired capacity last changed, until the group
	// reaches it.
	Cause string `json:"cause,omitempty"`
	// ActivitiesInProgress counts the group's open scaling activities.
	ActivitiesInProgress int `json:"activitiesInProgress,omitempty"`
	// Standby counts the instances in Standby.
	Standby int `json:"standby,omitempty"`
	// NewInstancesProtectedFromScaleIn protects new instances from
	// scale-in.
	NewInstancesProtectedFromScaleIn bool `json:"newInstancesProtectedFromScaleIn,omitempty"`
	// EnabledMetrics are the group metrics published to CloudWatch
	// (AWS/AutoScaling, granularity 1Minute).
	EnabledMetrics []string `json:"enabledMetrics,omitempty"`
}

// AutoScalingInstance is one instance of a group.
type AutoScalingInstance struct {
	InstanceID       string `json:"instanceId"`
	AvailabilityZone string `json:"availabilityZone"`
	// LifecycleState is AWS's: Pending, Pending:Wait, InService,
	// Terminating:Wait, Warmed:Stopped…
	LifecycleState string `json:"lifecycleState"`
	// HealthStatus is Healthy or Unhealthy; HealthReason says why.
	HealthStatus          string    `json:"healthStatus"`
	HealthReason          string    `json:"healthReason,omitempty"`
	LaunchTemplate        string    `json:"launchTemplate"`
	LaunchTemplateVersion int       `json:"launchTemplateVersion"`
	InstanceType          string    `json:"instanceType"`
	ProtectedFromScaleIn  bool      `json:"protectedFromScaleIn"`
	LaunchedAt            time.Time `json:"launchedAt"`
	InServiceAt           time.Time `json:"inServiceAt,omitzero"`
	// LifecycleHook, LifecycleActionToken and LifecycleHookDeadline name
	// the hook the instance waits in, if any.
	LifecycleHook         string    `json:"lifecycleHook,omitempty"`
	LifecycleActionToken  string    `json:"lifecycleActionToken,omitempty"`
	LifecycleHookDeadline time.Time `json:"lifecycleHookDeadline,omitzero"`
	TargetGroups          []string  `json:"targetGroups,omitempty"`
	// Fleet marks an instance of a blue/green deployment: replacement
	// (launched by it, not yet serving the group) or original (kept for
	// the termination wait).
	Fleet string `json:"fleet,omitempty"`
}

// ScalingPolicy is a group's scaling policy; its ARN goes in alarm
// actions.
type ScalingPolicy struct {
	PolicyName string `json:"policyName"`
	PolicyType string `json:"policyType"`
	PolicyARN  string `json:"policyARN"`
	// AdjustmentType, ScalingAdjustment and Cooldown are a simple
	// policy's; StepAdjustments a step policy's.
	AdjustmentType    string           `json:"adjustmentType,omitempty"`
	ScalingAdjustment int              `json:"scalingAdjustment,omitempty"`
	Cooldown          *int             `json:"cooldown,omitempty"`
	StepAdjustments   []StepAdjustment `json:"stepAdjustments,omitempty"`
	// EstimatedInstanceWarmup is in seconds.
	EstimatedInstanceWarmup *int `json:"estimatedInstanceWarmup,omitempty"`
	// TargetTracking is a target tracking policy's configuration.
	TargetTracking *TargetTracking `json:"targetTrackingConfiguration,omitempty"`
	Enabled        bool            `json:"enabled"`
}

// StepAdjustment is one step of a step scaling policy, its bounds
// relative to the alarm's threshold (nil: unbounded).
type StepAdjustment struct {
	MetricIntervalLowerBound *float64 `json:"metricIntervalLowerBound,omitempty"`
	MetricIntervalUpperBound *float64 `json:"metricIntervalUpperBound,omitempty"`
	ScalingAdjustment        int      `json:"scalingAdjustment"`
}

// TargetTracking is a target tracking policy's metric and target:
// a predefined metric (ASGAverageCPUUtilization…) or a customized one.
type TargetTracking struct {
	PredefinedMetricType string  `json:"predefinedMetricType,omitempty"`
	Namespace            string  `json:"namespace,omitempty"`
	MetricName           string  `json:"metricName,omitempty"`
	Statistic            string  `json:"statistic,omitempty"`
	TargetValue          float64 `json:"targetValue"`
	DisableScaleIn       bool    `json:"disableScaleIn,omitempty"`
}

// ScheduledAction is a group's scheduled action with its next run (zero:
// none to come).
type ScheduledAction struct {
	ScheduledActionName string    `json:"scheduledActionName"`
	Recurrence          string    `json:"recurrence,omitempty"`
	NextRun             time.Time `json:"nextRun,omitzero"`
	TimeZone            string    `json:"timeZone,omitempty"`
	// StartTime and EndTime are RFC 3339 times.
	StartTime       string `json:"startTime,omitempty"`
	EndTime         string `json:"endTime,omitempty"`
	MinSize         *int   `json:"minSize,omitempty"`
	MaxSize         *int   `json:"maxSize,omitempty"`
	DesiredCapacity *int   `json:"desiredCapacity,omitempty"`
}

// LifecycleHook is a group's lifecycle hook.
type LifecycleHook struct {
	LifecycleHookName   string `json:"lifecycleHookName"`
	LifecycleTransition string `json:"lifecycleTransition"`
	HeartbeatTimeout    *int   `json:"heartbeatTimeout,omitempty"`
	DefaultResult       string `json:"defaultResult,omitempty"`
	Command             string `json:"command,omitempty"`
}

// WarmPool is a group's warm pool.
type WarmPool struct {
	MinSize                  int    `json:"minSize"`
	MaxGroupPreparedCapacity *int   `json:"maxGroupPreparedCapacity,omitempty"`
	PoolState                string `json:"poolState,omitempty"`
	ReuseOnScaleIn           bool   `json:"reuseOnScaleIn,omitempty"`
}

// ScalingActivity is one scaling activity (GET
// /v1/autoscaling/groups/{name}/activities), as
// DescribeScalingActivities shows it.
type ScalingActivity struct {
	ActivityID           string    `json:"activityId"`
	AutoScalingGroupName string    `json:"autoScalingGroupName"`
	Description          string    `json:"description"`
	Cause                string    `json:"cause"`
	StartTime            time.Time `json:"startTime"`
	EndTime              time.Time `json:"endTime,omitzero"`
	// StatusCode is AWS's: InProgress, Successful, Failed, Cancelled,
	// MidLifecycleAction…
	StatusCode    string `json:"statusCode"`
	StatusMessage string `json:"statusMessage,omitempty"`
	Progress      int    `json:"progress"`
	Details       string `json:"details,omitempty"`
	InstanceID    string `json:"instanceId,omitempty"`
}

// Limits of GET /v1/autoscaling/groups/{name}/activities?max=N.
const (
	// DefaultMaxActivities is the number of activities without max (AWS's
	// MaxRecords default).
	DefaultMaxActivities = 100
	// MaxActivities is the largest max madang accepts (AWS's is 100;
	// madang keeps 500 per group).
	MaxActivities = 500
)

// SetDesiredCapacityRequest is POST
// /v1/autoscaling/groups/{name}/desired-capacity (SetDesiredCapacity).
type SetDesiredCapacityRequest struct {
	// DesiredCapacity is required.
	DesiredCapacity *int `json:"desiredCapacity"`
	// HonorCooldown refuses the change while the group's cooldown runs.
	HonorCooldown bool `json:"honorCooldown,omitempty"`
}

// CompleteLifecycleActionRequest is POST
// /v1/autoscaling/groups/{name}/lifecycle-actions
// (CompleteLifecycleAction): the instance is named by id or by the
// action's token.
type CompleteLifecycleActionRequest struct {
	LifecycleHookName    string `json:"lifecycleHookName"`
	InstanceID           string `json:"instanceId,omitempty"`
	LifecycleActionToken string `json:"lifecycleActionToken,omitempty"`
	// LifecycleActionResult is CONTINUE or ABANDON.
	LifecycleActionResult string `json:"lifecycleActionResult"`
}

// LifecycleHeartbeatRequest is POST
// /v1/autoscaling/groups/{name}/lifecycle-heartbeats
// (RecordLifecycleActionHeartbeat).
type LifecycleHeartbeatRequest struct {
	LifecycleHookName    string `json:"lifecycleHookName"`
	InstanceID           string `json:"instanceId,omitempty"`
	LifecycleActionToken string `json:"lifecycleActionToken,omitempty"`
}

// ExecutePolicyRequest is POST
// /v1/autoscaling/groups/{name}/policies/{policy}/execute (ExecutePolicy):
// {policy} is the policy's name (or its ARN, path-escaped). Simple and
// step scaling policies run as if their alarm had fired.
type ExecutePolicyRequest struct {
	// HonorCooldown refuses a simple scaling policy while the group's
	// cooldown runs (default: the cooldown is ignored).
	HonorCooldown bool `json:"honorCooldown,omitempty"`
	// MetricValue and BreachThreshold are required for a step scaling
	// policy (the step whose interval holds their difference runs) and
	// refused for a simple one.
	MetricValue     *float64 `json:"metricValue,omitempty"`
	BreachThreshold *float64 `json:"breachThreshold,omitempty"`
}

// PolicyExecution is the answer to an ExecutePolicyRequest.
type PolicyExecution struct {
	AutoScalingGroupName string `json:"autoScalingGroupName"`
	PolicyName           string `json:"policyName"`
	PolicyType           string `json:"policyType"`
	// PreviousDesiredCapacity and DesiredCapacity are the group's desired
	// capacity before and after.
	PreviousDesiredCapacity int `json:"previousDesiredCapacity"`
	DesiredCapacity         int `json:"desiredCapacity"`
	// Cause is the scaling activity's cause when the capacity changed,
	// else why it did not.
	Cause string `json:"cause"`
}
