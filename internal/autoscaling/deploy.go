package autoscaling

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/appspec"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/state"
)

// In-place deployments (CodeDeploy's CreateDeployment, GetDeployment,
// ListDeployments, StopDeployment for an EC2 deployment group that is an
// Auto Scaling group behind a load balancer).
//
// A deployment installs a revision — a version of the image the group's
// launch template names — on the group's instances where they are,
// keeping their ids and addresses: a batch at a time, sized by the
// deployment configuration, each instance going through CodeDeploy's
// lifecycle events (deployrun.go). An instance being deployed to is in
// lifecycle state Deploying: it counts as capacity (no extra launch), the
// group's health checks leave it alone (it is stopped on purpose for a
// while) and scale-in never picks it. From the moment a deployment
// starts, the group's revision is its revision: instances the group
// launches meanwhile (scale-out, replacements) run it, and so do later
// starts of the instances it was installed on (the image version is
// pinned on them). An instance refresh of the group clears the revision,
// so launches follow the image's newest version again.
//
// The deployment is recorded in the store after every step and resumed by
// the next controller after a daemon restart: an event that was running
// then is run again.

// Store key prefixes of deployments.
const (
	// DeploymentPrefix holds the deployments, by group name then a
	// time-ordered id.
	DeploymentPrefix = "/autoscaling/deployments/"
	// RevisionPrefix holds each group's revision, by group name.
	RevisionPrefix = "/autoscaling/revisions/"
)

// Deploying is the lifecycle state of an instance an in-place deployment
// works on. It is madang's, not AWS's (AWS's groups know nothing of
// CodeDeploy's work).
const Deploying = "Deploying"

// Deployment statuses, as CodeDeploy names them.
const (
	DeploymentCreated    = "Created"
	DeploymentInProgress = "InProgress"
	DeploymentSucceeded  = "Succeeded"
	DeploymentFailed     = "Failed"
	DeploymentStopped    = "Stopped"
)

// Statuses of a deployment's instances and of their lifecycle events.
const (
	TargetPending    = "Pending"
	TargetInProgress = "InProgress"
	TargetSucceeded  = "Succeeded"
	TargetFailed     = "Failed"
	TargetSkipped    = "Skipped"
)

// CodeDeploy's predefined deployment configurations.
const (
	ConfigOneAtATime  = "CodeDeployDefault.OneAtATime"
	ConfigHalfAtATime = "CodeDeployDefault.HalfAtATime"
	ConfigAllAtOnce   = "CodeDeployDefault.AllAtOnce"
	// ConfigCustom names a configuration given by its minimum healthy
	// hosts.
	ConfigCustom = "Custom"
)

// Minimum healthy hosts types (MinimumHealthyHosts.Type).
const (
	HostCount    = "HOST_COUNT"
	FleetPercent = "FLEET_PERCENT"
)

// MinimumHealthyHosts is how many instances must stay healthy during a
// deployment (CodeDeploy's MinimumHealthyHosts): a count or a percentage
// of the instances deployed to.
type MinimumHealthyHosts struct {
	Type  string `json:"type"`
	Value int    `json:"value"`
}

// DeploymentConfig is a deployment configuration.
type DeploymentConfig struct {
	Name string `json:"deploymentConfigName"`
	// MinimumHealthyHosts is unset for OneAtATime, which deploys to one
	// instance at a time with its own success rule.
	MinimumHealthyHosts *MinimumHealthyHosts `json:"minimumHealthyHosts,omitempty"`
}

