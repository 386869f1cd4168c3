package autoscaling

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/state"
)

// Instance refreshes (StartInstanceRefresh, DescribeInstanceRefreshes,
// CancelInstanceRefresh, RollbackInstanceRefresh).
//
// A refresh replaces the group's members listed when it starts (every
// member, or with SkipMatching those not on the group's launch template
// version) by instances of that version. While a refresh is active it owns
// the group's terminations: convergeLocked does not scale in, and the
// refresh terminates only members of its list. Launches stay
// convergeLocked's: a refresh terminates a batch, the shortfall launches
// its replacements; with a MaxHealthyPercentage above 100 the refresh also
// launches replacements first, above the desired capacity, and terminates
// old members once they serve. At every step at least
// ceil(MinHealthyPercentage × desired) instances stay InService, healthy
// and warmed up, except that with MaxHealthyPercentage 100 one instance at
// a time is always replaced (as AWS does for small groups and 100 %).
//
// A rollback replaces the instances of the refresh's version by its
// previous version; the group keeps launching the previous version until
// its launch template version changes again. Once the group's instances
// are replaced, the warm pool's are (as AWS's instance refresh does): its
// instances on another version are terminated and the pool refills with
// the refresh's version; an old instance taken from the pool into service
// during the refresh is replaced with the group's (warmpool_refresh.go).
// Protected and Standby members are replaced, left alone or waited for as
// ScaleInProtectedInstances and StandbyInstances say (refreshprefs.go). Records are written by the
// controller's round only (refreshstep.go); the API methods change the one
// held in memory.

// RefreshPrefix holds the instance refreshes, by group name then a
// time-ordered id.
const RefreshPrefix = "/autoscaling/refreshes/"

// Instance refresh statuses, as AWS names them.
const (
	RefreshPending            = "Pending"
	RefreshInProgress         = "InProgress"
	RefreshSuccessful         = "Successful"
	RefreshFailed             = "Failed"
	RefreshCancelling         = "Cancelling"
	RefreshCancelled          = "Cancelled"
	RefreshRollbackInProgress = "RollbackInProgress"
	RefreshRollbackSuccessful = "RollbackSuccessful"
	RefreshRollbackFailed     = "RollbackFailed"
	RefreshBaking             = "Baking"
)

// Limits of refresh preferences (AWS's).
const (
	maxRefreshDelay  = 172800 // seconds: CheckpointDelay and BakeTime
	maxRefreshAlarms = 10
)

// RefreshPreferences are an instance refresh's preferences (AWS's
// RefreshPreferences). Unset fields take AWS's defaults (see WithDefaults).
type RefreshPreferences struct {
	// MinHealthyPercentage is the share of the desired capacity that must
	// stay InService and healthy, 0 to 100 (default 90).
	MinHealthyPercentage *int `yaml:"minHealthyPercentage,omitempty" json:"minHealthyPercentage,omitempty"`
	// MaxHealthyPercentage is how far above the desired capacity the group
	// may grow to launch replacements first, 100 to 200 (default 100).
	MaxHealthyPercentage *int `yaml:"maxHealthyPercentage,omitempty" json:"maxHealthyPercentage,omitempty"`
	// InstanceWarmup is how many seconds a new InService instance warms up
	// before it counts as healthy (default the group's
	// DefaultInstanceWarmup, else its HealthCheckGracePeriod).
	InstanceWarmup *int `yaml:"instanceWarmup,omitempty" json:"instanceWarmup,omitempty"`
	// CheckpointPercentages are the percentages of replaced instances at
	// which the refresh pauses for CheckpointDelay, ascending, 1 to 100.
	CheckpointPercentages []int `yaml:"checkpointPercentages,omitempty" json:"checkpointPercentages,omitempty"`
	// CheckpointDelay is the pause at a checkpoint in seconds (default
	// 3600, at most 172800).
	CheckpointDelay *int `yaml:"checkpointDelay,omitempty" json:"checkpointDelay,omitempty"`
	// SkipMatching leaves members already on the group's version alone
	// (default false for the API; true for a stack's instanceRefresh).
	SkipMatching *bool `yaml:"skipMatching,omitempty" json:"skipMatching,omitempty"`
	// AutoRollback rolls back, instead of failing, when a new instance
	// fails its health checks or an alarm of AlarmNames is in ALARM.
	AutoRollback bool `yaml:"autoRollback,omitempty" json:"autoRollback,omitempty"`
	// BakeTime is how many seconds the refresh watches its alarms after
	// the last replacement before it succeeds (default 0, at most 172800).
	BakeTime *int `yaml:"bakeTime,omitempty" json:"bakeTime,omitempty"`
	// AlarmNames are CloudWatch alarms (AlarmSpecification, at most 10):
	// one in ALARM fails (or rolls back) the refresh.
	AlarmNames []string `yaml:"alarmNames,omitempty" json:"alarmNames,omitempty"`
	// ScaleInProtectedInstances is Refresh, Ignore or Wait (default);
	// StandbyInstances is Terminate, Ignore or Wait (default)
	// (refreshprefs.go).
	ScaleInProtectedInstances string `yaml:"scaleInProtectedInstances,omitempty" json:"scaleInProtectedInstances,omitempty"`
	StandbyInstances          string `yaml:"standbyInstances,omitempty" json:"standbyInstances,omitempty"`
}

