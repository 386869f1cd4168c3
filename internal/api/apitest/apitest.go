// Package apitest runs the daemon's API in-process over an in-memory fake
// daemon, for tests of the API's handlers and of its clients (the CLI).
// The fake keeps the domain rules that clients rely on (unknown ids are
// NotFound with a hint, terminated instances refuse actions, counts are
// 1–100) and answers instantly: actions reach their final state at once.
package apitest

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/proxy"
)

// Fake is an in-memory daemon. Set its exported fields before serving; it
// is safe for concurrent use afterwards.
type Fake struct {
	// Catalog is served as it is.
	Catalog Catalog
	// Load balancers, served as they are.
	TargetGroups  []elbctl.TargetGroup
	LoadBalancers []elbctl.LoadBalancer
	Health        map[string][]health.TargetHealth // by target group name
	Metrics       []proxy.Metric
	// StackResult and StackErr are what Plan and Apply return.
	StackResult api.StackResult
	StackErr    error
	// Events is the event log (New makes one).
	Events *event.Log
	// LogDir holds the instances' log files (New makes one).
	LogDir string
	// AutoScaling, when set, serves the Auto Scaling routes.
	AutoScaling *AutoScaling
	// CloudWatch, when set, serves the metric, alarm and dashboard
	// routes.
	CloudWatch *cloudwatch.Service
	// IAM, when set, serves the access key routes (NewIAM makes real
	// keys over an in-memory store); AWS describes the AWS endpoint.
	IAM api.AccessKeys
	AWS api.AWSEndpoint

	// mu guards the fields that follow.
	mu        sync.Mutex
	instances map[string]*compute.View
	stacks    []api.StackRequest
	next      int
}

// New returns an empty fake with an event log and a log directory that
// the test removes.
func New(t testing.TB) *Fake {
	return &Fake{Events: event.New(0, nil), LogDir: t.TempDir(), instances: map[string]*compute.View{}}
}

// Serve starts an HTTP server for the fake's API; the test closes it.
func (f *Fake) Serve(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(f.Server().Handler())
	t.Cleanup(srv.Close)
	return srv
}

// Server returns the API server over the fake.
func (f *Fake) Server() *api.Server {
	s := &api.Server{
		Info:    api.Info{Version: "test", PID: os.Getpid(), Home: f.LogDir, AddressMode: "loopback", Cgroups: "none"},
		Compute: f, ELB: fakeELB{f}, Events: f.Events, Stacks: f, Resources: fakeResources{f},
	}
	if f.AutoScaling != nil {
		s.AutoScaling = f.AutoScaling
	}
	s.CloudWatch = f.CloudWatch
	if f.IAM != nil {
		s.IAM, s.AWS = f.IAM, f.AWS
	}
	return s
}

// Client returns a client of srv that talks through srv's transport.
func Client(srv *httptest.Server) *api.Client {
	return api.New(api.Options{BaseURL: srv.URL, Transport: srv.Client().Transport})
}

// AddInstance stores an instance (its ID, Group and State are what
// matter); Desired follows State unless set.
func (f *Fake) AddInstance(v compute.View) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v.Desired == "" {
		v.Desired = v.State
	}
	f.instances[v.ID] = &v
}

// WriteLog appends lines to an instance's log in the log file format.
func (f *Fake) WriteLog(t testing.TB, id string, lines ...logfile.Line) {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.String() + "\n")
	}
	fh, err := os.OpenFile(f.logPath(id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

// FailStacks makes Plan and Apply fail with err from now on (nil: they
// succeed again); unlike setting StackErr, it is safe while serving.
func (f *Fake) FailStacks(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.StackErr = err
}

// StackRequests returns the stack requests planned or applied so far.
func (f *Fake) StackRequests() []api.StackRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.stacks)
}

func (f *Fake) logPath(id string) string { return filepath.Join(f.LogDir, id+".log") }

func notFound(id string) error {
	return fault.NotFoundf(fault.KindInstance, id, "no instance %q", id).WithHint("see madang ps")
}

