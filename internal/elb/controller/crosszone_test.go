package controller

import (
	"context"
	"io"
	"maps"
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/state"
)

// TestCrossZoneAttribute checks that a target group's
// load_balancing.cross_zone.enabled reaches the data plane: one instance
// in local-1a and three in local-1b behind a load balancer in both zones
// share the requests evenly with cross-zone on (the default) and by zone
// with it off; target_group_health.dns_failover reaches it too, taking
// local-1a out when its one target is fewer than the minimum count.
func TestCrossZoneAttribute(t *testing.T) {
	const n = 300
	tests := []struct {
		name  string
		value string // "" leaves the attribute out
		// extra are further target group attributes.
		extra map[string]string
		want  map[string]float64
	}{
		{name: "default: across zones", want: map[string]float64{"i-a": 1.0 / 4, "i-b1": 1.0 / 4, "i-b2": 1.0 / 4, "i-b3": 1.0 / 4}},
		{name: "true: across zones", value: "true", want: map[string]float64{"i-a": 1.0 / 4, "i-b1": 1.0 / 4, "i-b2": 1.0 / 4, "i-b3": 1.0 / 4}},
		{name: "false: each zone half", value: "false", want: map[string]float64{"i-a": 1.0 / 2, "i-b1": 1.0 / 6, "i-b2": 1.0 / 6, "i-b3": 1.0 / 6}},
		{name: "false with dns_failover count 2: local-1a's one target leaves, local-1b takes everything", value: "false",
			extra: map[string]string{elb.AttrDNSFailoverMinCount: "2"},
			want:  map[string]float64{"i-a": 0, "i-b1": 1.0 / 3, "i-b2": 1.0 / 3, "i-b3": 1.0 / 3}},
		{name: "false with dns_failover off and 100 %: local-1a's one healthy target is all of it, each zone half", value: "false",
			extra: map[string]string{elb.AttrDNSFailoverMinCount: "off", elb.AttrDNSFailoverMinPercent: "100"},
			want:  map[string]float64{"i-a": 1.0 / 2, "i-b1": 1.0 / 6, "i-b2": 1.0 / 6, "i-b3": 1.0 / 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst := &fakeInstances{}
			zones := map[string]string{"i-a": "local-1a", "i-b1": "local-1b", "i-b2": "local-1b", "i-b3": "local-1b"}
			for id, zone := range zones {
				inst.add(t, id, backend(t, id))
				in := inst.m[id]
				in.Zone = zone
				inst.m[id] = in
			}
			c, err := New(context.Background(), Options{Home: t.TempDir(), Store: state.NewMemory(), Events: event.New(512, nil),
				Instances: inst, Zones: []string{"local-1a", "local-1b", "local-1c"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = c.Close(ctx)
			})
			tg := instanceGroup("web", 0, "i-a", "i-b1", "i-b2", "i-b3")
			if tc.value != "" {
				tg.Spec.Attributes[elb.AttrCrossZone] = tc.value
			}
			maps.Copy(tg.Spec.Attributes, tc.extra)
			port := freePort(t)
			lb := lbSpec("web", port, "web")
			lb.Spec.Subnets = []elb.SubnetMapping{{Subnet: "subnet-a", AvailabilityZone: "local-1a"}, {Subnet: "subnet-b", AvailabilityZone: "local-1b"}}
			if err := commit(c, &Change{TargetGroups: []*TargetGroup{tg}, LoadBalancers: []*LoadBalancer{lb}}); err != nil {
				t.Fatal(err)
			}
			waitHealthy(t, c, "web", 4)
			got := map[string]int{}
			cl := &http.Client{Timeout: 5 * time.Second}
			defer cl.CloseIdleConnections()
			for i := range n {
				resp, err := cl.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("request %d: status %d (%s)", i, resp.StatusCode, body)
				}
				got[string(body)]++
			}
			for id, share := range tc.want {
				want := share * n
				if math.Abs(float64(got[id])-want) > 0.4*want || (want == 0 && got[id] != 0) {
					t.Errorf("%s (%s) served %d of %d requests, want about %.0f (all: %v)", id, zones[id], got[id], n, want, got)
				}
			}
		})
	}
}
