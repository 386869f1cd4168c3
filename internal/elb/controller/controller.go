// Package controller is the control plane of madang's Application Load
// Balancer: it turns stored target groups and load balancers, and the
// instances registered with them, into the running data plane (package
// proxy) and health checks (package health), draining deregistered
// targets for their deregistration delay.
package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/proxy"
	"github.com/madang-dev/madang/internal/state"
)

// Store key prefixes of load balancer resources.
const (
	TargetGroupPrefix  = "/elb/target-groups/"
	LoadBalancerPrefix = "/elb/load-balancers/"
	healthKey          = "/elb/health"
)

// TargetGroup is a stored target group.
type TargetGroup struct {
	Spec      elb.TargetGroupSpec `json:"spec"`
	ARN       string              `json:"arn"`
	Owner     string              `json:"owner,omitempty"`
	CreatedAt time.Time           `json:"createdAt"`
}

// LoadBalancer is a stored load balancer.
type LoadBalancer struct {
	Spec      elb.LoadBalancerSpec `json:"spec"`
	ARN       string               `json:"arn"`
	DNSName   string               `json:"dnsName"`
	Owner     string               `json:"owner,omitempty"`
	CreatedAt time.Time            `json:"createdAt"`
}

// ErrNotFound is returned for unknown target groups and load balancers.
var ErrNotFound = errors.New("elb: not found")

// Instances is what the controller needs from the compute service.
type Instances interface {
	// Members returns the non-terminated instances of an instance group.
	Members(group string) []compute.Instance
	// Instance returns one instance.
	Instance(id string) (compute.Instance, error)
}

// Options configure a Controller.
type Options struct {
	Home      string // access logs go to Home/logs/elb/<name>/access.log
	Store     state.Store
	Logger    *slog.Logger
	Events    *event.Log
	Instances Instances
	Now       func() time.Time
}

// Controller reconciles stored target groups and load balancers into the
// running data plane (package proxy) and the health checker (package
// health). Deregistered targets drain for their group's deregistration
// delay before they leave.
type Controller struct {
	opts   Options
	log    *slog.Logger
	proxy  *proxy.Proxy
	health *health.Manager

	kick chan struct{}
	done chan struct{}
	wg   sync.WaitGroup

	// mu guards the fields that follow.
	mu          sync.Mutex
	tgs         map[string]*TargetGroup
	lbs         map[string]*LoadBalancer
	registered  map[string]map[string]proxy.Target // group -> target key -> target, as of the last reload
	draining    map[string]map[string]drain        // group -> target key -> drain
	accessLogs  map[string]io.WriteCloser
	leaving     map[string]bool // instances taken out of rotation before they stop
	lastErr     error
	healthDirty bool
}

type drain struct {
	target proxy.Target
	until  time.Time
}

// New loads load balancer resources, restores the last known target health
// (so a daemon restart does not reset it) and starts the data plane.
func New(ctx context.Context, opts Options) (*Controller, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Controller{
		opts:       opts,
		log:        opts.Logger.With("component", "elb"),
		kick:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		tgs:        map[string]*TargetGroup{},
		lbs:        map[string]*LoadBalancer{},
		registered: map[string]map[string]proxy.Target{},
		draining:   map[string]map[string]drain{},
		accessLogs: map[string]io.WriteCloser{},
		leaving:    map[string]bool{},
	}
	wire := &wiring{}
	c.proxy = proxy.New(proxy.Options{Logger: opts.Logger, Observer: wire, Now: opts.Now})
	c.health = health.New(health.Options{Logger: opts.Logger, Sink: wire, OnChange: c.onHealth})
	wire.proxy, wire.health = c.proxy, c.health

	if err := c.load(ctx); err != nil {
		return nil, err
	}
	if kv, err := opts.Store.Get(ctx, healthKey); err == nil {
		var recs []health.Record
		if json.Unmarshal(kv.Value, &recs) == nil {
			c.health.Restore(recs)
		}
	}
	if err := c.Reload(); err != nil {
		c.log.Error("initial load balancer configuration failed", "err", err)
		opts.Events.Error("load-balancer", "-", "%v", err)
	}
	c.wg.Add(1)
	go c.loop()
	return c, nil
}

// wiring connects the proxy's passive observations to the health manager
// and the health manager's decisions to the proxy.
type wiring struct {
	proxy  *proxy.Proxy
	health *health.Manager
}

func (w *wiring) Observe(group, id string, o proxy.Outcome) {
	w.health.Observe(group, id, health.Outcome{ConnectFailed: o.ConnectFailed, Reset: o.Reset, Timeout: o.Timeout, Status: o.Status, Latency: o.Latency})
}

