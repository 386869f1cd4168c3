package controller

import (
	"context"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/dataplane"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/state"
)

// hundredTargets is a target group of 100 ip targets that no listener
// uses, so no check runs and every answer is the same.
func hundredTargets() *TargetGroup {
	spec := elb.TargetGroupSpec{Name: "web", TargetType: "ip"}
	for i := range 100 {
		spec.Targets = append(spec.Targets, elb.TargetSpec{IP: "127.0.0.1", Port: 20000 + i})
	}
	spec.ApplyDefaults()
	return &TargetGroup{Spec: spec, ARN: "arn:test:web"}
}

// BenchmarkHealth100 measures Controller.Health for a group of 100
// targets, with the data plane in a process of its own (over its control
// socket, as madang server runs it) and in the controller's process.
func BenchmarkHealth100(b *testing.B) {
	cases := []struct {
		name   string
		remote bool
	}{
		{name: "remote"},
		{name: "in-process"},
	}
	cases[0].remote = true
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			home := b.TempDir()
			store := state.NewMemory()
			putJSON(b, store, TargetGroupPrefix+"web", hundredTargets())
			opts := Options{Home: home, Store: store, Events: event.New(512, nil), Instances: noInstances{}, StopDataPlane: true}
			if tc.remote {
				runDataPlane(b, home)
				opts.DataPlane = func(ctx context.Context, onChange func(string, health.TargetHealth)) (DataPlane, error) {
					return dataplane.Dial(ctx, home, dataplane.ClientOptions{OnChange: onChange})
				}
			}
			c, err := New(context.Background(), opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = c.Close(ctx)
			})
			if th, err := c.Health("web"); err != nil || len(th) != 100 {
				b.Fatalf("health: %d targets, %v; want 100", len(th), err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Health("web"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
