package autoscaling

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/appspec"
)

// shellRevision writes image version v's snapshot: an appspec whose every
// scriptable hook is a shell script appending "<instance> <event> v<v>
// <deployment> <group>" to the file log; the scripts of the events in
// fail print a reason and exit 1.
func shellRevision(t *testing.T, v int, log string, fail ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("v%d", v))
	var b strings.Builder
	b.WriteString("version: 0.0\nos: linux\nhooks:\n")
	for _, e := range appspec.Events {
		if appspec.Reserved(e) {
			continue
		}
		fmt.Fprintf(&b, "  %s:\n    - location: hooks/%s.sh\n      timeout: 30\n", e, e)
		script := fmt.Sprintf("#!/bin/sh\necho \"$INSTANCE_ID $LIFECYCLE_EVENT v%d $DEPLOYMENT_ID $DEPLOYMENT_GROUP_NAME\" >> %s\necho \"checking $LIFECYCLE_EVENT\"\n", v, log)
		if slices.Contains(fail, e) {
			script += "echo \"not ready: port 8081 refused\"\nexit 1\n"
		}
		p := filepath.Join(dir, "hooks", e+".sh")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, appspec.FileName), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// plainRevision writes a snapshot without appspec.yml.
func plainRevision(t *testing.T, v int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("v%d", v))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), fmt.Appendf(nil, "v%d\n", v), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// hookRun is one line of a shellRevision log.
type hookRun struct{ instance, event, version, deployment, group string }

func readHookLog(t *testing.T, path string) []hookRun {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []hookRun
	for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 5 {
			t.Fatalf("hook log line %q", l)
		}
		out = append(out, hookRun{f[0], f[1], f[2], f[3], f[4]})
	}
	return out
}

// withShellScripts restarts the harness's controller with scripts run as
// processes.
func withShellScripts(h *harness) {
	h.svc.Close()
	h.runner = ExecScripts{}
	h.start()
}

