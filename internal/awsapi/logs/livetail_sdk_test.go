package logs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/logs"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/awsapi/sigv4"
	cw "github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/leakcheck"
	"github.com/madang-dev/madang/internal/loggroup"
	"github.com/madang-dev/madang/internal/logstore"
)

const (
	tailRegion = "local-1"
	tailKey    = "AKIAMADANGTAIL000001"
	tailSecret = "tail-secret"
)

// signedOnly verifies every request's SigV4 signature against one key.
type signedOnly struct{}

func (signedOnly) Secret(key string) (string, string, bool) {
	return tailSecret, "dev", key == tailKey
}

func (signedOnly) Authenticate(r *http.Request, body []byte) (awsapi.Caller, error) {
	if _, err := sigv4.Verify(r, body, signedOnly{}, time.Now(), tailRegion); err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return awsapi.Caller{}, &protocol.Error{Code: se.Code, Message: se.Message, Status: se.Status, Sender: true}
		}
		return awsapi.Caller{}, err
	}
	return awsapi.Caller{AccountID: "123456789012", AccessKeyID: tailKey, UserName: "dev"}, nil
}

// tailWorld is the API's streams, one instance's log and the log groups
// made with CreateLogGroup.
type tailWorld struct {
	store       *logstore.Store
	instanceLog string
	mu          sync.Mutex
	groups      []cw.LogGroup
}

func (w *tailWorld) Streams() []loggroup.StreamInfo {
	return append([]loggroup.StreamInfo{loggroup.InstanceStream("web", "i-0abc", w.instanceLog)}, w.store.Streams()...)
}
func (w *tailWorld) LogGroups() []cw.LogGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.groups)
}
func (*tailWorld) MetricFilters() []cw.MetricFilter { return nil }
func (w *tailWorld) PutResource(_ context.Context, _ string, spec any) ([]string, error) {
	g, ok := spec.(*cw.LogGroupSpec)
	if !ok {
		return nil, fmt.Errorf("resource %T is not in these tests", spec)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.groups = append(w.groups, cw.LogGroup{Spec: *g})
	return nil, nil
}
func (*tailWorld) DeleteResource(context.Context, string, string) error {
	return errors.New("not in these tests")
}

// newTailClient serves the Logs service on 127.0.0.1 and returns a signed
// client for it and the instance log the world has.
func newTailClient(t *testing.T, limit time.Duration) (*cloudwatchlogs.Client, *tailWorld) {
	c, w, _, _ := newTailEndpoint(t, limit)
	return c, w
}

// newTailServer is newTailClient that also returns the server's URL.
func newTailServer(t *testing.T) (*cloudwatchlogs.Client, *tailWorld, string) {
	c, w, _, url := newTailEndpoint(t, 0)
	return c, w, url
}

// newTailEndpoint is newTailClient that also returns the endpoint.
func newTailEndpoint(t *testing.T, limit time.Duration) (*cloudwatchlogs.Client, *tailWorld, *awsapi.Endpoint, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := logstore.Open(logstore.Options{Dir: filepath.Join(dir, "api")})
	if err != nil {
		t.Fatal(err)
	}
	w := &tailWorld{store: st, instanceLog: filepath.Join(dir, "instance.log")}
	if err := os.WriteFile(w.instanceLog, []byte(time.Now().UTC().Format(time.RFC3339Nano)+" out written before the tail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	svc, err := logs.New(logs.Options{Logs: w, Settings: w, Resources: w, Streams: st, LiveTailLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := awsapi.New(awsapi.Options{Services: []awsapi.Service{svc}, Region: tailRegion, AccountID: "123456789012",
		Logger: slog.New(slog.DiscardHandler), Authenticator: signedOnly{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ep)
	t.Cleanup(srv.Close)
	client := newSDKClient(t, srv.URL)
	ctx := t.Context()
	for _, g := range []string{"/shop/checkout", "/shop/other"} {
		if _, err := client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	return client, w, ep, srv.URL
}

// newSDKClient returns a signed Logs client for srv. A client reads the
// event streams of all its calls with one decoding buffer (aws-sdk-go-v2's
// smithy-go 1.28 shares its protocol's event stream codec), so each live
// tail of these tests has a client of its own: a stream closed by the
// previous test may still be read for a moment.
func newSDKClient(t *testing.T, url string) *cloudwatchlogs.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: tailRegion, BaseEndpoint: aws.String(url), HTTPClient: &http.Client{Transport: readBodies{tr}},
		Credentials: credentials.NewStaticCredentialsProvider(tailKey, tailSecret, ""),
		Retryer:     aws.NopRetryer{},
		// The SDK sends StartLiveTail to "stream-" + the endpoint's host,
		// which names no host for an endpoint on 127.0.0.1.
		APIOptions: []func(*middleware.Stack) error{disableHostPrefix},
	})
}

// tailEvents reads a stream until it has want events (or the time is up)
// and returns its sessionStart and the events.
func tailEvents(t *testing.T, stream *cloudwatchlogs.StartLiveTailEventStream, want int) (*types.LiveTailSessionStart, []types.LiveTailSessionLogEvent) {
	t.Helper()
	var start *types.LiveTailSessionStart
	var got []types.LiveTailSessionLogEvent
	timeout := time.After(10 * time.Second)
	for len(got) < want {
		select {
		case ev, ok := <-stream.Events():
			if !ok {
				t.Fatalf("stream ended after %d events: %v", len(got), stream.Err())
			}
			switch v := ev.(type) {
			case *types.StartLiveTailResponseStreamMemberSessionStart:
				start = &v.Value
			case *types.StartLiveTailResponseStreamMemberSessionUpdate:
				got = append(got, v.Value.SessionResults...)
			}
		case <-timeout:
			t.Fatalf("got %d events in 10 s, want %d: %+v", len(got), want, got)
		}
	}
	return start, got
}

// waitStart reads the stream's first event, which must be sessionStart.
func waitStart(t *testing.T, stream *cloudwatchlogs.StartLiveTailEventStream) *types.LiveTailSessionStart {
	t.Helper()
	select {
	case ev := <-stream.Events():
		s, ok := ev.(*types.StartLiveTailResponseStreamMemberSessionStart)
		if !ok {
			t.Fatalf("first event = %T (%v), want sessionStart", ev, stream.Err())
		}
		return &s.Value
	case <-time.After(10 * time.Second):
		t.Fatal("no sessionStart in 10 s")
	}
	return nil
}

func put(t *testing.T, c *cloudwatchlogs.Client, group, stream string, at time.Time, msgs ...string) {
	t.Helper()
	ctx := t.Context()
	_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	var exists *types.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		t.Fatal(err)
	}
	var evs []types.InputLogEvent
	for _, m := range msgs {
		evs = append(evs, types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(at.UnixMilli())})
	}
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
}