// ParseDeploymentConfig returns the configuration a name (one of
// CodeDeploy's predefined ones; "" for OneAtATime, CodeDeploy's default)
// or a custom minimum of healthy hosts ("3" or "75%") names.
func ParseDeploymentConfig(name, minHealthy string) (DeploymentConfig, error) {
	if minHealthy != "" {
		if name != "" && name != ConfigCustom {
			return DeploymentConfig{}, fault.Invalidf(KindGroup, "", "deploymentConfigName %q and minimumHealthyHosts %q are both given", name, minHealthy).
				WithHint("give one of them")
		}
		mh := MinimumHealthyHosts{Type: HostCount}
		v := minHealthy
		if p, ok := strings.CutSuffix(minHealthy, "%"); ok {
			mh.Type, v = FleetPercent, p
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || (mh.Type == FleetPercent && n > 100) {
			return DeploymentConfig{}, fault.Invalidf(KindGroup, "", "minimumHealthyHosts %q is not a number of hosts or a percentage", minHealthy).
				WithHint("give a count such as 3 or a percentage from 0% to 99% such as 75%")
		}
		mh.Value = n
		return DeploymentConfig{Name: ConfigCustom, MinimumHealthyHosts: &mh}, nil
	}
	switch name {
	case "", ConfigOneAtATime:
		return DeploymentConfig{Name: ConfigOneAtATime}, nil
	case ConfigHalfAtATime:
		return DeploymentConfig{Name: name, MinimumHealthyHosts: &MinimumHealthyHosts{Type: FleetPercent, Value: 50}}, nil
	case ConfigAllAtOnce:
		return DeploymentConfig{Name: name, MinimumHealthyHosts: &MinimumHealthyHosts{Type: FleetPercent, Value: 0}}, nil
	}
	return DeploymentConfig{}, fault.Invalidf(KindGroup, "", "deploymentConfigName %q is not a deployment configuration", name).
		WithHint("use " + ConfigOneAtATime + ", " + ConfigHalfAtATime + " or " + ConfigAllAtOnce + ", or a custom minimum of healthy hosts")
}

// Plan returns, for n instances, how many may be deployed to at a time
// and how many must stay healthy (AWS's rules: HalfAtATime of 9 is 4 at a
// time and needs 5; HOST_COUNT 6 of 9 is 3 at a time; FLEET_PERCENT 40 of
// 9 is 5 at a time and needs 4).
func (c DeploymentConfig) Plan(n int) (atOnce, minHealthy int) {
	mh := c.MinimumHealthyHosts
	switch {
	case mh == nil:
		return min(1, n), max(n-1, 0)
	case mh.Type == FleetPercent:
		minHealthy = (mh.Value*n + 99) / 100
	default:
		minHealthy = mh.Value
	}
	return n - minHealthy, minHealthy
}

// Describe says what the configuration does for n instances.
func (c DeploymentConfig) Describe(n int) string {
	at, need := c.Plan(n)
	if c.MinimumHealthyHosts == nil {
		return fmt.Sprintf("%s: 1 instance at a time", c.Name)
	}
	what := c.Name
	if c.Name == ConfigCustom {
		what = fmt.Sprintf("minimum healthy hosts %d", c.MinimumHealthyHosts.Value)
		if c.MinimumHealthyHosts.Type == FleetPercent {
			what += "%"
		}
	}
	return fmt.Sprintf("%s: up to %d of %d at a time, %d must stay healthy", what, at, n, need)
}

// DeploymentRequest starts a deployment (CreateDeployment).
type DeploymentRequest struct {
	// ImageVersion is the revision: a version of the group's image (0:
	// its newest).
	ImageVersion int `json:"imageVersion,omitempty"`
	// DeploymentConfigName and MinimumHealthyHosts choose the
	// configuration (see ParseDeploymentConfig).
	DeploymentConfigName string `json:"deploymentConfigName,omitempty"`
	MinimumHealthyHosts  string `json:"minimumHealthyHosts,omitempty"`
	// DisableRollback turns automatic rollback off (on by default): in
	// place, no rollback deployment follows a failure (the group replaces
	// the instances it failed on); blue/green, the traffic still returns
	// to the original instances, but the replacements leave the group
	// running, for inspection.
	DisableRollback bool `json:"disableRollback,omitempty"`
	// Alarms stop (and roll back) the deployment when one is in ALARM;
	// at most 10.
	Alarms      []string `json:"alarms,omitempty"`
	Description string   `json:"description,omitempty"`
	// ZonalConfig deploys in place one zone at a time (zonal.go).
	ZonalConfig *ZonalConfig `json:"zonalConfig,omitempty"`
	// DeploymentType is IN_PLACE (the default) or BLUE_GREEN
	// (bluegreen.go).
	DeploymentType string `json:"deploymentType,omitempty"`
	// TrafficRouting (nil: all at once), TerminationWaitSeconds (nil: 1
	// hour) and KeepOriginals are a blue/green deployment's.
	TrafficRouting         *TrafficRouting `json:"trafficRouting,omitempty"`
	TerminationWaitSeconds *int            `json:"terminationWaitSeconds,omitempty"`
	KeepOriginals          bool            `json:"keepOriginals,omitempty"`
}

// ErrorInfo says why a deployment failed or stopped (CodeDeploy's
// ErrorInformation codes: HEALTH_CONSTRAINTS, ALARM_ACTIVE,
// DEPLOYMENT_STOPPED…).
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Deployment is one in-place deployment of a group.
type Deployment struct {
	// ID is d- and 9 characters, as CodeDeploy's.
	ID    string `json:"deploymentId"`
	Group string `json:"autoScalingGroupName"`
	// Application is APPLICATION_NAME: the group's stack, or the group.
	Application string `json:"applicationName"`
	// DeploymentGroupID is DEPLOYMENT_GROUP_ID: the group's ARN id.
	DeploymentGroupID string `json:"deploymentGroupId"`
	Status            string `json:"status"`
	// Type is IN_PLACE ("" in records made before blue/green) or
	// BLUE_GREEN, whose state BlueGreen holds.
	Type      string     `json:"deploymentType,omitempty"`
	BlueGreen *BlueGreen `json:"blueGreen,omitempty"`
	// Zonal, if set, deploys one zone at a time; ZoneWait says what the
	// next zone waits for.
	Zonal    *ZonalConfig     `json:"zonalConfig,omitempty"`
	ZoneWait string           `json:"zoneWait,omitempty"`
	Config   DeploymentConfig `json:"deploymentConfig"`
	// Image and ImageVersion are the revision; FromImageVersion the one
	// the instances ran before (the rollback's revision).
	Image            string   `json:"image"`
	ImageVersion     int      `json:"imageVersion"`
	FromImageVersion int      `json:"fromImageVersion"`
	AutoRollback     bool     `json:"autoRollbackEnabled"`
	Alarms           []string `json:"alarms,omitempty"`
	Description      string   `json:"description,omitempty"`
	// Creator is "user" or "autoRollback" (CodeDeploy's).
	Creator string `json:"creator"`
	// RollbackOf and RolledBackBy link a rollback and what it rolls back.
	RollbackOf   string     `json:"rollbackOf,omitempty"`
	RolledBackBy string     `json:"rolledBackBy,omitempty"`
	ErrorInfo    *ErrorInfo `json:"errorInformation,omitempty"`
	CreateTime   time.Time  `json:"createTime"`
	CompleteTime time.Time  `json:"completeTime,omitzero"`
	// AtOnce and MinHealthy are the configuration's plan for the
	// instances deployed to.
	AtOnce     int `json:"atOnce"`
	MinHealthy int `json:"minHealthyHosts"`
	// Stopping, once set, says why no further instance starts: the
	// deployment ends with it when the instances under way are done.
	Stopping *ErrorInfo `json:"stopping,omitempty"`
	// StopRollback rolls back a deployment stopped by a user request.
	StopRollback bool `json:"stopRollback,omitempty"`
	// Instances are the instances deployed to, in deployment order.
	Instances []*DeploymentTarget `json:"instances"`
}

// DeploymentTarget is one instance of a deployment (CodeDeploy's
// InstanceTarget).
type DeploymentTarget struct {
	InstanceID string `json:"instanceId"`
	Status     string `json:"status"`
	// Zone is the instance's availability zone.
	Zone string `json:"availabilityZone,omitempty"`
	// Batch numbers the batches from 1 (0: not started).
	Batch     int       `json:"batch,omitempty"`
	StartTime time.Time `json:"startTime,omitzero"`
	EndTime   time.Time `json:"endTime,omitzero"`
	// Next is the index of the next event to run.
	Next   int               `json:"next"`
	Events []*LifecycleEvent `json:"lifecycleEvents"`
}

// LifecycleEvent is one lifecycle event of an instance's deployment.
type LifecycleEvent struct {
	Name        string       `json:"lifecycleEventName"`
	Status      string       `json:"status"`
	StartTime   time.Time    `json:"startTime,omitzero"`
	EndTime     time.Time    `json:"endTime,omitzero"`
	Diagnostics *Diagnostics `json:"diagnostics,omitempty"`
}

// Diagnostics say what an event did (CodeDeploy's Diagnostics): the
// script, its last lines of output, why it failed.
type Diagnostics struct {
	// ErrorCode is Success, ScriptFailed, ScriptTimedOut, ScriptMissing
	// or UnknownError.
	ErrorCode  string `json:"errorCode"`
	ScriptName string `json:"scriptName,omitempty"`
	Message    string `json:"message,omitempty"`
	LogTail    string `json:"logTail,omitempty"`
}

// Revision is the image version a group's launches run after an in-place
// deployment (pinned), until an instance refresh or another deployment.
type Revision struct {
	Image        string `json:"image"`
	ImageVersion int    `json:"imageVersion"`
	Deployment   string `json:"deploymentId"`
}

// Active reports whether the deployment has not ended.
func (d *Deployment) Active() bool {
	return d.Status == DeploymentCreated || d.Status == DeploymentInProgress
}

func (d *Deployment) clone() Deployment {
	var c Deployment
	b, _ := json.Marshal(d)
	_ = json.Unmarshal(b, &c)
	return c
}

func (d *Deployment) target(id string) *DeploymentTarget {
	for _, t := range d.Instances {
		if t.InstanceID == id {
			return t
		}
	}
	return nil
}

func deploymentKey(d *Deployment) string {
	return fmt.Sprintf("%s%s/%020d-%s", DeploymentPrefix, d.Group, d.CreateTime.UnixNano(), d.ID)
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newDeploymentID returns an id such as d-A1B2C3D4E.
func newDeploymentID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return "d-" + string(b[:])
}

// loadDeployment keeps a stored deployment if it is its group's newest
// (keys are time-ordered).
func (s *Service) loadDeployment(kv state.KV) error {
	var d Deployment
	if err := json.Unmarshal(kv.Value, &d); err != nil {
		return err
	}
	s.deployments[d.Group] = &d
	return nil
}

func (s *Service) loadRevision(kv state.KV) error {
	var r Revision
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		return err
	}
	s.revisions[strings.TrimPrefix(kv.Key, RevisionPrefix)] = &r
	return nil
}