func (w *wiring) SetHealthy(group, id string, healthy bool, since time.Time) {
	w.proxy.SetHealthy(group, id, healthy, since)
}

func (c *Controller) load(ctx context.Context) error {
	kvs, _, err := c.opts.Store.List(ctx, TargetGroupPrefix)
	if err != nil {
		return fmt.Errorf("list target groups: %w", err)
	}
	for _, kv := range kvs {
		var tg TargetGroup
		if err := json.Unmarshal(kv.Value, &tg); err != nil {
			return fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		c.tgs[tg.Spec.Name] = &tg
	}
	kvs, _, err = c.opts.Store.List(ctx, LoadBalancerPrefix)
	if err != nil {
		return fmt.Errorf("list load balancers: %w", err)
	}
	for _, kv := range kvs {
		var lb LoadBalancer
		if err := json.Unmarshal(kv.Value, &lb); err != nil {
			return fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		c.lbs[lb.Spec.Name] = &lb
	}
	return nil
}

func (c *Controller) onHealth(group string, th health.TargetHealth) {
	c.mu.Lock()
	c.healthDirty = true
	c.mu.Unlock()
	switch th.State {
	case health.State("unhealthy"):
		c.opts.Events.Warn("target-group", group, "target %s unhealthy (%s): %s", th.ID, th.Reason, th.Description)
	case health.State("healthy"):
		c.opts.Events.Info("target-group", group, "target %s healthy", th.ID)
	default:
		c.opts.Events.Info("target-group", group, "target %s %s", th.ID, th.State)
	}
	c.Kick()
}

// Kick asks the controller to reconcile soon (instances changed, a drain
// ended, health changed). It never blocks.
func (c *Controller) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// OnInstanceChange is compute's hook: targets follow their instances. An
// instance that finished stopping (or is starting again) is registered
// again, as AWS keeps stopped instances registered (state unused).
func (c *Controller) OnInstanceChange(in compute.Instance) {
	switch in.State {
	case compute.StateStopped, compute.StateTerminated, compute.StatePending, compute.StateRunning:
		c.mu.Lock()
		delete(c.leaving, in.ID)
		c.mu.Unlock()
	}
	c.Kick()
}

// BeforeStop is compute's hook, called before an instance's process is
// stopped (stop, reboot, terminate, scale-in): the instance stops getting
// new requests at once, and the call returns when its in-flight requests
// have finished or the longest deregistration delay of its target groups
// has passed. So stopping an instance behind a load balancer fails no
// request (AWS sends traffic to a stopping instance until health checks
// notice).
func (c *Controller) BeforeStop(ctx context.Context, id string) {
	c.mu.Lock()
	var wait time.Duration
	registered := false
	for name, reg := range c.registered {
		for _, t := range reg {
			if t.ID != id {
				continue
			}
			registered = true
			if tg, ok := c.tgs[name]; ok {
				a, _ := elb.ParseTargetGroupAttributes(tg.Spec.Attributes)
				wait = max(wait, a.DeregistrationDelay)
			}
		}
	}
	if !registered {
		c.mu.Unlock()
		return
	}
	c.leaving[id] = true
	c.mu.Unlock()
	if err := c.Reload(); err != nil {
		c.log.Warn("take instance out of rotation", "instance", id, "err", err)
		return
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for c.proxy.InFlight(id) > 0 {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			c.opts.Events.Warn("target-group", "-", "instance %s still had requests in flight after the deregistration delay (%s); stopping it anyway", id, wait)
			return
		case <-tick.C:
		}
	}
}

func (c *Controller) loop() {
	defer c.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			c.saveHealth()
			return
		case <-c.kick:
			if err := c.Reload(); err != nil {
				c.log.Warn("reload", "err", err)
			}
		case <-t.C:
			c.mu.Lock()
			expired := false
			now := c.opts.Now()
			for _, m := range c.draining {
				for _, d := range m {
					if !now.Before(d.until) {
						expired = true
					}
				}
			}
			c.mu.Unlock()
			if expired {
				_ = c.Reload()
			}
			c.saveHealth()
		}
	}
}

func (c *Controller) saveHealth() {
	c.mu.Lock()
	dirty := c.healthDirty
	c.healthDirty = false
	c.mu.Unlock()
	if !dirty {
		return
	}
	b, err := json.Marshal(c.health.Snapshot())
	if err != nil {
		return
	}
	if _, err := c.opts.Store.Put(context.Background(), healthKey, b); err != nil {
		c.log.Warn("save target health", "err", err)
	}
}

