package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/appspec"
	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
)

// Installer installs image versions on instances in place, for in-place
// deployments; *compute.Service implements it.
type Installer interface {
	// Reimage stops an instance's process and makes its working
	// directory the image version's, pinning that version for later
	// starts; the instance keeps its id, address, tags and zone and
	// stays stopped.
	Reimage(ctx context.Context, id string, version int) error
	// InstanceEnv returns the environment the instance's app runs with.
	InstanceEnv(id string) ([]string, error)
}

// deployPoll is how often an instance's deployment looks at a drain, a
// start or a health check it waits for.
const deployPoll = 50 * time.Millisecond

// Bounds of the waits of reserved events.
const (
	startWait  = 10 * time.Minute // ApplicationStart: the process becomes running
	healthWait = 10 * time.Minute // AllowTraffic: the target becomes healthy
	drainWait  = time.Hour        // BlockTraffic: the drain ends
)

// targetRun is what one instance's deployment works with.
type targetRun struct {
	s       *Service
	d       string // deployment id
	group   string
	id      string
	app     string // the instance's working directory
	logPath string
	image   string
	version int
	newDir  string // the revision's snapshot
	tgs     []string
	appName string
	groupID string
}

// goDeployTargetLocked runs an instance's lifecycle events from the next
// one in a goroutine, marking the instance busy meanwhile.
func (s *Service) goDeployTargetLocked(ctx context.Context, g *Group, d *Deployment, t *DeploymentTarget) {
	r := s.newTargetRunLocked(g, d, t.InstanceID)
	s.busy[r.id] = true
	s.goAsync(func() { r.run(ctx) })
}

// newTargetRunLocked returns what instance id's part of a deployment works
// with: its working directory and log, the revision's snapshot, the
// group's target groups.
func (s *Service) newTargetRunLocked(g *Group, d *Deployment, id string) *targetRun {
	var in compute.Instance
	for _, x := range s.opts.Compute.AllInstances() {
		if x.ID == id {
			in = x
		}
	}
	im, _ := s.opts.Compute.Image(d.Image)
	r := &targetRun{s: s, d: d.ID, group: d.Group, id: id, app: filepath.Join(in.Dir, "app"), logPath: filepath.Join(in.Dir, "logs", "instance.log"),
		image: d.Image, version: d.ImageVersion, appName: d.Application, groupID: d.DeploymentGroupID}
	for _, v := range im.Versions {
		if v.Number == d.ImageVersion {
			r.newDir = v.Dir
		}
	}
	if s.opts.LoadBalancing != nil && !g.suspended(ProcessAddToLoadBalancer) {
		r.tgs = slices.Clone(g.Spec.TargetGroups)
	}
	return r
}

// run runs the events in order until one fails, the controller stops
// (the event is run again by the next one), or the last is done.
func (r *targetRun) run(ctx context.Context) {
	s := r.s
	defer func() {
		s.mu.Lock()
		s.settleLocked(r.id)
		s.mu.Unlock()
	}()
	for {
		ev, ok := r.begin()
		if !ok {
			return
		}
		status, diag, err := r.event(ctx, ev)
		if ctx.Err() != nil {
			return // resumed by the next controller
		}
		if !r.finish(ctx, ev, status, diag, err) {
			return
		}
	}
}

// begin marks the next event InProgress and returns its name; ok is false
// when there is none (or the deployment is gone).
func (r *targetRun) begin() (string, bool) {
	s := r.s
	s.mu.Lock()
	d, t := r.lookupLocked()
	if t == nil || t.Status != TargetInProgress || t.Next >= len(t.Events) || s.closed {
		s.mu.Unlock()
		return "", false
	}
	return r.startNextLocked(d, t), true
}

// startNextLocked marks target t's next event InProgress, stores the
// deployment, unlocks s.mu and returns the event's name.
func (r *targetRun) startNextLocked(d *Deployment, t *DeploymentTarget) string {
	s := r.s
	e := t.Events[t.Next]
	e.Status, e.StartTime, e.EndTime, e.Diagnostics = TargetInProgress, s.opts.Now(), time.Time{}, nil
	var b batch
	b.put(deploymentKey(d), d)
	s.unlockCommit(context.Background(), &b)
	return e.Name
}

func (r *targetRun) lookupLocked() (*Deployment, *DeploymentTarget) {
	d := r.s.deployments[r.group]
	if d == nil || d.ID != r.d {
		return nil, nil
	}
	return d, d.target(r.id)
}

