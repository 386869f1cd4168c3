package controller

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestPurge: once a clean slate's deletes are observed, the listener's
// port is free, nothing of the groups is served, and Purge removes the
// access logs of the load balancers that are gone (not of those that
// stay) and the instances taken out of rotation.
func TestPurge(t *testing.T) {
	tests := []struct {
		name   string
		delete bool // delete the "gone" load balancer and its group first
	}{
		{name: "deleted load balancer", delete: true},
		{name: "nothing deleted", delete: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newController(t)
			a := backend(t, "a")
			gonePort, keptPort := freePort(t), freePort(t)
			ch := &Change{TargetGroups: []*TargetGroup{ipGroup(t, "gone", a), ipGroup(t, "kept", a)},
				LoadBalancers: []*LoadBalancer{lbSpec("gone", gonePort, "gone"), lbSpec("kept", keptPort, "kept")}}
			if err := commit(c, ch); err != nil {
				t.Fatal(err)
			}
			for _, lb := range []string{"gone", "kept"} {
				if err := os.MkdirAll(filepath.Dir(c.AccessLogPath(lb)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(c.AccessLogPath(lb), []byte("line\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c.mu.Lock()
			c.leaving["i-0abc"] = true
			c.mu.Unlock()
			if tc.delete {
				if err := commit(c, &Change{DeleteTGs: []string{"gone"}, DeleteLBs: []string{"gone"}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Purge(); err != nil {
				t.Fatalf("Purge: %v", err)
			}
			_, err := os.Stat(c.AccessLogPath("gone"))
			if gone := errors.Is(err, os.ErrNotExist); gone != tc.delete {
				t.Errorf("access log of the deleted load balancer removed: %v, want %v", gone, tc.delete)
			}
			if _, err := os.Stat(c.AccessLogPath("kept")); err != nil {
				t.Errorf("access log of a live load balancer: %v", err)
			}
			c.mu.Lock()
			leaving := len(c.leaving)
			_, hasTG := c.tgs["gone"]
			c.mu.Unlock()
			if leaving != 0 {
				t.Errorf("%d instances still out of rotation", leaving)
			}
			if hasTG == tc.delete {
				t.Errorf("target group gone still known: %v", hasTG)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(gonePort))
			if tc.delete && err != nil {
				t.Errorf("port of the deleted listener is not free: %v", err)
			}
			if err == nil {
				ln.Close()
			}
		})
	}
}
