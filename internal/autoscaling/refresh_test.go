package autoscaling

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fault"
)

// refreshGroup applies a group of n members on launch template version 1,
// lets them serve, then applies version 2 (a refresh replaces them).
func refreshGroup(h *harness, n int, prefs *RefreshPreferences) GroupSpec {
	h.t.Helper()
	spec := basic("web", n, 2*n)
	spec.Version = "1"
	spec.InstanceRefresh = prefs
	h.apply(spec)
	h.wait(time.Second)
	if g := h.group("web"); g.InService != n {
		h.t.Fatalf("in service %d, want %d", g.InService, n)
	}
	spec.Version = "2"
	h.apply(spec)
	return spec
}

// latestRefresh returns the group's newest refresh.
func (h *harness) latestRefresh(name string) Refresh {
	h.t.Helper()
	rs, err := h.svc.Refreshes(context.Background(), name)
	if err != nil || len(rs) == 0 {
		h.t.Fatalf("refreshes: %v, %v", rs, err)
	}
	return rs[0]
}

// stats counts a group's InService healthy instances, all its instances,
// those not terminating, and the InService ones per launch template
// version.
type stats struct {
	inService, total, live int
	versions               map[int]int
}

func (h *harness) stats(name string) stats {
	st := stats{versions: map[int]int{}}
	for _, in := range h.group(name).Instances {
		st.total++
		if !terminating(in.Lifecycle) {
			st.live++
		}
		if in.Lifecycle == InService && in.Health == HealthHealthy {
			st.inService++
			st.versions[in.LaunchTemplateVersion]++
		}
	}
	return st
}

// untilRefresh polls every 100 ms of fake time until the group's newest
// refresh has status want, calling check at each step; it fails after
// limit.
func (h *harness) untilRefresh(name, want string, limit time.Duration, check func(stats)) Refresh {
	h.t.Helper()
	for end := time.Now().Add(limit); time.Now().Before(end); {
		if check != nil {
			check(h.stats(name))
		}
		if r := h.latestRefresh(name); r.Status == want {
			return r
		}
		h.wait(100 * time.Millisecond)
	}
	r := h.latestRefresh(name)
	evs, _ := h.events.Since(0)
	for _, e := range evs {
		h.t.Log(e)
	}
	h.t.Fatalf("refresh status %s (%s), want %s; instances %+v", r.Status, r.StatusReason, want, h.group(name).Instances)
	return r
}

func (f *fakeCompute) setOnRun(fn func(*compute.Instance)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onRun = fn
}

// breakVersion2 makes instances of launch template version 2 error.
func breakVersion2(in *compute.Instance) {
	if in.Resolved == 2 {
		in.Detail, in.StateReason = "errored", "exited 5 times"
	}
}

func TestRefreshKeepsMinHealthyAndReplacesAll(t *testing.T) {
	for _, tc := range []struct {
		name     string
		min      *int
		floorMin int
	}{
		{"default 90 % (one at a time)", nil, 3},
		{"50 %", ip(50), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				refreshGroup(h, 4, nil)
				r, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{MinHealthyPercentage: tc.min})
				if err != nil {
					t.Fatal(err)
				}
				if r.InstancesToUpdate != 4 || r.FromVersion != 1 || r.ToVersion != 2 || r.Status != RefreshPending {
					t.Fatalf("started %+v", r)
				}
				if *r.Preferences.MaxHealthyPercentage != 100 || *r.Preferences.CheckpointDelay != 3600 || *r.Preferences.SkipMatching {
					t.Errorf("defaults %+v", r.Preferences)
				}
				r = h.untilRefresh("web", RefreshSuccessful, time.Minute, func(st stats) {
					if st.inService < tc.floorMin {
						t.Fatalf("%d InService during the refresh, want at least %d", st.inService, tc.floorMin)
					}
					if st.live > 4 {
						t.Fatalf("%d instances not terminating, want at most 4 (max healthy 100 %%)", st.live)
					}
				})
				if st := h.stats("web"); st.inService != 4 || st.versions[2] != 4 || st.total != 4 {
					t.Fatalf("after the refresh: %+v", st)
				}
				if r.PercentageComplete != 100 || r.EndTime.IsZero() || r.InstancesToUpdate != 0 || r.Total != 4 || r.Replaced != 4 {
					t.Errorf("ended %+v", r)
				}
				n := 0
				for _, a := range h.activities("web") {
					if strings.Contains(a.Cause, "in response to an instance refresh") {
						n++
					}
				}
				if n < 8 { // 4 terminations and their 4 launches
					for _, a := range h.activities("web") {
						t.Logf("%s | %s | %s", a.Description, a.StartTime, a.Cause)
					}
					t.Errorf("%d activities name the refresh, want 8", n)
				}
				found := false
				evs, _ := h.events.Since(0)
				for _, e := range evs {
					found = found || strings.Contains(e.Message, "4/4 replaced")
				}
				if !found {
					t.Errorf("no progress event line")
				}
			})
		})
	}
}