func TestSDKStartLiveTail(t *testing.T) {
	client, w, _, url := newTailEndpoint(t, 0)
	at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	tests := []struct {
		name  string
		in    cloudwatchlogs.StartLiveTailInput
		write func(t *testing.T)
		want  []string // "group stream message"
	}{
		{
			name: "events written with PutLogEvents",
			in:   cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/shop/checkout", "arn:aws:logs:local-1:123456789012:log-group:/shop/other"}},
			write: func(t *testing.T) {
				put(t, client, "/shop/checkout", "web-1", at, "order 1 paid", "order 2 paid")
				put(t, client, "/shop/other", "web-2", at, "other group")
			},
			want: []string{"/shop/checkout web-1 order 1 paid", "/shop/checkout web-1 order 2 paid",
				"arn:aws:logs:local-1:123456789012:log-group:/shop/other web-2 other group"},
		},
		{
			name: "filter pattern leaves events out",
			in:   cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/shop/checkout"}, LogEventFilterPattern: aws.String("ERROR")},
			write: func(t *testing.T) {
				put(t, client, "/shop/checkout", "web-1", at, "INFO order 3 paid", "ERROR card declined", "INFO order 4 paid", "ERROR timeout")
			},
			want: []string{"/shop/checkout web-1 ERROR card declined", "/shop/checkout web-1 ERROR timeout"},
		},
		{
			name: "stream name prefixes",
			in:   cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/shop/checkout"}, LogStreamNamePrefixes: []string{"api-", "worker-"}},
			write: func(t *testing.T) {
				put(t, client, "/shop/checkout", "web-1", at, "not this stream")
				put(t, client, "/shop/checkout", "api-1", at, "from api-1")
				put(t, client, "/shop/checkout", "worker-7", at, "from worker-7")
			},
			want: []string{"/shop/checkout api-1 from api-1", "/shop/checkout worker-7 from worker-7"},
		},
		{
			name: "an instance's output",
			in:   cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/madang/instances/web"}, LogStreamNames: []string{"i-0abc"}},
			write: func(t *testing.T) {
				f, err := os.OpenFile(w.instanceLog, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				_, err = f.WriteString(at.UTC().Format(time.RFC3339Nano) + " out GET /health 200\n" + at.UTC().Format(time.RFC3339Nano) + " err GET /missing 404\n")
				if err := errors.Join(err, f.Close()); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"/madang/instances/web i-0abc GET /health 200", "/madang/instances/web i-0abc GET /missing 404"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := newSDKClient(t, url).StartLiveTail(t.Context(), &tc.in)
			if err != nil {
				t.Fatal(err)
			}
			stream := out.GetStream()
			defer stream.Close()
			start := waitStart(t, stream)
			if !slices.Equal(start.LogGroupIdentifiers, tc.in.LogGroupIdentifiers) || aws.ToString(start.SessionId) == "" || aws.ToString(start.RequestId) == "" ||
				!slices.Equal(start.LogStreamNamePrefixes, tc.in.LogStreamNamePrefixes) || aws.ToString(start.LogEventFilterPattern) != aws.ToString(tc.in.LogEventFilterPattern) {
				t.Errorf("sessionStart = %+v, want the request's selection", start)
			}
			tc.write(t)
			_, evs := tailEvents(t, stream, len(tc.want))
			var got []string
			for _, e := range evs {
				got = append(got, aws.ToString(e.LogGroupIdentifier)+" "+aws.ToString(e.LogStreamName)+" "+aws.ToString(e.Message))
				if aws.ToInt64(e.Timestamp) != at.UnixMilli() {
					t.Errorf("event %q timestamp = %d, want %d", aws.ToString(e.Message), aws.ToInt64(e.Timestamp), at.UnixMilli())
				}
				if ing := time.UnixMilli(aws.ToInt64(e.IngestionTime)); time.Since(ing) > time.Minute || ing.Before(at) {
					t.Errorf("event %q ingestionTime = %s, want just now", aws.ToString(e.Message), ing)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("events =\n%q\nwant\n%q", got, want)
			}
			// Nothing else arrives: the events before the session and
			// those the selection leaves out stay out.
			deadline := time.After(2 * logs.LiveTailInterval)
			for done := false; !done; {
				select {
				case ev := <-stream.Events():
					if u, ok := ev.(*types.StartLiveTailResponseStreamMemberSessionUpdate); ok && len(u.Value.SessionResults) > 0 {
						t.Errorf("unexpected events %+v", u.Value.SessionResults)
					}
				case <-deadline:
					done = true
				}
			}
		})
	}
}

func TestSDKStartLiveTailRefused(t *testing.T) {
	client, _ := newTailClient(t, 0)
	tests := []struct {
		name string
		in   cloudwatchlogs.StartLiveTailInput
		code string
		says string
	}{
		{name: "unknown group", in: cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/shop/nope"}},
			code: "ResourceNotFoundException", says: "/shop/nope"},
		{name: "names and prefixes", in: cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/shop/checkout"},
			LogStreamNames: []string{"web-1"}, LogStreamNamePrefixes: []string{"web-"}}, code: "InvalidParameterException", says: "give one of them"},
		{name: "streams with two groups", in: cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/shop/checkout", "/shop/other"},
			LogStreamNames: []string{"web-1"}}, code: "InvalidParameterException", says: "only with one log group"},
		{name: "bad pattern", in: cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/shop/checkout"}, LogEventFilterPattern: aws.String("{ $.x = ")},
			code: "InvalidParameterException", says: "logEventFilterPattern"},
		{name: "ARN with a star", in: cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"arn:aws:logs:local-1:123456789012:log-group:/shop/checkout:*"}},
			code: "InvalidParameterException", says: "without the trailing ':*'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.StartLiveTail(t.Context(), &tc.in)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code || !strings.Contains(apiErr.ErrorMessage(), tc.says) {
				t.Fatalf("StartLiveTail error = %v, want %s saying %q", err, tc.code, tc.says)
			}
		})
	}
}

