package autoscaling

import (
	"context"
	"slices"
	"sort"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/compute"
)

func TestParseTrafficRouting(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TrafficRouting
		bad  bool
	}{
		{in: "", want: TrafficRouting{Type: RoutingAllAtOnce}},
		{in: "all-at-once", want: TrafficRouting{Type: RoutingAllAtOnce}},
		{in: "canary:10%:5m", want: TrafficRouting{Type: RoutingCanary, Percentage: 10, IntervalSeconds: 300}},
		{in: "linear:25%:30s", want: TrafficRouting{Type: RoutingLinear, Percentage: 25, IntervalSeconds: 30}},
		{in: "CodeDeployDefault.ECSCanary10Percent15Minutes", want: TrafficRouting{Type: RoutingCanary, Percentage: 10, IntervalSeconds: 900}},
		{in: "CodeDeployDefault.ECSLinear10PercentEvery1Minutes", want: TrafficRouting{Type: RoutingLinear, Percentage: 10, IntervalSeconds: 60}},
		{in: "canary:0%:5m", bad: true},
		{in: "canary:100%:5m", bad: true},
		{in: "linear:10%", bad: true},
		{in: "linear:10%:1.5s", bad: true},
		{in: "linear:ten:1m", bad: true},
		{in: "gradual:10%:1m", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTrafficRouting(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %+v, %v; want %+v", got, err, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestFleetWeights(t *testing.T) {
	for _, tc := range []struct {
		name                string
		p, nBlue, nGreen    int
		blue, green         int // -1: the default weight (nil)
		greenShareWithinPct float64
	}{
		{name: "0% keeps the originals at default, the replacements at 0", p: 0, nBlue: 4, nGreen: 4, blue: -1, green: 0},
		{name: "100% the other way round", p: 100, nBlue: 4, nGreen: 4, blue: 0, green: -1},
		{name: "canary 10% of equal fleets", p: 10, nBlue: 4, nGreen: 4, blue: 9, green: 1},
		{name: "25% of 4 originals and 2 replacements", p: 25, nBlue: 4, nGreen: 2, blue: 3, green: 2},
		{name: "no originals left: all to the replacements", p: 40, nBlue: 0, nGreen: 3, blue: 0, green: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, g := fleetWeights(tc.p, tc.nBlue, tc.nGreen)
			deref := func(w *int) int {
				if w == nil {
					return -1
				}
				return *w
			}
			if deref(b) != tc.blue || deref(g) != tc.green {
				t.Fatalf("weights %d/%d, want %d/%d", deref(b), deref(g), tc.blue, tc.green)
			}
			if b != nil && g != nil && *b > 0 && *g > 0 {
				share := float64(*g*tc.nGreen) / float64(*g*tc.nGreen+*b*tc.nBlue) * 100
				if share != float64(tc.p) {
					t.Fatalf("replacement share %.1f%%, want %d%%", share, tc.p)
				}
			}
		})
	}
}

// blueGreen starts a blue/green deployment of group web.
func (h *harness) blueGreen(routing string, wait int, keep bool) Deployment {
	h.t.Helper()
	r, err := ParseTrafficRouting(routing)
	if err != nil {
		h.t.Fatal(err)
	}
	d, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{DeploymentType: DeploymentBlueGreen,
		TrafficRouting: &r, TerminationWaitSeconds: ip(wait), KeepOriginals: keep})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) deployment(id string) Deployment {
	h.t.Helper()
	d, err := h.svc.Deployment(context.Background(), "web", id)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// until waits (100 ms steps of fake time, at most limit) for cond.
func (h *harness) until(what string, limit time.Duration, cond func() bool) {
	h.t.Helper()
	for end := time.Now().Add(limit); !cond(); h.wait(100 * time.Millisecond) {
		if time.Now().After(end) {
			h.t.Fatalf("%s: not within %s", what, limit)
		}
	}
}

// running returns the running instances by image version.
func (h *harness) running() map[int][]string {
	out := map[int][]string{}
	for _, in := range h.compute.AllInstances() {
		if in.State == compute.StateRunning {
			out[in.ImageVersion] = append(out[in.ImageVersion], in.ID)
		}
	}
	for _, ids := range out {
		sort.Strings(ids)
	}
	return out
}

func TestBlueGreenCanaryKeepsOriginalsThenTerminatesThem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 4)
		blue := h.running()[1]
		start := time.Now()
		d := h.blueGreen("canary:25%:10s", 30, false)
		if d.Type != DeploymentBlueGreen || d.BlueGreen.Size != 4 || len(d.Instances) != 4 {
			t.Fatalf("started %+v", d)
		}
		// The replacement fleet launches, registered at weight 0.
		var green []string
		h.until("a healthy replacement fleet taking its canary share", 5*time.Second, func() bool {
			green = h.running()[2]
			return len(green) == 4 && h.deployment(d.ID).BlueGreen.Applied == 25
		})
		for _, id := range green {
			if w := h.lb.weight("tg", id); w != 1 {
				t.Errorf("replacement %s weight %d at 25%%, want 1 (originals 3)", id, w)
			}
		}
		for _, id := range blue {
			if w := h.lb.weight("tg", id); w != 3 {
				t.Errorf("original %s weight %d at 25%%, want 3", id, w)
			}
		}
		if g := h.group("web"); g.InService != 4 || g.DesiredCapacity != 4 {
			t.Fatalf("during the canary: %d in service of %d desired, want the 4 originals", g.InService, g.DesiredCapacity)
		}
		// After the interval, the rest: the fleets swap.
		h.until("the swap", 15*time.Second, func() bool { return h.deployment(d.ID).BlueGreen.Phase == PhaseRetaining })
		if el := time.Since(start); el < 10*time.Second {
			t.Fatalf("all traffic moved after %s, before the canary interval of 10s", el)
		}
		for _, id := range blue {
			if w := h.lb.weight("tg", id); w != 0 || h.lifecycle("web", id) != InService {
				t.Errorf("original %s during the wait: weight %d, %s; want 0 and still InService", id, w, h.lifecycle("web", id))
			}
		}
		for _, id := range green {
			if w := h.lb.weight("tg", id); w != 1 {
				t.Errorf("replacement %s weight %d after the swap, want the default 1", id, w)
			}
		}
		if g := h.group("web"); g.InService != 4 {
			t.Fatalf("after the swap %d counted in service, want the 4 replacements", g.InService)
		}
		if got := h.deployment(d.ID); got.Status != DeploymentInProgress {
			t.Fatalf("during the wait: %s, want InProgress", got.Status)
		}
		// After the wait the originals go.
		h.until("the end", 45*time.Second, func() bool { d := h.deployment(d.ID); return !d.Active() })
		got := h.deployment(d.ID)
		if got.Status != DeploymentSucceeded {
			t.Fatalf("status %s (%+v)", got.Status, got.ErrorInfo)
		}
		if steps := got.BlueGreen.Steps; len(steps) != 2 || steps[0].Percent != 25 || steps[1].Percent != 100 || steps[1].At.Sub(steps[0].At) != 10*time.Second {
			t.Fatalf("steps %+v, want 25%% then 100%% 10s later", steps)
		}
		if run := h.running(); len(run[1]) != 0 || !slices.Equal(run[2], green) {
			t.Fatalf("running %v, want only the replacements %v", run, green)
		}
		for _, tg := range got.Instances {
			if tg.Status != TargetSucceeded {
				t.Errorf("target %s %s", tg.InstanceID, tg.Status)
			}
		}
		if len(got.Instances) != 8 {
			t.Errorf("%d targets, want 4 originals and 4 replacements", len(got.Instances))
		}
	})
}

func TestBlueGreenFailingReplacementRollsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 2)
		blue := h.running()[1]
		f := h.compute
		f.mu.Lock()
		run := f.onRun
		f.onRun = func(in *compute.Instance) {
			run(in)
			h.lb.setHealth(in.ID, "unhealthy") // the new version fails its health checks
		}
		f.mu.Unlock()
		d := h.blueGreen("linear:50%:5s", 60, false)
		h.until("the rollback", 10*time.Second, func() bool { d := h.deployment(d.ID); return !d.Active() })
		got := h.deployment(d.ID)
		if got.Status != DeploymentFailed || got.ErrorInfo == nil || got.ErrorInfo.Code != "HEALTH_CONSTRAINTS" {
			t.Fatalf("status %s (%+v), want Failed with HEALTH_CONSTRAINTS", got.Status, got.ErrorInfo)
		}
		if len(got.BlueGreen.Steps) != 1 || got.BlueGreen.Steps[0].Percent != 0 {
			t.Fatalf("steps %+v: the traffic should never have moved", got.BlueGreen.Steps)
		}
		if r := h.running(); !slices.Equal(r[1], blue) || len(r[2]) != 0 {
			t.Fatalf("running %v, want the originals %v alone", r, blue)
		}
		for _, id := range blue {
			if w := h.lb.weight("tg", id); w != 1 {
				t.Errorf("original %s weight %d, want the default", id, w)
			}
		}
		h.svc.mu.Lock()
		rev := h.svc.revisions["web"]
		h.svc.mu.Unlock()
		if rev != nil {
			t.Fatalf("revision %+v after the rollback, want none (launches follow the image again)", rev)
		}
		// The group is whole again and stays so.
		h.wait(2 * time.Second)
		if g := h.group("web"); g.InService != 2 {
			t.Fatalf("%d in service after the rollback, want 2", g.InService)
		}
	})
}

