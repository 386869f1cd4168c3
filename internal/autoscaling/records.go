package autoscaling

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling/policy"
)

// Store key prefixes of the Auto Scaling records.
const (
	// GroupPrefix holds the groups (the kind's records), by name.
	GroupPrefix = "/autoscaling/groups/"
	// CapacityPrefix holds each group's runtime sizes, by group name.
	CapacityPrefix = "/autoscaling/capacity/"
	// MemberPrefix holds each instance's place in its group, by instance id.
	MemberPrefix = "/autoscaling/instances/"
	// ActivityPrefix holds the scaling activities, by group name then a
	// time-ordered id.
	ActivityPrefix = "/autoscaling/activities/"
)

// KindGroup is the Auto Scaling group kind's name.
const KindGroup = "auto-scaling-group"

// ManagedBy marks the instances this package launches (compute's
// Instance.ManagedBy), so the instance group controller leaves them alone.
const ManagedBy = "autoscaling"

// Region and AccountID are those of madang's ARNs.
const (
	Region    = "local"
	AccountID = "000000000000"
)

// Group is a stored Auto Scaling group.
type Group struct {
	Spec GroupSpec `json:"spec"`
	// ARN is the group's ARN; PolicyARNs the ARN of each scaling policy, by
	// name.
	ARN        string            `json:"arn"`
	PolicyARNs map[string]string `json:"policyArns,omitempty"`
	Owner      string            `json:"owner,omitempty"`
	CreatedAt  time.Time         `json:"createdAt"`
	// rev is the store revision the record was read at.
	rev int64
}

// GroupARN returns a group's ARN.
func GroupARN(id, name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:%s", Region, AccountID, groupResource(id, name))
}

// PolicyARN returns a scaling policy's ARN.
func PolicyARN(id, group, name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:%s", Region, AccountID, policyResource(id, group, name))
}

// Lifecycle states of a group's instances, as AWS names them.
const (
	Pending             = "Pending"
	PendingWait         = "Pending:Wait"
	PendingProceed      = "Pending:Proceed"
	InService           = "InService"
	Terminating         = "Terminating"
	TerminatingWait     = "Terminating:Wait"
	TerminatingProceed  = "Terminating:Proceed"
	Terminated          = "Terminated"
	Standby             = "Standby"
	EnteringStandby     = "EnteringStandby"
	Detaching           = "Detaching"
	WarmedPending       = "Warmed:Pending"
	WarmedPendingWait   = "Warmed:Pending:Wait"
	WarmedPendingProc   = "Warmed:Pending:Proceed"
	WarmedStopped       = "Warmed:Stopped"
	WarmedRunning       = "Warmed:Running"
	WarmedTerminating   = "Warmed:Terminating"
	WarmedTerminated    = "Warmed:Terminated"
	HealthHealthy       = "Healthy"
	HealthUnhealthy     = "Unhealthy"
	activityKeep        = 500
	activityMaxAge      = 6 * 7 * 24 * time.Hour
	recommendationsKeep = 400
)

// Member is one instance's place in its group: its lifecycle state and
// health as the group sees them. The compute record holds the process.
type Member struct {
	InstanceID string `json:"instanceId"`
	Group      string `json:"group"`
	// Lifecycle is the instance's lifecycle state (InService, …).
	Lifecycle string `json:"lifecycleState"`
	// Health is Healthy or Unhealthy.
	Health string `json:"healthStatus"`
	// HealthReason says why an Unhealthy instance is.
	HealthReason string `json:"healthReason,omitempty"`
	Zone         string `json:"availabilityZone"`
	// LaunchTemplate and LaunchTemplateVersion are what it was launched from.
	LaunchTemplate        string `json:"launchTemplate"`
	LaunchTemplateVersion int    `json:"launchTemplateVersion"`
	// ImageVersion is the image version it runs (0 in records made before
	// it was kept).
	ImageVersion int    `json:"imageVersion,omitempty"`
	InstanceType string `json:"instanceType"`
	// Protected is scale-in protection.
	Protected bool `json:"protectedFromScaleIn"`
	// WarmPool marks an instance of the warm pool.
	WarmPool bool `json:"warmPool,omitempty"`
	// Fleet marks an instance of a blue/green deployment's replacement
	// fleet (FleetReplacement) or an original one kept for its wait
	// (FleetOriginal); neither is part of the group's capacity.
	Fleet string `json:"fleet,omitempty"`
	// LaunchedAt, InServiceAt and Since (the current state's start).
	LaunchedAt  time.Time `json:"launchedAt"`
	InServiceAt time.Time `json:"inServiceAt,omitzero"`
	Since       time.Time `json:"since"`
	// Hook is the lifecycle hook the instance waits in (…:Wait states).
	Hook *HookWait `json:"hook,omitempty"`
	// Activity is the id of the activity in progress for the instance.
	Activity string `json:"activity,omitempty"`
	// Registered lists the target groups it is registered in.
	Registered []string `json:"registered,omitempty"`
	// Draining lists the target groups it was deregistered from and may
	// still drain in.
	Draining []string `json:"draining,omitempty"`
	// Reuse returns the instance to the warm pool instead of terminating it.
	Reuse bool `json:"reuse,omitempty"`
	// HooksDone is set once the terminating hooks have run.
	HooksDone bool `json:"hooksDone,omitempty"`
}

