package autoscaling

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/fault"
)

const tgARN = "arn:aws:elasticloadbalancing:local:000000000000:targetgroup/web/0123456789abcdef"

// fake is the controller, compute, load balancing and daemon in one: a
// PutResource stores the spec as the group the controller then shows.
type fake struct {
	groups  map[string]autoscaling.GroupView
	desired []string // SetDesired calls, "group=n"
	puts    int
	deleted []string
	alarms  []cloudwatch.AlarmView
	moves   []string // instance moves and metrics collection (instances_test.go)
	// executed are the ExecutePolicy calls (execute_test.go).
	executed []string
}

func newFake() *fake { return &fake{groups: map[string]autoscaling.GroupView{}} }

func (f *fake) Groups() []autoscaling.GroupView {
	var out []autoscaling.GroupView
	for _, n := range slices.Sorted(maps.Keys(f.groups)) {
		out = append(out, f.groups[n])
	}
	return out
}

func (f *fake) Group(name string) (autoscaling.GroupView, error) {
	g, ok := f.groups[name]
	if !ok {
		return g, fault.NotFoundf(autoscaling.KindGroup, name, "Auto Scaling group %q does not exist", name)
	}
	return g, nil
}

func (f *fake) Activities(context.Context, string, int) ([]autoscaling.Activity, error) {
	return nil, nil
}

func (f *fake) SetDesired(_ context.Context, name string, n int, _ bool) error {
	g := f.groups[name]
	if n > g.MaxSize {
		return fault.Invalidf(autoscaling.KindGroup, name, "New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", n, g.MaxSize)
	}
	g.DesiredCapacity = n
	f.groups[name] = g
	f.desired = append(f.desired, name+"="+strconv.Itoa(n))
	return nil
}

