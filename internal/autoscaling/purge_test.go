package autoscaling

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestPurge(t *testing.T) {
	tests := []struct {
		name   string
		delete []string // groups deleted before Purge
		want   int      // groups whose state Purge drops
	}{
		{name: "no group deleted", want: 0},
		{name: "one of two deleted", delete: []string{"web"}, want: 1},
		{name: "both deleted", delete: []string{"web", "api"}, want: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				h.apply(basic("web", 2, 2))
				h.apply(basic("api", 1, 1))
				h.wait(time.Second)
				deleted := map[string]bool{}
				for _, g := range tc.delete {
					deleted[g] = true
					// The records of a clean slate go in the same
					// transaction as the group; the controller follows only
					// the group's.
					rev, err := h.store.Delete(context.Background(), GroupPrefix+g)
					if err != nil {
						t.Fatal(err)
					}
					if err := h.svc.Observed(context.Background(), rev); err != nil {
						t.Fatal(err)
					}
				}
				// State the controller keeps after a group's deletion: its
				// newest refresh and deployment (shown by Describe… calls
				// of a group recreated under the name) and a retry time.
				h.svc.mu.Lock()
				for _, g := range []string{"web", "api"} {
					h.svc.refreshes[g] = &Refresh{}
					h.svc.deployments[g] = &Deployment{}
					h.svc.retryAt[g] = time.Now()
				}
				h.svc.mu.Unlock()
				n, err := h.svc.Purge(context.Background())
				if err != nil {
					t.Fatalf("Purge: %v", err)
				}
				if n != tc.want {
					t.Errorf("Purge dropped the state of %d groups, want %d", n, tc.want)
				}
				h.svc.mu.Lock()
				for _, g := range []string{"web", "api"} {
					_, hasCap := h.svc.capacity[g]
					members := len(h.svc.membersLocked(g))
					open := 0
					for _, a := range h.svc.open {
						if a.Group == g {
							open++
						}
					}
					_, hasRefresh := h.svc.refreshes[g]
					_, hasDeploy := h.svc.deployments[g]
					_, hasRetry := h.svc.retryAt[g]
					if deleted[g] && (hasCap || members > 0 || open > 0 || h.svc.inflight[g] > 0 || hasRefresh || hasDeploy || hasRetry) {
						t.Errorf("deleted group %s: capacity %v, %d members, %d open activities, refresh %v, deployment %v, retry %v left",
							g, hasCap, members, open, hasRefresh, hasDeploy, hasRetry)
					}
					if !deleted[g] && (!hasCap || members == 0 || !hasRefresh || !hasDeploy) {
						t.Errorf("live group %s lost its state: capacity %v, %d members, refresh %v, deployment %v", g, hasCap, members, hasRefresh, hasDeploy)
					}
				}
				h.svc.mu.Unlock()
				// The controller keeps working: a group of a deleted name
				// starts from nothing.
				h.apply(basic("web", 1, 1))
				h.wait(time.Second)
				if got := len(h.group("web").Instances); got != 1 {
					t.Errorf("web after Purge and a new apply: %d instances, want 1", got)
				}
			})
		})
	}
}