// WithDefaults returns the preferences with AWS's defaults filled in for
// the group spec g.
func (p RefreshPreferences) WithDefaults(g *GroupSpec) RefreshPreferences {
	if p.MinHealthyPercentage == nil {
		p.MinHealthyPercentage = intp(90)
	}
	if p.MaxHealthyPercentage == nil {
		p.MaxHealthyPercentage = intp(100)
	}
	if p.InstanceWarmup == nil {
		switch {
		case g.DefaultInstanceWarmup != nil:
			p.InstanceWarmup = intp(*g.DefaultInstanceWarmup)
		case g.HealthCheckGracePeriod != nil:
			p.InstanceWarmup = intp(*g.HealthCheckGracePeriod)
		default:
			p.InstanceWarmup = intp(0)
		}
	}
	if p.CheckpointDelay == nil {
		p.CheckpointDelay = intp(3600)
	}
	if p.SkipMatching == nil {
		f := false
		p.SkipMatching = &f
	}
	if p.BakeTime == nil {
		p.BakeTime = intp(0)
	}
	if p.ScaleInProtectedInstances == "" {
		p.ScaleInProtectedInstances = RefreshWait
	}
	if p.StandbyInstances == "" {
		p.StandbyInstances = RefreshWait
	}
	p.CheckpointPercentages = slices.Clone(p.CheckpointPercentages)
	p.AlarmNames = slices.Clone(p.AlarmNames)
	return p
}

