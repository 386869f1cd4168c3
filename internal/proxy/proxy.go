// Package proxy is the data plane of madang's Application Load Balancer: an
// HTTP/1.1 reverse proxy (plus h2c with prior knowledge) that routes by
// listener rules, balances across target groups with health, stickiness,
// retries and draining, and speaks AWS's headers, error codes, access log
// and metrics.
//
// The control plane builds a Config and calls Update; health checkers call
// SetHealthy; monitoring calls Collect. Update is transactional and never
// drops in-flight requests or WebSockets.
package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/madang-dev/madang/internal/accesslog"
	"github.com/madang-dev/madang/internal/lbmetrics"
)

// Observer receives the outcome of every attempt to a target (passive
// health).
//
// Contract: Observe is called on the request path, concurrently, once per
// attempt; it must be cheap and must not block.
type Observer interface {
	Observe(group, targetID string, o Outcome)
}

// Outcome is the result of one attempt to a target.
type Outcome struct {
	// ConnectFailed: the target refused the connection or did not accept
	// it within the connect timeout.
	ConnectFailed bool
	// Reset: the target closed or reset the connection before a complete
	// response.
	Reset bool
	// Timeout: the target sent nothing within the idle timeout.
	Timeout bool
	// Status is the response status, 0 when there was none.
	Status int
	// Latency is the time from sending the request to the response head.
	Latency time.Duration
}

// Options configure a Proxy.
type Options struct {
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// Observer, if set, sees every attempt's outcome.
	Observer Observer
	// Now is the clock for access logs, cookies and trace ids; nil means
	// time.Now. Socket deadlines always use the real clock.
	Now func() time.Time
	// UpstreamIdleTimeout closes keep-alive connections to targets idle
	// this long; 0 means DefaultUpstreamIdleTimeout (4 s, below Node's 5 s
	// keepAliveTimeout).
	UpstreamIdleTimeout time.Duration
	// EventLoops is how many event loops serve HTTP/1.1 connections on
	// Linux: 0 means one per GOMAXPROCS, a negative number serves every
	// connection with its own goroutine on the runtime's poller instead
	// (the only engine on other systems).
	EventLoops int
	// Listen, if set, returns the listening socket for a bind address
	// ("ip:port") instead of net.Listen: a process that took over
	// listening sockets from another one hands them to the proxy here.
	// It should return a *net.TCPListener, which the event loops need.
	Listen func(addr string) (net.Listener, error)
	// DrainLinger, when positive, is how long a connection of a closing
	// listener (Update without it, Shutdown) waits for the client's next
	// request before closing, and answers it with Connection: close;
	// idle connections are closed once it has passed. A client that
	// does not retry a request on a kept-alive connection the server
	// closed (wrk, some load balancers) then never sees one fail when
	// another process takes the listening socket over. 0 closes idle
	// connections at once.
	DrainLinger time.Duration
}

// ErrClosed is returned by Update after Shutdown.
var ErrClosed = errors.New("proxy: closed")

// Proxy is the load balancers' data plane. Its methods are safe for
// concurrent use.
type Proxy struct {
	log         *slog.Logger
	obs         Observer
	now         func() time.Time
	realClock   bool // now is time.Now, so socket clock readings can be reused
	upIdle      time.Duration
	listen      func(addr string) (net.Listener, error)
	drainLinger time.Duration
	key         [32]byte
	epoch       string // identifies the proxy's counters in metric snapshots
	snap        atomic.Pointer[snapshot]
	h2          *h2Gateway
	activeConns atomic.Int64 // client and target connections
	loops       []*loop      // event loops; none: goroutine per connection
	engine      engine       // serves the listeners: loopEngine over loops, or goroutineEngine
	offLoop     atomic.Int64 // client connections moved off the loops (h2c)

	wg       sync.WaitGroup // connection and background goroutines
	stop     chan struct{}  // closed by Shutdown to stop background loops
	stopOnce sync.Once

	// updateMu serializes Update and Shutdown.
	updateMu sync.Mutex

	// mu guards the fields that follow.
	mu        sync.Mutex
	closed    bool
	listeners map[string]*listener // by bind address
	// retired are listeners Update closed whose connections may still
	// run; Shutdown waits for them too.
	retired     []*listener
	targets     map[targetKey]*liveTarget
	health      map[healthKey]healthState
	groupShared map[string]*groupShared
	lbStats     map[string]*lbmetrics.LBStats
	// headerGuards are the load balancers' header-phase connection
	// counts, by name.
	headerGuards map[string]*headerGuard
	tgStats      map[[2]string]*lbmetrics.GroupStats
	// zoneStats are the target groups' counters per zone of their
	// targets, behind each load balancer.
	zoneStats  map[zoneKey]*lbmetrics.GroupStats
	accessLogs map[string]*accesslog.Writer // by load balancer name
	// metricsIdx lists the counters of the configuration it was built
	// for; MetricsSnapshot rebuilds it after a change.
	metricsIdx *metricsIndex
}

