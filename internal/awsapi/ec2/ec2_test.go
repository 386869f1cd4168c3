package ec2

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
)

// fakeCompute serves fixed instances, images and templates.
type fakeCompute struct {
	Compute
	views []compute.View
}

func (f *fakeCompute) Listing() []compute.View { return f.views }
func (f *fakeCompute) Images() []compute.Image {
	return []compute.Image{{ID: "ami-0aaa", Spec: compute.ImageSpec{Name: "app", Port: 3000}}}
}
func (f *fakeCompute) LaunchTemplates() []compute.LaunchTemplate {
	return []compute.LaunchTemplate{{ID: "lt-0aaa", Name: "app", DefaultVersion: 1}}
}

func fleet(n int) *fakeCompute {
	f := &fakeCompute{}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		st := compute.StateRunning
		if i%10 == 9 {
			st = compute.StateStopped
		}
		f.views = append(f.views, compute.View{Phase: "running", Instance: compute.Instance{
			ID: fmt.Sprintf("i-0%016x", i+1), Image: "app", InstanceType: "t3.micro", State: st, LaunchTemplate: "app", Resolved: 1,
			PrivateIP: fmt.Sprintf("127.16.%d.%d", i/250, i%250+2), Port: 3000, LaunchTime: t0.Add(time.Duration(i) * time.Second),
			Tags: map[string]string{"Name": fmt.Sprintf("web-%d", i%3), "team": "edge"}, Zone: []string{"local-1a", "local-1b"}[i%2],
		}})
	}
	return f
}

func newService(t testing.TB, c Compute) (*Service, awsapi.Service) {
	s, svc, err := build(Options{Compute: c, Region: "local", AccountID: "000000000000", Zones: []string{"local-1a", "local-1b", "local-1c"}})
	if err != nil {
		t.Fatal(err)
	}
	return s, svc
}

func call(t testing.TB, svc awsapi.Service, op string, in map[string]any) (map[string]any, error) {
	return svc.Handlers[op](context.Background(), &awsapi.Call{Operation: svc.Model.Operation(op), Input: protocol.Struct(in)})
}

func TestDescribeInstancesFilters(t *testing.T) {
	_, svc := newService(t, fleet(30))
	filter := func(name string, vals ...string) map[string]any {
		var vs []any
		for _, v := range vals {
			vs = append(vs, v)
		}
		return map[string]any{"Name": name, "Values": vs}
	}
	cases := []struct {
		name    string
		filters []any
		ids     []any
		want    int
		code    string
	}{
		{"all", nil, nil, 30, ""},
		{"state", []any{filter("instance-state-name", "stopped")}, nil, 3, ""},
		{"tag wildcard", []any{filter("tag:Name", "web-?")}, nil, 30, ""},
		{"tag exact", []any{filter("tag:Name", "web-1")}, nil, 10, ""},
		{"two filters AND", []any{filter("tag:Name", "web-1"), filter("availability-zone", "local-1b")}, nil, 5, ""},
		{"values OR", []any{filter("tag:Name", "web-1", "web-2")}, nil, 20, ""},
		{"star crosses everything", []any{filter("private-ip-address", "127.16.0.*")}, nil, 30, ""},
		{"missing tag matches nothing", []any{filter("tag:owner", "*")}, nil, 0, ""},
		{"ids", nil, []any{"i-00000000000000001", "i-00000000000000002"}, 2, ""},
		{"unknown filter", []any{filter("flavour", "x")}, nil, 0, "InvalidParameterValue"},
		{"missing id", nil, []any{"i-0ffffffffffffffff"}, 0, "InvalidInstanceID.NotFound"},
		{"malformed id", nil, []any{"web-1"}, 0, "InvalidInstanceID.Malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := map[string]any{}
			if c.filters != nil {
				in["Filters"] = c.filters
			}
			if c.ids != nil {
				in["InstanceIds"] = c.ids
			}
			out, err := call(t, svc, "DescribeInstances", in)
			if c.code != "" {
				pe, ok := err.(*protocol.Error)
				if !ok || pe.Code != c.code {
					t.Fatalf("err = %v, want code %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(out["Reservations"].([]any)); got != c.want {
				t.Fatalf("%d reservations, want %d", got, c.want)
			}
		})
	}
}

func TestDescribeInstancesPages(t *testing.T) {
	_, svc := newService(t, fleet(12))
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		in := map[string]any{"MaxResults": int64(5)}
		if token != "" {
			in["NextToken"] = token
		}
		out, err := call(t, svc, "DescribeInstances", in)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out["Reservations"].([]any) {
			id := r.(*protocol.Frozen).Fields()["Instances"].([]any)[0].(map[string]any)["InstanceId"].(string)
			if seen[id] {
				t.Fatalf("%s on two pages", id)
			}
			seen[id] = true
		}
		next, _ := out["NextToken"].(string)
		if next == "" {
			if pages != 2 || len(seen) != 12 {
				t.Fatalf("%d pages, %d instances; want 3 pages of 12", pages+1, len(seen))
			}
			return
		}
		token = next
	}
}

