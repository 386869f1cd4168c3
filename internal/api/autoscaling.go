package api

import (
	"net/http"
	"strconv"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/fault"
)

// mountAutoScaling registers the EC2 Auto Scaling routes.
func (s *Server) mountAutoScaling(mux *http.ServeMux) {
	if s.AutoScaling == nil {
		return
	}
	mux.HandleFunc("GET /v1/autoscaling/groups", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, convertList(s.AutoScaling.Groups(), autoScalingGroupOf))
	})
	mux.HandleFunc("GET /v1/autoscaling/groups/{name}", func(w http.ResponseWriter, r *http.Request) {
		g, err := s.AutoScaling.Group(r.PathValue("name"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, autoScalingGroupOf(g))
	})
	mux.HandleFunc("GET /v1/autoscaling/groups/{name}/activities", s.scalingActivities)
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/desired-capacity", s.setDesiredCapacity)
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/policies/{policy}/execute", s.executePolicy)
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/lifecycle-actions", s.completeLifecycleAction)
	mux.HandleFunc("POST /v1/autoscaling/groups/{name}/lifecycle-heartbeats", s.lifecycleHeartbeat)
	s.mountRefresh(mux)
	s.mountDeployments(mux)   // autoscaling_deploy.go
	s.mountInstanceMoves(mux) // autoscaling_instances.go
}

func (s *Server) scalingActivities(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	max := v1.DefaultMaxActivities
	if v := r.URL.Query().Get("max"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > v1.MaxActivities {
			s.fail(w, r, fault.Invalidf(autoscaling.KindGroup, name, "max %q is not a number of activities from 1 to %d", v, v1.MaxActivities).
				WithHint("AWS's MaxRecords allows up to 100; madang keeps up to 500 per group"))
			return
		}
		max = n
	}
	as, err := s.AutoScaling.Activities(r.Context(), name, max)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(as) == 0 {
		// Activities of deleted groups are kept; an unknown group with
		// none is a 404 rather than an empty answer.
		if _, err := s.AutoScaling.Group(name); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, convertList(as, scalingActivityOf))
}

func (s *Server) setDesiredCapacity(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req v1.SetDesiredCapacityRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case req.DesiredCapacity == nil:
		s.fail(w, r, fault.Invalidf(autoscaling.KindGroup, name, "desiredCapacity is required").WithHint(`send {"desiredCapacity": N}`))
		return
	case *req.DesiredCapacity < 0:
		s.fail(w, r, fault.Invalidf(autoscaling.KindGroup, name, "desiredCapacity %d is negative", *req.DesiredCapacity).WithHint("give 0 or more, within the group's minSize and maxSize"))
		return
	}
	if err := s.AutoScaling.SetDesired(r.Context(), name, *req.DesiredCapacity, req.HonorCooldown); err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.AutoScaling.Group(name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, autoScalingGroupOf(g))
}

func (s *Server) executePolicy(w http.ResponseWriter, r *http.Request) {
	var req v1.ExecutePolicyRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	ex, err := s.AutoScaling.ExecutePolicy(r.Context(), r.PathValue("name"), r.PathValue("policy"), autoscaling.ExecuteOptions{
		HonorCooldown: req.HonorCooldown, MetricValue: req.MetricValue, BreachThreshold: req.BreachThreshold})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, policyExecutionOf(ex))
}

func policyExecutionOf(ex autoscaling.Execution) v1.PolicyExecution {
	return v1.PolicyExecution{AutoScalingGroupName: ex.Group, PolicyName: ex.Policy, PolicyType: ex.PolicyType,
		PreviousDesiredCapacity: ex.From, DesiredCapacity: ex.To, Cause: ex.Cause}
}

