package daemon

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// goroutinesSettle waits until the number of goroutines is at most want.
func goroutinesSettle(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines left running, want at most %d:\n%s", runtime.NumGoroutine(), want, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Each component in turn fails to start: Run returns its error naming it,
// and everything started before it is stopped — no goroutine is left
// running and the API socket is gone.
func TestComponentStartFailureLeavesNothingRunning(t *testing.T) {
	names := []string{}
	for _, c := range newDaemon(Config{}).components() {
		names = append(names, c.name)
	}
	if len(names) < 5 {
		t.Fatalf("components: %v", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			home := t.TempDir()
			d := newDaemon(Config{Home: home, Listen: "127.0.0.1:0", Token: "t", Executable: os.Args[0]})
			d.failAt = name
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := d.run(ctx)
			if err == nil || !strings.Contains(err.Error(), "start "+name) {
				t.Fatalf("run with %s failing: %v, want an error naming it", name, err)
			}
			goroutinesSettle(t, before)
			if _, err := os.Stat(SocketPath(home)); err == nil {
				t.Errorf("API socket left behind")
			}
		})
	}
}

// A TCP address that cannot be bound fails the start after the unix API
// is already serving; Run stops it and the rest before returning.
func TestBadListenAddressStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	home := t.TempDir()
	err := Run(context.Background(), Config{Home: home, Listen: "256.0.0.1:1", Token: "t", Executable: os.Args[0]})
	if err == nil || !strings.Contains(err.Error(), "TCP API") {
		t.Fatalf("Run with a bad listen address: %v", err)
	}
	goroutinesSettle(t, before)
	if _, err := os.Stat(SocketPath(home)); err == nil {
		t.Errorf("API socket left behind")
	}
}
