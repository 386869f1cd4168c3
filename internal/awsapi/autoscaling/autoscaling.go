// Package autoscaling serves Amazon EC2 Auto Scaling on madang's AWS
// endpoint, backed by madang's Auto Scaling controller: groups that launch
// real instances from launch templates, register them in target groups and
// replace unhealthy ones, with their scaling policies, scheduled actions,
// lifecycle hooks, warm pools, instance refreshes, tags and suspended
// processes, Standby, scale-in protection, attached and detached instances
// and group metrics. A group's parts are fields of its spec: every Put* or Delete*
// reads the stored spec, changes it and writes it back as a hand-made
// resource. A stack's group can be read, scaled (SetDesiredCapacity,
// ExecutePolicy),
// refreshed, its lifecycle actions completed, its instances moved (Standby,
// protection, attach, detach) and its metrics collected, but not changed.
package autoscaling

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/fault"
)

// Scaling is what the operations need of the Auto Scaling controller;
// *autoscaling.Service implements it. Groups and Group return the groups
// as the controller holds them (spec, runtime sizes, instances); the other
// methods act on a group at run time. Errors are fault errors; a fault's
// message may begin with an AWS error code and ": " (e.g.
// "ScalingActivityInProgress: …"), which the operation answers with.
type Scaling interface {
	Groups() []autoscaling.GroupView
	Group(name string) (autoscaling.GroupView, error)
	// Activities returns a group's activities, newest first, at most max
	// (0: all kept).
	Activities(ctx context.Context, group string, max int) ([]autoscaling.Activity, error)
	SetDesired(ctx context.Context, name string, n int, honorCooldown bool) error
	// ExecutePolicy runs a simple or step scaling policy now; policy is
	// its name or ARN, group may be empty when the ARN names it.
	ExecutePolicy(ctx context.Context, group, policy string, opts autoscaling.ExecuteOptions) (autoscaling.Execution, error)
	CompleteLifecycleAction(ctx context.Context, group, hook, instanceID, token, result string) error
	RecordLifecycleActionHeartbeat(ctx context.Context, group, hook, instanceID, token string) error
	StartRefresh(ctx context.Context, group string, prefs autoscaling.RefreshPreferences) (autoscaling.Refresh, error)
	// Refreshes returns a group's instance refreshes, newest first.
	Refreshes(ctx context.Context, group string) ([]autoscaling.Refresh, error)
	CancelRefresh(ctx context.Context, group string) (autoscaling.Refresh, error)
	RollbackRefresh(ctx context.Context, group string) (autoscaling.Refresh, error)
	Moves
}

// Templates lists the launch templates groups launch from;
// *compute.Service implements it.
type Templates interface {
	LaunchTemplates() []compute.LaunchTemplate
}

// TargetGroups lists the target groups groups register in (their ARNs
// name them in the API); *controller.Controller implements it.
type TargetGroups interface {
	TargetGroups() []elbctl.TargetGroup
}

// Alarms lists CloudWatch alarms (whose actions may run scaling
// policies); *cloudwatch.Service implements it.
type Alarms interface {
	Alarms() []cloudwatch.AlarmView
}

// Resources creates, replaces and deletes resources made outside stack
// files; the daemon implements it. A resource of a stack is refused with a
// Conflict fault, one in use with InUse.
type Resources interface {
	PutResource(ctx context.Context, kind string, spec any) ([]string, error)
	DeleteResource(ctx context.Context, kind, name string) error
}

// Options configure the Auto Scaling service.
type Options struct {
	Scaling      Scaling
	Templates    Templates
	TargetGroups TargetGroups
	Resources    Resources
	// Alarms may be nil: policies then list no alarms.
	Alarms Alarms
	// Zones are the region's availability zones; SubnetOf names a zone's
	// default subnet (VPCZoneIdentifier lists them).
	Zones    []string
	SubnetOf func(zone string) string
	// CreatedSubnet, when set, returns a subnet made through EC2
	// (CreateSubnet), which VPCZoneIdentifier may name too.
	CreatedSubnet func(id string) (autoscaling.SubnetPlacement, bool)
}

// Service is the Auto Scaling service.
type Service struct {
	scaling   Scaling
	templates Templates
	tgs       TargetGroups
	resources Resources
	alarms    Alarms
	zones     []string
	subnetOf  func(string) string
	// createdSubnet is Options.CreatedSubnet (nil: default subnets only).
	createdSubnet func(string) (autoscaling.SubnetPlacement, bool)
	// mu orders the read-change-write of group specs, so that two calls
	// changing one group never lose either change.
	mu sync.Mutex
}

