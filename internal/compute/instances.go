package compute

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/instancetype"
	"github.com/madang-dev/madang/internal/state"
	"github.com/madang-dev/madang/internal/supervisor"
)

// RunRequest asks for new instances (RunInstances).
type RunRequest struct {
	LaunchTemplate string            `json:"launchTemplate"`
	Version        string            `json:"version,omitempty"`
	Count          int               `json:"count"`
	Group          string            `json:"group,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	Owner          string            `json:"owner,omitempty"`
	// ManagedBy and Zone are recorded on the instances (see Instance).
	ManagedBy string `json:"managedBy,omitempty"`
	Zone      string `json:"availabilityZone,omitempty"`
	// Network is recorded on the instances (see Instance.Network).
	Network *Placement `json:"network,omitempty"`
	// Launch is launch data given with the request (RunInstances' ImageId,
	// InstanceType, UserData): without a launch template it is all the
	// instance runs from; with one, its set fields override the template
	// version's. The instance keeps the merged data for its life.
	Launch *LaunchTemplateData `json:"launch,omitempty"`
	// ImageVersion, when set, is the image version the instances run
	// (pinned: see Instance.ImagePin) instead of the image's current one.
	ImageVersion int `json:"imageVersion,omitempty"`
}

// Run launches Count instances from a launch template and returns them in
// state pending, once their records are stored; they start in the
// background and move to running once their app is ready (or to stopped,
// errored, if they cannot start).
func (s *Service) Run(ctx context.Context, req RunRequest) ([]Instance, error) {
	if req.Count < 1 || req.Count > 100 {
		return nil, fault.Invalidf(fault.KindInstance, "", "count %d is out of range", req.Count).WithHint("use 1 to 100")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fault.Unavailablef(fault.KindInstance, "", "the daemon is shutting down; no instance is launched").
			WithHint("launch again once the daemon is back")
	}
	lt, ver, err := s.launchDataLocked(req)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	im, ok := s.images[ver.Data.Image]
	if !ok {
		s.mu.Unlock()
		if lt.Name == "" {
			return nil, fault.NotFoundf(fault.KindImage, ver.Data.Image, "image %q does not exist", ver.Data.Image).WithHint("see madang images")
		}
		return nil, fault.NotFoundf(fault.KindImage, ver.Data.Image, "image %q of launch template %s does not exist", ver.Data.Image, lt.Name)
	}
	var launch *LaunchTemplateData
	if req.Launch != nil {
		d := ver.Data
		launch = &d
	}
	imageVersion := im.Current().Number
	if req.ImageVersion > 0 {
		if _, ok := im.version(req.ImageVersion); !ok {
			s.mu.Unlock()
			return nil, fault.Invalidf(fault.KindImage, im.Spec.Name, "image %s has no version %d", im.Spec.Name, req.ImageVersion).
				WithHint("madang images lists the versions kept")
		}
		imageVersion = req.ImageVersion
	}
	network := withTemplateGroups(req.Network, ver.Data.SecurityGroups)
	live := s.liveInstancesLocked()
	var created []*Instance
	if err := s.book().batch(func(l *leases) error {
		for i := 0; i < req.Count; i++ {
			id := newID("i")
			in := &Instance{ID: id, Dir: filepath.Join(s.opts.Home, "instances", id)}
			if err := s.allocateInLocked(l, in, im.Spec.Port, live); err != nil {
				return err
			}
			live = append(live, in)
			created = append(created, in)
		}
		return nil
	}); err != nil {
		s.mu.Unlock()
		s.releaseAll(created)
		return nil, err
	}
	for _, in := range created {
		id := in.ID
		tags := map[string]string{}
		maps.Copy(tags, req.Tags)
		if req.Group != "" {
			tags["Name"] = req.Group
		}
		*in = Instance{
			ID: id, Group: req.Group, LaunchTemplate: lt.Name, LaunchTemplateVersion: req.Version,
			Resolved: ver.Number, Image: im.Spec.Name, ImageVersion: imageVersion, ImagePin: req.ImageVersion,
			InstanceType: typeOrDefault(ver.Data.InstanceType),
			PrivateIP:    in.PrivateIP, Port: in.Port, Tags: tags, Desired: StateRunning, State: StatePending,
			Dir: in.Dir, Owner: req.Owner, LaunchTime: s.opts.Now(), ManagedBy: req.ManagedBy, Zone: req.Zone,
			Launch: launch, Network: network,
		}
	}
	var ops []state.Op
	for _, in := range created {
		op, err := jsonPut(InstancePrefix+in.ID, in)
		if err != nil {
			s.mu.Unlock()
			s.releaseAll(created)
			return nil, err
		}
		ops = append(ops, op)
	}
	if _, err := s.opts.Store.Txn(ctx, nil, ops); err != nil {
		s.mu.Unlock()
		s.releaseAll(created)
		return nil, fmt.Errorf("save instances: %w", err)
	}
	out := make([]Instance, 0, len(created))
	for _, in := range created {
		s.instances[in.ID] = in
		out = append(out, *in)
	}
	s.changedLocked()
	// Close waits for the starts (it sets closed with mu held, so no
	// start is added once it waits).
	s.wg.Add(len(created))
	s.mu.Unlock()
	// Instances start in parallel, all at once: a start mostly waits (for
	// the shim's fork and exec), so a limit only queues them. Run returns
	// without waiting for them, so that a caller (an Auto Scaling group)
	// can follow each instance from pending to running as it happens
	// rather than after the whole launch.
	for i, in := range created {
		s.opts.Events.Info("instance", in.ID, "launched from %s v%d (image %s v%d) at %s", in.LaunchTemplate, in.Resolved, in.Image, in.ImageVersion, in.Addr())
		s.notify(in.ID)
		go func(id string, saved []byte) {
			defer s.wg.Done()
			if err := s.startProcessFrom(id, saved); err != nil {
				s.setState(id, StateStopped, "errored", err.Error())
			}
		}(in.ID, ops[i].Value)
	}
	return out, nil
}

// launchDataLocked resolves what a run request launches from: its launch
// template's version with the request's launch data over it, or the
// launch data alone (lt is then the zero template).
func (s *Service) launchDataLocked(req RunRequest) (LaunchTemplate, LaunchTemplateVersion, error) {
	if req.Launch != nil && req.Launch.InstanceType != "" {
		if _, err := instancetype.Lookup(req.Launch.InstanceType); err != nil {
			return LaunchTemplate{}, LaunchTemplateVersion{}, fault.Invalidf(fault.KindInstance, "", "instance type %q is not a known instance type", req.Launch.InstanceType).
				WithHint("use one of " + strings.Join(instancetype.Names(), ", "))
		}
	}
	if req.LaunchTemplate == "" {
		if req.Launch == nil || req.Launch.Image == "" {
			return LaunchTemplate{}, LaunchTemplateVersion{}, fault.Invalidf(fault.KindInstance, "", "neither a launch template nor an image was given").
				WithHint("name a launch template, or an image to run")
		}
		return LaunchTemplate{}, LaunchTemplateVersion{Data: *req.Launch}, nil
	}
	lt, ok := s.templates[req.LaunchTemplate]
	if !ok {
		return LaunchTemplate{}, LaunchTemplateVersion{}, fault.NotFoundf(fault.KindLaunchTemplate, req.LaunchTemplate, "launch template %q does not exist", req.LaunchTemplate).WithHint("create it in a stack file first (madang apply -f FILE)")
	}
	ver, ok := lt.Version(req.Version)
	if !ok {
		return LaunchTemplate{}, LaunchTemplateVersion{}, fault.Invalidf(fault.KindLaunchTemplate, lt.Name, "launch template %s has no version %q", lt.Name, req.Version).WithHint(fmt.Sprintf("use $Default, $Latest or 1..%d", lt.Latest()))
	}
	if o := req.Launch; o != nil {
		d := ver.Data
		d.Env = maps.Clone(d.Env)
		if o.Image != "" {
			d.Image = o.Image
		}
		if o.InstanceType != "" {
			d.InstanceType = o.InstanceType
		}
		if o.UserData != "" {
			d.UserData = o.UserData
		}
		if d.Env == nil && len(o.Env) > 0 {
			d.Env = map[string]string{}
		}
		maps.Copy(d.Env, o.Env)
		ver.Data = d
	}
	return *lt, ver, nil
}

// releaseAll gives up the addresses of instances that were never saved.
func (s *Service) releaseAll(ins []*Instance) {
	for _, in := range ins {
		s.releaseAddress(*in)
		_ = os.RemoveAll(in.Dir)
	}
}

func typeOrDefault(t string) string {
	if t == "" {
		return instancetype.Default
	}
	return t
}

func (s *Service) liveInstancesLocked() []*Instance {
	var out []*Instance
	for _, in := range s.instances {
		if in.Desired != StateTerminated {
			out = append(out, in)
		}
	}
	return out
}

// Resolve finds an instance by id, or the instances of a group (Name tag).
func (s *Service) Resolve(ref string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.instances[ref]; ok {
		return []string{in.ID}, nil
	}
	var ids []string
	for _, in := range s.instances {
		if in.Group == ref && in.Desired != StateTerminated {
			ids = append(ids, in.ID)
		}
	}
	if len(ids) == 0 {
		return nil, fault.NotFoundf(fault.KindInstance, ref, "no instance or instance group named %q", ref).WithHint("see madang ps")
	}
	sort.Strings(ids)
	return ids, nil
}

// startProcess re-resolves the instance's launch template version and
// image version (so a start or reboot picks up new env and built code), prepares
// its working directory and starts supervising it.
func (s *Service) startProcess(id string) error { return s.startProcessFrom(id, nil) }

// startProcessFrom is startProcess for an instance whose record was just
// committed as saved (its JSON; nil if not): the start writes the record
// only if it changed more than the detail "starting" (a new address,
// other versions). A launch of 50 then waits for one commit, not 50.
func (s *Service) startProcessFrom(id string, saved []byte) error {
	l := s.opLock(id)
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	in, ok := s.instances[id]
	if !ok {
		s.mu.Unlock()
		return fault.NotFoundf(fault.KindInstance, id, "no instance %q", id).WithHint("see madang ps")
	}
	if in.Launch != nil {
		// Launched with its own data: its image's newest version, its type.
		in.InstanceType = typeOrDefault(in.Launch.InstanceType)
		if im, ok := s.images[in.Launch.Image]; ok {
			in.Image = im.Spec.Name
			in.ImageVersion = im.Current().Number
			if _, ok := im.version(in.ImagePin); ok {
				in.ImageVersion = in.ImagePin
			}
		}
	} else if lt, ok := s.templates[in.LaunchTemplate]; ok {
		if v, ok := lt.Version(in.LaunchTemplateVersion); ok {
			in.Resolved = v.Number
			in.InstanceType = typeOrDefault(v.Data.InstanceType)
			if im, ok := s.images[v.Data.Image]; ok {
				in.Image = im.Spec.Name
				in.ImageVersion = im.Current().Number
				if _, ok := im.version(in.ImagePin); ok {
					in.ImageVersion = in.ImagePin
				}
			}
		}
	}
	imagePort := 0
	if im, ok := s.images[in.Image]; ok {
		imagePort = im.Spec.Port
	}
	// A new instance (saved, by Run) was granted its lease a moment ago.
	var moved string
	if saved == nil {
		var err error
		if moved, err = s.leaseLocked(in, imagePort); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	in.Desired = StateRunning
	in.State, in.Detail, in.StateReason = StatePending, "starting", ""
	in.Warnings = nil
	s.changedLocked()
	cp := *in
	s.mu.Unlock()
	if moved != "" {
		s.opts.Events.Warn("instance", id, "%s", moved)
	}
	if !unchangedSince(saved, cp) {
		if err := s.putInstance(context.Background(), id); err != nil {
			return err
		}
	}
	if err := s.prepareWorkdir(&cp); err != nil {
		return err
	}
	spec, err := s.specFor(&cp)
	if err != nil {
		return err
	}
	s.sup.Forget(id)
	return s.sup.Start(spec)
}

// unchangedSince reports whether in, but for its detail, is the record
// saved (JSON), so a start need not write it again.
func unchangedSince(saved []byte, in Instance) bool {
	if saved == nil {
		return false
	}
	in.Detail = ""
	b, err := json.Marshal(&in)
	return err == nil && bytes.Equal(b, saved)
}

// Start starts a stopped instance (StartInstances). Its launch template
// version and image version are resolved again, so env changes and newly
// built image versions apply; changed source is not built (apply does
// that), and Instance.Warnings then says so.
func (s *Service) Start(ctx context.Context, id string) error {
	in, err := s.get(id)
	if err != nil {
		return err
	}
	switch in.Desired {
	case StateTerminated:
		return fault.Invalidf(fault.KindInstance, id, "instance %s is terminated and cannot be started", id)
	case StateRunning:
		if st, ok := s.sup.Status(id); ok && st.Phase != supervisor.Phase("errored") && st.Phase != supervisor.Phase("exited") && st.Phase != supervisor.Phase("stopped") {
			return nil // already running: StartInstances is idempotent
		}
	}
	s.opts.Events.Info("instance", id, "starting")
	if err := s.startProcess(id); err != nil {
		return err
	}
	return s.noteSource(ctx, id)
}

// Stop stops an instance gracefully (StopInstances); it keeps its address,
// working directory and logs.
func (s *Service) Stop(ctx context.Context, id string) error {
	in, err := s.get(id)
	if err != nil {
		return err
	}
	if in.Desired == StateTerminated {
		return fault.Invalidf(fault.KindInstance, id, "instance %s is terminated", id)
	}
	return s.stopProcess(ctx, id, StateStopped)
}

func (s *Service) stopProcess(ctx context.Context, id string, desired InstanceState) error {
	l := s.opLock(id)
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	in, ok := s.instances[id]
	if !ok {
		s.mu.Unlock()
		return fault.NotFoundf(fault.KindInstance, id, "no instance %q", id).WithHint("see madang ps")
	}
	in.Desired = desired
	in.State = StateStopping
	if desired == StateTerminated {
		in.State = StateShuttingDown
	}
	in.Detail = "stopping"
	s.changedLocked()
	cp := *in
	s.mu.Unlock()
	if err := s.putInstance(ctx, id); err != nil {
		return err
	}
	s.notify(id)
	s.opts.Events.Info("instance", id, "%s", cp.State)
	if s.opts.BeforeStop != nil {
		s.opts.BeforeStop(ctx, id)
	}
	err := s.sup.Stop(ctx, id)
	if err != nil && !errors.Is(err, supervisor.ErrUnknown) {
		return fmt.Errorf("stop instance %s: %w", id, err)
	}
	if s.opts.Cgroups != nil {
		g := s.opts.Cgroups.Open("madang/" + id)
		_ = g.Kill()
		if desired == StateTerminated {
			_ = g.Delete()
		}
	}
	final := StateStopped
	if desired == StateTerminated {
		final = StateTerminated
	}
	s.mu.Lock()
	in.State, in.Detail = final, ""
	if final == StateTerminated {
		in.TerminatedAt = s.opts.Now()
	}
	s.changedLocked()
	cp = *in
	s.mu.Unlock()
	s.opts.Events.Info("instance", id, "%s", final)
	if err := s.putInstance(ctx, id); err != nil {
		return err
	}
	s.notify(id)
	return nil
}

// Reboot stops and starts an instance's processes (RebootInstances),
// picking up launch template changes and the image's current built
// version; the instance keeps its id, address and directory. It does not
// build: when the image's source changed since the version it runs,
// Instance.Warnings says so and names the apply command that builds it.
func (s *Service) Reboot(ctx context.Context, id string) error {
	in, err := s.get(id)
	if err != nil {
		return err
	}
	if in.Desired == StateTerminated {
		return fault.Invalidf(fault.KindInstance, id, "instance %s is terminated", id)
	}
	s.opts.Events.Info("instance", id, "rebooting")
	// The instance stays desired running while it reboots, so a daemon
	// that dies halfway brings it back up on its next start.
	if err := s.stopProcess(ctx, id, StateRunning); err != nil {
		return err
	}
	if err := s.startProcess(id); err != nil {
		return err
	}
	return s.noteSource(ctx, id)
}

// Terminate stops an instance for good (TerminateInstances). It stays
// visible as terminated for an hour; its address is free at once.
func (s *Service) Terminate(ctx context.Context, id string) error {
	in, err := s.get(id)
	if err != nil {
		return err
	}
	if in.Desired == StateTerminated && in.State == StateTerminated {
		return nil
	}
	if err := s.stopProcess(ctx, id, StateTerminated); err != nil {
		return err
	}
	s.sup.Forget(id)
	s.releaseAddress(in)
	_ = os.RemoveAll(filepath.Join(in.Dir, "app"))
	return nil
}

// SetTags adds or replaces tags and removes the keys in remove.
func (s *Service) SetTags(ctx context.Context, id string, set map[string]string, remove []string) (Instance, error) {
	s.mu.Lock()
	in, ok := s.instances[id]
	if !ok {
		s.mu.Unlock()
		return Instance{}, fault.NotFoundf(fault.KindInstance, id, "no instance %q", id).WithHint("see madang ps")
	}
	// A new map, not the old one changed: listings handed out share the
	// record's map and read it without the lock.
	tags := make(map[string]string, len(in.Tags)+len(set))
	maps.Copy(tags, in.Tags)
	maps.Copy(tags, set)
	for _, k := range remove {
		delete(tags, k)
	}
	in.Tags = tags
	s.changedLocked()
	cp := *in
	cp.Tags = maps.Clone(tags)
	s.mu.Unlock()
	return cp, s.putInstance(ctx, id)
}

func (s *Service) get(id string) (Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[id]
	if !ok {
		return Instance{}, fault.NotFoundf(fault.KindInstance, id, "no instance %q", id).WithHint("see madang ps")
	}
	return *in, nil
}

// setState records a state without going through the supervisor.
func (s *Service) setState(id string, st InstanceState, detail, reason string) {
	s.mu.Lock()
	in, ok := s.instances[id]
	if !ok {
		s.mu.Unlock()
		return
	}
	in.State, in.Detail, in.StateReason = st, detail, reason
	s.changedLocked()
	s.mu.Unlock()
	if reason != "" {
		s.opts.Events.Error("instance", id, "%s: %s", detail, reason)
	}
	_ = s.putInstance(context.Background(), id)
	s.notify(id)
}

func (s *Service) notify(id string) {
	if s.opts.OnInstanceChange == nil {
		return
	}
	s.mu.Lock()
	in, ok := s.instances[id]
	var cp Instance
	if ok {
		cp = *in
	}
	s.mu.Unlock()
	if ok {
		s.opts.OnInstanceChange(cp)
	}
}

// onStatus maps supervisor phases to EC2 states.
func (s *Service) onStatus(st supervisor.Status) {
	s.mu.Lock()
	in, ok := s.instances[st.ID]
	if !ok {
		s.mu.Unlock()
		return
	}
	prev := in.State
	prevDetail := in.Detail
	prevRestarts := in.Restarts
	prevReason := in.StateReason
	in.Restarts = max(in.Restarts, st.Restarts)
	phase := string(st.Phase)
	switch phase {
	case "starting", "backoff":
		in.State = StatePending
	case "running":
		in.State = StateRunning
	case "stopping":
		if in.Desired == StateTerminated {
			in.State = StateShuttingDown
		} else {
			in.State = StateStopping
		}
	case "stopped":
		if in.Desired == StateTerminated {
			in.State = StateTerminated
		} else {
			in.State = StateStopped
		}
	case "exited", "errored":
		in.State = StateStopped
	}
	in.Detail = phase
	in.StateReason = st.Reason
	if in.State != prev || in.Detail != prevDetail || in.Restarts != prevRestarts || in.StateReason != prevReason {
		s.changedLocked()
	}
	cp := *in
	s.mu.Unlock()
	if prev == cp.State && prevDetail == cp.Detail {
		if prevRestarts != cp.Restarts || prevReason != cp.StateReason {
			s.statuses.mark(st.ID)
		}
		return
	}
	switch phase {
	case "running":
		s.opts.Events.Info("instance", st.ID, "running (pid %d) at %s", st.PID, cp.Addr())
	case "backoff":
		s.opts.Events.Warn("instance", st.ID, "process exited (%s); restarting at %s", exitText(st.LastExit), st.NextRestartAt.Format("15:04:05.000"))
	case "errored":
		s.opts.Events.Error("instance", st.ID, "errored: %s", st.Reason)
	case "exited":
		s.opts.Events.Warn("instance", st.ID, "exited: %s", st.Reason)
	}
	s.notify(st.ID)
	s.statuses.mark(st.ID)
}

func exitText(e *supervisor.Exit) string {
	if e == nil {
		return "unknown exit"
	}
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return "exit code " + strconv.Itoa(e.Code)
}
