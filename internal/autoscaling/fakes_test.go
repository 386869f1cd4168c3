package autoscaling

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/state"
)

// fakeCompute launches instances that run at once (or stay pending while
// hold is set), as records only.
type fakeCompute struct {
	mu    sync.Mutex
	ins   map[string]*compute.Instance
	next  int
	hold  bool // new instances stay pending
	calls []string
	lt    compute.LaunchTemplate
	// gate, when set, holds Run after the records exist (a launch in
	// flight) until it is closed.
	gate chan struct{}
	// imageVersion is the image's current version (0: 1).
	imageVersion int
	// onRun, if set, changes each new instance (e.g. breaks a version).
	onRun func(*compute.Instance)
	// imageDirs are the snapshot directories of image versions;
	// reimage holds in-place installs (deploy_test.go).
	imageDirs map[int]string
	reimage   reimageFake
}

func newFakeCompute() *fakeCompute {
	return &fakeCompute{ins: map[string]*compute.Instance{},
		lt: compute.LaunchTemplate{Name: "lt", DefaultVersion: 1, Versions: []compute.LaunchTemplateVersion{{Number: 1}, {Number: 2}}}}
}

func (f *fakeCompute) Run(_ context.Context, req compute.RunRequest) ([]compute.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.lt.Version(req.Version)
	if !ok {
		return nil, fmt.Errorf("no version %q", req.Version)
	}
	var out []compute.Instance
	for range req.Count {
		f.next++
		in := &compute.Instance{ID: fmt.Sprintf("i-%03d", f.next), Group: req.Group, LaunchTemplate: req.LaunchTemplate, Resolved: v.Number,
			InstanceType: "t3.micro", Desired: compute.StateRunning, State: compute.StateRunning, LaunchTime: time.Now(),
			ManagedBy: req.ManagedBy, Zone: req.Zone, Tags: req.Tags, Owner: req.Owner, ImageVersion: max(f.imageVersion, 1)}
		if req.ImageVersion > 0 {
			in.ImageVersion, in.ImagePin = req.ImageVersion, req.ImageVersion
		}
		if f.hold {
			in.State = compute.StatePending
		}
		if f.onRun != nil {
			f.onRun(in)
		}
		f.ins[in.ID] = in
		f.calls = append(f.calls, "run "+in.ID+" "+req.Zone)
		out = append(out, *in)
	}
	if g := f.gate; g != nil {
		f.mu.Unlock()
		<-g
		f.mu.Lock()
	}
	return out, nil
}

func (f *fakeCompute) set(id string, fn func(*compute.Instance)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.ins[id])
}

func (f *fakeCompute) Start(_ context.Context, id string) error {
	f.set(id, func(in *compute.Instance) { in.Desired, in.State = compute.StateRunning, compute.StateRunning })
	f.log("start " + id)
	return nil
}

func (f *fakeCompute) Stop(_ context.Context, id string) error {
	f.set(id, func(in *compute.Instance) { in.Desired, in.State = compute.StateStopped, compute.StateStopped })
	f.log("stop " + id)
	return nil
}

func (f *fakeCompute) Terminate(_ context.Context, id string) error {
	f.set(id, func(in *compute.Instance) { in.Desired, in.State = compute.StateTerminated, compute.StateTerminated })
	f.log("terminate " + id)
	return nil
}

// SetTags changes an instance's tags, copy on write (launched instances
// share their request's map), and logs "tag ID +k=v -k" with the keys
// sorted.
func (f *fakeCompute) SetTags(_ context.Context, id string, set map[string]string, remove []string) (compute.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.ins[id]
	if !ok {
		return compute.Instance{}, fmt.Errorf("no instance %q", id)
	}
	tags := maps.Clone(in.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, set)
	entry := "tag " + id
	for _, k := range slices.Sorted(maps.Keys(set)) {
		entry += " +" + k + "=" + set[k]
	}
	for _, k := range remove {
		delete(tags, k)
		entry += " -" + k
	}
	in.Tags = tags
	f.calls = append(f.calls, entry)
	return *in, nil
}

// tags returns an instance's tags.
func (f *fakeCompute) tags(id string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.ins[id].Tags)
}

func (f *fakeCompute) log(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeCompute) AllInstances() []compute.Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []compute.Instance
	for _, in := range f.ins {
		out = append(out, *in)
	}
	return out
}

func (f *fakeCompute) LaunchTemplates() []compute.LaunchTemplate {
	return []compute.LaunchTemplate{f.lt}
}

func (f *fakeCompute) Observed(context.Context, int64) error { return nil }