// Close stops the data plane gracefully and the health checks, and saves
// target health.
func (c *Controller) Close(ctx context.Context) error {
	close(c.done)
	c.wg.Wait()
	err := c.proxy.Shutdown(ctx)
	c.health.Close()
	c.mu.Lock()
	c.healthDirty = true
	for _, w := range c.accessLogs {
		_ = w.Close()
	}
	c.mu.Unlock()
	c.saveHealth()
	return err
}

// targetKey identifies a registration: the same target id on another
// address or port is another registration.
func targetKey(t proxy.Target) string { return t.ID + "@" + t.Addr }

// resolveTargets turns a target group's registrations into addresses, and
// reports instances that are registered but not running.
func (c *Controller) resolveTargets(tg *TargetGroup) (ts []proxy.Target, unavailable map[string]string) {
	unavailable = map[string]string{}
	add := func(in compute.Instance, port, weight int) {
		// An instance target defaults to the port its app really listens
		// on (its image's port, or the port madang gave it when the
		// image's port was taken), not the group's port.
		if port == 0 {
			port = in.Port
		}
		t := proxy.Target{ID: in.ID, Addr: net.JoinHostPort(in.PrivateIP, strconv.Itoa(port)), Weight: weight}
		ts = append(ts, t)
		if in.State != compute.StateRunning {
			unavailable[in.ID] = fmt.Sprintf("instance %s is %s", in.ID, in.State)
		}
	}
	for _, spec := range tg.Spec.Targets {
		w := elb.DefaultWeight
		if spec.Weight != nil {
			w = *spec.Weight
		}
		switch {
		case spec.Instances != "":
			for _, in := range c.opts.Instances.Members(spec.Instances) {
				if in.Desired == compute.StateTerminated || c.leaving[in.ID] {
					continue
				}
				add(in, spec.Port, w)
			}
		case spec.ID != "":
			in, err := c.opts.Instances.Instance(spec.ID)
			if err != nil || in.Desired == compute.StateTerminated || c.leaving[in.ID] {
				continue // a terminated instance is deregistered
			}
			add(in, spec.Port, w)
		case spec.IP != "":
			port := spec.Port
			if port == 0 {
				port = tg.Spec.Port
			}
			// An ip target is identified by address and port, so one
			// IP can be registered on several ports.
			addr := net.JoinHostPort(spec.IP, strconv.Itoa(port))
			ts = append(ts, proxy.Target{ID: addr, Addr: addr, Weight: w})
		}
	}
	sort.Slice(ts, func(i, j int) bool { return targetKey(ts[i]) < targetKey(ts[j]) })
	return ts, unavailable
}

