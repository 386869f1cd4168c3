package compute

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/fault"
)

// TestCreateImageFromInstance: an image made from a running instance
// holds the files the instance has now (its own writes included), keeps
// the command and port, and launches instances; the instance is stopped
// for the snapshot and runs again after it, unless NoReboot.
func TestCreateImageFromInstance(t *testing.T) {
	t.Parallel()
	tc := newTestCompute(t)
	id := tc.run().ID
	v := tc.waitRunning(id)
	// What the instance wrote since it started is part of the image.
	if err := os.WriteFile(filepath.Join(v.Dir, "app", "state.txt"), []byte("written at run time\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	im, err := tc.svc.CreateImage(ctx, CreateImageRequest{InstanceID: id, Name: "app-snap", Description: "golden"})
	if err != nil {
		t.Fatal(err)
	}
	after := tc.waitRunning(id)
	if after.PID == v.PID {
		t.Errorf("the instance was not stopped for the snapshot (pid %d before and after)", v.PID)
	}
	for _, f := range []string{"main.txt", "state.txt"} {
		if _, err := os.Stat(filepath.Join(im.Current().Dir, f)); err != nil {
			t.Errorf("image lacks %s: %v", f, err)
		}
	}
	if im.Spec.Port != 3000 || im.Spec.Command == "" || im.Owner != "" || im.ID == "" {
		t.Errorf("image %+v", im)
	}
	// A launch template of the new image launches from the snapshot.
	tc.commit(LaunchTemplateKind(), &LaunchTemplateSpec{Name: "snap", LaunchTemplateData: LaunchTemplateData{Image: "app-snap",
		Env: map[string]string{"GORACE": "atexit_sleep_ms=0"}}}, "")
	ins, err := tc.svc.Run(ctx, RunRequest{LaunchTemplate: "snap", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	nv := tc.waitRunning(ins[0].ID)
	if b, err := os.ReadFile(filepath.Join(nv.Dir, "app", "state.txt")); err != nil || string(b) != "written at run time\n" {
		t.Errorf("an instance of the new image reads %q, %v", b, err)
	}
	// Without a reboot the app keeps running.
	before := tc.waitRunning(id)
	if _, err := tc.svc.CreateImage(ctx, CreateImageRequest{InstanceID: id, Name: "app-live", NoReboot: true}); err != nil {
		t.Fatal(err)
	}
	if now := tc.waitRunning(id); now.PID != before.PID {
		t.Errorf("NoReboot restarted the app: pid %d, then %d", before.PID, now.PID)
	}

	bad := []struct {
		name string
		req  CreateImageRequest
		code fault.Code
	}{
		{"unknown instance", CreateImageRequest{InstanceID: "i-nope", Name: "x"}, fault.NotFound},
		{"name taken", CreateImageRequest{InstanceID: id, Name: "app-snap", NoReboot: true}, fault.AlreadyExists},
		{"bad name", CreateImageRequest{InstanceID: id, Name: "no spaces", NoReboot: true}, fault.Invalid},
	}
	for _, tt := range bad {
		if _, err := tc.svc.CreateImage(ctx, tt.req); fault.CodeOf(err) != tt.code {
			t.Errorf("%s: %v (code %s), want %s", tt.name, err, fault.CodeOf(err), tt.code)
		}
	}
}

// TestValidImageName: the hand-written check accepts exactly what
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ does.
func TestValidImageName(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	names := []string{"", "a", "A9", "web-1.2_x", "-a", ".a", "_a", "a b", "a/b", "é", "a\x00",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "a" + strings.Repeat("-", 127), "a" + strings.Repeat("-", 128)}
	for c := 0; c < 256; c++ {
		names = append(names, string([]byte{'a', byte(c)}), string([]byte{byte(c)}))
	}
	for _, n := range names {
		if got, want := validImageName(n), re.MatchString(n); got != want {
			t.Errorf("validImageName(%q) = %v, want %v", n, got, want)
		}
	}
}