// deploymentActiveLocked reports whether a deployment of the group runs.
func (s *Service) deploymentActiveLocked(group string) bool {
	d := s.deployments[group]
	return d != nil && d.Active()
}

// revisionLocked returns the image version the group's launches pin (0:
// the image's newest).
func (s *Service) revisionLocked(g *Group) int {
	if r := s.revisions[g.Spec.Name]; r != nil {
		return r.ImageVersion
	}
	return 0
}

func (s *Service) setRevisionLocked(b *batch, group string, r *Revision) {
	if r == nil {
		if s.revisions[group] != nil {
			delete(s.revisions, group)
			b.del(RevisionPrefix + group)
		}
		return
	}
	s.revisions[group] = r
	b.put(RevisionPrefix+group, r)
}

// StartDeployment starts an in-place deployment of a group
// (CreateDeployment). The revision's appspec.yml is validated first.
func (s *Service) StartDeployment(ctx context.Context, group string, req DeploymentRequest) (Deployment, error) {
	switch req.DeploymentType {
	case "", DeploymentInPlace:
		if s.opts.Installer == nil {
			return Deployment{}, fault.Invalidf(KindGroup, group, "in-place deployments are not available: no installer")
		}
	case DeploymentBlueGreen:
	default:
		return Deployment{}, fault.Invalidf(KindGroup, group, "deploymentType %q is not a deployment type", req.DeploymentType).
			WithHint("use " + DeploymentInPlace + " or " + DeploymentBlueGreen)
	}
	cfg, err := ParseDeploymentConfig(req.DeploymentConfigName, req.MinimumHealthyHosts)
	if err != nil {
		return Deployment{}, err
	}
	if len(req.Alarms) > maxRefreshAlarms {
		return Deployment{}, fault.Invalidf(KindGroup, group, "alarms lists %d alarms, more than %d", len(req.Alarms), maxRefreshAlarms).WithHint("name at most 10 alarms")
	}
	s.pruneDeployments(ctx, group)
	var b batch
	s.mu.Lock()
	d, err := s.startDeploymentLocked(&b, group, req, cfg, s.opts.Now())
	if err != nil {
		s.mu.Unlock()
		return Deployment{}, err
	}
	out := d.clone()
	s.unlockCommit(ctx, &b)
	s.Kick()
	return out, nil
}