func TestWildcard(t *testing.T) {
	cases := []struct {
		pattern, value string
		want           bool
	}{
		{"web", "web", true}, {"web", "webs", false}, {"w*", "web/1", true}, {"*1", "web/1", true},
		{"w?b", "web", true}, {"w?b", "wb", false}, {`w\*b`, "w*b", true}, {`w\*b`, "wxb", false},
		{"[ab]", "a", false}, {"[ab]", "[ab]", true}, {"*", "", true}, {"", "", true},
	}
	for _, c := range cases {
		if got := wildcard(c.pattern, c.value); got != c.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", c.pattern, c.value, got, c.want)
		}
	}
}

// The handler's own share of DescribeInstances of 1,000 instances (the
// codec's is measured in package protocol).
func BenchmarkDescribeInstances1000(b *testing.B) {
	_, svc := newService(b, fleet(1000))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := call(b, svc, "DescribeInstances", map[string]any{}); err != nil {
			b.Fatal(err)
		}
	}
}

// DescribeInstances of 1,000 instances through the endpoint (decode,
// handler, EC2 XML), as a client's second and later calls see it.
func BenchmarkDescribeInstancesEndpoint1000(b *testing.B) {
	_, svc := newService(b, fleet(1000))
	ep, err := awsapi.New(awsapi.Options{Services: []awsapi.Service{svc}, Authenticator: awsapi.AllowAll{}})
	if err != nil {
		b.Fatal(err)
	}
	body := "Action=DescribeInstances&Version=2016-11-15"
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		ep.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("HTTP %d: %s", w.Code, w.Body.String())
		}
	}
}

// RunInstances refuses bad input before anything is launched.
func TestRunInstancesRefusals(t *testing.T) {
	_, svc := newService(t, fleet(1))
	cases := []struct {
		name string
		in   map[string]any
		code string
	}{
		{"unknown instance type", map[string]any{"ImageId": "ami-0aaa", "InstanceType": "t9.huge", "MinCount": int64(1), "MaxCount": int64(1)}, "InvalidParameterValue"},
		{"no image or template", map[string]any{"MinCount": int64(1), "MaxCount": int64(1)}, "MissingParameter"},
		{"unknown image", map[string]any{"ImageId": "ami-0bbb", "MinCount": int64(1), "MaxCount": int64(1)}, "InvalidAMIID.NotFound"},
		{"max below min", map[string]any{"ImageId": "ami-0aaa", "MinCount": int64(2), "MaxCount": int64(1)}, "InvalidParameterValue"},
		{"too many", map[string]any{"ImageId": "ami-0aaa", "MinCount": int64(1), "MaxCount": int64(101)}, "InstanceLimitExceeded"},
		{"bad user data", map[string]any{"ImageId": "ami-0aaa", "MinCount": int64(1), "MaxCount": int64(1), "UserData": "%%%"}, "InvalidParameterValue"},
		{"unknown subnet", map[string]any{"ImageId": "ami-0aaa", "MinCount": int64(1), "MaxCount": int64(1), "SubnetId": "subnet-0"}, "InvalidSubnetID.NotFound"},
		{"unknown zone", map[string]any{"ImageId": "ami-0aaa", "MinCount": int64(1), "MaxCount": int64(1), "Placement": map[string]any{"AvailabilityZone": "mars-1a"}}, "InvalidParameterValue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := call(t, svc, "RunInstances", c.in)
			pe, ok := err.(*protocol.Error)
			if !ok || pe.Code != c.code {
				t.Fatalf("err = %v, want %s", err, c.code)
			}
		})
	}
}