func (f *fake) CompleteLifecycleAction(context.Context, string, string, string, string, string) error {
	return nil
}
func (f *fake) RecordLifecycleActionHeartbeat(context.Context, string, string, string, string) error {
	return nil
}
func (f *fake) StartRefresh(_ context.Context, group string, _ autoscaling.RefreshPreferences) (autoscaling.Refresh, error) {
	return autoscaling.Refresh{}, fault.Conflictf(autoscaling.KindGroup, group, "InstanceRefreshInProgress: An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
}
func (f *fake) Refreshes(context.Context, string) ([]autoscaling.Refresh, error) { return nil, nil }
func (f *fake) CancelRefresh(_ context.Context, group string) (autoscaling.Refresh, error) {
	return autoscaling.Refresh{}, fault.NotFoundf(autoscaling.KindGroup, group, "ActiveInstanceRefreshNotFound: No in progress or pending Instance Refresh found for Auto Scaling group %s", group)
}
func (f *fake) RollbackRefresh(ctx context.Context, group string) (autoscaling.Refresh, error) {
	return f.CancelRefresh(ctx, group)
}

func (f *fake) LaunchTemplates() []compute.LaunchTemplate {
	return []compute.LaunchTemplate{{Name: "hello", ID: "lt-0000000000000001", DefaultVersion: 1,
		Versions: []compute.LaunchTemplateVersion{{Number: 1}, {Number: 2}}}}
}

func (f *fake) TargetGroups() []elbctl.TargetGroup {
	return []elbctl.TargetGroup{{Spec: elb.TargetGroupSpec{Name: "web"}, ARN: tgARN}}
}

func (f *fake) Alarms() []cloudwatch.AlarmView { return f.alarms }

func (f *fake) PutResource(_ context.Context, kind string, spec any) ([]string, error) {
	if kind != autoscaling.KindGroup {
		return nil, errors.New("wrong kind " + kind)
	}
	sp := cloneSpec(*spec.(*autoscaling.GroupSpec))
	sp.ApplyDefaults()
	if errs := sp.Validate(); len(errs) > 0 {
		return nil, fault.Invalidf(kind, sp.Name, "%s", errs.Error())
	}
	f.puts++
	g, existed := f.groups[sp.Name]
	// As the controller: the spec's desired capacity is applied when it
	// changes; a new group starts at it or at its minimum.
	if !existed {
		g.DesiredCapacity = deref(sp.MinSize)
	}
	if sp.DesiredCapacity != nil && (!existed || g.Spec.DesiredCapacity == nil || *g.Spec.DesiredCapacity != *sp.DesiredCapacity) {
		g.DesiredCapacity = *sp.DesiredCapacity
	}
	g.Name, g.Spec, g.LaunchTemplate, g.Version, g.Zones, g.Targets = sp.Name, sp, sp.LaunchTemplate, sp.Version, sp.AvailabilityZones, sp.TargetGroups
	g.Suspended, g.WarmPool, g.Hooks = sp.SuspendedProcesses, sp.WarmPool, sp.LifecycleHooks
	g.ARN = autoscaling.GroupARN("id", sp.Name)
	g.MinSize, g.MaxSize = deref(sp.MinSize), deref(sp.MaxSize)
	g.DesiredCapacity = clamp(g.DesiredCapacity, g.MinSize, g.MaxSize)
	g.Warm = 0
	for _, in := range g.Instances {
		if isWarm(in.Lifecycle) {
			g.Warm++
		}
	}
	g.Policies = nil
	for _, p := range sp.ScalingPolicies {
		g.Policies = append(g.Policies, autoscaling.PolicyView{Name: p.Name, Type: p.PolicyType, ARN: autoscaling.PolicyARN("p", sp.Name, p.Name)})
	}
	f.groups[sp.Name] = g
	return nil, nil
}

func (f *fake) DeleteResource(_ context.Context, _, name string) error {
	delete(f.groups, name)
	f.deleted = append(f.deleted, name)
	return nil
}

func newService(t *testing.T, f *fake) map[string]awsapi.Handler {
	t.Helper()
	svc, err := New(Options{Scaling: f, Templates: f, TargetGroups: f, Resources: f, Alarms: f,
		Zones: []string{"local-1a", "local-1b", "local-1c"}, SubnetOf: func(z string) string { return "subnet-" + z }})
	if err != nil {
		t.Fatal(err)
	}
	for name := range svc.Handlers {
		if svc.Model.Operation(name) == nil {
			t.Errorf("handler %s is not an operation of the model", name)
		}
	}
	return svc.Handlers
}

func call(t *testing.T, h map[string]awsapi.Handler, op string, in protocol.Struct) (map[string]any, error) {
	t.Helper()
	return h[op](context.Background(), &awsapi.Call{Input: in})
}

// wantErr checks an error's code and that its message holds msg.
func wantErr(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	var pe *protocol.Error
	if code == "" {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
		return
	}
	if !errors.As(err, &pe) || pe.Code != code || !strings.Contains(pe.Message, msg) {
		t.Errorf("%s: %v, want %s %q", what, err, code, msg)
	}
}

func TestCreateAutoScalingGroup(t *testing.T) {
	base := func() protocol.Struct {
		return obj{"AutoScalingGroupName": "web", "MinSize": int64(1), "MaxSize": int64(3),
			"LaunchTemplate": obj{"LaunchTemplateName": "hello"}}
	}
	for _, tc := range []struct {
		name       string
		mod        func(protocol.Struct)
		code, msg  string
		check      func(*testing.T, autoscaling.GroupSpec)
		existing   bool
		groupCount int
	}{
		{name: "by template name, defaults", mod: func(protocol.Struct) {}, check: func(t *testing.T, s autoscaling.GroupSpec) {
			if s.LaunchTemplate != "hello" || s.Version != "$Default" || deref(s.MinSize) != 1 || deref(s.MaxSize) != 3 || s.DesiredCapacity != nil {
				t.Errorf("spec %+v", s)
			}
		}},
		{name: "by template id and version, subnets, target groups, tags", mod: func(in protocol.Struct) {
			in["LaunchTemplate"] = obj{"LaunchTemplateId": "lt-0000000000000001", "Version": "2"}
			in["VPCZoneIdentifier"] = "subnet-local-1c, subnet-local-1a"
			in["TargetGroupARNs"] = []any{tgARN}
			in["HealthCheckType"], in["HealthCheckGracePeriod"], in["DesiredCapacity"] = "ELB", int64(30), int64(2)
			in["Tags"] = []any{obj{"Key": "team", "Value": "web", "PropagateAtLaunch": true}}
			in["DefaultInstanceWarmup"], in["MaxInstanceLifetime"] = int64(60), int64(86400)
		}, check: func(t *testing.T, s autoscaling.GroupSpec) {
			want := autoscaling.GroupSpec{Name: "web", LaunchTemplate: "hello", Version: "2", MinSize: intp(1), MaxSize: intp(3), DesiredCapacity: intp(2),
				AvailabilityZones: []string{"local-1c", "local-1a"}, TargetGroups: []string{"web"}, HealthCheckType: "ELB",
				HealthCheckGracePeriod: intp(30), DefaultCooldown: intp(300), DefaultInstanceWarmup: intp(60), MaxInstanceLifetime: 86400,
				TerminationPolicies: []string{"Default"}, Tags: map[string]string{"team": "web"}}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("spec\n%+v, want\n%+v", s, want)
			}
		}},
		{name: "traffic sources", mod: func(in protocol.Struct) {
			in["TrafficSources"] = []any{obj{"Identifier": tgARN, "Type": "elbv2"}}
		}, check: func(t *testing.T, s autoscaling.GroupSpec) {
			if !slices.Equal(s.TargetGroups, []string{"web"}) {
				t.Errorf("target groups %v", s.TargetGroups)
			}
		}},
		{name: "lifecycle hook", mod: func(in protocol.Struct) {
			in["LifecycleHookSpecificationList"] = []any{obj{"LifecycleHookName": "h", "LifecycleTransition": autoscaling.TransitionLaunching, "HeartbeatTimeout": int64(60)}}
		}, check: func(t *testing.T, s autoscaling.GroupSpec) {
			if len(s.LifecycleHooks) != 1 || s.LifecycleHooks[0].Name != "h" || deref(s.LifecycleHooks[0].HeartbeatTimeout) != 60 || s.LifecycleHooks[0].DefaultResult != "ABANDON" {
				t.Errorf("hooks %+v", s.LifecycleHooks)
			}
		}},
		{name: "min above max", mod: func(in protocol.Struct) { in["MinSize"] = int64(4) }, code: "ValidationError", msg: "Max bound, 3, must be greater than or equal to min bound, 4"},
		{name: "desired outside", mod: func(in protocol.Struct) { in["DesiredCapacity"] = int64(0) }, code: "ValidationError", msg: "Desired capacity:0 must be between the specified min size:1 and max size:3"},
		{name: "unknown template id", mod: func(in protocol.Struct) { in["LaunchTemplate"] = obj{"LaunchTemplateId": "lt-9"} }, code: "ValidationError", msg: "with template ID lt-9, does not exist"},
		{name: "unknown template name", mod: func(in protocol.Struct) { in["LaunchTemplate"] = obj{"LaunchTemplateName": "nope"} }, code: "ValidationError", msg: "with template name nope, does not exist"},
		{name: "unknown version", mod: func(in protocol.Struct) { in["LaunchTemplate"] = obj{"LaunchTemplateName": "hello", "Version": "7"} }, code: "ValidationError", msg: "has no version 7"},
		{name: "no template", mod: func(in protocol.Struct) { delete(in, "LaunchTemplate") }, code: "ValidationError", msg: "must contain either LaunchTemplate"},
		{name: "launch configuration", mod: func(in protocol.Struct) { in["LaunchConfigurationName"] = "lc" }, code: "ValidationError", msg: "LaunchConfigurationName is not supported"},
		{name: "unknown target group", mod: func(in protocol.Struct) { in["TargetGroupARNs"] = []any{tgARN + "0"} }, code: "ValidationError", msg: "Provided Target Groups may not be valid"},
		{name: "unknown subnet", mod: func(in protocol.Struct) { in["VPCZoneIdentifier"] = "subnet-x" }, code: "ValidationError", msg: "The subnet ID 'subnet-x' does not exist"},
		{name: "zones and subnets disagree", mod: func(in protocol.Struct) {
			in["VPCZoneIdentifier"], in["AvailabilityZones"] = "subnet-local-1a", []any{"local-1b"}
		}, code: "ValidationError", msg: "do not match"},
		{name: "ELB health without target group", mod: func(in protocol.Struct) { in["HealthCheckType"] = "ELB" }, code: "ValidationError", msg: "healthCheckType"},
		{name: "reserved tag", mod: func(in protocol.Struct) { in["Tags"] = []any{obj{"Key": "aws:x"}} }, code: "ValidationError", msg: "reserved"},
		{name: "taken name", mod: func(protocol.Struct) {}, existing: true, code: "AlreadyExists", msg: "A group with the name web already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			h := newService(t, f)
			if tc.existing {
				if _, err := call(t, h, "CreateAutoScalingGroup", base()); err != nil {
					t.Fatal(err)
				}
			}
			in := base()
			tc.mod(in)
			_, err := call(t, h, "CreateAutoScalingGroup", in)
			wantErr(t, tc.name, err, tc.code, tc.msg)
			if tc.check != nil && err == nil {
				tc.check(t, f.groups["web"].Spec)
			}
		})
	}
}