// Validate checks the preferences (defaulted or not), naming every field
// in error.
func (p *RefreshPreferences) Validate() fielderr.List {
	var errs fielderr.List
	lo, hi := 90, 100
	if v := p.MinHealthyPercentage; v != nil {
		lo = *v
		if *v < 0 || *v > 100 {
			errs.Add("minHealthyPercentage", *v, "is out of range 0..100", "use a percentage from 0 (all at once) to 100 (one at a time)")
		}
	}
	if v := p.MaxHealthyPercentage; v != nil {
		hi = *v
		if *v < 100 || *v > 200 {
			errs.Add("maxHealthyPercentage", *v, "is out of range 100..200", "use 100 (terminate before launching) up to 200 (launch all replacements first)")
		}
	}
	if lo >= 0 && lo <= 100 && hi >= 100 && hi <= 200 && hi-lo > 100 {
		errs.Add("maxHealthyPercentage", hi, fmt.Sprintf("is more than 100 above minHealthyPercentage %d", lo), "keep maxHealthyPercentage − minHealthyPercentage ≤ 100")
	}
	if v := p.InstanceWarmup; v != nil && *v < 0 {
		errs.Add("instanceWarmup", *v, "must not be negative", "give a number of seconds, 0 or more")
	}
	for i, c := range p.CheckpointPercentages {
		path := fmt.Sprintf("checkpointPercentages[%d]", i)
		switch {
		case c < 1 || c > 100:
			errs.Add(path, c, "is out of range 1..100", "use percentages from 1 to 100")
		case i > 0 && c <= p.CheckpointPercentages[i-1]:
			errs.Add(path, c, "is not above the checkpoint before it", "list checkpoints in ascending order, each once")
		}
	}
	delay := func(path string, v *int) {
		if v != nil && (*v < 0 || *v > maxRefreshDelay) {
			errs.Add(path, *v, fmt.Sprintf("is out of range 0..%d", maxRefreshDelay), "give a number of seconds up to 172800 (48 hours)")
		}
	}
	validateRefreshChoice(&errs, "scaleInProtectedInstances", p.ScaleInProtectedInstances, RefreshRefresh, RefreshIgnore, RefreshWait)
	validateRefreshChoice(&errs, "standbyInstances", p.StandbyInstances, RefreshTerminate, RefreshIgnore, RefreshWait)
	delay("checkpointDelay", p.CheckpointDelay)
	delay("bakeTime", p.BakeTime)
	if len(p.AlarmNames) > maxRefreshAlarms {
		errs.Add("alarmNames", len(p.AlarmNames), fmt.Sprintf("lists more than %d alarms", maxRefreshAlarms), "name at most 10 alarms")
	}
	for i, a := range p.AlarmNames {
		if a == "" {
			errs.Add(fmt.Sprintf("alarmNames[%d]", i), a, "is empty", "name a CloudWatch alarm")
		}
	}
	return errs
}

// Refresh is an instance refresh (AWS's InstanceRefresh).
type Refresh struct {
	// ID is the refresh's id (InstanceRefreshId); Group its group.
	ID     string `json:"instanceRefreshId"`
	Group  string `json:"autoScalingGroupName"`
	Status string `json:"status"`
	// StatusReason says why the refresh is in its status.
	StatusReason string    `json:"statusReason,omitempty"`
	StartTime    time.Time `json:"startTime"`
	EndTime      time.Time `json:"endTime,omitzero"`
	// PercentageComplete is the share of Total replaced (of
	// the rollback's, while rolling back).
	PercentageComplete int `json:"percentageComplete"`
	// Total is how many instances the refresh (or its rollback)
	// replaces; InstancesToUpdate how many of them remain (AWS's).
	Total             int `json:"instancesTotal"`
	InstancesToUpdate int `json:"instancesToUpdate"`
	// Preferences are the refresh's, with defaults filled in.
	Preferences RefreshPreferences `json:"preferences"`
	// FromVersion and ToVersion are the launch template versions replaced
	// and launched.
	FromVersion int `json:"fromVersion"`
	ToVersion   int `json:"toVersion"`
	// ToImageVersion is the image version the refresh rolls out (new
	// launches run the image's current version; a rollback returns to
	// FromVersion of the launch template, not to an older image).
	ToImageVersion int `json:"toImageVersion,omitempty"`
	// Rollback is set once the refresh rolls back (to FromVersion).
	Rollback bool `json:"rollback,omitempty"`
	// Remaining are the instances still to replace.
	Remaining []string `json:"instancesRemaining,omitempty"`
	// PhaseStart is when the refresh (or its rollback) began launching:
	// instances launched since are its new ones.
	PhaseStart time.Time `json:"phaseStart"`
	// WaitUntil ends a pause at a checkpoint or the bake time.
	WaitUntil time.Time `json:"waitUntil,omitzero"`
	// Checkpoints counts the checkpoints reached.
	Checkpoints int `json:"checkpointsReached,omitempty"`
	// Replaced is the number of instances replaced so far.
	Replaced int `json:"instancesReplaced"`
	// Standby are the Standby instances the refresh waits for or
	// terminates; BlockedSince is when it began waiting for protected or
	// Standby instances (refreshprefs.go).
	Standby      []string  `json:"standbyInstances,omitempty"`
	BlockedSince time.Time `json:"blockedSince,omitzero"`
	// dirty marks a change the controller's round has to save: only the
	// round writes refresh records, so a slow write never overtakes a
	// newer one.
	dirty bool
}

