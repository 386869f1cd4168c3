package api

import (
	"testing"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/compute"
)

func TestQuietestZone(t *testing.T) {
	zones := autoscaling.Zones()
	if len(zones) < 2 {
		t.Skip("fewer than two zones")
	}
	// With a third zone it is the quietest; with two they are equal and
	// the first wins.
	next := zones[0]
	if len(zones) > 2 {
		next = zones[2]
	}
	live := func(zone string, st compute.InstanceState) compute.View {
		var v compute.View
		v.Zone, v.State = zone, st
		return v
	}
	for _, tc := range []struct {
		name string
		ins  []compute.View
		want string
	}{
		{"none: the first zone", nil, zones[0]},
		{"the first is busier", []compute.View{live(zones[0], compute.StateRunning)}, zones[1]},
		{"terminated ones do not count", []compute.View{live(zones[0], compute.StateTerminated)}, zones[0]},
		{"stopped ones count: the next zone", []compute.View{live(zones[0], compute.StateRunning), live(zones[1], compute.StateStopped)}, next},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quietestZone(tc.ins); got != tc.want {
				t.Errorf("quietestZone = %q, want %q", got, tc.want)
			}
		})
	}
}