// withGroup returns a fake holding group web (min 1, max 3, desired 2),
// made by hand or, with owner, by a stack.
func withGroup(t *testing.T, owner string) (*fake, map[string]awsapi.Handler) {
	t.Helper()
	f := newFake()
	h := newService(t, f)
	if _, err := call(t, h, "CreateAutoScalingGroup", obj{"AutoScalingGroupName": "web", "MinSize": int64(1), "MaxSize": int64(3),
		"DesiredCapacity": int64(2), "LaunchTemplate": obj{"LaunchTemplateName": "hello"}, "TargetGroupARNs": []any{tgARN}}); err != nil {
		t.Fatal(err)
	}
	g := f.groups["web"]
	g.Owner = owner
	f.groups["web"] = g
	return f, h
}

func TestUpdateAutoScalingGroup(t *testing.T) {
	for _, tc := range []struct {
		name      string
		owner     string
		runtime   int // the desired capacity set since the create (0: none)
		in        protocol.Struct
		code, msg string
		min, max  int
		desired   int
		setCalls  []string
	}{
		{name: "sizes", in: obj{"MinSize": int64(2), "MaxSize": int64(4)}, min: 2, max: 4, desired: 2},
		{name: "desired after set-desired", runtime: 3, in: obj{"DesiredCapacity": int64(2)}, min: 1, max: 3, desired: 2, setCalls: []string{"web=3", "web=2"}},
		{name: "max below desired", in: obj{"MaxSize": int64(1)}, min: 1, max: 1, desired: 1},
		{name: "min above stored max", in: obj{"MinSize": int64(5)}, code: "ValidationError", msg: "Max bound, 3, must be greater than or equal to min bound, 5"},
		{name: "desired above new max", in: obj{"MaxSize": int64(2), "DesiredCapacity": int64(3)}, code: "ValidationError", msg: "Desired capacity:3 must be between"},
		{name: "unknown group", in: obj{"AutoScalingGroupName": "nope"}, code: "ValidationError", msg: "AutoScalingGroup name not found - AutoScalingGroup nope not found"},
		{name: "a stack's group", owner: "shop", in: obj{"MaxSize": int64(4)}, code: "ValidationError", msg: "belongs to madang stack 'shop'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, h := withGroup(t, tc.owner)
			if tc.runtime > 0 {
				if err := f.SetDesired(context.Background(), "web", tc.runtime, false); err != nil {
					t.Fatal(err)
				}
			}
			in := obj{"AutoScalingGroupName": "web"}
			for k, v := range tc.in {
				in[k] = v
			}
			_, err := call(t, h, "UpdateAutoScalingGroup", in)
			wantErr(t, tc.name, err, tc.code, tc.msg)
			if tc.code != "" {
				return
			}
			g := f.groups["web"]
			if g.MinSize != tc.min || g.MaxSize != tc.max || g.DesiredCapacity != tc.desired {
				t.Errorf("sizes %d %d %d, want %d %d %d", g.MinSize, g.MaxSize, g.DesiredCapacity, tc.min, tc.max, tc.desired)
			}
			if !slices.Equal(f.desired, tc.setCalls) {
				t.Errorf("SetDesired calls %v, want %v", f.desired, tc.setCalls)
			}
		})
	}
}