func TestBlueGreenHooksRunInCodeDeploysOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		withShellScripts(h)
		log := filepath.Join(t.TempDir(), "hooks.log")
		deployGroupOf(h, 2, shellRevision(t, 1, log), shellRevision(t, 2, log))
		blue := h.running()[1]
		d := h.blueGreen("canary:50%:5s", 0, false)
		got := h.untilDeployment(d.ID, time.Minute, nil)
		if got.Status != DeploymentSucceeded {
			t.Fatalf("status %s (%+v)", got.Status, got.ErrorInfo)
		}
		steps := got.BlueGreen.Steps
		if len(steps) != 2 || steps[1].Percent != 100 {
			t.Fatalf("steps %+v, want 50%% then 100%%", steps)
		}
		first, last := steps[0].At, steps[1].At

		// Each instance's record: CodeDeploy's events for its fleet, each
		// with its status, in order.
		var afterAllowEnd time.Time
		for _, tg := range got.Instances {
			original := slices.Contains(blue, tg.InstanceID)
			var names []string
			for i, e := range tg.Events {
				names = append(names, e.Name)
				want := TargetSucceeded
				if e.Name == appspec.ApplicationStop {
					want = TargetSkipped // a new instance has no revision to stop
				}
				if e.Status != want {
					t.Errorf("%s %s: %s, want %s (%+v)", tg.InstanceID, e.Name, e.Status, want, e.Diagnostics)
				}
				if i > 0 && e.StartTime.Before(tg.Events[i-1].EndTime) {
					t.Errorf("%s %s started before %s ended", tg.InstanceID, e.Name, tg.Events[i-1].Name)
				}
			}
			if !slices.Equal(names, fleetEvents(original)) {
				t.Fatalf("%s (original %v) events %v", tg.InstanceID, original, names)
			}
			if tg.Status != TargetSucceeded {
				t.Errorf("%s %s", tg.InstanceID, tg.Status)
			}
			if original {
				continue
			}
			ev := func(name string) *LifecycleEvent { return tg.Events[tg.eventIndex(name)] }
			if end := ev(appspec.BeforeAllowTraffic).EndTime; end.After(first) {
				t.Errorf("%s BeforeAllowTraffic ended at %s, after the first traffic step at %s", tg.InstanceID, end, first)
			}
			if at := ev(appspec.AllowTraffic); !at.StartTime.Equal(first) || at.EndTime.Before(last) {
				t.Errorf("%s AllowTraffic %s–%s, want from the first step %s to the last %s", tg.InstanceID, at.StartTime, at.EndTime, first, last)
			}
			if start := ev(appspec.AfterAllowTraffic).StartTime; start.Before(last) {
				t.Errorf("%s AfterAllowTraffic started at %s, before the 100%% step at %s", tg.InstanceID, start, last)
			}
			afterAllowEnd = later(afterAllowEnd, ev(appspec.AfterAllowTraffic).EndTime)
		}
		for _, tg := range got.Instances {
			if slices.Contains(blue, tg.InstanceID) && tg.Events[0].StartTime.Before(afterAllowEnd) {
				t.Errorf("original %s BeforeBlockTraffic started at %s, before the replacements' AfterAllowTraffic ended at %s", tg.InstanceID, tg.Events[0].StartTime, afterAllowEnd)
			}
		}

		// The scripts that ran: each from the revision its instance runs,
		// with CodeDeploy's environment, in CodeDeploy's order.
		runs := readHookLog(t, log)
		per := map[string][]string{}
		pos := map[string][]int{} // event → its lines
		for i, r := range runs {
			if r.deployment != d.ID || r.group != "web" {
				t.Fatalf("script run %+v: DEPLOYMENT_ID / DEPLOYMENT_GROUP_NAME, want %s web", r, d.ID)
			}
			per[r.instance] = append(per[r.instance], r.event+" "+r.version)
			pos[r.event] = append(pos[r.event], i)
		}
		if len(per) != 4 {
			t.Fatalf("scripts ran on %d instances, want 2 originals and 2 replacements: %v", len(per), per)
		}
		for id, evs := range per {
			want := []string{"BeforeInstall v2", "AfterInstall v2", "ApplicationStart v2", "ValidateService v2", "BeforeAllowTraffic v2", "AfterAllowTraffic v2"}
			if slices.Contains(blue, id) {
				want = []string{"BeforeBlockTraffic v1", "AfterBlockTraffic v1"}
			}
			if !slices.Equal(evs, want) {
				t.Errorf("instance %s ran %v, want %v", id, evs, want)
			}
		}
		// Across the fleets: every replacement validated before any
		// allows traffic; all traffic allowed before any original blocks.
		order := []string{appspec.ValidateService, appspec.BeforeAllowTraffic, appspec.AfterAllowTraffic, appspec.BeforeBlockTraffic, appspec.AfterBlockTraffic}
		for i := 1; i < len(order); i++ {
			if slices.Max(pos[order[i-1]]) > slices.Min(pos[order[i]]) {
				t.Errorf("a %s ran before the last %s: %+v", order[i], order[i-1], runs)
			}
		}
	})
}

func TestBlueGreenHookFailureRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		// event fails in version v's scripts.
		event string
		v     int
		// moved is whether the traffic had moved before the failure.
		moved bool
	}{
		{name: "ValidateService on the replacements, before any traffic moved", event: appspec.ValidateService, v: 2},
		{name: "BeforeAllowTraffic on the replacements, before the first step", event: appspec.BeforeAllowTraffic, v: 2},
		{name: "BeforeBlockTraffic on the originals, after the traffic moved", event: appspec.BeforeBlockTraffic, v: 1, moved: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				withShellScripts(h)
				log := filepath.Join(t.TempDir(), "hooks.log")
				fail := map[int][]string{tc.v: {tc.event}}
				deployGroupOf(h, 2, shellRevision(t, 1, log, fail[1]...), shellRevision(t, 2, log, fail[2]...))
				blue := h.running()[1]
				d := h.blueGreen("all-at-once", 600, false)
				got := h.untilDeployment(d.ID, time.Minute, nil)
				if got.Status != DeploymentFailed || got.ErrorInfo == nil || got.ErrorInfo.Code != "HEALTH_CONSTRAINTS" || !strings.Contains(got.ErrorInfo.Message, tc.event+" failed on") {
					t.Fatalf("status %s (%+v), want Failed with HEALTH_CONSTRAINTS naming %s", got.Status, got.ErrorInfo, tc.event)
				}
				var pcts []int
				for _, st := range got.BlueGreen.Steps {
					pcts = append(pcts, st.Percent)
				}
				if want := map[bool][]int{false: {0}, true: {100, 0}}[tc.moved]; !slices.Equal(pcts, want) {
					t.Fatalf("traffic steps %v, want %v", pcts, want)
				}
				// The failed event says which script failed and its last
				// lines; the instance's later events never ran. The same
				// script still running on another instance is stopped.
				failed := 0
				for _, tg := range got.Instances {
					i := tg.eventIndex(tc.event)
					if i < 0 || tg.Events[i].Status != TargetFailed {
						continue
					}
					e := tg.Events[i]
					if e.Diagnostics != nil && e.Diagnostics.ErrorCode == "UnknownError" && strings.HasPrefix(e.Diagnostics.Message, "stopped: deployment "+d.ID) {
						continue
					}
					failed++
					if tg.Status != TargetFailed || e.Diagnostics == nil || e.Diagnostics.ErrorCode != "ScriptFailed" || e.Diagnostics.ScriptName != "hooks/"+tc.event+".sh" ||
						!strings.Contains(e.Diagnostics.LogTail, "not ready: port 8081 refused") {
						t.Fatalf("%s %s: %s %+v", tg.InstanceID, tc.event, tg.Status, e.Diagnostics)
					}
					for _, later := range tg.Events[i+1:] {
						if later.Status != TargetSkipped {
							t.Errorf("%s %s after the failed %s: %s", tg.InstanceID, later.Name, tc.event, later.Status)
						}
					}
				}
				if failed == 0 {
					t.Fatalf("no instance's %s failed: %+v", tc.event, got.Instances)
				}
				// Rolled back: the replacements terminated, the originals
				// serve all the traffic.
				h.until("the replacements gone", 10*time.Second, func() bool { return len(h.running()[2]) == 0 })
				if r := h.running(); !slices.Equal(r[1], blue) {
					t.Fatalf("running %v, want the originals %v", r, blue)
				}
				for _, id := range blue {
					if w := h.lb.weight("tg", id); w != 1 || h.lifecycle("web", id) != InService {
						t.Errorf("original %s: weight %d, %s; want the default weight, InService", id, w, h.lifecycle("web", id))
					}
				}
				if g := h.group("web"); g.InService != 2 || len(g.Instances) != 2 {
					t.Fatalf("%d in service of %d members, want the 2 originals alone", g.InService, len(g.Instances))
				}
				for _, r := range readHookLog(t, log) {
					if slices.Contains(blue, r.instance) && r.event == appspec.AfterBlockTraffic {
						t.Errorf("AfterBlockTraffic ran on %s after the deployment failed", r.instance)
					}
				}
			})
		})
	}
}

func TestBlueGreenDisableRollbackKeepsReplacements(t *testing.T) {
	for _, tc := range []struct {
		name  string
		event string
		v     int
	}{
		{name: "ValidateService fails on the replacements", event: appspec.ValidateService, v: 2},
		{name: "BeforeBlockTraffic fails after the traffic moved", event: appspec.BeforeBlockTraffic, v: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				withShellScripts(h)
				log := filepath.Join(t.TempDir(), "hooks.log")
				fail := map[int][]string{tc.v: {tc.event}}
				deployGroupOf(h, 2, shellRevision(t, 1, log, fail[1]...), shellRevision(t, 2, log, fail[2]...))
				blue := h.running()[1]
				d, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{DeploymentType: DeploymentBlueGreen, DisableRollback: true,
					TerminationWaitSeconds: ip(600)})
				if err != nil {
					t.Fatal(err)
				}
				got := h.untilDeployment(d.ID, time.Minute, nil)
				if got.Status != DeploymentFailed || got.AutoRollback || got.ErrorInfo == nil || !strings.Contains(got.ErrorInfo.Message, tc.event) {
					t.Fatalf("status %s autoRollback %v (%+v), want Failed naming %s", got.Status, got.AutoRollback, got.ErrorInfo, tc.event)
				}
				var green []string
				for _, tg := range got.Instances {
					if !originalTarget(tg) {
						green = append(green, tg.InstanceID)
					}
				}
				slices.Sort(green)
				// The deployment ended at once: it did not wait for the
				// replacements to leave.
				var failedAt time.Time
				for _, tg := range got.Instances {
					if i := tg.eventIndex(tc.event); i >= 0 && tg.Events[i].Status == TargetFailed {
						failedAt = tg.Events[i].EndTime
					}
				}
				if took := got.CompleteTime.Sub(failedAt); failedAt.IsZero() || took > time.Second {
					t.Fatalf("ended %s after the hook failed at %s, want at once", took, failedAt)
				}
				// The traffic is back on the originals; the replacements
				// leave the group and keep running.
				h.until("the replacements detached", 10*time.Second, func() bool {
					for _, id := range green {
						if h.lifecycle("web", id) != "" {
							return false
						}
					}
					return true
				})
				h.wait(2 * time.Second)
				if r := h.running(); !slices.Equal(r[1], blue) || !slices.Equal(r[2], green) {
					t.Fatalf("running %v, want the originals %v and the replacements %v", r, blue, green)
				}
				for _, id := range blue {
					if w := h.lb.weight("tg", id); w != 1 || h.lifecycle("web", id) != InService {
						t.Errorf("original %s: weight %d, %s; want the default weight, InService", id, w, h.lifecycle("web", id))
					}
				}
				for _, id := range green {
					if _, ok := h.lb.TargetState("tg", id); ok {
						t.Errorf("replacement %s is still registered in tg", id)
					}
				}
				if g := h.group("web"); g.InService != 2 || len(g.Instances) != 2 {
					t.Fatalf("%d in service of %d members, want the 2 originals", g.InService, len(g.Instances))
				}
				kept := 0
				for _, a := range h.activities("web") {
					if strings.Contains(a.Cause, "detached in response to failed blue/green deployment "+d.ID+": rollback is disabled, the instance is kept for inspection") {
						kept++
					}
				}
				if kept != len(green) {
					t.Fatalf("%d detach activities for %d replacements", kept, len(green))
				}
				h.svc.mu.Lock()
				rev := h.svc.revisions["web"]
				h.svc.mu.Unlock()
				if rev != nil {
					t.Fatalf("revision %+v, want the original one (none)", rev)
				}
			})
		})
	}
}