func TestSDKStartLiveTailEnds(t *testing.T) {
	t.Run("client closes the stream", func(t *testing.T) {
		client, _ := newTailClient(t, 0)
		before := leakcheck.Take()
		out, err := client.StartLiveTail(t.Context(), &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/shop/checkout"}})
		if err != nil {
			t.Fatal(err)
		}
		stream := out.GetStream()
		waitStart(t, stream)
		// Close ends the reader, which may report the read it was in when
		// the connection closed.
		if err := stream.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Fatal(err)
		}
		// The session's tail and its response end with the connection.
		if err := leakcheck.Check(10*time.Second, func(g leakcheck.Goroutine) bool {
			return before.Since()(g) && (strings.Contains(g.Stack, "internal/loggroup.") || strings.Contains(g.Stack, "internal/awsapi/logs.(*Service).liveTail"))
		}); err != nil {
			t.Error(err)
		}
	})
	tests := []struct {
		name  string
		limit time.Duration
		end   func(*awsapi.Endpoint)
		want  func(error) bool
	}{
		{name: "session limit", limit: 1500 * time.Millisecond, end: func(*awsapi.Endpoint) {},
			want: func(err error) bool { var e *types.SessionTimeoutException; return errors.As(err, &e) }},
		{name: "endpoint shuts down", end: (*awsapi.Endpoint).CloseStreams,
			want: func(err error) bool {
				var e *types.SessionStreamingException
				return errors.As(err, &e) && strings.Contains(aws.ToString(e.Message), "shutting down")
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { endsWith(t, tc.limit, tc.end, tc.want) })
	}
}

// endsWith starts a session, calls end and waits for the stream to end
// with an error want accepts, after at least one sessionUpdate.
func endsWith(t *testing.T, limit time.Duration, end func(*awsapi.Endpoint), want func(error) bool) {
	client, _, ep, _ := newTailEndpoint(t, limit)
	out, err := client.StartLiveTail(t.Context(), &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: []string{"/shop/checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	waitStart(t, stream)
	time.AfterFunc(1500*time.Millisecond, func() { end(ep) })
	updates := 0
	timeout := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case ev, ok := <-stream.Events():
			if _, isUpdate := ev.(*types.StartLiveTailResponseStreamMemberSessionUpdate); isUpdate {
				updates++
			}
			open = ok
		case <-timeout:
			t.Fatal("the session did not end at its limit")
		}
	}
	if !want(stream.Err()) {
		t.Errorf("stream error = %v", stream.Err())
	}
	if updates < 1 {
		t.Errorf("%d sessionUpdate events before the end, want one a second even without events", updates)
	}
}

// disableHostPrefix keeps the endpoint's host for StartLiveTail.
func disableHostPrefix(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("DisableHostPrefix", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
	}), middleware.Before)
}