// New returns the Auto Scaling service for the endpoint.
func New(opts Options) (awsapi.Service, error) {
	m, err := model.Load("autoscaling")
	if err != nil {
		return awsapi.Service{}, err
	}
	if len(opts.Zones) == 0 || opts.SubnetOf == nil {
		return awsapi.Service{}, errors.New("autoscaling: Options.Zones and Options.SubnetOf are needed")
	}
	s := &Service{scaling: opts.Scaling, templates: opts.Templates, tgs: opts.TargetGroups, resources: opts.Resources, alarms: opts.Alarms,
		zones: opts.Zones, subnetOf: opts.SubnetOf, createdSubnet: opts.CreatedSubnet}
	return awsapi.Service{Name: "autoscaling", Model: m, Handlers: s.handlers()}, nil
}

func (s *Service) handlers() map[string]awsapi.Handler {
	return map[string]awsapi.Handler{
		"CreateAutoScalingGroup":               s.createGroup,
		"UpdateAutoScalingGroup":               s.updateGroup,
		"DeleteAutoScalingGroup":               s.deleteGroup,
		"DescribeAutoScalingGroups":            s.describeGroups,
		"DescribeAutoScalingInstances":         s.describeInstances,
		"SetDesiredCapacity":                   s.setDesiredCapacity,
		"DescribeScalingActivities":            s.describeActivities,
		"SuspendProcesses":                     s.suspendProcesses,
		"ResumeProcesses":                      s.resumeProcesses,
		"AttachTrafficSources":                 s.attachTrafficSources,
		"DetachTrafficSources":                 s.detachTrafficSources,
		"DescribeTrafficSources":               s.describeTrafficSources,
		"AttachLoadBalancerTargetGroups":       s.attachTargetGroups,
		"DetachLoadBalancerTargetGroups":       s.detachTargetGroups,
		"DescribeLoadBalancerTargetGroups":     s.describeTargetGroups,
		"CreateOrUpdateTags":                   s.createOrUpdateTags,
		"DeleteTags":                           s.deleteTags,
		"DescribeTags":                         s.describeTags,
		"PutScalingPolicy":                     s.putPolicy,
		"DescribePolicies":                     s.describePolicies,
		"DeletePolicy":                         s.deletePolicy,
		"ExecutePolicy":                        s.executePolicy,
		"PutScheduledUpdateGroupAction":        s.putScheduledAction,
		"DescribeScheduledActions":             s.describeScheduledActions,
		"DeleteScheduledAction":                s.deleteScheduledAction,
		"PutLifecycleHook":                     s.putLifecycleHook,
		"DescribeLifecycleHooks":               s.describeLifecycleHooks,
		"DeleteLifecycleHook":                  s.deleteLifecycleHook,
		"CompleteLifecycleAction":              s.completeLifecycleAction,
		"RecordLifecycleActionHeartbeat":       s.recordHeartbeat,
		"PutWarmPool":                          s.putWarmPool,
		"DescribeWarmPool":                     s.describeWarmPool,
		"DeleteWarmPool":                       s.deleteWarmPool,
		"StartInstanceRefresh":                 s.startRefresh,
		"DescribeInstanceRefreshes":            s.describeRefreshes,
		"CancelInstanceRefresh":                s.cancelRefresh,
		"RollbackInstanceRefresh":              s.rollbackRefresh,
		"DescribeAccountLimits":                s.describeAccountLimits,
		"EnterStandby":                         s.enterStandby,
		"ExitStandby":                          s.exitStandby,
		"SetInstanceProtection":                s.setInstanceProtection,
		"AttachInstances":                      s.attachInstances,
		"DetachInstances":                      s.detachInstances,
		"EnableMetricsCollection":              s.metricsCollection(true),
		"DisableMetricsCollection":             s.metricsCollection(false),
		"DescribeMetricCollectionTypes":        describeMetricCollectionTypes,
		"DescribeLifecycleHookTypes":           static("LifecycleHookTypes", []string{autoscaling.TransitionLaunching, autoscaling.TransitionTerminating}),
		"DescribeTerminationPolicyTypes":       static("TerminationPolicyTypes", terminationPolicyTypes),
		"DescribeAdjustmentTypes":              describeAdjustmentTypes,
		"DescribeScalingProcessTypes":          describeProcessTypes,
		"DescribeAutoScalingNotificationTypes": static("AutoScalingNotificationTypes", notificationTypes),
	}
}