// finish records an event's outcome; it reports whether the next event
// runs.
func (r *targetRun) finish(ctx context.Context, ev, status string, diag *Diagnostics, err error) bool {
	s := r.s
	var b batch
	s.mu.Lock()
	defer s.unlockCommit(ctx, &b)
	d, t := r.lookupLocked()
	if t == nil {
		return false
	}
	now := s.opts.Now()
	e := t.Events[t.Next]
	e.Status, e.EndTime, e.Diagnostics = status, now, diag
	if err != nil {
		if e.Diagnostics == nil {
			e.Diagnostics = &Diagnostics{ErrorCode: "UnknownError"}
		}
		e.Diagnostics.Message = err.Error()
		s.failTargetLocked(d, t, fmt.Sprintf("%s: %v", ev, err), now)
		b.put(deploymentKey(d), d)
		return false
	}
	t.Next++
	m := s.members[r.id]
	switch ev {
	case appspec.Install:
		if m != nil {
			m.ImageVersion = r.version
			b.put(MemberPrefix+m.InstanceID, m)
		}
	case appspec.AllowTraffic:
		if m != nil && status == TargetSucceeded {
			m.Registered = slices.Clone(r.tgs)
			b.put(MemberPrefix+m.InstanceID, m)
		}
	}
	if t.Next == len(t.Events) {
		t.Status, t.EndTime = TargetSucceeded, now
		if m != nil {
			s.setLifecycleLocked(&b, m, InService, now)
		}
		s.opts.Events.Info(KindGroup, r.group, "deployment %s: instance %s Succeeded in %s (image %s v%d)", r.d, r.id, now.Sub(t.StartTime).Round(time.Millisecond), r.image, r.version)
	}
	b.put(deploymentKey(d), d)
	return t.Next < len(t.Events)
}

// event runs one lifecycle event.
func (r *targetRun) event(ctx context.Context, ev string) (string, *Diagnostics, error) {
	s := r.s
	switch ev {
	case appspec.BlockTraffic:
		return r.blockTraffic(ctx)
	case appspec.DownloadBundle:
		if r.newDir == "" {
			return TargetFailed, nil, fmt.Errorf("image %s has no version %d any more", r.image, r.version)
		}
		if _, err := appspec.Load(r.newDir, appspec.CurrentIdentity()); err != nil {
			return TargetFailed, &Diagnostics{ErrorCode: "UnknownError"}, err
		}
		return TargetSucceeded, &Diagnostics{ErrorCode: "Success", Message: fmt.Sprintf("revision image %s v%d (%s)", r.image, r.version, r.newDir)}, nil
	case appspec.Install:
		if err := s.opts.Installer.Reimage(ctx, r.id, r.version); err != nil {
			return TargetFailed, nil, err
		}
		return TargetSucceeded, &Diagnostics{ErrorCode: "Success", Message: fmt.Sprintf("%s is image %s v%d", r.app, r.image, r.version)}, nil
	case appspec.ApplicationStart:
		if err := r.start(ctx); err != nil {
			return TargetFailed, nil, err
		}
		status, diag, err := r.scripts(ctx, ev)
		if status == TargetSkipped {
			status = TargetSucceeded
		}
		return status, diag, err
	case appspec.AllowTraffic:
		return r.allowTraffic(ctx)
	}
	if (ev == appspec.BeforeBlockTraffic || ev == appspec.AfterBlockTraffic || ev == appspec.BeforeAllowTraffic || ev == appspec.AfterAllowTraffic) && len(r.tgs) == 0 {
		return TargetSkipped, nil, nil
	}
	return r.scripts(ctx, ev)
}

// scripts runs an event's hook scripts: from the instance's current
// revision before DownloadBundle (ApplicationStop…), from the new one
// after; BeforeInstall's come from the new revision's snapshot, as the
// working directory still holds the old one.
func (r *targetRun) scripts(ctx context.Context, ev string) (string, *Diagnostics, error) {
	s := r.s
	root := r.app
	if ev == appspec.BeforeInstall {
		root = r.newDir
	}
	spec, err := appspec.Load(root, appspec.CurrentIdentity())
	if err != nil {
		return TargetFailed, &Diagnostics{ErrorCode: "ScriptMissing"}, err
	}
	if spec == nil || len(spec.Hooks[ev]) == 0 {
		return TargetSkipped, nil, nil
	}
	if s.opts.Installer == nil {
		return TargetFailed, nil, fmt.Errorf("%s has hooks for %s, but madang runs without an installer, which knows the instance's environment", spec.Path, ev)
	}
	env, err := s.opts.Installer.InstanceEnv(r.id)
	if err != nil {
		return TargetFailed, nil, err
	}
	env = append(env, "APPLICATION_NAME="+r.appName, "DEPLOYMENT_ID="+r.d, "DEPLOYMENT_GROUP_NAME="+r.group,
		"DEPLOYMENT_GROUP_ID="+r.groupID, "LIFECYCLE_EVENT="+ev)
	var tail []string
	var diag *Diagnostics
	for _, h := range spec.Hooks[ev] {
		out, err := s.opts.Scripts.Run(ctx, Script{Path: h.Script(root), Location: h.Location, Dir: r.app, Env: env, Timeout: h.Timeout,
			RunAs: h.RunAs, LogPath: r.logPath, Event: ev, Deployment: r.d})
		tail = append(tail, lastLines(out, 10)...)
		tail = tail[max(len(tail)-10, 0):]
		diag = &Diagnostics{ErrorCode: "Success", ScriptName: h.Location, LogTail: strings.Join(tail, "\n")}
		if err != nil {
			diag.ErrorCode = "ScriptFailed"
			if errors.Is(err, context.DeadlineExceeded) {
				diag.ErrorCode = "ScriptTimedOut"
			}
			return TargetFailed, diag, fmt.Errorf("script %s: %w", h.Location, err)
		}
		if ctx.Err() != nil {
			return TargetFailed, diag, ctx.Err()
		}
	}
	return TargetSucceeded, diag, nil
}

