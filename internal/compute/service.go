package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/madang-dev/madang/internal/cgroup"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/instancetype"
	"github.com/madang-dev/madang/internal/procstat"
	"github.com/madang-dev/madang/internal/state"
	"github.com/madang-dev/madang/internal/supervisor"
)

// Sentinel errors of the compute service; API handlers map them to 4xx.
var (
	ErrNotFound = errors.New("compute: not found")
	ErrInUse    = errors.New("compute: in use")
	ErrInvalid  = errors.New("compute: invalid request")
)

// Options configure a Service.
type Options struct {
	// Home is the data directory; images and instances live below it.
	Home   string
	Store  state.Store
	Logger *slog.Logger
	Events *event.Log
	// ShimCommand re-executes madang as an instance shim.
	ShimCommand []string
	// Cgroups enforces instance types; nil enforces nothing.
	Cgroups *cgroup.Hierarchy
	// AddressMode chooses loopback IPs or ports.
	AddressMode AddressMode
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// OnInstanceChange is called (without locks held) after an instance's
	// state changes; the load balancer follows instances through it.
	OnInstanceChange func(Instance)
	// BeforeStop, if set, is called before an instance's process is
	// stopped; the load balancer takes the instance out of rotation and
	// lets its in-flight requests finish.
	BeforeStop func(ctx context.Context, id string)
}

// Group is a stored instance group: the stack file's "run N of these".
type Group struct {
	Spec  InstanceGroupSpec `json:"spec"`
	Owner string            `json:"owner,omitempty"`
}

// GroupPrefix is the store prefix of instance groups.
const GroupPrefix = "/compute/groups/"

// Service owns images, launch templates, instance groups and instances,
// and keeps instance processes in the state their records ask for.
type Service struct {
	opts   Options
	log    *slog.Logger
	sup    *supervisor.Supervisor
	sample *procstat.Sampler

	// mu guards the fields that follow.
	mu        sync.Mutex
	images    map[string]*Image
	templates map[string]*LaunchTemplate
	groups    map[string]*Group
	instances map[string]*Instance
	opLocks   map[string]*sync.Mutex // per-instance operation locks
	closed    bool

	wg sync.WaitGroup // background operations (group reconciles)
}

// New loads compute resources from the store and re-adopts the processes
// of instances that should be running (they kept running while the
// daemon was away), restarting those that died.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Events == nil {
		opts.Events = event.New(256, opts.Now)
	}
	s := &Service{
		opts:      opts,
		log:       opts.Logger.With("component", "compute"),
		sample:    procstat.NewSampler(opts.Now),
		images:    map[string]*Image{},
		templates: map[string]*LaunchTemplate{},
		groups:    map[string]*Group{},
		instances: map[string]*Instance{},
		opLocks:   map[string]*sync.Mutex{},
	}
	s.sup = supervisor.New(supervisor.Config{ShimCommand: opts.ShimCommand, Logger: opts.Logger, OnChange: s.onStatus})
	if err := s.load(ctx); err != nil {
		_ = s.sup.Close()
		return nil, err
	}
	s.resume(ctx)
	return s, nil
}

