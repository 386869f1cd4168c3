package compute

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/madang-dev/madang/internal/cgroup"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/informer"
	"github.com/madang-dev/madang/internal/procstat"
	"github.com/madang-dev/madang/internal/state"
	"github.com/madang-dev/madang/internal/supervisor"
)

// Sentinel errors of the compute service. They match every [fault.Error]
// of their code (errors.Is(err, ErrNotFound) is true for a missing
// instance, image or launch template); the service itself returns
// fault errors that name the resource.
var (
	ErrNotFound = fault.Sentinel(fault.NotFound, "", "compute: not found")
	ErrInUse    = fault.Sentinel(fault.InUse, "", "compute: in use")
	ErrInvalid  = fault.Sentinel(fault.Invalid, "", "compute: invalid request")
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
	// ShimHost, when set, runs the shims in a process host instead (see
	// supervisor.Host).
	ShimHost supervisor.Host
	// Cgroups enforces instance types; nil enforces nothing.
	Cgroups *cgroup.Hierarchy
	// AddressMode chooses loopback IPs or ports.
	AddressMode AddressMode
	// Addresses leases instance addresses host-wide (nil: an AddressBook
	// on DefaultLeaseDir).
	Addresses *AddressBook
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
	// Status is the group controller's progress (not stored with the
	// group: it lives under GroupStatusPrefix).
	Status *GroupStatus `json:"status,omitempty"`
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
	// listSample samples every instance of a listing in one pass; its
	// own sampler, so listings do not shorten the CloudWatch collector's
	// interval (Samples) or describe's.
	listSample *procstat.Sampler

	// mu guards the fields that follow.
	mu        sync.Mutex
	images    map[string]*Image
	templates map[string]*LaunchTemplate
	groups    map[string]*Group
	instances map[string]*Instance
	opLocks   map[string]*sync.Mutex // per-instance operation locks
	closed    bool
	// seenRev is the newest store revision the informer has applied.
	seenRev int64
	// revision counts changes to instances, images and launch templates
	// (see Revision); it is added to with mu held, by changedLocked.
	revision atomic.Uint64
	// rebooting holds the members a rollout is rebooting now.
	rebooting map[string]bool

	// putLocks order the stores of each instance's record (putInstance),
	// sharded by instance id.
	putLocks [putShards]sync.Mutex
	// statuses stores observed phases behind, in batches (statuswrite.go).
	statuses *statusWriter

	inf *informer.Informer
	// reconciled is the store revision the group controller has
	// reconciled through.
	reconciled informer.Mark
	groupKick  chan struct{}
	cancel     context.CancelFunc
	wg         sync.WaitGroup // the informer, the group controller and rollout reboots
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
		opts:       opts,
		log:        opts.Logger.With("component", "compute"),
		sample:     procstat.NewSampler(opts.Now),
		listSample: procstat.NewSampler(opts.Now),
		images:     map[string]*Image{},
		templates:  map[string]*LaunchTemplate{},
		groups:     map[string]*Group{},
		instances:  map[string]*Instance{},
		opLocks:    map[string]*sync.Mutex{},
		rebooting:  map[string]bool{},
		groupKick:  make(chan struct{}, 1),
	}
	s.statuses = newStatusWriter(s, statusWriteDelay)
	s.sup = supervisor.New(supervisor.Config{ShimCommand: opts.ShimCommand, Host: opts.ShimHost, Logger: opts.Logger, OnChange: s.onStatus})
	s.inf = informer.New(opts.Store, "/compute/", follower{s}, s.log)
	if err := s.load(ctx); err != nil {
		_ = s.sup.Close()
		s.statuses.close()
		return nil, err
	}
	s.claimAddresses()
	s.resume(ctx)
	rctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.inf.Run(rctx) }()
	go func() { defer s.wg.Done(); s.runGroups(rctx) }()
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

// load reads instances, then images, launch templates and groups (which
// the informer keeps current from then on).
func (s *Service) load(ctx context.Context) error {
	if err := loadAll(ctx, s.opts.Store, InstancePrefix, s.instances, func(v *Instance) string { return v.ID }); err != nil {
		return err
	}
	return s.inf.Sync(ctx)
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
				s.changedLocked()
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
	s.cancel()
	s.wg.Wait()
	err := s.sup.Close()
	// After the supervisor: its last reports are stored too.
	s.statuses.close()
	return err
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

// Revision is a number that changes whenever an instance record, an
// image or a launch template changes: while it stays the same, Listing
// returns the same records (its live process facts, such as the phase,
// pid and uptime, aside), and Images and LaunchTemplates the same
// values. Callers that answer from those may keep an answer for as long
// as the revision holds. A change counts from the moment it is seen in
// memory, before it is stored; a revision read before a listing is
// never newer than what the listing shows.
func (s *Service) Revision() uint64 { return s.revision.Load() }

// changedLocked records a change to an instance, image or launch
// template; s.mu must be held, and the change made in the same critical
// section.
func (s *Service) changedLocked() { s.revision.Add(1) }

// ---------------------------------------------------------------------
// persistence helpers

// putShards is the number of instance put locks.
const putShards = 128

// putInstance stores instance id's record as it is now. Writers change a
// record under s.mu and store it after unlocking, so two of them storing
// their own copies could finish in the wrong order and leave the older
// copy in the store (and after a restart, in the daemon). The instance's
// put lock orders the stores, and each store takes the record as it is
// once it holds that lock: the last store is of the newest record. A
// record removed meanwhile is not stored again.
func (s *Service) putInstance(ctx context.Context, id string) error {
	l := &s.putLocks[putShard(id)]
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	in, ok := s.instances[id]
	var cp Instance
	if ok {
		cp = *in
	}
	s.mu.Unlock()
	if !ok {
		return nil
	}
	return s.put(ctx, InstancePrefix+id, &cp)
}

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

// jsonPut returns the store operation that saves v at key, for callers
// that commit several records in one transaction.
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

// sortedCopies returns copies of a map's values in key order (names and
// ids are the keys).
func sortedCopies[T any](m map[string]*T) []T {
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, *m[k])
	}
	return out
}
