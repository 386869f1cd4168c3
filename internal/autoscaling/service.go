package autoscaling

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/informer"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/state"
)

// Compute is the instance machinery a group launches through;
// *compute.Service implements it.
type Compute interface {
	// Run launches instances (state pending; running once ready).
	Run(ctx context.Context, req compute.RunRequest) ([]compute.Instance, error)
	// Start, Stop and Terminate change an instance's desired state and
	// return once it is reached.
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
	Terminate(ctx context.Context, id string) error
	// AllInstances returns every stored instance.
	AllInstances() []compute.Instance
	// LaunchTemplates returns every launch template.
	LaunchTemplates() []compute.LaunchTemplate
	// Image returns an image (its versions; launches run the current one).
	Image(name string) (compute.Image, bool)
	// SetTags adds or replaces an instance's tags and removes the keys in
	// remove, durably (EC2's CreateTags and DeleteTags).
	SetTags(ctx context.Context, id string, set map[string]string, remove []string) (compute.Instance, error)
	// Observed waits until compute has seen store revision rev (the
	// launch template a group's revision names exists there).
	Observed(ctx context.Context, rev int64) error
}

// LoadBalancing registers instances in target groups and reports their
// health there; *elbctl.Controller implements it.
type LoadBalancing interface {
	// Register registers instances (one transaction, validated first).
	Register(ctx context.Context, regs []elbctl.Registration) error
	// Deregister deregisters instances from a target group; they drain.
	Deregister(ctx context.Context, tg string, ids []string) error
	// SetWeights sets the weights of instances registered in a target
	// group (nil: the default), in one transaction; 0 gives an instance
	// no new request while it stays registered and health-checked.
	SetWeights(ctx context.Context, tg string, weights map[string]*int) error
	// TargetState returns an instance's health state in a target group;
	// ok is false once it is neither registered nor draining.
	TargetState(tg, id string) (state string, ok bool)
	// Observed waits until the load balancers have seen store revision
	// rev (the target groups a group's revision names exist there).
	Observed(ctx context.Context, rev int64) error
}

// Metrics reads the newest value of a metric and stores the group
// metrics (AWS/AutoScaling, a namespace PutMetricData refuses);
// *metricstore.Store implements it.
type Metrics interface {
	Latest(id metric.ID) (t time.Time, stats metric.StatSet, ok bool)
	Put(data []metric.Datum) error
}

// Alarms lists CloudWatch alarms with their states; *cloudwatch.Service
// implements it.
type Alarms interface {
	Alarms() []cloudwatch.AlarmView
}

// Options configure a Service.
type Options struct {
	Store   state.Store
	Compute Compute
	// LoadBalancing, Metrics and Alarms may be nil: groups then have no
	// target groups, metrics or alarm-driven policies.
	LoadBalancing LoadBalancing
	Metrics       Metrics
	Alarms        Alarms
	Events        *event.Log
	Logger        *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Interval is how often groups are reconciled (default 100 ms);
	// policies and schedules run once a second.
	Interval time.Duration
	// Tick, if set, replaces the interval ticker (tests).
	Tick <-chan time.Time
	// Installer installs revisions for in-place deployments (nil: none);
	// Scripts runs their AppSpec hooks (default ExecScripts).
	Installer Installer
	Scripts   ScriptRunner
}

// Service is the Auto Scaling controller.
type Service struct {
	opts Options
	log  *slog.Logger
	inf  *informer.Informer

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup // launches, terminations and hook commands

	// commitMu orders batch commits (see unlockCommit).
	commitMu sync.Mutex
	// mu guards the fields below.
	mu       sync.Mutex
	groups   map[string]*Group
	capacity map[string]*Capacity
	members  map[string]*Member   // by instance id
	open     map[string]*Activity // activities in progress, by id
	inflight map[string]int       // group -> instances being launched
	// inflightWarm counts instances being launched into warm pools,
	// inflightFleet into blue/green deployments' replacement fleets.
	inflightWarm  map[string]int
	inflightFleet map[string]int
	// weighting are the groups whose fleets' weights are being set
	// (bluegreen.go).
	weighting map[string]bool
	busy      map[string]bool // instance -> a goroutine is working on it
	// fleetRuns cancels the hook runs of blue/green deployments'
	// instances, by instance id (bluegreenhooks.go).
	fleetRuns map[string]context.CancelFunc
	// settled are the instances whose work ended since the round listed
	// compute's instances: that listing may show them as they were during
	// the work (stopped while being reinstalled), so they wait a round.
	settled  map[string]bool
	hookRuns map[string]bool      // instance -> its hook command runs
	tagging  map[string]bool      // instance -> its tags are being changed (tags.go)
	retryAt  map[string]time.Time // group -> when a failed launch may be retried
	// refreshes holds each group's newest instance refresh, active or
	// ended (refresh.go).
	refreshes map[string]*Refresh
	// deployments holds each group's newest in-place deployment and
	// revisions each group's revision (deploy.go).
	deployments map[string]*Deployment
	revisions   map[string]*Revision
	// revisionsCleared are groups whose revision a refresh cleared, to
	// delete from the store in the next round.
	revisionsCleared []string
	// published is when each collecting group last published its metrics
	// (groupmetrics.go).
	published  map[string]time.Time
	seenRev    int64
	lastPolicy time.Time
	lastPrune  time.Time
	// partial holds each tracked target group's request counter at the
	// start of the current second; lastPartial is when the counters were
	// last read (partial.go).
	partial     map[string]*partialBase
	lastPartial time.Time
	// started is when Start ran (see albSettle).
	started time.Time
	// actSeq numbers activities (see Activity.Seq).
	actSeq     int64
	closed     bool
	reconciled informer.Mark
}