// Reload rebuilds the data plane and health configuration from the stored
// resources and the current instances. It is transactional: if the proxy
// cannot apply the new configuration (a port in use), the old one keeps
// serving and the error is returned.
func (c *Controller) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	inUse := map[string]bool{}
	for _, lb := range c.lbs {
		for _, l := range lb.Spec.Listeners {
			for _, a := range l.DefaultActions {
				markGroups(a, inUse)
			}
			for _, r := range l.Rules {
				for _, a := range r.Actions {
					markGroups(a, inUse)
				}
			}
		}
	}
	var cfg proxy.Config
	var groups []health.Group
	newRegistered := map[string]map[string]proxy.Target{}
	for _, name := range sortedKeys(c.tgs) {
		tg := c.tgs[name]
		attrs, _ := elb.ParseTargetGroupAttributes(tg.Spec.Attributes)
		targets, unavailable := c.resolveTargets(tg)
		reg := map[string]proxy.Target{}
		for _, t := range targets {
			reg[targetKey(t)] = t
		}
		newRegistered[name] = reg
		// Targets that left the registration drain for the
		// deregistration delay; a target that comes back stops draining.
		dr := c.draining[name]
		if dr == nil {
			dr = map[string]drain{}
		}
		for k, t := range c.registered[name] {
			if _, still := reg[k]; !still {
				if _, already := dr[k]; !already && attrs.DeregistrationDelay > 0 {
					dr[k] = drain{target: t, until: now.Add(attrs.DeregistrationDelay)}
					c.opts.Events.Info("target-group", name, "target %s draining for %s", t.ID, attrs.DeregistrationDelay)
				}
			}
		}
		for k, d := range dr {
			if _, back := reg[k]; back || !now.Before(d.until) {
				delete(dr, k)
				if !now.Before(d.until) {
					c.opts.Events.Info("target-group", name, "target %s deregistered", d.target.ID)
				}
			}
		}
		c.draining[name] = dr
		pg := proxy.TargetGroup{
			Name:                name,
			Algorithm:           attrs.Algorithm,
			HashKey:             attrs.HashKey,
			SlowStart:           attrs.SlowStart,
			DeregistrationDelay: attrs.DeregistrationDelay,
			Stickiness: proxy.Stickiness{
				Enabled: attrs.Stickiness.Enabled, Type: attrs.Stickiness.Type,
				Duration: attrs.Stickiness.Duration, CookieName: attrs.Stickiness.CookieName,
			},
		}
		hg := health.Group{Name: name, InUse: inUse[name], Settings: healthSettings(tg.Spec.HealthCheck)}
		for _, t := range targets {
			pg.Targets = append(pg.Targets, t)
			hg.Targets = append(hg.Targets, health.Target{ID: t.ID, Addr: t.Addr, Unavailable: unavailable[t.ID]})
		}
		for _, k := range sortedKeys(dr) {
			t := dr[k].target
			t.Draining = true
			pg.Targets = append(pg.Targets, t)
			hg.Targets = append(hg.Targets, health.Target{ID: t.ID, Addr: t.Addr, Draining: true})
		}
		cfg.TargetGroups = append(cfg.TargetGroups, pg)
		groups = append(groups, hg)
	}
	for k := range c.draining {
		if _, ok := c.tgs[k]; !ok {
			delete(c.draining, k)
		}
	}
	for _, name := range sortedKeys(c.lbs) {
		lb := c.lbs[name]
		la, _ := elb.ParseLoadBalancerAttributes(lb.Spec.Attributes)
		addr := lb.Spec.Address
		if addr == "" {
			addr = "127.0.0.1"
		}
		plb := proxy.LoadBalancer{
			Name: name, Address: addr,
			IdleTimeout: la.IdleTimeout, ClientKeepAlive: la.ClientKeepAlive, HTTP2: la.HTTP2,
			XFFMode: la.XFFHeaderProcessingMode, XFFClientPort: la.XFFClientPort, DesyncMode: la.DesyncMitigationMode,
			DropInvalidHeaders: la.DropInvalidHeaderFields,
			HeaderTimeout:      la.ClientHeaderTimeout, MaxHeaderConnsPerIP: la.ClientHeaderMaxPerSourceIP,
		}
		if la.AccessLogs {
			plb.AccessLog = c.accessLogLocked(name)
		}
		for _, l := range lb.Spec.Listeners {
			pl, err := compileListener(l)
			if err != nil {
				c.lastErr = err
				return fmt.Errorf("load balancer %s: %w", name, err)
			}
			plb.Listeners = append(plb.Listeners, pl)
		}
		cfg.LoadBalancers = append(cfg.LoadBalancers, plb)
	}
	if err := c.proxy.Update(cfg); err != nil {
		c.lastErr = err
		return fmt.Errorf("apply load balancer configuration: %w", err)
	}
	c.lastErr = nil
	c.registered = newRegistered
	c.health.Update(groups)
	return nil
}

func (c *Controller) accessLogLocked(lb string) io.Writer {
	if w, ok := c.accessLogs[lb]; ok {
		return w
	}
	dir := filepath.Join(c.opts.Home, "logs", "elb", lb)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.log.Warn("access log", "lb", lb, "err", err)
		return nil
	}
	w, err := logfile.OpenRaw(filepath.Join(dir, "access.log"), logfile.Options{})
	if err != nil {
		c.log.Warn("access log", "lb", lb, "err", err)
		return nil
	}
	c.accessLogs[lb] = w
	return w
}

// AccessLogPath returns where a load balancer's access log is written.
func (c *Controller) AccessLogPath(lb string) string {
	return filepath.Join(c.opts.Home, "logs", "elb", lb, "access.log")
}

func markGroups(a elb.ActionSpec, inUse map[string]bool) {
	if a.TargetGroup != "" {
		inUse[a.TargetGroup] = true
	}
	if a.Forward != nil {
		for _, g := range a.Forward.TargetGroups {
			inUse[g.Name] = true
		}
	}
}

