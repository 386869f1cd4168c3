package compute

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/kind"
)

// TestReimageInPlace: an instance re-imaged to another version of its
// image keeps its id, address and tags, runs that version's files from
// its start on, and keeps it (pinned) across reboots and daemon
// restarts; a launch may pin a version too.
func TestReimageInPlace(t *testing.T) {
	t.Parallel()
	tc := newTestCompute(t)
	ctx := context.Background()
	id := tc.run().ID
	before := tc.waitRunning(id)
	// Version 2 of the image.
	if err := os.WriteFile(filepath.Join(tc.source, "main.txt"), []byte("v2, longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := ImageSpec{Name: "app", Source: tc.source, Command: "exec '" + tc.exe + "' app", Port: 3000}
	tc.commit(ImageKind(), &spec, "/srv/stack/madang.yaml")
	read := func() string {
		b, _ := os.ReadFile(filepath.Join(before.Dir, "app", "main.txt"))
		return string(b)
	}
	for _, step := range []struct {
		version int
		want    string
	}{{2, "v2, longer\n"}, {1, "v1\n"}} {
		if err := tc.svc.Reimage(ctx, id, step.version); err != nil {
			t.Fatal(err)
		}
		if in, _ := tc.svc.Instance(id); in.State != StateStopped || in.ImageVersion != step.version || in.ImagePin != step.version {
			t.Fatalf("after Reimage to v%d: state %s, version %d, pin %d", step.version, in.State, in.ImageVersion, in.ImagePin)
		}
		if got := read(); got != step.want {
			t.Fatalf("working directory after Reimage to v%d reads %q", step.version, got)
		}
		if err := tc.svc.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		after := tc.waitRunning(id)
		if after.ID != before.ID || after.PrivateIP != before.PrivateIP || after.Port != before.Port || after.ImageVersion != step.version {
			t.Fatalf("after Reimage to v%d: %s %s:%d v%d; before %s %s:%d", step.version, after.ID, after.PrivateIP, after.Port, after.ImageVersion,
				before.ID, before.PrivateIP, before.Port)
		}
	}
	// v1 is pinned although v2 is the image's newest.
	if err := tc.svc.Reboot(ctx, id); err != nil {
		t.Fatal(err)
	}
	tc.waitRunning(id)
	tc.reopen()
	if v := tc.waitRunning(id); v.ImageVersion != 1 || read() != "v1\n" {
		t.Fatalf("after a reboot and a daemon restart: v%d, %q", v.ImageVersion, read())
	}
	env, err := tc.svc.InstanceEnv(id)
	if err != nil || !strings.Contains(strings.Join(env, "\n"), "INSTANCE_ID="+id) || !strings.Contains(strings.Join(env, "\n"), "GORACE=atexit_sleep_ms=0") {
		t.Fatalf("InstanceEnv: %v, %v", env, err)
	}
	ins, err := tc.svc.Run(ctx, RunRequest{LaunchTemplate: "app", Count: 1, ImageVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v := tc.waitRunning(ins[0].ID); v.ImageVersion != 1 {
		t.Fatalf("a launch pinned to v1 runs v%d", v.ImageVersion)
	}
	for _, bad := range []struct {
		name string
		err  error
		code fault.Code
	}{
		{"no such version", tc.svc.Reimage(ctx, id, 7), fault.Invalid},
		{"no such instance", tc.svc.Reimage(ctx, "i-nope", 1), fault.NotFound},
	} {
		if fault.CodeOf(bad.err) != bad.code {
			t.Errorf("%s: %v, want %s", bad.name, bad.err, bad.code)
		}
	}
	if _, err := tc.svc.Run(ctx, RunRequest{LaunchTemplate: "app", Count: 1, ImageVersion: 9}); fault.CodeOf(err) != fault.Invalid {
		t.Errorf("launch of a version that does not exist: %v", err)
	}
}

// TestBuildRejectsABadAppSpec: a source whose appspec.yml is invalid
// builds no version, and the error names the source's file and line.
func TestBuildRejectsABadAppSpec(t *testing.T) {
	t.Parallel()
	tc := newTestCompute(t)
	if err := os.WriteFile(filepath.Join(tc.source, "appspec.yml"), []byte("version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: missing.sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := ImageSpec{Name: "app", Source: tc.source, Command: "true", Port: 3000}
	_, _, err := buildImage(context.Background(), kind.Env{Home: tc.home, Now: time.Now, Events: event.New(64, nil)}, &spec, "teststack", nil)
	want := filepath.Join(tc.source, "appspec.yml") + `:5: hooks.AfterInstall[0].location: does not exist in the revision (got "missing.sh")`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err %v\nwant %s", err, want)
	}
}
