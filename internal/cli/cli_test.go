package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/proxy"
	"github.com/madang-dev/madang/internal/stack"
)

// fakeDaemon is a fake daemon with two web instances (one terminated), a
// target group, a load balancer, events and log lines.
func fakeDaemon(t *testing.T) (*apitest.Fake, *httptest.Server) {
	t.Helper()
	f := apitest.New(t)
	f.Catalog.LaunchTemplates = []compute.LaunchTemplate{{Name: "web", ID: "lt-01", DefaultVersion: 1,
		Versions: []compute.LaunchTemplateVersion{{Number: 1, Data: compute.LaunchTemplateData{Image: "hello", InstanceType: "t3.micro"}}}}}
	f.Catalog.Images = []compute.Image{{Spec: compute.ImageSpec{Name: "hello", Port: 3000}, ID: "ami-01", Versions: []compute.ImageVersion{{Number: 1}}}}
	f.TargetGroups = []elbctl.TargetGroup{{Spec: elb.TargetGroupSpec{Name: "web", Protocol: "HTTP", Port: 3000}}}
	f.LoadBalancers = []elbctl.LoadBalancer{{Spec: elb.LoadBalancerSpec{Name: "web", Listeners: []elb.ListenerSpec{{Port: 8080}}}}}
	f.Health = map[string][]health.TargetHealth{"web": {{ID: "i-01", Addr: "127.16.0.2:3000", State: health.StateHealthy, LastCheck: time.Now(), LastLatency: 1500 * time.Microsecond}}}
	f.Metrics = []proxy.Metric{{Name: "RequestCount", Dimensions: map[string]string{"LoadBalancer": "web"}, Value: 3, Unit: "Count", Kind: "counter"}}
	f.AddInstance(compute.View{Instance: compute.Instance{ID: "i-01", Group: "web", State: compute.StateRunning, PrivateIP: "127.16.0.2", Port: 3000}})
	f.AddInstance(compute.View{Instance: compute.Instance{ID: "i-02", Group: "web", State: compute.StateTerminated}})
	f.Events.Info("instance", "i-01", "running")
	f.Events.Warn("target-group", "web", "target i-01 slow")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.WriteLog(t, "i-01", logfile.Line{Time: t0, Stream: "out", Text: "listening"}, logfile.Line{Time: t0.Add(time.Millisecond), Stream: "err", Text: "warning"})
	f.StackResult = api.StackResult{Stack: "demo", Changes: []stack.Change{{Action: "create", Kind: "image", Name: "hello"}}}
	return f, f.Serve(t)
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cli runs the command line in-process against srv (nil: no daemon) and
// returns stdout, stderr and the exit code.
func cli(ctx context.Context, t *testing.T, srv *httptest.Server, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr syncBuffer
	e := &env{stdout: &stdout, stderr: &stderr}
	if srv != nil {
		e.dial = func() *api.Client { return apitest.Client(srv) }
	}
	args = append([]string{"--home", t.TempDir()}, args...)
	code := report(&stderr, run(ctx, args, e))
	return stdout.String(), stderr.String(), code
}

func TestUsageErrorsExit2(t *testing.T) {
	_, srv := fakeDaemon(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{name: "unknown command", args: []string{"frobnicate"}, want: []string{`madang: unknown command "frobnicate" for "madang"`, "hint: run 'madang --help' for usage"}},
		{name: "close to a command", args: []string{"evnts"}, want: []string{`did you mean "events"?`}},
		{name: "unknown lb sub-command", args: []string{"lb", "nope"}, want: []string{`unknown command "nope" for "madang lb"`, "hint: run 'madang lb --help' for usage"}},
		{name: "unknown tg sub-command", args: []string{"tg", "nope"}, want: []string{`unknown command "nope" for "madang tg"`}},
		{name: "tg typo", args: []string{"tg", "helth", "web"}, want: []string{`did you mean "health"?`}},
		{name: "unknown flag", args: []string{"ps", "--bogus"}, want: []string{"unknown flag: --bogus", "hint: run 'madang ps --help' for usage"}},
		{name: "unknown shorthand", args: []string{"logs", "-z", "i-01"}, want: []string{"unknown shorthand flag: 'z'"}},
		{name: "flag without value", args: []string{"logs", "i-01", "-n"}, want: []string{"flag needs an argument"}},
		{name: "bad flag value", args: []string{"run", "--launch-template", "web", "--count", "x"}, want: []string{`invalid argument "x"`}},
		{name: "bad output format", args: []string{"ps", "-o", "yaml"}, want: []string{`--output "yaml" is not a format; use table or json`}},
		{name: "bad output format on a group", args: []string{"tg", "ls", "-o", "xml"}, want: []string{"not a format", "madang tg ls --help"}},
		{name: "extra argument", args: []string{"ps", "extra"}, want: []string{`unknown command "extra" for "madang ps"`}},
		{name: "missing argument", args: []string{"describe"}, want: []string{"requires at least 1 arg", "madang describe --help"}},
		{name: "too many arguments", args: []string{"logs", "a", "b"}, want: []string{"accepts between 0 and 1 arg(s), received 2"}},
		{name: "tg health without a name", args: []string{"tg", "health"}, want: []string{"accepts 1 arg(s), received 0"}},
		{name: "action without an id", args: []string{"stop"}, want: []string{"requires at least 1 arg"}},
		{name: "metrics get without a metric", args: []string{"metrics", "get", "AWS/EC2"}, want: []string{"accepts 2 arg(s), received 1"}},
		{name: "metrics put two values", args: []string{"metrics", "put", "A", "B", "1", "--values", "1,2"}, want: []string{"exactly one of VALUE"}},
		{name: "metrics get bad period", args: []string{"metrics", "get", "A", "B", "--period", "1.5s"}, want: []string{"--period"}},
		{name: "alarm set-state bad state", args: []string{"alarms", "set-state", "a", "RED"}, want: []string{"not OK, ALARM or INSUFFICIENT_DATA"}},
		{name: "metrics put bad dimension", args: []string{"metrics", "put", "A", "B", "1", "--dimension", "Shop"}, want: []string{"Name=Value"}},
		{name: "logs without a target", args: []string{"logs"}, want: []string{"give an instance id"}},
		{name: "run without a template", args: []string{"run"}, want: []string{"--launch-template is required"}},
		{name: "bad tag", args: []string{"tag", "i-01", "novalue"}, want: []string{`tag "novalue" is not KEY=VALUE`}},
		{name: "negative lines", args: []string{"logs", "i-01", "-n", "-1"}, want: []string{"--lines -1 must be 0 or more"}},
		{name: "events with an argument", args: []string{"events", "x"}, want: []string{`unknown command "x" for "madang events"`}},
		{name: "apply with an argument", args: []string{"apply", filepath.Join(dir, "x.yaml")}, want: []string{"madang apply"}},
		{name: "version with an argument", args: []string{"version", "x"}, want: []string{"madang version"}},
		{name: "server with an argument", args: []string{"server", "x"}, want: []string{"madang server"}},
		{name: "up with an argument", args: []string{"up", "x"}, want: []string{"madang up"}},
		{name: "startup with an argument", args: []string{"startup", "x"}, want: []string{"madang startup"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t.Context(), t, srv, tc.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, ExitUsage, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not contain %q", stderr, w)
				}
			}
		})
	}
}

