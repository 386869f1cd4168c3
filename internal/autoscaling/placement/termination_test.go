package placement

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// inst builds an instance launched minutes before t0 from template "web"
// at version v.
func inst(id, zone string, minutesAgo, v int) Instance {
	return Instance{ID: id, Zone: zone, LaunchTime: t0.Add(-time.Duration(minutesAgo) * time.Minute),
		LaunchTemplate: "web", LaunchTemplateVersion: v, InstanceType: "t3.micro"}
}

func protect(in Instance) Instance { in.Protected = true; return in }

func withTemplate(in Instance, name string) Instance { in.LaunchTemplate = name; return in }

func ids(instances []Instance) []string {
	out := []string{}
	for _, in := range instances {
		out = append(out, in.ID)
	}
	return out
}

func TestValidatePolicies(t *testing.T) {
	tests := []struct {
		name string
		ps   []string
		want []string // substrings of the error; none means valid
	}{
		{"empty means Default", nil, nil},
		{"all AWS names", Policies(), nil},
		{"usual pair", []string{"OldestInstance", "Default"}, nil},
		{"unknown", []string{"Default", "Oldest"}, []string{"TerminationPolicies[1]", `"Oldest"`, "not a termination policy", "use one of Default"}},
		{"wrong case", []string{"oldestinstance"}, []string{"TerminationPolicies[0]", `write "OldestInstance"`, "case-sensitive"}},
		{"lambda", []string{"arn:aws:lambda:us-east-1:1:function:f"}, []string{"TerminationPolicies[0]", "custom termination policy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePolicies(tt.ps)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("ValidatePolicies(%q) = %v, want nil", tt.ps, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidatePolicies(%q) = nil, want an error", tt.ps)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ValidatePolicies(%q) = %q, want it to contain %q", tt.ps, err, w)
				}
			}
		})
	}
}