func healthSettings(h elb.HealthCheckSpec) health.Settings {
	spec := elb.TargetGroupSpec{HealthCheck: h}
	spec.ApplyDefaults()
	h = spec.HealthCheck
	m, _ := health.ParseMatcher(h.Matcher)
	port := 0
	if h.Port != "" && h.Port != "traffic-port" {
		port, _ = strconv.Atoi(h.Port)
	}
	return health.Settings{
		Enabled:            h.Enabled == nil || *h.Enabled,
		Protocol:           h.Protocol,
		Path:               h.Path,
		Port:               port,
		Interval:           time.Duration(h.IntervalSeconds) * time.Second,
		Timeout:            time.Duration(h.TimeoutSeconds) * time.Second,
		HealthyThreshold:   h.HealthyThresholdCount,
		UnhealthyThreshold: h.UnhealthyThresholdCount,
		Matcher:            m,
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------
// changes and views

// Change is a batch of load balancer records to commit together.
type Change struct {
	TargetGroups  []*TargetGroup
	LoadBalancers []*LoadBalancer
	DeleteTGs     []string
	DeleteLBs     []string
}

// Ops returns the store operations of the change.
func (ch *Change) Ops() ([]state.Op, error) {
	var ops []state.Op
	for _, tg := range ch.TargetGroups {
		b, err := json.Marshal(tg)
		if err != nil {
			return nil, err
		}
		ops = append(ops, state.Put(TargetGroupPrefix+tg.Spec.Name, b))
	}
	for _, lb := range ch.LoadBalancers {
		b, err := json.Marshal(lb)
		if err != nil {
			return nil, err
		}
		ops = append(ops, state.Put(LoadBalancerPrefix+lb.Spec.Name, b))
	}
	for _, n := range ch.DeleteTGs {
		ops = append(ops, state.Delete(TargetGroupPrefix+n))
	}
	for _, n := range ch.DeleteLBs {
		ops = append(ops, state.Delete(LoadBalancerPrefix+n))
	}
	return ops, nil
}

// PrepareTargetGroup returns the record to store for spec.
func (c *Controller) PrepareTargetGroup(spec elb.TargetGroupSpec, owner string) *TargetGroup {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.tgs[spec.Name]; ok {
		cp := *old
		cp.Spec, cp.Owner = spec, owner
		return &cp
	}
	return &TargetGroup{Spec: spec, Owner: owner, CreatedAt: c.opts.Now(),
		ARN: "arn:madang:elasticloadbalancing:local:000000000000:targetgroup/" + spec.Name + "/" + randHex(8)}
}

// PrepareLoadBalancer returns the record to store for spec.
func (c *Controller) PrepareLoadBalancer(spec elb.LoadBalancerSpec, owner string) *LoadBalancer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.lbs[spec.Name]; ok {
		cp := *old
		cp.Spec, cp.Owner = spec, owner
		return &cp
	}
	id := randHex(8)
	return &LoadBalancer{Spec: spec, Owner: owner, CreatedAt: c.opts.Now(),
		ARN:     "arn:madang:elasticloadbalancing:local:000000000000:loadbalancer/app/" + spec.Name + "/" + id,
		DNSName: spec.Name + "-" + id + ".elb.madang.local"}
}

// Committed installs a change the caller committed to the store and
// reloads the data plane. The returned error is the data plane's (e.g. a
// listener port already in use).
func (c *Controller) Committed(ch *Change) error {
	c.mu.Lock()
	for _, tg := range ch.TargetGroups {
		c.tgs[tg.Spec.Name] = tg
	}
	for _, lb := range ch.LoadBalancers {
		c.lbs[lb.Spec.Name] = lb
	}
	for _, n := range ch.DeleteTGs {
		delete(c.tgs, n)
	}
	for _, n := range ch.DeleteLBs {
		delete(c.lbs, n)
		if w, ok := c.accessLogs[n]; ok {
			_ = w.Close()
			delete(c.accessLogs, n)
		}
	}
	c.mu.Unlock()
	return c.Reload()
}

// TargetGroups returns the stored target groups sorted by name.
func (c *Controller) TargetGroups() []TargetGroup {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]TargetGroup, 0, len(c.tgs))
	for _, k := range sortedKeys(c.tgs) {
		out = append(out, *c.tgs[k])
	}
	return out
}

// LoadBalancers returns the stored load balancers sorted by name.
func (c *Controller) LoadBalancers() []LoadBalancer {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]LoadBalancer, 0, len(c.lbs))
	for _, k := range sortedKeys(c.lbs) {
		out = append(out, *c.lbs[k])
	}
	return out
}

// Health returns the health of a target group's targets.
func (c *Controller) Health(group string) ([]health.TargetHealth, error) {
	c.mu.Lock()
	_, ok := c.tgs[group]
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: no target group %q; see madang tg ls", ErrNotFound, group)
	}
	return c.health.Health(group), nil
}

// Metrics returns the data plane's current counters and gauges.
func (c *Controller) Metrics() []proxy.Metric {
	var out []proxy.Metric
	c.proxy.Collect(func(m proxy.Metric) { out = append(out, m) })
	return out
}

// LastError is the last data plane configuration error, if any.
func (c *Controller) LastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