func TestErrorsExit1WithHint(t *testing.T) {
	f, srv := fakeDaemon(t)
	cases := []struct {
		name     string
		noDaemon bool
		stackErr error
		args     []string
		want     []string // lines of stderr, in order
	}{
		{name: "unknown instance", args: []string{"describe", "i-404"},
			want: []string{`madang: no instance or instance group named "i-404"`, "hint: see madang ps"}},
		{name: "unknown target group", args: []string{"tg", "health", "nope"},
			want: []string{`madang: no target group "nope"`, "hint: see madang tg ls"}},
		{name: "terminated instance", args: []string{"stop", "i-02"},
			want: []string{"madang: i-02: instance i-02 is terminated"}},
		{name: "bad run count", args: []string{"run", "--launch-template", "web", "--count", "0"},
			want: []string{"madang: count 0 is out of range", "hint: use 1 to 100"}},
		{name: "missing stack file", args: []string{"apply", "-f", "/nonexistent/madang.yaml"},
			want: []string{"madang: stack file /nonexistent/madang.yaml does not exist"}},
		{name: "daemon failure", stackErr: errors.New("disk on fire"), args: []string{"apply", "-f", writeStack(t)},
			want: []string{"madang: the daemon failed: disk on fire", "hint: its log"}},
		{name: "no daemon", noDaemon: true, args: []string{"ps"},
			want: []string{"madang: no madang daemon is running", "hint: start one with `madang server` or `madang up`"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := srv
			if tc.noDaemon {
				s = nil
			}
			f.FailStacks(tc.stackErr)
			stdout, stderr, code := cli(t.Context(), t, s, tc.args...)
			if code != ExitFailure {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, ExitFailure, stdout, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("stderr has %d lines, want %d: %q", len(lines), len(tc.want), stderr)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("stderr line %d = %q, want it to start with %q", i+1, lines[i], w)
				}
			}
		})
	}
}