func (s *Service) startDeploymentLocked(b *batch, group string, req DeploymentRequest, cfg DeploymentConfig, now time.Time) (*Deployment, error) {
	g := s.groups[group]
	if g == nil {
		return nil, fault.NotFoundf(KindGroup, group, "Auto Scaling group %q does not exist", group).WithHint("madang asg ls lists the groups")
	}
	if d := s.deployments[group]; d != nil && d.Active() {
		return nil, fault.Conflictf(KindGroup, group, "DeploymentLimitExceeded: deployment %s of group %s is %s", d.ID, group, d.Status).
			WithHint(fmt.Sprintf("wait for it (madang deployments status %s --wait) or stop it (madang deployments stop %s)", d.ID, d.ID))
	}
	if s.refreshActiveLocked(group) {
		return nil, fault.Conflictf(KindGroup, group, "an instance refresh of group %s is in progress", group).
			WithHint("wait for it (madang refresh status " + group + ") or cancel it")
	}
	image := ""
	for _, lt := range s.opts.Compute.LaunchTemplates() {
		if lt.Name == g.Spec.LaunchTemplate {
			if v, ok := lt.Version(g.Spec.Version); ok {
				image = v.Data.Image
			}
		}
	}
	im, ok := s.opts.Compute.Image(image)
	if image == "" || !ok {
		return nil, fault.Invalidf(KindGroup, group, "launch template %s version %q of group %s names no image", g.Spec.LaunchTemplate, g.Spec.Version, group)
	}
	version := req.ImageVersion
	if version == 0 {
		version = im.Current().Number
	}
	dir := ""
	for _, v := range im.Versions {
		if v.Number == version {
			dir = v.Dir
		}
	}
	if dir == "" {
		return nil, fault.Invalidf(KindGroup, group, "imageVersion %d: image %s has no such version", version, image).
			WithHint(fmt.Sprintf("madang images lists the versions kept; the newest is %d", im.Current().Number))
	}
	if _, err := appspec.Load(dir, appspec.CurrentIdentity()); err != nil {
		return nil, fault.Invalidf(KindGroup, group, "revision image %s v%d: %v", image, version, err).WithHint("fix appspec.yml in the source directory and apply again")
	}
	d := &Deployment{ID: newDeploymentID(), Group: group, Application: orDefault(g.Owner, group), DeploymentGroupID: groupID(g.ARN),
		Status: DeploymentCreated, Config: cfg, Image: image, ImageVersion: version, AutoRollback: !req.DisableRollback,
		Alarms: slices.Clone(req.Alarms), Description: req.Description, Creator: "user", CreateTime: now}
	from := map[int]int{}
	for _, m := range s.deployOrderLocked(group) {
		t := newTarget(m.InstanceID)
		t.Zone = m.Zone
		d.Instances = append(d.Instances, t)
		from[m.ImageVersion]++
	}
	d.FromImageVersion = s.revisionLocked(g)
	if d.FromImageVersion == 0 {
		best := 0
		for v, n := range from {
			if n > best || (n == best && v < d.FromImageVersion) {
				d.FromImageVersion, best = v, n
			}
		}
	}
	if req.DeploymentType == DeploymentBlueGreen {
		if err := s.startBlueGreenLocked(g, d, req); err != nil {
			return nil, err
		}
		s.beginDeploymentLocked(b, d)
		s.opts.Events.Info(KindGroup, group, "blue/green deployment %s started: image %s v%d → v%d, a replacement fleet of %d; traffic %s",
			d.ID, image, d.FromImageVersion, version, len(d.Instances), d.BlueGreen.Routing)
		return d, nil
	}
	d.Type = DeploymentInPlace
	if req.ZonalConfig != nil {
		if err := req.ZonalConfig.validate(); err != nil {
			return nil, err
		}
		z := *req.ZonalConfig
		d.Zonal = &z
		sortByZone(d.Instances)
	}
	d.AtOnce, d.MinHealthy = cfg.Plan(len(d.Instances))
	if len(d.Instances) > 0 && d.AtOnce < 1 {
		return nil, fault.Invalidf(KindGroup, group, "%s leaves no instance of %d to deploy to at a time", cfg.Describe(len(d.Instances)), len(d.Instances)).
			WithHint("ask for fewer healthy hosts, or use " + ConfigOneAtATime)
	}
	s.beginDeploymentLocked(b, d)
	s.opts.Events.Info(KindGroup, group, "deployment %s started: image %s v%d → v%d on %d instance(s) (%s)",
		d.ID, image, d.FromImageVersion, version, len(d.Instances), cfg.Describe(len(d.Instances)))
	return d, nil
}

