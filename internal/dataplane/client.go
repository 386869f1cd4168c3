package dataplane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/proxy"
)

// followWait is how long one request for health changes waits.
const followWait = 20 * time.Second

// callTimeout bounds a call whose context has no deadline, so a data
// plane that stopped answering cannot hang the controller.
const callTimeout = 15 * time.Second

// Client is the daemon's side of a data plane's control socket. It
// implements the same methods as Engine, and follows the data plane's
// health changes (see ClientOptions.OnChange). Close leaves the data
// plane running; Shutdown stops it. A Client from Launch also restarts a
// data plane that died, with the configuration and health it had.
type Client struct {
	home     string
	socket   string
	log      *slog.Logger
	hc       *http.Client
	onChange func(group string, th health.TargetHealth)
	launch   *LaunchOptions // set by Launch: restart a data plane that died
	adopted  bool

	// ctx ends at Close, stopping the follower; wg waits for it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// applyMu serialises Apply with the re-apply after a restart.
	applyMu sync.Mutex
	// mu guards the fields that follow.
	mu       sync.Mutex
	status   Status
	cmd      *exec.Cmd // the process, when this client started it
	lastCfg  *Config   // the configuration applied last
	lastRecs []health.Record
}

// ClientOptions configure Dial.
type ClientOptions struct {
	Logger *slog.Logger
	// OnChange, when set, is called for every health change the data
	// plane records, in order, from one goroutine — including those it
	// recorded while no daemon was connected (since the last change an
	// earlier Client of the same home delivered).
	OnChange func(group string, th health.TargetHealth)
}

// Dial connects to the data plane serving home's control socket.
func Dial(ctx context.Context, home string, opts ClientOptions) (*Client, error) {
	c := newClient(home, opts)
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	c.startFollowing()
	return c, nil
}

func newClient(home string, opts ClientOptions) *Client {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	socket := filepath.Join(home, SocketFile)
	c := &Client{
		home: home, socket: socket, log: opts.Logger.With("component", "dataplane-client"),
		onChange: opts.OnChange,
		hc: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     30 * time.Second,
		}},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// connect reads the status of the data plane on the socket.
func (c *Client) connect(ctx context.Context) error {
	var st Status
	if err := c.call(ctx, http.MethodGet, "/v1/status", nil, &st); err != nil {
		c.hc.CloseIdleConnections()
		return err
	}
	c.mu.Lock()
	c.status = st
	c.mu.Unlock()
	return nil
}

func (c *Client) startFollowing() {
	if c.onChange != nil || c.launch != nil {
		c.wg.Add(1)
		go c.follow()
	}
}

// Status returns the status of the data plane as of Dial (or of its
// latest restart).
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Adopted reports whether the data plane was already running when the
// daemon started (see Launch).
func (c *Client) Adopted() bool { return c.adopted }

// Apply installs cfg transactionally (see Engine.Apply); the error of a
// rejected configuration is the data plane's.
func (c *Client) Apply(ctx context.Context, cfg Config) error {
	cfg.Proxy.LoadBalancers = append([]proxy.LoadBalancer(nil), cfg.Proxy.LoadBalancers...)
	for i := range cfg.Proxy.LoadBalancers {
		cfg.Proxy.LoadBalancers[i].AccessLog = nil // a path travels in AccessLogs
	}
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	if err := c.call(ctx, http.MethodPost, "/v1/config", cfg, nil); err != nil {
		return err
	}
	c.mu.Lock()
	c.lastCfg = &cfg
	c.mu.Unlock()
	return nil
}

// Health returns the health of a target group's targets.
func (c *Client) Health(ctx context.Context, group string) ([]health.TargetHealth, error) {
	var out []health.TargetHealth
	err := c.call(ctx, http.MethodGet, "/v1/health?group="+url.QueryEscape(group), nil, &out)
	return out, err
}