// jsonDoc decodes one JSON document and reports its top-level kind.
func jsonDoc(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not one JSON document: %v\n%s", err, s)
	}
	return v
}

// jsonLines decodes JSON Lines: every line one object.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestJSONOutput(t *testing.T) {
	_, srv := fakeDaemon(t)
	cases := []struct {
		name string
		args []string
		// check inspects the decoded output.
		array, object bool
		length        int
		field, value  string // in the first (or only) element
	}{
		{name: "ps", args: []string{"ps", "-o", "json"}, array: true, length: 1, field: "id", value: "i-01"},
		{name: "ps all", args: []string{"ps", "-a", "-o", "json"}, array: true, length: 2, field: "id", value: "i-01"},
		{name: "describe one", args: []string{"describe", "i-01", "-o", "json"}, object: true, field: "privateIp", value: "127.16.0.2"},
		{name: "describe a group", args: []string{"describe", "web", "-o", "json"}, array: true, length: 1, field: "group", value: "web"},
		{name: "images", args: []string{"images", "-o", "json"}, array: true, length: 1, field: "id", value: "ami-01"},
		{name: "templates", args: []string{"templates", "-o", "json"}, array: true, length: 1, field: "name", value: "web"},
		{name: "target groups", args: []string{"tg", "ls", "-o", "json"}, array: true, length: 1, field: "arn", value: ""},
		{name: "target health", args: []string{"tg", "health", "web", "-o", "json"}, array: true, length: 1, field: "state", value: "healthy"},
		{name: "load balancers", args: []string{"lb", "ls", "-o", "json"}, array: true, length: 1, field: "spec"},
		{name: "metrics", args: []string{"metrics", "-o", "json"}, array: true, length: 1, field: "name", value: "RequestCount"},
		{name: "stop", args: []string{"stop", "web", "-o", "json"}, array: true, length: 1, field: "state", value: "stopped"},
		{name: "version", args: []string{"version", "-o", "json"}, object: true, field: "version", value: "0.1.0"},
		{name: "diff", args: []string{"diff", "-f", writeStack(t), "-o", "json"}, object: true, field: "stack", value: "demo"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t.Context(), t, srv, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var first map[string]any
			switch v := jsonDoc(t, stdout).(type) {
			case []any:
				if !tc.array || len(v) != tc.length {
					t.Fatalf("got an array of %d, want array=%v of %d:\n%s", len(v), tc.array, tc.length, stdout)
				}
				first, _ = v[0].(map[string]any)
			case map[string]any:
				if !tc.object {
					t.Fatalf("got an object, want an array:\n%s", stdout)
				}
				first = v
			}
			if _, ok := first[tc.field]; !ok {
				t.Fatalf("no field %q in %v", tc.field, first)
			}
			if got, _ := first[tc.field].(string); tc.value != "" && !strings.HasPrefix(got, tc.value) {
				t.Errorf("%s = %q, want %q", tc.field, got, tc.value)
			}
		})
	}
}

