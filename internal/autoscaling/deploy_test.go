package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/appspec"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
)

// reimageFake is fakeCompute's in-place install: it takes delay of fake
// time and counts the installs under way.
type reimageFake struct {
	delay             time.Duration
	active, maxActive int
}

func (f *fakeCompute) Reimage(_ context.Context, id string, v int) error {
	f.mu.Lock()
	in := f.ins[id]
	if in == nil {
		f.mu.Unlock()
		return errors.New("no instance " + id)
	}
	in.Desired, in.State = compute.StateStopped, compute.StateStopped
	f.reimage.active++
	f.reimage.maxActive = max(f.reimage.maxActive, f.reimage.active)
	f.calls = append(f.calls, fmt.Sprintf("reimage %s v%d", id, v))
	delay, src, app := f.reimage.delay, f.imageDirs[v], filepath.Join(in.Dir, "app")
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if src != "" {
		if err := copyDir(src, app); err != nil {
			return err
		}
	}
	f.mu.Lock()
	in.ImageVersion, in.ImagePin = v, v
	f.reimage.active--
	f.mu.Unlock()
	return nil
}

func (f *fakeCompute) InstanceEnv(id string) ([]string, error) {
	return []string{"INSTANCE_ID=" + id}, nil
}

func copyDir(src, dst string) error {
	_ = os.RemoveAll(dst)
	return os.CopyFS(dst, os.DirFS(src))
}

// fakeScripts records the hook scripts run: event, instance, and the
// script's content (which revision it is from).
type fakeScripts struct {
	mu    sync.Mutex
	calls []scriptCall
	// fail, if set, fails a script.
	fail func(c scriptCall) error
	// delay is how long each script takes (fake time).
	delay time.Duration
}

type scriptCall struct {
	Script
	instance, content string
}

