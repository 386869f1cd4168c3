package supervisor

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRestartLatency measures the time from kill -9 of a running app
// to the supervisor reporting it running again (accepting TCP
// connections) under a new pid. Each iteration is a first restart (no
// backoff): the runs last longer than ResetAfter.
func BenchmarkRestartLatency(b *testing.B) {
	e := newEnv(b)
	spec := e.spec(b, "i-bench", "-listen")
	spec.ResetAfter = time.Millisecond // every crash is a first restart
	spec.MinUptime = time.Millisecond
	if err := e.sup.Start(spec); err != nil {
		b.Fatal(err)
	}
	st := e.waitPhase(b, e.sup, spec.ID, PhaseRunning)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(5 * time.Millisecond) // let the run pass ResetAfter
		old := st.PID
		began := time.Now()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		for {
			cur, _ := e.sup.Status(spec.ID)
			if cur.Phase == PhaseRunning && cur.PID != old {
				st = cur
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(began))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
	if err := e.sup.Stop(context.Background(), spec.ID); err != nil {
		b.Fatal(err)
	}
}
