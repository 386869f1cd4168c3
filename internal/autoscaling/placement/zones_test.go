package placement

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// spread builds instances: counts[i] instances in zone zones[i], IDs
// "<zone>-<n>", the later ones newer.
func spread(zones []string, counts ...int) []Instance {
	var out []Instance
	for i, z := range zones {
		for n := range counts[i] {
			out = append(out, inst(fmt.Sprintf("%s-%d", z, n), z, 100-n, 3))
		}
	}
	return out
}

func TestZoneForLaunch(t *testing.T) {
	abc := []string{"a", "b", "c"}
	tests := []struct {
		name      string
		zones     []string
		instances []Instance
		want      string
	}{
		{"no zones", nil, spread(abc, 1, 0, 0), ""},
		{"empty group: first zone", abc, nil, "a"},
		{"fewest", abc, spread(abc, 2, 1, 2), "b"},
		{"tie: first in group order", abc, spread(abc, 2, 1, 1), "b"},
		{"group order, not name order", []string{"c", "b", "a"}, spread(abc, 1, 1, 1), "c"},
		{"instances outside the group ignored", []string{"a", "b"}, spread(abc, 1, 1, 5), "a"},
		{"protected count too", abc, []Instance{protect(inst("x", "a", 1, 3))}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ZoneForLaunch(tt.zones, tt.instances); got != tt.want {
				t.Errorf("ZoneForLaunch() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRebalanceMargin(t *testing.T) {
	tests := []struct {
		name          string
		desired, want int
	}{
		{"zero", 0, 1}, {"small", 9, 1}, {"ten", 10, 1}, {"eleven rounds up", 11, 2}, {"fifteen", 15, 2}, {"twenty-five", 25, 3}, {"hundred", 100, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RebalanceMargin(tt.desired); got != tt.want {
				t.Errorf("RebalanceMargin(%d) = %d, want %d", tt.desired, got, tt.want)
			}
		})
	}
}

func TestRebalance(t *testing.T) {
	abc := []string{"a", "b", "c"}
	tests := []struct {
		name          string
		zones         []string
		instances     []Instance
		desired       int
		wantLaunch    []string
		wantTerminate []string
	}{
		{"balanced", abc, spread(abc, 2, 2, 2), 6, nil, nil},
		{"balanced with remainder", abc, spread(abc, 3, 2, 2), 7, nil, nil},
		{"no zones", nil, spread(abc, 2, 0, 0), 2, nil, nil},
		{"at desired: launch one first", abc, spread(abc, 4, 1, 1), 6, []string{"b"}, nil},
		{"margin used: terminate oldest in fullest zone", abc, spread(abc, 4, 2, 1), 6, nil, []string{"a-0"}},
		{"margin of 10 % at desired 20", abc, spread(abc, 20, 0, 0), 20,
			[]string{"b", "b"}, nil}, // margin 2; targets 7/7/6 (a keeps an extra, then b by group order): b is furthest below, then ties c
		{"above desired by margin: terminate then", abc, spread(abc, 18, 2, 2), 20, nil, []string{"a-0", "a-1"}},
		{"zone removed from group: launch within the margin", []string{"a", "b"}, spread(abc, 1, 1, 2), 4,
			[]string{"a"}, nil},
		{"zone removed, replacements up", []string{"a", "b"}, spread(abc, 2, 2, 2), 4, nil, []string{"c-0", "c-1"}},
		{"protected instances stay", abc, append(spread(abc, 0, 2, 1), protect(inst("a-p", "a", 500, 3)), inst("a-q", "a", 1, 3), inst("a-r", "a", 2, 3)), 5,
			nil, []string{"a-r"}},
		{"under capacity: launch to the emptiest", abc, spread(abc, 1, 0, 0), 3, []string{"b", "c"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			launch, terminate := Rebalance(tt.zones, tt.instances, tt.desired)
			if !slices.Equal(launch, tt.wantLaunch) {
				t.Errorf("launch = %v, want %v", launch, tt.wantLaunch)
			}
			if got := ids(terminate); !slices.Equal(got, orEmpty(tt.wantTerminate)) {
				t.Errorf("terminate = %v, want %v", got, tt.wantTerminate)
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestRebalanceConverges applies each plan, launching before terminating,
// and checks the group never runs more than the margin above desired.
func TestRebalanceConverges(t *testing.T) {
	abc := []string{"a", "b", "c"}
	tests := []struct {
		name    string
		counts  []int
		desired int
	}{
		{"all in one zone", []int{9, 0, 0}, 9},
		{"large skew", []int{25, 3, 2}, 30},
		{"remainder", []int{7, 0, 0}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			group := spread(abc, tt.counts...)
			margin := RebalanceMargin(tt.desired)
			next := 0
			for step := 0; ; step++ {
				if step > 100 {
					t.Fatal("no convergence in 100 steps")
				}
				launch, terminate := Rebalance(abc, group, tt.desired)
				if len(launch) == 0 && len(terminate) == 0 {
					break
				}
				for _, z := range launch {
					group = append(group, inst(fmt.Sprintf("new-%d", next), z, 0, 3))
					next++
				}
				if len(group) > tt.desired+margin {
					t.Fatalf("step %d: %d instances, more than desired %d + margin %d", step, len(group), tt.desired, margin)
				}
				for _, g := range terminate {
					group = slices.DeleteFunc(group, func(in Instance) bool { return in.ID == g.ID })
				}
			}
			if len(group) != tt.desired {
				t.Fatalf("ended with %d instances, want %d", len(group), tt.desired)
			}
			count := zoneCounts(group)
			lo, hi := tt.desired, 0
			for _, z := range abc {
				lo, hi = min(lo, count[z]), max(hi, count[z])
			}
			if hi-lo > 1 {
				t.Errorf("zones not balanced: %v", count)
			}
		})
	}
}

func TestValidateMaxInstanceLifetime(t *testing.T) {
	tests := []struct {
		name     string
		lifetime time.Duration
		want     string // substring of the error; "" means valid
	}{
		{"off", 0, ""},
		{"one day", 86400 * time.Second, ""},
		{"thirty days", 30 * 24 * time.Hour, ""},
		{"too short", time.Hour, "MaxInstanceLifetime: is less than 86400 seconds (one day) (got 3600)"},
		{"negative", -time.Second, "is less than 86400"},
		{"fractional seconds", 86400*time.Second + time.Millisecond, "whole number of seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateMaxInstanceLifetime(tt.lifetime)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateMaxInstanceLifetime(%v) = %v, want nil", tt.lifetime, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ValidateMaxInstanceLifetime(%v) = %v, want it to contain %q", tt.lifetime, err, tt.want)
			}
		})
	}
}

func TestMaxLifetimeExpired(t *testing.T) {
	day := 24 * time.Hour
	old := func(id string, age time.Duration) Instance {
		return Instance{ID: id, Zone: "a", LaunchTime: t0.Add(-age)}
	}
	group := []Instance{
		old("i-young", day-time.Second), old("i-exact", day), old("i-b", 3*day), old("i-a", 3*day),
		protect(old("i-protected", 10*day)), old("i-oldest", 5*day),
	}
	tests := []struct {
		name     string
		lifetime time.Duration
		want     []string
	}{
		{"off", 0, []string{}},
		{"one day", day, []string{"i-oldest", "i-a", "i-b", "i-exact"}},
		{"four days", 4 * day, []string{"i-oldest"}},
		{"none yet", 30 * day, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(MaxLifetimeExpired(group, tt.lifetime, t0)); !slices.Equal(got, tt.want) {
				t.Errorf("MaxLifetimeExpired(%v) = %v, want %v", tt.lifetime, got, tt.want)
			}
		})
	}
}
