package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/state"
)

// runDaemon runs a daemon of cfg in-process (in a home of its own, with
// this test binary as its executable) and returns it once it serves; it
// stops at the test's end.
func runDaemon(t *testing.T, cfg Config) *Daemon {
	t.Helper()
	cfg.Home, cfg.Executable = t.TempDir(), os.Args[0]
	d := newDaemon(cfg)
	ready := make(chan struct{})
	d.cfg.Ready = func(string) { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.run(ctx) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not start within 10s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon exit: %v", err)
		}
	})
	return d
}

// A record that changes while an apply builds (here: a launch template
// written through another path) makes the apply's transaction fail with a
// conflict, and nothing of the apply is written — not even the image it
// built.
func TestConcurrentChangeIsAConflictNotALostUpdate(t *testing.T) {
	d := runDaemon(t, Config{})
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	yaml := fmt.Sprintf(`name: race
images:
  - name: hello
    source: ./app
    build: touch %s; while [ ! -e %s ]; do sleep 0.01; done
    command: sleep 100
    port: 3000
launchTemplates:
  - name: hello
    image: hello
`, started, release)
	req := api.StackRequest{Path: filepath.Join(dir, "madang.yaml"), YAML: yaml}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { _, err := (stacks{d}).Apply(ctx, req); errc <- err }()
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("apply ended before its build: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// Meanwhile, someone else creates the launch template.
	if _, err := d.store.Put(ctx, compute.LaunchTemplatePrefix+"hello", []byte(`{"name":"hello","id":"lt-0aaaaaaaaaaaaaaaa","defaultVersion":1,"versions":[{"number":1,"data":{"image":"other"}}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	if !errors.Is(err, api.ErrConflict) {
		t.Fatalf("apply over a concurrent change: %v, want a conflict", err)
	}
	if _, err := d.store.Get(ctx, compute.ImagePrefix+"hello"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("the conflicting apply wrote its image: %v", err)
	}
	kv, err := d.store.Get(ctx, compute.LaunchTemplatePrefix+"hello")
	if err != nil || !contains(string(kv.Value), `"other"`) {
		t.Fatalf("the concurrent write was lost: %s %v", kv.Value, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// An apply that fails after building a new image version (here a second
// image's build fails) leaves every stored version of the first image on
// disk: old versions are removed only once a record without them is
// committed.
func TestFailedApplyKeepsImageVersions(t *testing.T) {
	d := runDaemon(t, Config{})
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	apply := func(extra string) error {
		yaml := "name: versions\nimages:\n  - name: hello\n    source: ./app\n    build: \"true\"\n    command: sleep 100\n    port: 3000\n" + extra
		_, err := (stacks{d}).Apply(ctx, api.StackRequest{Path: filepath.Join(dir, "madang.yaml"), YAML: yaml})
		return err
	}
	for i := 1; i <= 3; i++ {
		if err := os.WriteFile(filepath.Join(app, "v"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		// A distinct mtime per version, whatever the file system's clock granularity.
		mt := time.Now().Add(time.Duration(i) * time.Second)
		_ = os.Chtimes(filepath.Join(app, "v"), mt, mt)
		if err := apply(""); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
	}
	im, ok := d.compute.Image("hello")
	if !ok || len(im.Versions) != 3 {
		t.Fatalf("image after three applies: %+v", im)
	}
	if err := os.WriteFile(filepath.Join(app, "v"), []byte("4"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := apply("  - name: broken\n    source: ./app\n    build: exit 3\n    command: sleep 100\n    port: 3001\n")
	if err == nil {
		t.Fatal("apply with a failing build succeeded")
	}
	for _, v := range im.Versions {
		if _, err := os.Stat(v.Dir); err != nil {
			t.Errorf("version %d of the image is gone after a failed apply: %v", v.Number, err)
		}
	}
	// A successful apply then drops the oldest version from disk.
	if err := apply(""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(im.Versions[0].Dir); !os.IsNotExist(err) {
		t.Errorf("oldest version %s still on disk after a committed fourth version: %v", im.Versions[0].Dir, err)
	}
}

// Every kind is listed and described through the same generic routes.
func TestGenericResourceRoutes(t *testing.T) {
	d := runDaemon(t, Config{})
	dir := t.TempDir()
	yaml := "name: gen\ntargetGroups:\n  - name: web\n    targetType: ip\n    port: 9000\n    targets: [{ip: 127.0.0.1}]\n"
	ctx := context.Background()
	c := api.NewUnixClient(SocketPath(d.cfg.Home))
	if _, err := c.Apply(ctx, api.StackRequest{Path: filepath.Join(dir, "madang.yaml"), YAML: yaml}); err != nil {
		t.Fatal(err)
	}
	kinds, err := c.Kinds(ctx)
	if err != nil || len(kinds) != len(d.kinds.Kinds()) {
		t.Fatalf("kinds: %v %v", kinds, err)
	}
	l, err := c.Resources(ctx, "tg")
	if err != nil || l.Kind != "target-group" || len(l.Items) != 1 || l.Items[0].Name != "web" || l.Items[0].Owner != "gen" {
		t.Fatalf("ls tg: %+v %v", l, err)
	}
	if len(l.Items[0].Cells) != len(l.Columns) {
		t.Errorf("cells %v do not match columns %v", l.Items[0].Cells, l.Columns)
	}
	res, err := c.Resource(ctx, "target-group", "web")
	if err != nil || !strings.Contains(string(res.Record), `"arn"`) || res.Revision == 0 {
		t.Fatalf("get target-group web: %+v %v", res, err)
	}
	for _, tc := range []struct{ kind, name string }{{"nope", ""}, {"tg", "nope"}} {
		var err error
		if tc.name == "" {
			_, err = c.Resources(ctx, tc.kind)
		} else {
			_, err = c.Resource(ctx, tc.kind, tc.name)
		}
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != 404 || ae.Hint == "" {
			t.Errorf("%s %s: %v, want a 404 with a hint", tc.kind, tc.name, err)
		}
	}
}