// New returns a Proxy with no load balancers; call Update to configure it.
func New(opts Options) *Proxy {
	p := &Proxy{
		log:          opts.Logger,
		obs:          opts.Observer,
		now:          opts.Now,
		upIdle:       opts.UpstreamIdleTimeout,
		listen:       opts.Listen,
		drainLinger:  opts.DrainLinger,
		stop:         make(chan struct{}),
		listeners:    map[string]*listener{},
		targets:      map[targetKey]*liveTarget{},
		health:       map[healthKey]healthState{},
		groupShared:  map[string]*groupShared{},
		lbStats:      map[string]*lbmetrics.LBStats{},
		headerGuards: map[string]*headerGuard{},
		tgStats:      map[[2]string]*lbmetrics.GroupStats{},
		zoneStats:    map[zoneKey]*lbmetrics.GroupStats{},
		accessLogs:   map[string]*accesslog.Writer{},
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.log = p.log.With("component", "proxy")
	if p.now == nil {
		p.now = time.Now
		p.realClock = true
	}
	if p.listen == nil {
		p.listen = func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
	}
	if p.upIdle <= 0 {
		p.upIdle = DefaultUpstreamIdleTimeout
	}
	if _, err := rand.Read(p.key[:]); err != nil {
		panic(fmt.Sprintf("proxy: read random key: %v", err))
	}
	var epoch [8]byte
	if _, err := rand.Read(epoch[:]); err != nil {
		panic(fmt.Sprintf("proxy: read random epoch: %v", err))
	}
	p.epoch = hex.EncodeToString(epoch[:])
	p.snap.Store(&snapshot{})
	p.h2 = newH2Gateway(p)
	if n := opts.EventLoops; loopsSupported && n >= 0 {
		if n == 0 {
			n = runtime.GOMAXPROCS(0)
		}
		p.loops = newLoops(p, n)
	}
	p.engine = goroutineEngine{}
	if len(p.loops) > 0 {
		p.engine = loopEngine{loops: p.loops}
	}
	p.wg.Add(1)
	go p.reapLoop()
	return p
}

// poolSlot is the slot of a target's pool that connections served by lp
// use: one per event loop, 0 for goroutines.
func poolSlot(lp *loop) int {
	if lp == nil {
		return 0
	}
	return lp.id + 1
}

// Update applies cfg. It binds new listeners first (on failure it returns
// an error naming the address and keeps the old configuration serving),
// then swaps the configuration atomically, then gracefully closes the
// listeners no longer configured. Listeners whose address and port are
// unchanged keep their socket and connections. Target state (outstanding
// requests, latency, health, pooled connections) is kept across Updates.
func (p *Proxy) Update(cfg Config) error {
	cfg, err := cfg.normalize()
	if err != nil {
		return fmt.Errorf("proxy config: %w", err)
	}
	p.updateMu.Lock()
	defer p.updateMu.Unlock()

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	s, live, err := p.buildLocked(cfg)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("proxy config: %w", err)
	}
	p.mu.Unlock()

	// Bind new listeners before touching anything else.
	var fresh []*listener
	for bind := range s.listeners {
		p.mu.Lock()
		_, ok := p.listeners[bind]
		p.mu.Unlock()
		if ok {
			continue
		}
		nl, err := p.listen(bind)
		if err != nil {
			for _, l := range fresh {
				l.ln.Close()
			}
			return fmt.Errorf("proxy: bind listener %s: %w", bind, err)
		}
		fresh = append(fresh, newListener(p, bind, nl))
	}

	p.mu.Lock()
	// Access logs: reuse the writer's logger when the writer is unchanged.
	var oldLogs []*accesslog.Writer
	logs := map[string]*accesslog.Writer{}
	for _, lb := range cfg.LoadBalancers {
		al := p.accessLogs[lb.Name]
		if lb.AccessLog == nil {
			continue
		}
		if al == nil || al.Dest() != lb.AccessLog {
			al = accesslog.New(lb.AccessLog, p.log)
		}
		logs[lb.Name] = al
		s.lbs[lb.Name].alog = al
	}
	for name, al := range p.accessLogs {
		if logs[name] != al {
			oldLogs = append(oldLogs, al)
		}
	}
	p.accessLogs = logs
	for _, lb := range s.lbs {
		p.lbStats[lb.name] = lb.stats
		p.headerGuards[lb.name] = lb.guard
	}
	for _, g := range s.groups {
		p.groupShared[g.name] = g.shared
		for _, m := range g.members {
			m.lt.bt, m.lt.btWeight = m.bt, m.weight
		}
		g.recompute()
	}
	var gone []*liveTarget
	for k, lt := range p.targets {
		if live[k] == nil {
			gone = append(gone, lt)
		}
	}
	p.targets = live
	for _, l := range fresh {
		p.listeners[l.addr] = l
	}
	var closing []*listener
	for bind, l := range p.listeners {
		if lc := s.listeners[bind]; lc != nil {
			l.cfg.Store(lc)
		} else {
			closing = append(closing, l)
			delete(p.listeners, bind)
		}
	}
	retired := p.retired[:0]
	for _, l := range p.retired {
		select {
		case <-l.done:
		default:
			retired = append(retired, l)
		}
	}
	p.retired = append(retired, closing...)
	p.snap.Store(s)
	for _, l := range fresh {
		l.start()
	}
	p.mu.Unlock()

	for _, lt := range gone {
		lt.pool.retire()
	}
	for _, l := range closing {
		l.closeGracefully()
	}
	// A removed listener's port is free when Update returns (a clean
	// slate or a moved listener may bind it again at once).
	for _, l := range closing {
		l.awaitUnbound(2 * time.Second)
	}
	for _, al := range oldLogs {
		al.Close()
	}
	return nil
}