func writeStack(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "madang.yaml")
	if err := os.WriteFile(p, []byte("name: demo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStreamsPrintJSONLines(t *testing.T) {
	_, srv := fakeDaemon(t)
	cases := []struct {
		name  string
		args  []string
		field string
		want  []string
	}{
		{name: "events", args: []string{"events", "-o", "json"}, field: "message", want: []string{"running", "target i-01 slow"}},
		{name: "logs", args: []string{"logs", "i-01", "-o", "json"}, field: "text", want: []string{"listening", "warning"}},
		{name: "group logs", args: []string{"logs", "web", "-n", "1", "-o", "json"}, field: "text", want: []string{"warning"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t.Context(), t, srv, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := jsonLines(t, stdout)
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tc.want), stdout)
			}
			for i, w := range tc.want {
				if lines[i][tc.field] != w {
					t.Errorf("line %d %s = %v, want %q", i+1, tc.field, lines[i][tc.field], w)
				}
			}
		})
	}
}

func TestFollowedStreamsAreJSONLines(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		field string
		// add appends one new entry to the stream.
		add  func(t *testing.T, f *apitest.Fake)
		want []string
	}{
		{
			name: "events", args: []string{"events", "-f", "-o", "json"}, field: "message",
			add:  func(t *testing.T, f *apitest.Fake) { f.Events.Info("stack", "demo", "applied") },
			want: []string{"running", "target i-01 slow", "applied"},
		},
		{
			name: "logs", args: []string{"logs", "i-01", "-f", "-o", "json"}, field: "text",
			add: func(t *testing.T, f *apitest.Fake) {
				f.WriteLog(t, "i-01", logfile.Line{Time: time.Now().UTC(), Stream: "out", Text: "new request"})
			},
			want: []string{"listening", "warning", "new request"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := fakeDaemon(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var stdout, stderr syncBuffer
			e := &env{stdout: &stdout, stderr: &stderr, dial: func() *api.Client { return apitest.Client(srv) }}
			done := make(chan int, 1)
			go func() {
				done <- report(&stderr, run(ctx, append([]string{"--home", t.TempDir()}, tc.args...), e))
			}()
			waitLines := func(n int) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for strings.Count(stdout.String(), "\n") < n {
					if time.Now().After(deadline) {
						t.Fatalf("waiting for %d lines, have:\n%s", n, stdout.String())
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			waitLines(len(tc.want) - 1)
			// The follower may not be listening yet; keep adding until
			// a line arrives, then check only the first new one.
			deadline := time.Now().Add(10 * time.Second)
			for strings.Count(stdout.String(), "\n") < len(tc.want) {
				if time.Now().After(deadline) {
					t.Fatalf("no followed line:\n%s", stdout.String())
				}
				tc.add(t, f)
				time.Sleep(50 * time.Millisecond)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			lines := jsonLines(t, stdout.String())
			for i, w := range tc.want {
				if lines[i][tc.field] != w {
					t.Errorf("line %d %s = %v, want %q", i+1, tc.field, lines[i][tc.field], w)
				}
			}
		})
	}
}

func TestGroupsAloneShowHelp(t *testing.T) {
	for _, args := range [][]string{{}, {"lb"}, {"tg"}} {
		t.Run(strings.Join(append([]string{"madang"}, args...), " "), func(t *testing.T) {
			stdout, stderr, code := cli(t.Context(), t, nil, args...)
			if code != 0 || !strings.Contains(stdout, "Available Commands:") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want help and exit 0", code, stdout, stderr)
			}
		})
	}
}

func TestTables(t *testing.T) {
	_, srv := fakeDaemon(t)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{name: "ps", args: []string{"ps"}, want: []string{"ID", "i-01", "running", "127.16.0.2:3000"}},
		{name: "target health", args: []string{"tg", "health", "web"}, want: []string{"healthy", "(1.5ms)"}},
		{name: "version without a daemon's version", args: []string{"version"}, want: []string{"madang 0.1.0", "daemon test"}},
		{name: "apply", args: []string{"apply", "-f", writeStack(t)}, want: []string{"+ image hello", "stack demo: 1 change(s) applied"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t.Context(), t, srv, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout %q does not contain %q", stdout, w)
				}
			}
		})
	}
}
