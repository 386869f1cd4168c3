package autoscaling

import (
	"context"
	"maps"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/madang-dev/madang/internal/compute"
)

// tagCalls returns the tag changes compute was asked for on id.
func (h *harness) tagCalls(id string) []string {
	var out []string
	for _, c := range h.compute.callLog() {
		if strings.HasPrefix(c, "tag "+id+" ") {
			out = append(out, c)
		}
	}
	return out
}

func TestAttachTagsAndDetachUntags(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		spec := basic("web", 0, 3)
		spec.Tags = map[string]string{"team": "web"}
		h.apply(spec)
		h.wait(time.Second)
		ins, err := h.compute.Run(context.Background(), compute.RunRequest{LaunchTemplate: "lt", Count: 1, Zone: "local-1a",
			Tags: map[string]string{"owner": "me", "team": "old"}})
		if err != nil {
			t.Fatal(err)
		}
		id := ins[0].ID
		if _, err := h.svc.AttachInstances(context.Background(), "web", []string{id}); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		want := map[string]string{GroupTag: "web", "team": "web", "owner": "me"}
		if got := h.compute.tags(id); !maps.Equal(got, want) {
			t.Fatalf("attached instance's tags %v, want %v", got, want)
		}
		// A launched instance has its tags from the launch: nothing to change.
		if err := h.svc.SetDesired(context.Background(), "web", 2, false); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		for _, in := range h.group("web").Instances {
			if in.InstanceID == id {
				continue
			}
			if got := h.compute.tags(in.InstanceID); got[GroupTag] != "web" || got["team"] != "web" {
				t.Errorf("launched instance %s's tags %v", in.InstanceID, got)
			}
			if calls := h.tagCalls(in.InstanceID); len(calls) > 0 {
				t.Errorf("launched instance %s tagged again: %v", in.InstanceID, calls)
			}
		}

		if _, err := h.svc.DetachInstances(context.Background(), "web", []string{id}, true); err != nil {
			t.Fatal(err)
		}
		h.wait(time.Second)
		want = map[string]string{"team": "web", "owner": "me"}
		if got := h.compute.tags(id); !maps.Equal(got, want) {
			t.Fatalf("detached instance's tags %v, want %v", got, want)
		}
		h.wait(2 * time.Second)
		wantCalls := []string{"tag " + id + " +" + GroupTag + "=web +team=web", "tag " + id + " -" + GroupTag}
		if got := h.tagCalls(id); strings.Join(got, "\n") != strings.Join(wantCalls, "\n") {
			t.Errorf("tag changes %q, want %q (once each)", got, wantCalls)
		}
	})
}

// A daemon that stopped between an attach or a detach and its tag change
// makes the change when it starts again.
func TestTagsFollowTheGroupAfterARestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		// detach detaches the instance before the restart.
		detach bool
		// before sets the instance's tags as the stopped daemon left them.
		before map[string]string
		want   map[string]string
	}{
		{name: "attached, not tagged yet", before: map[string]string{"owner": "me"},
			want: map[string]string{GroupTag: "web", "team": "web", "owner": "me"}},
		{name: "detached, still tagged", detach: true, before: map[string]string{GroupTag: "web", "team": "web"},
			want: map[string]string{"team": "web"}},
		{name: "detached, then tagged by another group", detach: true, before: map[string]string{GroupTag: "api"},
			want: map[string]string{GroupTag: "api"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				spec := basic("web", 0, 2)
				spec.Tags = map[string]string{"team": "web"}
				h.apply(spec)
				ins, err := h.compute.Run(context.Background(), compute.RunRequest{LaunchTemplate: "lt", Count: 1, Zone: "local-1a"})
				if err != nil {
					t.Fatal(err)
				}
				id := ins[0].ID
				if _, err := h.svc.AttachInstances(context.Background(), "web", []string{id}); err != nil {
					t.Fatal(err)
				}
				h.wait(time.Second)
				if tc.detach {
					if _, err := h.svc.DetachInstances(context.Background(), "web", []string{id}, true); err != nil {
						t.Fatal(err)
					}
					h.wait(time.Second)
				}
				h.svc.Close()
				h.compute.set(id, func(in *compute.Instance) { in.Tags = maps.Clone(tc.before) })
				h.start()
				h.wait(time.Second)
				if got := h.compute.tags(id); !maps.Equal(got, tc.want) {
					t.Errorf("tags after the restart %v, want %v", got, tc.want)
				}
			})
		})
	}
}
