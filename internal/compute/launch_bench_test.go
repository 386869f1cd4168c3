package compute

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/state"
)

// BenchmarkLaunch50 launches 50 instances of the quickstart's app
// (examples/quickstart/app, built once) with one Run, as a stack's group
// of count 50 does, on a durable (bolt) store, and times Run until every
// instance answers GET / with 200 on its own address. The instances are
// terminated between iterations, off the clock. Run it with
//
//	go test -run XXX -bench Launch50 -benchtime 5x ./internal/compute/
func BenchmarkLaunch50(b *testing.B) {
	const count = 50
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.Skip("needs the go command to build examples/quickstart/app")
	}
	app := b.TempDir()
	build := exec.Command(goBin, "build", "-o", filepath.Join(app, "hello"), ".")
	build.Dir = filepath.Join("..", "..", "examples", "quickstart", "app")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build the quickstart app: %v\n%s", err, out)
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	home := b.TempDir()
	store, err := state.OpenBolt(filepath.Join(home, "state.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	tc := &testCompute{t: b, home: home, source: app, store: store, exe: exe}
	tc.open()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := tc.svc.Shutdown(ctx); err != nil {
			b.Errorf("shutdown: %v", err)
		}
	})
	tc.commit(ImageKind(), &ImageSpec{Name: "hello", Source: app, Command: "./hello", Port: 3000}, "/srv/stack/madang.yaml")
	tc.commit(LaunchTemplateKind(), &LaunchTemplateSpec{Name: "hello", LaunchTemplateData: LaunchTemplateData{Image: "hello"}}, "")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}, Timeout: time.Second}
	ctx := context.Background()
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		ins, err := tc.svc.Run(ctx, RunRequest{LaunchTemplate: "hello", Count: count})
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, in := range ins {
			wg.Go(func() { waitServing(b, client, "http://"+in.Addr()+"/", 30*time.Second) })
		}
		wg.Wait()
		total += time.Since(start)
		b.StopTimer()
		for _, in := range ins {
			wg.Go(func() {
				if err := tc.svc.Terminate(ctx, in.ID); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/op")
}

// waitServing polls url every millisecond until it answers 200.
func waitServing(b *testing.B, c *http.Client, url string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		if resp, err := c.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Errorf("%s did not answer 200 within %s", url, timeout)
			return
		}
		time.Sleep(time.Millisecond)
	}
}
