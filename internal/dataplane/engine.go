package dataplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/proxy"
)

// ErrClosed is returned by an Engine's methods after Shutdown.
var ErrClosed = errors.New("dataplane: closed")

// Options configure an Engine. Every field is optional.
type Options struct {
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// OnChange, when set, is called after every change of a target's
	// health, in order, from one goroutine (see health.Options.OnChange).
	// The changes are also kept for Changes.
	OnChange func(group string, th health.TargetHealth)
	// Inherited are listening sockets taken over from another process,
	// by bind address ("ip:port"); the proxy uses them instead of binding
	// again. The Engine owns them from now on.
	Inherited map[string]*net.TCPListener
	// EventLoops is proxy.Options.EventLoops.
	EventLoops int
	// Now is the clock of the proxy and of recorded changes; nil means
	// time.Now.
	Now func() time.Time
	// Checker runs active health checks; nil is health's HTTP checker.
	Checker health.Checker
	// DrainLinger is proxy.Options.DrainLinger: how long connections of
	// a stopping data plane wait for their client's next request.
	DrainLinger time.Duration
}

// Engine is a data plane: the proxy and the health checks of every load
// balancer, wired together (passive outcomes feed health, health decides
// routing), with their access log files and a log of health changes. Its
// methods are safe for concurrent use; the ctx arguments are there for
// the remote implementation (Client) and are not needed here.
type Engine struct {
	log     *slog.Logger
	now     func() time.Time
	proxy   *proxy.Proxy
	health  *health.Manager
	changes *changeLog
	socks   *sockets

	// mu guards the fields that follow.
	mu         sync.Mutex
	logs       map[string]*logfile.Raw // access log writers by path
	last       Config
	configured bool
	closed     bool
}

// NewEngine returns an Engine with no load balancers; call Apply to
// configure it and Shutdown to stop it.
func NewEngine(opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Engine{
		log:     opts.Logger.With("component", "dataplane"),
		now:     opts.Now,
		changes: newChangeLog(randomEpoch()),
		socks:   newSockets(opts.Inherited),
		logs:    map[string]*logfile.Raw{},
	}
	w := &wiring{}
	e.proxy = proxy.New(proxy.Options{Logger: opts.Logger, Observer: w, Now: opts.Now,
		EventLoops: opts.EventLoops, Listen: e.socks.listen, DrainLinger: opts.DrainLinger})
	onChange := opts.OnChange
	e.health = health.New(health.Options{Logger: opts.Logger, Sink: w, Checker: opts.Checker,
		OnChange: func(group string, th health.TargetHealth) {
			e.changes.add(group, th, e.now())
			if onChange != nil {
				onChange(group, th)
			}
		}})
	w.proxy, w.health = e.proxy, e.health
	return e
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

// Apply installs cfg transactionally: the proxy builds and binds the new
// configuration and swaps it in, keeping unchanged listeners (and their
// connections), in-flight requests and WebSockets; then health checks
// follow the new groups. If the proxy rejects cfg (a bad configuration, a
// port in use), the old configuration keeps serving and the error is
// returned.
func (e *Engine) Apply(_ context.Context, cfg Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	pc := cfg.Proxy
	pc.LoadBalancers = append([]proxy.LoadBalancer(nil), pc.LoadBalancers...)
	opened := map[string]*logfile.Raw{}
	keep := map[string]bool{}
	for i := range pc.LoadBalancers {
		lb := &pc.LoadBalancers[i]
		lb.AccessLog = nil
		path := cfg.AccessLogs[lb.Name]
		if path == "" {
			continue
		}
		keep[path] = true
		w := e.logs[path]
		if w == nil {
			w = opened[path]
		}
		if w == nil {
			var err error
			if w, err = openAccessLog(path); err != nil {
				e.log.Warn("access log", "lb", lb.Name, "err", err)
				continue
			}
			opened[path] = w
		}
		lb.AccessLog = w
	}
	if err := e.proxy.Update(pc); err != nil {
		for _, w := range opened {
			_ = w.Close()
		}
		return err
	}
	for p, w := range opened {
		e.logs[p] = w
	}
	// The proxy has stopped writing to the logs it no longer uses.
	for p, w := range e.logs {
		if !keep[p] {
			_ = w.Close()
			delete(e.logs, p)
		}
	}
	e.health.Update(cfg.Health)
	e.last = cfg
	e.configured = true
	return nil
}

func openAccessLog(path string) (*logfile.Raw, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create access log directory: %w", err)
	}
	w, err := logfile.OpenRaw(path, logfile.Options{})
	if err != nil {
		return nil, fmt.Errorf("open access log: %w", err)
	}
	return w, nil
}