// lifecycleTarget checks that a lifecycle request names its hook and its
// instance (by id or token).
func lifecycleTarget(group, hook, instanceID, token string) error {
	switch {
	case hook == "":
		return fault.Invalidf(autoscaling.KindGroup, group, "lifecycleHookName is required").WithHint("name the hook the instance waits in")
	case instanceID == "" && token == "":
		return fault.Invalidf(autoscaling.KindGroup, group, "instanceId or lifecycleActionToken is required").
			WithHint("madang asg describe " + group + " lists the instances waiting in hooks")
	}
	return nil
}

func (s *Server) completeLifecycleAction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req v1.CompleteLifecycleActionRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := lifecycleTarget(name, req.LifecycleHookName, req.InstanceID, req.LifecycleActionToken); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.LifecycleActionResult == "" {
		s.fail(w, r, fault.Invalidf(autoscaling.KindGroup, name, "lifecycleActionResult is required").WithHint("use CONTINUE or ABANDON"))
		return
	}
	if err := s.AutoScaling.CompleteLifecycleAction(r.Context(), name, req.LifecycleHookName, req.InstanceID,
		req.LifecycleActionToken, req.LifecycleActionResult); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) lifecycleHeartbeat(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req v1.LifecycleHeartbeatRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := lifecycleTarget(name, req.LifecycleHookName, req.InstanceID, req.LifecycleActionToken); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.AutoScaling.RecordLifecycleActionHeartbeat(r.Context(), name, req.LifecycleHookName, req.InstanceID,
		req.LifecycleActionToken); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func autoScalingGroupOf(g autoscaling.GroupView) v1.AutoScalingGroup {
	out := v1.AutoScalingGroup{
		Name: g.Name, ARN: g.ARN, Owner: g.Owner, LaunchTemplate: g.LaunchTemplate, Version: g.Version,
		MinSize: g.MinSize, MaxSize: g.MaxSize, DesiredCapacity: g.DesiredCapacity, CreatedTime: g.CreatedTime,
		InService: g.InService, Pending: g.Pending, Warm: g.Warm,
		Instances: convertList(g.Instances, func(i autoscaling.InstanceView) v1.AutoScalingInstance {
			return v1.AutoScalingInstance{
				InstanceID: i.InstanceID, AvailabilityZone: i.Zone, LifecycleState: i.Lifecycle,
				HealthStatus: i.Health, HealthReason: i.HealthReason,
				LaunchTemplate: i.LaunchTemplate, LaunchTemplateVersion: i.LaunchTemplateVersion, InstanceType: i.InstanceType,
				ProtectedFromScaleIn: i.Protected, LaunchedAt: i.LaunchedAt, InServiceAt: i.InServiceAt,
				LifecycleHook: i.Hook, LifecycleActionToken: i.HookToken, LifecycleHookDeadline: i.HookDeadline,
				TargetGroups: nilIfEmpty(i.TargetGroups), Fleet: i.Fleet,
			}
		}),
		ScalingPolicies: nilIfEmpty(convertList(g.Policies, func(p autoscaling.PolicyView) v1.ScalingPolicy {
			return scalingPolicyOf(p, g.Spec.ScalingPolicies)
		})),
		LifecycleHooks: nilIfEmpty(convertList(g.Hooks, func(h autoscaling.HookSpec) v1.LifecycleHook {
			return v1.LifecycleHook{LifecycleHookName: h.Name, LifecycleTransition: h.LifecycleTransition,
				HeartbeatTimeout: h.HeartbeatTimeout, DefaultResult: h.DefaultResult, Command: h.Command}
		})),
		SuspendedProcesses: nilIfEmpty(g.Suspended), AvailabilityZones: g.Zones, TargetGroups: nilIfEmpty(g.Targets),
		HealthCheckType: g.Spec.HealthCheckType, Status: g.Status, Cause: g.Cause,
		HealthCheckGracePeriod: intOr(g.Spec.HealthCheckGracePeriod, 0), DefaultCooldown: intOr(g.Spec.DefaultCooldown, 300),
		TerminationPolicies: g.Spec.TerminationPolicies, Tags: g.Spec.Tags,
	}
	if len(out.TerminationPolicies) == 0 {
		out.TerminationPolicies = []string{"Default"}
	}
	if out.AvailabilityZones == nil {
		out.AvailabilityZones = []string{}
	}
	specs := map[string]autoscaling.ScheduledActionSpec{}
	for _, a := range g.Spec.ScheduledActions {
		specs[a.Name] = a
	}
	out.ScheduledActions = nilIfEmpty(convertList(g.Schedules, func(a autoscaling.ScheduleView) v1.ScheduledAction {
		sp := specs[a.Name]
		return v1.ScheduledAction{ScheduledActionName: a.Name, Recurrence: sp.Recurrence, NextRun: a.Next, TimeZone: sp.TimeZone,
			StartTime: sp.StartTime, EndTime: sp.EndTime, MinSize: sp.MinSize, MaxSize: sp.MaxSize, DesiredCapacity: sp.DesiredCapacity}
	}))
	if wp := g.WarmPool; wp != nil {
		out.WarmPool = &v1.WarmPool{MinSize: wp.MinSize, MaxGroupPreparedCapacity: wp.MaxGroupPreparedCapacity, PoolState: wp.PoolState}
		if wp.InstanceReusePolicy != nil {
			out.WarmPool.ReuseOnScaleIn = wp.InstanceReusePolicy.ReuseOnScaleIn
		}
	}
	if g.Activity != nil {
		out.ActivitiesInProgress = g.Activity.InProgress
	}
	out.Standby, out.EnabledMetrics = g.Standby, nilIfEmpty(g.EnabledMetrics)
	out.NewInstancesProtectedFromScaleIn = g.Spec.NewInstancesProtectedFromScaleIn
	return out
}

// scalingPolicyOf is a policy with the settings of its spec (found by
// name among specs).
func scalingPolicyOf(p autoscaling.PolicyView, specs []autoscaling.PolicySpec) v1.ScalingPolicy {
	out := v1.ScalingPolicy{PolicyName: p.Name, PolicyType: p.Type, PolicyARN: p.ARN, Enabled: true}
	for _, sp := range specs {
		if sp.Name != p.Name {
			continue
		}
		out.AdjustmentType, out.ScalingAdjustment, out.Cooldown = sp.AdjustmentType, sp.ScalingAdjustment, sp.Cooldown
		out.EstimatedInstanceWarmup = sp.EstimatedInstanceWarmup
		out.Enabled = sp.Enabled == nil || *sp.Enabled
		for _, st := range sp.StepAdjustments {
			out.StepAdjustments = append(out.StepAdjustments, v1.StepAdjustment{MetricIntervalLowerBound: st.MetricIntervalLowerBound,
				MetricIntervalUpperBound: st.MetricIntervalUpperBound, ScalingAdjustment: st.ScalingAdjustment})
		}
		if tt := sp.TargetTrackingConfiguration; tt != nil {
			out.TargetTracking = &v1.TargetTracking{TargetValue: tt.TargetValue, DisableScaleIn: tt.DisableScaleIn}
			if pm := tt.PredefinedMetricSpecification; pm != nil {
				out.TargetTracking.PredefinedMetricType = pm.PredefinedMetricType
			}
			if cm := tt.CustomizedMetricSpecification; cm != nil {
				out.TargetTracking.Namespace, out.TargetTracking.MetricName, out.TargetTracking.Statistic = cm.Namespace, cm.MetricName, cm.Statistic
			}
		}
	}
	return out
}

// intOr is *p, or def when p is nil.
func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func scalingActivityOf(a autoscaling.Activity) v1.ScalingActivity {
	return v1.ScalingActivity{
		ActivityID: a.ID, AutoScalingGroupName: a.Group, Description: a.Description, Cause: a.Cause,
		StartTime: a.StartTime, EndTime: a.EndTime, StatusCode: a.StatusCode, StatusMessage: a.StatusMessage,
		Progress: a.Progress, Details: a.Details, InstanceID: a.InstanceID,
	}
}