// New loads the groups' runtime records and returns a Service; Start runs
// it.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval == 0 {
		opts.Interval = 100 * time.Millisecond
	}
	if opts.Scripts == nil {
		opts.Scripts = ExecScripts{}
	}
	s := &Service{
		opts: opts, log: opts.Logger, kick: make(chan struct{}, 1), done: make(chan struct{}),
		groups: map[string]*Group{}, capacity: map[string]*Capacity{}, members: map[string]*Member{},
		open: map[string]*Activity{}, inflight: map[string]int{}, inflightWarm: map[string]int{}, inflightFleet: map[string]int{}, weighting: map[string]bool{}, busy: map[string]bool{}, settled: map[string]bool{},
		fleetRuns: map[string]context.CancelFunc{},
		hookRuns:  map[string]bool{}, tagging: map[string]bool{}, retryAt: map[string]time.Time{}, refreshes: map[string]*Refresh{},
		deployments: map[string]*Deployment{}, revisions: map[string]*Revision{}, published: map[string]time.Time{},
		partial: map[string]*partialBase{},
	}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	s.inf = informer.New(opts.Store, GroupPrefix, follower{s}, s.log)
	if err := s.inf.Sync(ctx); err != nil {
		return nil, fmt.Errorf("autoscaling: load groups: %w", err)
	}
	return s, nil
}

// load reads capacities, members and open activities.
func (s *Service) load(ctx context.Context) error {
	read := func(prefix string, each func(state.KV) error) error {
		kvs, _, err := s.opts.Store.List(ctx, prefix)
		if err != nil {
			return fmt.Errorf("autoscaling: load %s: %w", prefix, err)
		}
		for _, kv := range kvs {
			if err := each(kv); err != nil {
				return fmt.Errorf("autoscaling: decode %s: %w", kv.Key, err)
			}
		}
		return nil
	}
	if err := read(CapacityPrefix, func(kv state.KV) error {
		var c Capacity
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			return err
		}
		s.capacity[strings.TrimPrefix(kv.Key, CapacityPrefix)] = &c
		return nil
	}); err != nil {
		return err
	}
	if err := read(MemberPrefix, func(kv state.KV) error {
		var m Member
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			return err
		}
		s.members[m.InstanceID] = &m
		return nil
	}); err != nil {
		return err
	}
	if err := read(RefreshPrefix, s.loadRefresh); err != nil { // refresh.go
		return err
	}
	if err := read(DeploymentPrefix, s.loadDeployment); err != nil { // deploy.go
		return err
	}
	if err := read(RevisionPrefix, s.loadRevision); err != nil {
		return err
	}
	return read(ActivityPrefix, func(kv state.KV) error {
		var a Activity
		if err := json.Unmarshal(kv.Value, &a); err != nil {
			return err
		}
		if !a.Done() {
			s.open[a.ID] = &a
		}
		return nil
	})
}

// Start runs the controller.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.mu.Lock()
	s.started = s.opts.Now()
	s.mu.Unlock()
	go s.inf.Run(ctx)
	go s.loop(ctx)
}

// Close stops the controller and waits for launches, terminations and hook
// commands in progress. Instances keep running; a new Service resumes
// where this one stopped.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	<-s.done
	s.wg.Wait()
	return nil
}

// Kick asks for a reconcile soon (an instance or a target changed).
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Observed waits until the controller has seen every group change up to
// store revision rev and reconciled after it, and the instances of deleted
// groups are gone, or ctx ends.
func (s *Service) Observed(ctx context.Context, rev int64) error {
	if err := s.inf.Wait(ctx, rev); err != nil {
		return err
	}
	s.Kick()
	if err := s.reconciled.Wait(ctx, rev); err != nil {
		return err
	}
	// A deleted group's instances are deregistered, drained and
	// terminated in the background: a destroy returns once they are gone.
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		left := 0
		for _, m := range s.members {
			if s.groups[m.Group] == nil {
				left++
			}
		}
		s.mu.Unlock()
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d instance(s) of deleted groups still terminating: %w", left, ctx.Err())
		case <-t.C:
		}
	}
}