// SetHealthy records a target's health from the health checker. It may be
// called before the target appears in a Config; the state is applied when
// it does. The request path sees the change without locking.
func (p *Proxy) SetHealthy(group, targetID string, healthy bool, since time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.health[healthKey{group, targetID}] = healthState{healthy: healthy, since: since}
	for k, lt := range p.targets {
		if k.group != group || k.id != targetID {
			continue
		}
		lt.healthy.Store(healthy)
		if lt.bt != nil {
			if healthy {
				lt.bt.SetHealthySince(since)
			} else {
				lt.bt.SetHealthySince(time.Time{})
			}
		}
	}
	if g := p.snap.Load().groups[group]; g != nil {
		g.recompute()
	}
}

// Shutdown stops accepting connections, lets in-flight requests and
// WebSockets finish, then closes everything. If ctx ends first, remaining
// connections are closed and ctx's error is returned.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.updateMu.Lock()
	defer p.updateMu.Unlock()
	p.mu.Lock()
	p.closed = true
	ls := make([]*listener, 0, len(p.listeners))
	for _, l := range p.listeners {
		ls = append(ls, l)
	}
	p.listeners = map[string]*listener{}
	retired := p.retired
	p.retired = nil
	logs := p.accessLogs
	p.accessLogs = map[string]*accesslog.Writer{}
	targets := p.targets
	p.mu.Unlock()

	for _, l := range ls {
		l.closeGracefully()
	}
	// Listeners an earlier Update closed are closing already; their
	// connections must end before the loops stop too.
	ls = append(ls, retired...)
	err := p.h2.shutdown(ctx)
	for _, l := range ls {
		if e := l.wait(ctx); e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		for _, l := range ls {
			l.closeAll()
		}
		for _, l := range ls {
			l.wait(context.Background())
		}
	}
	for _, lt := range targets {
		lt.pool.retire()
	}
	p.engine.close()
	p.stopOnce.Do(func() { close(p.stop) })
	for _, al := range logs {
		al.Close()
	}
	p.wg.Wait()
	return err
}

// Addrs returns the bound listener addresses, sorted; useful when a
// listener port is chosen by the system.
func (p *Proxy) Addrs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.listeners))
	for a := range p.listeners {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// reapLoop closes pooled target connections idle past the upstream idle
// timeout.
func (p *Proxy) reapLoop() {
	defer p.wg.Done()
	every := p.upIdle / 4
	if every > time.Second {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		ts := make([]*liveTarget, 0, len(p.targets))
		for _, lt := range p.targets {
			ts = append(ts, lt)
		}
		p.mu.Unlock()
		now := time.Now()
		for _, lt := range ts {
			lt.pool.reap(now)
		}
	}
}
