package main

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// brokenApp is an app that serves / but answers its health check with
// 404: ready as far as its supervisor can tell, unhealthy for the load
// balancer (matcher 200) — a new version that must never take traffic.
const brokenApp = `#!/bin/sh
exec python3 -c '
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404 if self.path == "/health" else 200)
        self.end_headers()
        self.wfile.write(b"broken\n")
    def log_message(self, *a):
        pass
http.server.HTTPServer((os.environ["HOST"], int(os.environ["PORT"])), H).serve_forever()
'
`

// TestBlueGreenDeployUnderLoad: madang deploy --type blue-green of a
// changed source launches a replacement fleet of 4 beside the group's 4,
// moves the traffic to it in two linear steps, keeps the originals for the
// termination wait and then terminates them; a broken next version is
// rolled back before it takes any traffic. No request fails throughout.
func TestBlueGreenDeployUnderLoad(t *testing.T) {
	c, dir, file, url := inPlaceGroup(t)
	before := c.imageVersions("web")
	l := startLoad(url, 40)
	writeRevision(t, dir, 2, 0)
	start := time.Now()
	out, err := c.run("deploy", "-f", file, "--type", "blue-green", "--traffic", "linear:50%:2s", "--termination-wait", "3s")
	took := time.Since(start)
	if err != nil {
		l.end()
		t.Fatalf("deploy: %v\n%s\n%s", err, out, c.must("asg", "activities", "web"))
	}
	t.Logf("madang deploy --type blue-green:\n%s", out)
	for _, want := range []string{"~ image hello", "blue/green deployment d-", "a replacement fleet of 4; traffic linear 50% every 2s",
		"replacement fleet: ", "traffic: 50% on the replacement fleet", "traffic: 100% on the replacement fleet; the originals", "Succeeded in"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	after := c.imageVersions("web")
	if len(after) != 4 {
		t.Fatalf("instances after the deployment: %v (before %v)", after, before)
	}
	for id, v := range after {
		if v != 2 || before[id] != 0 {
			t.Fatalf("after the deployment %s runs v%d (before %v, after %v): want 4 new instances on v2", id, v, before, after)
		}
		if n := l.servedBy(id); n == 0 {
			t.Errorf("replacement %s served no request", id)
		}
	}
	if n := l.failed.Load(); n > 0 {
		l.end()
		t.Fatalf("%d of %d requests failed during the blue/green deployment: %v", n, n+l.ok.Load(), l.errs)
	}
	t.Logf("blue/green deployment of 4 instances took %s; %d requests so far, 0 failed", took.Round(100*time.Millisecond), l.ok.Load())

	// A broken version: its replacements fail their health checks and
	// never get a request; the deployment rolls back.
	writeRevision(t, dir, 3, 0)
	if err := os.WriteFile(filepath.Join(dir, "app", "hello"), []byte(brokenApp), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err = c.run("deploy", "-f", file, "--type", "blue-green", "--traffic", "all-at-once", "--termination-wait", "3s")
	if err == nil {
		l.end()
		t.Fatalf("deploy of a broken version exited 0:\n%s", out)
	}
	t.Logf("madang deploy of a broken version:\n%s", out)
	for _, want := range []string{"rolled back: the traffic is on the original instances", "Failed", "HEALTH_CONSTRAINTS", "ELB system health check failure in target group web"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	c.waitInService("web", 4)
	time.Sleep(500 * time.Millisecond)
	l.end()
	if kept := c.imageVersions("web"); !slices.Equal(slices.Sorted(maps.Keys(kept)), slices.Sorted(maps.Keys(after))) {
		t.Errorf("instances after the rollback %v, want the v2 fleet %v", kept, after)
	}
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed during the deployments: %v", n, n+l.ok.Load(), l.errs)
	}
	if n := l.servedBy("broken"); n > 0 {
		t.Fatalf("the broken version served %d requests", n)
	}
	body, err := get(url)
	if err != nil || strings.Contains(body, "broken") {
		t.Fatalf("after the rollback the load balancer answers %q, %v", body, err)
	}
	t.Logf("%d requests in all, 0 failed", l.ok.Load())
}
