package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/fault"
)

// Client is a typed client of the daemon's API. Its methods return v1
// wire types, and errors the daemon answered with as *[Error] (which
// unwraps to a *[fault.Error] of the answer's code).
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// ErrNoDaemon is wrapped by the error of every call when no daemon answers
// on the socket; that error has code [fault.Unavailable].
var ErrNoDaemon = errors.New("no madang daemon is running")

// Options configure a [Client].
type Options struct {
	// BaseURL is the daemon's URL, e.g. "http://127.0.0.1:7070"; for a
	// unix socket the host is a placeholder ("http://madang").
	BaseURL string
	// Token is sent as "Authorization: Bearer TOKEN" when set.
	Token string
	// Transport carries the requests (nil: http.DefaultTransport). Tests
	// pass an in-process server's transport; [UnixTransport] dials the
	// daemon's socket.
	Transport http.RoundTripper
}

// New returns a client configured by opts.
func New(opts Options) *Client {
	return &Client{base: strings.TrimSuffix(opts.BaseURL, "/"), token: opts.Token, hc: &http.Client{Transport: opts.Transport}}
}

// UnixTransport returns a transport whose connections go to the unix
// socket, whatever the request's host.
func UnixTransport(socket string) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
}

// NewUnixClient returns a client that talks to the daemon on a unix socket.
func NewUnixClient(socket string) *Client {
	return New(Options{BaseURL: "http://madang", Transport: UnixTransport(socket)})
}

// NewTCPClient returns a client for a daemon listening on TCP.
func NewTCPClient(addr, token string) *Client {
	return New(Options{BaseURL: "http://" + addr, Token: token})
}

// Error is an error answer from the daemon.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the machine-readable code (v1.CodeNotFound, …).
	Code string
	// Message, Kind, ID and Hint are the answer's [v1.ErrorDetail].
	Message, Kind, ID, Hint string
}

// Error returns the message, followed by the hint after "; ".
func (e *Error) Error() string {
	if e.Hint != "" {
		return e.Message + "; " + e.Hint
	}
	return e.Message
}

// Unwrap returns the answer as a domain error, so errors.Is(err,
// fault.ErrNotFound) holds for a 404 from the daemon.
func (e *Error) Unwrap() error {
	return &fault.Error{Code: faultCode(e.Code, e.Status), Kind: e.Kind, ID: e.ID, Message: e.Message, Hint: e.Hint}
}

// faultCode maps a wire code (or, for an answer without one, a status)
// back to a fault code.
func faultCode(code string, status int) fault.Code {
	for c, m := range wire {
		if m.code == code {
			return c
		}
	}
	switch status {
	case http.StatusBadRequest:
		return fault.Invalid
	case http.StatusUnauthorized:
		return fault.Unauthorized
	case http.StatusNotFound:
		return fault.NotFound
	case http.StatusConflict:
		return fault.Conflict
	case http.StatusServiceUnavailable:
		return fault.Unavailable
	}
	return fault.Internal
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ne, ok := errors.AsType[*net.OpError](err); ok && ne.Op == "dial" {
			return nil, &fault.Error{
				Code: fault.Unavailable, Err: ErrNoDaemon,
				Message: fmt.Sprintf("%v (%v)", ErrNoDaemon, ne.Err),
				Hint:    "start one with `madang server` or `madang up`",
			}
		}
		return nil, err
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb v1.ErrorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error.Message == "" {
			return nil, &Error{Status: resp.StatusCode, Code: v1.CodeInternal, Message: strings.TrimSpace(string(b))}
		}
		d := eb.Error
		return nil, &Error{Status: resp.StatusCode, Code: d.Code, Message: d.Message, Kind: d.Kind, ID: d.ID, Hint: d.Hint}
	}
	return resp, nil
}

// Info pings the daemon.
func (c *Client) Info(ctx context.Context) (v1.Info, error) {
	var v v1.Info
	return v, c.do(ctx, "GET", "/v1/info", nil, &v)
}

// Plan asks what applying (or destroying) a stack would change.
func (c *Client) Plan(ctx context.Context, req v1.StackRequest) (v1.StackResult, error) {
	var v v1.StackResult
	return v, c.do(ctx, "POST", "/v1/stack/plan", req, &v)
}

// Apply applies (or destroys) a stack.
func (c *Client) Apply(ctx context.Context, req v1.StackRequest) (v1.StackResult, error) {
	var v v1.StackResult
	return v, c.do(ctx, "POST", "/v1/stack/apply", req, &v)
}

// Instances lists instances with live facts, terminated ones included.
func (c *Client) Instances(ctx context.Context) ([]v1.Instance, error) {
	var v []v1.Instance
	return v, c.do(ctx, "GET", "/v1/instances", nil, &v)
}

// Describe returns one instance with live facts and limits.
func (c *Client) Describe(ctx context.Context, id string) (v1.Instance, error) {
	var v v1.Instance
	return v, c.do(ctx, "GET", "/v1/instances/"+url.PathEscape(id), nil, &v)
}

// Run launches instances.
func (c *Client) Run(ctx context.Context, req v1.RunRequest) ([]v1.Instance, error) {
	var v []v1.Instance
	return v, c.do(ctx, "POST", "/v1/instances", req, &v)
}