func TestDeleteAutoScalingGroup(t *testing.T) {
	for _, tc := range []struct {
		name      string
		owner     string
		instances bool
		activity  bool
		force     bool
		code, msg string
	}{
		{name: "empty group"},
		{name: "instances without force", instances: true, code: "ResourceInUse", msg: "while there are instances"},
		{name: "activities without force", activity: true, code: "ScalingActivityInProgress", msg: "scaling activities in progress"},
		{name: "instances with force", instances: true, activity: true, force: true},
		{name: "a stack's group", owner: "shop", force: true, code: "ValidationError", msg: "belongs to madang stack 'shop'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, h := withGroup(t, tc.owner)
			g := f.groups["web"]
			if tc.instances {
				g.Instances = []autoscaling.InstanceView{{InstanceID: "i-1", Lifecycle: autoscaling.InService}}
			}
			if tc.activity {
				g.Activity = &autoscaling.ActivitySummary{InProgress: 1}
			}
			f.groups["web"] = g
			_, err := call(t, h, "DeleteAutoScalingGroup", obj{"AutoScalingGroupName": "web", "ForceDelete": tc.force})
			wantErr(t, tc.name, err, tc.code, tc.msg)
			if deleted := slices.Equal(f.deleted, []string{"web"}); deleted != (tc.code == "") {
				t.Errorf("deleted %v", f.deleted)
			}
		})
	}
}

