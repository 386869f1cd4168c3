package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/fault"
)

// Resources made outside stack files go through the same checks and
// controllers as a stack's, belong to no stack, and neither side takes the
// other's resources.
func TestHandMadeResources(t *testing.T) {
	d := runDaemon(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := resources{d}

	// A target group by API: stored without an owner, served by the ELB
	// controller.
	if _, _, err := r.Put(ctx, "target-group", "api-tg", []byte(`{"name":"api-tg","port":8080,"healthCheck":{"path":"/up"}}`)); err != nil {
		t.Fatalf("put target group: %v", err)
	}
	got, err := r.Get(ctx, "target-group", "api-tg")
	if err != nil || got.Owner != "" {
		t.Fatalf("stored target group = %+v, %v; want one without owner", got, err)
	}
	found := false
	for _, tg := range d.elb.TargetGroups() {
		found = found || tg.Spec.Name == "api-tg"
	}
	if !found {
		t.Fatal("the ELB controller does not serve the target group made by API")
	}

	dir := t.TempDir()
	stackYAML := `name: s1
targetGroups:
  - name: stack-tg
`
	if _, err := (stacks{d}).Apply(ctx, api.StackRequest{Path: filepath.Join(dir, "madang.yaml"), YAML: stackYAML}); err != nil {
		t.Fatalf("apply: %v", err)
	}

	cases := []struct {
		name string
		do   func() error
		code fault.Code
		text string
	}{
		{"unknown field", func() error {
			_, _, err := r.Put(ctx, "target-group", "x", []byte(`{"name":"x","prot":"HTTP"}`))
			return err
		}, fault.Invalid, "unknown field"},
		{"name differs from path", func() error {
			_, _, err := r.Put(ctx, "target-group", "x", []byte(`{"name":"y"}`))
			return err
		}, fault.Invalid, "differs"},
		{"invalid spec names the field", func() error {
			_, _, err := r.Put(ctx, "tg", "x", []byte(`{"name":"x","port":70000}`))
			return err
		}, fault.Invalid, "port"},
		{"stack's resource is not taken over", func() error {
			_, _, err := r.Put(ctx, "target-group", "stack-tg", []byte(`{"name":"stack-tg","port":9000}`))
			return err
		}, fault.Conflict, `belongs to stack "s1"`},
		{"stack's resource is not deleted", func() error {
			return r.Delete(ctx, "target-group", "stack-tg")
		}, fault.Conflict, `belongs to stack "s1"`},
		{"missing reference", func() error {
			_, _, err := r.Put(ctx, "launch-template", "lt", []byte(`{"name":"lt","image":"nope"}`))
			return err
		}, fault.NotFound, `"nope"`},
		{"unknown kind", func() error {
			_, _, err := r.Put(ctx, "bucket", "b", []byte(`{}`))
			return err
		}, fault.NotFound, "bucket"},
		{"delete of nothing", func() error { return r.Delete(ctx, "target-group", "nope") }, fault.NotFound, "nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.do()
			if fault.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("err = %v (code %s); want code %s containing %q", err, fault.CodeOf(err), c.code, c.text)
			}
		})
	}

	// A stack that declares the hand-made target group is refused.
	taking := `name: s2
targetGroups:
  - name: api-tg
`
	_, err = (stacks{d}).Apply(ctx, api.StackRequest{Path: filepath.Join(dir, "other.yaml"), YAML: taking})
	if err == nil || !strings.Contains(err.Error(), "made by hand") {
		t.Fatalf("apply taking over a hand-made target group: %v; want a conflict", err)
	}

	// Update, then a referrer blocks the delete until it goes.
	if _, _, err := r.Put(ctx, "target-group", "api-tg", []byte(`{"name":"api-tg","port":8081}`)); err != nil {
		t.Fatalf("update: %v", err)
	}
	var port int
	for _, tg := range d.elb.TargetGroups() {
		if tg.Spec.Name == "api-tg" {
			port = tg.Spec.Port
		}
	}
	if port != 8081 {
		t.Fatalf("served port after update = %d, want 8081", port)
	}
	lb := fmt.Sprintf(`{"name":"api-lb","listeners":[{"port":%d,"defaultActions":[{"type":"forward","targetGroup":"api-tg"}]}]}`, freePort(t))
	if _, _, err := r.Put(ctx, "load-balancer", "api-lb", []byte(lb)); err != nil {
		t.Fatalf("put load balancer: %v", err)
	}
	err = r.Delete(ctx, "target-group", "api-tg")
	if !errors.Is(err, fault.ErrInUse) || !strings.Contains(err.Error(), `load balancer "api-lb"`) {
		t.Fatalf("delete of a used target group: %v; want InUse naming the load balancer", err)
	}
	if err := r.Delete(ctx, "load-balancer", "api-lb"); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "target-group", "api-tg"); err != nil {
		t.Fatal(err)
	}
	for _, tg := range d.elb.TargetGroups() {
		if tg.Spec.Name == "api-tg" {
			t.Fatal("deleted target group still served")
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// New records' ARNs name the account and region the daemon runs with.
func TestARNsNameTheConfiguredAccount(t *testing.T) {
	d := runDaemon(t, Config{AWSAccount: "123456789012", AWSRegion: "eu-west-1"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := (resources{d}).Put(ctx, "target-group", "tg", []byte(`{"name":"tg"}`)); err != nil {
		t.Fatal(err)
	}
	tgs := d.elb.TargetGroups()
	if len(tgs) != 1 || !strings.HasPrefix(tgs[0].ARN, "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/") {
		t.Fatalf("target groups %+v; want an ARN in eu-west-1 of 123456789012", tgs)
	}
}
