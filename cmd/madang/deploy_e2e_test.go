package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// markScript records each lifecycle event it runs for in the instance's
// directory: the revision of the working directory it ran in and
// CodeDeploy's variables.
const markScript = `#!/bin/sh
mkdir -p "$INSTANCE_DIR/markers"
echo "$(cat REVISION) $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME" > "$INSTANCE_DIR/markers/$LIFECYCLE_EVENT"
echo "marked $LIFECYCLE_EVENT"
`

const deployAppSpec = `version: 0.0
os: linux
files:
  - source: /
    destination: /srv/hello
hooks:
  ApplicationStop:
    - location: scripts/mark.sh
      timeout: 30
  BeforeInstall:
    - location: scripts/mark.sh
  AfterInstall:
    - location: scripts/mark.sh
  ApplicationStart:
    - location: scripts/mark.sh
  ValidateService:
    - location: scripts/mark.sh
    - location: scripts/validate.sh
      timeout: 10
`

// writeRevision writes the app's revision files: REVISION, the appspec
// and its scripts; validate.sh exits with validateExit.
func writeRevision(t *testing.T, dir string, rev, validateExit int) {
	t.Helper()
	app := filepath.Join(dir, "app")
	files := map[string]string{
		"REVISION":            fmt.Sprintf("%d\n", rev),
		"appspec.yml":         deployAppSpec,
		"scripts/mark.sh":     markScript,
		"scripts/validate.sh": fmt.Sprintf("#!/bin/sh\ntest -x ./hello || exit 9\necho \"validating revision %d\"\nexit %d\n", rev, validateExit),
	}
	for name, body := range files {
		p := filepath.Join(app, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

type deployRow struct {
	ID           string `json:"deploymentId"`
	Status       string `json:"status"`
	ImageVersion int    `json:"imageVersion"`
	Creator      string `json:"creator"`
	RollbackOf   string `json:"rollbackOf"`
	RolledBackBy string `json:"rolledBackBy"`
	Instances    []struct {
		ID     string `json:"instanceId"`
		Status string `json:"status"`
		Batch  int    `json:"batch"`
		Events []struct {
			Name        string `json:"lifecycleEventName"`
			Status      string `json:"status"`
			Diagnostics *struct {
				ErrorCode string `json:"errorCode"`
				LogTail   string `json:"logTail"`
			} `json:"diagnostics"`
		} `json:"lifecycleEvents"`
	} `json:"instances"`
}

func (c runner) deployments(group string) []deployRow {
	c.t.Helper()
	var ds []deployRow
	out := c.must("deployments", "ls", group, "-o", "json")
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		c.t.Fatalf("deployments ls: %v\n%s", err, out)
	}
	return ds
}

// imageVersions returns the image version each running instance of the
// group runs.
func (c runner) imageVersions(group string) map[string]int {
	c.t.Helper()
	var rows []struct {
		ID           string `json:"id"`
		Group        string `json:"group"`
		State        string `json:"state"`
		ImageVersion int    `json:"imageVersion"`
	}
	if err := json.Unmarshal([]byte(c.must("ps", "-o", "json")), &rows); err != nil {
		c.t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		if r.Group == group && r.State == "running" {
			out[r.ID] = r.ImageVersion
		}
	}
	return out
}

// inPlaceGroup applies a group of 4 behind the load balancer, on
// revision 1 of an app with an appspec, and returns the runner, the stack
// file and the load balancer's URL.
func inPlaceGroup(t *testing.T) (runner, string, string, string) {
	dir := t.TempDir()
	c := runner{t: t, home: filepath.Join(dir, "home")}
	port := freePort(t)
	buildSampleApp(t, dir)
	writeRevision(t, dir, 1, 0)
	file := asgStack(t, dir, port, 4, 4, "")
	startServer(t, c)
	c.must("apply", "-f", file)
	destroyAtCleanup(t, c, file)
	c.waitInService("web", 4)
	return c, dir, file, fmt.Sprintf("http://127.0.0.1:%d/", port)
}

// TestInPlaceDeployUnderLoad: madang deploy of a changed source installs
// the new image version on the group's 4 instances where they are, half at
// a time, running the appspec's hooks, without a failed request.
func TestInPlaceDeployUnderLoad(t *testing.T) {
	c, dir, file, url := inPlaceGroup(t)
	before := c.imageVersions("web")
	l := startLoad(url, 40)
	writeRevision(t, dir, 2, 0)
	start := time.Now()
	out, err := c.run("deploy", "-f", file, "--config", "CodeDeployDefault.HalfAtATime")
	took := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	l.end()
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	t.Logf("madang deploy:\n%s", out)
	for _, want := range []string{"~ image hello", "in-place deployment d-", "image hello v1 → v2 on 4 instance(s), HalfAtATime (2 at a time, 2 kept healthy)",
		"batch 1:", "batch 2:", "Succeeded in", "BlockTraffic", "ValidateService", "AllowTraffic", "(4 Succeeded)"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	after := c.imageVersions("web")
	if len(after) != 4 {
		t.Fatalf("instances after the deployment: %v (before %v)", after, before)
	}
	for id := range before {
		if after[id] != 2 {
			t.Fatalf("instance %s runs image v%d after the deployment (ids before %v, after %v)", id, after[id], before, after)
		}
	}
	ds := c.deployments("web")
	if len(ds) != 1 || ds[0].Status != "Succeeded" || len(ds[0].Instances) != 4 {
		t.Fatalf("deployments %+v", ds)
	}
	d := ds[0]
	batches := map[int]int{}
	for _, in := range d.Instances {
		batches[in.Batch]++
		if in.Status != "Succeeded" {
			t.Errorf("instance %s: %s", in.ID, in.Status)
		}
		// ApplicationStop ran the previous revision's script in its
		// working directory; the events after the install the new one's.
		for ev, rev := range map[string]string{"ApplicationStop": "1", "BeforeInstall": "1", "AfterInstall": "2", "ApplicationStart": "2", "ValidateService": "2"} {
			b, err := os.ReadFile(filepath.Join(c.home, "instances", in.ID, "markers", ev))
			want := rev + " " + d.ID + " asg web"
			if err != nil || strings.TrimSpace(string(b)) != want {
				t.Errorf("instance %s marker %s = %q, %v; want %q", in.ID, ev, b, err, want)
			}
		}
	}
	if batches[1] != 2 || batches[2] != 2 {
		t.Errorf("batches %v, want 2 and 2", batches)
	}
	id := d.Instances[0].ID
	if logs := c.must("logs", id, "-n", "400"); !strings.Contains(logs, "deployment "+d.ID+" ValidateService scripts/validate.sh: validating revision 2") {
		t.Errorf("instance log lacks the hook's output:\n%s", logs)
	}
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed during the deployment: %v", n, n+l.ok.Load(), l.errs)
	}
	if out := c.must("deploy", "-f", file); !strings.Contains(out, "nothing to deploy") {
		t.Errorf("second deploy:\n%s", out)
	}
	t.Logf("in-place deployment of 4 instances (HalfAtATime) took %s; %d requests, 0 failed", took.Round(100*time.Millisecond), l.ok.Load())
}

// TestInPlaceDeployRollsBackFailedValidateService: a revision whose
// ValidateService hook fails stops the deployment after its first batch
// and is rolled back by a new deployment of the previous revision, without
// a failed request.
func TestInPlaceDeployRollsBackFailedValidateService(t *testing.T) {
	c, dir, file, url := inPlaceGroup(t)
	before := c.imageVersions("web")
	l := startLoad(url, 40)
	writeRevision(t, dir, 2, 1)
	start := time.Now()
	out, err := c.run("deploy", "-f", file, "--config", "CodeDeployDefault.HalfAtATime")
	took := time.Since(start)
	c.waitInService("web", 4)
	time.Sleep(300 * time.Millisecond)
	l.end()
	if err == nil {
		t.Fatalf("deploy of a failing revision exited 0:\n%s", out)
	}
	t.Logf("madang deploy:\n%s", out)
	for _, want := range []string{"ValidateService FAILED", "ScriptFailed", "validating revision 2", "rolling back with deployment d-", "HEALTH_CONSTRAINTS"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	ds := c.deployments("web")
	if len(ds) != 2 {
		t.Fatalf("deployments %+v", ds)
	}
	rb, failed := ds[0], ds[1]
	if failed.Status != "Failed" || failed.RolledBackBy != rb.ID || rb.Status != "Succeeded" || rb.Creator != "autoRollback" || rb.RollbackOf != failed.ID || rb.ImageVersion != 1 {
		t.Fatalf("failed %+v\nrollback %+v", failed, rb)
	}
	var statuses []string
	for _, in := range failed.Instances {
		statuses = append(statuses, in.Status)
	}
	slices.Sort(statuses)
	if !slices.Equal(statuses, []string{"Failed", "Failed", "Skipped", "Skipped"}) || len(rb.Instances) != 2 {
		t.Fatalf("failed deployment's instances %v, rollback's %d", statuses, len(rb.Instances))
	}
	after := c.imageVersions("web")
	for id := range before {
		if after[id] != 1 {
			t.Fatalf("instance %s on image v%d after the rollback (before %v, after %v)", id, after[id], before, after)
		}
	}
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed during the deployment and its rollback: %v", n, n+l.ok.Load(), l.errs)
	}
	t.Logf("failed deployment and its rollback took %s; %d requests, 0 failed", took.Round(100*time.Millisecond), l.ok.Load())
}

// TestZonalInPlaceDeploy: madang deploy --per-zone-min-healthy deploys one
// zone at a time, one instance at a time within a zone of 2, and waits the
// first zone's monitor duration before the next zone, under load.
func TestZonalInPlaceDeploy(t *testing.T) {
	c, dir, file, url := inPlaceGroup(t)
	l := startLoad(url, 40)
	writeRevision(t, dir, 2, 0)
	out, err := c.run("deploy", "-f", file, "--config", "CodeDeployDefault.AllAtOnce", "--per-zone-min-healthy", "1", "--first-zone-monitor", "2s")
	time.Sleep(300 * time.Millisecond)
	l.end()
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	t.Logf("madang deploy (zone at a time):\n%s", out)
	for _, want := range []string{"monitoring zone local-1a until", "before zone local-1b", "(4 Succeeded)"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	ds := c.deployments("web")
	if len(ds) != 1 || len(ds[0].Instances) != 4 {
		t.Fatalf("deployments %+v", ds)
	}
	batches := map[int]int{}
	for _, in := range ds[0].Instances {
		batches[in.Batch]++
	}
	if len(batches) != 4 {
		t.Errorf("batches %v: want 4 batches of 1 (each zone of 2 keeps 1 healthy)", batches)
	}
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed: %v", n, n+l.ok.Load(), l.errs)
	}
}
