package compute

import (
	"strings"
	"testing"
	"time"
)

// members returns the group's members that run, by id.
func (tc *testCompute) runningMembers(group string) map[string]Instance {
	out := map[string]Instance{}
	for _, in := range tc.svc.Members(group) {
		if v, err := tc.svc.Describe(in.ID); err == nil && v.State == StateRunning && v.Phase == "running" {
			out[in.ID] = in
		}
	}
	return out
}

func (tc *testCompute) eventually(what string, cond func() bool) {
	tc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tc.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (tc *testCompute) events(substr string) bool {
	evs, _ := tc.svc.opts.Events.Since(0)
	for _, e := range evs {
		if strings.Contains(e.Message, substr) {
			return true
		}
	}
	return false
}

// The group controller keeps a group's count: a member terminated by hand
// or errored beyond its restart policy is replaced, with an event naming
// the cause; a launch template change rolls out one member at a time and
// the group's status records it.
func TestGroupControllerReplacesAndRollsOut(t *testing.T) {
	t.Parallel()
	tc := newTestCompute(t)
	count, maxU := 2, 1
	tc.commit(InstanceGroupKind(), &InstanceGroupSpec{Name: "web", LaunchTemplate: "app", Count: &count, MaxUnavailable: &maxU}, "")
	tc.eventually("two running members", func() bool { return len(tc.runningMembers("web")) == 2 })

	var victim string
	for id := range tc.runningMembers("web") {
		victim = id
	}
	if err := tc.svc.Terminate(t.Context(), victim); err != nil {
		t.Fatal(err)
	}
	tc.eventually("a replacement", func() bool {
		m := tc.runningMembers("web")
		_, still := m[victim]
		return len(m) == 2 && !still
	})
	if !tc.events("in response to instance " + victim + " being taken out of service by a user request") {
		t.Fatalf("no event names why %s was replaced", victim)
	}
	in, _ := tc.svc.Instance(victim)
	if in.ReplacedBy == "" {
		t.Errorf("terminated member does not name its replacement: %+v", in)
	}

	// A new launch template version rolls out; members end on version 2.
	tc.commit(LaunchTemplateKind(), &LaunchTemplateSpec{Name: "app", LaunchTemplateData: LaunchTemplateData{
		Image: "app",
		Env:   map[string]string{"GORACE": "atexit_sleep_ms=0", "VERSION": "2"},
		Supervision: SupervisionSpec{
			BackoffInitial: Duration(10 * time.Millisecond), BackoffMax: Duration(50 * time.Millisecond),
			KillTimeout: Duration(2 * time.Second), Readiness: ReadinessSpec{Timeout: Duration(10 * time.Second)},
		},
	}}, "")
	maxDown := 0
	tc.eventually("both members on version 2", func() bool {
		m := tc.runningMembers("web")
		maxDown = max(maxDown, 2-len(m))
		if len(m) != 2 {
			return false
		}
		for _, in := range m {
			if in.Resolved != 2 {
				return false
			}
		}
		return true
	})
	if maxDown > 1 {
		t.Errorf("%d members were down at once during the rollout, want at most maxUnavailable 1", maxDown)
	}
	tc.eventually("the rollout to be recorded as Successful", func() bool {
		st := tc.svc.groupStatus("web")
		return st != nil && st.Rollout == RolloutSuccessful && st.LaunchTemplateVersion == 2 && st.Updated == 2
	})
	if !tc.events("rolling out launch template app v2") || !tc.events("rollout complete") {
		t.Error("the rollout's start and end are not in the events")
	}

	// Scale in to 1: the newest member goes, with the scale-in reason.
	one := 1
	tc.commit(InstanceGroupKind(), &InstanceGroupSpec{Name: "web", LaunchTemplate: "app", Count: &one, MaxUnavailable: &maxU}, "")
	tc.eventually("one member", func() bool { return len(tc.svc.Members("web")) == 1 })
}