// Policies read from PutScalingPolicy's input render back as AWS's
// ScalingPolicy with the same members.
func TestPolicyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   protocol.Struct
	}{
		{"target tracking, predefined", obj{"PolicyType": "TargetTrackingScaling", "EstimatedInstanceWarmup": int64(30),
			"TargetTrackingConfiguration": obj{"TargetValue": 600.0, "DisableScaleIn": true,
				"PredefinedMetricSpecification": obj{"PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": "app/lb/1/targetgroup/web/2"}}}},
		{"target tracking, customized", obj{"PolicyType": "TargetTrackingScaling",
			"TargetTrackingConfiguration": obj{"TargetValue": 5.0, "DisableScaleIn": false,
				"CustomizedMetricSpecification": obj{"Namespace": "App", "MetricName": "Queue", "Statistic": "Sum",
					"Dimensions": []any{map[string]any{"Name": "q", "Value": "jobs"}}}}}},
		{"step", obj{"PolicyType": "StepScaling", "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Maximum",
			"StepAdjustments": []any{map[string]any{"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 10.0, "ScalingAdjustment": int64(1)},
				map[string]any{"MetricIntervalLowerBound": 10.0, "ScalingAdjustment": int64(2)}}}},
		{"simple", obj{"PolicyType": "SimpleScaling", "AdjustmentType": "PercentChangeInCapacity", "ScalingAdjustment": int64(-50),
			"Cooldown": int64(60), "MinAdjustmentMagnitude": int64(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := obj{"AutoScalingGroupName": "web", "PolicyName": "p"}
			for k, v := range tc.in {
				in[k] = v
			}
			p, err := policySpec(in)
			if err != nil {
				t.Fatal(err)
			}
			out := policyShape("web", p, "arn", []any{})
			for k, v := range tc.in {
				got := normalize(out[k])
				if !reflect.DeepEqual(got, normalize(v)) {
					t.Errorf("%s = %#v, want %#v", k, got, normalize(v))
				}
			}
			if out["Enabled"] != true || out["PolicyName"] != "p" || out["PolicyARN"] != "arn" {
				t.Errorf("policy %v", out)
			}
		})
	}
}

// normalize turns Structs into maps and drops zero-valued members the
// input left out (Statistic defaults aside), for comparing shapes.
func normalize(v any) any {
	switch x := v.(type) {
	case protocol.Struct:
		return normalize(map[string]any(x))
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			out = append(out, normalize(e))
		}
		return out
	}
	return v
}

