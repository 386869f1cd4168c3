package stack

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
)

func TestParseResolvesAndDefaults(t *testing.T) {
	s, err := Load(testKinds, filepath.Join("testdata", "full.good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"stack name from directory", s.Name, "testdata"},
		{"dir", s.Dir, dir},
		{"path", s.Path, filepath.Join(dir, "full.good.yaml")},
		{"image source resolved", images(s)[0].Source, filepath.Join(dir, "hello")},
		{"static root resolved", lbs(s)[0].Listeners[0].Rules[4].Actions[0].Static.Root, filepath.Join(dir, "public")},
		{"merge key copies env", templates(s)[1].Env["GREETING"], "hello"},
		{"merge key keeps explicit name", templates(s)[1].Name, "hello-canary"},
		{"stop signal normalized", templates(s)[0].Supervision.StopSignal, "SIGINT"},
		{"bare number duration is seconds", templates(s)[0].Supervision.MinUptime.D(), 2 * time.Second},
		{"default instance type", templates(s)[0].InstanceType, "t3.micro"},
		{"default kill timeout kept explicit", templates(s)[0].Supervision.KillTimeout.D(), 10 * time.Second},
		{"count zero kept", *groups(s)[1].Count, 0},
		{"default version", groups(s)[0].Version, "$Latest"},
		{"target weight default", *tgs(s)[0].Targets[1].Weight, 1},
		{"health check default interval", tgs(s)[1].HealthCheck.IntervalSeconds, 30},
		{"action type inferred", lbs(s)[0].Listeners[0].DefaultActions[0].Type, "forward"},
		{"forward weight default", *lbs(s)[0].Listeners[0].Rules[2].Actions[0].Forward.TargetGroups[0].Weight, 1},
		{"fixed-response content type default", lbs(s)[0].Listeners[1].DefaultActions[0].FixedResponse.ContentType, "text/plain"},
		{"static index default", lbs(s)[0].Listeners[0].Rules[4].Actions[0].Static.Index, "index.html"},
		{"lb address default", lbs(s)[0].Address, "127.0.0.1"},
		{"attribute number as string", lbs(s)[0].Attributes["idle_timeout.timeout_seconds"], "120"},
		{"attribute bool as string", lbs(s)[0].Attributes["access_logs.enabled"], "false"},
		{"target group cross-zone off", tgs(s)[1].Attributes["load_balancing.cross_zone.enabled"], "false"},
		{"target group dns_failover count off", tgs(s)[1].Attributes["target_group_health.dns_failover.minimum_healthy_targets.count"], "off"},
		{"target group unhealthy_state_routing percentage", tgs(s)[1].Attributes["target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage"], "50"},
		{"load balancer cross-zone on", lbs(s)[0].Attributes["load_balancing.cross_zone.enabled"], "true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestNameFromDir(t *testing.T) {
	tests := []struct{ dir, want string }{
		{"/srv/quickstart", "quickstart"},
		{"/home/me/My_Project", "my-project"},
		{"/x/--weird..name--", "weird-name"},
		{"/x/한글", "default"},
		{"/", "default"},
		{"/x/" + strings.Repeat("a", 70), strings.Repeat("a", 63)},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			if got := nameFromDir(tc.dir); got != tc.want {
				t.Errorf("nameFromDir(%q) = %q, want %q", tc.dir, got, tc.want)
			}
		})
	}
}

func TestErrorStructure(t *testing.T) {
	_, err := Parse(testKinds, "madang.yaml", []byte("images:\n  - name: hello\n    port: 70000\n"), "testdata")
	var serr *Error
	if !errors.As(err, &serr) {
		t.Fatalf("got %T, want *Error", err)
	}
	var fe *fielderr.Error
	if !errors.As(err, &fe) {
		t.Fatalf("errors.As(*fielderr.Error) failed on %v", err)
	}
	var port *Problem
	for i := range serr.Problems {
		if serr.Problems[i].Err.Path == "images[0].port" {
			port = &serr.Problems[i]
		}
	}
	if port == nil {
		t.Fatalf("no problem for images[0].port in:\n%v", err)
	}
	if port.File != "madang.yaml" || port.Line != 3 || port.Column != 5 || port.Err.Value != "70000" {
		t.Errorf("problem = %+v %+v, want madang.yaml:3:5 with value 70000", *port, *port.Err)
	}
	want := "madang.yaml:3:5: images[0].port: is out of range (got 70000); use a port from 1 to 65535"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error does not contain %q:\n%v", want, err)
	}
}

func TestProblemsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("images:\n")
	for range 150 {
		b.WriteString("  - {name: BAD}\n")
	}
	_, err := Parse(testKinds, "madang.yaml", []byte(b.String()), "testdata")
	var serr *Error
	if !errors.As(err, &serr) {
		t.Fatalf("got %v, want *Error", err)
	}
	if got := len(serr.Problems); got != maxProblems+1 {
		t.Errorf("got %d problems, want %d", got, maxProblems+1)
	}
	if last := serr.Problems[len(serr.Problems)-1].String(); !strings.Contains(last, "more problems") {
		t.Errorf("last problem = %q, want the count of the rest", last)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(testKinds, filepath.Join(t.TempDir(), "madang.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(testKinds, missing) = %v, want an error wrapping os.ErrNotExist", err)
	}
}

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(testKinds, "fuzz.yaml", data, "testdata")
		if err != nil {
			var serr *Error
			if !errors.As(err, &serr) || len(serr.Problems) == 0 {
				t.Fatalf("Parse error is %T with no problems: %v", err, err)
			}
			for _, p := range serr.Problems {
				if p.Err == nil || p.Err.Problem == "" {
					t.Fatalf("empty problem in %v", err)
				}
			}
			return
		}
		if changes := Diff(testKinds, s, s); len(changes) != 0 {
			t.Fatalf("Diff(s, s) = %v", changes)
		}
	})
}

func TestPortClashes(t *testing.T) {
	lb := func(name, addr string, port int) string {
		return "  - name: " + name + "\n    address: \"" + addr + "\"\n    listeners:\n      - port: " + strconv.Itoa(port) +
			"\n        defaultActions: [{fixedResponse: {statusCode: '200'}}]\n"
	}
	tests := []struct {
		name string
		lbs  string
		want string // substring of the error, "" for none
	}{
		{"different ports", lb("a", "127.0.0.1", 80) + lb("b", "127.0.0.1", 81), ""},
		{"different addresses", lb("a", "127.0.0.1", 80) + lb("b", "127.0.0.2", 80), ""},
		{"same address", lb("a", "127.0.0.1", 80) + lb("b", "127.0.0.1", 80),
			`loadBalancers[1].listeners[0].port: clashes with loadBalancers[0].listeners[0] (load balancer "a" on 127.0.0.1)`},
		{"wildcard after", lb("a", "127.0.0.1", 80) + lb("b", "0.0.0.0", 80),
			`loadBalancers[1].listeners[0].port: clashes with loadBalancers[0].listeners[0]`},
		{"wildcard before", lb("a", "::", 80) + lb("b", "127.0.0.3", 81) + lb("c", "127.0.0.3", 80),
			`loadBalancers[2].listeners[0].port: clashes with loadBalancers[0].listeners[0] (load balancer "a" on ::)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(testKinds, "madang.yaml", []byte("loadBalancers:\n"+tc.lbs), "testdata")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got error:\n%v\nwant none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got error:\n%v\nwant one containing %q", err, tc.want)
			}
		})
	}
}
