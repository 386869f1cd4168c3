package compute

import (
	"fmt"
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

// appTemplate is the test launch template with extra env and a small
// restart budget (a crashing version errors fast).
func appTemplate(env map[string]string) *LaunchTemplateSpec {
	e := map[string]string{"GORACE": "atexit_sleep_ms=0"}
	for k, v := range env {
		e[k] = v
	}
	return &LaunchTemplateSpec{Name: "app", LaunchTemplateData: LaunchTemplateData{
		Image: "app", Env: e,
		Supervision: SupervisionSpec{
			MaxRestarts: 2, BackoffInitial: Duration(10 * time.Millisecond), BackoffMax: Duration(20 * time.Millisecond),
			KillTimeout: Duration(2 * time.Second), Readiness: ReadinessSpec{Timeout: Duration(10 * time.Second)},
		},
	}}
}

// A version that crashes fails the rollout at its first member: the
// others keep serving the previous version, the status says why, and the
// next version rolls out again.
func TestRolloutFailsOnACrashingVersion(t *testing.T) {
	t.Parallel()
	tc := newTestCompute(t)
	tc.commit(LaunchTemplateKind(), appTemplate(nil), "")
	count, maxU := 2, 1
	tc.commit(InstanceGroupKind(), &InstanceGroupSpec{Name: "web", LaunchTemplate: "app", Count: &count, MaxUnavailable: &maxU}, "")
	tc.eventually("two running members", func() bool { return len(tc.runningMembers("web")) == 2 })

	tc.commit(LaunchTemplateKind(), appTemplate(map[string]string{"CRASH": "1"}), "")
	tc.eventually("the rollout to fail", func() bool {
		st := tc.svc.groupStatus("web")
		return st != nil && st.Rollout == RolloutFailed && strings.Contains(st.Reason, "errored on launch template app v")
	})
	if !tc.events("rollout failed: instance") {
		t.Error("no event says the rollout failed")
	}
	// The rollout stopped: a member still runs the previous version (2;
	// the harness's own template is 1, the crashing one 3) and keeps
	// serving for a while after.
	for range 20 {
		old := 0
		for _, in := range tc.runningMembers("web") {
			if in.Resolved == 2 {
				old++
			}
		}
		if old != 1 {
			var desc []string
			for _, in := range tc.svc.Members("web") {
				v, _ := tc.svc.Describe(in.ID)
				desc = append(desc, fmt.Sprintf("%s v%d %s/%s %s", in.ID, in.Resolved, v.State, v.Phase, v.StateReason))
			}
			evl, _ := tc.svc.opts.Events.Since(0)
			var evs []string
			for _, e := range evl {
				evs = append(evs, e.Resource+": "+e.Message)
			}
			t.Fatalf("%d members run the previous version after the failed rollout, want 1:\n%s\nevents:\n%s", old, strings.Join(desc, "\n"), strings.Join(evs, "\n"))
		}
		time.Sleep(25 * time.Millisecond)
	}

	// A fixed version rolls out to every member.
	tc.commit(LaunchTemplateKind(), appTemplate(map[string]string{"FIXED": "1"}), "")
	tc.eventually("every member on version 4", func() bool {
		m := tc.runningMembers("web")
		if len(m) != 2 {
			return false
		}
		for _, in := range m {
			if in.Resolved != 4 {
				return false
			}
		}
		st := tc.svc.groupStatus("web")
		return st != nil && st.Rollout == RolloutSuccessful && st.LaunchTemplateVersion == 4
	})
}
