package leakcheck

import (
	"strings"
	"testing"
	"time"
)

// parkedUntil blocks until release is closed; its name marks the
// goroutine in stacks.
func parkedUntil(started chan<- struct{}, release <-chan struct{}, done chan<- struct{}) {
	close(started)
	<-release
	close(done)
}

func TestCheckFindsAndForgetsAGoroutine(t *testing.T) {
	before := Take()
	started, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go parkedUntil(started, release, done)
	<-started

	for name, m := range map[string]Matcher{
		"contains": Contains("leakcheck.parkedUntil"),
		"since":    before.Since(),
	} {
		err := Check(20*time.Millisecond, m)
		if err == nil || !strings.Contains(err.Error(), "leakcheck.parkedUntil") || !strings.Contains(err.Error(), "1 goroutines") {
			t.Fatalf("%s: Check with a parked goroutine = %v, want an error naming it", name, err)
		}
	}
	close(release)
	<-done
	for name, m := range map[string]Matcher{
		"contains": Contains("leakcheck.parkedUntil"),
		"since":    before.Since(),
	} {
		if err := Check(5*time.Second, m); err != nil {
			t.Fatalf("%s: Check after the goroutine ended: %v", name, err)
		}
	}
}

func TestRunningLeavesOutTheCaller(t *testing.T) {
	for _, g := range Running() {
		if strings.Contains(g.Stack, "TestRunningLeavesOutTheCaller") {
			t.Fatalf("Running lists its caller:\n%s", g.Stack)
		}
		if g.ID == 0 {
			t.Fatalf("no id in %q", g.Stack)
		}
	}
}

func TestContainsMatchesAnySubstring(t *testing.T) {
	g := Goroutine{ID: 7, Stack: "goroutine 7 [chan receive]:\nexample.com/x.(*T).run(...)"}
	if !Contains("nope", "x.(*T).run")(g) {
		t.Fatal("Contains misses a substring of the stack")
	}
	if Contains("nope")(g) {
		t.Fatal("Contains matches a substring the stack lacks")
	}
}