func (f *fakeScripts) Run(_ context.Context, sc Script) ([]byte, error) {
	b, _ := os.ReadFile(sc.Path)
	c := scriptCall{Script: sc, content: strings.TrimSpace(string(b))}
	for _, kv := range sc.Env {
		if v, ok := strings.CutPrefix(kv, "INSTANCE_ID="); ok {
			c.instance = v
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	fail, delay := f.fail, f.delay
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if fail != nil {
		if err := fail(c); err != nil {
			return []byte("checking…\nFAIL: " + err.Error() + "\n"), err
		}
	}
	return []byte("ok " + c.content + "\n"), nil
}

func (f *fakeScripts) log() []scriptCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// revision writes image version v's snapshot: an appspec with a script
// for every scriptable event, each printing "<event> v<v>".
func revision(t *testing.T, v int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("v%d", v))
	var b strings.Builder
	b.WriteString("version: 0.0\nos: linux\nhooks:\n")
	for _, e := range appspec.Events {
		if appspec.Reserved(e) {
			continue
		}
		fmt.Fprintf(&b, "  %s:\n    - location: hooks/%s.sh\n      timeout: 60\n", e, e)
		p := filepath.Join(dir, "hooks", e+".sh")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, fmt.Appendf(nil, "%s v%d\n", e, v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, appspec.FileName), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// deployGroup applies a group of n InService instances running image
// version 1 (with appspec), then builds version 2.
func deployGroup(h *harness, n int) {
	h.t.Helper()
	deployGroupOf(h, n, revision(h.t, 1), revision(h.t, 2))
}

// deployGroupOf is deployGroup with the versions' snapshots v1 and v2.
func deployGroupOf(h *harness, n int, v1, v2 string) {
	h.t.Helper()
	f := h.compute
	root := h.t.TempDir()
	f.mu.Lock()
	for i := range f.lt.Versions {
		f.lt.Versions[i].Data.Image = "app"
	}
	f.imageDirs = map[int]string{1: v1, 2: v2}
	f.onRun = func(in *compute.Instance) {
		in.Dir = filepath.Join(root, in.ID)
		if err := copyDir(f.imageDirs[in.ImageVersion], filepath.Join(in.Dir, "app")); err != nil {
			h.t.Error(err)
		}
	}
	f.mu.Unlock()
	spec := basic("web", 1, 2*n)
	spec.DesiredCapacity = ip(n)
	spec.AvailabilityZones = []string{"local-1a", "local-1b"}
	h.apply(spec)
	h.wait(time.Second)
	if g := h.group("web"); g.InService != n {
		h.t.Fatalf("in service %d, want %d", g.InService, n)
	}
	f.mu.Lock()
	f.imageVersion = 2
	f.mu.Unlock()
}

// untilDeployment waits (polling every 100 ms of fake time, calling check)
// until the group's deployment id has ended.
func (h *harness) untilDeployment(id string, limit time.Duration, check func()) Deployment {
	h.t.Helper()
	for end := time.Now().Add(limit); time.Now().Before(end); {
		if check != nil {
			check()
		}
		d, err := h.svc.Deployment(context.Background(), "web", id)
		if err != nil {
			h.t.Fatal(err)
		}
		if !d.Active() {
			return d
		}
		h.wait(100 * time.Millisecond)
	}
	d, _ := h.svc.Deployment(context.Background(), "web", id)
	evs, _ := h.events.Since(0)
	for _, e := range evs {
		h.t.Log(e)
	}
	h.t.Fatalf("deployment %s still %s: %+v", id, d.Status, d.Instances)
	return d
}

func (h *harness) imageVersions() map[string]int {
	out := map[string]int{}
	for _, in := range h.compute.AllInstances() {
		if in.State != compute.StateTerminated {
			out[in.ID] = in.ImageVersion
		}
	}
	return out
}

func TestDeploymentConfigPlan(t *testing.T) {
	for _, tc := range []struct {
		name, config, min  string
		n, atOnce, healthy int
	}{
		{"OneAtATime 4", ConfigOneAtATime, "", 4, 1, 3},
		{"default is OneAtATime", "", "", 4, 1, 3},
		{"HalfAtATime 4", ConfigHalfAtATime, "", 4, 2, 2},
		{"HalfAtATime 9: 4 at a time, 5 needed", ConfigHalfAtATime, "", 9, 4, 5},
		{"AllAtOnce 4", ConfigAllAtOnce, "", 4, 4, 0},
		{"HOST_COUNT 6 of 9: 3 at a time", "", "6", 9, 3, 6},
		{"FLEET_PERCENT 40 of 9: 5 at a time, 4 needed", "", "40%", 9, 5, 4},
		{"FLEET_PERCENT 75 of 4", "", "75%", 4, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseDeploymentConfig(tc.config, tc.min)
			if err != nil {
				t.Fatal(err)
			}
			if at, need := c.Plan(tc.n); at != tc.atOnce || need != tc.healthy {
				t.Fatalf("Plan(%d) = %d at once, %d healthy; want %d, %d", tc.n, at, need, tc.atOnce, tc.healthy)
			}
		})
	}
	for _, bad := range []struct{ config, min string }{{"CodeDeployDefault.TwoAtATime", ""}, {"", "-1"}, {"", "101%"}, {"", "x"}, {ConfigAllAtOnce, "2"}} {
		if _, err := ParseDeploymentConfig(bad.config, bad.min); err == nil {
			t.Errorf("ParseDeploymentConfig(%q, %q) accepted", bad.config, bad.min)
		}
	}
}

func TestDeploymentBatches(t *testing.T) {
	for _, tc := range []struct {
		name, config, min string
		n, atOnce, need   int
	}{
		{"OneAtATime", ConfigOneAtATime, "", 4, 1, 3},
		{"HalfAtATime of 4", ConfigHalfAtATime, "", 4, 2, 2},
		{"HalfAtATime of 9", ConfigHalfAtATime, "", 9, 4, 5},
		{"AllAtOnce", ConfigAllAtOnce, "", 4, 4, 0},
		{"min healthy hosts 3 of 4", "", "3", 4, 1, 3},
		{"min healthy hosts 50%", "", "50%", 4, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				deployGroup(h, tc.n)
				before := h.imageVersions()
				h.compute.reimage.delay = time.Second
				d, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{DeploymentConfigName: tc.config, MinimumHealthyHosts: tc.min})
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(d.ID, "d-") || len(d.ID) != 11 || d.AtOnce != tc.atOnce || d.MinHealthy != tc.need {
					t.Fatalf("started %s: %d at once, %d healthy", d.ID, d.AtOnce, d.MinHealthy)
				}
				d = h.untilDeployment(d.ID, time.Minute, func() {
					serving := 0
					for _, in := range h.group("web").Instances {
						if in.Lifecycle == InService {
							serving++
						}
					}
					if serving < tc.need {
						t.Fatalf("%d InService, fewer than %d", serving, tc.need)
					}
				})
				if d.Status != DeploymentSucceeded {
					t.Fatalf("status %s (%+v)", d.Status, d.ErrorInfo)
				}
				if got := h.compute.reimage.maxActive; got != tc.atOnce {
					t.Fatalf("%d instances deployed to at once, want %d", got, tc.atOnce)
				}
				perBatch := map[int]int{}
				for _, tg := range d.Instances {
					perBatch[tg.Batch]++
				}
				if want := (tc.n + tc.atOnce - 1) / tc.atOnce; len(perBatch) != want {
					t.Fatalf("batches %v, want %d", perBatch, want)
				}
				after := h.imageVersions()
				if len(after) != len(before) {
					t.Fatalf("instances %v → %v", before, after)
				}
				for id := range before {
					if after[id] != 2 {
						t.Fatalf("instance %s on v%d after the deployment (instances %v)", id, after[id], after)
					}
				}
				if runs := slices.ContainsFunc(h.compute.callLog(), func(c string) bool { return strings.HasPrefix(c, "terminate") }); runs {
					t.Fatalf("an instance was terminated: %v", h.compute.callLog())
				}
			})
		})
	}
}

func TestDeploymentEventOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 2)
		d, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{})
		if err != nil {
			t.Fatal(err)
		}
		d = h.untilDeployment(d.ID, time.Minute, nil)
		if d.Status != DeploymentSucceeded {
			t.Fatalf("status %s", d.Status)
		}
		first := d.Instances[0]
		var names []string
		for i, e := range first.Events {
			names = append(names, e.Name)
			if e.Status != TargetSucceeded {
				t.Errorf("event %s: %s", e.Name, e.Status)
			}
			if i > 0 && e.StartTime.Before(first.Events[i-1].EndTime) {
				t.Errorf("event %s started before %s ended", e.Name, first.Events[i-1].Name)
			}
		}
		if !slices.Equal(names, appspec.Events) {
			t.Fatalf("events %v", names)
		}
		// Scripts before DownloadBundle come from the running revision,
		// the others from the new one, in CodeDeploy's order.
		var got []string
		for _, c := range h.scripts.log() {
			if c.instance == first.InstanceID {
				got = append(got, c.content)
			}
			if c.Deployment != d.ID || !slices.Contains(c.Env, "DEPLOYMENT_ID="+d.ID) || !slices.Contains(c.Env, "LIFECYCLE_EVENT="+c.Event) ||
				!slices.Contains(c.Env, "DEPLOYMENT_GROUP_NAME=web") || c.Timeout != time.Minute {
				t.Fatalf("script %s env %v timeout %s", c.Location, c.Env, c.Timeout)
			}
		}
		want := []string{"BeforeBlockTraffic v1", "AfterBlockTraffic v1", "ApplicationStop v1", "BeforeInstall v2", "AfterInstall v2",
			"ApplicationStart v2", "ValidateService v2", "BeforeAllowTraffic v2", "AfterAllowTraffic v2"}
		if !slices.Equal(got, want) {
			t.Fatalf("scripts %v\nwant %v", got, want)
		}
		// The second instance starts only once the first is done.
		if second := d.Instances[1]; second.StartTime.Before(first.EndTime) {
			t.Fatalf("second instance started at %s, before the first ended at %s", second.StartTime, first.EndTime)
		}
		var lbOrder []string
		for _, c := range h.lb.callLog() {
			if strings.Contains(c, first.InstanceID) {
				lbOrder = append(lbOrder, strings.Fields(c)[0])
			}
		}
		if !slices.Equal(lbOrder, []string{"register", "deregister", "register"}) {
			t.Fatalf("load balancer calls %v", lbOrder)
		}
		var cmp []string
		for _, c := range h.compute.callLog() {
			if strings.Contains(c, first.InstanceID) && !strings.HasPrefix(c, "run") {
				cmp = append(cmp, c)
			}
		}
		if !slices.Equal(cmp, []string{"reimage " + first.InstanceID + " v2", "start " + first.InstanceID}) {
			t.Fatalf("compute calls %v", cmp)
		}
	})
}

func TestDeploymentFailedValidateServiceRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		// failedOn is how many instances the failing revision reaches.
		failedOn int
	}{
		{"OneAtATime stops at the first", ConfigOneAtATime, 1},
		{"HalfAtATime stops after the first batch", ConfigHalfAtATime, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				deployGroup(h, 4)
				before := h.imageVersions()
				var inTraffic []string
				h.scripts.fail = func(c scriptCall) error {
					if c.Event == appspec.ValidateService && c.content == "ValidateService v2" {
						if _, ok := h.lb.TargetState("tg", c.instance); ok {
							inTraffic = append(inTraffic, c.instance)
						}
						return errors.New("exit status 3")
					}
					return nil
				}
				d, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{DeploymentConfigName: tc.config})
				if err != nil {
					t.Fatal(err)
				}
				d = h.untilDeployment(d.ID, time.Minute, nil)
				if d.Status != DeploymentFailed || d.ErrorInfo == nil || d.ErrorInfo.Code != "HEALTH_CONSTRAINTS" || d.RolledBackBy == "" {
					t.Fatalf("deployment %s %+v rolled back by %q", d.Status, d.ErrorInfo, d.RolledBackBy)
				}
				if len(inTraffic) > 0 {
					t.Fatalf("ValidateService ran while %v was registered", inTraffic)
				}
				failed, skipped := 0, 0
				for _, tg := range d.Instances {
					switch tg.Status {
					case TargetFailed:
						failed++
						e := tg.Events[slices.Index(appspec.Events, appspec.ValidateService)]
						if e.Status != TargetFailed || e.Diagnostics == nil || e.Diagnostics.ErrorCode != "ScriptFailed" || !strings.Contains(e.Diagnostics.LogTail, "FAIL: exit status 3") {
							t.Fatalf("ValidateService event %+v %+v", e, e.Diagnostics)
						}
					case TargetSkipped:
						skipped++
					}
				}
				if failed != tc.failedOn || skipped != 4-tc.failedOn {
					t.Fatalf("%d failed, %d skipped", failed, skipped)
				}
				rb := h.untilDeployment(d.RolledBackBy, time.Minute, nil)
				if rb.Status != DeploymentSucceeded || rb.Creator != "autoRollback" || rb.RollbackOf != d.ID || rb.ImageVersion != 1 || len(rb.Instances) != tc.failedOn {
					t.Fatalf("rollback %s creator %s of %s v%d on %d", rb.Status, rb.Creator, rb.RollbackOf, rb.ImageVersion, len(rb.Instances))
				}
				h.wait(time.Second)
				after := h.imageVersions()
				for id := range before {
					if after[id] != 1 {
						t.Fatalf("instance %s on v%d after the rollback", id, after[id])
					}
				}
				if g := h.group("web"); g.InService != 4 {
					t.Fatalf("%d InService after the rollback", g.InService)
				}
				// Launches run the last good revision, not the image's newest.
				if err := h.svc.SetDesired(context.Background(), "web", 5, false); err != nil {
					t.Fatal(err)
				}
				h.wait(time.Second)
				for id, v := range h.imageVersions() {
					if before[id] == 0 && v != 1 {
						t.Fatalf("new instance %s runs v%d, want the revision v1", id, v)
					}
				}
			})
		})
	}
}

func TestDeploymentResumesAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 4)
		before := h.imageVersions()
		h.compute.reimage.delay = 2 * time.Second
		d, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{DeploymentConfigName: ConfigHalfAtATime})
		if err != nil {
			t.Fatal(err)
		}
		h.wait(500 * time.Millisecond)
		h.svc.Close()
		mid, _ := h.svc.Deployment(context.Background(), "web", d.ID)
		h.start()
		if mid.Status != DeploymentInProgress {
			t.Fatalf("status %s when the controller stopped", mid.Status)
		}
		got := h.untilDeployment(d.ID, time.Minute, nil)
		if got.Status != DeploymentSucceeded {
			t.Fatalf("after the restart: %s %+v", got.Status, got.ErrorInfo)
		}
		after := h.imageVersions()
		if len(after) != len(before) {
			t.Fatalf("instances %v → %v", before, after)
		}
		for id := range before {
			if after[id] != 2 {
				t.Fatalf("instance %s on v%d", id, after[id])
			}
		}
		reimages := 0
		for _, c := range h.compute.callLog() {
			if strings.HasPrefix(c, "reimage") {
				reimages++
			}
		}
		if reimages < 4 || reimages > 6 {
			t.Fatalf("%d installs for 4 instances (those under way at the restart run again)", reimages)
		}
	})
}

func TestDeploymentDoesNotDisturbTheGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(basic("other", 0, 1)) // another group reconciles meanwhile
		deployGroup(h, 4)
		h.compute.reimage.delay = 3 * time.Second
		d, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{}); err == nil {
			t.Fatal("a second deployment started")
		}
		if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{}); err == nil {
			t.Fatal("a refresh started during the deployment")
		}
		h.wait(time.Second)
		var deploying string
		for _, in := range h.group("web").Instances {
			if in.Lifecycle == Deploying {
				deploying = in.InstanceID
			}
		}
		if deploying == "" {
			t.Fatalf("no instance Deploying: %v", h.states("web"))
		}
		runs := func() int {
			n := 0
			for _, c := range h.compute.callLog() {
				if strings.HasPrefix(c, "run") {
					n++
				}
			}
			return n
		}
		launched := runs()
		h.wait(time.Second) // stopped for its install: neither replaced nor made up for
		if runs() != launched {
			t.Fatalf("the group launched during the install: %v", h.compute.callLog())
		}
		if err := h.svc.SetDesired(context.Background(), "web", 3, false); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		for _, c := range h.compute.callLog() {
			if c == "terminate "+deploying {
				t.Fatalf("scale-in took the instance being deployed to")
			}
		}
		d = h.untilDeployment(d.ID, 2*time.Minute, nil)
		if d.Status != DeploymentSucceeded {
			t.Fatalf("status %s %+v", d.Status, d.ErrorInfo)
		}
		skipped := 0
		for _, tg := range d.Instances {
			if tg.Status == TargetSkipped {
				skipped++
			}
		}
		if skipped > 1 {
			t.Fatalf("%d instances skipped; scale-in removed one", skipped)
		}
		h.wait(time.Second)
		if g := h.group("web"); g.InService != 3 {
			t.Fatalf("%d InService, want 3", g.InService)
		}
	})
}

func TestDeploymentAlarmStopsAndRollsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 4)
		h.compute.reimage.delay = time.Second
		d, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{Alarms: []string{"errors"}})
		if err != nil {
			t.Fatal(err)
		}
		h.wait(1500 * time.Millisecond)
		h.alarms.set(cloudwatch.AlarmView{Name: "errors", State: cloudwatch.AlarmState{State: alarm.Alarm}})
		d = h.untilDeployment(d.ID, time.Minute, nil)
		if d.Status != DeploymentStopped || d.ErrorInfo.Code != "ALARM_ACTIVE" || d.RolledBackBy == "" {
			t.Fatalf("deployment %s %+v", d.Status, d.ErrorInfo)
		}
		rb := h.untilDeployment(d.RolledBackBy, time.Minute, nil)
		if rb.Status != DeploymentSucceeded {
			t.Fatalf("rollback %s", rb.Status)
		}
		for id, v := range h.imageVersions() {
			if v != 1 {
				t.Fatalf("instance %s on v%d", id, v)
			}
		}
	})
}

func TestDeploymentRejectsABadAppSpec(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 1)
		dir := h.compute.imageDirs[2]
		if err := os.WriteFile(filepath.Join(dir, appspec.FileName), []byte("version: 0.0\nos: linux\nhooks:\n  AfterInstal:\n    - location: x.sh\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{})
		if err == nil || !strings.Contains(err.Error(), "appspec.yml:4: hooks.AfterInstal: is not a lifecycle event") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestStopDeployment(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rollback bool
		// wantVersion is what every instance runs in the end.
		wantVersion map[int]int
	}{
		{"stop keeps what was installed", false, map[int]int{2: 1, 1: 3}},
		{"stop with rollback", true, map[int]int{1: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				deployGroup(h, 4)
				h.compute.reimage.delay = time.Second
				d, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{})
				if err != nil {
					t.Fatal(err)
				}
				h.wait(500 * time.Millisecond)
				if _, err := h.svc.StopDeployment(context.Background(), "web", d.ID, tc.rollback); err != nil {
					t.Fatal(err)
				}
				d = h.untilDeployment(d.ID, time.Minute, nil)
				if d.Status != DeploymentStopped || d.ErrorInfo.Code != "DEPLOYMENT_STOPPED" || (d.RolledBackBy != "") != tc.rollback {
					t.Fatalf("deployment %s %+v rolled back by %q", d.Status, d.ErrorInfo, d.RolledBackBy)
				}
				if d.RolledBackBy != "" {
					h.untilDeployment(d.RolledBackBy, time.Minute, nil)
				}
				h.wait(time.Second)
				counts := map[int]int{}
				for _, v := range h.imageVersions() {
					counts[v]++
				}
				if !maps.Equal(counts, tc.wantVersion) {
					t.Fatalf("image versions %v, want %v", counts, tc.wantVersion)
				}
				if _, err := h.svc.StopDeployment(context.Background(), "web", d.ID, false); err == nil {
					t.Fatal("stopped an ended deployment")
				}
				if g := h.group("web"); g.InService != 4 {
					t.Fatalf("%d InService", g.InService)
				}
			})
		})
	}
}

// TestWorkEndedAfterListingIsNotJudgedOnIt: a round lists compute's
// instances before it takes the controller's lock; an instance whose
// reinstall ended in between is listed as stopped though it runs again.
// Such an instance waits a round instead of being replaced as unhealthy.
func TestWorkEndedAfterListingIsNotJudgedOnIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		h.apply(basic("web", 1, 1))
		h.wait(time.Second)
		// The group's round due at the same instant runs first: a round
		// starting after settled is set would clear it.
		synctest.Wait()
		g := h.group("web")
		if g.InService != 1 {
			t.Fatalf("in service %d, want 1", g.InService)
		}
		id := g.Instances[0].InstanceID
		var listed compute.Instance
		for _, in := range h.compute.AllInstances() {
			if in.ID == id {
				listed = in
			}
		}
		listed.State, listed.Desired = compute.StateStopped, compute.StateStopped // as during the reinstall
		s := h.svc
		s.mu.Lock()
		s.settled[id] = true // the reinstall ended after the listing
		s.mu.Unlock()
		s.reconcile(context.Background(), "web", time.Now(), map[string]compute.Instance{id: listed})
		if lc := h.lifecycle("web", id); lc != InService {
			t.Fatalf("after a round on a listing older than the work's end: %s, want InService", lc)
		}
		s.mu.Lock()
		clear(s.settled)
		s.mu.Unlock()
		s.reconcile(context.Background(), "web", time.Now(), map[string]compute.Instance{id: listed})
		// The group's own rounds run meanwhile and may have replaced it
		// already: the activity taking it out of service tells.
		replaced := slices.ContainsFunc(h.activities("web"), func(a Activity) bool {
			return a.InstanceID == id && strings.Contains(a.Cause, "in response to a health check")
		})
		if !replaced {
			t.Fatalf("a listing that is current and shows it stopped: %+v and activities %+v, want it taken out of service as unhealthy", h.group("web").Instances, h.activities("web"))
		}
	})
}

func TestZonalDeploymentOneZoneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 4)
		h.compute.reimage.delay = time.Second
		first := 10
		d, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{DeploymentConfigName: ConfigAllAtOnce,
			ZonalConfig: &ZonalConfig{FirstZoneMonitorDurationSeconds: &first, MonitorDurationSeconds: 3,
				MinimumHealthyHostsPerZone: &MinimumHealthyHosts{Type: HostCount, Value: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		d = h.untilDeployment(d.ID, 2*time.Minute, nil)
		if d.Status != DeploymentSucceeded {
			t.Fatalf("status %s (%+v)", d.Status, d.ErrorInfo)
		}
		if got := h.compute.reimage.maxActive; got != 1 {
			t.Fatalf("%d instances at once, want 1 (a zone of 2 keeps 1 healthy)", got)
		}
		byZone := map[string][]*DeploymentTarget{}
		var zones []string
		for _, tg := range d.Instances {
			if len(zones) == 0 || zones[len(zones)-1] != tg.Zone {
				zones = append(zones, tg.Zone)
			}
			byZone[tg.Zone] = append(byZone[tg.Zone], tg)
		}
		if !slices.Equal(zones, []string{"local-1a", "local-1b"}) || len(byZone["local-1a"]) != 2 || len(byZone["local-1b"]) != 2 {
			t.Fatalf("targets by zone %v (order %v), want 2 in local-1a then 2 in local-1b", byZone, zones)
		}
		aEnd, bStart := byZone["local-1a"][0].EndTime, byZone["local-1b"][0].StartTime
		if e := byZone["local-1a"][1].EndTime; e.After(aEnd) {
			aEnd = e
		}
		if s := byZone["local-1b"][1].StartTime; s.Before(bStart) {
			bStart = s
		}
		if gap := bStart.Sub(aEnd); gap < 10*time.Second {
			t.Fatalf("zone local-1b began %s after local-1a ended, want the first zone's monitor duration of 10s", gap)
		}
		if !slices.ContainsFunc(h.eventLines(), func(l string) bool { return strings.Contains(l, "monitoring zone local-1a until") }) {
			t.Errorf("no event says the deployment monitors zone local-1a")
		}
	})
}

func TestZonalConfigValidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 2)
		neg := -1
		for name, z := range map[string]*ZonalConfig{
			"negative first zone monitor": {FirstZoneMonitorDurationSeconds: &neg},
			"monitor over 2 days":         {MonitorDurationSeconds: maxZoneMonitor + 1},
			"percent over 100":            {MinimumHealthyHostsPerZone: &MinimumHealthyHosts{Type: FleetPercent, Value: 101}},
			"unknown type":                {MinimumHealthyHostsPerZone: &MinimumHealthyHosts{Type: "HOSTS", Value: 1}},
		} {
			if _, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{ZonalConfig: z}); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		if ds, _ := h.svc.Deployments(context.Background(), "web"); len(ds) != 0 {
			t.Fatalf("refused starts left deployments: %+v", ds)
		}
	})
}

// eventLines returns the messages of the events logged so far.
func (h *harness) eventLines() []string {
	evs, _ := h.events.Since(0)
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Message)
	}
	return out
}