func TestBlueGreenWithoutAppSpec(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroupOf(h, 2, plainRevision(t, 1), plainRevision(t, 2))
		d := h.blueGreen("all-at-once", 0, false)
		got := h.untilDeployment(d.ID, time.Minute, nil)
		if got.Status != DeploymentSucceeded {
			t.Fatalf("status %s (%+v)", got.Status, got.ErrorInfo)
		}
		if n := len(h.scripts.log()); n != 0 {
			t.Fatalf("%d scripts ran for a revision without appspec.yml", n)
		}
		// The deployment's own events succeed, the hooks are skipped.
		for _, tg := range got.Instances {
			for _, e := range tg.Events {
				want := TargetSkipped
				switch e.Name {
				case appspec.DownloadBundle, appspec.Install, appspec.ApplicationStart, appspec.AllowTraffic, appspec.BlockTraffic:
					want = TargetSucceeded
				}
				if e.Status != want {
					t.Errorf("%s %s: %s, want %s", tg.InstanceID, e.Name, e.Status, want)
				}
			}
		}
		// No longer than without hooks: the traffic moves within a few
		// rounds of the fleet being healthy.
		var ready time.Time
		for _, tg := range got.Instances {
			if !originalTarget(tg) {
				ready = later(ready, tg.Events[tg.eventIndex(appspec.ValidateService)].EndTime)
			}
		}
		if lag := got.BlueGreen.Steps[0].At.Sub(ready); lag > 200*time.Millisecond {
			t.Fatalf("the traffic moved %s after the replacements were installed", lag)
		}
	})
}

// TestBlueGreenHookResumesAfterRestart: a hook running when the controller
// stops is run again by the next one.
func TestBlueGreenHookResumesAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 2)
		h.scripts.mu.Lock()
		h.scripts.delay = time.Second
		h.scripts.mu.Unlock()
		d := h.blueGreen("all-at-once", 0, false)
		var id string
		h.until("a ValidateService running", 30*time.Second, func() bool {
			for _, tg := range h.deployment(d.ID).Instances {
				if i := tg.eventIndex(appspec.ValidateService); i >= 0 && tg.Events[i].Status == TargetInProgress {
					id = tg.InstanceID
					return true
				}
			}
			return false
		})
		h.svc.Close()
		h.start()
		got := h.untilDeployment(d.ID, time.Minute, nil)
		if got.Status != DeploymentSucceeded {
			t.Fatalf("status %s (%+v)", got.Status, got.ErrorInfo)
		}
		runs := 0
		for _, c := range h.scripts.log() {
			if c.instance == id && c.Event == appspec.ValidateService {
				runs++
			}
		}
		if runs != 2 {
			t.Fatalf("ValidateService ran %d times on %s, want twice (again after the restart)", runs, id)
		}
	})
}
