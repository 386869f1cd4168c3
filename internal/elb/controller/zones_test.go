package controller

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/state"
)

// TestZoneHostCounts checks that instance targets count in their
// instance's zone (the region's first when it was placed in none) and that
// every zone of the load balancer reports host counts: its subnets'
// zones, or every zone of the region without subnets.
func TestZoneHostCounts(t *testing.T) {
	region := []string{"local-1a", "local-1b", "local-1c"}
	tests := []struct {
		name    string
		subnets []elb.SubnetMapping
		want    map[string]int64 // zone -> HealthyHostCount
	}{
		{
			name:    "subnets: their zones",
			subnets: []elb.SubnetMapping{{Subnet: "subnet-a", AvailabilityZone: "local-1a"}, {Subnet: "subnet-b", AvailabilityZone: "local-1b"}},
			want:    map[string]int64{"local-1a": 2, "local-1b": 1},
		},
		{
			name: "no subnets: every zone of the region",
			want: map[string]int64{"local-1a": 2, "local-1b": 1, "local-1c": 0},
		},
		{
			name:    "a subnet's zone without targets",
			subnets: []elb.SubnetMapping{{Subnet: "subnet-c", AvailabilityZone: "local-1c"}},
			want:    map[string]int64{"local-1a": 2, "local-1b": 1, "local-1c": 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst := &fakeInstances{}
			for id, zone := range map[string]string{"i-a": "local-1a", "i-b": "local-1b", "i-c": ""} {
				inst.add(t, id, backend(t, id))
				in := inst.m[id]
				in.Zone = zone
				inst.m[id] = in
			}
			c, err := New(context.Background(), Options{Home: t.TempDir(), Store: state.NewMemory(), Events: event.New(512, nil),
				Instances: inst, Zones: region})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = c.Close(ctx)
			})
			tg := instanceGroup("web", 0, "i-a", "i-b", "i-c")
			lb := lbSpec("web", freePort(t), "web")
			lb.Spec.Subnets = tc.subnets
			if err := commit(c, &Change{TargetGroups: []*TargetGroup{tg}, LoadBalancers: []*LoadBalancer{lb}}); err != nil {
				t.Fatal(err)
			}
			waitHealthy(t, c, "web", 3)
			s, err := c.MetricsSnapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, z := range s.Zones {
				if z.LoadBalancer != "web" || z.TargetGroup != "web" {
					t.Errorf("zone %s of %s behind %s, want only web's", z.AvailabilityZone, z.TargetGroup, z.LoadBalancer)
				}
				if z.UnHealthyHostCount != 0 {
					t.Errorf("%s: UnHealthyHostCount %d, want 0", z.AvailabilityZone, z.UnHealthyHostCount)
				}
				got[z.AvailabilityZone] = z.HealthyHostCount
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("HealthyHostCount by zone %v, want %v", got, tc.want)
			}
		})
	}
}

// TestIPTargetsHaveNoZone checks that an ip target counts in its group
// only: madang does not know the zone of an address.
func TestIPTargetsHaveNoZone(t *testing.T) {
	c, _ := newController(t)
	tg := ipGroup(t, "ips", backend(t, "a"))
	if err := commit(c, &Change{TargetGroups: []*TargetGroup{tg}, LoadBalancers: []*LoadBalancer{lbSpec("ips", freePort(t), "ips")}}); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	ts, _ := c.resolveTargets(c.tgs["ips"])
	c.mu.Unlock()
	if len(ts) != 1 || ts[0].Zone != "" {
		t.Errorf("ip targets %+v, want one without a zone", ts)
	}
	in := compute.Instance{ID: "i-1"}
	if z := c.zoneOf(in); z != "" {
		t.Errorf("zoneOf an unplaced instance without region zones = %q, want \"\"", z)
	}
}