// groupNotFound is AWS's answer for a group that does not exist.
func groupNotFound(name string) *protocol.Error {
	return validationError("AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
}

func validationError(format string, args ...any) *protocol.Error {
	return protocol.Errorf("ValidationError", format, args...)
}

// awsCodes are the codes a controller fault's message may begin with.
var awsCodes = []string{"ScalingActivityInProgress", "InstanceRefreshInProgress", "ActiveInstanceRefreshNotFound",
	"IrreversibleInstanceRefresh", "ResourceInUse", "AlreadyExists", "LimitExceeded"}

// asgError maps a controller or daemon fault onto Auto Scaling's codes:
// a code the message begins with, else ValidationError for bad input and
// missing resources, ResourceInUse for resources in use and AlreadyExists.
func asgError(err error) error {
	if err == nil {
		return nil
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe
	}
	f, ok := fault.As(err)
	if !ok {
		return err
	}
	msg := f.Message
	if f.Err != nil && msg == "" {
		msg = f.Err.Error()
	}
	for _, c := range awsCodes {
		if rest, ok := strings.CutPrefix(msg, c+": "); ok {
			return protocol.Errorf(c, "%s", rest)
		}
	}
	msg = f.Error() // with its own hint
	if h := fault.HintOf(err); h != "" && !strings.Contains(msg, h) {
		msg += " (" + h + ")"
	}
	switch f.Code {
	case fault.InUse:
		return protocol.Errorf("ResourceInUse", "%s", msg)
	case fault.AlreadyExists:
		return protocol.Errorf("AlreadyExists", "%s", msg)
	case fault.NotFound, fault.Invalid, fault.Conflict:
		return validationError("%s", msg)
	}
	return err
}

// paging cuts items to one page of MaxRecords (1 to max, default def)
// after the NextToken (an index).
func paging[T any](items []T, in protocol.Struct, def, max int) ([]T, string, error) {
	start := 0
	if tok := in.String("NextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", protocol.Errorf("InvalidNextToken", "The token '%s' is invalid.", tok)
		}
		start = n
	}
	size := def
	if in.Has("MaxRecords") {
		size = int(in.Int("MaxRecords"))
		if size < 1 || size > max {
			return nil, "", validationError("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and %d", size, max)
		}
	}
	items = items[start:]
	if len(items) <= size {
		return items, "", nil
	}
	return items[:size], strconv.Itoa(start + size), nil
}

// withToken adds NextToken to out when there is a next page.
func withToken(out map[string]any, next string) map[string]any {
	if next != "" {
		out["NextToken"] = next
	}
	return out
}

// group returns a group by name, or AWS's not-found error.
func (s *Service) group(name string) (autoscaling.GroupView, error) {
	g, err := s.scaling.Group(name)
	if err != nil {
		if fault.CodeOf(err) == fault.NotFound {
			return g, groupNotFound(name)
		}
		return g, asgError(err)
	}
	return g, nil
}

// owned returns a hand-made group's spec to change, refusing a stack's.
func (s *Service) owned(name string) (autoscaling.GroupSpec, error) {
	g, err := s.group(name)
	if err != nil {
		return autoscaling.GroupSpec{}, err
	}
	if g.Owner != "" {
		return autoscaling.GroupSpec{}, validationError("AutoScalingGroup %s belongs to madang stack '%s'; change it in that stack's file (madang apply), not through the API", name, g.Owner)
	}
	return cloneSpec(g.Spec), nil
}

// change reads a hand-made group's spec, lets f change it and writes it
// back.
func (s *Service) change(ctx context.Context, name string, f func(*autoscaling.GroupSpec) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	spec, err := s.owned(name)
	if err != nil {
		return err
	}
	if err := f(&spec); err != nil {
		return err
	}
	return s.put(ctx, &spec)
}

// put writes a group spec, mapping the daemon's refusals.
func (s *Service) put(ctx context.Context, spec *autoscaling.GroupSpec) error {
	_, err := s.resources.PutResource(ctx, autoscaling.GroupKind().Info().Name, spec)
	return asgError(err)
}