// Configured reports whether a configuration has been applied.
func (e *Engine) Configured() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.configured
}

// Config returns the configuration applied last.
func (e *Engine) Config() Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

// Health returns the health of a target group's targets, sorted by ID;
// nil for a group the data plane does not know.
func (e *Engine) Health(_ context.Context, group string) ([]health.TargetHealth, error) {
	return e.health.Health(group), nil
}

// HealthOf returns the health of several target groups' targets in one
// call, by group, each as Health returns it.
func (e *Engine) HealthOf(_ context.Context, groups []string) (map[string][]health.TargetHealth, error) {
	out := make(map[string][]health.TargetHealth, len(groups))
	for _, g := range groups {
		out[g] = e.health.Health(g)
	}
	return out, nil
}

// Snapshot returns the health of every target for persistence.
func (e *Engine) Snapshot(context.Context) ([]health.Record, error) {
	return e.health.Snapshot(), nil
}

// Restore loads health saved by Snapshot into a data plane that has not
// been configured yet, so targets keep their health across restarts. A
// data plane that already serves keeps its live health, which is newer
// than any saved one, and ignores recs.
func (e *Engine) Restore(_ context.Context, recs []health.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.configured {
		return nil
	}
	e.health.Restore(recs)
	return nil
}

// Metrics returns the proxy's counters and gauges.
func (e *Engine) Metrics(context.Context) ([]proxy.Metric, error) {
	var out []proxy.Metric
	e.proxy.Collect(func(m proxy.Metric) { out = append(out, m) })
	return out, nil
}

// MetricsSnapshot returns the proxy's counters and gauges for a collector
// to diff (see lbmetrics.Snapshot and lbmetrics.Delta).
func (e *Engine) MetricsSnapshot(context.Context) (*lbmetrics.Snapshot, error) {
	return e.proxy.MetricsSnapshot(nil), nil
}

// InFlight returns how many requests are in flight to a target across
// all target groups.
func (e *Engine) InFlight(_ context.Context, targetID string) (int64, error) {
	return e.proxy.InFlight(targetID), nil
}

// Changes returns the health changes after seq after of epoch (every
// kept change when epoch is not this Engine's), at most max, waiting up
// to wait for one when there is none yet.
func (e *Engine) Changes(ctx context.Context, epoch string, after uint64, max int, wait time.Duration) Changes {
	if max <= 0 {
		max = 1000
	}
	out, woke := e.changes.since(epoch, after, max)
	if len(out.Changes) > 0 || wait <= 0 {
		return out
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-woke:
		out, _ = e.changes.since(epoch, after, max)
	case <-t.C:
	case <-ctx.Done():
	}
	return out
}

// Epoch identifies this Engine's numbering of health changes.
func (e *Engine) Epoch() string { return e.changes.epoch }

// Listeners returns the bound listener addresses, sorted.
func (e *Engine) Listeners() []string {
	out := e.proxy.Addrs()
	sort.Strings(out)
	return out
}

// Close stops the Engine like Shutdown: an in-process data plane does
// not outlive its owner.
func (e *Engine) Close(ctx context.Context) error { return e.Shutdown(ctx) }

// Shutdown stops accepting, lets in-flight requests and WebSockets finish
// (until ctx ends, then closes what is left and returns ctx's error),
// stops the health checks and closes the access logs.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	err := e.proxy.Shutdown(ctx)
	e.health.Close()
	e.socks.closeUnused()
	e.mu.Lock()
	for p, w := range e.logs {
		_ = w.Close()
		delete(e.logs, p)
	}
	e.mu.Unlock()
	return err
}

func randomEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