func (f *fakeCompute) Image(name string) (compute.Image, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := max(f.imageVersion, 1)
	im := compute.Image{Spec: compute.ImageSpec{Name: name}}
	for v := 1; v <= n; v++ {
		im.Versions = append(im.Versions, compute.ImageVersion{Number: v, Dir: f.imageDirs[v]})
	}
	return im, true
}

func (f *fakeCompute) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// fakeLB registers targets; a registered target has the state in
// health (default healthy); a deregistered one drains until drained is
// called for it (or at once when instantDrain).
type fakeLB struct {
	mu           sync.Mutex
	reg          map[string]map[string]bool // tg -> id
	draining     map[string]map[string]bool
	health       map[string]string         // id -> state
	weights      map[string]map[string]int // tg -> id -> weight (absent: default)
	instantDrain bool
	calls        []string
	// requests are the target groups' request counters behind load
	// balancer "lb", epoch their data plane's (MetricsSnapshot).
	requests map[string]int64
	epoch    string
}

func newFakeLB() *fakeLB {
	return &fakeLB{reg: map[string]map[string]bool{}, draining: map[string]map[string]bool{}, health: map[string]string{},
		weights: map[string]map[string]int{}, instantDrain: true}
}

func (f *fakeLB) Register(_ context.Context, regs []elbctl.Registration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range regs {
		if f.reg[r.TargetGroup] == nil {
			f.reg[r.TargetGroup] = map[string]bool{}
		}
		f.reg[r.TargetGroup][r.ID] = true
		if r.Weight != nil {
			f.setWeightLocked(r.TargetGroup, r.ID, r.Weight)
		}
		f.calls = append(f.calls, "register "+r.ID+" "+r.TargetGroup)
	}
	return nil
}

func (f *fakeLB) Deregister(_ context.Context, tg string, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		delete(f.reg[tg], id)
		delete(f.weights[tg], id)
		if !f.instantDrain {
			if f.draining[tg] == nil {
				f.draining[tg] = map[string]bool{}
			}
			f.draining[tg][id] = true
		}
		f.calls = append(f.calls, "deregister "+id+" "+tg)
	}
	return nil
}

func (f *fakeLB) SetWeights(_ context.Context, tg string, ws map[string]*int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range ws {
		if !f.reg[tg][id] {
			return fmt.Errorf("instance %s is not registered in %s", id, tg)
		}
	}
	for id, w := range ws {
		f.setWeightLocked(tg, id, w)
	}
	f.calls = append(f.calls, fmt.Sprintf("weights %s %d", tg, len(ws)))
	return nil
}

func (f *fakeLB) setWeightLocked(tg, id string, w *int) {
	if f.weights[tg] == nil {
		f.weights[tg] = map[string]int{}
	}
	if w == nil {
		delete(f.weights[tg], id)
		return
	}
	f.weights[tg][id] = *w
}

// weight returns an instance's weight in a target group (1: the default).
func (f *fakeLB) weight(tg, id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w, ok := f.weights[tg][id]; ok {
		return w
	}
	return 1
}

func (f *fakeLB) drained(tg, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.draining[tg], id)
}

func (f *fakeLB) setHealth(id, st string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.health[id] = st
}

func (f *fakeLB) TargetState(tg, id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.draining[tg][id] {
		return "draining", true
	}
	if !f.reg[tg][id] {
		return "", false
	}
	if st, ok := f.health[id]; ok {
		return st, true
	}
	return "healthy", true
}

func (f *fakeLB) Observed(context.Context, int64) error { return nil }

// addRequests counts n requests to a target group.
func (f *fakeLB) addRequests(tg string, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.requests == nil {
		f.requests = map[string]int64{}
	}
	f.requests[tg] += n
}

// restart restarts the counters from n requests to tg under a new epoch,
// as a new data-plane process.
func (f *fakeLB) restart(epoch, tg string, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.epoch, f.requests = epoch, map[string]int64{tg: n}
}

func (f *fakeLB) MetricsSnapshot(context.Context) (*lbmetrics.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	snap := &lbmetrics.Snapshot{Taken: time.Now(), Epoch: f.epoch}
	for _, tg := range slices.Sorted(maps.Keys(f.requests)) {
		var c lbmetrics.GroupCounters
		c[lbmetrics.GroupRequestCount] = f.requests[tg]
		snap.Groups = append(snap.Groups, lbmetrics.GroupSnapshot{LoadBalancer: "lb", TargetGroup: tg, Counters: c})
	}
	return snap, nil
}

func (f *fakeLB) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// fakeMetrics returns a value set per metric key, stamped now, and keeps
// the data put.
type fakeMetrics struct {
	mu   sync.Mutex
	vals map[string]float64
	put  []metric.Datum
}

