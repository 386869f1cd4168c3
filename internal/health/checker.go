package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Checker runs one active health check; it is the Manager's extension
// point for check protocols.
//
// Check sends the check that s describes to the target whose traffic
// address is addr (ip:port; a non-zero s.Port replaces the port) and
// judges the answer. It must return by ctx's deadline, which the Manager
// sets to s.Timeout, and be safe for concurrent use. A failing Result
// carries an AWS reason code and a description for people.
type Checker interface {
	Check(ctx context.Context, s Settings, addr string) Result
}

// Result is the outcome of one active check.
type Result struct {
	// OK is true when the check passed.
	OK bool
	// Status is the HTTP status received, 0 when there was none.
	Status int
	// Latency is how long the check took.
	Latency time.Duration
	// Reason is the AWS reason code of a failure:
	// Target.ResponseCodeMismatch, Target.Timeout or
	// Target.FailedHealthChecks.
	Reason string
	// Description explains the outcome, e.g.
	// "GET /health returned 404, expected 200".
	Description string
}

// UserAgent is the User-Agent header of health-check requests, as AWS
// sends it.
const UserAgent = "ELB-HealthChecker/2.0"

// maxCheckHeaderBytes bounds a check response's header, as the ALB bounds
// target response headers.
const maxCheckHeaderBytes = 32 << 10

// HTTPChecker runs AWS-style HTTP checks: a GET of the path on a new
// connection that is closed after the check, with User-Agent
// ELB-HealthChecker/2.0. Redirects are not followed: a 3xx passes only if
// the matcher names it. Environment proxy settings are ignored.
type HTTPChecker struct {
	transport *http.Transport
}

// NewHTTPChecker returns an HTTPChecker. dial, when non-nil, replaces the
// TCP dialer.
func NewHTTPChecker(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *HTTPChecker {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return &HTTPChecker{transport: &http.Transport{
		DialContext:            dial,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxCheckHeaderBytes,
	}}
}

// Check implements [Checker].
func (c *HTTPChecker) Check(ctx context.Context, s Settings, addr string) Result {
	s = s.withDefaults()
	target, err := checkAddr(addr, s.Port)
	if err != nil {
		return Result{Reason: ReasonInternalError, Description: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+target+s.Path, nil)
	if err != nil {
		return Result{Reason: ReasonInternalError, Description: fmt.Sprintf("build GET %s for %s: %v", s.Path, target, err)}
	}
	req.Header.Set("User-Agent", UserAgent)
	start := time.Now()
	resp, err := c.transport.RoundTrip(req)
	latency := time.Since(start)
	if err != nil {
		res := classifyCheckError(ctx, err, s, target)
		res.Latency = latency
		return res
	}
	// Only the status matters; closing the body closes the connection.
	_ = resp.Body.Close()
	res := Result{Status: resp.StatusCode, Latency: latency}
	if s.Matcher.Match(resp.StatusCode) {
		res.OK = true
		res.Description = fmt.Sprintf("GET %s returned %d", s.Path, resp.StatusCode)
		return res
	}
	res.Reason = ReasonResponseCodeMismatch
	res.Description = fmt.Sprintf("GET %s returned %d, expected %s", s.Path, resp.StatusCode, s.Matcher)
	return res
}

// classifyCheckError turns a transport error into a failing Result.
func classifyCheckError(ctx context.Context, err error, s Settings, target string) Result {
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout()):
		return Result{Reason: ReasonTimeout, Description: fmt.Sprintf("GET %s timed out after %v", s.Path, s.Timeout)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return Result{Reason: ReasonFailedHealthChecks, Description: fmt.Sprintf("connect to %s: connection refused — is the app listening?", target)}
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return Result{Reason: ReasonFailedHealthChecks, Description: fmt.Sprintf("connect to %s: %v", target, opErr.Err)}
	case errors.Is(err, syscall.ECONNRESET):
		return Result{Reason: ReasonFailedHealthChecks, Description: fmt.Sprintf("GET %s: connection reset by %s", s.Path, target)}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return Result{Reason: ReasonFailedHealthChecks, Description: fmt.Sprintf("GET %s: %s closed the connection without a response", s.Path, target)}
	default:
		return Result{Reason: ReasonFailedHealthChecks, Description: fmt.Sprintf("GET %s: malformed response from %s: %v", s.Path, target, err)}
	}
}

// checkAddr returns the address to check: addr, with its port replaced by
// port when port is non-zero.
func checkAddr(addr string, port int) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("target address %q is not ip:port: %w", addr, err)
	}
	if port == 0 {
		return addr, nil
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

var _ Checker = (*HTTPChecker)(nil)