func TestPartsOfAGroup(t *testing.T) {
	f, h := withGroup(t, "")
	steps := []struct {
		op        string
		in        protocol.Struct
		code, msg string
	}{
		{op: "PutScalingPolicy", in: obj{"PolicyName": "cpu", "PolicyType": "TargetTrackingScaling",
			"TargetTrackingConfiguration": obj{"TargetValue": 50.0, "PredefinedMetricSpecification": obj{"PredefinedMetricType": "ASGAverageCPUUtilization"}}}},
		{op: "PutScalingPolicy", in: obj{"PolicyName": "bad", "PolicyType": "TargetTrackingScaling",
			"TargetTrackingConfiguration": obj{"TargetValue": 50.0}}, code: "ValidationError", msg: "names no metric"},
		{op: "PutScheduledUpdateGroupAction", in: obj{"ScheduledActionName": "night", "Recurrence": "0 22 * * *", "DesiredCapacity": int64(1)}},
		{op: "PutLifecycleHook", in: obj{"LifecycleHookName": "drain", "LifecycleTransition": autoscaling.TransitionTerminating, "DefaultResult": "CONTINUE"}},
		{op: "PutLifecycleHook", in: obj{"LifecycleHookName": "sns", "LifecycleTransition": autoscaling.TransitionLaunching, "NotificationTargetARN": "arn:aws:sns:x"},
			code: "ValidationError", msg: "NotificationTargetARN and RoleARN are not supported"},
		{op: "PutWarmPool", in: obj{"MinSize": int64(1), "PoolState": "Running"}},
		{op: "SuspendProcesses", in: obj{"ScalingProcesses": []any{"AZRebalance"}}},
		{op: "SuspendProcesses", in: obj{"ScalingProcesses": []any{"Nope"}}, code: "ValidationError", msg: "is not a scaling process"},
		{op: "DetachLoadBalancerTargetGroups", in: obj{"TargetGroupARNs": []any{tgARN}}},
		{op: "CreateOrUpdateTags", in: obj{"Tags": []any{obj{"ResourceId": "web", "ResourceType": "auto-scaling-group", "Key": "a", "Value": "1"},
			obj{"ResourceId": "web", "Key": "b", "Value": "2"}}}},
		{op: "DeleteTags", in: obj{"Tags": []any{obj{"ResourceId": "web", "Key": "b", "Value": "other"}}}},
		{op: "DeleteTags", in: obj{"Tags": []any{obj{"ResourceId": "web", "Key": "a"}}}},
		{op: "DeletePolicy", in: obj{"PolicyName": "nope"}, code: "ValidationError", msg: "Policy nope not found"},
		{op: "DeleteScheduledAction", in: obj{"ScheduledActionName": "nope"}, code: "ValidationError", msg: "Could not find scheduled action nope"},
	}
	for _, st := range steps {
		in := obj{"AutoScalingGroupName": "web"}
		for k, v := range st.in {
			in[k] = v
		}
		_, err := call(t, h, st.op, in)
		wantErr(t, st.op, err, st.code, st.msg)
	}
	s := f.groups["web"].Spec
	if len(s.ScalingPolicies) != 1 || s.ScalingPolicies[0].Name != "cpu" || len(s.ScheduledActions) != 1 || len(s.LifecycleHooks) != 1 ||
		s.WarmPool == nil || s.WarmPool.PoolState != "Running" || !slices.Equal(s.SuspendedProcesses, []string{"AZRebalance"}) ||
		len(s.TargetGroups) != 0 || !reflect.DeepEqual(s.Tags, map[string]string{"b": "2"}) {
		t.Errorf("spec after the changes: %+v", s)
	}

	out, err := call(t, h, "DescribePolicies", obj{"PolicyNames": []any{autoscaling.PolicyARN("p", "web", "cpu")}})
	if err != nil || len(out["ScalingPolicies"].([]any)) != 1 {
		t.Errorf("DescribePolicies by ARN = %v, %v", out, err)
	}
	f.alarms = []cloudwatch.AlarmView{{Name: "hi", ARN: "arn:aws:cloudwatch:local:000000000000:alarm:hi",
		Metric: &cloudwatch.AlarmSpec{AlarmActions: []string{autoscaling.PolicyARN("other-id", "web", "cpu")}}}}
	out, err = call(t, h, "PutScalingPolicy", obj{"AutoScalingGroupName": "web", "PolicyName": "cpu", "PolicyType": "SimpleScaling", "ScalingAdjustment": int64(1)})
	if err != nil || !reflect.DeepEqual(out["Alarms"], []any{map[string]any{"AlarmName": "hi", "AlarmARN": "arn:aws:cloudwatch:local:000000000000:alarm:hi"}}) {
		t.Errorf("PutScalingPolicy with an alarm naming it = %v, %v", out, err)
	}
	out, err = call(t, h, "DescribeScheduledActions", obj{"AutoScalingGroupName": "web"})
	if acts, _ := out["ScheduledUpdateGroupActions"].([]any); err != nil || len(acts) != 1 || acts[0].(map[string]any)["Recurrence"] != "0 22 * * *" {
		t.Errorf("DescribeScheduledActions = %v, %v", out, err)
	}
	out, err = call(t, h, "DescribeLifecycleHooks", obj{"AutoScalingGroupName": "web"})
	if hooks, _ := out["LifecycleHooks"].([]any); err != nil || len(hooks) != 1 || hooks[0].(map[string]any)["GlobalTimeout"] != int64(172800) {
		t.Errorf("DescribeLifecycleHooks = %v, %v", out, err)
	}
	_, err = call(t, h, "StartInstanceRefresh", obj{"AutoScalingGroupName": "web"})
	wantErr(t, "StartInstanceRefresh", err, "InstanceRefreshInProgress", "already in progress")
	_, err = call(t, h, "RollbackInstanceRefresh", obj{"AutoScalingGroupName": "web"})
	wantErr(t, "RollbackInstanceRefresh", err, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh")
	_, err = call(t, h, "StartInstanceRefresh", obj{"AutoScalingGroupName": "web", "Preferences": obj{"MinHealthyPercentage": int64(101)}})
	wantErr(t, "StartInstanceRefresh with a bad preference", err, "ValidationError", "minHealthyPercentage")
}

func TestDescribeAutoScalingGroups(t *testing.T) {
	f := newFake()
	h := newService(t, f)
	for _, n := range []string{"a", "b", "c"} {
		in := obj{"AutoScalingGroupName": n, "MinSize": int64(0), "MaxSize": int64(1), "LaunchTemplate": obj{"LaunchTemplateName": "hello"},
			"Tags": []any{obj{"Key": "env", "Value": map[string]string{"a": "prod", "b": "dev", "c": "prod"}[n]}}}
		if _, err := call(t, h, "CreateAutoScalingGroup", in); err != nil {
			t.Fatal(err)
		}
	}
	g := f.groups["a"]
	g.CreatedTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g.Instances = []autoscaling.InstanceView{{InstanceID: "i-1", Zone: "local-1a", Lifecycle: "InService", Health: "Healthy", LaunchTemplate: "hello", LaunchTemplateVersion: 1},
		{InstanceID: "i-2", Zone: "local-1b", Lifecycle: "Warmed:Stopped", Health: "Healthy", LaunchTemplate: "hello", LaunchTemplateVersion: 1}}
	f.groups["a"] = g
	names := func(out map[string]any) []string {
		var ns []string
		for _, g := range out["AutoScalingGroups"].([]any) {
			ns = append(ns, g.(map[string]any)["AutoScalingGroupName"].(string))
		}
		return ns
	}
	for _, tc := range []struct {
		name      string
		in        protocol.Struct
		want      []string
		next      string
		code, msg string
	}{
		{name: "all", in: obj{}, want: []string{"a", "b", "c"}},
		{name: "by name", in: obj{"AutoScalingGroupNames": []any{"c", "x"}}, want: []string{"c"}},
		{name: "tag:env", in: obj{"Filters": []any{obj{"Name": "tag:env", "Values": []any{"prod"}}}}, want: []string{"a", "c"}},
		{name: "tag-value and tag-key", in: obj{"Filters": []any{obj{"Name": "tag-value", "Values": []any{"dev"}},
			obj{"Name": "tag-key", "Values": []any{"env"}}}}, want: []string{"b"}},
		{name: "page", in: obj{"MaxRecords": int64(2)}, want: []string{"a", "b"}, next: "2"},
		{name: "next page", in: obj{"MaxRecords": int64(2), "NextToken": "2"}, want: []string{"c"}},
		{name: "bad token", in: obj{"NextToken": "x"}, code: "InvalidNextToken", msg: "is invalid"},
		{name: "bad filter", in: obj{"Filters": []any{obj{"Name": "owner"}}}, code: "ValidationError", msg: "Filter 'owner' is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(t, h, "DescribeAutoScalingGroups", tc.in)
			wantErr(t, tc.name, err, tc.code, tc.msg)
			if err != nil {
				return
			}
			if got := names(out); !slices.Equal(got, tc.want) {
				t.Errorf("groups %v, want %v", got, tc.want)
			}
			if next, _ := out["NextToken"].(string); next != tc.next {
				t.Errorf("NextToken %q, want %q", next, tc.next)
			}
		})
	}
	out, _ := call(t, h, "DescribeAutoScalingGroups", obj{"AutoScalingGroupNames": []any{"a"}})
	a := out["AutoScalingGroups"].([]any)[0].(map[string]any)
	ins := a["Instances"].([]any)
	if len(ins) != 1 || ins[0].(map[string]any)["InstanceId"] != "i-1" || a["WarmPoolSize"] != nil ||
		a["VPCZoneIdentifier"] != "subnet-local-1a,subnet-local-1b" || a["CreatedTime"] != g.CreatedTime {
		t.Errorf("group a: %v", a)
	}
	if lt := ins[0].(map[string]any)["LaunchTemplate"].(map[string]any); lt["LaunchTemplateId"] != "lt-0000000000000001" || lt["Version"] != "1" {
		t.Errorf("instance launch template %v", lt)
	}
	out, _ = call(t, h, "DescribeWarmPool", obj{"AutoScalingGroupName": "a"})
	if w := out["Instances"].([]any); len(w) != 1 || w[0].(map[string]any)["LifecycleState"] != "Warmed:Stopped" {
		t.Errorf("DescribeWarmPool %v", out)
	}
	out, _ = call(t, h, "DescribeTags", obj{"Filters": []any{obj{"Name": "value", "Values": []any{"prod"}}}})
	if tags := out["Tags"].([]any); len(tags) != 2 {
		t.Errorf("DescribeTags value=prod: %v", tags)
	}
}