func (f *fakeMetrics) Put(data []metric.Datum) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.put = append(f.put, data...)
	return nil
}

// published returns the data put, in order.
func (f *fakeMetrics) published() []metric.Datum {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.put)
}

func (f *fakeMetrics) set(id metric.ID, v float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vals == nil {
		f.vals = map[string]float64{}
	}
	f.vals[id.Key()] = v
}

func (f *fakeMetrics) Latest(id metric.ID) (time.Time, metric.StatSet, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vals[id.Key()]
	if !ok {
		return time.Time{}, metric.StatSet{}, false
	}
	return time.Now().Truncate(time.Second).Add(-time.Second), metric.StatSet{SampleCount: 1, Sum: v, Minimum: v, Maximum: v}, true
}

// fakeAlarms returns the alarms set.
type fakeAlarms struct {
	mu     sync.Mutex
	alarms []cloudwatch.AlarmView
}

func (f *fakeAlarms) set(a ...cloudwatch.AlarmView) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alarms = a
}

func (f *fakeAlarms) Alarms() []cloudwatch.AlarmView {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.alarms)
}

// harness is a Service on fakes, inside a synctest bubble.
type harness struct {
	t       *testing.T
	store   *state.Memory
	compute *fakeCompute
	lb      *fakeLB
	metrics *fakeMetrics
	alarms  *fakeAlarms
	svc     *Service
	events  *event.Log
	// interval, if set, replaces the controller's 100 ms round (tests
	// that span days of fake time).
	interval time.Duration
	// scripts runs AppSpec hooks (deploy_test.go); runner, if set,
	// instead.
	scripts *fakeScripts
	runner  ScriptRunner
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, store: state.NewMemory(), compute: newFakeCompute(), lb: newFakeLB(), metrics: &fakeMetrics{}, alarms: &fakeAlarms{},
		events: event.New(1000, nil), scripts: &fakeScripts{}}
	h.start()
	t.Cleanup(func() { h.svc.Close() })
	return h
}

func (h *harness) start() {
	var runner ScriptRunner = h.scripts
	if h.runner != nil {
		runner = h.runner
	}
	svc, err := New(context.Background(), Options{Store: h.store, Compute: h.compute, LoadBalancing: h.lb, Metrics: h.metrics, Alarms: h.alarms, Events: h.events, Interval: h.interval,
		Installer: h.compute, Scripts: runner})
	if err != nil {
		h.t.Fatal(err)
	}
	h.svc = svc
	svc.Start()
}

// apply stores a group as an apply would (defaults, validation, build).
func (h *harness) apply(spec GroupSpec) {
	h.t.Helper()
	spec.ApplyDefaults()
	if errs := spec.Validate(); len(errs) > 0 {
		h.t.Fatalf("invalid spec: %v", errs)
	}
	var old *Group
	if kv, err := h.store.Get(context.Background(), GroupPrefix+spec.Name); err == nil {
		old = &Group{}
		_ = json.Unmarshal(kv.Value, old)
	}
	g := &Group{Spec: spec, ARN: GroupARN("id", spec.Name), CreatedAt: time.Now(), PolicyARNs: map[string]string{}}
	if old != nil {
		g.ARN, g.CreatedAt = old.ARN, old.CreatedAt
	}
	b, _ := json.Marshal(g)
	rev, err := h.store.Put(context.Background(), GroupPrefix+spec.Name, b)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.svc.Observed(context.Background(), rev); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) remove(name string) {
	rev, err := h.store.Delete(context.Background(), GroupPrefix+name)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.svc.Observed(context.Background(), rev); err != nil {
		h.t.Fatal(err)
	}
}

// wait lets the controller run for d of fake time.
func (h *harness) wait(d time.Duration) { time.Sleep(d) }

func (h *harness) group(name string) GroupView {
	h.t.Helper()
	v, err := h.svc.Group(name)
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// states returns the group's instances' lifecycle states, sorted.
func (h *harness) states(name string) []string {
	var out []string
	for _, in := range h.group(name).Instances {
		out = append(out, in.Lifecycle)
	}
	sort.Strings(out)
	return out
}

func (h *harness) activities(name string) []Activity {
	h.t.Helper()
	as, err := h.svc.Activities(context.Background(), name, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return as
}

func ip(v int) *int { return &v }

// basic returns a group spec: launch template lt, min/max, target group tg.
func basic(name string, lo, hi int) GroupSpec {
	return GroupSpec{Name: name, LaunchTemplate: "lt", MinSize: ip(lo), MaxSize: ip(hi), TargetGroups: []string{"tg"}}
}