// deploymentsKept is how many deployments of a group the store keeps.
const deploymentsKept = 50

// pruneDeployments drops a group's oldest deployments beyond
// deploymentsKept (keys are time-ordered; the newest is never dropped).
func (s *Service) pruneDeployments(ctx context.Context, group string) {
	kvs, _, err := s.opts.Store.List(ctx, DeploymentPrefix+group+"/")
	if err != nil || len(kvs) < deploymentsKept {
		return
	}
	var b batch
	for _, kv := range kvs[:len(kvs)-deploymentsKept+1] {
		b.del(kv.Key)
	}
	s.commit(ctx, &b)
}

// beginDeploymentLocked makes d the group's deployment and revision.
func (s *Service) beginDeploymentLocked(b *batch, d *Deployment) {
	s.deployments[d.Group] = d
	s.setRevisionLocked(b, d.Group, &Revision{Image: d.Image, ImageVersion: d.ImageVersion, Deployment: d.ID})
	b.put(deploymentKey(d), d)
}

func newTarget(id string) *DeploymentTarget {
	t := &DeploymentTarget{InstanceID: id, Status: TargetPending}
	for _, e := range appspec.Events {
		t.Events = append(t.Events, &LifecycleEvent{Name: e, Status: TargetPending})
	}
	return t
}