func TestASGError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		code, msg string
	}{
		{"code in the message", fault.Conflictf(autoscaling.KindGroup, "web", "ScalingActivityInProgress: the group is in its cooldown"), "ScalingActivityInProgress", "the group is in its cooldown"},
		{"invalid", fault.Invalidf(autoscaling.KindGroup, "web", "minSize is bad"), "ValidationError", "minSize is bad"},
		{"missing reference", fault.NotFoundf("launch-template", "x", "no such template"), "ValidationError", "no such template"},
		{"in use", fault.InUsef(autoscaling.KindGroup, "web", "used"), "ResourceInUse", "used"},
		{"already exists", fault.AlreadyExistsf(autoscaling.KindGroup, "web", "exists"), "AlreadyExists", "exists"},
		{"an AWS error", protocol.Errorf("LimitExceeded", "too many"), "LimitExceeded", "too many"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, asgError(tc.err), tc.code, tc.msg) })
	}
}

// obj is a decoded structure as the codecs make it (nested structures are
// plain maps).
type obj = map[string]any

func TestASGErrorSaysTheHintOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code string
		want string
	}{
		{name: "hint of the fault", err: fault.NotFoundf(autoscaling.KindGroup, "web", "Policy nope not found").WithHint("madang asg describe web lists its policies"),
			code: "ValidationError", want: "Policy nope not found; madang asg describe web lists its policies"},
		{name: "hint of a wrapped fault", err: &fault.Error{Code: fault.Invalid, Message: "bad", Err: fault.Invalidf("", "", "inner").WithHint("fix it")},
			code: "ValidationError", want: "bad (fix it)"},
		{name: "code prefix", err: fault.Conflictf(autoscaling.KindGroup, "web", "ScalingActivityInProgress: in cooldown").WithHint("wait"),
			code: "ScalingActivityInProgress", want: "in cooldown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pe *protocol.Error
			if !errors.As(asgError(tc.err), &pe) || pe.Code != tc.code || pe.Message != tc.want {
				t.Errorf("asgError = %v, want %s %q", asgError(tc.err), tc.code, tc.want)
			}
		})
	}
}