// Instances implements api.Instances.
func (f *Fake) Instances() []compute.View {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]compute.View, 0, len(f.instances))
	for _, id := range slices.Sorted(maps.Keys(f.instances)) {
		out = append(out, *f.instances[id])
	}
	return out
}

// Describe implements api.Instances.
func (f *Fake) Describe(id string) (compute.View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.instances[id]
	if !ok {
		return compute.View{}, notFound(id)
	}
	return *v, nil
}

// Instance implements api.Instances.
func (f *Fake) Instance(id string) (compute.Instance, error) {
	v, err := f.Describe(id)
	return v.Instance, err
}

// Resolve implements api.Instances.
func (f *Fake) Resolve(ref string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.instances[ref]; ok {
		return []string{ref}, nil
	}
	var ids []string
	for id, v := range f.instances {
		if v.Group == ref && v.Desired != compute.StateTerminated {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, fault.NotFoundf(fault.KindInstance, ref, "no instance or instance group named %q", ref).WithHint("see madang ps")
	}
	slices.Sort(ids)
	return ids, nil
}

// Run implements api.Instances.
func (f *Fake) Run(_ context.Context, req compute.RunRequest) ([]compute.Instance, error) {
	if req.Count < 1 || req.Count > 100 {
		return nil, fault.Invalidf(fault.KindInstance, "", "count %d is out of range", req.Count).WithHint("use 1 to 100")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	image, err := f.launchImageLocked(req)
	if err != nil {
		return nil, err
	}
	var out []compute.Instance
	for range req.Count {
		f.next++
		tags := maps.Clone(req.Tags)
		in := compute.Instance{
			ID: fmt.Sprintf("i-0%016x", f.next), Group: req.Group, LaunchTemplate: req.LaunchTemplate,
			LaunchTemplateVersion: req.Version, Tags: tags, Desired: compute.StateRunning, State: compute.StatePending,
			PrivateIP: "127.16.0.2", Port: 3000, LaunchTime: time.Unix(1_700_000_000, 0).UTC(),
			Image: image, Zone: req.Zone, Launch: req.Launch,
		}
		if req.Launch != nil {
			in.InstanceType = req.Launch.InstanceType
		}
		f.instances[in.ID] = &compute.View{Instance: in}
		out = append(out, in)
	}
	return out, nil
}

// launchImageLocked checks what a run request launches from as compute
// does: a known launch template, or launch data naming a known image. It
// returns the image named by the launch data ("" for the template's).
func (f *Fake) launchImageLocked(req compute.RunRequest) (string, error) {
	image := ""
	if req.Launch != nil {
		image = req.Launch.Image
	}
	if req.LaunchTemplate == "" {
		if image == "" {
			return "", fault.Invalidf(fault.KindInstance, "", "neither a launch template nor an image was given").
				WithHint("name a launch template, or an image to run")
		}
	} else if !slices.ContainsFunc(f.Catalog.LaunchTemplates, func(lt compute.LaunchTemplate) bool { return lt.Name == req.LaunchTemplate }) {
		return "", fault.NotFoundf(fault.KindLaunchTemplate, req.LaunchTemplate, "launch template %q does not exist", req.LaunchTemplate)
	}
	if image != "" && !slices.ContainsFunc(f.Catalog.Images, func(im compute.Image) bool { return im.Spec.Name == image }) {
		return "", fault.NotFoundf(fault.KindImage, image, "image %q does not exist", image).WithHint("see madang images")
	}
	return image, nil
}

// act moves an instance to state, refusing terminated instances.
func (f *Fake) act(id string, state compute.InstanceState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.instances[id]
	if !ok {
		return notFound(id)
	}
	if v.Desired == compute.StateTerminated {
		if state == compute.StateTerminated {
			return nil
		}
		return fault.Invalidf(fault.KindInstance, id, "instance %s is terminated", id)
	}
	v.Desired, v.State = state, state
	f.Events.Info("instance", id, "%s", state)
	return nil
}

// Start implements api.Instances.
func (f *Fake) Start(_ context.Context, id string) error { return f.act(id, compute.StateRunning) }

// Stop implements api.Instances.
func (f *Fake) Stop(_ context.Context, id string) error { return f.act(id, compute.StateStopped) }

// Reboot implements api.Instances.
func (f *Fake) Reboot(_ context.Context, id string) error { return f.act(id, compute.StateRunning) }

// Terminate implements api.Instances.
func (f *Fake) Terminate(_ context.Context, id string) error {
	return f.act(id, compute.StateTerminated)
}

// SetTags implements api.Instances.
func (f *Fake) SetTags(_ context.Context, id string, set map[string]string, remove []string) (compute.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.instances[id]
	if !ok {
		return compute.Instance{}, notFound(id)
	}
	if v.Tags == nil {
		v.Tags = map[string]string{}
	}
	maps.Copy(v.Tags, set)
	for _, k := range remove {
		delete(v.Tags, k)
	}
	cp := v.Instance
	cp.Tags = maps.Clone(v.Tags)
	return cp, nil
}

// LogPath implements api.Instances.
func (f *Fake) LogPath(id string) (string, error) {
	if _, err := f.Describe(id); err != nil {
		return "", err
	}
	return f.logPath(id), nil
}

// Plan implements api.Stacks.
func (f *Fake) Plan(_ context.Context, req api.StackRequest) (api.StackResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stacks = append(f.stacks, req)
	return f.StackResult, f.StackErr
}

// Apply implements api.Stacks.
func (f *Fake) Apply(ctx context.Context, req api.StackRequest) (api.StackResult, error) {
	return f.Plan(ctx, req)
}

// Catalog holds the fake's images, launch templates and instance groups.
type Catalog struct {
	Images          []compute.Image
	LaunchTemplates []compute.LaunchTemplate
	Groups          []compute.Group
}

// Images implements api.Catalog.
func (f *Fake) Images() []compute.Image { return f.Catalog.Images }

// CreateImage implements api.Instances: the fake adds an image named
// req.Name made from a known instance.
func (f *Fake) CreateImage(_ context.Context, req compute.CreateImageRequest) (compute.Image, error) {
	if _, err := f.Instance(req.InstanceID); err != nil {
		return compute.Image{}, err
	}
	im := compute.Image{Spec: compute.ImageSpec{Name: req.Name, Description: req.Description}, ID: "ami-" + req.Name}
	f.mu.Lock()
	f.Catalog.Images = append(f.Catalog.Images, im)
	f.mu.Unlock()
	return im, nil
}

// LaunchTemplates implements api.Catalog.
func (f *Fake) LaunchTemplates() []compute.LaunchTemplate { return f.Catalog.LaunchTemplates }

// Groups implements api.Catalog.
func (f *Fake) Groups() []compute.Group { return f.Catalog.Groups }

// fakeELB serves the fake's load balancer fields; Register and
// Deregister change Health (and the resource routes change TargetGroups
// and LoadBalancers), so the fields are read under the fake's lock.
type fakeELB struct{ f *Fake }

func (e fakeELB) TargetGroups() []elbctl.TargetGroup {
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	return slices.Clone(e.f.TargetGroups)
}

func (e fakeELB) LoadBalancers() []elbctl.LoadBalancer {
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	return slices.Clone(e.f.LoadBalancers)
}

func (e fakeELB) Metrics() []proxy.Metric { return e.f.Metrics }

func (e fakeELB) Health(group string) ([]health.TargetHealth, error) {
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	if !e.f.hasTargetGroup(group) {
		return nil, tgNotFound(group)
	}
	return slices.Clone(e.f.Health[group]), nil
}

// Interface guards.
var (
	_ api.Compute        = (*Fake)(nil)
	_ api.Stacks         = (*Fake)(nil)
	_ api.LoadBalancing  = fakeELB{}
	_ api.Resources      = fakeResources{}
	_ api.ResourceWriter = fakeResources{}
)
