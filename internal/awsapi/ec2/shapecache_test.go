package ec2

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/compute"
)

// appendingCompute is fakeCompute that also lists into a caller's slice,
// as *compute.Service does.
type appendingCompute struct{ *fakeCompute }

func (a appendingCompute) AppendListing(dst []compute.View) []compute.View {
	return append(dst, a.views...)
}

// describeXML answers DescribeInstances through an endpoint over svc, as
// EC2 XML with a fixed request id.
func describeXML(t *testing.T, svc awsapi.Service, params string) string {
	t.Helper()
	ep, err := awsapi.New(awsapi.Options{Services: []awsapi.Service{svc}, Authenticator: awsapi.AllowAll{},
		NewRequestID: func() string { return "00000000-0000-4000-8000-000000000001" }})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader("Action=DescribeInstances&Version=2016-11-15"+params))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	ep.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("HTTP %d: %s", w.Code, w.Body.String())
	}
	return w.Body.String()
}

// Instances that change are described as they are now, never from an
// earlier call's shape, and a described listing is the same as one made
// without a cache.
func TestShapeCacheFollowsChanges(t *testing.T) {
	cases := []struct {
		name   string
		change func(v *compute.View)
		want   string
	}{
		{"state", func(v *compute.View) { v.State = compute.StateStopped }, "<name>stopped</name>"},
		{"tag added", func(v *compute.View) { v.Tags = map[string]string{"Name": "web-0", "team": "edge", "env": "prod"} }, "<key>env</key><value>prod</value>"},
		{"tag value", func(v *compute.View) { v.Tags = map[string]string{"Name": "renamed", "team": "edge"} }, "<value>renamed</value>"},
		{"state reason", func(v *compute.View) { v.StateReason = "User initiated (2026-12-01 00:00:00 GMT)" }, "User initiated (2026-12-01 00:00:00 GMT)"},
		{"launch template version", func(v *compute.View) { v.Resolved = 7 }, "<key>aws:ec2launchtemplate:version</key><value>7</value>"},
		{"address", func(v *compute.View) { v.PrivateIP = "127.16.9.9" }, "<privateIpAddress>127.16.9.9</privateIpAddress>"},
		{"zone", func(v *compute.View) { v.Zone = "local-1c" }, "<availabilityZone>local-1c</availabilityZone>"},
	}
	for _, c := range cases {
		for _, appending := range []bool{false, true} {
			name := c.name
			if appending {
				name += " (listing into a pooled slice)"
			}
			t.Run(name, func(t *testing.T) {
				f := fleet(3)
				var cmp Compute = f
				if appending {
					cmp = appendingCompute{f}
				}
				_, svc := newService(t, cmp)
				describeXML(t, svc, "")
				before := describeXML(t, svc, "")
				if strings.Contains(before, c.want) {
					t.Fatalf("%q already in the answer before the change", c.want)
				}
				c.change(&f.views[0])
				got := describeXML(t, svc, "")
				if !strings.Contains(got, c.want) {
					t.Fatalf("%q not in the answer after the change:\n%s", c.want, got)
				}
				_, fresh := newService(t, cmp)
				if want := describeXML(t, fresh, ""); got != want {
					t.Fatalf("cached answer differs from a fresh one:\n%s\nwant\n%s", got, want)
				}
			})
		}
	}
}

// A terminated instance is listed as terminated while compute keeps it
// (EC2 shows terminated instances for about an hour) and disappears, from
// the answer and the cache, once compute no longer lists it; a listing of
// some ids forgets nothing.
func TestShapeCacheForgets(t *testing.T) {
	f := fleet(4)
	s, svc := newService(t, f)
	id := f.views[1].ID
	describeXML(t, svc, "")
	f.views[1].State = compute.StateTerminated
	f.views[1].PrivateIP = ""
	if got := describeXML(t, svc, ""); !strings.Contains(got, "<instanceId>"+id+"</instanceId>") || !strings.Contains(got, "<name>terminated</name>") {
		t.Fatalf("terminated %s not listed as terminated:\n%s", id, got)
	}
	describeXML(t, svc, "&InstanceId.1="+f.views[0].ID)
	if n := s.cache.cached(); n != 4 {
		t.Fatalf("%d shapes cached after describing one id, want all 4 kept", n)
	}
	f.views = append(f.views[:1], f.views[2:]...) // purged
	if got := describeXML(t, svc, ""); strings.Contains(got, id) {
		t.Fatalf("purged %s still described:\n%s", id, got)
	}
	if n := s.cache.cached(); n != 3 {
		t.Fatalf("%d shapes cached after the purge, want 3", n)
	}
}

// Concurrent describes, some of all instances and some of a few, while
// instances change between calls, share the cache safely (run with -race).
func TestShapeCacheConcurrent(t *testing.T) {
	var mu sync.Mutex
	f := fleet(20)
	lc := &lockedCompute{fakeCompute: f, mu: &mu}
	_, svc := newService(t, lc)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 20 {
				params := ""
				if w%2 == 1 {
					params = "&InstanceId.1=" + f.views[i].ID
				}
				if got := describeXML(t, svc, params); !strings.Contains(got, "<instanceId>"+f.views[i].ID+"</instanceId>") {
					t.Errorf("%s missing", f.views[i].ID)
				}
				mu.Lock()
				f.views[i].Tags = map[string]string{"round": string(rune('a' + w))}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// lockedCompute copies the fake's views under mu, as compute copies its
// records under its lock.
type lockedCompute struct {
	*fakeCompute
	mu *sync.Mutex
}

func (l *lockedCompute) Listing() []compute.View {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]compute.View(nil), l.views...)
}