func loadAll[T any](ctx context.Context, st state.Store, prefix string, into map[string]*T, key func(*T) string) error {
	kvs, _, err := st.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	for _, kv := range kvs {
		v := new(T)
		if err := json.Unmarshal(kv.Value, v); err != nil {
			return fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		into[key(v)] = v
	}
	return nil
}

func (s *Service) load(ctx context.Context) error {
	st := s.opts.Store
	return errors.Join(
		loadAll(ctx, st, ImagePrefix, s.images, func(v *Image) string { return v.Spec.Name }),
		loadAll(ctx, st, LaunchTemplatePrefix, s.templates, func(v *LaunchTemplate) string { return v.Name }),
		loadAll(ctx, st, GroupPrefix, s.groups, func(v *Group) string { return v.Spec.Name }),
		loadAll(ctx, st, InstancePrefix, s.instances, func(v *Instance) string { return v.ID }),
	)
}

// resume brings every instance back under supervision after a daemon
// start: live processes are adopted, dead ones restarted, terminated ones
// pruned after an hour (as EC2 shows terminated instances for a while).
func (s *Service) resume(ctx context.Context) {
	s.mu.Lock()
	ids := slices.Sorted(maps.Keys(s.instances))
	s.mu.Unlock()
	for _, id := range ids {
		s.mu.Lock()
		in := s.instances[id]
		cp := *in
		s.mu.Unlock()
		switch cp.Desired {
		case StateRunning:
			spec, err := s.specFor(&cp)
			if err != nil {
				s.setState(id, StateStopped, "errored", err.Error())
				continue
			}
			adopted, err := s.sup.Adopt(spec)
			switch {
			case err != nil:
				s.setState(id, StateStopped, "errored", err.Error())
			case adopted:
				s.opts.Events.Info("instance", id, "re-adopted running process after daemon restart")
			default:
				s.opts.Events.Info("instance", id, "process was not running; starting it again")
			}
		case StateTerminated:
			if !cp.TerminatedAt.IsZero() && s.opts.Now().Sub(cp.TerminatedAt) > time.Hour {
				s.mu.Lock()
				delete(s.instances, id)
				s.mu.Unlock()
				_, _ = s.opts.Store.Delete(ctx, InstancePrefix+id)
				_ = os.RemoveAll(cp.Dir)
			}
		}
	}
}

// Close stops supervising without stopping any process: instances keep
// running while the daemon is away.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
	return s.sup.Close()
}

// Shutdown stops every running instance gracefully (in parallel, each
// with its own stop signal and kill timeout), keeping their desired state
// so the next daemon start brings them back; then it closes the service.
func (s *Service) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, st := range s.sup.List() {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			if err := s.sup.Stop(ctx, id); err != nil {
				s.log.Warn("stop on shutdown", "instance", id, "err", err)
			}
		}(st.ID)
	}
	wg.Wait()
	return s.Close()
}

// ---------------------------------------------------------------------
// persistence helpers

func (s *Service) put(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := s.opts.Store.Put(ctx, key, b); err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	return nil
}

// Ops returns the store operations that save v at key, for callers that
// commit several resources in one transaction.
func jsonPut(key string, v any) (state.Op, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return state.Op{}, err
	}
	return state.Put(key, b), nil
}

func (s *Service) opLock(id string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.opLocks[id]
	if !ok {
		l = &sync.Mutex{}
		s.opLocks[id] = l
	}
	return l
}

// ---------------------------------------------------------------------
// images

// ImageNeedsBuild reports whether PutImage would make a new version.
func (s *Service) ImageNeedsBuild(spec ImageSpec) (bool, error) {
	h, err := sourceHash(spec.Source, spec.Build)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	im, ok := s.images[spec.Name]
	return !ok || im.Current().SourceHash != h || !reflect.DeepEqual(im.Spec, spec), nil
}

// PrepareImage builds a new version of an image if its spec or source
// changed, and returns the record to store (not yet stored) and whether
// anything changed. Building happens before anything is committed, so a
// failed build changes nothing.
func (s *Service) PrepareImage(ctx context.Context, spec ImageSpec, owner string) (*Image, bool, error) {
	h, err := sourceHash(spec.Source, spec.Build)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	old, ok := s.images[spec.Name]
	var im Image
	if ok {
		im = *old
		im.Versions = slices.Clone(old.Versions)
	} else {
		im = Image{ID: newID("ami"), CreatedAt: s.opts.Now()}
	}
	s.mu.Unlock()
	if ok && im.Current().SourceHash == h && reflect.DeepEqual(im.Spec, spec) {
		return old, false, nil
	}
	im.Spec = spec
	im.Owner = owner
	if !ok || im.Current().SourceHash != h {
		n := len(im.Versions) + 1
		if ok {
			n = im.Current().Number + 1
		}
		base := filepath.Join(s.opts.Home, "images", spec.Name)
		v := ImageVersion{Number: n, Dir: filepath.Join(base, "v"+strconv.Itoa(n)), SourceHash: h, BuiltAt: s.opts.Now()}
		if spec.Build != "" {
			v.BuildLog = filepath.Join(base, "build-"+strconv.Itoa(n)+".log")
		}
		s.opts.Events.Info("image", spec.Name, "building version %d from %s", n, spec.Source)
		if err := buildSnapshot(ctx, spec, v.Dir, v.BuildLog, os.Environ()); err != nil {
			s.opts.Events.Error("image", spec.Name, "build failed: %v", err)
			return nil, false, err
		}
		im.Versions = append(im.Versions, v)
		// Keep the last three versions on disk.
		for len(im.Versions) > 3 {
			_ = os.RemoveAll(im.Versions[0].Dir)
			im.Versions = im.Versions[1:]
		}
	}
	return &im, true, nil
}

