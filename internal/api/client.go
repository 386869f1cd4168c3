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

	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/proxy"
)

// Client is a typed client of the daemon's API.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// ErrNoDaemon is returned when no daemon answers on the socket.
var ErrNoDaemon = errors.New("no madang daemon is running")

// Error is an error answer from the daemon.
type Error struct {
	Status  int
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// NewUnixClient returns a client that talks to the daemon on a unix socket.
func NewUnixClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
	return &Client{base: "http://madang", hc: &http.Client{Transport: tr}}
}

// NewTCPClient returns a client for a daemon listening on TCP.
func NewTCPClient(addr, token string) *Client {
	return &Client{base: "http://" + addr, token: token, hc: &http.Client{}}
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
			return nil, err
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
		var ne *net.OpError
		if errors.As(err, &ne) && ne.Op == "dial" {
			return nil, fmt.Errorf("%w (%v); start one with `madang server` or `madang up`", ErrNoDaemon, ne.Err)
		}
		return nil, err
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		var eb ErrorBody
		b, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(b, &eb) != nil || eb.Error.Message == "" {
			return nil, &Error{Status: resp.StatusCode, Code: "Internal", Message: strings.TrimSpace(string(b))}
		}
		return nil, &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	return resp, nil
}

// Info pings the daemon.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var v Info
	return v, c.do(ctx, "GET", "/v1/info", nil, &v)
}

// Plan asks what applying (or destroying) a stack would change.
func (c *Client) Plan(ctx context.Context, req StackRequest) (StackResult, error) {
	var v StackResult
	return v, c.do(ctx, "POST", "/v1/stack/plan", req, &v)
}

// Apply applies (or destroys) a stack.
func (c *Client) Apply(ctx context.Context, req StackRequest) (StackResult, error) {
	var v StackResult
	return v, c.do(ctx, "POST", "/v1/stack/apply", req, &v)
}

// Instances lists instances with live facts.
func (c *Client) Instances(ctx context.Context) ([]compute.View, error) {
	var v []compute.View
	return v, c.do(ctx, "GET", "/v1/instances", nil, &v)
}

// Describe returns one instance.
func (c *Client) Describe(ctx context.Context, id string) (compute.View, error) {
	var v compute.View
	return v, c.do(ctx, "GET", "/v1/instances/"+url.PathEscape(id), nil, &v)
}

// Run launches instances.
func (c *Client) Run(ctx context.Context, req compute.RunRequest) ([]compute.Instance, error) {
	var v []compute.Instance
	return v, c.do(ctx, "POST", "/v1/instances", req, &v)
}

// Action runs start, stop, reboot or terminate on an instance.
func (c *Client) Action(ctx context.Context, id, action string) (compute.Instance, error) {
	var v compute.Instance
	return v, c.do(ctx, "POST", "/v1/instances/"+url.PathEscape(id)+"/"+action, nil, &v)
}

// Tags changes an instance's tags.
func (c *Client) Tags(ctx context.Context, id string, req TagRequest) (compute.Instance, error) {
	var v compute.Instance
	return v, c.do(ctx, "PATCH", "/v1/instances/"+url.PathEscape(id)+"/tags", req, &v)
}

// Resolve turns an instance id or group name into instance ids.
func (c *Client) Resolve(ctx context.Context, ref string) ([]string, error) {
	var v []string
	return v, c.do(ctx, "GET", "/v1/resolve/"+url.PathEscape(ref), nil, &v)
}

// Images lists images.
func (c *Client) Images(ctx context.Context) ([]compute.Image, error) {
	var v []compute.Image
	return v, c.do(ctx, "GET", "/v1/images", nil, &v)
}

// LaunchTemplates lists launch templates.
func (c *Client) LaunchTemplates(ctx context.Context) ([]compute.LaunchTemplate, error) {
	var v []compute.LaunchTemplate
	return v, c.do(ctx, "GET", "/v1/launch-templates", nil, &v)
}

// TargetGroups lists target groups.
func (c *Client) TargetGroups(ctx context.Context) ([]elbctl.TargetGroup, error) {
	var v []elbctl.TargetGroup
	return v, c.do(ctx, "GET", "/v1/target-groups", nil, &v)
}

// TargetHealth returns a target group's target health.
func (c *Client) TargetHealth(ctx context.Context, name string) ([]health.TargetHealth, error) {
	var v []health.TargetHealth
	return v, c.do(ctx, "GET", "/v1/target-groups/"+url.PathEscape(name)+"/health", nil, &v)
}

// LoadBalancers lists load balancers.
func (c *Client) LoadBalancers(ctx context.Context) ([]elbctl.LoadBalancer, error) {
	var v []elbctl.LoadBalancer
	return v, c.do(ctx, "GET", "/v1/load-balancers", nil, &v)
}

// Metrics returns the load balancer metrics.
func (c *Client) Metrics(ctx context.Context) ([]proxy.Metric, error) {
	var v []proxy.Metric
	return v, c.do(ctx, "GET", "/v1/metrics", nil, &v)
}

// Logs streams an instance's log lines to fn (follow keeps streaming
// until ctx ends).
func (c *Client) Logs(ctx context.Context, id string, lines int, since time.Time, follow bool, fn func(LogLine)) error {
	q := url.Values{}
	q.Set("lines", fmt.Sprint(lines))
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if follow {
		q.Set("follow", "1")
	}
	return c.stream(ctx, "/v1/instances/"+url.PathEscape(id)+"/logs?"+q.Encode(), func(b []byte) error {
		var l LogLine
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		fn(l)
		return nil
	})
}

// Events streams daemon events after seq to fn.
func (c *Client) Events(ctx context.Context, after uint64, follow bool, fn func(event.Event)) error {
	path := fmt.Sprintf("/v1/events?after=%d", after)
	if follow {
		path += "&follow=1"
	}
	return c.stream(ctx, path, func(b []byte) error {
		var e event.Event
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		fn(e)
		return nil
	})
}

func (c *Client) stream(ctx context.Context, path string, fn func([]byte) error) error {
	resp, err := c.send(ctx, "GET", path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
