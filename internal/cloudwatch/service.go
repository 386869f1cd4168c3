// Package cloudwatch is madang's CloudWatch: it collects AWS/EC2 and
// AWS/ApplicationELB metrics every second into the metric store, takes
// custom metrics (PutMetricData), answers GetMetricStatistics,
// GetMetricData (metric math) and ListMetrics, evaluates metric and
// composite alarms as CloudWatch does and runs their actions, turns log
// lines into metrics (metric filters), keeps dashboards, and exposes the
// newest values in Prometheus' text format.
//
// Alarms, composite alarms, dashboards, metric filters and log group
// settings are resource kinds (see kinds.go); the service follows their
// records under Prefix. Alarm states and history are stored under
// StatePrefix, so they survive a restart or a kill -9 of the daemon.
package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/informer"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/loggroup"
	"github.com/madang-dev/madang/internal/metricstore"
	"github.com/madang-dev/madang/internal/state"
)

// InstanceSource is what the collector reads of the compute service once
// a second; *compute.Service implements it.
type InstanceSource interface {
	Samples() []compute.Sample
}

// LoadBalancerSource is what the collector reads of the load balancers
// once a second; *controller.Controller implements it.
type LoadBalancerSource interface {
	MetricsSnapshot(ctx context.Context) (*lbmetrics.Snapshot, error)
}

// ConfiguredLoadBalancers is implemented by a LoadBalancerSource that
// knows which load balancers and target groups exist now. The collector
// then publishes the metrics of those only: a data plane keeps the
// counters of removed ones for as long as it runs (so that counts stay
// monotonic), and their gauges would otherwise stay published as zeros
// after a destroy or a reset.
type ConfiguredLoadBalancers interface {
	// Configured returns the names of the load balancers and of the
	// target groups that exist.
	Configured() (loadBalancers, targetGroups map[string]bool)
}

// Options configure a Service.
type Options struct {
	// Home is the data directory; metrics live in Home/metrics.
	Home  string
	Store state.Store
	// Instances and LoadBalancers are collected from (nil: not collected).
	Instances     InstanceSource
	LoadBalancers LoadBalancerSource
	// EC2 runs alarms' EC2 actions (nil: they fail).
	EC2 EC2Actions
	// Logs lists the log streams for metric filters and log queries.
	Logs   loggroup.Source
	Events *event.Log
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Interval is the collection interval (default 1 s); a negative one
	// disables collection (alarms are still evaluated every second).
	Interval time.Duration
	// HTTPClient sends webhooks (default: 5 s timeout).
	HTTPClient *http.Client
	// Tick, if set, replaces the interval ticker (tests).
	Tick <-chan time.Time
	// OnRound, if set, is called after each collection and evaluation
	// round (tests and benchmarks).
	OnRound func()
}

// Service is madang's CloudWatch.
type Service struct {
	opts    Options
	log     *slog.Logger
	metrics *metricstore.Store
	inf     *informer.Informer
	exec    executor
	follow  *loggroup.Follower

	// mu guards the fields that follow.
	mu         sync.Mutex
	alarms     map[string]*Alarm
	composites map[string]*CompositeAlarm
	dashboards map[string]*Dashboard
	filters    map[string]*MetricFilter
	logGroups  map[string]*LogGroup
	states     map[string]*AlarmState
	// dirty marks alarms whose spec changed since their last evaluation.
	dirty map[string]bool
	// collector state
	prevLB *lbmetrics.Snapshot
	stats  CollectorStats

	evaluated informer.Mark // store revision whose alarms have been evaluated
	seenRev   int64
	kick      chan struct{}
	// resets carries Reset's requests to the loop, so a reset never
	// interleaves with a collection or an evaluation.
	resets  chan resetRequest
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	actions sync.WaitGroup
	// historySeq orders history items of the same instant.
	historySeq atomic.Int64
}

// CollectorStats describe the collector's last round, for the daemon's
// own metrics and `describe`.
type CollectorStats struct {
	Rounds       int64
	LastDuration time.Duration
	LastDatums   int
	LastError    string
}