func lastLines(out []byte, n int) []string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines[max(len(lines)-n, 0):]
}

// blockTraffic deregisters the instance from the group's target groups
// and waits for the drains to end.
func (r *targetRun) blockTraffic(ctx context.Context) (string, *Diagnostics, error) {
	s := r.s
	lb := s.opts.LoadBalancing
	if len(r.tgs) == 0 {
		return TargetSkipped, nil, nil
	}
	var regs []string
	for _, tg := range r.tgs {
		if _, ok := lb.TargetState(tg, r.id); ok {
			regs = append(regs, tg)
		}
	}
	start := s.opts.Now()
	for _, tg := range regs {
		if err := lb.Deregister(ctx, tg, []string{r.id}); err != nil {
			return TargetFailed, nil, fmt.Errorf("deregister from %s: %w", tg, err)
		}
	}
	var b batch
	s.mu.Lock()
	if m := s.members[r.id]; m != nil {
		m.Registered = nil
		b.put(MemberPrefix+r.id, m)
	}
	s.unlockCommit(ctx, &b)
	err := r.poll(ctx, drainWait, func() (bool, error) {
		for _, tg := range regs {
			if st, ok := lb.TargetState(tg, r.id); ok && st == "draining" {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return TargetFailed, nil, fmt.Errorf("drain: %w", err)
	}
	return TargetSucceeded, &Diagnostics{ErrorCode: "Success", Message: fmt.Sprintf("deregistered from %s, drained in %s",
		strings.Join(regs, ", "), s.opts.Now().Sub(start).Round(time.Millisecond))}, nil
}

// start starts the instance on its new revision and waits until it runs.
func (r *targetRun) start(ctx context.Context) error {
	s := r.s
	if err := s.opts.Compute.Start(ctx, r.id); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	return r.poll(ctx, startWait, func() (bool, error) {
		for _, in := range s.opts.Compute.AllInstances() {
			if in.ID != r.id {
				continue
			}
			if in.State == compute.StateRunning {
				return true, nil
			}
			if why := failed(in); why != "" && in.State != compute.StatePending {
				return false, fmt.Errorf("the instance did not start: %s", why)
			}
			return false, nil
		}
		return false, errors.New("the instance no longer exists")
	})
}

// allowTraffic registers the instance in the group's target groups and
// waits until it is healthy in all of them.
func (r *targetRun) allowTraffic(ctx context.Context) (string, *Diagnostics, error) {
	s := r.s
	lb := s.opts.LoadBalancing
	if len(r.tgs) == 0 {
		return TargetSkipped, nil, nil
	}
	start := s.opts.Now()
	regs := make([]elbctl.Registration, 0, len(r.tgs))
	for _, tg := range r.tgs {
		regs = append(regs, elbctl.Registration{TargetGroup: tg, ID: r.id, RegisteredBy: "autoscaling:" + r.group, RegisteredAt: start})
	}
	if err := lb.Register(ctx, regs); err != nil {
		return TargetFailed, nil, fmt.Errorf("register: %w", err)
	}
	err := r.poll(ctx, healthWait, func() (bool, error) {
		for _, tg := range r.tgs {
			st, _ := lb.TargetState(tg, r.id)
			switch st {
			case "healthy":
			case "unhealthy":
				return false, fmt.Errorf("the target is unhealthy in target group %s", tg)
			default:
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		for _, tg := range r.tgs {
			_ = lb.Deregister(context.WithoutCancel(ctx), tg, []string{r.id})
		}
		return TargetFailed, nil, err
	}
	return TargetSucceeded, &Diagnostics{ErrorCode: "Success", Message: fmt.Sprintf("registered in %s, healthy after %s",
		strings.Join(r.tgs, ", "), s.opts.Now().Sub(start).Round(time.Millisecond))}, nil
}

// poll calls f every deployPoll until it is done or fails, up to limit.
func (r *targetRun) poll(ctx context.Context, limit time.Duration, f func() (bool, error)) error {
	t := time.NewTicker(deployPoll)
	defer t.Stop()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		done, err := f()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("not done after %s", limit)
		case <-t.C:
		}
	}
}