func TestBlueGreenRollbackDuringTheWaitIsInstant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 2)
		blue := h.running()[1]
		d := h.blueGreen("all-at-once", 600, false)
		h.until("the swap", 5*time.Second, func() bool { return h.deployment(d.ID).BlueGreen.Phase == PhaseRetaining })
		if _, err := h.svc.StopDeployment(context.Background(), "web", d.ID, true); err != nil {
			t.Fatal(err)
		}
		stopped := time.Now()
		h.until("the originals serving again", 5*time.Second, func() bool {
			for _, id := range blue {
				if h.lb.weight("tg", id) != 1 {
					return false
				}
			}
			return true
		})
		if el := time.Since(stopped); el > time.Second {
			t.Fatalf("the originals took the traffic back after %s, want within a round or two", el)
		}
		h.until("the end", 10*time.Second, func() bool { d := h.deployment(d.ID); return !d.Active() })
		got := h.deployment(d.ID)
		if got.Status != DeploymentStopped {
			t.Fatalf("status %s (%+v), want Stopped", got.Status, got.ErrorInfo)
		}
		if r := h.running(); !slices.Equal(r[1], blue) || len(r[2]) != 0 {
			t.Fatalf("running %v, want the originals %v alone", r, blue)
		}
		g := h.group("web")
		if g.InService != 2 {
			t.Fatalf("%d in service, want the 2 originals", g.InService)
		}
		for _, in := range g.Instances {
			if !slices.Contains(blue, in.InstanceID) {
				t.Errorf("member %s is not an original", in.InstanceID)
			}
		}
	})
}

func TestBlueGreenKeepAliveDetachesTheOriginals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 2)
		blue := h.running()[1]
		d := h.blueGreen("all-at-once", 0, true)
		h.until("the end", 10*time.Second, func() bool { d := h.deployment(d.ID); return !d.Active() })
		if got := h.deployment(d.ID); got.Status != DeploymentSucceeded {
			t.Fatalf("status %s (%+v)", got.Status, got.ErrorInfo)
		}
		h.until("the originals detached", 5*time.Second, func() bool {
			for _, id := range blue {
				if h.lifecycle("web", id) != "" {
					return false
				}
			}
			return true
		})
		if r := h.running(); !slices.Equal(r[1], blue) || len(r[2]) != 2 {
			t.Fatalf("running %v, want the originals still running beside 2 replacements", r)
		}
	})
}

func TestBlueGreenNeedsATargetGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 1, 2)
		spec.TargetGroups = nil
		h.apply(spec)
		h.wait(time.Second)
		_, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{DeploymentType: DeploymentBlueGreen})
		if err == nil {
			t.Fatal("a blue/green deployment of a group without target groups was accepted")
		}
		if _, err := h.svc.StartDeployment(context.Background(), "web", DeploymentRequest{DeploymentType: "ROLLING"}); err == nil {
			t.Fatal("deployment type ROLLING was accepted")
		}
		if ds, _ := h.svc.Deployments(context.Background(), "web"); len(ds) != 0 {
			t.Fatalf("refused starts left deployments: %+v", ds)
		}
	})
}

// TestBlueGreenResumesAfterRestart: a controller that stops during the
// canary leaves the deployment, its fleets and their weights in the store;
// the next one takes it on from there.
func TestBlueGreenResumesAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 2)
		blue := h.running()[1]
		d := h.blueGreen("canary:50%:20s", 5, false)
		h.until("the canary", 5*time.Second, func() bool { return h.deployment(d.ID).BlueGreen.Applied == 50 })
		h.svc.Close()
		h.start()
		if got := h.deployment(d.ID); got.BlueGreen.Phase != PhaseShifting || got.BlueGreen.Applied != 50 {
			t.Fatalf("after the restart: %s at %d%%", got.BlueGreen.Phase, got.BlueGreen.Applied)
		}
		if g := h.group("web"); g.InService != 2 || len(g.Instances) != 4 {
			t.Fatalf("after the restart: %d counted in service of %d members, want the 2 originals of 4", g.InService, len(g.Instances))
		}
		h.until("the end", time.Minute, func() bool { d := h.deployment(d.ID); return !d.Active() })
		if got := h.deployment(d.ID); got.Status != DeploymentSucceeded {
			t.Fatalf("status %s (%+v)", got.Status, got.ErrorInfo)
		}
		run := h.running()
		if len(run[2]) != 2 || len(run[1]) != 0 {
			t.Fatalf("running %v, want the 2 replacements alone (originals %v)", run, blue)
		}
	})
}

// TestBlueGreenStopWithoutRollbackEndsTheWait: a stop without rollback
// while the originals wait terminates them now; the replacements stay.
func TestBlueGreenStopWithoutRollbackEndsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		deployGroup(h, 2)
		d := h.blueGreen("all-at-once", 3600, false)
		h.until("the swap", 5*time.Second, func() bool { return h.deployment(d.ID).BlueGreen.Phase == PhaseRetaining })
		if _, err := h.svc.StopDeployment(context.Background(), "web", d.ID, false); err != nil {
			t.Fatal(err)
		}
		h.until("the end", 10*time.Second, func() bool { d := h.deployment(d.ID); return !d.Active() })
		if got := h.deployment(d.ID); got.Status != DeploymentSucceeded {
			t.Fatalf("status %s (%+v), want Succeeded: the traffic had moved", got.Status, got.ErrorInfo)
		}
		if r := h.running(); len(r[1]) != 0 || len(r[2]) != 2 {
			t.Fatalf("running %v, want the 2 replacements alone, long before the hour's wait", r)
		}
	})
}