// HookWait is an instance's wait in a lifecycle hook.
type HookWait struct {
	Name       string `json:"name"`
	Transition string `json:"transition"`
	// Token is the lifecycle action token complete-lifecycle-action may give.
	Token string `json:"token"`
	// Deadline is when the heartbeat timeout ends the wait with the
	// default result; GlobalDeadline caps heartbeats (48 h or 100 ×
	// heartbeat timeout, whichever is smaller).
	Deadline       time.Time `json:"deadline"`
	GlobalDeadline time.Time `json:"globalDeadline"`
	// Result is set when the action was completed.
	Result string `json:"result,omitempty"`
	// Started is set once the hook's command was started.
	Started bool `json:"started,omitempty"`
	// Remaining are the names of the hooks still to run after this one.
	Remaining []string `json:"remaining,omitempty"`
}

// Capacity is a group's runtime sizes: the stack sets min and max, and the
// desired capacity when it names one; set-desired, scheduled actions and
// scaling policies change them in between.
type Capacity struct {
	Min     int `json:"minSize"`
	Max     int `json:"maxSize"`
	Desired int `json:"desiredCapacity"`
	// SpecMin, SpecMax and SpecDesired are the stack's values last
	// applied: an apply that changes one of them sets it.
	SpecMin     int  `json:"specMinSize"`
	SpecMax     int  `json:"specMaxSize"`
	SpecDesired *int `json:"specDesiredCapacity,omitempty"`
	// Cause is why the desired capacity last changed, until the group
	// reaches it: the first sentence of the activities that follow.
	Cause string `json:"cause,omitempty"`
	// LastScaling is when the last scaling activity ended (simple
	// scaling's cooldown).
	LastScaling time.Time `json:"lastScaling,omitzero"`
	// ScheduleChecked is the time up to which scheduled actions ran.
	ScheduleChecked time.Time `json:"scheduleChecked,omitzero"`
	// Recommendations are target tracking policies' recent wishes, for
	// scale-in stabilization.
	Recommendations map[string][]policy.Recommendation `json:"recommendations,omitempty"`
	// AlarmsSeen is, per policy, the last alarm evaluation it acted on.
	AlarmsSeen map[string]time.Time `json:"alarmsSeen,omitempty"`
	// Metrics are the group metrics collected (nil: none); SpecMetrics
	// those the stack's metricsCollection enabled when last applied.
	Metrics     []string `json:"enabledMetrics,omitempty"`
	SpecMetrics []string `json:"specEnabledMetrics,omitempty"`
	// Detached are instances the group launched and DetachInstances took
	// out: they keep running, and the group does not adopt them again.
	Detached []string `json:"detached,omitempty"`
	// ScaleInBlocked is the desired capacity for which a scale-in found
	// every instance protected (recorded once as a failed activity).
	ScaleInBlocked *int `json:"scaleInBlocked,omitempty"`
}

// Activity status codes, as AWS names them.
const (
	StatusPreInService          = "PreInService"
	StatusInProgress            = "InProgress"
	StatusWaitingForELBDraining = "WaitingForELBConnectionDraining"
	StatusMidLifecycleAction    = "MidLifecycleAction"
	StatusWaitingForWarmup      = "WaitingForInstanceWarmup"
	StatusSuccessful            = "Successful"
	StatusFailed                = "Failed"
	StatusCancelled             = "Cancelled"
)

// Activity is one scaling activity (DescribeScalingActivities).
type Activity struct {
	ID          string    `json:"activityId"`
	Group       string    `json:"autoScalingGroupName"`
	Description string    `json:"description"`
	Cause       string    `json:"cause"`
	StartTime   time.Time `json:"startTime"`
	EndTime     time.Time `json:"endTime,omitzero"`
	StatusCode  string    `json:"statusCode"`
	// StatusMessage says why an activity failed.
	StatusMessage string `json:"statusMessage,omitempty"`
	Progress      int    `json:"progress"`
	// Details holds the subnet ID and availability zone, as AWS's JSON.
	Details string `json:"details,omitempty"`
	// InstanceID is the instance the activity launches or terminates.
	InstanceID string `json:"instanceId,omitempty"`
	// Seq orders activities that start at the same instant.
	Seq int64 `json:"seq,omitempty"`
}

// Done reports whether the activity has ended.
func (a *Activity) Done() bool {
	switch a.StatusCode {
	case StatusSuccessful, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// activityKey returns the store key of an activity: time-ordered within its
// group.
func activityKey(group string, a *Activity) string {
	return fmt.Sprintf("%s%s/%020d-%08d-%s", ActivityPrefix, group, a.StartTime.UnixNano(), a.Seq, a.ID)
}

// newUUID returns a random UUID (version 4).
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// groupResource is the resource part of a group's ARN.
func groupResource(id, name string) string {
	return "autoScalingGroup:" + id + ":autoScalingGroupName/" + name
}

// policyResource is the resource part of a scaling policy's ARN.
func policyResource(id, group, name string) string {
	return "scalingPolicy:" + id + ":autoScalingGroupName/" + group + ":policyName/" + name
}