// boto3Python finds a python3 whose boto3 knows StartLiveTail (the call
// is from June 2024; Debian 12's python3-boto3 is older).
func boto3Python(t *testing.T) string {
	t.Helper()
	const check = "import boto3; assert hasattr(boto3.client('logs', region_name='us-east-1'), 'start_live_tail')"
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", check).Run() == nil {
			return path
		}
	}
	t.Skip("no python3 whose boto3 has start_live_tail (a botocore from June 2024 or later)")
	return ""
}

func TestBoto3StartLiveTail(t *testing.T) {
	py := boto3Python(t)
	client, _, srvURL := newTailServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/live_tail_boto3.py", srvURL, "/shop/checkout", "2")
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != `started ["/shop/checkout"]` {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("first line = %q, want the sessionStart's groups; stderr:\n%s", lines.Text(), stderr.String())
	}
	at := time.Now().Truncate(time.Millisecond)
	put(t, client, "/shop/checkout", "web-1", at, "order 1 paid", "order 2 failed", "order 3 paid")
	var got []string
	for lines.Scan() {
		var e struct {
			LogStreamName, LogGroupIdentifier, Message string
			Timestamp                                  int64
		}
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", lines.Text(), err)
		}
		if e.Timestamp != at.UnixMilli() || e.LogGroupIdentifier != "/shop/checkout" || e.LogStreamName != "web-1" {
			t.Errorf("event = %+v", e)
		}
		got = append(got, e.Message)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	if !slices.Equal(got, []string{"order 1 paid", "order 3 paid"}) {
		t.Errorf("boto3 read %q, want the events matching the pattern", got)
	}
}

// readBodies sends request bodies through their Read method only. The
// SDK's request body has a WriteTo that reports io.EOF as an error once
// the SDK has closed it, which it does as soon as the response's headers
// are in; on loopback the transport could still be copying then, and it
// closes the connection on that error — with an event stream, the stream
// (3 runs in 40 of TestSDKStartLiveTail; 0 in 40 with this).
type readBodies struct{ rt http.RoundTripper }

func (b readBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return b.rt.RoundTrip(r)
}