// HealthOf returns the health of several target groups' targets in one
// call, by group, each as Health returns it. A data plane of an older
// madang, without the call, answers a RemoteError of status 404.
func (c *Client) HealthOf(ctx context.Context, groups []string) (map[string][]health.TargetHealth, error) {
	q := url.Values{"group": groups}
	out := map[string][]health.TargetHealth{}
	if err := c.call(ctx, http.MethodGet, "/v1/health/groups?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Snapshot returns the health of every target for persistence.
func (c *Client) Snapshot(ctx context.Context) ([]health.Record, error) {
	var out []health.Record
	if err := c.call(ctx, http.MethodGet, "/v1/health/snapshot", nil, &out); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.lastRecs = out
	c.mu.Unlock()
	return out, nil
}

// Restore loads saved health into a data plane not configured yet (see
// Engine.Restore).
func (c *Client) Restore(ctx context.Context, recs []health.Record) error {
	return c.call(ctx, http.MethodPost, "/v1/health/restore", recs, nil)
}

// Metrics returns the data plane's counters and gauges.
func (c *Client) Metrics(ctx context.Context) ([]proxy.Metric, error) {
	var out []proxy.Metric
	err := c.call(ctx, http.MethodGet, "/v1/metrics", nil, &out)
	return out, err
}

// MetricsSnapshot returns the data plane's counters and gauges for a
// collector to diff (see lbmetrics.Snapshot and lbmetrics.Delta).
func (c *Client) MetricsSnapshot(ctx context.Context) (*lbmetrics.Snapshot, error) {
	var out lbmetrics.Snapshot
	if err := c.call(ctx, http.MethodGet, "/v1/metrics/snapshot", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// InFlight returns how many requests are in flight to a target.
func (c *Client) InFlight(ctx context.Context, targetID string) (int64, error) {
	var out inFlight
	err := c.call(ctx, http.MethodGet, "/v1/inflight?target="+url.QueryEscape(targetID), nil, &out)
	return out.InFlight, err
}

// Close stops following health changes and leaves the data plane
// running, serving its last configuration.
func (c *Client) Close(context.Context) error {
	c.cancel()
	c.wg.Wait()
	c.hc.CloseIdleConnections()
	return nil
}

// Shutdown asks the data plane to stop accepting, drain in-flight
// requests (until ctx's deadline, 30 s without one) and exit. It returns
// once the drain is over (and, for a data plane this Client started, the
// process has exited).
func (c *Client) Shutdown(ctx context.Context) error {
	grace := 30 * time.Second
	if d, ok := ctx.Deadline(); ok {
		grace = max(time.Until(d)-time.Second, 100*time.Millisecond)
	}
	_ = c.Close(ctx) // no follower may take the exit for a crash
	err := c.call(ctx, http.MethodPost, "/v1/shutdown?grace="+grace.String(), nil, nil)
	c.hc.CloseIdleConnections()
	if err != nil && !isGone(err) {
		return fmt.Errorf("stop data plane: %w", err)
	}
	c.mu.Lock()
	cmd := c.cmd
	c.cmd = nil
	c.mu.Unlock()
	if cmd != nil {
		_ = cmd.Wait()
	}
	return nil
}

// follow delivers health changes to onChange until Close.
func (c *Client) follow() {
	defer c.wg.Done()
	ctx := c.ctx
	cur := readCursor(c.home)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		var ch Changes
		pctx, cancel := context.WithTimeout(ctx, followWait+callTimeout)
		q := "/v1/health/changes?epoch=" + url.QueryEscape(cur.Epoch) + "&after=" + strconv.FormatUint(cur.Seq, 10) + "&wait=" + followWait.String()
		err := c.call(pctx, http.MethodGet, q, nil, &ch)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Debug("follow health changes", "err", err)
			if c.launch != nil && c.restartIfDead(ctx) {
				backoff = 100 * time.Millisecond
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if ch.Lost {
			c.log.Warn("some health changes made while the daemon was away were dropped; current health is complete")
		}
		if c.onChange != nil {
			for _, x := range ch.Changes {
				c.onChange(x.Group, x.Health)
			}
		}
		next := cursor{Epoch: ch.Epoch, Seq: ch.Next}
		if next != cur {
			cur = next
			if err := writeCursor(c.home, cur); err != nil {
				c.log.Warn("record health cursor", "err", err)
			}
		}
	}
}

// call sends one request; in is encoded as JSON, the answer decoded into
// out.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("dataplane: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://dataplane"+path, body)
	if err != nil {
		return fmt.Errorf("dataplane: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("dataplane: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e apiError
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return &RemoteError{Status: resp.StatusCode, Msg: e.Error}
		}
		return &RemoteError{Status: resp.StatusCode, Msg: string(b)}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("dataplane: decode %s: %w", path, err)
	}
	return nil
}

// RemoteError is an error the data plane answered with.
type RemoteError struct {
	Status int
	Msg    string
}

// Error returns the data plane's message.
func (e *RemoteError) Error() string { return e.Msg }

// isGone reports whether err says the data plane went away (it exited
// while answering a shutdown).
func isGone(err error) bool {
	var re *RemoteError
	if errors.As(err, &re) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		isConnRefused(err)
}

func isConnRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNRESET)
}