// New opens the metric store, loads alarms, dashboards and filters, and
// returns the service; Start runs its loops.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interval == 0 {
		opts.Interval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	ms, err := metricstore.Open(metricstore.Options{Dir: filepath.Join(opts.Home, "metrics"), Now: opts.Now, Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("open metric store: %w", err)
	}
	s := &Service{
		opts: opts, log: opts.Logger, metrics: ms,
		exec:   executor{ec2: opts.EC2, client: opts.HTTPClient, retryDelay: time.Second},
		alarms: map[string]*Alarm{}, composites: map[string]*CompositeAlarm{}, dashboards: map[string]*Dashboard{},
		filters: map[string]*MetricFilter{}, logGroups: map[string]*LogGroup{}, states: map[string]*AlarmState{},
		dirty: map[string]bool{}, kick: make(chan struct{}, 1), resets: make(chan resetRequest),
	}
	if err := s.loadStates(ctx); err != nil {
		ms.Close()
		return nil, err
	}
	s.inf = informer.New(opts.Store, Prefix, follower{s}, opts.Logger)
	if err := s.inf.Sync(ctx); err != nil {
		ms.Close()
		return nil, err
	}
	if opts.Logs != nil {
		s.follow = loggroup.NewFollower(loggroup.FollowerOptions{
			Source: opts.Logs, StateDir: filepath.Join(opts.Home, "metrics", "filters"), Now: opts.Now, Logger: opts.Logger,
			Emit: s.putFiltered,
		})
		s.syncFilters()
	}
	return s, nil
}

// Start runs the collector, the alarm evaluator, the store follower and
// the metric filters until Close.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if s.opts.Interval > 0 {
		s.baselineLB(ctx)
	}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.inf.Run(ctx) }()
	go func() { defer s.wg.Done(); s.loop(ctx) }()
	if s.follow != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.follow.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Warn("metric filters", "err", err)
			}
		}()
	}
}

// Close stops the loops, waits for running actions and flushes the
// metric store.
func (s *Service) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	s.actions.Wait()
	if s.opts.Interval > 0 {
		s.saveLB()
	}
	return s.metrics.Close()
}

// Metrics is the metric store.
func (s *Service) Metrics() *metricstore.Store { return s.metrics }

// Observed waits until the service has seen the store up to revision rev
// and evaluated the alarms it changed.
func (s *Service) Observed(ctx context.Context, rev int64) error {
	if err := s.inf.Wait(ctx, rev); err != nil {
		return err
	}
	s.Kick()
	return s.evaluated.Wait(ctx, rev)
}

// Kick asks the loop for an evaluation now.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// roundOffset is how long after a second's boundary a round starts.
const roundOffset = 20 * time.Millisecond

// loop collects every interval and then evaluates alarms, so that a
// breaching datapoint is evaluated in the round that stored it.
func (s *Service) loop(ctx context.Context) {
	var rounds int
	tick := s.opts.Tick
	if tick == nil {
		// Rounds run just after each second's boundary, so a round's
		// samples describe the second that just ended, the one they are
		// stamped with.
		every := max(s.opts.Interval, time.Second)
		now := time.Now()
		select {
		case <-ctx.Done():
			return
		case <-time.After(now.Truncate(time.Second).Add(time.Second + roundOffset).Sub(now)):
		}
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if s.opts.Interval > 0 {
				s.collect(ctx)
			}
			rounds++
			if rounds%expireEvery == 1 {
				s.expireLogs()
			}
			s.evaluate(ctx, false)
			if s.opts.OnRound != nil {
				s.opts.OnRound()
			}
		case <-s.kick:
			s.evaluate(ctx, true)
		case req := <-s.resets:
			n, err := s.reset(req.ctx)
			req.done <- resetResult{series: n, err: err}
		}
	}
}

// follower keeps the service's maps equal to the store's records.
type follower struct{ s *Service }

// Reset implements informer.Handler.
func (f follower) Reset(kvs []state.KV, rev int64) {
	s := f.s
	s.mu.Lock()
	s.seenRev = max(s.seenRev, rev)
	s.alarms, s.composites, s.dashboards = map[string]*Alarm{}, map[string]*CompositeAlarm{}, map[string]*Dashboard{}
	s.filters, s.logGroups = map[string]*MetricFilter{}, map[string]*LogGroup{}
	for _, kv := range kvs {
		s.putLocked(kv)
	}
	s.mu.Unlock()
	s.syncFilters()
	s.Kick()
}

// Apply implements informer.Handler.
func (f follower) Apply(events []state.Event) {
	s := f.s
	s.mu.Lock()
	s.seenRev = max(s.seenRev, events[len(events)-1].KV.ModRevision)
	for _, ev := range events {
		if ev.Type == state.EventPut {
			s.putLocked(ev.KV)
			continue
		}
		s.deleteLocked(ev.KV.Key)
	}
	s.mu.Unlock()
	s.syncFilters()
	s.Kick()
}