// Images returns all images sorted by name.
func (s *Service) Images() []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Image, 0, len(s.images))
	for _, im := range s.images {
		out = append(out, *im)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
	return out
}

// LaunchTemplates returns all launch templates sorted by name.
func (s *Service) LaunchTemplates() []LaunchTemplate {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LaunchTemplate, 0, len(s.templates))
	for _, lt := range s.templates {
		out = append(out, *lt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Groups returns all instance groups sorted by name.
func (s *Service) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
	return out
}

// PrepareLaunchTemplate returns the record to store for spec: a new version
// if the data differs from the latest one (which becomes the default), and
// whether anything changed.
func (s *Service) PrepareLaunchTemplate(spec LaunchTemplateSpec, owner string) (*LaunchTemplate, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.templates[spec.Name]
	var lt LaunchTemplate
	if ok {
		lt = *old
		lt.Versions = slices.Clone(old.Versions)
		if reflect.DeepEqual(lt.Versions[len(lt.Versions)-1].Data, spec.LaunchTemplateData) && lt.Description == spec.Description {
			return old, false
		}
	} else {
		lt = LaunchTemplate{Name: spec.Name, ID: newID("lt"), CreatedAt: s.opts.Now()}
	}
	lt.Description = spec.Description
	lt.Owner = owner
	if len(lt.Versions) == 0 || !reflect.DeepEqual(lt.Versions[len(lt.Versions)-1].Data, spec.LaunchTemplateData) {
		lt.Versions = append(lt.Versions, LaunchTemplateVersion{Number: len(lt.Versions) + 1, Data: spec.LaunchTemplateData, CreatedAt: s.opts.Now()})
		lt.DefaultVersion = len(lt.Versions)
	}
	return &lt, true
}

// Change is a batch of compute records to commit together (stack apply).
type Change struct {
	Images          []*Image
	LaunchTemplates []*LaunchTemplate
	Groups          []*Group
	DeleteImages    []string
	DeleteTemplates []string
	DeleteGroups    []string
}

// Ops returns the store operations of the change.
func (c *Change) Ops() ([]state.Op, error) {
	var ops []state.Op
	add := func(key string, v any) error {
		op, err := jsonPut(key, v)
		ops = append(ops, op)
		return err
	}
	for _, im := range c.Images {
		if err := add(ImagePrefix+im.Spec.Name, im); err != nil {
			return nil, err
		}
	}
	for _, lt := range c.LaunchTemplates {
		if err := add(LaunchTemplatePrefix+lt.Name, lt); err != nil {
			return nil, err
		}
	}
	for _, g := range c.Groups {
		if err := add(GroupPrefix+g.Spec.Name, g); err != nil {
			return nil, err
		}
	}
	for _, n := range c.DeleteImages {
		ops = append(ops, state.Delete(ImagePrefix+n))
	}
	for _, n := range c.DeleteTemplates {
		ops = append(ops, state.Delete(LaunchTemplatePrefix+n))
	}
	for _, n := range c.DeleteGroups {
		ops = append(ops, state.Delete(GroupPrefix+n))
	}
	return ops, nil
}

// Committed installs a change that the caller has committed to the store,
// then converges instance groups in the background. Image versions that
// no stored image references any more are removed from disk.
func (s *Service) Committed(c *Change) {
	s.mu.Lock()
	for _, im := range c.Images {
		s.images[im.Spec.Name] = im
	}
	for _, lt := range c.LaunchTemplates {
		s.templates[lt.Name] = lt
	}
	for _, g := range c.Groups {
		s.groups[g.Spec.Name] = g
	}
	var removed []string
	for _, n := range c.DeleteImages {
		if im, ok := s.images[n]; ok {
			removed = append(removed, filepath.Join(s.opts.Home, "images", im.Spec.Name))
		}
		delete(s.images, n)
	}
	for _, n := range c.DeleteTemplates {
		delete(s.templates, n)
	}
	var groups []string
	for _, n := range c.DeleteGroups {
		delete(s.groups, n)
		groups = append(groups, n)
	}
	for _, g := range c.Groups {
		groups = append(groups, g.Spec.Name)
	}
	s.mu.Unlock()
	for _, dir := range removed {
		_ = os.RemoveAll(dir)
	}
	for _, g := range groups {
		s.ReconcileGroup(context.Background(), g)
	}
}

// ---------------------------------------------------------------------
// instances

// RunRequest asks for new instances (RunInstances).
type RunRequest struct {
	LaunchTemplate string            `json:"launchTemplate"`
	Version        string            `json:"version,omitempty"`
	Count          int               `json:"count"`
	Group          string            `json:"group,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	Owner          string            `json:"owner,omitempty"`
}

// Run launches Count instances from a launch template and returns them in
// state pending; they move to running once their app is ready.
func (s *Service) Run(ctx context.Context, req RunRequest) ([]Instance, error) {
	if req.Count < 1 || req.Count > 100 {
		return nil, fmt.Errorf("%w: count %d is out of range; use 1 to 100", ErrInvalid, req.Count)
	}
	s.mu.Lock()
	lt, ok := s.templates[req.LaunchTemplate]
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: launch template %q does not exist; create it in a stack file first (madang apply -f FILE)", ErrNotFound, req.LaunchTemplate)
	}
	ver, ok := lt.Version(req.Version)
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: launch template %s has no version %q; use $Default, $Latest or 1..%d", ErrInvalid, lt.Name, req.Version, lt.Latest())
	}
	im, ok := s.images[ver.Data.Image]
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: image %q of launch template %s does not exist", ErrNotFound, ver.Data.Image, lt.Name)
	}
	live := s.liveInstancesLocked()
	var created []*Instance
	for i := 0; i < req.Count; i++ {
		ip, port, err := allocateAddress(s.opts.AddressMode, im.Spec.Port, live)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		id := newID("i")
		tags := map[string]string{}
		maps.Copy(tags, req.Tags)
		if req.Group != "" {
			tags["Name"] = req.Group
		}
		in := &Instance{
			ID: id, Group: req.Group, LaunchTemplate: lt.Name, LaunchTemplateVersion: req.Version,
			Resolved: ver.Number, Image: im.Spec.Name, ImageVersion: im.Current().Number,
			InstanceType: typeOrDefault(ver.Data.InstanceType),
			PrivateIP:    ip, Port: port, Tags: tags, Desired: StateRunning, State: StatePending,
			Dir: filepath.Join(s.opts.Home, "instances", id), Owner: req.Owner, LaunchTime: s.opts.Now(),
		}
		live = append(live, in)
		created = append(created, in)
	}
	var ops []state.Op
	for _, in := range created {
		op, err := jsonPut(InstancePrefix+in.ID, in)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		ops = append(ops, op)
	}
	if _, err := s.opts.Store.Txn(ctx, nil, ops); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("save instances: %w", err)
	}
	out := make([]Instance, 0, len(created))
	for _, in := range created {
		s.instances[in.ID] = in
		out = append(out, *in)
	}
	s.mu.Unlock()
	for _, in := range created {
		s.opts.Events.Info("instance", in.ID, "launched from %s v%d (image %s v%d) at %s", in.LaunchTemplate, in.Resolved, in.Image, in.ImageVersion, in.Addr())
		s.notify(in.ID)
		if err := s.startProcess(in.ID, true); err != nil {
			s.setState(in.ID, StateStopped, "errored", err.Error())
		}
	}
	return out, nil
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
		return nil, fmt.Errorf("%w: no instance or instance group named %q; see madang ps", ErrNotFound, ref)
	}
	sort.Strings(ids)
	return ids, nil
}

// specFor builds the supervisor spec of an instance's current run.
func (s *Service) specFor(in *Instance) (supervisor.Spec, error) {
	s.mu.Lock()
	lt, ok := s.templates[in.LaunchTemplate]
	var ver LaunchTemplateVersion
	if ok {
		if v, vok := lt.Version(strconv.Itoa(in.Resolved)); vok {
			ver = v
		} else {
			ok = false
		}
	}
	im, iok := s.images[in.Image]
	s.mu.Unlock()
	if !ok {
		return supervisor.Spec{}, fmt.Errorf("launch template %s version %d no longer exists", in.LaunchTemplate, in.Resolved)
	}
	if !iok {
		return supervisor.Spec{}, fmt.Errorf("image %s no longer exists", in.Image)
	}
	d := ver.Data
	sv := d.Supervision
	env := baseEnv()
	env = append(env,
		"PORT="+strconv.Itoa(in.Port),
		"HOST="+in.PrivateIP,
		"INSTANCE_ID="+in.ID,
		"INSTANCE_DIR="+in.Dir,
		"MADANG_INSTANCE_ID="+in.ID,
		"MADANG_INSTANCE_TYPE="+in.InstanceType,
	)
	for _, k := range slices.Sorted(maps.Keys(d.Env)) {
		env = append(env, k+"="+d.Env[k])
	}
	spec := supervisor.Spec{
		ID:             in.ID,
		Dir:            filepath.Join(in.Dir, "app"),
		StateDir:       filepath.Join(in.Dir, "state"),
		LogPath:        filepath.Join(in.Dir, "logs", "instance.log"),
		Command:        im.Spec.Command,
		Env:            env,
		UserData:       d.UserData,
		Restart:        supervisor.Policy(orDefault(string(sv.Restart), string(RestartAlways))),
		MaxRestarts:    sv.MaxRestarts,
		MinUptime:      time.Duration(sv.MinUptime),
		BackoffInitial: time.Duration(sv.BackoffInitial),
		BackoffMax:     time.Duration(sv.BackoffMax),
		StopSignal:     signalByName(sv.StopSignal),
		KillTimeout:    time.Duration(sv.KillTimeout),
		Ready: supervisor.Probe{
			Addr:     in.Addr(),
			HTTPPath: sv.Readiness.HTTPPath,
			Timeout:  time.Duration(sv.Readiness.Timeout),
		},
	}
	if s.opts.Cgroups != nil {
		if t, err := instancetype.Lookup(in.InstanceType); err == nil {
			if g, err := s.opts.Cgroups.Create("madang/"+in.ID, cgroup.Limits{CPUs: t.VCPUs, MemoryBytes: t.MemoryMiB << 20}); err == nil {
				spec.CgroupProcs = g.ProcsFiles()
			} else {
				s.log.Warn("cgroup", "instance", in.ID, "err", err)
			}
		}
	}
	return spec, nil
}

// Enforcement says whether an instance's type limits are enforced.
func (s *Service) Enforcement(id string) cgroup.Enforcement {
	if s.opts.Cgroups == nil {
		return cgroup.Enforcement{Reason: "cgroups are not available to this daemon"}
	}
	return s.opts.Cgroups.Open("madang/" + id).Enforcement()
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func signalByName(name string) syscall.Signal {
	switch strings.TrimPrefix(strings.ToUpper(name), "SIG") {
	case "INT":
		return syscall.SIGINT
	case "QUIT":
		return syscall.SIGQUIT
	case "HUP":
		return syscall.SIGHUP
	case "USR1":
		return syscall.SIGUSR1
	case "USR2":
		return syscall.SIGUSR2
	case "KILL":
		return syscall.SIGKILL
	default:
		return syscall.SIGTERM
	}
}

// baseEnv is the daemon's environment without madang's own variables,
// which instances do not inherit.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MADANG_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// prepareWorkdir gives an instance its own working directory: a copy of
// its image version, refreshed when the version changed.
func (s *Service) prepareWorkdir(in *Instance) error {
	s.mu.Lock()
	im, ok := s.images[in.Image]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("image %s no longer exists", in.Image)
	}
	var ver *ImageVersion
	for i := range im.Versions {
		if im.Versions[i].Number == in.ImageVersion {
			ver = &im.Versions[i]
		}
	}
	if ver == nil {
		return fmt.Errorf("image %s version %d no longer exists", in.Image, in.ImageVersion)
	}
	app := filepath.Join(in.Dir, "app")
	marker := filepath.Join(in.Dir, "state", "image-version")
	want := in.Image + " " + strconv.Itoa(in.ImageVersion)
	if b, err := os.ReadFile(marker); err == nil && string(b) == want {
		return nil
	}
	for _, d := range []string{"state", "logs"} {
		if err := os.MkdirAll(filepath.Join(in.Dir, d), 0o755); err != nil {
			return err
		}
	}
	_ = os.RemoveAll(app)
	if err := copyTree(ver.Dir, app); err != nil {
		return fmt.Errorf("copy image %s v%d to %s: %w", in.Image, in.ImageVersion, app, err)
	}
	return os.WriteFile(marker, []byte(want), 0o644)
}

// startProcess prepares the working directory and starts supervising.
// refresh re-resolves the launch template version and image version
// first, so a start or reboot picks up new env and code.
func (s *Service) startProcess(id string, refresh bool) error {
	l := s.opLock(id)
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	in, ok := s.instances[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: instance %s", ErrNotFound, id)
	}
	if refresh {
		if lt, ok := s.templates[in.LaunchTemplate]; ok {
			if v, ok := lt.Version(in.LaunchTemplateVersion); ok {
				in.Resolved = v.Number
				in.InstanceType = typeOrDefault(v.Data.InstanceType)
				if im, ok := s.images[v.Data.Image]; ok {
					in.Image = im.Spec.Name
					in.ImageVersion = im.Current().Number
				}
			}
		}
	}
	in.Desired = StateRunning
	in.State, in.Detail, in.StateReason = StatePending, "starting", ""
	cp := *in
	s.mu.Unlock()
	if err := s.put(context.Background(), InstancePrefix+id, &cp); err != nil {
		return err
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

// Start starts a stopped instance (StartInstances). Its launch template and
// image are resolved again, so env and code changes apply.
func (s *Service) Start(ctx context.Context, id string) error {
	in, err := s.get(id)
	if err != nil {
		return err
	}
	switch in.Desired {
	case StateTerminated:
		return fmt.Errorf("%w: instance %s is terminated and cannot be started", ErrInvalid, id)
	case StateRunning:
		if st, ok := s.sup.Status(id); ok && st.Phase != supervisor.Phase("errored") && st.Phase != supervisor.Phase("exited") && st.Phase != supervisor.Phase("stopped") {
			return nil // already running: StartInstances is idempotent
		}
	}
	s.opts.Events.Info("instance", id, "starting")
	return s.startProcess(id, true)
}

// Stop stops an instance gracefully (StopInstances); it keeps its address,
// working directory and logs.
func (s *Service) Stop(ctx context.Context, id string) error {
	in, err := s.get(id)
	if err != nil {
		return err
	}
	if in.Desired == StateTerminated {
		return fmt.Errorf("%w: instance %s is terminated", ErrInvalid, id)
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
		return fmt.Errorf("%w: instance %s", ErrNotFound, id)
	}
	in.Desired = desired
	in.State = StateStopping
	if desired == StateTerminated {
		in.State = StateShuttingDown
	}
	in.Detail = "stopping"
	cp := *in
	s.mu.Unlock()
	if err := s.put(ctx, InstancePrefix+id, &cp); err != nil {
		return err
	}
	s.notify(id)
	s.opts.Events.Info("instance", id, "%s", cp.State)
	if s.opts.BeforeStop != nil {
		s.opts.BeforeStop(ctx, id)
	}
	err := s.sup.Stop(ctx, id)
	if err != nil && !isNotSupervised(err) {
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
	cp = *in
	s.mu.Unlock()
	s.opts.Events.Info("instance", id, "%s", final)
	if err := s.put(ctx, InstancePrefix+id, &cp); err != nil {
		return err
	}
	s.notify(id)
	return nil
}

func isNotSupervised(err error) bool {
	return err != nil && strings.Contains(err.Error(), "not supervised")
}

// Reboot stops and starts an instance's processes (RebootInstances),
// picking up launch template and image changes; the instance keeps its id,
// address and directory.
func (s *Service) Reboot(ctx context.Context, id string) error {
	in, err := s.get(id)
	if err != nil {
		return err
	}
	if in.Desired == StateTerminated {
		return fmt.Errorf("%w: instance %s is terminated", ErrInvalid, id)
	}
	s.opts.Events.Info("instance", id, "rebooting")
	if err := s.stopProcess(ctx, id, StateStopped); err != nil {
		return err
	}
	return s.startProcess(id, true)
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
	_ = os.RemoveAll(filepath.Join(in.Dir, "app"))
	return nil
}

// SetTags adds or replaces tags and removes the keys in remove.
func (s *Service) SetTags(ctx context.Context, id string, set map[string]string, remove []string) (Instance, error) {
	s.mu.Lock()
	in, ok := s.instances[id]
	if !ok {
		s.mu.Unlock()
		return Instance{}, fmt.Errorf("%w: instance %s", ErrNotFound, id)
	}
	if in.Tags == nil {
		in.Tags = map[string]string{}
	}
	maps.Copy(in.Tags, set)
	for _, k := range remove {
		delete(in.Tags, k)
	}
	cp := *in
	cp.Tags = maps.Clone(in.Tags)
	s.mu.Unlock()
	return cp, s.put(ctx, InstancePrefix+id, &cp)
}

func (s *Service) get(id string) (Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[id]
	if !ok {
		return Instance{}, fmt.Errorf("%w: no instance %q; see madang ps", ErrNotFound, id)
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
	cp := *in
	s.mu.Unlock()
	if reason != "" {
		s.opts.Events.Error("instance", id, "%s: %s", detail, reason)
	}
	_ = s.put(context.Background(), InstancePrefix+id, &cp)
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
	cp := *in
	s.mu.Unlock()
	if prev == cp.State && prevDetail == cp.Detail {
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
	_ = s.put(context.Background(), InstancePrefix+st.ID, &cp)
	s.notify(st.ID)
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

// ---------------------------------------------------------------------
// views

// View is an instance with its live process facts, for ps and describe.
type View struct {
	Instance
	Phase         string         `json:"phase,omitempty"`
	PID           int            `json:"pid,omitempty"`
	Restarts      int            `json:"restarts"`
	UptimeSeconds float64        `json:"uptimeSeconds,omitempty"`
	CPUPercent    float64        `json:"cpuPercent"`
	MemoryBytes   uint64         `json:"memoryBytes"`
	LastExit      *ExitView      `json:"lastExit,omitempty"`
	LastLines     []string       `json:"lastLines,omitempty"`
	Limits        *LimitsView    `json:"limits,omitempty"`
	NextRestartAt time.Time      `json:"nextRestartAt,omitzero"`
	Extra         map[string]any `json:"-"`
}

// ExitView is how the last run ended.
type ExitView struct {
	Code   int       `json:"code"`
	Signal string    `json:"signal,omitempty"`
	At     time.Time `json:"at"`
}

// LimitsView says which instance type limits apply.
type LimitsView struct {
	VCPUs          float64 `json:"vcpus"`
	MemoryMiB      int64   `json:"memoryMiB"`
	CPUEnforced    bool    `json:"cpuEnforced"`
	MemoryEnforced bool    `json:"memoryEnforced"`
	Note           string  `json:"note,omitempty"`
}

// Instances returns every instance with live facts, sorted by group and
// launch time. Terminated instances are included.
func (s *Service) Instances() []View {
	s.mu.Lock()
	ins := make([]Instance, 0, len(s.instances))
	for _, in := range s.instances {
		ins = append(ins, *in)
	}
	s.mu.Unlock()
	sort.Slice(ins, func(i, j int) bool {
		if ins[i].Group != ins[j].Group {
			return ins[i].Group < ins[j].Group
		}
		if !ins[i].LaunchTime.Equal(ins[j].LaunchTime) {
			return ins[i].LaunchTime.Before(ins[j].LaunchTime)
		}
		return ins[i].ID < ins[j].ID
	})
	out := make([]View, 0, len(ins))
	for _, in := range ins {
		out = append(out, s.view(in))
	}
	return out
}

// Describe returns one instance with live facts and limits.
func (s *Service) Describe(id string) (View, error) {
	in, err := s.get(id)
	if err != nil {
		return View{}, err
	}
	v := s.view(in)
	if t, err := instancetype.Lookup(in.InstanceType); err == nil {
		e := s.Enforcement(id)
		v.Limits = &LimitsView{VCPUs: t.VCPUs, MemoryMiB: t.MemoryMiB, CPUEnforced: e.CPU, MemoryEnforced: e.Memory, Note: e.Reason}
	}
	return v, nil
}

func (s *Service) view(in Instance) View {
	v := View{Instance: in}
	st, ok := s.sup.Status(in.ID)
	if !ok {
		return v
	}
	v.Phase = string(st.Phase)
	v.Restarts = st.Restarts
	v.NextRestartAt = st.NextRestartAt
	v.LastLines = st.LastLines
	if st.LastExit != nil {
		v.LastExit = &ExitView{Code: st.LastExit.Code, Signal: st.LastExit.Signal, At: st.LastExit.At}
	}
	if st.Phase == "running" || st.Phase == "starting" {
		v.PID = st.PID
		if !st.StartedAt.IsZero() {
			v.UptimeSeconds = s.opts.Now().Sub(st.StartedAt).Seconds()
		}
		if st.PGID > 0 {
			if smp, err := s.sample.SampleGroup(in.ID, st.PGID); err == nil {
				v.CPUPercent = smp.CPUPercent
				v.MemoryBytes = smp.RSSBytes
			}
		}
	}
	return v
}

// LogPath returns an instance's log file.
func (s *Service) LogPath(id string) (string, error) {
	in, err := s.get(id)
	if err != nil {
		return "", err
	}
	return filepath.Join(in.Dir, "logs", "instance.log"), nil
}

// Instance returns one stored instance.
func (s *Service) Instance(id string) (Instance, error) { return s.get(id) }

// ---------------------------------------------------------------------
// groups

// ReconcileGroup converges a group to its spec: launches missing
// instances, terminates extra ones (newest first), and terminates every
// instance of a deleted group.
func (s *Service) ReconcileGroup(ctx context.Context, name string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	g, exists := s.groups[name]
	var members []*Instance
	for _, in := range s.instances {
		if in.Group == name && in.Desired != StateTerminated {
			members = append(members, in)
		}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].LaunchTime.Before(members[j].LaunchTime) })
	want := 0
	var spec InstanceGroupSpec
	if exists {
		spec = g.Spec
		want = 1
		if spec.Count != nil {
			want = *spec.Count
		}
	}
	var extra []string
	for i := want; i < len(members); i++ {
		extra = append(extra, members[i].ID)
	}
	missing := want - len(members)
	owner := ""
	if exists {
		owner = g.Owner
	}
	s.mu.Unlock()

	for _, id := range extra {
		if err := s.Terminate(ctx, id); err != nil {
			s.opts.Events.Error("instance", id, "terminate: %v", err)
		}
	}
	if missing > 0 {
		_, err := s.Run(ctx, RunRequest{LaunchTemplate: spec.LaunchTemplate, Version: spec.Version, Count: missing, Group: name, Tags: spec.Tags, Owner: owner})
		if err != nil {
			s.opts.Events.Error("instances", name, "launch %d: %v", missing, err)
		}
	}
}

// OutdatedMembers returns the running members of a group whose launch
// template version or image version is older than what the group now
// resolves to; a restart brings them up to date.
func (s *Service) OutdatedMembers(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[name]
	if !ok {
		return nil
	}
	lt, ok := s.templates[g.Spec.LaunchTemplate]
	if !ok {
		return nil
	}
	v, ok := lt.Version(g.Spec.Version)
	if !ok {
		return nil
	}
	im := s.images[v.Data.Image]
	var out []string
	for _, in := range s.instances {
		if in.Group != name || in.Desired != StateRunning {
			continue
		}
		if in.Resolved != v.Number || (im != nil && in.ImageVersion != im.Current().Number) {
			out = append(out, in.ID)
		}
	}
	sort.Strings(out)
	return out
}

// Members returns the non-terminated instances of a group.
func (s *Service) Members(name string) []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Instance
	for _, in := range s.instances {
		if in.Group == name && in.Desired != StateTerminated {
			out = append(out, *in)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AllInstances returns every stored instance (without live facts).
func (s *Service) AllInstances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Instance, 0, len(s.instances))
	for _, in := range s.instances {
		out = append(out, *in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Image returns one image.
func (s *Service) Image(name string) (Image, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	im, ok := s.images[name]
	if !ok {
		return Image{}, false
	}
	return *im, true
}

// WaitRunning waits until every listed instance is running, one of them
// fails (errored/stopped), or ctx ends.
func (s *Service) WaitRunning(ctx context.Context, ids []string) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		done := true
		for _, id := range ids {
			in, err := s.get(id)
			if err != nil {
				return err
			}
			switch {
			case in.State == StateRunning:
			case in.Detail == "errored" || in.Detail == "exited":
				return fmt.Errorf("instance %s %s: %s", id, in.Detail, in.StateReason)
			default:
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
