// Package controller is the control plane of madang's Application Load
// Balancer: it turns stored target groups and load balancers, and the
// instances registered with them, into the running data plane (package
// proxy) and health checks (package health), draining deregistered
// targets until they have no request in flight, for at most their
// deregistration delay. Targets come from the stack's target group specs
// and from registrations made at run time (Register).
package controller

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/dataplane"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/informer"
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
	Owner     string               `json:"owner,omitempty"`
	CreatedAt time.Time            `json:"createdAt"`
}

// ErrNotFound matches the errors returned for unknown target groups and
// load balancers (and every other fault error of code NotFound).
var ErrNotFound = fault.Sentinel(fault.NotFound, "", "elb: not found")

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
	// DataPlane returns the data plane to drive; nil runs it inside the
	// controller's process.
	DataPlane NewDataPlane
	// StopDataPlane makes Close stop the data plane (draining in-flight
	// requests) rather than leave a data-plane process serving.
	StopDataPlane bool
	// HealthRefresh is how often, at most, Health's cache reads the
	// fields that change without a health transition (last check time
	// and latency, consecutive counts) from the data plane, in one pass
	// over all groups and only when it was read since; 0 means every
	// second, a negative value never (see healthCache).
	HealthRefresh time.Duration
	// Zones are the region's availability zones: a load balancer without
	// subnets is in each of them (its VPC's default subnets), and its
	// target groups report host counts for each; an instance placed in
	// no zone is in the first, as the EC2 API reports it. Instance
	// targets are counted in their instance's zone; IP targets in none.
	Zones []string
}

// Controller reconciles stored target groups and load balancers into the
// running data plane (package proxy) and the health checker (package
// health). Deregistered targets drain until no request is in flight to
// them, for at most their group's deregistration delay, before they leave.
type Controller struct {
	opts Options
	log  *slog.Logger
	dp   DataPlane

	inf    *informer.Informer
	kick   chan struct{}
	done   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// hc answers Health (see healthCache); healthMu serialises its
	// rebuilds and is taken after mu, never before.
	hc       healthCache
	healthMu sync.Mutex

	// mu guards the fields that follow.
	mu          sync.Mutex
	tgs         map[string]*TargetGroup
	lbs         map[string]*LoadBalancer
	registered  map[string]map[string]proxy.Target // group -> target key -> target, as of the last reload
	draining    map[string]map[string]drain        // group -> target key -> drain
	leaving     map[string]bool                    // instances taken out of rotation before they stop
	regs        map[string]map[string]Registration // group -> instance id -> dynamic registration
	lastErr     error
	healthDirty bool
	// appliedHealth is the health configuration the cache was last
	// rebuilt after.
	appliedHealth []health.Group
	// seenRev is the newest store revision the informer has applied.
	seenRev int64
	// reloaded is the newest store revision a reload has served.
	reloaded informer.Mark
}

type drain struct {
	target proxy.Target
	until  time.Time
	// idle is set once the data plane reported no request in flight to
	// the target: the next reload completes its deregistration early.
	idle bool
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
		leaving:    map[string]bool{},
		regs:       map[string]map[string]Registration{},
	}
	c.inf = informer.New(opts.Store, "/elb/", follower{c}, c.log)
	if err := c.inf.Sync(ctx); err != nil {
		return nil, fmt.Errorf("load target groups and load balancers: %w", err)
	}
	newDP := opts.DataPlane
	if newDP == nil {
		newDP = inProcess(opts)
	}
	dp, err := newDP(ctx, c.onHealth)
	if err != nil {
		return nil, fmt.Errorf("start load balancer data plane: %w", err)
	}
	c.dp = dp
	if kv, err := opts.Store.Get(ctx, healthKey); err == nil {
		var recs []health.Record
		if json.Unmarshal(kv.Value, &recs) == nil {
			if err := c.dp.Restore(ctx, recs); err != nil {
				c.log.Warn("restore target health", "err", err)
			}
		}
	}
	if err := c.Reload(); err != nil {
		c.log.Error("initial load balancer configuration failed", "err", err)
		opts.Events.Error("load-balancer", "-", "%v", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.inf.Run(rctx) }()
	go c.loop()
	return c, nil
}