func (s *Service) loop(ctx context.Context) {
	defer close(s.done)
	tick := s.opts.Tick
	if tick == nil {
		t := time.NewTicker(s.opts.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-tick:
		}
		s.round(ctx)
	}
}

// round reconciles every group once; once a second (just after the
// metrics collector's round) it also runs schedules and policies, and in
// between it scales out on the requests so far (partial.go).
func (s *Service) round(ctx context.Context) {
	now := s.opts.Now()
	s.mu.Lock()
	rev := s.seenRev
	names := map[string]bool{}
	for n := range s.groups {
		names[n] = true
	}
	for _, m := range s.members {
		names[m.Group] = true
	}
	for n := range s.capacity {
		names[n] = true
	}
	// The instances a round looks at besides the ones the groups
	// launched: members (attached ones were launched outside the group)
	// and the instances groups detached (tags.go).
	memberIDs := make(map[string]bool, len(s.members))
	for id := range s.members {
		memberIDs[id] = true
	}
	for _, c := range s.capacity {
		for _, id := range c.Detached {
			memberIDs[id] = true
		}
	}
	policies := now.Truncate(time.Second) != s.lastPolicy.Truncate(time.Second) && now.Sub(now.Truncate(time.Second)) >= policyOffset
	if policies {
		s.lastPolicy = now
	}
	prune := now.Sub(s.lastPrune) >= time.Minute
	if prune {
		s.lastPrune = now
	}
	partialTGs := s.partialDueLocked(now)
	clear(s.settled)
	s.mu.Unlock()
	requests := s.readPartial(ctx, partialTGs)
	all := map[string]compute.Instance{}
	for _, in := range s.opts.Compute.AllInstances() {
		if in.ManagedBy == ManagedBy && names[in.Group] || memberIDs[in.ID] {
			all[in.ID] = in
		}
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		if ctx.Err() != nil {
			return
		}
		if policies {
			s.scale(ctx, n, now)
		}
		s.scalePartial(ctx, n, now, requests)
		s.reconcile(ctx, n, now, all)
		if prune {
			s.pruneActivities(ctx, n, now)
		}
	}
	s.reconciled.Advance(rev)
}

// policyOffset places the policy round after the second's metrics are in
// (the collector runs 20 ms after each second).
const policyOffset = 150 * time.Millisecond

// follower keeps s.groups equal to the stored groups.
type follower struct{ s *Service }

// Reset implements informer.Handler.
func (f follower) Reset(kvs []state.KV, rev int64) {
	s := f.s
	s.mu.Lock()
	s.groups = map[string]*Group{}
	for _, kv := range kvs {
		s.putGroupLocked(kv)
	}
	s.seenRev = max(s.seenRev, rev)
	s.mu.Unlock()
	s.Kick()
}

// Apply implements informer.Handler.
func (f follower) Apply(events []state.Event) {
	s := f.s
	s.mu.Lock()
	for _, ev := range events {
		if ev.Type == state.EventPut {
			s.putGroupLocked(ev.KV)
		} else {
			delete(s.groups, strings.TrimPrefix(ev.KV.Key, GroupPrefix))
		}
		s.seenRev = max(s.seenRev, ev.KV.ModRevision)
	}
	s.mu.Unlock()
	s.Kick()
}

func (s *Service) putGroupLocked(kv state.KV) {
	var g Group
	if err := json.Unmarshal(kv.Value, &g); err != nil {
		s.log.Warn("decode Auto Scaling group", "key", kv.Key, "err", err)
		return
	}
	g.rev = kv.ModRevision
	s.groups[g.Spec.Name] = &g
}

// batch collects the writes of one reconcile, committed in one transaction.
type batch struct {
	ops []state.Op
}

func (b *batch) put(key string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("autoscaling: encode %s: %v", key, err)) // plain structs always encode
	}
	b.ops = append(b.ops, state.Put(key, data))
}

func (b *batch) del(key string) { b.ops = append(b.ops, state.Delete(key)) }

// unlockCommit releases s.mu and writes the batch, in the order the
// critical sections ran: a batch made later never lands before an
// earlier one (a launch's InProgress activity over the Successful that
// the next round wrote).
func (s *Service) unlockCommit(ctx context.Context, b *batch) {
	s.commitMu.Lock()
	s.mu.Unlock()
	s.commit(ctx, b)
	s.commitMu.Unlock()
}

// commit writes the batch; later writes of a key win.
func (s *Service) commit(ctx context.Context, b *batch) {
	if len(b.ops) == 0 {
		return
	}
	last := map[string]int{}
	for i, op := range b.ops {
		last[op.Key] = i
	}
	ops := make([]state.Op, 0, len(last))
	for i, op := range b.ops {
		if last[op.Key] == i {
			ops = append(ops, op)
		}
	}
	if _, err := s.opts.Store.Txn(context.WithoutCancel(ctx), nil, ops); err != nil {
		s.log.Warn("save Auto Scaling records", "err", err)
	}
	b.ops = nil
}