func TestRefreshMaxHealthy200LaunchesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		refreshGroup(h, 4, nil)
		if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{MinHealthyPercentage: ip(100), MaxHealthyPercentage: ip(200), InstanceWarmup: ip(5)}); err != nil {
			t.Fatal(err)
		}
		peak := 0
		h.untilRefresh("web", RefreshSuccessful, time.Minute, func(st stats) {
			if st.inService < 4 || st.live > 8 {
				t.Fatalf("%d InService of %d during the refresh, want 4..8", st.inService, st.live)
			}
			peak = max(peak, st.live)
		})
		if peak <= 4 {
			t.Errorf("at most %d instances during the refresh: replacements were not launched first", peak)
		}
		calls := h.compute.callLog()
		runs := 0
		for _, c := range calls {
			if strings.HasPrefix(c, "run ") {
				runs++
			}
			if strings.HasPrefix(c, "terminate ") {
				// Old ones go only once new ones serve: at least 2 of
				// them (4 InService of at most 8, in batches per zone).
				if runs < 6 {
					t.Fatalf("first termination after %d launches, want 6 or more (new first): %v", runs, calls)
				}
				break
			}
		}
		if st := h.stats("web"); st.versions[2] != 4 || st.total != 4 {
			t.Fatalf("after the refresh: %+v", st)
		}
	})
}

func TestRefreshFailingVersion(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rollback bool
		want     string
	}{
		{"auto rollback", true, RefreshRollbackSuccessful},
		{"no rollback", false, RefreshFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				refreshGroup(h, 4, nil)
				h.compute.setOnRun(breakVersion2)
				if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{AutoRollback: tc.rollback}); err != nil {
					t.Fatal(err)
				}
				r := h.untilRefresh("web", tc.want, 2*time.Minute, nil)
				if !strings.Contains(r.StatusReason, "failed its health checks") && tc.want == RefreshFailed {
					t.Errorf("reason %q", r.StatusReason)
				}
				if tc.rollback {
					if !r.Rollback {
						t.Errorf("not a rollback: %+v", r)
					}
					h.wait(30 * time.Second) // the group stays on version 1
					if st := h.stats("web"); st.inService != 4 || st.versions[1] != 4 {
						t.Fatalf("after the rollback: %+v", st)
					}
				}
			})
		})
	}
}

func TestRefreshAlarmDuringBakeRollsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		refreshGroup(h, 2, nil)
		if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{AutoRollback: true, BakeTime: ip(600), AlarmNames: []string{"errors"}}); err != nil {
			t.Fatal(err)
		}
		h.untilRefresh("web", RefreshBaking, time.Minute, nil)
		if st := h.stats("web"); st.versions[2] != 2 {
			t.Fatalf("baking: %+v", st)
		}
		h.alarms.set(alarmIn("errors", alarm.Alarm, time.Now(), 10, 1))
		r := h.untilRefresh("web", RefreshRollbackSuccessful, time.Minute, nil)
		if !strings.Contains(r.StatusReason, "alarm errors is in ALARM") {
			t.Errorf("reason %q", r.StatusReason)
		}
		if st := h.stats("web"); st.inService != 2 || st.versions[1] != 2 {
			t.Fatalf("after the rollback: %+v", st)
		}
	})
}

func TestRefreshBakeEndsSuccessful(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		refreshGroup(h, 2, nil)
		if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{BakeTime: ip(60), AlarmNames: []string{"errors"}}); err != nil {
			t.Fatal(err)
		}
		h.untilRefresh("web", RefreshBaking, time.Minute, nil)
		start := time.Now()
		h.untilRefresh("web", RefreshSuccessful, 2*time.Minute, nil)
		if d := time.Since(start); d < 59*time.Second {
			t.Errorf("baked %s, want 60 s", d)
		}
	})
}

func TestRefreshCheckpointAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		refreshGroup(h, 4, nil)
		if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{MinHealthyPercentage: ip(50), CheckpointPercentages: []int{50}}); err != nil {
			t.Fatal(err)
		}
		var r Refresh
		for range 300 {
			h.wait(100 * time.Millisecond)
			if r = h.latestRefresh("web"); r.StatusReason != "" {
				break
			}
		}
		if r.Status != RefreshInProgress || r.StatusReason != "waiting at checkpoint 50%" || r.PercentageComplete != 50 || r.InstancesToUpdate != 2 {
			t.Fatalf("at the checkpoint: %+v", r)
		}
		h.wait(10 * time.Second)
		if st := h.stats("web"); st.versions[1] != 2 || st.versions[2] != 2 {
			t.Fatalf("paused at the checkpoint: %+v", st)
		}
		_, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{})
		if fault.CodeOf(err) != fault.Conflict || !strings.Contains(err.Error(), "An Instance Refresh is already in progress") {
			t.Fatalf("second start: %v", err)
		}
		if _, err := h.svc.CancelRefresh(context.Background(), "web"); err != nil {
			t.Fatal(err)
		}
		h.untilRefresh("web", RefreshCancelled, 5*time.Second, nil)
		if _, err := h.svc.CancelRefresh(context.Background(), "web"); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("cancel without a refresh: %v", err)
		}
		if _, err := h.svc.RollbackRefresh(context.Background(), "web"); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("rollback without a refresh: %v", err)
		}
		h.wait(10 * time.Second)
		if st := h.stats("web"); st.versions[1] != 2 || st.versions[2] != 2 {
			t.Fatalf("after cancel the group stays mixed: %+v", st)
		}
		// A new refresh may start; the older one is listed after it.
		r2, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{SkipMatching: new(true)})
		if err != nil {
			t.Fatal(err)
		}
		// (The controller runs on meanwhile: read the count from the start.)
		rs, _ := h.svc.Refreshes(context.Background(), "web")
		if len(rs) != 2 || r2.InstancesToUpdate != 2 || rs[0].ID != r2.ID || rs[1].Status != RefreshCancelled {
			t.Fatalf("refreshes %+v", rs)
		}
	})
}

func TestRefreshManualRollback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		refreshGroup(h, 2, nil)
		if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{BakeTime: ip(600)}); err != nil {
			t.Fatal(err)
		}
		h.untilRefresh("web", RefreshBaking, time.Minute, nil)
		r, err := h.svc.RollbackRefresh(context.Background(), "web")
		if err != nil || r.Status != RefreshRollbackInProgress || r.InstancesToUpdate != 2 {
			t.Fatalf("rollback: %+v, %v", r, err)
		}
		h.untilRefresh("web", RefreshRollbackSuccessful, time.Minute, func(st stats) {
			if st.inService < 1 {
				t.Fatalf("%d InService during the rollback", st.inService)
			}
		})
		if st := h.stats("web"); st.versions[1] != 2 {
			t.Fatalf("after the rollback: %+v", st)
		}
	})
}

func TestRefreshSkipMatching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := refreshGroup(h, 2, nil)
		spec.DesiredCapacity = ip(4) // two more, on version 2
		h.apply(spec)
		h.wait(time.Second)
		var keep []string
		for _, in := range h.group("web").Instances {
			if in.LaunchTemplateVersion == 2 {
				keep = append(keep, in.InstanceID)
			}
		}
		if len(keep) != 2 {
			t.Fatalf("version 2 instances %v", keep)
		}
		r, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{SkipMatching: new(true)})
		if err != nil || r.InstancesToUpdate != 2 {
			t.Fatalf("start: %+v, %v", r, err)
		}
		h.untilRefresh("web", RefreshSuccessful, time.Minute, func(st stats) {
			if st.inService < 3 {
				t.Fatalf("%d InService", st.inService)
			}
		})
		var ids []string
		for _, in := range h.group("web").Instances {
			ids = append(ids, in.InstanceID)
		}
		for _, id := range keep {
			if !slices.Contains(ids, id) {
				evs, _ := h.events.Since(0)
				for _, e := range evs {
					t.Log(e.Message)
				}
				t.Errorf("%s on version 2 was replaced: %v", id, ids)
			}
		}
	})
}

func TestRefreshFromStackOnVersionChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		refreshGroup(h, 2, &RefreshPreferences{MinHealthyPercentage: ip(50)})
		r := h.untilRefresh("web", RefreshSuccessful, time.Minute, func(st stats) {
			if st.inService < 1 {
				t.Fatalf("%d InService", st.inService)
			}
		})
		if r.ToVersion != 2 || r.Total != 2 || r.InstancesToUpdate != 0 || !*r.Preferences.SkipMatching {
			t.Errorf("refresh %+v", r)
		}
		h.wait(10 * time.Second)
		if rs, _ := h.svc.Refreshes(context.Background(), "web"); len(rs) != 1 {
			t.Errorf("%d refreshes, want 1", len(rs))
		}
		if st := h.stats("web"); st.versions[2] != 2 {
			t.Fatalf("after the refresh: %+v", st)
		}
	})
}

func TestRefreshSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		refreshGroup(h, 2, nil)
		if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{CheckpointPercentages: []int{50}, CheckpointDelay: ip(30)}); err != nil {
			t.Fatal(err)
		}
		h.wait(2 * time.Second)
		h.svc.Close()
		h.start()
		h.untilRefresh("web", RefreshSuccessful, time.Minute, nil)
		if st := h.stats("web"); st.versions[2] != 2 {
			t.Fatalf("after the refresh: %+v", st)
		}
	})
}

func TestRefreshErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		if _, err := h.svc.StartRefresh(context.Background(), "nope", RefreshPreferences{}); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("unknown group: %v", err)
		}
		h.apply(basic("web", 1, 2))
		_, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{MinHealthyPercentage: ip(120)})
		if fault.CodeOf(err) != fault.Invalid || !strings.Contains(err.Error(), "minHealthyPercentage") {
			t.Errorf("bad preferences: %v", err)
		}
	})
}

func TestRefreshPreferencesValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    RefreshPreferences
		want []string // paths in error
	}{
		{"defaults", RefreshPreferences{}, nil},
		{"full", RefreshPreferences{MinHealthyPercentage: ip(50), MaxHealthyPercentage: ip(150), InstanceWarmup: ip(30),
			CheckpointPercentages: []int{20, 50, 100}, CheckpointDelay: ip(60), BakeTime: ip(300), AlarmNames: []string{"a"}}, nil},
		{"min out of range", RefreshPreferences{MinHealthyPercentage: ip(101)}, []string{"minHealthyPercentage"}},
		{"min negative", RefreshPreferences{MinHealthyPercentage: ip(-1)}, []string{"minHealthyPercentage"}},
		{"max below 100", RefreshPreferences{MaxHealthyPercentage: ip(99)}, []string{"maxHealthyPercentage"}},
		{"max above 200", RefreshPreferences{MinHealthyPercentage: ip(100), MaxHealthyPercentage: ip(201)}, []string{"maxHealthyPercentage"}},
		{"max - min > 100", RefreshPreferences{MinHealthyPercentage: ip(50), MaxHealthyPercentage: ip(200)}, []string{"maxHealthyPercentage"}},
		{"warmup negative", RefreshPreferences{InstanceWarmup: ip(-5)}, []string{"instanceWarmup"}},
		{"checkpoint out of range", RefreshPreferences{CheckpointPercentages: []int{0, 101}}, []string{"checkpointPercentages[0]", "checkpointPercentages[1]"}},
		{"checkpoints not ascending", RefreshPreferences{CheckpointPercentages: []int{50, 50, 20}}, []string{"checkpointPercentages[1]", "checkpointPercentages[2]"}},
		{"delay too long", RefreshPreferences{CheckpointDelay: ip(172801)}, []string{"checkpointDelay"}},
		{"bake negative", RefreshPreferences{BakeTime: ip(-1)}, []string{"bakeTime"}},
		{"too many alarms", RefreshPreferences{AlarmNames: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}}, []string{"alarmNames"}},
		{"empty alarm", RefreshPreferences{AlarmNames: []string{""}}, []string{"alarmNames[0]"}},
	} {
		var got []string
		for _, e := range tc.p.Validate() {
			got = append(got, e.Path)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: errors at %v, want %v", tc.name, got, tc.want)
		}
	}
	// The stack's instanceRefresh is validated with the group.
	spec := basic("web", 1, 2)
	spec.InstanceRefresh = &RefreshPreferences{MinHealthyPercentage: ip(101)}
	spec.ApplyDefaults()
	errs := spec.Validate()
	if len(errs) != 1 || errs[0].Path != "instanceRefresh.minHealthyPercentage" {
		t.Errorf("spec errors %v", errs)
	}
	// Defaults: warmup from the group's default warmup, else its grace period.
	g := GroupSpec{HealthCheckGracePeriod: ip(30)}
	if p := (RefreshPreferences{}).WithDefaults(&g); *p.InstanceWarmup != 30 || *p.MinHealthyPercentage != 90 || *p.BakeTime != 0 {
		t.Errorf("defaults %+v", p)
	}
	g.DefaultInstanceWarmup = ip(10)
	if p := (RefreshPreferences{}).WithDefaults(&g); *p.InstanceWarmup != 10 {
		t.Errorf("warmup %d, want 10", *p.InstanceWarmup)
	}
}

func TestRefreshOfDeletedGroupEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := refreshGroup(h, 2, nil)
		if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{CheckpointPercentages: []int{50}}); err != nil {
			t.Fatal(err)
		}
		h.wait(2 * time.Second)
		h.remove("web")
		h.wait(2 * time.Second)
		h.apply(spec)
		h.wait(time.Second)
		r := h.latestRefresh("web")
		if r.Status != RefreshCancelled || r.StatusReason != "the group was deleted" {
			t.Fatalf("refresh of the deleted group: %+v", r)
		}
		if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{}); err != nil {
			t.Fatalf("start on the new group: %v", err)
		}
	})
}

// refreshWith applies a group of 3 on version 1, lets prepare act on its
// members, then applies version 2 with a stack instanceRefresh of prefs.
func refreshWith(h *harness, prefs RefreshPreferences, prepare func(ids []string)) []string {
	h.t.Helper()
	spec := basic("web", 3, 6)
	spec.Version = "1"
	h.apply(spec)
	h.wait(time.Second)
	var ids []string
	for _, in := range h.group("web").Instances {
		ids = append(ids, in.InstanceID)
	}
	if len(ids) != 3 {
		h.t.Fatalf("members %v, want 3", ids)
	}
	prepare(ids)
	h.wait(time.Second)
	one := 100
	prefs.MinHealthyPercentage = &one
	spec.Version = "2"
	spec.InstanceRefresh = &prefs
	h.apply(spec)
	return ids
}

func (h *harness) version(id string) int {
	for _, in := range h.group("web").Instances {
		if in.InstanceID == id {
			return in.LaunchTemplateVersion
		}
	}
	return 0
}

func TestRefreshScaleInProtectedInstances(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		unprotect  bool // after 10 minutes
		want       string
		protected  int // the protected instance's version at the end (0: gone)
	}{
		{name: "Refresh replaces it", mode: RefreshRefresh, want: RefreshSuccessful},
		{name: "Ignore leaves it on its version", mode: RefreshIgnore, want: RefreshSuccessful, protected: 1},
		{name: "Wait replaces it once unprotected", mode: RefreshWait, unprotect: true, want: RefreshSuccessful},
		{name: "Wait fails after an hour", mode: RefreshWait, want: RefreshFailed, protected: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.svc.Close()
				h.interval = time.Second // an hour of rounds
				h.start()
				var protected string
				refreshWith(h, RefreshPreferences{ScaleInProtectedInstances: tc.mode}, func(ids []string) {
					protected = ids[0]
					if err := h.svc.SetInstanceProtection(context.Background(), "web", ids[:1], true); err != nil {
						t.Fatal(err)
					}
				})
				if tc.unprotect {
					h.wait(10 * time.Minute)
					r := h.latestRefresh("web")
					if r.Status != RefreshInProgress || !strings.Contains(r.StatusReason, "protected from scale-in") || !strings.Contains(r.StatusReason, protected) {
						t.Fatalf("after 10 minutes: %s (%s), want InProgress waiting for %s", r.Status, r.StatusReason, protected)
					}
					if err := h.svc.SetInstanceProtection(context.Background(), "web", []string{protected}, false); err != nil {
						t.Fatal(err)
					}
				}
				r := h.untilRefresh("web", tc.want, 2*time.Hour, nil)
				if tc.want == RefreshFailed && !strings.Contains(r.StatusReason, "protected from scale-in") {
					t.Errorf("reason %q", r.StatusReason)
				}
				if got := h.version(protected); got != tc.protected {
					t.Fatalf("the protected instance is on version %d at the end (0: replaced), want %d", got, tc.protected)
				}
			})
		})
	}
}