// Action runs start, stop, reboot or terminate on an instance.
func (c *Client) Action(ctx context.Context, id, action string) (v1.Instance, error) {
	var v v1.Instance
	return v, c.do(ctx, "POST", "/v1/instances/"+url.PathEscape(id)+"/"+url.PathEscape(action), nil, &v)
}

// Tags changes an instance's tags.
func (c *Client) Tags(ctx context.Context, id string, req v1.TagRequest) (v1.Instance, error) {
	var v v1.Instance
	return v, c.do(ctx, "PATCH", "/v1/instances/"+url.PathEscape(id)+"/tags", req, &v)
}

// Resolve turns an instance id or group name into instance ids.
func (c *Client) Resolve(ctx context.Context, ref string) ([]string, error) {
	var v []string
	return v, c.do(ctx, "GET", "/v1/resolve/"+url.PathEscape(ref), nil, &v)
}

// Images lists images.
func (c *Client) Images(ctx context.Context) ([]v1.Image, error) {
	var v []v1.Image
	return v, c.do(ctx, "GET", "/v1/images", nil, &v)
}

// LaunchTemplates lists launch templates.
func (c *Client) LaunchTemplates(ctx context.Context) ([]v1.LaunchTemplate, error) {
	var v []v1.LaunchTemplate
	return v, c.do(ctx, "GET", "/v1/launch-templates", nil, &v)
}

// InstanceTypes lists the instance types madang knows, with their sizes.
func (c *Client) InstanceTypes(ctx context.Context) ([]v1.InstanceType, error) {
	var v []v1.InstanceType
	return v, c.do(ctx, "GET", "/v1/instance-types", nil, &v)
}

// AvailabilityZones lists the availability zones of madang's region.
func (c *Client) AvailabilityZones(ctx context.Context) ([]string, error) {
	var v []string
	return v, c.do(ctx, "GET", "/v1/availability-zones", nil, &v)
}

// InstanceGroups lists instance groups.
func (c *Client) InstanceGroups(ctx context.Context) ([]v1.InstanceGroup, error) {
	var v []v1.InstanceGroup
	return v, c.do(ctx, "GET", "/v1/groups", nil, &v)
}

// TargetGroups lists target groups.
func (c *Client) TargetGroups(ctx context.Context) ([]v1.TargetGroup, error) {
	var v []v1.TargetGroup
	return v, c.do(ctx, "GET", "/v1/target-groups", nil, &v)
}

// TargetHealth returns a target group's target health.
func (c *Client) TargetHealth(ctx context.Context, name string) ([]v1.TargetHealth, error) {
	var v []v1.TargetHealth
	return v, c.do(ctx, "GET", "/v1/target-groups/"+url.PathEscape(name)+"/health", nil, &v)
}

// LoadBalancers lists load balancers.
func (c *Client) LoadBalancers(ctx context.Context) ([]v1.LoadBalancer, error) {
	var v []v1.LoadBalancer
	return v, c.do(ctx, "GET", "/v1/load-balancers", nil, &v)
}

// Metrics returns the load balancer metrics.
func (c *Client) Metrics(ctx context.Context) ([]v1.Metric, error) {
	var v []v1.Metric
	return v, c.do(ctx, "GET", "/v1/metrics", nil, &v)
}

// Logs streams an instance's log lines to fn: the last lines (0: all)
// newer than since, then, with follow, new lines until ctx ends.
func (c *Client) Logs(ctx context.Context, id string, lines int, since time.Time, follow bool, fn func(v1.LogLine)) error {
	q := url.Values{}
	q.Set("lines", fmt.Sprint(lines))
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if follow {
		q.Set("follow", "1")
	}
	return stream(ctx, c, "/v1/instances/"+url.PathEscape(id)+"/logs?"+q.Encode(), fn)
}

// Events streams daemon events after seq to fn (follow keeps streaming
// until ctx ends).
func (c *Client) Events(ctx context.Context, after uint64, follow bool, fn func(v1.Event)) error {
	path := fmt.Sprintf("/v1/events?after=%d", after)
	if follow {
		path += "&follow=1"
	}
	return stream(ctx, c, path, fn)
}

// FollowEventsSince calls fn for every event after seq made at since or
// later, old and new, until ctx ends (nil) or the stream breaks.
func (c *Client) FollowEventsSince(ctx context.Context, after uint64, since time.Time, fn func(v1.Event)) error {
	path := fmt.Sprintf("/v1/events?after=%d&follow=1&since=%s", after, url.QueryEscape(since.UTC().Format(time.RFC3339Nano)))
	return stream(ctx, c, path, fn)
}

// stream decodes a JSON Lines answer, calling fn per object. The end of
// ctx ends a stream without an error.
func stream[T any](ctx context.Context, c *Client, path string, fn func(T)) error {
	resp, err := c.send(ctx, "GET", path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return fmt.Errorf("decode %s: %w", path, err)
		}
		fn(v)
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// CreateImage makes an image from an instance.
func (c *Client) CreateImage(ctx context.Context, req v1.CreateImageRequest) (v1.Image, error) {
	var v v1.Image
	return v, c.do(ctx, "POST", "/v1/images", req, &v)
}