func decodeInto[T any](s *Service, kv state.KV) (*T, bool) {
	v := new(T)
	if err := json.Unmarshal(kv.Value, v); err != nil {
		s.log.Warn("decode record", "key", kv.Key, "err", err)
		return nil, false
	}
	return v, true
}

func (s *Service) putLocked(kv state.KV) {
	switch k := kv.Key; {
	case strings.HasPrefix(k, AlarmPrefix):
		if a, ok := decodeInto[Alarm](s, kv); ok {
			s.alarms[a.Spec.Name] = a
			s.dirty[a.Spec.Name] = true
		}
	case strings.HasPrefix(k, CompositeAlarmPrefix):
		if a, ok := decodeInto[CompositeAlarm](s, kv); ok {
			s.composites[a.Spec.Name] = a
			s.dirty[a.Spec.Name] = true
		}
	case strings.HasPrefix(k, DashboardPrefix):
		if d, ok := decodeInto[Dashboard](s, kv); ok {
			s.dashboards[d.Spec.Name] = d
		}
	case strings.HasPrefix(k, MetricFilterPrefix):
		if f, ok := decodeInto[MetricFilter](s, kv); ok {
			s.filters[f.Spec.Name] = f
		}
	case strings.HasPrefix(k, LogGroupPrefix):
		if g, ok := decodeInto[LogGroup](s, kv); ok {
			s.logGroups[g.Spec.Name] = g
		}
	}
}

func (s *Service) deleteLocked(key string) {
	switch {
	case strings.HasPrefix(key, AlarmPrefix):
		name := strings.TrimPrefix(key, AlarmPrefix)
		delete(s.alarms, name)
		s.dirty[name] = true
	case strings.HasPrefix(key, CompositeAlarmPrefix):
		name := strings.TrimPrefix(key, CompositeAlarmPrefix)
		delete(s.composites, name)
		s.dirty[name] = true
	case strings.HasPrefix(key, DashboardPrefix):
		delete(s.dashboards, strings.TrimPrefix(key, DashboardPrefix))
	case strings.HasPrefix(key, MetricFilterPrefix):
		delete(s.filters, strings.TrimPrefix(key, MetricFilterPrefix))
	case strings.HasPrefix(key, LogGroupPrefix):
		delete(s.logGroups, strings.TrimPrefix(key, LogGroupPrefix))
	}
}

// Dashboards returns the stored dashboards, sorted by name.
func (s *Service) Dashboards() []Dashboard {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedValues(s.dashboards, func(d *Dashboard) string { return d.Spec.Name })
}

// Dashboard returns one dashboard.
func (s *Service) Dashboard(name string) (Dashboard, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dashboards[name]
	if !ok {
		return Dashboard{}, false
	}
	return *d, true
}

// expireEvery is how many rounds pass between retention sweeps of the
// log groups.
const expireEvery = 60

// expireLogs removes the rotated log files older than their log group's
// retention.
func (s *Service) expireLogs() {
	if s.opts.Logs == nil {
		return
	}
	s.mu.Lock()
	groups := map[string]int{}
	for name, g := range s.logGroups {
		if g.Spec.RetentionInDays > 0 {
			groups[name] = g.Spec.RetentionInDays
		}
	}
	s.mu.Unlock()
	for name, days := range groups {
		removed, err := loggroup.Expire(s.opts.Logs, name, days, s.opts.Now())
		if err != nil {
			s.log.Warn("log retention", "group", name, "err", err)
		}
		if len(removed) > 0 && s.opts.Events != nil {
			s.opts.Events.Info("log-group", name, "retention %d days: removed %d old log files", days, len(removed))
		}
	}
}

// LogGroupRetention returns the retention in days configured for a log
// group (0: never expire).
func (s *Service) LogGroupRetention(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.logGroups[name]; ok {
		return g.Spec.RetentionInDays
	}
	return 0
}

// sortedValues returns copies of m's values sorted by key.
func sortedValues[T any](m map[string]*T, key func(*T) string) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return key(&out[i]) < key(&out[j]) })
	return out
}

// LogGroups returns the log group settings (retention), sorted by name.
func (s *Service) LogGroups() []LogGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedValues(s.logGroups, func(g *LogGroup) string { return g.Spec.Name })
}

// MetricFilters returns the metric filters, sorted by name.
func (s *Service) MetricFilters() []MetricFilter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedValues(s.filters, func(f *MetricFilter) string { return f.Spec.Name })
}