// Active reports whether the refresh has not ended.
func (r *Refresh) Active() bool {
	switch r.Status {
	case RefreshSuccessful, RefreshFailed, RefreshCancelled, RefreshRollbackSuccessful, RefreshRollbackFailed:
		return false
	}
	return true
}

// clone returns a copy of the refresh that shares nothing with it.
func (r *Refresh) clone() Refresh {
	c := *r
	c.dirty = false
	c.Remaining, c.Standby = slices.Clone(r.Remaining), slices.Clone(r.Standby)
	p := &c.Preferences
	p.CheckpointPercentages, p.AlarmNames = slices.Clone(p.CheckpointPercentages), slices.Clone(p.AlarmNames)
	for _, v := range []**int{&p.MinHealthyPercentage, &p.MaxHealthyPercentage, &p.InstanceWarmup, &p.CheckpointDelay, &p.BakeTime} {
		if *v != nil {
			*v = intp(**v)
		}
	}
	if p.SkipMatching != nil {
		p.SkipMatching = new(*p.SkipMatching)
	}
	return c
}

// target is the version the refresh launches.
func (r *Refresh) target() int {
	if r.Rollback {
		return r.FromVersion
	}
	return r.ToVersion
}

// checkpointCount is how many instances are replaced at checkpoint i.
func (r *Refresh) checkpointCount(i int) int {
	return (r.Preferences.CheckpointPercentages[i]*r.Total + 99) / 100
}

func refreshKey(r *Refresh) string {
	return fmt.Sprintf("%s%s/%020d-%s", RefreshPrefix, r.Group, r.StartTime.UnixNano(), r.ID)
}

// loadRefresh keeps a stored refresh if it is its group's newest (keys
// are time-ordered).
func (s *Service) loadRefresh(kv state.KV) error {
	var r Refresh
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		return err
	}
	s.refreshes[r.Group] = &r
	return nil
}

// refreshActiveLocked reports whether a refresh of the group is active.
func (s *Service) refreshActiveLocked(group string) bool {
	r := s.refreshes[group]
	return r != nil && r.Active()
}

// launchVersionLocked returns the launch template version the group
// launches: a rollback pins its previous version until the group's
// version changes again.
func (s *Service) launchVersionLocked(g *Group) string {
	r := s.refreshes[g.Spec.Name]
	if r != nil && r.Rollback && (r.Active() || r.Status == RefreshRollbackSuccessful) && r.FromVersion > 0 &&
		s.currentTemplate(g).Version == r.ToVersion {
		return strconv.Itoa(r.FromVersion)
	}
	return g.Spec.Version
}

// StartRefresh starts an instance refresh of a group (StartInstanceRefresh).
// The controller's next round saves it.
func (s *Service) StartRefresh(ctx context.Context, group string, prefs RefreshPreferences) (Refresh, error) {
	s.mu.Lock()
	g := s.groups[group]
	if g == nil {
		s.mu.Unlock()
		return Refresh{}, fault.NotFoundf(KindGroup, group, "Auto Scaling group %q does not exist", group).WithHint("madang asg ls lists the groups")
	}
	r, err := s.startRefreshLocked(g, prefs, s.opts.Now())
	s.mu.Unlock()
	if err != nil {
		return Refresh{}, err
	}
	s.Kick()
	return r, nil
}