func (c *Controller) onHealth(group string, th health.TargetHealth) {
	c.hc.apply(group, th)
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
	for {
		n, err := c.dp.InFlight(ctx, id)
		if err != nil {
			c.log.Warn("requests in flight to a stopping instance", "instance", id, "err", err)
			return
		}
		if n == 0 {
			return
		}
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
	var refreshC <-chan time.Time
	if c.opts.HealthRefresh >= 0 {
		r := time.NewTicker(cmp.Or(c.opts.HealthRefresh, time.Second))
		defer r.Stop()
		refreshC = r.C
	}
	// While some target drains, a faster ticker ends the drains of
	// targets with no request in flight; it stops when none drains.
	var fast *time.Ticker
	var fastC <-chan time.Time
	defer func() {
		if fast != nil {
			fast.Stop()
		}
	}()
	pace := func() {
		switch draining := c.anyDraining(); {
		case draining && fast == nil:
			fast = time.NewTicker(drainPoll)
			fastC = fast.C
		case !draining && fast != nil:
			fast.Stop()
			fast, fastC = nil, nil
		}
	}
	reload := func() {
		if err := c.Reload(); err != nil {
			c.log.Warn("reload", "err", err)
			c.opts.Events.Error("load-balancer", "-", "%v", err)
		}
	}
	for {
		select {
		case <-c.done:
			c.saveHealth()
			return
		case <-c.kick:
			c.mu.Lock()
			rev := c.seenRev
			c.mu.Unlock()
			reload()
			c.reloaded.Advance(rev)
		case <-fastC:
			if c.checkIdleDrains(context.Background()) {
				reload()
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
		case <-refreshC:
			c.refreshHealth()
		}
		pace()
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
	recs, err := c.dp.Snapshot(context.Background())
	if err != nil {
		c.log.Warn("read target health", "err", err)
		c.mu.Lock()
		c.healthDirty = true
		c.mu.Unlock()
		return
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return
	}
	if _, err := c.opts.Store.Put(context.Background(), healthKey, b); err != nil {
		c.log.Warn("save target health", "err", err)
	}
}

// Close saves target health and releases the data plane: an in-process
// one, or one that serves no load balancer, or any with
// Options.StopDataPlane, stops gracefully (in-flight requests finish until
// ctx ends); a data-plane process otherwise keeps serving for the next
// daemon.
func (c *Controller) Close(ctx context.Context) error {
	c.cancel()
	close(c.done)
	c.wg.Wait()
	c.mu.Lock()
	c.healthDirty = true
	empty := len(c.lbs) == 0
	c.mu.Unlock()
	c.saveHealth()
	if c.opts.StopDataPlane || empty {
		return c.dp.Shutdown(ctx)
	}
	return c.dp.Close(ctx)
}

// targetKey identifies a registration: the same target id on another
// address or port is another registration.
func targetKey(t proxy.Target) string { return t.ID + "@" + t.Addr }

// resolveTargets turns a target group's registrations (its spec'd targets
// and the dynamic ones, see Register) into addresses, and reports
// instances that are registered but not running.
func (c *Controller) resolveTargets(tg *TargetGroup) (ts []proxy.Target, unavailable map[string]string) {
	unavailable = map[string]string{}
	add := func(in compute.Instance, port, weight int) {
		// An instance target defaults to the port its app really listens
		// on (its image's port, or the port madang gave it when the
		// image's port was taken), not the group's port.
		if port == 0 {
			port = in.Port
		}
		t := proxy.Target{ID: in.ID, Addr: net.JoinHostPort(in.PrivateIP, strconv.Itoa(port)), Weight: weight, Zone: c.zoneOf(in)}
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
	ts = c.addRegistered(tg.Spec.Name, ts, unavailable)
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
	accessLogs := map[string]string{}
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
			_, back := reg[k]
			switch {
			case back:
				delete(dr, k)
			case !now.Before(d.until):
				delete(dr, k)
				c.opts.Events.Info("target-group", name, "target %s deregistered", d.target.ID)
			case d.idle:
				// AWS completes a deregistration at once when the
				// target has no request in flight.
				delete(dr, k)
				c.opts.Events.Info("target-group", name, "target %s deregistered: finished draining (no requests in flight)", d.target.ID)
			}
		}
		c.draining[name] = dr
		pg := proxy.TargetGroup{
			Name:                name,
			Algorithm:           attrs.Algorithm,
			HashKey:             attrs.HashKey,
			SlowStart:           attrs.SlowStart,
			DeregistrationDelay: attrs.DeregistrationDelay,
			// Every load balancer is an Application Load Balancer,
			// whose own cross-zone setting is always on.
			CrossZoneOff:          !attrs.CrossZoneEnabled(elb.ALBCrossZone),
			DNSFailoverMinCount:   attrs.DNSFailover.Count,
			DNSFailoverMinPercent: attrs.DNSFailover.Percent,
			FailOpenMinCount:      attrs.UnhealthyStateRouting.Count,
			FailOpenMinPercent:    attrs.UnhealthyStateRouting.Percent,
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
		addr := addrOrDefault(lb.Spec.Address)
		plb := proxy.LoadBalancer{
			Name: name, Address: addr, Zones: c.zonesOf(lb.Spec),
			IdleTimeout: la.IdleTimeout, ClientKeepAlive: la.ClientKeepAlive, HTTP2: la.HTTP2,
			XFFMode: la.XFFHeaderProcessingMode, XFFClientPort: la.XFFClientPort, DesyncMode: la.DesyncMitigationMode,
			DropInvalidHeaders: la.DropInvalidHeaderFields,
			HeaderTimeout:      la.ClientHeaderTimeout, MaxHeaderConnsPerIP: la.ClientHeaderMaxPerSourceIP,
		}
		if la.AccessLogs {
			accessLogs[name] = c.AccessLogPath(name)
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
	if err := c.dp.Apply(context.Background(), dataplane.Config{Proxy: cfg, Health: groups, AccessLogs: accessLogs}); err != nil {
		c.lastErr = err
		return fmt.Errorf("apply load balancer configuration: %w", err)
	}
	c.lastErr = nil
	c.registered = newRegistered
	c.healthAppliedLocked(sortedKeys(c.tgs), groups)
	return nil
}

// zonesOf returns the availability zones a load balancer is enabled in:
// its subnets' zones, or every zone of the region without subnets.
func (c *Controller) zonesOf(spec elb.LoadBalancerSpec) []string {
	if len(spec.Subnets) == 0 {
		return c.opts.Zones
	}
	zones := make([]string, 0, len(spec.Subnets))
	for _, s := range spec.Subnets {
		if s.AvailabilityZone != "" {
			zones = append(zones, s.AvailabilityZone)
		}
	}
	return zones
}

// zoneOf returns an instance's availability zone: the one it was placed
// in or, placed in none, the region's first, as the EC2 API reports it.
func (c *Controller) zoneOf(in compute.Instance) string {
	if in.Zone == "" && len(c.opts.Zones) > 0 {
		return c.opts.Zones[0]
	}
	return in.Zone
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

// randHex returns n random hexadecimal digits.
func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
