package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/compute"
)

// TestDeployBlueGreenRollbackFlag: --no-rollback reaches a blue/green
// deployment's request as DisableRollback.
func TestDeployBlueGreenRollbackFlag(t *testing.T) {
	for _, tc := range []struct {
		name         string
		args         []string
		autoRollback bool
	}{
		{name: "rollback by default", autoRollback: true},
		{name: "--no-rollback disables it", args: []string{"--no-rollback"}, autoRollback: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now().UTC()
			f := apitest.New(t)
			f.AutoScaling = apitest.NewAutoScaling(apitest.SampleGroup(now))
			f.Catalog.Images = []compute.Image{{Spec: compute.ImageSpec{Name: "hello"}, Versions: []compute.ImageVersion{{Number: 1}, {Number: 2}}}}
			f.AddInstance(compute.View{Instance: compute.Instance{ID: "i-0a", Group: "web", Image: "hello", ImageVersion: 1, State: compute.StateRunning}})
			f.StackResult = api.StackResult{Stack: "demo"}
			srv := f.Serve(t)
			file := filepath.Join(t.TempDir(), "madang.yaml")
			if err := os.WriteFile(file, []byte("autoScalingGroups:\n  - name: web\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			// The fake's deployment runs until stopped: stop it once it
			// is there, so the command ends.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			go func() {
				for ctx.Err() == nil {
					if ds, _ := f.AutoScaling.Deployments(ctx, "web"); len(ds) > 0 {
						_, _ = f.AutoScaling.StopDeployment(ctx, "web", ds[0].ID, false)
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}()
			stdout, stderr, code := cli(ctx, t, srv, append([]string{"deploy", "-f", file, "--type", "blue-green"}, tc.args...)...)
			if code != 1 || !strings.Contains(stdout, "blue/green deployment d-TEST00001") {
				t.Fatalf("exit %d, want 1 (stopped):\n%s%s", code, stdout, stderr)
			}
			ds, err := f.AutoScaling.Deployments(t.Context(), "web")
			if err != nil || len(ds) != 1 {
				t.Fatalf("deployments %+v, %v", ds, err)
			}
			if ds[0].AutoRollback != tc.autoRollback {
				t.Fatalf("autoRollbackEnabled %v, want %v", ds[0].AutoRollback, tc.autoRollback)
			}
		})
	}
}

func TestBlueGreenLine(t *testing.T) {
	original := v1.DeploymentTarget{InstanceID: "i-1", Events: []v1.LifecycleEvent{{Name: "BeforeBlockTraffic"}, {Name: "BlockTraffic"}, {Name: "AfterBlockTraffic"}}}
	replacement := v1.DeploymentTarget{InstanceID: "i-2", Events: []v1.LifecycleEvent{{Name: "ApplicationStop"}, {Name: "DownloadBundle"}}}
	for _, tc := range []struct {
		name         string
		phase        string
		status       string
		autoRollback bool
		want         string
	}{
		{name: "provisioning counts the replacements", phase: "Provisioning", status: "InProgress", autoRollback: true,
			want: "replacement fleet: 1 of 1 launched"},
		{name: "retaining names the originals", phase: "Retaining", status: "InProgress", autoRollback: true,
			want: "the originals i-1 stay at weight 0"},
		{name: "rolled back", phase: "Done", status: "Failed", autoRollback: true,
			want: "rolled back: the traffic is on the original instances; the replacement fleet was terminated"},
		{name: "failed with rollback disabled", phase: "Done", status: "Failed",
			want: "the replacement fleet was detached from the group and keeps running for inspection (rollback is disabled)"},
		{name: "stopped with rollback disabled", phase: "Done", status: "Stopped",
			want: "the replacement fleet was terminated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := v1.Deployment{ID: "d-1", Status: tc.status, AutoRollback: tc.autoRollback, BlueGreen: &v1.BlueGreen{Phase: tc.phase, Size: 1},
				Instances: []v1.DeploymentTarget{original, replacement}}
			if got := blueGreenLine(d); !strings.Contains(got, tc.want) {
				t.Fatalf("%q, want it to contain %q", got, tc.want)
			}
		})
	}
}