func TestChooseForTermination(t *testing.T) {
	current := LaunchTemplateRef{Name: "web", Version: 3}
	tests := []struct {
		name      string
		instances []Instance
		n         int
		policies  []string
		want      []string
	}{
		{"nothing to choose", nil, 2, nil, []string{}},
		{"n zero", []Instance{inst("i-a", "a", 10, 3)}, 0, nil, []string{}},
		{"zone with most instances first", []Instance{
			inst("i-a1", "a", 500, 1), inst("i-b1", "b", 10, 3), inst("i-b2", "b", 20, 3)}, 1, nil,
			[]string{"i-b2"}}, // within b, Default: 20 min up leaves 40 min to the hour, 10 min up leaves 50
		{"zones kept balanced over several", []Instance{
			inst("i-a1", "a", 30, 3), inst("i-a2", "a", 31, 3), inst("i-b1", "b", 32, 3), inst("i-b2", "b", 33, 3), inst("i-b3", "b", 34, 3)}, 3, []string{"OldestInstance"},
			[]string{"i-b3", "i-b2", "i-a2"}},
		{"protected count for balance but are never chosen", []Instance{
			protect(inst("i-a1", "a", 30, 1)), protect(inst("i-a2", "a", 30, 1)), inst("i-a3", "a", 30, 3), inst("i-b1", "b", 30, 1)}, 1, nil,
			[]string{"i-a3"}},
		{"zone with only protected instances is skipped", []Instance{
			protect(inst("i-a1", "a", 30, 3)), protect(inst("i-a2", "a", 30, 3)), inst("i-b1", "b", 30, 3)}, 3, nil,
			[]string{"i-b1"}},
		{"default: other template first", []Instance{
			inst("i-1", "a", 10, 1), withTemplate(inst("i-2", "a", 5, 9), "old-web"), inst("i-3", "a", 20, 2)}, 1, nil,
			[]string{"i-2"}},
		{"default: oldest version of current template", []Instance{
			inst("i-1", "a", 10, 3), inst("i-2", "a", 5, 2), inst("i-3", "a", 20, 3)}, 1, []string{"Default"},
			[]string{"i-2"}},
		{"default: closest to next hour", []Instance{
			inst("i-1", "a", 10, 3), inst("i-2", "a", 115, 3), inst("i-3", "a", 70, 3)}, 1, nil,
			[]string{"i-2"}}, // 115 min up: 5 min to the hour
		{"default: smallest ID breaks the last tie", []Instance{
			inst("i-c", "a", 10, 3), inst("i-a", "a", 70, 3), inst("i-b", "a", 130, 3)}, 1, nil,
			[]string{"i-a"}},
		{"OldestInstance", []Instance{
			inst("i-1", "a", 10, 1), inst("i-2", "a", 90, 3), inst("i-3", "a", 20, 1)}, 2, []string{"OldestInstance"},
			[]string{"i-2", "i-3"}},
		{"OldestInstance tie falls to Default", []Instance{
			inst("i-9", "a", 90, 3), inst("i-2", "a", 90, 1), inst("i-3", "a", 20, 1)}, 1, []string{"OldestInstance"},
			[]string{"i-2"}},
		{"NewestInstance", []Instance{
			inst("i-1", "a", 10, 1), inst("i-2", "a", 90, 3), inst("i-3", "a", 20, 1)}, 2, []string{"NewestInstance"},
			[]string{"i-1", "i-3"}},
		{"NewestInstance tie by ID", []Instance{
			inst("i-z", "a", 10, 3), inst("i-y", "a", 10, 3), inst("i-x", "a", 90, 3)}, 1, []string{"NewestInstance"},
			[]string{"i-y"}},
		{"OldestLaunchTemplate then OldestInstance", []Instance{
			withTemplate(inst("i-1", "a", 10, 1), "blue"), withTemplate(inst("i-2", "a", 20, 1), "green"), inst("i-3", "a", 90, 1)}, 1,
			[]string{"OldestLaunchTemplate", "OldestInstance"},
			[]string{"i-2"}},
		{"OldestLaunchTemplate by version", []Instance{
			inst("i-1", "a", 10, 2), inst("i-2", "a", 20, 3), inst("i-3", "a", 90, 3)}, 2, []string{"OldestLaunchTemplate"},
			[]string{"i-1", "i-3"}}, // then v3 tie → Default → closest to hour: 90 min (30 left) vs 20 min (40 left)
		{"ClosestToNextInstanceHour", []Instance{
			inst("i-1", "a", 59, 1), inst("i-2", "a", 61, 3), inst("i-3", "a", 30, 3)}, 1, []string{"ClosestToNextInstanceHour"},
			[]string{"i-1"}},
		{"ClosestToNextInstanceHour beats an old template", []Instance{
			inst("i-1", "a", 50, 1), inst("i-2", "a", 55, 3)}, 1, []string{"ClosestToNextInstanceHour"},
			[]string{"i-2"}},
		{"AllocationStrategy is Default", []Instance{
			inst("i-1", "a", 5, 3), inst("i-2", "a", 55, 2)}, 1, []string{"AllocationStrategy", "NewestInstance"},
			[]string{"i-2"}},
		{"OldestLaunchConfiguration never decides", []Instance{
			inst("i-1", "a", 55, 3), inst("i-2", "a", 5, 3)}, 1, []string{"OldestLaunchConfiguration", "NewestInstance"},
			[]string{"i-2"}},
		{"balanced zones: policy across all zones", []Instance{
			inst("i-a1", "a", 10, 3), inst("i-b1", "b", 300, 3), inst("i-c1", "c", 20, 3)}, 1, []string{"OldestInstance"},
			[]string{"i-b1"}},
		{"more than unprotected", []Instance{
			inst("i-1", "a", 10, 3), protect(inst("i-2", "a", 20, 3))}, 5, nil,
			[]string{"i-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.instances)
			got := ids(ChooseForTermination(tt.instances, tt.n, tt.policies, current, t0))
			if !slices.Equal(got, tt.want) {
				t.Errorf("ChooseForTermination() = %v, want %v", got, tt.want)
			}
			if !slices.Equal(in, tt.instances) {
				t.Errorf("ChooseForTermination changed its input")
			}
		})
	}
}