func TestRefreshStandbyInstances(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		exit       bool // leaves Standby after 10 minutes
		want       string
		standby    int // the Standby instance's version at the end (0: gone)
	}{
		{name: "Ignore leaves it", mode: RefreshIgnore, want: RefreshSuccessful, standby: 1},
		{name: "Terminate terminates it", mode: RefreshTerminate, want: RefreshSuccessful},
		{name: "Wait replaces it once back in service", mode: RefreshWait, exit: true, want: RefreshSuccessful},
		{name: "Wait fails after an hour", mode: RefreshWait, want: RefreshFailed, standby: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.svc.Close()
				h.interval = time.Second
				h.start()
				var standby string
				refreshWith(h, RefreshPreferences{StandbyInstances: tc.mode}, func(ids []string) {
					standby = ids[0]
					if _, err := h.svc.EnterStandby(context.Background(), "web", ids[:1], false); err != nil {
						t.Fatal(err)
					}
				})
				if tc.exit {
					h.wait(10 * time.Minute)
					if r := h.latestRefresh("web"); r.Status != RefreshInProgress || !strings.Contains(r.StatusReason, "Standby") {
						t.Fatalf("after 10 minutes: %s (%s), want InProgress waiting for %s", r.Status, r.StatusReason, standby)
					}
					if _, err := h.svc.ExitStandby(context.Background(), "web", []string{standby}); err != nil {
						t.Fatal(err)
					}
				}
				r := h.untilRefresh("web", tc.want, 2*time.Hour, nil)
				if tc.want == RefreshFailed && !strings.Contains(r.StatusReason, "Standby") {
					t.Errorf("reason %q", r.StatusReason)
				}
				if got := h.version(standby); got != tc.standby {
					t.Fatalf("the Standby instance is on version %d at the end (0: gone), want %d", got, tc.standby)
				}
			})
		})
	}
}

// TestRefreshReplacesWarmPool: after the group's instances, a refresh
// replaces the warm pool's, and an old instance taken from the pool into
// service during the refresh is replaced too; the refresh ends Successful
// only with every instance, in service or warm, on the new version.
func TestRefreshReplacesWarmPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 2, 4)
		spec.Version = "1"
		spec.WarmPool = &WarmPoolSpec{MinSize: 1}
		h.apply(spec)
		h.wait(2 * time.Second)
		versions := func() (inService, warm map[int]int) {
			inService, warm = map[int]int{}, map[int]int{}
			for _, in := range h.group("web").Instances {
				switch {
				case in.Lifecycle == InService:
					inService[in.LaunchTemplateVersion]++
				case strings.HasPrefix(in.Lifecycle, "Warmed:") && !terminating(in.Lifecycle):
					warm[in.LaunchTemplateVersion]++
				}
			}
			return inService, warm
		}
		if in, warm := versions(); in[1] != 2 || warm[1] != 2 {
			t.Fatalf("before: in service %v, warm %v; want 2 and 2 (max 4 - desired 2) on version 1", in, warm)
		}
		spec.Version = "2"
		h.apply(spec)
		if _, err := h.svc.StartRefresh(context.Background(), "web", RefreshPreferences{MinHealthyPercentage: ip(50)}); err != nil {
			t.Fatal(err)
		}
		// A scale-out while the refresh runs takes an old instance from
		// the pool.
		h.wait(50 * time.Millisecond)
		if err := h.svc.SetDesired(context.Background(), "web", 3, false); err != nil {
			t.Fatal(err)
		}
		r := h.untilRefresh("web", RefreshSuccessful, 30*time.Second, nil)
		if in, warm := versions(); in[1] != 0 || warm[1] != 0 {
			t.Fatalf("the refresh ended with in service %v, warm %v: version 1 left", in, warm)
		}
		h.wait(2 * time.Second) // the scale-out settles
		in, warm := versions()
		if in[1] != 0 || in[2] != 3 || warm[1] != 0 || warm[2] != 1 {
			t.Fatalf("after the refresh: in service %v, warm %v; want 3 in service and 1 warm (max 4 - desired 3), all on version 2; refresh %+v", in, warm, r)
		}
		if r.Total < 2 {
			t.Errorf("refresh total %d, want at least the 2 members it started with", r.Total)
		}
		if !slices.ContainsFunc(h.activities("web"), func(a Activity) bool {
			return strings.Contains(a.Cause, "taken out of the warm pool in response to an instance refresh")
		}) {
			for _, a := range h.activities("web") {
				t.Log(a.Description, " / ", a.Cause)
			}
			t.Error("no activity for the warm pool's replacement")
		}
	})
}