// groupID returns the id in a group's ARN (DEPLOYMENT_GROUP_ID).
func groupID(arn string) string {
	for p := range strings.SplitSeq(arn, ":") {
		if len(p) == 36 && strings.Count(p, "-") == 4 {
			return p
		}
	}
	return arn
}

// deployOrderLocked returns the group's instances a deployment takes, in
// its order: every counted instance outside the warm pool, oldest first,
// taking the zones in turn so a batch spreads over them.
func (s *Service) deployOrderLocked(group string) []*Member {
	byZone := map[string][]*Member{}
	var zones []string
	for _, m := range s.membersLocked(group) {
		if !counts(m) || m.WarmPool {
			continue
		}
		if byZone[m.Zone] == nil {
			zones = append(zones, m.Zone)
		}
		byZone[m.Zone] = append(byZone[m.Zone], m)
	}
	slices.Sort(zones)
	var out []*Member
	for len(byZone) > 0 {
		for _, z := range zones {
			if ms := byZone[z]; len(ms) > 0 {
				out = append(out, ms[0])
				byZone[z] = ms[1:]
			} else {
				delete(byZone, z)
			}
		}
	}
	return out
}

// Deployments returns a group's deployments, newest first
// (ListDeployments with their details).
func (s *Service) Deployments(ctx context.Context, group string) ([]Deployment, error) {
	var live *Deployment
	s.mu.Lock()
	if d := s.deployments[group]; d != nil {
		c := d.clone()
		live = &c
	}
	s.mu.Unlock()
	out, err := newestFirst(ctx, s.opts.Store, DeploymentPrefix+group+"/", live, func(d *Deployment) string { return d.ID })
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return out, nil
}

// Deployment returns one deployment of a group (GetDeployment).
func (s *Service) Deployment(ctx context.Context, group, id string) (Deployment, error) {
	ds, err := s.Deployments(ctx, group)
	if err != nil {
		return Deployment{}, err
	}
	for _, d := range ds {
		if d.ID == id {
			return d, nil
		}
	}
	return Deployment{}, fault.NotFoundf(KindGroup, group, "DeploymentDoesNotExistException: no deployment %s of group %s", id, group).
		WithHint("madang deployments ls " + group + " lists them")
}

// StopDeployment stops a group's active deployment (StopDeployment):
// instances under way finish their lifecycle events, no further one
// starts; with rollback the instances it was installed on get the
// previous revision back.
func (s *Service) StopDeployment(ctx context.Context, group, id string, rollback bool) (Deployment, error) {
	var b batch
	s.mu.Lock()
	d := s.deployments[group]
	if d == nil || d.ID != id || !d.Active() {
		s.mu.Unlock()
		return Deployment{}, fault.NotFoundf(KindGroup, group, "DeploymentAlreadyCompletedException: deployment %s of group %s is not in progress", id, group).
			WithHint("madang deployments ls " + group + " lists the deployments")
	}
	if d.Stopping == nil {
		d.Stopping = &ErrorInfo{Code: "DEPLOYMENT_STOPPED", Message: "the deployment was stopped by a user request"}
		d.StopRollback = rollback
		b.put(deploymentKey(d), d)
		s.opts.Events.Warn(KindGroup, group, "deployment %s: stopping (a user request)", id)
	}
	out := d.clone()
	s.unlockCommit(ctx, &b)
	s.Kick()
	return out, nil
}