func (s *Service) startRefreshLocked(g *Group, prefs RefreshPreferences, now time.Time) (Refresh, error) {
	name := g.Spec.Name
	if r := s.refreshes[name]; r != nil && r.Active() && !r.StartTime.Before(g.CreatedAt) {
		return Refresh{}, fault.Conflictf(KindGroup, name, "InstanceRefreshInProgress: An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.").
			WithHint(fmt.Sprintf("wait for refresh %s to end, or cancel it", r.ID))
	}
	if errs := prefs.Validate(); len(errs) > 0 {
		return Refresh{}, fault.Invalidf(KindGroup, name, "invalid refresh preferences: %s", strings.Join(errStrings(errs), "; "))
	}
	if d := s.deployments[name]; d != nil && d.Active() {
		return Refresh{}, fault.Conflictf(KindGroup, name, "in-place deployment %s of group %s is in progress", d.ID, name).
			WithHint("wait for it, or stop it (madang deployments stop " + d.ID + ")")
	}
	// A refresh replaces instances with the image's newest version: the
	// revision of in-place deployments no longer holds launches.
	delete(s.revisions, name)
	s.revisionsCleared = append(s.revisionsCleared, name)
	ref, img := s.currentVersions(g)
	to := ref.Version
	if to == 0 {
		return Refresh{}, fault.Invalidf(KindGroup, name, "launch template %q has no version %q", g.Spec.LaunchTemplate, g.Spec.Version)
	}
	p := prefs.WithDefaults(&g.Spec)
	r := &Refresh{ID: newUUID(), Group: name, Status: RefreshPending, StartTime: now, PhaseStart: now, Preferences: p, ToVersion: to, ToImageVersion: img}
	seen := map[int]int{}
	for _, m := range s.membersLocked(name) {
		if (m.Lifecycle == Standby || m.Lifecycle == EnteringStandby) && m.Fleet == "" && p.StandbyInstances != RefreshIgnore &&
			(outdated(m, to, img) || !*p.SkipMatching) {
			r.Standby = append(r.Standby, m.InstanceID)
			continue
		}
		if !counts(m) || m.WarmPool {
			continue
		}
		if m.LaunchTemplateVersion != to {
			seen[m.LaunchTemplateVersion]++
		}
		if m.Protected && p.ScaleInProtectedInstances == RefreshIgnore {
			continue
		}
		if outdated(m, to, img) || !*p.SkipMatching {
			r.Remaining = append(r.Remaining, m.InstanceID)
		}
	}
	r.FromVersion = to
	best := 0
	for v, n := range seen {
		if n > best || n == best && v < r.FromVersion {
			r.FromVersion, best = v, n
		}
	}
	r.Total = len(r.Remaining)
	r.InstancesToUpdate = r.Total
	r.dirty = true
	s.refreshes[name] = r
	out := r.clone()
	s.opts.Events.Info(KindGroup, name, "instance refresh %s started: %d instance(s) to replace with launch template version %d", r.ID, r.Total, to)
	return out, nil
}

func errStrings(errs fielderr.List) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// Refreshes returns a group's instance refreshes, newest first
// (DescribeInstanceRefreshes): the stored ones, the newest as the
// controller holds it (it may not be saved yet).
func (s *Service) Refreshes(ctx context.Context, group string) ([]Refresh, error) {
	var live *Refresh
	s.mu.Lock()
	if r := s.refreshes[group]; r != nil {
		c := r.clone()
		live = &c
	}
	s.mu.Unlock()
	out, err := newestFirst(ctx, s.opts.Store, RefreshPrefix+group+"/", live, func(r *Refresh) string { return r.ID })
	if err != nil {
		return nil, fmt.Errorf("list instance refreshes: %w", err)
	}
	return out, nil
}

// newestFirst returns the records stored under prefix (keys in time
// order), newest first, with live — the one the controller holds, which
// may be newer than its stored copy — in front of them instead of that
// copy.
func newestFirst[T any](ctx context.Context, st state.Store, prefix string, live *T, id func(*T) string) ([]T, error) {
	kvs, _, err := st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(kvs)+1)
	if live != nil {
		out = append(out, *live)
	}
	for _, kv := range slices.Backward(kvs) {
		var v T
		if json.Unmarshal(kv.Value, &v) == nil && (live == nil || id(&v) != id(live)) {
			out = append(out, v)
		}
	}
	return out, nil
}

// CancelRefresh cancels a group's active refresh (CancelInstanceRefresh):
// replacements under way finish, no more start.
func (s *Service) CancelRefresh(ctx context.Context, group string) (Refresh, error) {
	return s.changeRefresh(group, func(r *Refresh, now time.Time) error {
		if r.Rollback {
			return fault.Conflictf(KindGroup, group, "ActiveInstanceRefreshNotFound: the instance refresh %s is rolling back and cannot be cancelled", r.ID)
		}
		r.Status, r.StatusReason = RefreshCancelling, "cancelled by a user request"
		return nil
	})
}

// RollbackRefresh rolls a group's active refresh back
// (RollbackInstanceRefresh): instances of its version are replaced by
// instances of its previous version.
func (s *Service) RollbackRefresh(ctx context.Context, group string) (Refresh, error) {
	return s.changeRefresh(group, func(r *Refresh, now time.Time) error {
		if r.Rollback {
			return fault.Conflictf(KindGroup, group, "IrreversibleInstanceRefresh: the instance refresh %s is already rolling back", r.ID)
		}
		if r.FromVersion == r.ToVersion {
			return fault.Conflictf(KindGroup, group, "IrreversibleInstanceRefresh: the instance refresh %s has no previous launch template version to roll back to", r.ID)
		}
		s.beginRollbackLocked(r, "rollback started by a user request", now)
		return nil
	})
}

// changeRefresh applies f to the group's active refresh and saves it.
func (s *Service) changeRefresh(group string, f func(*Refresh, time.Time) error) (Refresh, error) {
	s.mu.Lock()
	r := s.refreshes[group]
	if r == nil || !r.Active() || r.Status == RefreshCancelling {
		s.mu.Unlock()
		return Refresh{}, fault.NotFoundf(KindGroup, group, "ActiveInstanceRefreshNotFound: No in progress or pending Instance Refresh found for Auto Scaling group %s", group).
			WithHint("madang asg refreshes lists the group's refreshes")
	}
	if err := f(r, s.opts.Now()); err != nil {
		s.mu.Unlock()
		return Refresh{}, err
	}
	r.dirty = true
	out := r.clone()
	s.mu.Unlock()
	s.Kick()
	return out, nil
}

// beginRollbackLocked turns a refresh into its rollback: the members of
// its version are to be replaced by its previous version.
func (s *Service) beginRollbackLocked(r *Refresh, why string, now time.Time) {
	r.Rollback, r.Status, r.StatusReason = true, RefreshRollbackInProgress, why
	r.PhaseStart, r.WaitUntil, r.Replaced, r.PercentageComplete = now, time.Time{}, 0, 0
	r.Remaining = nil
	for _, m := range s.membersLocked(r.Group) {
		if !terminating(m.Lifecycle) && !m.WarmPool && m.LaunchTemplateVersion == r.ToVersion {
			r.Remaining = append(r.Remaining, m.InstanceID)
		}
	}
	r.Total = len(r.Remaining)
	r.InstancesToUpdate = r.Total
	s.opts.Events.Warn(KindGroup, r.Group, "instance refresh %s rolls back to launch template version %d: %s", r.ID, r.FromVersion, why)
}

// endRefreshLocked ends a refresh with a status.
func (s *Service) endRefreshLocked(r *Refresh, status, why string, now time.Time) {
	r.Status, r.StatusReason, r.EndTime, r.WaitUntil = status, why, now, time.Time{}
	r.Remaining = nil
	if status == RefreshSuccessful || status == RefreshRollbackSuccessful {
		r.PercentageComplete, r.InstancesToUpdate, r.Replaced = 100, 0, r.Total
	}
	if status == RefreshSuccessful || status == RefreshRollbackSuccessful || status == RefreshCancelled {
		s.opts.Events.Info(KindGroup, r.Group, "instance refresh %s: %s", r.ID, status)
	} else {
		s.opts.Events.Error(KindGroup, r.Group, "instance refresh %s: %s: %s", r.ID, status, why)
	}
}
